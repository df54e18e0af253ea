#!/usr/bin/env bash
# `make demo`: the pg2es pipeline on this machine, without Docker.
#
# Starts a throwaway PostgreSQL cluster with the pg2es plugin, a real
# OpenSearch through tests/engines/start (when Java is here; else, and said
# so on screen, the Elasticsearch EMULATOR from tests/emulator) and the
# forwarder; creates the
# reference article's todos table, lets the forwarder load it, runs the
# article's two tests (an INSERT, then an UPDATE of row 2) and prints what
# the index holds after each.  Everything stops on exit, also on failure or
# Ctrl-C; the logs are kept when something failed.
#
# Run as root, the cluster, the engine and the forwarder run as the
# unprivileged user pg2es-test (or postgres), because initdb refuses root;
# root also installs the plugin into the server (make -C decoder install).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
# The SQL and curl commands shown in the README; tests/deploy/check_compose.sh
# checks that the README still shows them verbatim.
source "$root/tests/demo/commands.sh"

bindir=$(pg_config --bindir)
slot=pg2es_demo
sync_password=demo-$$-$RANDOM

# Build both programs; install the plugin when we may, else insist that the
# installed one is this build (an old plugin would make a confusing demo).
make -s -C "$root/decoder"
make -s -C "$root/forwarder" pg2es
bash "$root/tests/install-plugin.sh"

run_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	run_user=postgres
	id pg2es-test >/dev/null 2>&1 && run_user=pg2es-test
fi

# as_user CMD...: runs CMD as the unprivileged user.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$run_user" -- "$@"
	else
		"$@"
	fi
}

work=$(mktemp -d /tmp/pg2es-demo.XXXXXX)
# The user may not be able to read the clone (a home directory, /root):
# it runs copies of what it needs.
mkdir "$work/bin"
cp "$root/forwarder/pg2es" "$root/tests/emulator/esemu.py" "$work/bin/"
cp "$root/sql/pg2es.conf" "$root/sql/todos.sql" "$root/sql/role.sql" "$work/"
chown -R "$run_user" "$work"
pgdata=$work/pgdata

