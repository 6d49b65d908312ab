// safeshipper command line. Results go to stdout as JSON (exit 0, also when the answer is "no");
// bad usage or input goes to stderr with exit 2 and nothing on stdout.
import { parseArgs } from 'node:util';
import { checkCompatibilityCommand, complianceCommand, placardsCommand } from './dg.js';
import { CommandFailed, UsageError } from './errors.js';
import { isRegime } from '../domain/dangerous-goods/regime.js';
import { syncCommand } from './dg-sync.js';
import { reencryptCommand } from './data.js';

/** Larger than any valid load (1,000 items); a bigger stdin is refused unread. */
const MAX_STDIN_BYTES = 8 * 1024 * 1024;

const USAGE = `usage:
  safeshipper dg check-compatibility --regime adg|49cfr < load.json
  safeshipper dg placards --regime adg|49cfr [--international] < load.json
  safeshipper dg compliance [--regime adg|49cfr] < shipment.json
  safeshipper dg sync [--hmt-url URL] [--special-provisions-url URL]   (needs DATABASE_CATALOGUE_URL)
  safeshipper data reencrypt [--batch-size N]   (needs DATABASE_OWNER_URL, DATA_ENCRYPTION_KEY, DATA_ENCRYPTION_PREVIOUS_KEYS)

load.json: {"items":[{"unNumber":"UN1203","packingGroup":"II","quantity":200,"unit":"L"}]}
`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('expected JSON on stdin');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError(`input is larger than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(): Promise<unknown> {
  const text = await readStdin();
  if (text.trim() === '') throw new UsageError('expected JSON on stdin, got nothing');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`stdin is not valid JSON: ${(err as Error).message}`);
  }
}

export async function run(argv: readonly string[]): Promise<unknown> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        regime: { type: 'string' },
        international: { type: 'boolean', default: false },
        'hmt-url': { type: 'string' },
        'special-provisions-url': { type: 'string' },
        'batch-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: USAGE };
  const [group, command, ...rest] = positionals;
  if ((group !== 'dg' && group !== 'data') || command === undefined) throw new UsageError(group === undefined ? 'missing command' : `unknown command "${positionals.join(' ')}"`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (group === 'data') {
    if (command !== 'reencrypt') throw new UsageError(`unknown command "data ${command}"`);
    const stray = (['regime', 'international', 'hmt-url', 'special-provisions-url'] as const).find((name) => values[name] !== undefined && values[name] !== false);
    if (stray) throw new UsageError(`--${stray} does not apply to "data reencrypt"`);
    return reencryptCommand({ batchSize: values['batch-size'] }, process.env);
  }
  if (values['batch-size'] !== undefined) throw new UsageError('--batch-size applies to "data reencrypt" only');
  const takesRegime = command === 'placards' || command === 'check-compatibility' || command === 'compliance';
  if (!takesRegime && values.regime !== undefined) throw new UsageError(`--regime does not apply to "dg ${command}"`);
  if (command !== 'placards' && values.international) throw new UsageError(`--international does not apply to "dg ${command}"`);
  if (command !== 'sync' && (values['hmt-url'] !== undefined || values['special-provisions-url'] !== undefined)) throw new UsageError(`--hmt-url and --special-provisions-url apply to "dg sync" only`);
  switch (command) {
    case 'check-compatibility':
      return checkCompatibilityCommand(await readJson(), values.regime);
    case 'placards': {
      const regime = values.regime;
      if (!isRegime(regime)) throw new UsageError('--regime must be "adg" or "49cfr"');
      if (regime === 'adg' && values.international) throw new UsageError('--international applies to --regime 49cfr only');
      return placardsCommand(await readJson(), regime, !values.international);
    }
    case 'compliance':
      return complianceCommand(await readJson(), values.regime);
    case 'sync':
      return syncCommand({ hmtUrl: values['hmt-url'], specialProvisionsUrl: values['special-provisions-url'] }, process.env);
    default:
      throw new UsageError(`unknown command "dg ${command}"`);
  }
}

async function main(): Promise<void> {
  try {
    const result = await run(process.argv.slice(2));
    if (typeof result === 'object' && result !== null && 'help' in result) process.stdout.write(String((result as { help: string }).help));
    else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof UsageError) {
      const lines = [`safeshipper: ${err.message}`, ...err.details.map((d) => `  ${d}`)];
      if (err.message === 'missing command' || err.message.startsWith('unknown command')) lines.push('', USAGE.trimEnd());
      process.stderr.write(`${lines.join('\n')}\n`);
      process.exitCode = 2;
    } else if (err instanceof CommandFailed) {
      process.stderr.write(`safeshipper: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`safeshipper: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  }
}

await main();
