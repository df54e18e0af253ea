
# Real engine nodes going away in the middle of a sync: nothing is lost.
#
#  1. A cluster of three OpenSearch nodes, the forwarder given every node's
#     URL: a data node stops while writes go on (its shards' replicas take
#     over, the cluster turns yellow), comes back; then the node behind the
#     second URL stops, so that requests sent there fail and go to another
#     node.
#  2. A single node restarted (its data kept) while writes go on: the
#     forwarder retries until it answers again.
# After each step every index equals its table, and pg2es verify agrees.
# The test starts its own clusters with tests/engines/start (it needs Java
# and the launcher; without them it skips), whatever ES_URL says.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(repo_root new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $engines = repo_root() . '/tests/engines';

# Starts an engine of $nodes nodes on a free port; returns its base port
# and URL, or skips the whole test when this machine has no real engine.
sub start_engine
{
	my ($nodes) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my ($out, $err) = ('', '');
	local $ENV{PG2ES_ENGINE_WATCH_PID} = $$;
	IPC::Run::run([ "$engines/start", 'opensearch', $port, '--nodes', $nodes ],
		'<', \undef, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	plan skip_all => "no real engine on this machine: $err" if $rc == 3;
	BAIL_OUT("tests/engines/start failed ($rc): $err") if $rc != 0;
	chomp $out;
	return ($port, $out);
}

sub node_command
{
	my ($port, $what, $i) = @_;
	my $err = '';
	IPC::Run::run([ "$engines/node", $port, $what, $i ], '<', \undef, '2>', \$err);
	is($? >> 8, 0, "$what node $i") or diag $err;
	return;
}

my $node = new_cluster('nodes');
my $dir  = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', 'CREATE TABLE en (id int PRIMARY KEY, v text, n int)');
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.en')");

# A burst of inserts, updates and deletes; each call writes new ids.
my $next_id = 1;
sub write_burst
{
	my $from = $next_id;
	my $to   = $next_id + 99;
	$next_id += 100;
	$node->safe_psql('postgres', <<"EOS");
INSERT INTO en SELECT g, 'row ' || g, 0 FROM generate_series($from, $to) g;
UPDATE en SET n = n + 1, v = v || '+' WHERE id % 3 = 0;
DELETE FROM en WHERE id % 17 = 0;
EOS
	return;
}

# Waits until every shard has all its copies again, so that the next node
# to stop leaves one of each.
sub wait_green
{
	my ($es, $what) = @_;
	my ($status, $body) =
	  $es->request('GET', '/_cluster/health?wait_for_status=green&timeout=90s');
	is($body->{status} // '', 'green', "$what: the cluster is green again");
	return;
}

sub synced
{
	my ($es, $fw, $what) = @_;
	my $msg = '';
	my $ok = wait_until(
		sub {
			# while a node is away the cluster may answer 503 for a moment
			my ($eq, $m) =
			  eval { index_equals_table($node, $es, 'public.en', $index) };
			$msg = $m // $@;
			return $eq;
		}, 120);
	ok($ok, "$what: the index equals the table")
	  or diag($msg . "\nforwarder log tail:\n" . substr($fw->log_contents, -3000));
	return;
}

# --- 1. three nodes ---------------------------------------------------------
my ($port3, $url3) = start_engine(3);
my $es3;
{
	local $ENV{ES_URL} = $url3;
	$es3 = start_es();
}
my @urls = map { 'http://127.0.0.1:' . ($port3 + $_) } 0 .. 2;
my $fw = start_forwarder(
	node => $node,
	es   => $es3,
	slot => 'nodes3',
	es_url => join(',', @urls),
	args => [ '--create-slot', '--es-timeout', '10',
		'--dead-letter-file', "$dir/dead3.ndjson" ]);
write_burst();
synced($es3, $fw, 'three nodes');
# the index was just created: until its replica has started, the node
# holding its primary is its only copy and stopping it turns the index red
wait_green($es3, 'the index\'s replica started');

node_command($port3, 'stop', 2);
write_burst();
write_burst();
synced($es3, $fw, 'a data node stopped');
node_command($port3, 'start', 2);
wait_green($es3, 'node 2 back');

# the node behind the second URL goes away: requests sent there must fail
# over to another URL
node_command($port3, 'stop', 1);
write_burst();
synced($es3, $fw, 'the second URL\'s node stopped');
node_command($port3, 'start', 1);
wait_green($es3, 'node 1 back');
write_burst();
synced($es3, $fw, 'every node back');
ok(!-s "$dir/dead3.ndjson", 'three nodes: nothing dead-lettered');
{
	local $ENV{ES_URL} = $url3;
	my ($rc, $out) = run_verify($node, $es3, 'public.en');
	is($rc, 0, 'three nodes: pg2es verify finds the index equal') or diag $out;
}
$fw->stop;
IPC::Run::run([ "$engines/stop", $port3 ]);

# --- 2. one node restarted --------------------------------------------------
my ($port1, $url1) = start_engine(1);
my $es1;
{
	local $ENV{ES_URL} = $url1;
	$es1 = start_es();
}
$fw = start_forwarder(
	node => $node,
	es   => $es1,
	slot => 'nodes1',
	args => [ '--create-slot', '--es-timeout', '10',
		'--dead-letter-file', "$dir/dead1.ndjson" ]);
synced($es1, $fw, 'one node: initial load');
my $restart = IPC::Run::start([ "$engines/node", $port1, 'restart', 0 ], '<', \undef,
	'>', \my $rout, '2>', \my $rerr);
write_burst() for 1 .. 3;
$restart->finish;
is($? >> 8, 0, 'the node restarted with its data') or diag $rerr;
write_burst();
synced($es1, $fw, 'one node restarted while writes went on');
ok(!-s "$dir/dead1.ndjson", 'one node: nothing dead-lettered');
$fw->stop;
IPC::Run::run([ "$engines/stop", $port1 ]);

done_testing();
