/**
 * `npm run test:faults`: the fault-injection suite (proof/faults). It starts a whole stack of child
 * processes with its own database, Redis and MongoDB, so it has no global setup of its own to share
 * and runs alone (one file, in band); the root config leaves fault-injection.test.ts out of `npm test`.
 */
const base = require('../../jest.config.js');

module.exports = {
  rootDir: base.rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/proof/faults/**/*.test.ts'],
  transform: base.transform,
  moduleNameMapper: base.moduleNameMapper,
  reporters: base.reporters,
  testTimeout: 10 * 60_000,
  maxWorkers: 1,
};
