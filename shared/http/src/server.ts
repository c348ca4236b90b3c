import http from 'node:http';
import type { Express } from 'express';
import type { Logger } from '@pos/utils';

export interface StartOptions {
  name: string;
  port: number;
  host?: string;
  logger: Logger;
  /** Called on SIGTERM/SIGINT before the server closes (stop /ready, stop workers). */
  onDrain?: () => void;
  /** Called after in-flight requests finished: close pools and connections. */
  onClose?: () => Promise<void>;
  drainTimeoutMs?: number;
}

/**
 * Listens and installs a graceful shutdown: stop taking requests, let in-flight ones finish
 * (bounded), then close dependencies and exit.
 */
export function startServer(app: Express, options: StartOptions): Promise<http.Server> {
  const { name, port, host = '0.0.0.0', logger, drainTimeoutMs = 10_000 } = options;
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000; // longer than typical load-balancer idle timeouts
  server.headersTimeout = 66_000;
  let stopping = false;

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${name} received ${signal}, draining`);
    options.onDrain?.();
    const force = setTimeout(() => {
      logger.warn(`${name} drain timed out, closing remaining connections`);
      server.closeAllConnections();
    }, drainTimeoutMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      Promise.resolve(options.onClose?.())
        .catch((err: unknown) => logger.error('error while closing', { err: String(err) }))
        .finally(() => {
          logger.info(`${name} stopped`);
          process.exit(0);
        });
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      logger.info(`${name} listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`);
      resolve(server);
    });
  });
}