# stop_pidfile FILE: stops the process whose pid FILE holds (TERM, then KILL
# after 10 s).
stop_pidfile() {
	local pid i
	[ -s "$1" ] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

engine_port=
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_pidfile "$work/pg2es.pid"
	stop_pidfile "$work/esemu.pid"
	if [ -n "$engine_port" ]; then
		as_user env TMPDIR="$work" "$work/engines/stop" "$engine_port" || true
	fi
	if [ -f "$pgdata/postmaster.pid" ]; then
		as_user "$bindir/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ $status -eq 0 ]; then
		rm -rf "$work"
	else
		echo "demo: FAILED; logs kept in $work (postgres.log, esemu.log or pg2es-engine.*/log, pg2es.log)" >&2
	fi
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_bg NAME CMD...: runs CMD in the background as the unprivileged user,
# output in $work/NAME.log, its pid in $work/NAME.pid (the pid of CMD itself,
# not of runuser, so that stop_pidfile signals the right process).
start_bg() {
	local name=$1
	shift
	as_user sh -c 'echo $$ > "$0"; exec "$@"' "$work/$name.pid" "$@" \
		>"$work/$name.log" 2>&1 &
}

# wait_for DESCRIPTION SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
	local what=$1 seconds=$2 i
	shift 2
	for i in $(seq $((seconds * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "demo: timed out after ${seconds} s waiting for $what" >&2
	return 1
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "== PostgreSQL: a throwaway cluster in $pgdata"
pgport=$(free_port)
as_user "$bindir/initdb" -D "$pgdata" -U postgres -E UTF8 --locale=C \
	--auth-local=trust --auth-host=scram-sha-256 >"$work/initdb.log"
as_user sh -c "cat '$work/pg2es.conf' >> '$pgdata/postgresql.conf'"
# (grep without -q reads all its input: with pipefail, -q would fail the
# pipeline when postgres gets SIGPIPE.)
if "$bindir/postgres" --describe-config | grep '^output_plugin_libraries' >/dev/null; then
	as_user sed -i '/, pg2es/s/^#output_plugin_libraries/output_plugin_libraries/' "$pgdata/postgresql.conf"
fi
as_user sh -c "cat >> '$pgdata/postgresql.conf'" <<EOF
port = $pgport
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
EOF
as_user "$bindir/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w start >/dev/null

# psql_demo ARGS...: psql as the superuser postgres in database demo.
psql_demo() {
	as_user "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$pgport" -U postgres -d demo "$@"
}
as_user "$bindir/createdb" -h "$work" -p "$pgport" -U postgres demo
psql_demo -f "$work/todos.sql"
psql_demo -v sync_password="$sync_password" -f "$work/role.sql"
echo "   database demo: table public.todos (3 rows), role pg2es_sync (sql/role.sql)"

# start_engine: starts a real OpenSearch (tests/engines/start, copied so
# that the unprivileged user can run it; built here first if it is not) and
# sets es_url.  Returns 3 when this machine cannot run one (no Java, or no
# Maven to build the launcher), 1 when it failed to start.
start_engine() {
	local java=${JAVA_HOME:+$JAVA_HOME/bin/}java rc=0
	command -v "$java" >/dev/null 2>&1 || return 3
	if [ ! -f "$root/tests/engines/target/classes/pg2es/engines/Launcher.class" ]; then
		command -v mvn >/dev/null 2>&1 || return 3
		echo "   building tests/engines (Maven; a first run downloads about 70 MB)"
		mvn -B -Dstyle.color=never -f "$root/tests/engines/pom.xml" package >"$work/mvn.log" 2>&1 ||
			return 1
	fi
	cp -r "$root/tests/engines" "$work/engines"
	chown -R "$run_user" "$work/engines"
	engine_port=$(free_port)
	# The engine stops by itself when this script exits, however it ends.
	es_url=$(as_user env TMPDIR="$work" PG2ES_ENGINE_WATCH_PID=$$ \
		"$work/engines/start" opensearch "$engine_port" 2>"$work/engine-start.log") || rc=$?
	[ $rc -eq 0 ] || { cat "$work/engine-start.log" >&2; engine_port=; }
	return $rc
}

echo "== OpenSearch, a real one (tests/engines/start; it takes some seconds)"
engine_rc=0
start_engine || engine_rc=$?
if [ $engine_rc -eq 0 ]; then
	echo "   OpenSearch $(curl -s "$es_url/" | sed -n 's/.*"number" *: *"\([^"]*\)".*/\1/p') listening on $es_url"
elif [ $engine_rc -eq 3 ]; then
	echo "   no Java here to run it: falling back to the"
	echo "== Elasticsearch EMULATOR (tests/emulator/esemu.py): NOT Elasticsearch,"
	echo "   an in-memory stand-in for its document APIs; install Java 17 and"
	echo "   Maven (tests/bootstrap.sh) for the real engine"
	start_bg esemu /usr/bin/python3 "$work/bin/esemu.py" --host 127.0.0.1 --port 0 \
		--port-file "$work/esemu.port"
	wait_for "the emulator" 30 test -s "$work/esemu.port"
	es_url=http://127.0.0.1:$(cat "$work/esemu.port")
	echo "   listening on $es_url"
else
	echo "demo: OpenSearch did not start (above)" >&2
	exit 1
fi

echo "== pg2es forwarder: slot $slot, initial load, then streaming"
metrics_port=$(free_port)
start_bg pg2es env PGPASSWORD="$sync_password" "$work/bin/pg2es" \
	-d "host=127.0.0.1 port=$pgport dbname=demo user=pg2es_sync" \
	-S "$slot" --es-url "$es_url" --create-slot --metrics-port "$metrics_port" \
	--dead-letter-file "$work/dead-letter.ndjson"
wait_for "the forwarder's /healthz" 30 curl -fsS "http://127.0.0.1:$metrics_port/healthz"

# doc_count: the number of documents in public.todos (0 while it is missing),
# after a refresh (a real engine counts only refreshed documents).
doc_count() {
	curl -s -XPOST "$es_url/public.todos/_refresh" >/dev/null
	curl -s "$es_url/public.todos/_count" |
		/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin).get("count", 0))'
}
# doc_has ID TEXT: does document ID exist and contain TEXT?
doc_has() {
	curl -fsS "$es_url/public.todos/_doc/$1" | grep -qF "$2"
}
count_is() { [ "$(doc_count)" = "$1" ]; }

wait_for "the initial load of 3 rows" 30 count_is 3
echo "   loaded: $(doc_count) documents in index public.todos"

echo
echo "== Test 1 - add a new todo and see if there is a new record in es"
echo "   $TEST1_SQL"
psql_demo -c "$TEST1_SQL"
wait_for "document 4" 10 doc_has 4 'Publish new release'
curl -s "$es_url/public.todos/_doc/4"
echo

echo
echo "== Test 2 - update a todo to see if es is modified and not added"
echo "   $TEST2_SQL"
psql_demo -c "$TEST2_SQL"
wait_for "document 2 to change" 10 doc_has 2 'Create bug issue edited'
count_is 4 || { echo "demo: the update added a document" >&2; exit 1; }
curl -s "$es_url/public.todos/_doc/2"
echo

echo
echo "== What the index holds: curl -s '$es_url$LOOK_PATH'"
curl -s -XPOST "$es_url/public.todos/_refresh" >/dev/null
curl -s "$es_url$LOOK_PATH"
echo
echo "demo: OK - 4 rows in public.todos, 4 documents in index public.todos"
