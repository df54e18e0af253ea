
# The least-privilege role of sql/role.sql, set up exactly as the README
# says, is enough for pg2es (log in with its password, create the slot with
# the pg2es plugin, stream, copy through the extension's functions, record
# load progress, read tables created later), and no more: it is not a
# superuser and cannot write, create or drop anything of the application.
# Last, the forwarder itself runs as that role and syncs the todos table.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Text::ParseWords qw(shellwords);

use Pg2es::Test qw(repo_root new_cluster start_es start_forwarder
  index_equals_table wait_until);

my $root     = repo_root();
my $password = 'role-test-secret';

# The README's commands for this role: the code blocks that follow a
# "<!-- run by tests/deploy/role_test.pl as ROLE -->" marker, in order, from
# README.md.
# Returns a list of [role, language, text].
sub readme_blocks
{
	my @blocks;
	for my $doc ("$root/README.md")
	{
		next unless -f $doc;
		my $text = slurp_file($doc);
		while ($text =~
			m{<!-- run by tests/deploy/role_test\.pl as (\S+) -->\n```(\w+)\n(.*?)```}gs)
		{
			push @blocks, [ $1, $2, $3 ];
		}
		return @blocks if @blocks;
	}
	return @blocks;
}
my @blocks = readme_blocks();
is(scalar(@blocks), 4, 'the README has the four commands this test runs');
my ($role_cmd) = grep { $_->[1] eq 'sh' } @blocks;
my @sql_blocks = grep { $_->[1] eq 'sql' } @blocks;
my ($replica_full, $lag_query, $drop_slot) = map { $_->[2] } @sql_blocks;

# Every statement logged, to prove that role.sql keeps the password out.
my $node = new_cluster('role', extra_conf => "log_statement = 'all'\n");

$node->safe_psql('postgres', 'CREATE DATABASE demo');
# Only password logins for the role, on the database to sync (a logical
# replication connection matches its database name).  The cluster's own
# lines trust everyone else.
my $hba = $node->data_dir . '/pg_hba.conf';
my $old = slurp_file($hba);
open(my $fh, '>', $hba) or die "$hba: $!";
print $fh "local demo pg2es_sync scram-sha-256\n$old";
close $fh;
$node->reload;

$node->command_ok(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('demo'),
	  '-f', "$root/sql/todos.sql" ],
	'todos.sql runs');

