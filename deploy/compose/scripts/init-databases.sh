#!/bin/sh
# First start of the Postgres volume: a role and database for Sagaway (inbox + demo
# services), and a role for Temporal that may create its two databases.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE sagaway LOGIN PASSWORD '${SAGAWAY_DB_PASSWORD}';
CREATE DATABASE sagaway OWNER sagaway;
CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${TEMPORAL_DB_PASSWORD}';
SQL
