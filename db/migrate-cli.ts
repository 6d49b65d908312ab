import { migrate } from './orm.js';

/** `node --import tsx db/migrate-cli.ts`: applies pending migrations as the schema owner (DATABASE_OWNER_URL). */
const url = process.env.DATABASE_OWNER_URL;
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  console.error('error: DATABASE_OWNER_URL must be set to the schema owner\'s postgresql:// URL');
  process.exit(2);
}
try {
  const applied = await migrate(url);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (error) {
  console.error(`error: migration failed: ${(error as Error).message}`);
  process.exit(1);
}
