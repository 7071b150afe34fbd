// ESLint flat config (ESLint 9 + typescript-eslint 8).
// Syntax-only rules: no type-aware linting (no project service) so `npm run lint` stays fast.
'use strict';

const js = require('@eslint/js');
const globals = require('globals');
const tseslint = require('typescript-eslint');
const { defineConfig, globalIgnores } = require('eslint/config');

module.exports = defineConfig([
  globalIgnores(['dist/', 'node_modules/', '.tmp/', 'coverage/', 'test-artifacts/']),

  // Everything: ESLint's recommended JS rules.
  {
    name: 'padim/base',
    files: ['**/*.{js,cjs,mjs,ts,cts,mts}'],
    extends: [js.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },

  // Plain CommonJS Node code: nodes/*.js, bin/*.js, scripts/*.js, config files at the root.
  {
    name: 'padim/commonjs',
    files: ['**/*.{js,cjs}'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { ...globals.node },
    },
    rules: {
      'no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    name: 'padim/esm',
    files: ['**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },

  // TypeScript sources: src/, test/, bench/ (and any other .ts file).
  {
    name: 'padim/typescript',
    files: ['**/*.{ts,cts,mts}'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },

  // Mocha tests.
  {
    name: 'padim/tests',
    files: ['test/**/*.{ts,js}'],
    languageOptions: { globals: { ...globals.mocha } },
    rules: {
      // chai-style `expect(x).to.be.true` / `void promise` patterns in tests
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
]);
