// A real OAuth2 provider for tests (oauth2-mock-server is ESM-only, so it runs as a child process).
//
//   node scripts/test/oauth-provider.mjs [--exit-on-stdin-end]
//
// Prints one line {"issuer":"http://127.0.0.1:PORT"} when listening; /authorize, /token and /userinfo
// are under the issuer. Who logs in is chosen per authorization: the authorize request's
// `login_hint=<email>` (optional `name=`, and `email_verified=false` to send an unverified email).
// The code remembers it, the access token carries it and /userinfo answers
// {sub, email, email_verified, name}; without a hint /userinfo has no email. Codes are single use:
// the token endpoint answers invalid_grant to unknown or used codes. Exits on SIGTERM/SIGINT, and
// with --exit-on-stdin-end also when the parent closes stdin (so a crashed test leaves nothing behind).
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

/** code -> the user chosen at /authorize (null: no hint). */
const codes = new Map();
const one = (value) => (typeof value === 'string' && value ? value : undefined);

server.service.on('beforeAuthorizeRedirect', ({ url }, req) => {
  const code = url.searchParams.get('code');
  if (!code) return;
  const email = one(req.query.login_hint);
  codes.set(code, email ? { email, name: one(req.query.name) ?? email.split('@')[0], verified: req.query.email_verified !== 'false' } : null);
});

server.service.on('beforeTokenSigning', (token, req) => {
  const user = codes.get(req.body?.code);
  if (user) Object.assign(token.payload, { sub: `mock|${user.email}`, email: user.email, name: user.name, email_verified: user.verified });
});

server.service.on('beforeResponse', (response, req) => {
  if (req.body?.grant_type !== 'authorization_code') return;
  if (!codes.has(req.body.code)) {
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'The code is unknown or was already used' };
    return;
  }
  codes.delete(req.body.code);
});

server.service.on('beforeUserinfo', (response, req) => {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) {
    response.statusCode = 401;
    response.body = { error: 'invalid_token' };
    return;
  }
  // Issued by this process a moment ago; decoding is enough here.
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}');
  response.body = claims.email ? { sub: claims.sub, email: claims.email, email_verified: claims.email_verified, name: claims.name } : { sub: claims.sub };
});

await server.start(0, '127.0.0.1');
// The library would call it http://localhost:PORT, which may resolve to ::1 where nothing listens.
server.issuer.url = `http://127.0.0.1:${server.address().port}`;

// Nothing to flush: the codes live in memory and die with the process.
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.argv.includes('--exit-on-stdin-end')) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ issuer: server.issuer.url })}\n`);
