#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook for docker-compose: the same provisioning as the local stack.
set -euo pipefail
: "${SAFESHIPPER_OWNER_PASSWORD:?set SAFESHIPPER_OWNER_PASSWORD}"
: "${SAFESHIPPER_APP_PASSWORD:?set SAFESHIPPER_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$SAFESHIPPER_OWNER_PASSWORD" -v app_password="$SAFESHIPPER_APP_PASSWORD" \
  -f /safeshipper/provision.sql
