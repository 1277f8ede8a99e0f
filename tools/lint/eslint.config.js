// pilotfish's lint rules: typescript-eslint's recommended set, plus the project's own conventions.
// Run from the repository root with `npm run lint` (npm test runs it); warnings fail the run.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '**/node_modules/**', 'tools/**', 'src/xds/envoy-types.ts', 'test/mocha-reporter.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A let that closures read before its one assignment (a callback wired before the thing it reads exists) stays a let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-var': 'error',
      // Sanitizers and header checks match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // The CLI, tests and the benchmark talk to a terminal.
    files: ['src/cli/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
