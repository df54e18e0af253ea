
# Items Elasticsearch refuses for good go to the dead-letter file while the
# rest syncs: an item refused alone (400 document_parsing_exception), and an
# item that makes its whole request fail (413: the request is split until
# the culprit is alone).  The dead-letter file is a _bulk body that replays
# with curl once the cause is gone; PATH.errors says why, line for line.
# With --on-item-error=stop the forwarder stops instead and acknowledges
# nothing past the refused item.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until require_emulator);

# a request limit small enough for one row to exceed it alone
my $es = start_es('--max-content-length', '64kb');
require_emulator($es);

my $node = new_cluster('deadletter');
my $dir  = PostgreSQL::Test::Utils::tempdir();
my $dead = "$dir/dead.ndjson";

$node->safe_psql('postgres', 'CREATE TABLE docs (id int PRIMARY KEY, body text)');
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.docs')");
$es->delete_index($index);

$es->fault({ kind => 'reject', match => 'POISON' });
my $fw = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'dl',
	args => [
		'--create-slot', '--no-initial-load', '--dead-letter-file', $dead,
		'--bulk-max-items', '20'
	]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'dl' AND active") eq '1';
		}),
	'the forwarder creates the slot and streams from it');

$node->safe_psql('postgres', <<'EOS');
INSERT INTO docs SELECT g, 'fine ' || g FROM generate_series(1, 100) g;
UPDATE docs SET body = 'POISON ' || id WHERE id IN (17, 42);
INSERT INTO docs SELECT g, 'fine ' || g FROM generate_series(101, 200) g;
INSERT INTO docs VALUES (500, repeat('y', 100000));
INSERT INTO docs SELECT g, 'fine ' || g FROM generate_series(201, 300) g;
EOS

# Everything but the refused items arrives: the poisoned rows keep their
# earlier version, the oversized one is missing.
my $docs;
ok( wait_until(
		sub {
			$docs = $es->all_docs($index);
			keys %$docs == 300 && $docs->{300};
		}),
	'the rest syncs past the refused items')
  or diag $fw->log_contents;
like($docs->{17}, qr/"fine 17"/, 'a refused update leaves the previous version');
ok(!exists $docs->{500}, 'the oversized row is not indexed');

my @items  = split /\n/, slurp_file($dead);
my @errors = split /\n/, slurp_file("$dead.errors");
is(scalar @items, 6,
	'dead-letter file: two refused updates and the oversized insert, two lines each');
my $json = JSON::PP->new;
my @err = map { $json->decode($_) } @errors;
is(scalar @err, 3, 'one error line per refused item');
is_deeply([ map { $_->{status} } @err ], [ 400, 400, 413 ], 'statuses in order');
is($err[0]{error}{type}, 'document_parsing_exception', 'the item error is kept');
is($err[0]{action}{index}{_id}, '17', 'the error line names the item');
is($err[2]{action}{index}{_id}, '500', 'the culprit of the 413 was isolated');
like($fw->log_contents, qr/splitting it to find the item at fault/, 'the split is logged');
is($fw->stop('TERM'), 0, 'SIGTERM: exit 0');

# Replay: once the cause is gone the dead-letter file is a valid _bulk body
# (the first two items; the last is still too large for this emulator).
$es->clear_faults;
my $replay = join("\n", @items[ 0 .. 3 ]) . "\n";
my ($status, $resp) = $es->request('POST', '/_bulk', $replay);
is($status, 200, 'the dead-letter file replays with _bulk');
ok(!$resp->{errors}, 'and its items are applied');
$node->safe_psql('postgres', 'DELETE FROM docs WHERE id = 500');
$fw = start_forwarder(node => $node, es => $es, slot => 'dl', args => [ '--dead-letter-file', $dead ]);
my ($same, $why);
ok(wait_until(sub { ($same, $why) = index_equals_table($node, $es, 'public.docs', $index); $same }),
	'after the replay the index equals the table') or diag $why;
is($fw->stop('TERM'), 0, 'exit 0');

# --on-item-error=stop: the forwarder stops, and what follows the refused
# item is not acknowledged, so a later run with dead-lettering syncs it.
$es->fault({ kind => 'reject', match => 'STOPHERE' });
$fw = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'dl',
	args => [ '--on-item-error', 'stop', '--dead-letter-file', "$dir/stop.ndjson" ]);
$node->safe_psql('postgres',
	"INSERT INTO docs VALUES (1000, 'STOPHERE'); INSERT INTO docs VALUES (1001, 'after')");
ok( wait_until(sub { $fw->log_contents =~ /stopping \(--on-item-error=stop\)/ }),
	'the forwarder stops on a refused item');
isnt($fw->stop, 0, 'with a non-zero exit status');
like($fw->log_contents, qr/refused item .*"1000".*with status 400/, 'saying which item and why');
ok(!-e "$dir/stop.ndjson", 'nothing dead-lettered in stop mode');
$es->clear_faults;
$fw = start_forwarder(node => $node, es => $es, slot => 'dl', args => [ '--dead-letter-file', $dead ]);
ok(wait_until(sub { ($same, $why) = index_equals_table($node, $es, 'public.docs', $index); $same }),
	'a later run sends what the stopped one did not acknowledge') or diag $why;
is($fw->stop('TERM'), 0, 'exit 0');

$node->stop;
done_testing();