# The README's command, with this cluster's database, the real password and
# the path in this tree; -X keeps the tester's ~/.psqlrc out.
my @role_cmd = shellwords($role_cmd->[2]);
is($role_cmd[0], 'psql', 'the README creates the role with psql');
for my $i (1 .. $#role_cmd)
{
	$role_cmd[$i] = $node->connstr('demo') if $role_cmd[ $i - 1 ] eq '-d';
	$role_cmd[$i] = "sync_password=$password" if $role_cmd[$i] =~ /^sync_password=/;
	$role_cmd[$i] = "$root/$role_cmd[$i]" if $role_cmd[ $i - 1 ] eq '-f';
}
splice(@role_cmd, 1, 0, '-X');
$node->command_ok(\@role_cmd, "the README's role.sql command runs");
$node->command_ok(\@role_cmd, 'and runs again on an existing role');
unlike(slurp_file($node->logfile), qr/\Q$password\E/,
	'the server log never shows the password, even with log_statement = all');

is( $node->safe_psql(
		'demo',
		"SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls
		 FROM pg_roles WHERE rolname = 'pg2es_sync'"),
	't|t|f|f|f|f',
	'pg2es_sync: LOGIN REPLICATION, not superuser, no CREATEDB, CREATEROLE or BYPASSRLS');

my $sync_connstr = $node->connstr('demo') . ' user=pg2es_sync';

# as_sync(SQL): runs SQL as pg2es_sync; returns (exit code, stdout, stderr).
sub as_sync
{
	my ($sql) = @_;
	local $ENV{PGPASSWORD} = $password;
	my ($out, $err) = ('', '');
	my $ret = $node->psql('demo', $sql,
		stdout => \$out, stderr => \$err,
		extra_params => [ '-U', 'pg2es_sync' ]);
	return ($ret, $out, $err);
}

{
	local $ENV{PGPASSWORD} = 'wrong';
	my $ret = $node->psql('demo', 'SELECT 1', extra_params => [ '-U', 'pg2es_sync' ]);
	isnt($ret, 0, 'a wrong password is refused (the role logs in by password)');
}

# What it needs.
my ($ret, $out, $err) = as_sync('SELECT count(*) FROM public.todos');
is("$ret $out", '0 3', 'reads the todos table (initial load, verify)') or diag $err;

($ret, $out, $err) = as_sync(
	"COPY (SELECT pg2es.bulk_item('public.todos'::regclass, t, 1) FROM public.todos t) TO STDOUT (FORMAT binary)");
is($ret, 0, 'copies bulk items through the extension, as the initial load does')
  or diag $err;

($ret, $out, $err) = as_sync(
	"SELECT pg2es.doc_id('public.todos'::regclass, t) FROM public.todos t WHERE id = 1");
is("$ret $out", '0 1', 'calls pg2es.doc_id (verify)') or diag $err;

($ret, $out, $err) = as_sync(
	"INSERT INTO pg2es.load_state (slot_name, table_name, chunk, chunks, first_block, end_block, version)
	 VALUES ('probe', 'public.todos', 0, 1, 0, 1, 1);
	 UPDATE pg2es.load_state SET done = true WHERE slot_name = 'probe';
	 DELETE FROM pg2es.load_state WHERE slot_name = 'probe' RETURNING done");
is("$ret $out", '0 t', 'records, updates and forgets load progress in pg2es.load_state')
  or diag $err;

$node->safe_psql('demo', 'CREATE TABLE public.later (id int PRIMARY KEY, note text)');
($ret, $out, $err) = as_sync('SELECT count(*) FROM public.later');
is("$ret $out", '0 0', 'reads a table created after role.sql (default privileges)')
  or diag $err;

{
	local $ENV{PGPASSWORD} = $password;
	$node->command_ok(
		[ 'pg_recvlogical', '-d', $sync_connstr, '-S', 'role_slot',
		  '--create-slot', '-P', 'pg2es' ],
		'creates a logical slot with the pg2es plugin');
	$node->safe_psql('demo',
		"INSERT INTO public.todos (title, completed) VALUES ('streamed as pg2es_sync', false)");
	my $endpos = $node->lsn('insert');
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[ 'pg_recvlogical', '-d', $sync_connstr, '-S', 'role_slot',
		  '--start', '--endpos', $endpos, '--no-loop', '-f', '-' ],
		'>', \$stdout, '2>', \$stderr);
	ok($ok, 'streams from the slot') or diag $stderr;
	like($stdout, qr/"streamed as pg2es_sync"/, 'the stream carries the new row');
	$node->command_ok(
		[ 'pg_recvlogical', '-d', $sync_connstr, '-S', 'role_slot', '--drop-slot' ],
		'drops its slot');
}

# And no more.
my %denied = (
	'INSERT INTO public.todos (title) VALUES (\'x\')' => 'insert into an application table',
	'UPDATE public.todos SET title = \'x\''             => 'update an application table',
	'DELETE FROM public.todos'                          => 'delete from an application table',
	'TRUNCATE public.todos'                             => 'truncate an application table',
	'DROP TABLE public.todos'                           => 'drop an application table',
	'CREATE TABLE public.mine (id int)'                 => 'create a table in public',
	'CREATE SCHEMA mine'                                => 'create a schema',
	'ALTER SYSTEM SET wal_level = minimal'              => 'change server settings',
	"COPY (SELECT 1) TO PROGRAM 'true'"                 => 'run programs on the server',
	'SELECT pg_read_file(\'postgresql.conf\')'          => 'read server files',
	'CREATE ROLE other'                                 => 'create roles',
	'CREATE DATABASE other'                             => 'create databases',);
for my $sql (sort keys %denied)
{
	($ret, $out, $err) = as_sync($sql);
	ok($ret != 0 && $err =~ /permission denied|must be superuser|must be owner|not allowed/,
		"cannot $denied{$sql}")
	  or diag "exit $ret: $err";
}
is($node->safe_psql('demo', 'SELECT count(*) FROM public.todos'),
	'4', 'the todos table is unchanged');

# The forwarder as pg2es_sync: slot (named as in the README), initial
# load, streaming.
my $es = start_es();
$es->delete_index('public.todos');
my $fwd = start_forwarder(
	node   => $node,
	dbname => 'demo',
	slot   => 'pg2es',
	es     => $es,
	args   => ['--create-slot'],
	env    => { PGUSER => 'pg2es_sync', PGPASSWORD => $password });
ok(wait_until(sub { $es->count('public.todos') == 4 }),
	'the forwarder, logged in as pg2es_sync, loads the existing rows')
  or diag $fwd->log_contents;

# index_matches: does the index equal the table (diagnostics on failure)?
sub index_matches
{
	my ($name) = @_;
	my $msg = '';
	my $equal = wait_until(
		sub {
			my $eq;
			($eq, $msg) =
			  index_equals_table($node, $es, 'public.todos', 'public.todos', [], 'demo');
			return $eq;
		});
	ok($equal, $name) or diag $msg, "\n", $fwd->log_contents;
	return;
}

$node->safe_psql('demo',
	"UPDATE public.todos SET completed = false, title = 'Create bug issue edited' WHERE id = 2");
index_matches('and streams changes: the index equals the table');

$node->safe_psql('demo', $replica_full);
$node->safe_psql('demo', "UPDATE public.todos SET title = 'full identity' WHERE id = 3");
index_matches("after the README's REPLICA IDENTITY FULL, updates still sync");

($ret, $out, $err) = as_sync($lag_query);
like($out, qr/^pg2es\|t\|reserved\|/,
	"the README's slot lag query, as pg2es_sync, shows the active slot")
  or diag "exit $ret: $out $err";

is($fwd->stop, 0, 'the forwarder stops cleanly');
unlike($fwd->log_contents, qr/\Q$password\E/, 'its log never shows the password');

($ret, $out, $err) = as_sync($drop_slot);
is($ret, 0, "the README's pg_drop_replication_slot, as pg2es_sync, drops the stopped slot")
  or diag $err;
is($node->safe_psql('demo', "SELECT count(*) FROM pg_replication_slots"),
	'0', 'no slot is left');

# Why the README asks for pg2es in output_plugin_libraries: without it, the
# role may not decode with pg2es, and the forwarder says what to add.
SKIP:
{
	skip 'this server has no output_plugin_libraries', 3
	  unless Pg2es::Test::server_has_output_plugin_libraries();
	$node->safe_psql('postgres',
		"ALTER SYSTEM SET output_plugin_libraries = 'pgoutput, test_decoding'");
	$node->reload;
	local $ENV{PGPASSWORD} = $password;
	my ($stdout, $stderr);
	IPC::Run::run(
		[ 'pg_recvlogical', '-d', $sync_connstr, '-S', 'refused',
		  '--create-slot', '-P', 'pg2es' ],
		'>', \$stdout, '2>', \$stderr);
	like($stderr, qr/output plugin/,
		'without pg2es in output_plugin_libraries the role cannot create a pg2es slot');
	my $refused = start_forwarder(
		node   => $node,
		dbname => 'demo',
		slot   => 'refused',
		es     => $es,
		args   => ['--create-slot'],
		env    => { PGUSER => 'pg2es_sync', PGPASSWORD => $password });
	ok( wait_until(
			sub { $refused->log_contents =~ /output_plugin_libraries = '[^']*pg2es'/ }),
		'and the forwarder names the line to add')
	  or diag $refused->log_contents;
	$refused->stop('KILL');
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET output_plugin_libraries');
	$node->reload;
	is($node->safe_psql('demo', "SELECT count(*) FROM pg_replication_slots"),
		'0', 'no slot was created');
}

# Explicitly: at global destruction the emulator's process handle may be
# gone before its DESTROY runs, leaving the emulator behind.
$es->stop;
done_testing();
