-- Roles, databases and extensions for SafeShipper. Run by a superuser with psql, idempotently:
--   psql -v owner_password=… -v app_password=… -v catalogue_password=… -f provision.sql
-- by the local stack (`npm run stack up`, also when PostgreSQL already runs) and by
-- docker-compose's database init alike.
--
-- safeshipper_owner owns the schema, runs migrations and creates test databases.
-- safeshipper_app is what the services connect as: not an owner, no BYPASSRLS,
-- so PostgreSQL row-level security applies to every query it makes.
-- safeshipper_catalogue is the government DG sync's role: the only writer of the DG catalogue
-- shared by every company (grants in db/migrations/Migration20261130120000CatalogueRole.ts).
\set ON_ERROR_STOP on

SELECT 'CREATE ROLE safeshipper_owner LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safeshipper_owner') \gexec
SELECT 'CREATE ROLE safeshipper_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safeshipper_app') \gexec
SELECT 'CREATE ROLE safeshipper_catalogue LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safeshipper_catalogue') \gexec
ALTER ROLE safeshipper_owner PASSWORD :'owner_password';
ALTER ROLE safeshipper_app PASSWORD :'app_password';
ALTER ROLE safeshipper_catalogue PASSWORD :'catalogue_password';

SELECT 'CREATE DATABASE safeshipper OWNER safeshipper_owner ENCODING ''UTF8'' TEMPLATE template0' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'safeshipper') \gexec
-- Test runs clone this template: a fresh database with the extensions, migrated from zero.
SELECT 'CREATE DATABASE safeshipper_template OWNER safeshipper_owner ENCODING ''UTF8'' TEMPLATE template0' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'safeshipper_template') \gexec
ALTER DATABASE safeshipper_template WITH IS_TEMPLATE true;

\c safeshipper
\ir extensions.sql
\c safeshipper_template
\ir extensions.sql
