// Runs once before all test files: migrate the test database (a child process, because the
// migration tool is an ES module and Jest's module loader is CommonJS here).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async () => {
  require('./env.js');
  execFileSync(process.execPath, [path.join(__dirname, '..', 'migrate.mjs'), '--quiet'], {
    env: process.env,
    stdio: 'inherit',
  });
};
