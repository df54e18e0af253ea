#!/usr/bin/env bash
# Fails when a function of the decoder or the forwarder has more than 60
# lines between its braces (docs/design.md, "Code"). In the project's
# style a function body opens and closes with a brace in column 0, so the
# lines between those two are its length. First, a self-test: a generated
# function of 61 lines must be found, and one of 60 must not.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
limit=60

# long_functions FILE...: "file:line: name: N lines" for each one over the limit
long_functions() {
	awk -v limit="$limit" '
		FNR == 1 { name = ""; start = 0 }
		/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = FNR }
		/^\}/ && start {
			if (FNR - start - 1 > limit)
				printf "%s:%d: %s: %d lines\n", FILENAME, start, name, FNR - start - 1
			start = 0
		}' "$@"
}

# self-test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in 60 61; do
	{
		printf 'static int\nf%d(void)\n{\n' "$n"
		for ((i = 0; i < n - 1; i++)); do printf '\tx++;\n'; done
		printf '\treturn x;\n}\n'
	} >"$tmp/f$n.c"
done
if [ -n "$(long_functions "$tmp/f60.c")" ] || [ -z "$(long_functions "$tmp/f61.c")" ]; then
	echo "function-length: the check itself is broken (self-test failed)" >&2
	exit 1
fi

found=$(cd "$root" && long_functions decoder/*.c forwarder/*.c)
if [ -n "$found" ]; then
	echo "function-length: functions over $limit lines (split them):"
	echo "$found"
	exit 1
fi
echo "function-length: no function over $limit lines"
