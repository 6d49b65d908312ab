// `safeshipper data reencrypt`: moves every field-encrypted value to the current DATA_ENCRYPTION_KEY
// (and to the current format, bound to its row), so a previous key can then be retired.
import { reencryptFields } from '../db/encrypted-fields.js';
import { FieldEncryption, FieldIntegrityError } from '../security/field-encryption.js';
import { CommandFailed, UsageError } from './errors.js';

const DEFAULT_BATCH = 500;

export async function reencryptCommand(options: { batchSize?: string | undefined }, env: NodeJS.ProcessEnv): Promise<unknown> {
  const batchSize = options.batchSize === undefined ? DEFAULT_BATCH : Number(options.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new UsageError('--batch-size must be a whole number from 1 to 10000');
  const url = env.DATABASE_OWNER_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) throw new UsageError("DATABASE_OWNER_URL must be set to the schema owner's postgresql:// URL (on a dev machine: set -a; . .stack/stack.env)");
  if (!env.DATA_ENCRYPTION_KEY) throw new UsageError('DATA_ENCRYPTION_KEY must be set: the key every value is rewritten with');
  let fields: FieldEncryption;
  try {
    const previous = (env.DATA_ENCRYPTION_PREVIOUS_KEYS ?? '').split(',').map((key) => key.trim()).filter((key) => key !== '');
    fields = new FieldEncryption(env.DATA_ENCRYPTION_KEY, previous);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const columns = await reencryptFields(url, fields, { batchSize }).catch((error: unknown) => {
    // A value no key opens is the data's fault, not the program's: say which, and what the batches before it did.
    if (error instanceof Error && error.cause instanceof FieldIntegrityError) {
      throw new CommandFailed(`stopped: ${error.message}. Batches before it are done and a rerun resumes; fix or clear that value first (or add the key that sealed it to DATA_ENCRYPTION_PREVIOUS_KEYS).`);
    }
    throw error;
  });
  return {
    keyId: fields.currentKeyId,
    rewritten: columns.reduce((sum, column) => sum + column.rewritten, 0),
    alreadyCurrent: columns.reduce((sum, column) => sum + column.alreadyCurrent, 0),
    columns,
  };
}
