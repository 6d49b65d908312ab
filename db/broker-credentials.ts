import type { Database } from './orm.js';

export interface BrokerPasswordLine {
  username: string;
  hash: string;
}

/**
 * Every live device's broker hash (Migration20261202030000ExternalBroker), handed to `work`
 * while a transaction-scoped advisory lock is held: the ingest processes that keep one broker's
 * password file take turns, read and write together.
 */
export async function brokerPasswordLines(db: Database, work: (devices: BrokerPasswordLine[]) => Promise<void>): Promise<void> {
  await db.em.fork().transactional(async (em) => {
    await em.execute(`SELECT pg_advisory_xact_lock(hashtext('broker_device_passwords'))`);
    const rows = await em.execute<Array<{ mqtt_username: string; broker_secret_hash: string }>>('SELECT mqtt_username, broker_secret_hash FROM broker_device_passwords()');
    await work(rows.map((row) => ({ username: row.mqtt_username, hash: row.broker_secret_hash })));
  });
}
