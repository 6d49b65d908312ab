import { Migration } from '@mikro-orm/migrations';

/**
 * The road-event outbox (telemetry_events, Migration20261202010000Alarms) gains a row per
 * vehicle and minute in transit and was never emptied. A sent event has done its work (the
 * workflow's history keeps what it applied), so it ages out with the raw points it came from;
 * an unsent one is kept whatever its age: deleting it would lose an event.
 */
export class Migration20261202040000TelemetryEventRetention extends Migration {
  override async up(): Promise<void> {
    this.addSql('CREATE INDEX telemetry_events_sent_idx ON telemetry_events (sent_at) WHERE sent_at IS NOT NULL');
    this.addSql(`
      CREATE FUNCTION prune_sent_telemetry_events(p_days integer) RETURNS integer
      LANGUAGE sql SECURITY DEFINER SET search_path = public AS
      $$ WITH gone AS (DELETE FROM telemetry_events WHERE sent_at < now() - make_interval(days => p_days) RETURNING 1) SELECT count(*)::int FROM gone $$`);
    this.addSql('REVOKE ALL ON FUNCTION prune_sent_telemetry_events(integer) FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION prune_sent_telemetry_events(integer) TO safeshipper_app');
  }
}
