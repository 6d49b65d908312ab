import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { report, StackError } from './stack/progress.js';
import { stackContext, up } from './stack/stack.js';
import { judgeSkips, skippedTests, summaryLine } from './test-skips.js';

/**
 * `npm test`: the stack (installed and started if needed), then typecheck, lint and every
 * vitest project. Fails on the first failing stage, and on any skipped test but those declared as
 * needing an optional external system that is not configured; ends with one "N passed, N failed"
 * line (", N skipped (system: VARIABLE not set)" when some were).
 */
function stage(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  console.log(`\n▸ ${label}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        console.log(`✓ ${label} (${seconds}s)`);
        resolve();
      } else reject(new StackError(`${label} failed (exit ${code}, ${seconds}s)`));
    });
  });
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ assertionResults?: Array<{ fullName?: string; status?: string }> }>;
}

async function main(): Promise<void> {
  const ctx = await stackContext();
  await up(ctx);
  const env = { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '1' };
  const bin = (name: string) => join('node_modules', '.bin', name);
  await stage('typecheck', bin('tsc'), ['--noEmit'], env);
  await stage('lint', bin('eslint'), ['--max-warnings', '0', '.'], env);
  const results = join(ctx.settings.root, 'vitest-results.json');
  let failure: unknown;
  await stage('tests', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`], env).catch((error: unknown) => {
    failure = error;
  });
  const summary = JSON.parse(await readFile(results, 'utf8').catch(() => '{}')) as Partial<VitestJson>;
  // A skip is allowed only for a test declared as needing an optional external system that is not configured (infra/test-skips.ts).
  const skips = judgeSkips(skippedTests(summary), process.env);
  if (skips.allowed.length) console.log(`\nSkipped, an optional external system not configured:\n${skips.allowed.map((skip) => `  ↓ ${skip.name} (${skip.system}: ${skip.variable} not set)`).join('\n')}`);
  if (skips.refused.length) console.log(`\nSkipped, which fails the run:\n${skips.refused.map((skip) => `  ✗ ${skip.name}: ${skip.reason}`).join('\n')}`);
  console.log(`\n${summaryLine(summary.numPassedTests ?? 0, summary.numFailedTests ?? 0, skips)}`);
  if (failure) throw failure;
  if (skips.refused.length > 0) throw new StackError(`${skips.refused.length} tests were skipped without a declared reason; a skipped test proves nothing`);
}

main().catch(async (error: unknown) => {
  await report(error);
  process.exit(1);
});
