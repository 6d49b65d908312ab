import pg from 'pg';
import { LIVE_CHANNEL, chunkLiveEvents, parseLiveEnvelope, type LiveEnvelope, type LiveEvent } from '../domain/live-events.js';
import { executeBound } from './bound-query.js';
import type { Database, EntityManager } from './orm.js';

/**
 * Publishes a company's live events from inside the writer's transaction: PostgreSQL delivers a
 * NOTIFY only when the transaction commits (and drops it on rollback), so a dashboard never sees a
 * position or an alarm that was not stored. One statement per batch, however many payloads the
 * events need (each under NOTIFY's 8000-byte limit).
 */
export async function notifyLive(tx: EntityManager, companyId: string, events: LiveEvent[]): Promise<void> {
  if (events.length === 0) return;
  const payloads = chunkLiveEvents(companyId, events);
  await executeBound(tx, `SELECT pg_notify(?, payload) FROM jsonb_array_elements_text(?::jsonb) AS payload`, [LIVE_CHANNEL, JSON.stringify(payloads)]);
}

export interface LiveListenerHandlers {
  /** A committed batch of a company's events. */
  onEnvelope(envelope: LiveEnvelope): void;
  /** LISTEN is in place: from now on every commit is heard (after a reconnection, some may have been missed meanwhile). */
  onListening(reconnected: boolean): void;
  onLost(error: Error): void;
}

export interface LiveListener {
  close(): Promise<void>;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;

/**
 * One connection of its own (not the pool's: it stays open as long as anyone listens) that
 * LISTENs on the live channel and reconnects with a growing delay when it is lost.
 */
export function listenLive(db: Database, handlers: LiveListenerHandlers): LiveListener {
  const url = db.config.get('clientUrl')!;
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = RETRY_MIN_MS;
  let timer: NodeJS.Timeout | undefined;
  let connectedOnce = false;

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: url, application_name: 'safeshipper-live' });
    client = next;
    next.on('notification', (message) => {
      if (message.channel !== LIVE_CHANNEL || !message.payload) return;
      const envelope = parseLiveEnvelope(message.payload);
      if (envelope) handlers.onEnvelope(envelope);
    });
    let lost = false;
    const lose = (error: Error) => {
      if (lost || closed) return;
      lost = true;
      handlers.onLost(error);
      next.end().catch(() => undefined);
      timer = setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
    next.on('error', lose);
    next.on('end', () => lose(new Error('the live feed connection ended')));
    try {
      await next.connect();
      await next.query(`LISTEN ${LIVE_CHANNEL}`);
      if (closed) return;
      retryMs = RETRY_MIN_MS;
      handlers.onListening(connectedOnce);
      connectedOnce = true;
    } catch (error) {
      lose(error as Error);
    }
  };
  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
