// Lint + the house's layering rules (DEVELOPERS.md "The house"): dependencies point inward.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const noImport = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'e2e/artifacts/**', 'release/**', '**/*.d.ts', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  { files: ['app/renderer/**'], languageOptions: { globals: { ...globals.browser } } },
  // api: imports nothing of core and no shell.
  { files: ['app/api/**'], rules: noImport(['**/core/**', '**/main/**', '**/preload/**', '**/renderer/**', '**/server/**', '**/cli/**', 'electron'], 'app/api is the contract: it imports no engine and no shell.') },
  // core: plain Node, no shell, no electron, no contract.
  { files: ['app/core/**'], rules: noImport(['**/api/**', '**/main/**', '**/preload/**', '**/renderer/**', '**/server/**', '**/cli/**', 'electron', 'react'], 'app/core is the engine: plain Node, no shells, no electron.') },
  // renderer and preload never touch core.
  { files: ['app/renderer/**', 'app/preload/**'], rules: noImport(['**/core/**', '**/main/**', '**/server/**', '**/cli/**', 'node:*', 'fs', 'child_process'], 'The renderer and preload talk only to the contract (app/api).') },
  // service: the contract implemented over core; shared by main and server. No shells, no electron.
  { files: ['app/service/**'], rules: noImport(['**/main/**', '**/preload/**', '**/renderer/**', '**/server/**', '**/cli/**', 'electron', 'react'], 'app/service implements the contract over core for every shell; it imports no shell.') },
  // shells do not import each other.
  { files: ['app/server/**', 'app/cli/**'], rules: noImport(['**/main/**', '**/preload/**', '**/renderer/**', 'electron'], 'Shells do not import each other or electron.') },
  { files: ['app/main/**'], rules: noImport(['**/renderer/**', '**/server/**', '**/cli/**'], 'The Electron shell uses api and core, not other shells.') },
);
