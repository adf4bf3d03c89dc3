#!/bin/sh
# Creates (or brings up to date) Temporal's schema in PostgreSQL, as the
# temporalio/admin-tools image can: the main store and the visibility store.
# Safe to run on every start: an existing database or schema is kept and
# only updated to the image's version.
set -eu
host=${POSTGRES_SEEDS:-temporal-db}
port=${DB_PORT:-5432}
echo "temporal schema on ${POSTGRES_USER}@${host}:${port}"
until nc -z "$host" "$port"; do sleep 1; done
for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  tool() { temporal-sql-tool --plugin postgres12 --ep "$host" -p "$port" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" --db "$db" "$@"; }
  tool create-database 2>/dev/null || echo "database $db exists"
  tool setup-schema -v 0.0 2>/dev/null || echo "schema of $db exists"
  tool update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo "temporal schema ready"
