#!/bin/sh
# Init script of the pg2es PostgreSQL image (decoder/Dockerfile copies it to
# /docker-entrypoint-initdb.d/).  The official image's entrypoint runs it
# once, when it initialises an empty data directory, against a temporary
# server that listens on the Unix socket only, with POSTGRES_USER,
# POSTGRES_DB and PGPASSWORD set.
#
# It creates the reference article's todos table, then the least-privilege
# role of sql/role.sql with the password from PG2ES_SYNC_PASSWORD (a .sql
# file in /docker-entrypoint-initdb.d could not take it from the
# environment).
set -eu

if [ -z "${PG2ES_SYNC_PASSWORD:-}" ]; then
	echo "pg2es: PG2ES_SYNC_PASSWORD is not set; the forwarder's role needs a password" >&2
	exit 1
fi

run_psql() {
	psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
		--username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"
}

run_psql -f /usr/share/pg2es/todos.sql
run_psql -v sync_password="$PG2ES_SYNC_PASSWORD" -f /usr/share/pg2es/role.sql
