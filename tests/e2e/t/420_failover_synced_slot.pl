# A failover that keeps the slot (PostgreSQL 17+): the forwarder creates
# its slot with FAILOVER, the standby synchronizes it (sync_replication_slots,
# hot_standby_feedback, primary_slot_name, a dbname in primary_conninfo),
# and the primary holds logical decoding back until the standby has the WAL
# (synchronized_standby_slots).  With writes running and the forwarder
# streaming through a multi-host connection string, the old primary stops
# and the standby is promoted: the forwarder reconnects to it and goes on
# from the synchronized slot, with no new slot and no new load, and every
# index equals its table (nothing lost, nothing applied out of order).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(start_es index_equals_table wait_until);
use Pg2es::HA qw(ha_pair install_major server_major multi_host_connstr start_ha_forwarder
  start_writer writer_count stop_writer wait_slot_caught_up metrics_of);

plan skip_all => 'failover slots need PostgreSQL 17 (this is ' . install_major() . ')'
  if install_major() < 17;
my $es = start_es();
my ($primary, $standby) = ha_pair('synced',
	primary_conf => "synchronized_standby_slots = 'standby1'\n",
	# the standby's configuration is the primary's copy: the promoted server
	# would wait for a "standby1" of its own
	standby_conf => "sync_replication_slots = on\nsynchronized_standby_slots = ''\n");
note 'PostgreSQL ' . server_major($primary);

$primary->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 300) g;
EOS
my $index = $primary->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);

my $conninfo = multi_host_connstr($primary, $standby);
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_ha_forwarder(conninfo => $conninfo, es => $es,
	args => [ '--create-slot', '--metrics-port', $metrics_port ]);
ok(wait_until(sub { $es->count($index) == 300 }), 'the initial load copies the table');
is( $primary->safe_psql('postgres',
		"SELECT failover FROM pg_replication_slots WHERE slot_name = 'pg2es'"),
	't', '--create-slot created the slot with FAILOVER');

my $writer = start_writer($conninfo, 'items', 1000);
ok( wait_until(
		sub {
			$standby->safe_psql('postgres',
				"SELECT coalesce(bool_and(synced AND NOT temporary), false)"
				  . " FROM pg_replication_slots WHERE slot_name = 'pg2es'") eq 't';
		}),
	'the standby holds a synchronized, persistent copy of the slot');
ok(wait_until(sub { writer_count($writer) >= 50 && $es->count($index) > 300 }),
	'writes are running and streamed');

$primary->stop('fast');
$standby->promote;
ok(wait_until(sub { writer_count($writer) >= 120 }), 'the writes go on, on the promoted standby');
ok( wait_until(sub { $fwd->log_contents =~ /PostgreSQL is on timeline 2, not 1/ }),
	'the forwarder reconnected to the promoted standby');
my $writes = stop_writer($writer);
note "$writes write transactions";
ok(wait_slot_caught_up($standby, 'pg2es'), 'and streams its synchronized slot');

my ($equal, $diff) = index_equals_table($standby, $es, 'items', $index);
ok($equal, 'the index equals its table: nothing lost, nothing out of order') or diag $diff;
my $log = $fwd->log_contents;
unlike($log, qr/is lost/, 'the slot was not lost');
my @loads = $log =~ /initial load done/g;
is(scalar(@loads), 1, 'no new initial load');
like(metrics_of($metrics_port), qr/^pg2es_slot_lost_total 0$/m, '/metrics: no slot lost');
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
