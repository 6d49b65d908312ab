import type {} from 'vitest';

/** What global-setup hands every integration test file (vitest `provide`/`inject`). */
declare module 'vitest' {
  export interface ProvidedContext {
    env: Record<string, string>;
    workflowBundle: { code: string; sourceMap: string };
  }
}
