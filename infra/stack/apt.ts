import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { withLock } from './locks.js';
import { StackError } from './progress.js';
import { capture, sleep } from './processes.js';

/** Runs one command, returning its exit code and output (stdout and stderr together). */
export type CommandRunner = (command: string, args: string[], env: NodeJS.ProcessEnv) => Promise<{ code: number; output: string }>;

const runCommand: CommandRunner = async (command, args, env) => {
  const { code, stdout, stderr } = await capture(command, args, { env });
  return { code, output: stdout + stderr };
};

/** apt is machine-wide: every SafeShipper checkout on the machine takes this one lock. */
export const APT_LOCK = '/var/lock/safeshipper-apt';
const LOCK_WAIT_SECONDS = 600;
const LOCKED = /Could not get lock|Unable to lock/;

export interface AptOptions {
  run?: CommandRunner;
  lockPath?: string;
  /** Pause between tries while another apt holds the package lists (apt's lock timeout does not cover them). */
  retryMs?: number;
  isRoot?: boolean;
}

/**
 * One apt transaction (`apt-get update` + `apt-get install`) for every Debian package the stack
 * still lacks. Calls made while a transaction is being prepared join it, so components that
 * install side by side never race for apt's lock; across processes a lock file serialises
 * SafeShipper's own transactions, and apt's lock timeout waits for any other apt on the machine.
 */
export function createAptInstaller(options: AptOptions = {}) {
  const runner = options.run ?? runCommand;
  const lockPath = options.lockPath ?? APT_LOCK;
  const retryMs = options.retryMs ?? 2000;
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  let gathering: { packages: Set<string>; log: string; done: Promise<void> } | undefined;
  let previous: Promise<void> = Promise.resolve();

  async function logged(log: string, command: string, args: string[]): Promise<{ code: number; output: string }> {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const result = await runner(command, args, env);
    await mkdir(dirname(log), { recursive: true });
    await appendFile(log, `\n$ ${command} ${args.join(' ')}\n${result.output}`);
    return result;
  }

  async function missing(packages: string[]): Promise<string[]> {
    const installed = await Promise.all(
      packages.map(async (name) => (await runner('dpkg-query', ['-W', '-f=${Status}', name], process.env)).output.includes('install ok installed')),
    );
    return packages.filter((_, index) => !installed[index]);
  }

  async function transaction(packages: string[], log: string): Promise<void> {
    if (!isRoot) {
      throw new StackError(`missing Debian packages: ${packages.join(' ')}`, `run as root, or first: sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`);
    }
    await withLock(lockPath, 'Debian packages (apt)', async () => {
      // Another SafeShipper process may have installed them while this one waited for the lock.
      const still = await missing(packages);
      if (still.length === 0) return;
      const timeout = ['-o', `DPkg::Lock::Timeout=${LOCK_WAIT_SECONDS}`];
      const deadline = Date.now() + LOCK_WAIT_SECONDS * 1000;
      for (;;) {
        const update = await logged(log, 'apt-get', ['update', '-q', ...timeout]);
        if (update.code === 0) break;
        if (!LOCKED.test(update.output) || Date.now() > deadline) {
          throw new StackError(`\`apt-get update\` exited with code ${update.code}`, 'read the log below', log);
        }
        await sleep(retryMs);
      }
      const install = await logged(log, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...timeout, ...still]);
      if (install.code !== 0) {
        throw new StackError(`\`apt-get install ${still.join(' ')}\` exited with code ${install.code}`, 'read the log below', log);
      }
    });
  }

  /** Installs the packages (those already installed are skipped); resolves when they are in place. */
  return function aptInstall(packages: string[], log: string): Promise<void> {
    if (!gathering) {
      const batch = { packages: new Set<string>(), log, done: Promise.resolve() };
      // Wait for the previous transaction and one turn of the event loop, so that every
      // component asking in the same breath lands in this one transaction.
      batch.done = previous
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => {
          gathering = undefined;
          return transaction([...batch.packages].sort(), batch.log);
        });
      previous = batch.done.catch(() => undefined);
      gathering = batch;
    }
    for (const name of packages) gathering.packages.add(name);
    return gathering.done;
  };
}

export const aptInstall = createAptInstaller();
