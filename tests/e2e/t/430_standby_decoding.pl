# Decoding on a standby (PostgreSQL 16+), as the README describes it: the
# initial load runs on the primary (a standby cannot write its progress to
# pg2es.load_state, and the forwarder refuses to try); then a forwarder
# creates its slot on the standby (--create-slot --no-initial-load: no
# FAILOVER there), and once the primary's forwarder has confirmed past the
# standby slot's starting point, the primary's is stopped and its slot
# dropped.  From then on the sync reads only the standby, with writes
# running on the primary, and every index equals its table.  /metrics
# shows the standby slot's retained WAL.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(start_es index_equals_table wait_until forwarder_bin);
use Pg2es::HA qw(ha_pair install_major server_major start_ha_forwarder start_writer
  writer_count stop_writer wait_slot_caught_up metrics_of);

plan skip_all => 'logical decoding on a standby needs PostgreSQL 16 (this is '
  . install_major() . ')'
  if install_major() < 16;
my $es = start_es();
my ($primary, $standby) = ha_pair('onstandby');
note 'PostgreSQL ' . server_major($primary);

$primary->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 300) g;
EOS
my $index = $primary->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);
$primary->wait_for_catchup($standby, 'replay');
my $on_primary = sprintf('host=%s port=%s dbname=postgres', $primary->host, $primary->port);
my $on_standby = sprintf('host=%s port=%s dbname=postgres', $standby->host, $standby->port);

command_fails_like(
	[
		forwarder_bin(), '-d', $on_standby, '-S', 'loadhere', '--es-url', $es->url,
		'--create-slot'
	],
	qr/an initial load cannot run on a standby/,
	'an initial load on the standby is refused, with what to do instead');

# 1. The load, and streaming, on the primary.
my $first = start_ha_forwarder(conninfo => $on_primary, es => $es, slot => 'pg2es_primary',
	args => ['--create-slot']);
ok(wait_until(sub { $es->count($index) == 300 }), 'the initial load runs on the primary');
my $writer = start_writer($on_primary, 'items', 1000);

# 2. A slot on the standby; creating it waits for the primary to log its
# running transactions, which pg_log_standby_snapshot() hurries.
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_ha_forwarder(conninfo => $on_standby, es => $es,
	args => [ '--create-slot', '--no-initial-load', '--metrics-port', $metrics_port ]);
ok( wait_until(
		sub {
			$primary->safe_psql('postgres', 'SELECT pg_log_standby_snapshot()');
			$fwd->log_contents =~ /streaming slot "pg2es"/;
		}),
	'a forwarder streams from a slot it created on the standby');
like($fwd->log_contents, qr/created replication slot "pg2es"\n/, 'without FAILOVER there');
my $start = $standby->safe_psql('postgres',
	"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pg2es'");

# 3. The hand-over: the primary's forwarder has everything before $start.
ok( wait_until(
		sub {
			$primary->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$start' FROM pg_replication_slots"
				  . " WHERE slot_name = 'pg2es_primary'") eq 't';
		}),
	"the primary's forwarder confirmed past the standby slot's start ($start)");
is($first->stop, 0, "the primary's forwarder stops");
$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('pg2es_primary')");

ok(wait_until(sub { writer_count($writer) >= 100 }), 'writes go on, on the primary');
my $writes = stop_writer($writer);
note "$writes write transactions";
my $target = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( wait_until(
		sub {
			$standby->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots"
				  . " WHERE slot_name = 'pg2es'") eq 't';
		}),
	'the standby forwarder confirmed everything the primary wrote');
my ($equal, $diff) = index_equals_table($primary, $es, 'items', $index);
ok($equal, 'the index equals its table, synced from the standby alone') or diag $diff;
ok( wait_until(sub { metrics_of($metrics_port) =~ /^pg2es_slot_retained_wal_bytes \d+$/m }),
	"/metrics shows the standby slot's retained WAL");
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
