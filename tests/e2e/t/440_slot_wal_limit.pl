# max_slot_wal_keep_size: warnings before the loss, and the loss.  A long
# open transaction holds the slot's restart_lsn back while WAL is written:
# /metrics shows the retained WAL and the safe size shrinking, and past 80%
# of the limit the forwarder warns.  Past the limit a checkpoint
# invalidates the slot (wal_status = lost): the forwarder says so, counts
# it, and with --create-slot starts over with a new slot and a new initial
# load, after which the index equals its table.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(start_es index_equals_table wait_until);
use Pg2es::HA qw(ha_node common_conf server_major start_ha_forwarder wait_slot_caught_up metrics_of);

my $es = start_es();
my $node = ha_node('walkeep');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', common_conf($node) . <<'EOC');
max_slot_wal_keep_size = 64MB
wal_keep_size = 0
max_wal_size = 256MB
EOC
$node->start;
note 'PostgreSQL ' . server_major($node);
$node->safe_psql('postgres', <<'EOS');
CREATE EXTENSION pg2es;
CREATE TABLE items (id int PRIMARY KEY, v text);
INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 200) g;
CREATE TABLE other (id int);
EOS
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);

my $conninfo = sprintf('host=%s port=%s dbname=postgres', $node->host, $node->port);
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_ha_forwarder(conninfo => $conninfo, es => $es,
	args => [ '--create-slot', '--metrics-port', $metrics_port ]);
ok(wait_until(sub { $es->count($index) == 200 }), 'loaded');
ok( wait_until(sub { metrics_of($metrics_port) =~ /^pg2es_slot_max_wal_keep_bytes 67108864$/m }),
	'/metrics: the limit');
like(metrics_of($metrics_port), qr/^pg2es_slot_retained_wal_bytes \d+$/m, '/metrics: the retained WAL');
like(metrics_of($metrics_port), qr/^pg2es_slot_safe_wal_size_bytes \d+$/m, '/metrics: the safe size');

# An open transaction with an xid: the slot must keep the WAL from its start.
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('INSERT INTO other VALUES (1)');

# 72 MB of WAL: the slot keeps it, short of the limit plus the segment the
# slot's restart_lsn is in.
$node->safe_psql('postgres',
	"SELECT pg_logical_emit_message(false, 'pg2es-test', repeat('x', 1024 * 1024)) FROM generate_series(1, 72)");
ok( wait_until(sub { $fwd->log_contents =~ /replication slot "pg2es" retains \d+ bytes of WAL; \d+ more and max_slot_wal_keep_size \(67108864 bytes\) invalidates it/ }),
	'past 80% of max_slot_wal_keep_size the forwarder warns');
my ($safe) = metrics_of($metrics_port) =~ /^pg2es_slot_safe_wal_size_bytes (-?\d+)$/m;
$safe //= 'none';
cmp_ok($safe eq 'none' ? 1e18 : $safe, '<', 64 * 1024 * 1024 / 5, "/metrics: the safe size is under 20% of the limit ($safe)");

# Past the limit, a checkpoint invalidates the slot.
$node->safe_psql('postgres',
	"SELECT pg_logical_emit_message(false, 'pg2es-test', repeat('x', 1024 * 1024)) FROM generate_series(1, 80)");
$node->safe_psql('postgres', 'SELECT pg_switch_wal(); CHECKPOINT');
$node->safe_psql('postgres', 'DELETE FROM items WHERE id <= 10');
$holder->query_safe('COMMIT');
$holder->quit;

ok(wait_until(sub { $fwd->log_contents =~ /replication slot "pg2es" is lost: invalidated/ }),
	'the forwarder says the slot is lost, and why');
like($fwd->log_contents, qr/starting over with a new slot and a new initial load/, 'and starts over');
ok(wait_until(sub { metrics_of($metrics_port) =~ /^pg2es_slot_lost_total 1$/m }), '/metrics counts it');
ok( wait_until(sub { my @n = $fwd->log_contents =~ /initial load done/g; @n == 2 }),
	'the second initial load is done');
ok(wait_slot_caught_up($node, 'pg2es'), 'the new slot caught up');
my ($equal, $diff) = index_equals_table($node, $es, 'items', $index);
ok($equal, 'the index equals its table') or diag $diff;
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
