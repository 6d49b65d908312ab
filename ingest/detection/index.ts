import { Client, Connection } from '@temporalio/client';
import { taskQueues, type Config } from '../../config/env.js';
import type { Logger } from '../../config/logger.js';
import { GEOFENCES_CHANNEL } from '../../db/geofences.js';
import type { Database } from '../../db/orm.js';
import { listenForNotifications } from '../../db/listen.js';
import { PENDING_EVENTS_CHANNEL } from '../../db/telemetry-events.js';
import type { Detector } from '../pipeline.js';
import { createDetector } from './detector.js';
import { GeofenceIndex } from './geofence-index.js';
import { EventRelay } from './relay.js';

export type { Detector, StoredPoint } from '../pipeline.js';

/** How often the relay looks for events whose NOTIFY it missed (a listener reconnecting, a failed send). */
const SWEEP_EVERY_MS = 5_000;

export interface RunningDetection {
  detector: Detector;
  close(): Promise<void>;
}

/**
 * Detection for an ingest process: the Detector the pipeline calls inside its commit
 * transaction, the geofence index kept fresh by PostgreSQL's change notifications, and the relay
 * that sends committed events to Temporal.
 */
export async function startDetection(config: Config, db: Database, log: Logger): Promise<RunningDetection> {
  let listening = false;
  const geofences = new GeofenceIndex(() => listening);
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const relay = new EventRelay(db, client, taskQueues(config).incidents, log);
  const listener = await listenForNotifications(config.DATABASE_URL, 'ingest-detection-listener', [GEOFENCES_CHANNEL, PENDING_EVENTS_CHANNEL], {
    notified: (channel, payload) => {
      if (channel === GEOFENCES_CHANNEL) geofences.changed(payload);
      else relay.wake(payload);
    },
    listening: (reconnected) => {
      listening = true;
      if (!reconnected) return;
      log.info('geofence changes and pending events heard again; indexes rebuilt, outbox swept');
      geofences.everythingMayHaveChanged();
      void relay.sweep().catch((error: unknown) => log.warn({ err: error }, 'outbox sweep failed'));
    },
    lost: (error) => {
      listening = false;
      geofences.everythingMayHaveChanged();
      log.error({ err: error }, 'geofence changes not heard; geofences are read per batch until back');
    },
  });
  const sweep = () => void relay.sweep().catch((error: unknown) => log.warn({ err: error }, 'outbox sweep failed'));
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref();
  return {
    detector: createDetector(geofences),
    async close() {
      clearInterval(timer);
      await listener.close();
      await relay.close();
      await connection.close();
    },
  };
}
