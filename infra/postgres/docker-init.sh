#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook for docker-compose: the same provisioning as the local stack.
set -euo pipefail
: "${SAFESHIPPER_OWNER_PASSWORD:?set SAFESHIPPER_OWNER_PASSWORD}"
: "${SAFESHIPPER_APP_PASSWORD:?set SAFESHIPPER_APP_PASSWORD}"
: "${SAFESHIPPER_CATALOGUE_PASSWORD:?set SAFESHIPPER_CATALOGUE_PASSWORD}"
: "${TEMPORAL_DB_PASSWORD:?set TEMPORAL_DB_PASSWORD}"
: "${KEYCLOAK_DB_PASSWORD:?set KEYCLOAK_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$SAFESHIPPER_OWNER_PASSWORD" -v app_password="$SAFESHIPPER_APP_PASSWORD" -v catalogue_password="$SAFESHIPPER_CATALOGUE_PASSWORD" \
  -f /safeshipper/provision.sql

# Temporal and Keycloak (production compose only) keep their data here, each as an unprivileged role
# owning only its own databases: neither connects as the superuser. Runs once, on an empty data volume.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" -v keycloak_password="$KEYCLOAK_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE keycloak LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'keycloak_password';
CREATE DATABASE keycloak OWNER keycloak;
SQL
