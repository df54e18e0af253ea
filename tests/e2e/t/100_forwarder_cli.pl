
# The forwarder's command line: --help, --version, and every bad
# invocation fails at once with one clear line and the --help hint.  Also
# that a missing plugin permission or slot stops it with a message saying
# what to do, and that a secret never appears in its output.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(forwarder_bin new_cluster);

my $bin = forwarder_bin();
$ENV{PATH} = (forwarder_bin() =~ s{/[^/]+$}{}r) . ":$ENV{PATH}";
delete $ENV{$_} for grep { /^PG2ES_/ } keys %ENV;

program_help_ok('pg2es');
program_version_ok('pg2es');
program_options_handling_ok('pg2es');

my $dir = PostgreSQL::Test::Utils::tempdir();

command_fails_like([ 'pg2es', '-S', 's' ],
	qr/no Elasticsearch URL given/, 'missing --es-url');
command_fails_like([ 'pg2es', '--es-url', 'http://127.0.0.1:1' ],
	qr/no slot specified/, 'missing slot');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', 'extra' ],
	qr/too many command-line arguments \(first is "extra"\)/,
	'extra argument');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '-o', 'framing=none' ],
	qr/plugin option "framing" is set by pg2es/,
	'framing is not for the user');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--bulk-max-items', '0' ],
	qr/invalid value "0" for --bulk-max-items/,
	'out-of-range number');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--max-memory', 'lots' ],
	qr/invalid value "lots" for --max-memory/,
	'bad size');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--lanes', '0' ],
	qr/invalid value "0" for --lanes \(an integer from 1 to 64\)/,
	'no lanes');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--lanes', '65' ],
	qr/invalid value "65" for --lanes/,
	'more lanes than 64');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--bulk-max-bytes', '200MB' ],
	qr/cannot exceed 100MB/,
	'request size over the Elasticsearch limit');
command_fails_like(
	[
		'pg2es', '-S', 's', '--es-url', 'http://x', '--bulk-max-bytes', '20MB',
		'--max-memory', '32MB'
	],
	qr/--max-memory must be at least twice --bulk-max-bytes/,
	'memory bound below two requests');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--es-user', 'elastic' ],
	qr/--es-user needs a password/,
	'user without password');
command_fails_like(
	[
		'pg2es', '-S', 's', '--es-url', 'http://x', '--es-password-file',
		"$dir/missing"
	],
	qr/could not open file ".*missing" given to --es-password-file/,
	'unreadable password file');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--on-item-error', 'skip' ],
	qr/invalid value "skip" for --on-item-error \(dead-letter or stop\)/,
	'bad --on-item-error');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--log-format', 'xml' ],
	qr/invalid value "xml" for --log-format/,
	'bad --log-format');
command_fails_like(
	[ 'pg2es', '-S', 's', '--es-url', 'http://x', '--endpos', 'later' ],
	qr/invalid value "later" for --endpos/,
	'bad --endpos');
command_fails_like(
	[
		'pg2es', '-S', 's', '--es-url', 'http://x', '--snapshot', 'public.*',
		'--no-initial-load'
	],
	qr/--snapshot and --no-initial-load cannot be used together/,
	'conflicting initial-load options');
command_fails_like([ 'pg2es', 'verify', '-S', 's' ],
	qr/no Elasticsearch URL given/, 'verify checks its options too');

{
	local $ENV{PG2ES_ES_URL}         = 'http://x';
	local $ENV{PG2ES_BULK_MAX_ITEMS} = 'many';
	command_fails_like([ 'pg2es', '-S', 's' ],
		qr/invalid value "many" for PG2ES_BULK_MAX_ITEMS/,
		'a bad environment variable is named');
}

# Settings that only the server can judge: the plugin not allowed, a slot
# that does not exist, an unknown plugin option.
my $node = new_cluster('cli');
my $connstr = $node->connstr('postgres');

command_fails_like(
	[ 'pg2es', '-d', $connstr, '-S', 'nosuchslot', '--es-url', 'http://127.0.0.1:1' ],
	qr/replication slot "nosuchslot" does not exist/,
	'missing slot: the server says so, the forwarder stops');

command_fails_like(
	[
		'pg2es', '-d', $connstr, '-S', 'badopt', '--create-slot', '--es-url',
		'http://127.0.0.1:1', '-o', 'no-such-option=1'
	],
	qr/no-such-option/,
	'an unknown plugin option stops it, named');

SKIP:
{
	my $has = `postgres --describe-config 2>/dev/null` =~ /^output_plugin_libraries\t/m;
	skip 'server has no output_plugin_libraries', 1 unless $has;
	$node->append_conf('postgresql.conf', "output_plugin_libraries = 'pgoutput'\n");
	$node->reload;
	command_fails_like(
		[
			'pg2es', '-d', $connstr, '-S', 'refused', '--create-slot', '--no-initial-load',
			'--es-url', 'http://127.0.0.1:1'
		],
		qr/output_plugin_libraries = 'pgoutput, pg2es' then reload/,
		'plugin not allowed: the exact setting to add is printed');
}

# A secret given through the environment appears neither in the log nor in
# the arguments the process runs with.
{
	local $ENV{PG2ES_ES_PASSWORD} = 'Sup3rSecretPw';
	my ($stdout, $stderr);
	IPC::Run::run(
		[
			'pg2es', '-d', $connstr, '-S', 'nosuchslot', '--es-url',
			'http://127.0.0.1:1', '--es-user', 'elastic'
		],
		'>', \$stdout, '2>', \$stderr);
	unlike($stdout . $stderr, qr/Sup3rSecretPw/, 'the password is not logged');
}

$node->stop;
done_testing();
