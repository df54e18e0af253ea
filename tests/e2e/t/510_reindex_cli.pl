
# pg2es reindex, the command (issue 16, "Bad input"), against a real
# PostgreSQL: what it refuses and says, that nothing is inserted then, and
# the requests it inserts; that the forwarder records its plugin options in
# pg2es.slot_options at start, as the least-privilege role of sql/role.sql,
# which may also update requests; that a user with the README's grants
# for reindex may ask; and that extension 1.0 updates to 1.1.  The
# forwarder's acting on requests is tested elsewhere (reindex e2e tests).

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(forwarder_bin new_cluster repo_root start_es start_forwarder wait_until);

delete $ENV{$_} for grep { /^PG2ES_/ } keys %ENV;

my $node = new_cluster('reindex_cli');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE rc_items (id int PRIMARY KEY, v text);
CREATE TABLE rc_more (id int PRIMARY KEY);
CREATE TABLE rc_secret (id int PRIMARY KEY);
CREATE TABLE rc_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE rc_parted_1 PARTITION OF rc_parted FOR VALUES FROM (0) TO (100);
CREATE VIEW rc_view AS SELECT * FROM rc_items;
INSERT INTO rc_items VALUES (1, 'a');
EOS

# Runs pg2es with @args (as PGUSER $user when given); returns (exit
# status, stdout, stderr).
sub run_pg2es
{
	my ($user, @args) = @_;
	local $ENV{PGUSER} = $user if defined $user;
	my ($out, $err) = ('', '');
	IPC::Run::run([ forwarder_bin(), @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# pg2es reindex of slot rc with @args, as the superuser or $user.
sub reindex_as
{
	my ($user, @args) = @_;
	return run_pg2es($user, 'reindex', '-d', $node->connstr('postgres'), '-S', 'rc', @args);
}
sub reindex { return reindex_as(undef, @_); }

sub requests
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM pg2es.requests');
}

# Each bad invocation: exit 1, the message, and no request inserted.
sub refused
{
	my ($args, $message, $name) = @_;
	my $before = requests();
	my ($st, $out, $err) = reindex(@$args);
	is($st, 1, "$name: exit status 1") or diag "$out\n$err";
	like($err, $message, "$name: says so");
	is($out, '', "$name: prints no request");
	is(requests(), $before, "$name: nothing inserted");
	return;
}

#
# Invocations refused before any database work.
#
my ($st, $out, $err) = run_pg2es(undef, 'reindex', '-d', $node->connstr('postgres'), 'public.rc_items');
is($st, 1, 'reindex without -S fails');
like($err, qr/no slot specified/, 'and says the slot is missing');
($st, $out, $err) = reindex();
like($err, qr/reindex needs at least one table/, 'reindex without a table is refused');
($st, $out, $err) = reindex('--backfill', '--keep-old', 'public.rc_items');
like($err, qr/--keep-old cannot be used with --backfill/, '--keep-old with --backfill is refused');
($st, $out, $err) = run_pg2es(undef, 'verify', '-d', $node->connstr('postgres'), '--es-url', $es->url,
	'--keep-old');
like($err, qr/--backfill and --keep-old can only be used with reindex/, '--keep-old outside reindex is refused');
($st, $out, $err) = run_pg2es(undef, '--help');
like($out, qr/pg2es reindex -d CONNSTR -S SLOT \[--backfill\] \[--keep-old\] TABLE\.\.\./,
	'--help shows reindex');

#
# No slot, then a slot no forwarder has run for.
#
refused([ 'public.rc_items' ], qr/replication slot "rc" does not exist/, 'a missing slot');
$node->safe_psql('postgres', q{SELECT pg_create_logical_replication_slot('rc', 'pg2es')});
refused([ 'public.rc_items' ], qr/no forwarder has run for slot "rc" yet/, 'a slot no forwarder has run for');

#
# The forwarder, as the least-privilege role, records its options at start.
#
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
	  '-f', repo_root() . '/sql/role.sql' ],
	'sql/role.sql runs');
my $fw = start_forwarder(node => $node, es => $es, slot => 'rc', env => { PGUSER => 'pg2es_sync' },
	args => [ '-o', 'exclude-tables=public.rc_secret', '--dead-letter-file', "$dir/dl.ndjson" ]);
ok(wait_until(sub {
	$node->safe_psql('postgres', q{SELECT options FROM pg2es.slot_options WHERE slot_name = 'rc'})
	  eq '{exclude-tables=public.rc_secret}' }),
	'the forwarder records its plugin options in pg2es.slot_options, as pg2es_sync')
  or diag $fw->log_contents;
# (the slot was made after rc_items' first row: only later rows stream)
$node->safe_psql('postgres', q{INSERT INTO rc_items VALUES (2, 'b')});
ok(wait_until(sub { $es->count('public.rc_items') == 1 }), 'and streams as usual')
  or diag $fw->log_contents;
# requests are accepted while no forwarder runs: it acts on them at start
$fw->stop;

