import { readFile } from 'node:fs/promises';

/** Raised when a stack step fails; carries the fix to print and the log worth showing. */
export class StackError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly logFile?: string,
  ) {
    super(message);
  }
}

const terminal = process.stdout.isTTY === true;
let active = 0;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Runs one step, showing what it does and how long it has taken: a live timer on a terminal,
 * a heartbeat line every 15 s in CI logs so a slow Keycloak build never looks like a hang.
 */
export async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  active += 1;
  // Steps that run side by side print heartbeat lines: one rewritten line cannot show two timers.
  const interactive = terminal && active === 1;
  const show = () => {
    const elapsed = seconds(Date.now() - started);
    if (interactive) process.stdout.write(`\r\x1b[2K▸ ${label} … ${elapsed}`);
    else process.stdout.write(`▸ ${label} … ${elapsed}\n`);
  };
  show();
  const timer = setInterval(show, interactive ? 1000 : 15_000);
  try {
    const result = await work();
    active -= 1;
    clearInterval(timer);
    process.stdout.write(`${interactive ? '\r\x1b[2K' : ''}✓ ${label} (${seconds(Date.now() - started)})\n`);
    return result;
  } catch (error) {
    active -= 1;
    clearInterval(timer);
    process.stdout.write(`${interactive ? '\r\x1b[2K' : ''}✗ ${label} (${seconds(Date.now() - started)})\n`);
    throw error;
  }
}

export async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** Prints a failed step the way a newcomer needs it: what broke, how to fix it, the log tail. */
export async function report(error: unknown): Promise<void> {
  if (error instanceof StackError) {
    console.error(`\nerror: ${error.message}`);
    if (error.fix) console.error(`fix:   ${error.fix}`);
    if (error.logFile) console.error(`\n--- last lines of ${error.logFile} ---\n${await tail(error.logFile)}`);
  } else {
    console.error(error);
  }
}
