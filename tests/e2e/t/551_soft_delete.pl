# delete-mode=soft on the real engine: a DELETE, a key change and a
# TRUNCATE keep the documents, marked "__deleted": true (the mapping holds
# it as boolean); verify counts marked documents as absent and passes; a
# marked document whose row exists is different, and verify --repair
# writes the row back; an extra live document is marked, not deleted.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until run_verify);

my $node = new_cluster('softdel');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'body ' || g FROM generate_series(1, 10) g;
CREATE TABLE logs (id int PRIMARY KEY, line text);
INSERT INTO logs SELECT g, 'line ' || g FROM generate_series(1, 5) g;
EOS
my %index = map { $_ => $node->safe_psql('postgres', "SELECT pg2es.index_name('$_')") } qw(notes logs);
$es->delete_index($_) for values %index;

my @soft = ('-o', 'delete-mode=soft');
my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'softslot',
	args => [ '--create-slot', @soft ]);
ok(wait_until(sub { $es->count($index{notes}) == 10 && $es->count($index{logs}) == 5 }),
	'the initial load stored every row');
my (undef, $mapping) = $es->request('GET', "/$index{notes}/_mapping");
my ($m) = values %$mapping;
is($m->{mappings}{properties}{__deleted}{type}, 'boolean', 'the mapping holds __deleted as boolean');

$node->safe_psql('postgres', 'DELETE FROM notes WHERE id = 2');
$node->safe_psql('postgres', 'UPDATE notes SET id = 30 WHERE id = 3');
$node->safe_psql('postgres', 'TRUNCATE logs');
$node->safe_psql('postgres', "INSERT INTO logs VALUES (9, 'after')");
my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = 'softslot'"
			) eq 't';
		}),
	'the forwarder caught up');
$es->request('POST', "/$_/_refresh") for values %index;

my (undef, $d2) = $es->request('GET', "/$index{notes}/_doc/2");
is_deeply($d2->{_source}, { id => 2, __deleted => JSON::PP::true() }, 'a deleted row keeps its key, marked deleted');
my (undef, $d3) = $es->request('GET', "/$index{notes}/_doc/3");
ok($d3->{found} && $d3->{_source}{__deleted}, 'a key change marks the old _id deleted');
my (undef, $d30) = $es->request('GET', "/$index{notes}/_doc/30");
ok($d30->{found} && !exists $d30->{_source}{__deleted}, 'and indexes the new one');
is($es->count($index{logs}), 6, 'TRUNCATE keeps the documents');
my (undef, $l1) = $es->request('GET', "/$index{logs}/_doc/1");
is_deeply($l1->{_source}, { id => 1, line => 'line 1', __deleted => JSON::PP::true() },
	'TRUNCATE marks each document deleted, the rest kept');
my (undef, $l9) = $es->request('GET', "/$index{logs}/_doc/9");
ok(!exists $l9->{_source}{__deleted}, 'a row inserted after the TRUNCATE is live');

my ($rc, $out, $err) = run_verify($node, $es, @soft);
is($rc, 0, 'verify with delete-mode=soft passes: marked documents count as absent')
  or diag "$out\n$err";
like($out, qr/public\.logs -> index "\Q$index{logs}\E": 1 rows, 1 documents: equal/,
	'only live documents are counted');
($rc, $out, $err) = run_verify($node, $es);
is($rc, 1, 'verify without the option sees the marked documents as extra') or diag $out;

# A marked document whose row exists, and a live one of no row.
$es->request('PUT', "/$index{notes}/_doc/5?refresh=true", { id => 5, __deleted => JSON::PP::true() });
$es->request('PUT', "/$index{notes}/_doc/77?refresh=true", { id => 77, body => 'no row' });
($rc, $out, $err) = run_verify($node, $es, @soft, 'public.notes');
is($rc, 1, 'verify: a marked document of an existing row differs') or diag $out;
like($out, qr/different _ids \(1\): 5\b.*extra _ids \(1\): 77\b/s, 'named as different, and the extra');
($rc, $out, $err) = run_verify($node, $es, @soft, '--repair', 'public.notes');
is($rc, 0, 'verify --repair in soft mode puts it right') or diag "$out\n$err";
like($out, qr/repaired at version \d+: 0 missing sent, 1 different sent, 1 extra marked deleted, 0 superseded/,
	'the report says the extra was marked deleted');
my (undef, $d5) = $es->request('GET', "/$index{notes}/_doc/5");
is_deeply($d5->{_source}, { id => 5, body => 'body 5' }, 'the row is written back');
my (undef, $d77) = $es->request('GET', "/$index{notes}/_doc/77");
is_deeply($d77->{_source}, { id => 77, body => 'no row', __deleted => JSON::PP::true() },
	'the extra document is kept, marked deleted');

is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
