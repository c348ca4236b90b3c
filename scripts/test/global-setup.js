// Runs once before all test files: migrate the test database (a child process, because the
// migration tool is an ES module and Jest's module loader is CommonJS here), and give the run one
// MongoDB: TEST_MONGODB_URI when set (a real MongoDB 7), otherwise the in-process stand-in
// (scripts/mongo-memory-server.mjs, also an ES module, so also a child process). Test workers are
// started after this and inherit MONGODB_URI / MONGODB_DB; global-teardown.js stops the stand-in.
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

function startMongoStandIn() {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'mongo-memory-server.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const lines = readline.createInterface({ input: child.stdout });
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`MongoDB stand-in: ${why}${stderr ? `\n${stderr}` : ''}`));
    };
    const timer = setTimeout(() => fail('did not start within 20 s'), 20_000);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code) => fail(`exited with code ${code}`));
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      let info;
      try {
        info = JSON.parse(line);
      } catch {
        return;
      }
      if (!info.uri) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.close();
      child.stdout.resume();
      resolve({ child, uri: info.uri });
    });
  });
}

module.exports = async () => {
  require('./env.js');
  execFileSync(process.execPath, [path.join(__dirname, '..', 'migrate.mjs'), '--quiet'], {
    env: process.env,
    stdio: 'inherit',
  });

  process.env.MONGODB_DB = process.env.TEST_MONGODB_DB ?? 'pos_test';
  if (process.env.TEST_MONGODB_URI) {
    process.env.MONGODB_URI = process.env.TEST_MONGODB_URI;
  } else {
    const { child, uri } = await startMongoStandIn();
    // Read by global-teardown.js (same process).
    globalThis.__POS_MONGO_STAND_IN__ = child;
    process.env.MONGODB_URI = uri;
  }
};
