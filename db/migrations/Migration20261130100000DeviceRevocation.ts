import { Migration } from '@mikro-orm/migrations';

/**
 * Revocation reaches live MQTT sessions: every committed change to what authenticates a device
 * (its secret, revocation, the row itself) or to what its points are filed under (company,
 * vehicle) is announced on `device_credentials_changed` with the MQTT username. A trigger, so
 * every writer (the API, a script, an operator's psql) is heard; NOTIFY is delivered at commit,
 * never for a change rolled back. The ingest processes LISTEN and re-check that device's sessions.
 */
export class Migration20261130100000DeviceRevocation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION notify_device_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('device_credentials_changed', OLD.mqtt_username);
        IF TG_OP = 'UPDATE' AND NEW.mqtt_username <> OLD.mqtt_username THEN
          PERFORM pg_notify('device_credentials_changed', NEW.mqtt_username);
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE TRIGGER devices_credentials_updated AFTER UPDATE ON devices FOR EACH ROW
      WHEN (OLD.secret_hash IS DISTINCT FROM NEW.secret_hash
         OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
         OR OLD.mqtt_username IS DISTINCT FROM NEW.mqtt_username
         OR OLD.company_id IS DISTINCT FROM NEW.company_id
         OR OLD.vehicle_id IS DISTINCT FROM NEW.vehicle_id)
      EXECUTE FUNCTION notify_device_credentials_changed()`);
    this.addSql('CREATE TRIGGER devices_credentials_deleted AFTER DELETE ON devices FOR EACH ROW EXECUTE FUNCTION notify_device_credentials_changed()');
  }
}
