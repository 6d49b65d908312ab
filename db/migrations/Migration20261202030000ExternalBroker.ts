import { Migration } from '@mikro-orm/migrations';

/**
 * External-broker mode: the broker authenticates devices itself, and no broker verifies scrypt.
 * Each device secret issued from now on also gets a PBKDF2-SHA512 hash in mosquitto's `$7$`
 * form (security/broker-secrets.ts); a device issued before has none until its secret is rotated,
 * and cannot connect through an external broker until then.
 *
 * Ingest keeps a mosquitto password file in sync from `broker_device_passwords()` (every
 * company's live devices, so it runs with the owner's rights and returns only what the broker
 * needs). The file must also learn of new devices: an insert is announced on the same channel as
 * a change (Migration20261130100000DeviceRevocation), and so is a change of the broker hash alone.
 */
export class Migration20261202030000ExternalBroker extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE devices ADD COLUMN broker_secret_hash text');
    this.addSql(`
      CREATE FUNCTION broker_device_passwords()
      RETURNS TABLE (mqtt_username text, broker_secret_hash text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT mqtt_username, broker_secret_hash FROM devices WHERE revoked_at IS NULL AND broker_secret_hash IS NOT NULL ORDER BY mqtt_username $$`);
    this.addSql('REVOKE ALL ON FUNCTION broker_device_passwords() FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION broker_device_passwords() TO safeshipper_app');
    this.addSql(`
      CREATE FUNCTION notify_device_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('device_credentials_changed', NEW.mqtt_username);
        RETURN NULL;
      END $$`);
    this.addSql('CREATE TRIGGER devices_credentials_inserted AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION notify_device_added()');
    this.addSql(`
      CREATE TRIGGER devices_broker_secret_updated AFTER UPDATE ON devices FOR EACH ROW
      WHEN (OLD.broker_secret_hash IS DISTINCT FROM NEW.broker_secret_hash AND OLD.secret_hash IS NOT DISTINCT FROM NEW.secret_hash)
      EXECUTE FUNCTION notify_device_added()`);
  }
}
