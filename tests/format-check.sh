#!/usr/bin/env bash
# The formatting check: every C file of the project laid out as
# .clang-format says (PostgreSQL's layout, as far as clang-format can).
#
#   tests/format-check.sh          proves on a scratch copy that the check
#                                  fails on a misformatted file, then checks
#                                  the tree: names each file clang-format
#                                  would change, with the start of its diff,
#                                  and exits 1 (`make format-check`, the
#                                  suite "format")
#   tests/format-check.sh --fix    reformats the files in place (`make format`)
#
# The files: every *.c and *.h of the tree (none is generated or vendored),
# outside git's directory and the test suites' output.  CLANG_FORMAT names
# another binary; tests/bootstrap.sh installs Debian 12's (version 14), and
# other versions may lay out a few constructs differently.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
style=$root/.clang-format
clang_format=${CLANG_FORMAT:-clang-format}
# Lines of each file's diff shown; the rest is for `make format` to fix.
DIFF_LINES=20

# project_c_files: the C files to check, relative to the root, sorted.
project_c_files() {
	(cd "$root" && find . \( -name .git -o -name tmp_check -o -name results \
		-o -name target -o -name node_modules \) -prune -o \
		-type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | LC_ALL=C sort)
}

# check_files DIR FILE...: 0 when clang-format would change none of the
# files (relative to DIR); else prints each one it would change with the
# start of the diff, and a summary, and returns 1.
check_files() {
	local dir=$1 f out bad=0
	shift
	for f in "$@"; do
		if ! out=$("$clang_format" --style="file:$style" "$dir/$f"); then
			echo "format: clang-format failed on $f" >&2
			bad=$((bad + 1))
			continue
		fi
		if ! printf '%s\n' "$out" | cmp -s - "$dir/$f"; then
			echo "format: $f is not laid out as .clang-format says:"
			printf '%s\n' "$out" | diff -u --label "$f" --label "$f (formatted)" "$dir/$f" - |
				head -n "$DIFF_LINES" || true
			bad=$((bad + 1))
		fi
	done
	if [ $bad -gt 0 ]; then
		echo "format: $bad of $# files need formatting: run \`make format\`" \
			"($("$clang_format" --version))"
		return 1
	fi
	echo "format: $# files laid out as .clang-format says"
}

# self_test FILE: the check passes on a formatted copy of FILE and fails,
# naming it, once the copy loses the indentation of a statement; a check
# that cannot fail would pass a misformatted tree.
self_test() {
	local file=$1 tmp out rc=0
	tmp=$(mktemp -d)
	mkdir -p "$tmp/$(dirname "$file")"
	"$clang_format" --style="file:$style" "$root/$file" >"$tmp/$file"
	if ! out=$(check_files "$tmp" "$file"); then
		printf '%s\n' "$out"
		echo "format: self-test: the check refused a formatted copy of $file" >&2
		rc=1
	elif ! grep -q -m 1 $'^\t[a-z_].*;$' "$tmp/$file"; then
		echo "format: self-test: $file has no indented statement to break" >&2
		rc=1
	else
		sed -i $'0,/^\t[a-z_].*;$/s/^\t//' "$tmp/$file"
		if out=$(check_files "$tmp" "$file"); then
			echo "format: self-test: the check passed $file with a statement unindented" >&2
			rc=1
		elif ! grep -q "^format: $file is not laid out" <<<"$out"; then
			printf '%s\n' "$out"
			echo "format: self-test: the check failed without naming $file" >&2
			rc=1
		else
			echo "format: self-test: a statement unindented in $file fails the check"
		fi
	fi
	rm -rf "$tmp"
	return $rc
}

if ! command -v "$clang_format" >/dev/null; then
	echo "format: $clang_format not found; tests/bootstrap.sh installs it (package clang-format)" >&2
	exit 1
fi
mapfile -t files < <(project_c_files)
if [ ${#files[@]} -eq 0 ]; then
	echo "format: no C files under $root" >&2
	exit 1
fi

case "${1:-}" in
--fix)
	(cd "$root" && "$clang_format" --style="file:$style" -i "${files[@]}")
	echo "format: ${#files[@]} files formatted"
	;;
"")
	self_test "${files[0]}"
	check_files "$root" "${files[@]}"
	;;
*)
	echo "usage: tests/format-check.sh [--fix]" >&2
	exit 2
	;;
esac
