/** One Jest config for the whole monorepo; `npm test --workspace=<pkg>` narrows it by path. */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  // The fault-injection suite starts a whole stack and takes minutes: `npm run test:faults` runs it.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/proof/faults/fault-injection.test.ts'],
  testMatch: ['<rootDir>/{shared,services}/*/test/**/*.test.ts', '<rootDir>/apps/*/test/**/*.test.ts', '<rootDir>/infrastructure/test/**/*.test.ts', '<rootDir>/proof/*/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  // Tests run against the shared packages' sources, so no build is needed before `npm test`.
  moduleNameMapper: { '^@pos/([a-z-]+)$': '<rootDir>/shared/$1/src' },
  globalSetup: '<rootDir>/scripts/test/global-setup.js',
  globalTeardown: '<rootDir>/scripts/test/global-teardown.js',
  setupFiles: ['<rootDir>/scripts/test/env.js'],
  reporters: ['default', '<rootDir>/scripts/test/summary-reporter.js'],
  testTimeout: 30000,
  maxWorkers: 2,
};
