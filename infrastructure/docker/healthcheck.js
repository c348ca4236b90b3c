// Container health check (the image has node but no curl): GET /health on this service's port.
//
//   node /app/healthcheck.js [url]
//
// Without an argument the URL is http://127.0.0.1:$PORT/health, PORT defaulting to the "pos.port"
// of the package.json in the working directory (the service's folder in the image).
// Exits 0 on a 2xx answer within 4 s, 1 otherwise.
const path = require('node:path');

function defaultUrl() {
  let port = process.env.PORT;
  if (!port) {
    try {
      port = String(require(path.join(process.cwd(), 'package.json')).pos.port);
    } catch {
      port = '3000';
    }
  }
  return `http://127.0.0.1:${port}/health`;
}

const url = process.argv[2] || defaultUrl();
fetch(url, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  (err) => {
    console.error(`health check ${url} failed: ${err.message}`);
    process.exit(1);
  },
);
