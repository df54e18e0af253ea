#!/usr/bin/env bash
# tests/majors/regress.sh MAJOR: the decoder's regression suite (the
# REGRESS list of decoder/Makefile, tests/regress) against a temporary
# instance of PostgreSQL MAJOR from its root, with that root's pg_regress,
# as `make -C decoder installcheck` does for the machine's own server.  The
# root must carry this tree's plugin (tests/majors/install-plugin.sh; as
# root it is installed here).  Results go to a temporary directory, kept
# and named on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

major=${1:?usage: regress.sh MAJOR}
bindir=$(majors_bindir "$major")
bash "$here/install-plugin.sh" "$major"

tests=$(make -s --no-print-directory -C "$tree/decoder" -f Makefile \
	-f <(printf 'majors-regress-list:\n\t@echo $(REGRESS)\n') majors-regress-list)
# A topic whose first line is "-- needs PostgreSQL N: why" is left out on
# majors before N (its SQL would not even run there); such a topic that is
# not in REGRESS (the machine's 15 cannot run it) runs here on N and later.
needs() {
	sed -n '1s/^-- needs PostgreSQL \([0-9]*\):.*/\1/p' "$tree/tests/regress/sql/$1.sql"
}
for f in "$tree"/tests/regress/sql/*.sql; do
	t=$(basename "$f" .sql)
	[[ " $tests " == *" $t "* ]] || [ -z "$(needs "$t")" ] || tests="$tests $t"
done
run=()
for t in $tests; do
	need=$(needs "$t")
	if [ -n "$need" ] && [ "$major" -lt "$need" ]; then
		echo "regress: $t left out on PostgreSQL $major (needs $need)"
	else
		run+=("$t")
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/pg2es-regress-$major.XXXXXX")

# The temporary instance's settings, as decoder/Makefile's regress.conf.
cp "$tree/tests/regress/logical.conf" "$work/regress.conf"
if [[ $'\n'$("$bindir/postgres" --describe-config 2>/dev/null) == *$'\n'output_plugin_libraries$'\t'* ]]; then
	echo "output_plugin_libraries = 'pgoutput, test_decoding, pg2es'" >>"$work/regress.conf"
fi

pg_regress="$bindir/../lib/pgxs/src/test/regress/pg_regress"
if "$pg_regress" --bindir="$bindir" --inputdir="$tree/tests/regress" \
	--outputdir="$work" --temp-instance="$work/tmp_check" \
	--temp-config="$work/regress.conf" --encoding=UTF8 --no-locale "${run[@]}"; then
	rm -rf "$work"
else
	echo "regress: PostgreSQL $major: differences in $work/regression.diffs" >&2
	exit 1
fi