#
# What reindex refuses, inserting nothing.
#
refused([ 'public.rc_nope' ], qr/table "public\.rc_nope" does not exist/, 'an unknown table');
refused([ 'public.rc_secret' ],
	qr/table public\.rc_secret is not covered by the plugin options of slot "rc" \(\{exclude-tables=public\.rc_secret\}\)/,
	'an excluded table');
refused([ 'public.rc_parted_1' ],
	qr/table public\.rc_parted_1 is a partition of public\.rc_parted, whose index holds its rows: reindex public\.rc_parted/,
	'a partition');
refused([ 'public.rc_view' ], qr/"public\.rc_view" is not a table/, 'a view');
refused([ 'public.rc_items', 'rc_items' ], qr/table public\.rc_items is named twice/, 'a table named twice');
refused([ 'public.rc_items', 'public.rc_nope' ], qr/table "public\.rc_nope" does not exist/,
	'one bad table among good ones');
is(requests(), '0', 'no request was inserted by any refused command');

#
# Requests inserted, and a second one for a table refused.
#
($st, $out, $err) = reindex('public.rc_items', 'public.rc_parted');
is($st, 0, 'reindex of two tables succeeds') or diag $err;
like($out, qr/\Arequest (\d+): reindex of public\.rc_items\nrequest (\d+): reindex of public\.rc_parted\n\z/,
	'it prints one line per request');
my ($items_id) = $out =~ /request (\d+): reindex of public\.rc_items/;
is($node->safe_psql('postgres',
		q{SELECT string_agg(format('%s %s %s %s %s %s', slot_name, kind, relid::regclass, table_name, keep_old, state), ',' ORDER BY id) FROM pg2es.requests}),
	'rc reindex rc_items public.rc_items f requested,rc reindex rc_parted public.rc_parted f requested',
	'the rows say what was asked');
refused([ 'public.rc_more', 'public.rc_items' ],
	qr/a reindex of public\.rc_items is already under way \(request $items_id, state requested\)/,
	'a second reindex of a table');
refused([ '--backfill', 'public.rc_items' ],
	qr/a reindex of public\.rc_items is already under way \(request $items_id, state requested\)/,
	'a backfill of a table being reindexed');

# the forwarder's role moves a request on; then the table may be asked again
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-U', 'pg2es_sync',
	  '-c', "UPDATE pg2es.requests SET state = 'failed', error = 'test', updated_at = now() WHERE id = $items_id" ],
	'pg2es_sync may update a request');
($st, $out, $err) = reindex('--backfill', 'public.rc_items');
is($st, 0, 'a backfill once the reindex has ended') or diag $err;
like($out, qr/^request \d+: backfill of public\.rc_items$/, 'it prints the backfill request');
($st, $out, $err) = reindex('--keep-old', 'public.rc_more');
is($node->safe_psql('postgres', q{SELECT keep_old FROM pg2es.requests WHERE relid = 'rc_more'::regclass}),
	't', '--keep-old is recorded');

#
# A user with the README's grants for reindex, and one without.
#
$node->safe_psql('postgres', <<'EOS');
CREATE ROLE rc_operator LOGIN;
CREATE ROLE rc_nobody LOGIN;
GRANT USAGE ON SCHEMA pg2es TO rc_operator;
GRANT SELECT ON pg2es.slot_options TO rc_operator;
GRANT SELECT, INSERT ON pg2es.requests TO rc_operator;
EOS
($st, $out, $err) = reindex_as('rc_operator', 'public.rc_parted_1');
like($err, qr/is a partition of public\.rc_parted/, 'the operator gets the same checks');
$node->safe_psql('postgres', q{DELETE FROM pg2es.requests WHERE relid = 'rc_parted'::regclass});
($st, $out, $err) = reindex_as('rc_operator', 'public.rc_parted');
is($st, 0, 'a user with the documented grants may ask for a reindex') or diag $err;
($st, $out, $err) = reindex_as('rc_nobody', 'public.rc_parted');
is($st, 1, 'a user without them may not');
like($err, qr/permission denied/, 'and is told why');

#
# Extension 1.0 updates to 1.1, which has the two tables.
#
$node->safe_psql('postgres', 'CREATE DATABASE rc_old');
$node->safe_psql('rc_old', q{CREATE EXTENSION pg2es VERSION '1.0'});
is($node->safe_psql('rc_old', q{SELECT to_regclass('pg2es.requests') IS NULL}), 't',
	'version 1.0 has no pg2es.requests');
($st, $out, $err) = run_pg2es(undef, 'reindex', '-d', $node->connstr('rc_old'), '-S', 'rc', 'public.x');
is($st, 1, 'reindex in a database with extension 1.0 fails');
like($err, qr/the database needs extension pg2es 1\.1 or later \(CREATE EXTENSION pg2es, or ALTER EXTENSION pg2es UPDATE\)/,
	'and says what to run');
$node->safe_psql('rc_old', 'ALTER EXTENSION pg2es UPDATE');
is($node->safe_psql('rc_old',
		q{SELECT extversion, to_regclass('pg2es.requests') IS NOT NULL, to_regclass('pg2es.slot_options') IS NOT NULL FROM pg_extension WHERE extname = 'pg2es'}),
	'1.1|t|t', 'ALTER EXTENSION pg2es UPDATE adds them');

done_testing();
