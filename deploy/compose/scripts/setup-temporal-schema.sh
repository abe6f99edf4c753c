#!/bin/sh
# Temporal's default and visibility schemas on Postgres, as the Temporal server samples set
# them up with temporal-sql-tool, but safe to rerun: an existing database or schema is kept
# and only brought up to date.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12
nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"
sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"; }
for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair##*:}"
  sql --db "$db" create 2>/dev/null || echo "database $db exists"
  # setup-schema -v 0.0 only on an empty database; update-schema then applies every version.
  if ! sql --db "$db" update-schema -d "$SCHEMA/$dir/versioned" 2>/dev/null; then
    sql --db "$db" setup-schema -v 0.0
    sql --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
  fi
done
echo "Temporal schemas are up to date"
