import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { sendProblem } from '@pos/http';
import { ProblemError, type Logger } from '@pos/utils';

/**
 * The Content-Security-Policy of the web register's pages. It replaces helmet's default for these
 * responses only: helmet adds `upgrade-insecure-requests`, which breaks a register opened over plain
 * http on a shop's LAN, and its style-src admits any https origin. The register loads nothing but
 * its own files and talks only to this origin (the API and the live feed's EventSource).
 */
export const REGISTER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed build output: the name changes whenever the content does, so it may be cached for good. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and the service worker: always revalidated, so a new build is picked up at once. */
export const REVALIDATE = 'no-cache';

/** Paths that belong to the API or the gateway itself: never answered with the register's HTML. */
const NOT_REGISTER = /^\/(api|api-docs|\.well-known|health|ready|metrics|openapi\.json)(\/|$)/i;

export interface RegisterOptions {
  distDir: string;
  logger: Logger;
}

const notBuilt = (distDir: string) =>
  new ProblemError(
    404,
    'register_not_built',
    'Not Found',
    `The web register has not been built: run \`npm run build:register\` (or \`npm run build\`), or point REGISTER_DIST_DIR at its build (looked in ${distDir})`,
  );

/**
 * Serves the web register (apps/register/dist) at `/`: its static files, and index.html for any
 * other page a browser navigates to (the register is one page), so reloading on a deep link works.
 * API paths keep their problem+json 404s. Mounted after the API routes.
 */
export function mountRegister(app: Express, { distDir, logger }: RegisterOptions): void {
  if (!existsSync(path.join(distDir, 'index.html'))) {
    logger.warn('the web register is not built; / answers 404 until it is (npm run build:register)', { distDir });
  }

  const csp: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', REGISTER_CSP);
    next();
  };

  const sendIndex = (_req: Request, res: Response, next: (err?: unknown) => void) => {
    // Checked per request, so a build made after the gateway started is served without a restart.
    res.setHeader('Cache-Control', REVALIDATE);
    res.sendFile('index.html', { root: distDir, cacheControl: false, dotfiles: 'deny' }, (err?: NodeJS.ErrnoException & { status?: number }) => {
      if (!err) return;
      if (res.headersSent) return next(err);
      res.removeHeader('Cache-Control');
      if (err.code === 'ENOENT' || err.status === 404) return sendProblem(res, notBuilt(distDir));
      next(err);
    });
  };

  const files = express.static(distDir, {
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    cacheControl: false,
    setHeaders: (res, filePath) => {
      const rel = path.relative(distDir, filePath).split(path.sep).join('/');
      res.setHeader('Cache-Control', rel.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    },
  });

  app.get('/', csp, sendIndex);
  app.get('/index.html', csp, sendIndex);
  app.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_REGISTER.test(req.path)) return next();
    csp(req, res, () => files(req, res, next));
  });
  // Single-page fallback: a browser asking for a page that is not a file gets the app.
  app.get('/{*path}', (req, res, next) => {
    if (NOT_REGISTER.test(req.path) || path.posix.extname(req.path) !== '' || req.accepts(['json', 'html']) !== 'html') return next();
    csp(req, res, () => sendIndex(req, res, next));
  });
}
