
# A real cluster that refuses writes: nothing is lost, the forwarder waits.
#
# Past the disk flood-stage watermark a cluster puts a read-only block on
# its indexes and answers every write with 429 cluster_block_exception; an
# operator's index.blocks.write gives 403 to every item.  Both last until
# someone lifts them.  Here the watermarks are set (as byte values of free
# space, so that this machine's disk is "full"), writes go on in
# PostgreSQL, and the test checks that the forwarder stays up and applies
# and dead-letters nothing; it is then SIGKILLed and started again, so
# that anything it had confirmed without storing would be lost for good.
# Once the block is gone, every index equals its table.  Needs a real engine:
# the emulator has no disk monitor and no blocks.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table wait_until);

my $es = start_es();
plan skip_all => 'needs a real engine (ES_URL): the emulator has no write blocks'
  if $es->emulated;

my $node = new_cluster('blocks');
my $dir  = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE wb (id int PRIMARY KEY, v text);
EOS
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.wb')");
$es->delete_index($index);

my $fw = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'blocks',
	args => [ '--create-slot', '--status-interval', '1',
		'--dead-letter-file', "$dir/dead.ndjson" ]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'blocks' AND active")
			  eq '1';
		}),
	'the forwarder streams') or diag $fw->log_contents;
$node->safe_psql('postgres',
	"INSERT INTO wb SELECT g, 'row ' || g FROM generate_series(1, 100) g");

sub synced
{
	my ($what) = @_;
	my $msg = '';
	my $ok = wait_until(
		sub {
			my ($eq, $m) = index_equals_table($node, $es, 'public.wb', $index);
			$msg = $m;
			return $eq;
		}, 120);
	ok($ok, "$what: the index equals the table")
	  or diag($msg . "\nforwarder log tail:\n" . substr($fw->log_contents, -3000));
	return;
}

sub put
{
	my ($path, $body) = @_;
	my ($status, $resp, $raw) = $es->request('PUT', $path, $body);
	is($status, 200, "PUT $path") or diag $raw;
	return;
}

sub blocks_of
{
	my (undef, $body) = $es->request('GET', "/$index/_settings?filter_path=**.blocks");
	return JSON::PP->new->canonical->encode($body // {});
}

# Writes made while the index is blocked must wait: none applied, none
# dead-lettered, the forwarder still running; a SIGKILL then must lose
# none of them (checked once the block is lifted).
sub writes_wait
{
	my ($what, $from) = @_;
	my $before = $es->count($index);
	$node->safe_psql('postgres', <<"EOS");
INSERT INTO wb SELECT g, 'blocked ' || g FROM generate_series($from, $from + 49) g;
UPDATE wb SET v = v || ' (changed while blocked)' WHERE id % 7 = 0;
DELETE FROM wb WHERE id % 11 = 0;
EOS
	sleep 8;
	ok($fw->running, "$what: the forwarder waits instead of leaving")
	  or diag $fw->log_contents;
	is($es->count($index), $before, "$what: nothing was applied");
	ok(!-s "$dir/dead.ndjson", "$what: nothing was dead-lettered");
	$fw->kill9;
	$fw->start;
	sleep 3;
	is($es->count($index), $before, "$what: still nothing applied after a SIGKILL");
	return;
}

synced('streaming');

# 1. The disk flood-stage watermark.  Byte values are free space: 800tb
# free is never there, so the monitor (every 10 s at the least) blocks the
# index.
my @marks = qw(low high flood_stage);
my %full = (low => '1000tb', high => '900tb', flood_stage => '800tb');
put('/_cluster/settings', { transient => {
	(map { ("cluster.routing.allocation.disk.watermark.$_" => $full{$_}) } @marks),
	'cluster.info.update.interval' => '10s' } });
ok(wait_until(sub { blocks_of() =~ /read_only_allow_delete/ }, 90),
	'the cluster blocks the index past the flood stage')
  or diag blocks_of();
writes_wait('past the flood stage', 1000);

# The watermarks back to their defaults.  The cluster would lift the block
# itself at its next look at the disk; the test does not wait for that and
# lifts it as an operator would.
put('/_cluster/settings', { transient => {
	map { ("cluster.routing.allocation.disk.watermark.$_" => undef) } @marks } });
put("/$index/_settings", { 'index.blocks.read_only_allow_delete' => undef });
synced('after the watermark went back');

# 2. An operator's write block: 403 on every item.
put("/$index/_settings", { 'index.blocks.write' => JSON::PP::true });
writes_wait('under index.blocks.write', 2000);
put("/$index/_settings", { 'index.blocks.write' => undef });
synced('after the write block was lifted');

put('/_cluster/settings', { transient => { 'cluster.info.update.interval' => undef } });
$fw->stop;
done_testing();
