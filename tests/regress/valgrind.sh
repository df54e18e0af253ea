#!/bin/sh
# tests/regress/valgrind.sh: the pieces of `make -C decoder valgrind-check`.
#
#   valgrind.sh setup BINDIR WORKDIR
#	Makes WORKDIR/bin, a bindir for pg_regress: symbolic links to BINDIR's
#	programs, except `postgres`, a script that runs the real one under
#	valgrind memcheck with our suppressions, one log per process in
#	WORKDIR/valgrind.  initdb resolves its symbolic link and runs the real
#	postgres, so only the temporary instance itself runs under valgrind.
#	Also writes WORKDIR/valgrind.conf, the extra server settings.
#
#   valgrind.sh report WORKDIR SRCDIR
#	Prints every error valgrind reported with a pg2es.so frame in its
#	stacks (where it happened, or where an uninitialised value came from)
#	and fails if there is one; counts the other errors (the server's own).
#	A frame is ours when valgrind names pg2es.so, or, having its debug
#	information, one of the C files in SRCDIR.
#
# Debian's server is not built with USE_VALGRIND, so valgrind sees palloc
# chunks only as parts of larger malloc'd blocks: it catches reads of
# uninitialised memory and accesses outside any block, not overruns inside
# a memory context's block.  No --error-exitcode: a backend exiting with it
# would make the postmaster restart everything; the report decides.

set -eu

here=$(cd "$(dirname "$0")" && pwd)

setup()
{
	bindir=$1
	work=$2
	rm -rf "$work"
	mkdir -p "$work/bin" "$work/valgrind"
	for prog in "$bindir"/*; do
		name=$(basename "$prog")
		[ "$name" = postgres ] || ln -s "$prog" "$work/bin/$name"
	done
	cat > "$work/bin/postgres" <<WRAPPER
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes \\
	--read-var-info=no --leak-check=no --num-callers=30 \\
	--suppressions="$here/valgrind.supp" \\
	--log-file="$work/valgrind/%p.log" "$bindir/postgres" "\$@"
WRAPPER
	chmod +x "$work/bin/postgres"
	# JIT code is not what we test, and valgrind makes it very slow.
	echo "jit = off" > "$work/valgrind.conf"
}

report()
{
	work=$1
	files=$(cd "$2" && ls *.c | sed 's/\./\\./' | paste -sd'|')
	logs=$(ls "$work"/valgrind/*.log 2>/dev/null || true)
	if [ -z "$logs" ]; then
		echo "valgrind: no logs in $work/valgrind" >&2
		exit 1
	fi
	# An error block starts at a line "==PID== Text" (not indented) and
	# ends at the "==PID== " line after it.
	OURS_RE="pg2es\\.so|[( ]($files):[0-9]+\\)" awk '
		BEGIN { ours_re = ENVIRON["OURS_RE"] }
		/^==[0-9]+== [^ ]/ && !inblock { inblock = 1; block = ""; ours = 0 }
		inblock { block = block $0 "\n"; if ($0 ~ ours_re) ours = 1 }
		/^==[0-9]+== $/ && inblock {
			inblock = 0
			if (ours) { printf "%s", block; found++ } else other++
		}
		END {
			printf "valgrind: %d error(s) in pg2es.so, %d elsewhere\n", found, other
			exit found > 0
		}' $logs
}

case "${1:-}" in
	setup) setup "$2" "$3" ;;
	report) report "$2" "$3" ;;
	*) echo "usage: $0 setup BINDIR WORKDIR | report WORKDIR SRCDIR" >&2; exit 2 ;;
esac
