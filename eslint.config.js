// Lint rules double as architecture rules: the dependency direction in DESIGN.md is enforced here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const noStackImports = (patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
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
      { group: ['../api/*', '../workflows/*', '../activities/*', '../ingest/*', '../db/*', '../infra/*', '../config/*'], message: 'domain/ imports nothing of ours and does no I/O.' },
      { group: ['node:fs*', 'node:net', 'node:http*', 'pg', 'koa', '@temporalio/*', '@mikro-orm/*', 'mqtt', 'aedes'], message: 'domain/ does no I/O.' },
    ]),
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      ...noStackImports([
        { group: ['../api/*', '../ingest/*', '../db/*', '../infra/*', '../config/*', 'node:*', 'pg', '@mikro-orm/*'], message: 'workflows/ are deterministic: domain/ and activity types only.' },
      ]),
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['api/**/*.ts'],
    rules: noStackImports([{ group: ['../ingest/*', '../../ingest/*'], message: 'api and ingest meet in PostgreSQL and Temporal, never by import.' }]),
  },
  {
    files: ['ingest/**/*.ts'],
    rules: noStackImports([{ group: ['../api/*', '../../api/*'], message: 'api and ingest meet in PostgreSQL and Temporal, never by import.' }]),
  },
);
