
# The forwarder end to end: after a script of inserts, updates, key
# changes, deletes, truncates and a large transaction, every index equals
# its table; writes to a table that is not synced still move the slot's
# confirmed_flush_lsn; /healthz and /metrics answer; SIGTERM exits 0 with
# everything acknowledged (the slot has nothing left to send).

use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table wait_until);

my $node = new_cluster('sync');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric, attrs jsonb);
CREATE TABLE pairs (a int, b text, note text, PRIMARY KEY (a, b));
CREATE TABLE big (id bigint PRIMARY KEY, payload text);
CREATE TABLE unsynced (id serial PRIMARY KEY, v text);
EOS

my @tables = qw(items pairs big);
my %index;
for my $t (@tables)
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.$t')");
	$es->delete_index($index{$t});
}

my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fw = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'sync',
	args => [
		'--create-slot', '-o', 'exclude-tables=public.unsynced',
		'--bulk-max-bytes', '64kB', '--bulk-max-items', '300',
		'--max-memory', '1MB', '--bulk-linger-ms', '20',
		'--metrics-port', $metrics_port,
		'--dead-letter-file', "$dir/dead.ndjson",
	]);

# the slot exists once the forwarder has connected
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sync' AND active")
			  eq '1';
		}),
	'the forwarder creates the slot and streams from it')
  or diag $fw->log_contents;

# Waits until every synced index equals its table; reports the first
# difference otherwise.
sub all_synced
{
	my ($what, @only) = @_;
	my @check = @only ? @only : @tables;
	my $msg = '';

	# counts first: cheap, and equal only once the stream has caught up
	wait_until(
		sub {
			for my $t (@check)
			{
				return 0
				  if $es->count($index{$t}) !=
				  $node->safe_psql('postgres', "SELECT count(*) FROM $t");
			}
			return 1;
		});
	my $ok = wait_until(
		sub {
			for my $t (@check)
			{
				my ($same, $why) = index_equals_table($node, $es, "public.$t", $index{$t});
				$msg = $why, return 0 unless $same;
			}
			return 1;
		});
	ok($ok, "$what: every index equals its table") or diag $msg, $fw->log_contents;
	return;
}

$node->safe_psql('postgres', <<'EOS');
INSERT INTO items SELECT g, 'item ' || g, g * 1.5, jsonb_build_object('n', g) FROM generate_series(1, 500) g;
INSERT INTO pairs SELECT g % 10, 'k' || g, 'note' FROM generate_series(1, 200) g;
UPDATE items SET name = name || ' (updated)' WHERE id % 3 = 0;
UPDATE items SET id = id + 10000 WHERE id % 7 = 0;
UPDATE pairs SET b = b || '|moved' WHERE a = 3;
DELETE FROM items WHERE id % 5 = 0;
DELETE FROM pairs WHERE a = 4;
EOS
all_synced('inserts, updates, key changes, deletes');

# One transaction touching a row several times, then a truncate followed by
# new rows in the same transaction, then one in its own.
$node->safe_psql('postgres', <<'EOS');
BEGIN;
UPDATE items SET price = 1 WHERE id = 1;
UPDATE items SET price = 2 WHERE id = 1;
UPDATE items SET id = 99999 WHERE id = 1;
UPDATE items SET name = 'last' WHERE id = 99999;
COMMIT;
BEGIN;
TRUNCATE pairs;
INSERT INTO pairs VALUES (1, 'after truncate', 'x');
COMMIT;
INSERT INTO pairs VALUES (2, 'later', 'y');
EOS
all_synced('repeated changes in one transaction, truncate');

# A transaction far larger than --max-memory: the forwarder must stop
# reading, send, and go on, in order.
$node->safe_psql('postgres', <<'EOS');
BEGIN;
INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 10000) g;
UPDATE big SET payload = 'changed' WHERE id % 100 = 0;
DELETE FROM big WHERE id % 99 = 0;
COMMIT;
EOS
all_synced('a 10000-row transaction (2.8 MB) under a 1 MB memory bound', 'big');

# Writes only to a table that is not synced: the plugin emits nothing, but
# the slot's confirmed position must still move (keepalive rule).
$node->safe_psql('postgres',
	"INSERT INTO unsynced (v) SELECT 'x' FROM generate_series(1, 1000)");
my $target = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'sync'"
			) eq 't';
		}),
	'confirmed_flush_lsn moves past writes to unsynced tables')
  or diag $node->safe_psql('postgres',
	"SELECT confirmed_flush_lsn || ' < $target' FROM pg_replication_slots WHERE slot_name = 'sync'");

my $http = HTTP::Tiny->new(timeout => 10);
my $res = $http->get("http://127.0.0.1:$metrics_port/healthz");
is($res->{status}, 200, '/healthz is ready when both ends are connected');
$res = $http->get("http://127.0.0.1:$metrics_port/metrics");
like($res->{content}, qr/^pg2es_documents_sent_total [1-9]\d*$/m, '/metrics counts documents');
like($res->{content}, qr/^pg2es_truncates_total 1$/m, '/metrics counts the truncate');
like($res->{content}, qr/^pg2es_confirmed_lsn [1-9]\d*$/m, '/metrics shows the confirmed LSN');
unlike($res->{content}, qr/^pg2es_dead_lettered_total [1-9]/m, 'nothing dead-lettered');
like($res->{content}, qr/^pg2es_lanes 4$/m, '/metrics shows the default lanes, 4');
like($res->{content}, qr/^pg2es_requests_in_flight 0$/m,
	'/metrics: no request in flight once everything is synced');
is(scalar(() = $res->{content} =~ /^pg2es_lane_batches\{lane="[0-3]"\} 0$/mg), 4,
	'/metrics: every lane\'s queue is empty once everything is synced');

# A last change, then SIGTERM: exit 0 and nothing left in the slot.
$node->safe_psql('postgres', "INSERT INTO items VALUES (123456, 'at the end', 0, '{}')");
all_synced('the last change', 'items');
is($fw->stop('TERM'), 0, 'SIGTERM: exit status 0');
like($fw->log_contents, qr/stopped/, 'SIGTERM: stopped cleanly');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_logical_slot_peek_binary_changes('sync', NULL, NULL, 'framing', 'msgpack', 'exclude-tables', 'public.unsynced')"
	),
	'0',
	'SIGTERM: everything sent was acknowledged (the slot has nothing left)');
ok(!-e "$dir/dead.ndjson", 'no dead-letter file when nothing was refused');

$node->stop;
done_testing();
