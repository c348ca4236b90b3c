import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test-artifacts/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/test/**/*.ts', 'bench/**'],
    languageOptions: { globals: { ...globals.jest } },
    rules: {
      // A focused test silently skips the rest of the suite in CI.
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'Focused tests are not allowed' },
        { object: 'it', property: 'only', message: 'Focused tests are not allowed' },
        { object: 'test', property: 'only', message: 'Focused tests are not allowed' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fdescribe', message: 'Focused tests are not allowed' },
        { name: 'fit', message: 'Focused tests are not allowed' },
      ],
      'no-console': 'off',
    },
  },
  {
    files: ['scripts/**', '**/*.js', '**/*.mjs'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
