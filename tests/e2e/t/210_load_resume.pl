# An interrupted initial load resumes: the forwarder is killed (SIGKILL)
# while a large table is half copied; pg2es.load_state shows which tables
# Elasticsearch holds completely, and a restart copies only the unfinished
# one again, inside the snapshot of a temporary slot, before streaming what
# changed meanwhile.  While it runs, /metrics shows the load's progress.
# Then --snapshot reloads a chosen table into the
# running sync.  Each time `pg2es verify` ends equal.

use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until run_verify);

my $es = start_es('--faults');
my $node = new_cluster('resume');

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE a_small (id int PRIMARY KEY, v text);
INSERT INTO a_small SELECT g, 's' || g FROM generate_series(1, 500) g;
CREATE TABLE b_large (id int PRIMARY KEY, v text, n numeric);
INSERT INTO b_large SELECT g, repeat('x', 100) || g, g / 3.0 FROM generate_series(1, 20000) g;
ANALYZE;
EOS
my %index;
for my $t (qw(a_small b_large))
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
	$es->delete_index($index{$t});
}

my @args = ('--create-slot', '--bulk-max-items', '500', '--load-jobs', '2');

# Slow Elasticsearch down so that the load of b_large is still running
# when the forwarder is killed.
$es->fault({ kind => 'delay', ms => 300, count => 1000 });
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_forwarder(node => $node, es => $es, slot => 'resume',
	args => [ @args, '--metrics-port', $metrics_port ]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg2es.load_state WHERE slot_name = 'resume' AND done")
			  == 1 && $es->count($index{b_large}) >= 1000;
		}),
	'a_small is loaded and b_large is partly stored');
my $metrics = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$metrics_port/metrics");
is($metrics->{status}, 200, '/metrics answers during the load');
like($metrics->{content}, qr/^pg2es_load_tables\{state="total"\} 2\n(?s:.*)^pg2es_load_tables\{state="done"\} 1$/m,
	'/metrics: one of two tables loaded');
like($metrics->{content},
	qr/^pg2es_load_table_rows\{table="public\.b_large",state="done"\} [1-9]\d*$/m,
	'/metrics: rows of the table being copied, named');
like($metrics->{content},
	qr/^pg2es_load_table_rows\{table="public\.b_large",state="estimated"\} 20000$/m,
	'/metrics: and its estimated total');
$fwd->kill9;
$es->clear_faults;

my $stored = $es->count($index{b_large});
cmp_ok($stored, '<', 20000, "killed half way ($stored of 20000 documents stored)");
is( $node->safe_psql('postgres',
		"SELECT string_agg(table_name || '=' || done, ',' ORDER BY table_name)"
		  . " FROM pg2es.load_state WHERE slot_name = 'resume'"),
	'public.a_small=true,public.b_large=false',
	'load_state: the finished table is done, the interrupted one is not');

# Changes while the forwarder is down: the stream must bring them.
$node->safe_psql('postgres', <<'EOS');
UPDATE b_large SET v = 'changed' WHERE id % 1000 = 0;
DELETE FROM b_large WHERE id % 1000 = 1;
INSERT INTO b_large SELECT g, 'late', 1 FROM generate_series(30001, 30100) g;
UPDATE a_small SET v = 'changed' WHERE id <= 10;
DELETE FROM a_small WHERE id > 490;
EOS

$fwd = start_forwarder(node => $node, es => $es, slot => 'resume', args => \@args);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg2es.load_state WHERE slot_name = 'resume' AND done")
			  == 2;
		}),
	'the restart finishes the load');
my $log = $fwd->log_contents;
like($log, qr/the load of table public\.b_large was interrupted/, 'the restart copies b_large again');
unlike($log, qr/the load of table public\.a_small was interrupted/, 'but not the finished a_small');
like($log, qr/snapshot of a temporary slot at/, 'inside a temporary slot\'s snapshot');

my ($rc, $out, $err);
ok( wait_until(
		sub {
			($rc, $out, $err) = run_verify($node, $es);
			return $rc == 0;
		}),
	'after the restart every index equals its table')
  or diag "$out\n$err";

# --snapshot reloads a chosen table into the running sync.
$es->delete_index($index{a_small});
($rc, $out) = run_verify($node, $es, 'public.a_small');
is($rc, 1, 'with its index gone, verify finds a_small missing');
$fwd->stop;
$fwd = start_forwarder(node => $node, es => $es, slot => 'resume',
	args => [ @args, '--snapshot', 'public.a_small' ]);
$node->safe_psql('postgres', "UPDATE a_small SET v = 'after' WHERE id = 5");
ok( wait_until(
		sub {
			($rc, $out, $err) = run_verify($node, $es);
			return $rc == 0;
		}),
	'--snapshot reloads the table and the stream goes on')
  or diag "$out\n$err";
unlike($fwd->log_contents, qr/b_large was interrupted/, '--snapshot copies only that table');
is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
