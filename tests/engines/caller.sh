# Sourced by tests/engines/start and tests/engines/secure/start.
#
# caller_pid PID: the process the engine must outlive. PID is the script's
# parent; when that parent is only a copy of a shell forked to run a
# command substitution (url=$(tests/engines/start ...) with a redirection
# in it, say: same program, same command line as its own parent), the
# engine would stop as soon as the URL is read, so the first ancestor that
# is not such a copy is taken instead.
caller_pid() {
	local pid=$1 parent
	while parent=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null) &&
		[ -n "$parent" ] && [ "$parent" -gt 1 ] &&
		[ "$(readlink "/proc/$pid/exe")" = "$(readlink "/proc/$parent/exe")" ] &&
		cmp -s "/proc/$pid/cmdline" "/proc/$parent/cmdline"; do
		pid=$parent
	done
	echo "$pid"
}
