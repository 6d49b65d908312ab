// Lint rules double as architecture rules: the dependency direction in DESIGN.md is enforced here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Our top-level folders, named by a relative import from any depth (`../db/x.js`, `../../db/orm.js`):
// a rule written as `../db/*` alone would miss the deeper file.
const ours = (...folders) => ({ regex: `^(\\.\\./)+(${folders.join('|')})(/|$)` });
const noStackImports = (patterns) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
});

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['domain/**/*.ts'],
    rules: noStackImports([
      { ...ours('api', 'workflows', 'activities', 'ingest', 'db', 'infra', 'config', 'security', 'identity', 'services', 'cli'), message: 'domain/ imports nothing of ours and does no I/O.' },
      { group: ['node:fs*', 'node:net', 'node:http*', 'pg', 'koa', '@temporalio/*', '@mikro-orm/*', 'mqtt', 'aedes'], message: 'domain/ does no I/O.' },
    ]),
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      ...noStackImports([
        { ...ours('api', 'ingest', 'db', 'infra', 'config', 'security', 'identity', 'services', 'cli'), message: 'workflows/ are deterministic: domain/ and activity types only.' },
        { ...ours('activities'), allowTypeImports: true, message: 'workflows/ see activities through `import type` only (proxyActivities).' },
        { group: ['node:*', 'pg', '@mikro-orm/*'], message: 'workflows/ are deterministic: domain/ and activity types only.' },
      ]),
    },
  },
  {
    // A promise nobody awaits in a workflow or an activity is work that silently never happens (or fails unseen).
    files: ['workflows/**/*.ts', 'activities/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  {
    files: ['api/**/*.ts'],
    rules: noStackImports([{ ...ours('ingest'), message: 'api and ingest meet in PostgreSQL and Temporal, never by import.' }]),
  },
  {
    files: ['ingest/**/*.ts'],
    rules: noStackImports([{ ...ours('api'), message: 'api and ingest meet in PostgreSQL and Temporal, never by import.' }]),
  },
);
