import { LIVE_CHANNEL, chunkLiveEvents, type LiveEvent } from '../domain/live-events.js';
import type { EntityManager } from './orm.js';

/**
 * Publishes a company's live events from inside the writer's transaction: PostgreSQL delivers a
 * NOTIFY only when the transaction commits (and drops it on rollback), so a dashboard never sees a
 * position or an alarm that was not stored. One statement per batch, however many payloads the
 * events need (each under NOTIFY's 8000-byte limit).
 */
export async function notifyLive(tx: EntityManager, companyId: string, events: LiveEvent[]): Promise<void> {
  if (events.length === 0) return;
  const payloads = chunkLiveEvents(companyId, events);
  await tx.execute(`SELECT pg_notify(?, payload) FROM jsonb_array_elements_text(?::jsonb) AS payload`, [LIVE_CHANNEL, JSON.stringify(payloads)]);
}
