import { StackError } from './progress.js';
import { run } from './processes.js';

let updated = false;

/** Installs Debian packages; needs root, and says so instead of failing obscurely. */
export async function aptInstall(packages: string[], log: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new StackError(`missing Debian packages: ${packages.join(' ')}`, `run as root, or first: sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    await run('apt-get', ['update', '-q'], { log, env });
    updated = true;
  }
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { log, env });
}
