#!/usr/bin/env bash
# `make bench`: measures pg2es side by side with the alternatives in one run
# (tests/bench/bench.py says how) and writes tests/bench/results/report.md,
# results.json and the plots, printing the report.
#
# Settings (environment):
#   BENCH_ROWS=N      rows per workload (default 200000, as the issue's calibration)
#   BENCH_LOAD_ROWS=N rows of the initial-load table (default 1000000: the load
#                     of 200,000 rows lasts half a second, which start-up and
#                     scheduling noise would dominate)
#   BENCH_ONLY=load   only the initial-load section (COPY vs the load); like a
#                     smoke run, its report stays in the scratch directory (or
#                     BENCH_OUT) and the committed one is untouched
#   BENCH_ONLY=delay  only the answer-delay sweep (counting sink, 0/20/100/300 ms)
#   BENCH_ONLY=engines  only the real engines (one node, three nodes), the
#                     Debezium chain among the pipelines
#   BENCH_ONLY=chain  only the Debezium chain beside pg2es, one node
#   BENCH_ONLY=filter only the row filter: pg2es -o publications beside pgoutput
#                     decoding the same WAL through the same publication
#   BENCH_ENGINE_ROWS=N  rows of the real engines' backlog (default 100000)
#   BENCH_ENGINE_RATE=R  rows/s offered in their steady run (default 2000)
#   BENCH_ENGINE_NODES="1 3"  the cluster sizes (default "1 3"; "1" for chain)
#   BENCH_CHAIN=0     leave the Debezium chain out
#   BENCH_REPEAT=K    runs per figure, medians reported (default 3)
#   BENCH_LAT_RATE / BENCH_LAT_SECONDS   latency write rate and duration (200 tx/s, 20 s)
#   BENCH_SMOKE=1     tiny run (2000 rows everywhere, 1 repeat) that only checks that every
#                     measurement produced a number; results stay in the scratch
#                     directory (or BENCH_OUT) and the committed report is untouched
#   BENCH_INSTALL=0   as root, do not install the freshly built plugin (use the
#                     server's pg2es.so as it is)
#
# As root it installs the benchmark packages (bootstrap.sh --bench), builds
# pg2es in a scratch copy of the tree, installs the plugin, and runs the
# measurements as the unprivileged test user (initdb refuses root).  As
# anyone else it runs them as the current user with the plugin the server
# already has.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
test_user=${PG2ES_TEST_USER:-pg2es-test}
smoke=${BENCH_SMOKE:-0}
[ "$smoke" = 0 ] && smoke=

bash "$root/tests/bootstrap.sh" --bench

work=$(mktemp -d /tmp/pg2es-bench.XXXXXX)
cleanup() {
	status=$?
	if [ $status -eq 0 ]; then
		rm -rf "$work"
	else
		echo "bench: logs kept in $work" >&2
	fi
}
trap cleanup EXIT

# A copy, so that building here never races with work in the tree and the
# test user can read everything.
tar -C "$root" --exclude=.git --exclude=tests/bench/results --exclude=tests/bench/chain/target -cf - . |
	tar -C "$work" --one-top-level=src -xf -
src=$work/src

# pg2es may not build yet while it is being written: its rows then say
# "not measured" instead of stopping the whole bench.
if make -s -C "$src/decoder" >"$work/build-decoder.log" 2>&1; then
	if [ "$(id -u)" -eq 0 ] && [ "${BENCH_INSTALL:-1}" != 0 ]; then
		make -s -C "$src/decoder" install >>"$work/build-decoder.log" 2>&1 ||
			echo "bench: installing the plugin failed (see $work/build-decoder.log)" >&2
	fi
else
	echo "bench: the decoder does not build (see $work/build-decoder.log); using the server's pg2es.so if any" >&2
fi
make -s -C "$src/forwarder" pg2es >"$work/build-forwarder.log" 2>&1 ||
	echo "bench: the forwarder does not build (see $work/build-forwarder.log)" >&2

# The real engines' launcher and the Debezium chain's jars (Maven Central),
# built here as root with root's local Maven repository, as bootstrap.sh
# builds the launcher; neither is needed by a smoke run or the sink-only modes.
case "${BENCH_ONLY:-}" in
"" | engines | chain)
	if [ -z "$smoke" ] && [ "$(id -u)" -eq 0 ] && command -v mvn >/dev/null; then
		[ -d "$src/tests/engines/target/lib" ] ||
			(cd "$src/tests/engines" && mvn -B -q package) >"$work/build-engines.log" 2>&1 ||
			echo "bench: building tests/engines failed (see $work/build-engines.log)" >&2
		if [ "${BENCH_CHAIN:-1}" != 0 ]; then
			(cd "$src/tests/bench/chain" && mvn -B -q package) >"$work/build-chain.log" 2>&1 ||
				echo "bench: building the Debezium chain failed (see $work/build-chain.log)" >&2
		fi
	fi
	;;
esac

mkdir -p "$work/run" "$work/out"
command="make bench"
engine_vars="BENCH_ENGINE_ROWS BENCH_ENGINE_RATE BENCH_ENGINE_NODES BENCH_CHAIN"
for v in BENCH_ROWS BENCH_LOAD_ROWS BENCH_ONLY BENCH_REPEAT BENCH_LAT_RATE BENCH_LAT_SECONDS BENCH_SMOKE $engine_vars; do
	[ -n "${!v:-}" ] && command="$v=${!v} $command"
done
bench=(env PATH="$(pg_config --bindir):$PATH" BENCH_SMOKE="$smoke"
	BENCH_ROWS="${BENCH_ROWS:-}" BENCH_LOAD_ROWS="${BENCH_LOAD_ROWS:-}"
	BENCH_ONLY="${BENCH_ONLY:-}" BENCH_REPEAT="${BENCH_REPEAT:-}"
	BENCH_LAT_RATE="${BENCH_LAT_RATE:-}" BENCH_LAT_SECONDS="${BENCH_LAT_SECONDS:-}"
	BENCH_ENGINE_ROWS="${BENCH_ENGINE_ROWS:-}" BENCH_ENGINE_RATE="${BENCH_ENGINE_RATE:-}"
	BENCH_ENGINE_NODES="${BENCH_ENGINE_NODES:-}" BENCH_CHAIN="${BENCH_CHAIN:-}"
	/usr/bin/python3)
run=(/usr/bin/python3)
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$test_user" "$work"
	chmod 755 "$work"
	bench=(runuser -u "$test_user" -- "${bench[@]}")
fi

"${bench[@]}" "$src/tests/bench/bench.py" --work "$work/run" --out "$work/out" \
	--forwarder "$src/forwarder/pg2es" --emulator-dir "$src/tests/emulator" \
	--command "$command"
report_args=("$work/out/results.json" --out "$work/out")
[ -n "$smoke" ] && report_args+=(--check)
"${run[@]}" "$src/tests/bench/report.py" "${report_args[@]}"

# A smoke run or a partial one (BENCH_ONLY) must not replace the committed
# report of a full run.
if [ -n "$smoke" ] || [ -n "${BENCH_ONLY:-}" ]; then
	echo "bench: report in ${BENCH_OUT:-$work/out (removed on exit: set BENCH_OUT to keep it)}"
	if [ -n "${BENCH_OUT:-}" ]; then
		mkdir -p "$BENCH_OUT"
		cp "$work/out"/* "$BENCH_OUT"/
	fi
else
	mkdir -p "$root/tests/bench/results"
	cp "$work/out"/* "$root/tests/bench/results/"
	echo "bench: report in $root/tests/bench/results/report.md"
fi
