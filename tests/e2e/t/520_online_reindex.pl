# Online reindex while streaming: a request row in pg2es.requests makes the
# running forwarder build the table's next generation, copy the table into
# it in a fresh snapshot while the stream writes both generations, check
# it, move the alias in one _aliases request and delete the old generation
# (or keep it, keep_old). Writes during the copy, deletes, key changes and
# a TRUNCATE (the copy is then taken again in a fresh snapshot) all end up
# in the new generation; verify passes; /metrics shows the step.
# The worker is held after its copy (PG2ES_TEST_REINDEX_PAUSE=copied:FILE)
# so that the writes land between the copy's snapshot and the switch
# whatever the timing.

use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('reindex');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, note text, n int);
INSERT INTO items SELECT g, 'note ' || g, g FROM generate_series(1, 3000) g;
EOS
my $alias = $node->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($_) for ($alias, "$alias~g1", "$alias~g2", "$alias~g3");

my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $release = "$dir/release";
my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'rx',
	env  => { PG2ES_TEST_REINDEX_PAUSE => "copied:$release" },
	args => ['--create-slot', '--metrics-port', $metrics_port]);
ok(wait_until(sub { $es->count($alias) == 3000 }), 'the initial load stored every row');

# What the alias name stands for now: a legacy index or an alias.
sub behind
{
	my ($status, $body) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($alias) . '/_alias');
	return () unless $status == 200;
	return sort keys %$body;
}
sub request_row
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT state || '|' || coalesce(target_index, '') || '|' || coalesce(error, '')"
		  . " FROM pg2es.requests WHERE id = $id");
}
my @before = behind();
is(scalar(@before), 1, 'one index behind the name before the reindex');

my $id = $node->safe_psql('postgres',
	"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
	  . " VALUES ('rx', 'reindex', 'items'::regclass, 'public.items') RETURNING id");
# writes while the copy runs: updates, deletes, a key change, inserts
$node->safe_psql('postgres', <<'EOS');
UPDATE items SET note = 'during copy' WHERE id % 7 = 0;
DELETE FROM items WHERE id % 11 = 0;
UPDATE items SET id = id + 10000 WHERE id = 5;
INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(3001, 3100) g;
EOS
ok(wait_until(sub { $fwd->log_contents =~ /reindex request $id: paused at step copied/ }),
	'the worker copied the table and waits');
my ($state, $target) = split /\|/, request_row($id);
is($state, 'copying', 'the request is copying');
like($target, qr/^\Q$alias\E~g\d+$/, 'into the next generation');
my $res;
ok( wait_until(
		sub {
			$res = HTTP::Tiny->new->get("http://127.0.0.1:$metrics_port/metrics");
			$res->{content} =~ /^pg2es_reindex_step\{table="public\.items",request="$id",step="copied"\} 1$/m;
		}),
	'/metrics names the step') or diag $res->{content};
like($res->{content}, qr/^pg2es_reindex_rows\{table="public\.items",state="done"\} [1-9]\d*$/m,
	'/metrics counts the rows copied');
my (undef, $settings) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($target) . '/_settings');
is($settings->{$target}{settings}{index}{gc_deletes}, '30d',
	'index.gc_deletes is raised on the generation being copied into');

# After the copy, before the switch: more writes, and a TRUNCATE.
$node->safe_psql('postgres', <<'EOS');
DELETE FROM items WHERE id % 13 = 0;
UPDATE items SET id = id + 20000 WHERE id = 6;
TRUNCATE items;
INSERT INTO items SELECT g, 'after truncate ' || g, g FROM generate_series(1, 500) g;
UPDATE items SET note = 'changed' WHERE id % 3 = 0;
DELETE FROM items WHERE id % 17 = 0;
EOS
ok(wait_until(sub { $es->count($target) <= 500 && $es->count($alias) <= 500 }),
	'the TRUNCATE reached both generations');
open(my $fh, '>', $release) or die "$release: $!";
close $fh;
ok(wait_until(sub { request_row($id) =~ /^(done|failed)\|/ }), 'the request ended')
  or diag request_row($id);
like(request_row($id), qr/^done\|/, 'it is done') or diag $fwd->log_contents;
like($fwd->log_contents, qr/table public\.items was truncated during its copy: copying it again/,
	'the TRUNCATE made the worker copy the table again');
is_deeply([ behind() ], [$target], 'the alias points to the new generation alone');
my (undef, $s2) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($target) . '/_settings');
ok(!defined $s2->{$target}{settings}{index}{gc_deletes}, 'index.gc_deletes is back to its default');
if ($before[0] eq $alias)
{
	# a legacy concrete index: the switch itself removed it (remove_index)
	my (undef, $now) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($alias));
	is_deeply([ keys %$now ], [$target], 'the legacy index is gone: the name is the alias');
}
else
{
	my ($old_status) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($before[0]));
	is($old_status, 404, 'the old generation is deleted');
}

# Streaming goes on into the new generation.
$node->safe_psql('postgres', "INSERT INTO items VALUES (9999, 'after switch', 1)");
ok(wait_until(sub { my ($eq) = index_equals_table($node, $es, 'items', $alias); $eq }),
	'the alias equals the table') or diag((index_equals_table($node, $es, 'items', $alias))[1]);
my ($rc, $out, $err) = run_verify($node, $es, 'public.items');
is($rc, 0, 'pg2es verify passes') or diag "$out\n$err";

# keep_old keeps the old generation, without the alias (the release file
# stays: no more pauses).
my $id2 = $node->safe_psql('postgres',
	"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name, keep_old)"
	  . " VALUES ('rx', 'reindex', 'items'::regclass, 'public.items', true) RETURNING id");
ok(wait_until(sub { request_row($id2) =~ /^(done|failed)\|/ }), 'the second request ended');
my (undef, $target2) = split /\|/, request_row($id2);
like(request_row($id2), qr/^done\|/, 'done') or diag $fwd->log_contents;
isnt($target2, $target, 'into a further generation');
is_deeply([ behind() ], [$target2], 'the alias moved to it');
my ($kept) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($target));
is($kept, 200, 'keep_old: the previous generation is kept');
($rc, $out, $err) = run_verify($node, $es, 'public.items');
is($rc, 0, 'pg2es verify passes again') or diag "$out\n$err";

# A request for a table the slot does not cover fails with a reason.
my $id3 = $node->safe_psql('postgres',
	"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
	  . " VALUES ('rx', 'reindex', 'pg_class'::regclass, 'pg_catalog.pg_class') RETURNING id");
ok(wait_until(sub { request_row($id3) =~ /^failed\|/ }), 'a request for an uncovered table fails');
like(request_row($id3), qr/not covered by the options of slot "rx"/, 'saying why');

$fwd->stop;
done_testing();
