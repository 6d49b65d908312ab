import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Local-stack secrets are random per machine, made on first `stack up` and kept in
 * `.stack/secrets.json` (mode 600): nothing secret is ever a default in the code.
 */
export interface StackSecrets {
  postgresSuperuserPassword: string;
  ownerPassword: string;
  appPassword: string;
  cataloguePassword: string;
  keycloakAdminPassword: string;
  dataEncryptionKey: string;
  auditCheckpointKey: string;
  /** The ingest service account on the stack's mosquitto (external-broker mode). */
  mosquittoIngestPassword: string;
}

const make = (): StackSecrets => ({
  postgresSuperuserPassword: randomBytes(18).toString('base64url'),
  ownerPassword: randomBytes(18).toString('base64url'),
  appPassword: randomBytes(18).toString('base64url'),
  cataloguePassword: randomBytes(18).toString('base64url'),
  keycloakAdminPassword: randomBytes(18).toString('base64url'),
  dataEncryptionKey: randomBytes(32).toString('base64'),
  auditCheckpointKey: randomBytes(32).toString('base64'),
  mosquittoIngestPassword: randomBytes(18).toString('base64url'),
});

export async function loadSecrets(file: string): Promise<StackSecrets> {
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Partial<StackSecrets>;
    const secrets = { ...make(), ...stored };
    // A secret added since the file was made is kept from now on: every later start must see the same value.
    if (Object.keys(secrets).some((name) => !(name in stored))) await persist(file, secrets);
    return secrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const secrets = make();
    await mkdir(dirname(file), { recursive: true });
    // Written aside, then linked into place (atomic, refuses to replace): when two commands start
    // side by side, the first one's secrets win and both use them; nobody reads a half-written file.
    const draft = `${file}.${process.pid}.tmp`;
    await writeFile(draft, JSON.stringify(secrets, null, 2), { mode: 0o600 });
    try {
      await link(draft, file);
      return secrets;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      return loadSecrets(file);
    } finally {
      await rm(draft, { force: true });
    }
  }
}

/** Replaces the file in one step (written aside, renamed over it). */
async function persist(file: string, secrets: StackSecrets): Promise<void> {
  const draft = `${file}.${process.pid}.tmp`;
  await writeFile(draft, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  await rename(draft, file);
}
