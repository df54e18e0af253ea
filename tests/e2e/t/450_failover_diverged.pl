# A failover to a standby that had the slot but not the forwarder's last
# changes (PostgreSQL 17+, slot synchronization without
# synchronized_standby_slots): the standby is cut off from the primary, the
# primary commits rows that the forwarder streams and confirms, then the
# primary stops and the cut-off standby is promoted.  Its synchronized slot
# exists, but its timeline left the old one before the position the
# forwarder confirmed: streaming it would skip the new primary's own
# changes up to there.  The forwarder must refuse to pretend: it says the
# slot is lost and why, waits until the new primary's WAL is past what
# Elasticsearch holds, and starts over with a new slot and a new load,
# after which the index equals the new primary's table (the vanished rows'
# documents removed).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(start_es index_equals_table wait_until);
use Pg2es::HA qw(ha_pair install_major server_major multi_host_connstr
  start_ha_forwarder start_writer writer_count stop_writer wait_slot_caught_up
  metrics_of);

plan skip_all => 'failover slots need PostgreSQL 17 (this is ' . install_major() . ')'
  if install_major() < 17;
my $es = start_es();
my ($primary, $standby) = ha_pair('diverged',
	standby_conf => "sync_replication_slots = on\n");
note 'PostgreSQL ' . server_major($primary);

$primary->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 200) g;
EOS
my $index = $primary->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);

my $conninfo = multi_host_connstr($primary, $standby);
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_ha_forwarder(conninfo => $conninfo, es => $es,
	args => [ '--create-slot', '--metrics-port', $metrics_port ]);
ok(wait_until(sub { $es->count($index) == 200 }), 'loaded');
$primary->safe_psql('postgres', "UPDATE items SET v = 'before' WHERE id <= 50");
ok( wait_until(
		sub {
			$primary->safe_psql('postgres', 'SELECT pg_log_standby_snapshot()');
			$standby->safe_psql('postgres',
				"SELECT coalesce(bool_and(synced AND NOT temporary), false)"
				  . " FROM pg_replication_slots WHERE slot_name = 'pg2es'") eq 't';
		}),
	'the standby holds a synchronized copy of the slot');

# Cut the standby off, then commit on the primary what it will never see.
$standby->append_conf('postgresql.conf', "primary_conninfo = 'host=127.0.0.1 port=1'\n");
$standby->reload;
ok( wait_until(
		sub { $standby->safe_psql('postgres', 'SELECT count(*) FROM pg_stat_wal_receiver') == 0 }),
	'the standby no longer receives WAL');
$primary->safe_psql('postgres', <<'EOS');
INSERT INTO items SELECT g, repeat('vanishing', 300) FROM generate_series(1001, 2000) g;
UPDATE items SET v = 'vanishing' WHERE id <= 20;
DELETE FROM items WHERE id BETWEEN 100 AND 110;
EOS
ok(wait_slot_caught_up($primary, 'pg2es'), 'the forwarder stored and confirmed them');
is($es->count($index), 1189, 'Elasticsearch holds the changes the standby lacks');

# Those changes were megabytes of WAL: the promoted server, quiet, stays
# behind the position they reached until it is written to.
$primary->stop('fast');
$standby->promote;
ok(wait_until(sub { $fwd->log_contents =~ /replication slot "pg2es" is lost: the promoted server left timeline 1 at/ }),
	'the forwarder refuses the synchronized slot, saying why');
like($fwd->log_contents, qr/starting over with a new slot and a new initial load/, 'and starts over');
ok(wait_until(sub { $fwd->log_contents =~ /waiting for the server's WAL to pass/ }),
	'but waits until the new WAL is past what Elasticsearch holds');
my @created = $fwd->log_contents =~ /created the slot/g;
is(scalar(@created), 1, 'no new slot meanwhile');
$standby->safe_psql('postgres',
	"SELECT pg_logical_emit_message(false, 'pg2es-test', repeat('x', 8 * 1024 * 1024))");
my $writer = start_writer($conninfo, 'items', 3000);
ok(wait_until(sub { $fwd->log_contents =~ /removed \d+ document\(s\) of rows deleted while the slot was lost/ }),
	'a new load, and the older documents removed');
ok(wait_until(sub { writer_count($writer) >= 50 }), 'writes on the new primary');
my $writes = stop_writer($writer);
note "$writes write transactions";
ok(wait_slot_caught_up($standby, 'pg2es'), 'the new slot caught up');
my ($equal, $diff) = index_equals_table($standby, $es, 'items', $index);
ok($equal, "the index equals the new primary's table: the vanished changes are gone") or diag $diff;
like(metrics_of($metrics_port), qr/^pg2es_slot_lost_total 1$/m, '/metrics counts the lost slot');
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
