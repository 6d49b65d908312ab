-- Extensions need a superuser; run in each SafeShipper database (the template passes them on).
-- TimescaleDB is used where the server has it (production image); pg_partman otherwise.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'timescaledb') THEN
    CREATE EXTENSION IF NOT EXISTS timescaledb;
  ELSE
    CREATE SCHEMA IF NOT EXISTS partman;
    CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
    GRANT ALL ON SCHEMA partman TO safeshipper_owner;
    GRANT ALL ON ALL TABLES IN SCHEMA partman TO safeshipper_owner;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO safeshipper_owner;
    GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO safeshipper_owner;
  END IF;
END $$;
ALTER SCHEMA public OWNER TO safeshipper_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO safeshipper_app;
