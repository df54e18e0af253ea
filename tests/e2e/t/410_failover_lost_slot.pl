# A failover that loses the slot: a primary and a standby without slot
# synchronization, writes running, the forwarder streaming through a
# multi-host connection string.  The old primary stops, the standby is
# promoted: it has no slot "pg2es".  The forwarder must not pretend: it
# says the slot is lost, counts it in /metrics, and with --create-slot
# starts over with a new slot and a new initial load, after which every
# index equals its table, deletes made while no slot existed included.
# Without --create-slot, or with --no-initial-load, it refuses to start,
# naming the slot and what to do.  Runs on every major (no slot
# synchronization is needed to lose a slot).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(start_es index_equals_table wait_until forwarder_bin);
use Pg2es::HA qw(ha_pair server_major multi_host_connstr start_ha_forwarder
  start_writer writer_count stop_writer wait_slot_caught_up metrics_of);

my $es = start_es();
my ($primary, $standby) = ha_pair('lost');
my $major = server_major($primary);
note "PostgreSQL $major";

$primary->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 300) g;
EOS
my $index = $primary->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);
$primary->wait_for_catchup($standby, 'replay');

my $conninfo = multi_host_connstr($primary, $standby);
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_ha_forwarder(conninfo => $conninfo, es => $es,
	args => [ '--create-slot', '--metrics-port', $metrics_port ]);

ok( wait_until(sub { $es->count($index) == 300 }),
	'the initial load copies the table from the primary');
my $writer = start_writer($conninfo, 'items', 1000);
ok(wait_until(sub { writer_count($writer) >= 30 && $es->count($index) > 300 }),
	'writes are running and streamed');

# The failover: the old primary stops (its last WAL reaches the standby
# first), the standby is promoted; it never had the slot.
$primary->stop('fast');
$standby->promote;
ok(wait_until(sub { writer_count($writer) >= 80 }),
	'the writes go on, on the promoted standby');
ok( wait_until(sub { $fwd->log_contents =~ /replication slot "pg2es" is lost/ }),
	'the forwarder says the slot is lost');
like($fwd->log_contents,
	qr/replication slot "pg2es" is lost: it no longer exists on the server.*starting over with a new slot and a new initial load/,
	'why, and that it starts over with a new slot and a new load');
ok( wait_until(
		sub {
			$standby->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg2es'") == 1;
		}),
	'a new slot on the promoted server');
like(metrics_of($metrics_port), qr/^pg2es_slot_lost_total 1$/m, '/metrics counts the lost slot');

my $writes = stop_writer($writer);
note "$writes write transactions";
ok(wait_slot_caught_up($standby, 'pg2es'), 'the forwarder caught up on the new primary');
my ($equal, $diff) = index_equals_table($standby, $es, 'items', $index);
ok($equal, 'the index equals its table after the reload') or diag $diff;
my $log = $fwd->log_contents;
like($log, qr/initial load done/, 'through a new initial load');
is($fwd->stop, 0, 'the forwarder stops cleanly');

# The slot goes missing again while the forwarder is down: at its next
# start, pg2es.load_state shows the slot existed.
$standby->safe_psql('postgres', "SELECT pg_drop_replication_slot('pg2es')");
my $standby_only = $standby->connstr('postgres');
command_fails_like(
	[ forwarder_bin(), '-d', $standby_only, '-S', 'pg2es', '--es-url', $es->url ],
	qr/replication slot "pg2es" is lost: .*start pg2es with --create-slot \(without --no-initial-load\)/,
	'without --create-slot it refuses, naming the slot and what to do');
command_fails_like(
	[
		forwarder_bin(), '-d', $standby_only, '-S', 'pg2es', '--es-url', $es->url,
		'--create-slot', '--no-initial-load'
	],
	qr/replication slot "pg2es" is lost: .*a new slot would miss them/,
	'with --no-initial-load it refuses too: a fresh slot would miss what happened');
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg2es'"),
	'0', 'and creates no slot');

# Rows deleted while no slot existed: the reload removes their documents.
$standby->safe_psql('postgres', 'DELETE FROM items WHERE id <= 20');
$fwd = start_ha_forwarder(conninfo => $standby_only, es => $es, args => ['--create-slot']);
ok(wait_until(sub { $fwd->log_contents =~ /initial load done/ }), 'a new load at the next start');
ok( wait_until(
		sub { $fwd->log_contents =~ /removed 20 document\(s\) of rows deleted while the slot was lost/ }),
	'after it, the 20 documents whose rows were deleted meanwhile are removed');
ok(wait_slot_caught_up($standby, 'pg2es'), 'and the stream caught up');
($equal, $diff) = index_equals_table($standby, $es, 'items', $index);
ok($equal, 'the index equals its table: documents of deleted rows are gone') or diag $diff;
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
