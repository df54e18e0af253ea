# Backfill: a backfill request copies the table into its current index
# while streaming goes on, and deletes the documents whose rows are gone:
# documents lost behind pg2es's back come back, a document of no row goes,
# and a change streamed meanwhile is kept.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('backfill');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, note text);
INSERT INTO items SELECT g, 'note ' || g FROM generate_series(1, 1000) g;
EOS
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);
my $fwd = start_forwarder(node => $node, es => $es, slot => 'bf', args => ['--create-slot']);
ok(wait_until(sub { $es->count($index) == 1000 }), 'the initial load stored every row');

my $path = '/' . Pg2es::Test::ES::_path_escape($index);
$es->request('DELETE', "$path/_doc/$_") for (3, 4, 5);
$es->request('PUT', "$path/_doc/777?version=1&version_type=external", { id => 777, note => 'altered' });
$es->request('PUT', "$path/_doc/5000?version=1&version_type=external", { id => 5000, note => 'no row' });
$es->refresh($index);
my ($eq) = index_equals_table($node, $es, 'items', $index);
ok(!$eq, 'the index differs from the table');

my $id = $node->safe_psql('postgres',
	"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
	  . " VALUES ('bf', 'backfill', 'items'::regclass, 'public.items') RETURNING id");
$node->safe_psql('postgres', "UPDATE items SET note = 'streamed' WHERE id = 10");
ok( wait_until(
		sub {
			$node->safe_psql('postgres', "SELECT state FROM pg2es.requests WHERE id = $id")
			  =~ /^(done|failed)$/;
		}),
	'the backfill ended');
is($node->safe_psql('postgres', "SELECT state || coalesce(error, '') || '|' || target_index"
	  . " FROM pg2es.requests WHERE id = $id"), "done|$index~g1",
	'done, into the current index (the generation behind the alias)')
  or diag $fwd->log_contents;
like($fwd->log_contents, qr/index "\Q$index\E~g1": 1 document\(s\) of rows that are gone deleted/,
	'the document of no row was deleted');
ok(wait_until(sub { my ($e) = index_equals_table($node, $es, 'items', $index); $e }),
	'the index equals the table')
  or diag((index_equals_table($node, $es, 'items', $index))[1]);
my (undef, $doc) = $es->request('GET', "$path/_doc/10");
is($doc->{_source}{note}, 'streamed', 'the change streamed meanwhile is kept');
my (undef, $settings) = $es->request('GET', "$path/_settings");
ok(exists $settings->{"$index~g1"} && !defined $settings->{"$index~g1"}{settings}{index}{gc_deletes},
	'index.gc_deletes is back to its default');
my ($rc, $out, $err) = run_verify($node, $es, 'public.items');
is($rc, 0, 'pg2es verify passes') or diag "$out\n$err";
$fwd->stop;

done_testing();
