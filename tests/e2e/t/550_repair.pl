# pg2es verify --repair: a document deleted, one altered and one of no row
# are put right at the version of a fresh snapshot (a temporary slot's
# consistent point), the report says what was done, and the exit status is
# 0 once the index equals the table. A document "from the future" (a higher
# external version than any repair can write) is superseded: it stays, the
# report counts it, and the exit status says the index still differs. A
# change streamed after a repair still wins. --repair refuses versioning=off.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('repair');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, note text, n int);
INSERT INTO items SELECT g, 'note ' || g, g * 10 FROM generate_series(1, 30) g;
EOS
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('items')");
$es->delete_index($index);

my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'repairslot',
	args => ['--create-slot']);
ok(wait_until(sub { $es->count($index) == 30 }), 'the initial load stored every row');

# Three defects behind pg2es's back.
my ($status) = $es->request('DELETE', "/$index/_doc/3?refresh=true");
is($status, 200, 'document 3 deleted directly');
($status) = $es->request('PUT', "/$index/_doc/5?refresh=true", { id => 5, note => 'altered' });
is($status, 200, 'document 5 altered directly');
($status) = $es->request('PUT', "/$index/_doc/999?refresh=true", { id => 999, note => 'no row' });
is($status, 201, 'document 999 of no row added directly');

my ($rc, $out, $err) = run_verify($node, $es, '--repair', 'public.items');
is($rc, 0, 'verify --repair exits 0: the index equals the table afterwards')
  or diag "$out\n$err";
like($out, qr/public\.items -> index "\Q$index\E": 30 rows, 30 documents: 1 missing, 1 different, 1 extra/,
	'the first verdict names the three defects');
like($out, qr/missing _ids \(1\): 3\b.*different _ids \(1\): 5\b.*extra _ids \(1\): 999\b/s,
	'and their _ids');
my ($version) = $out =~ /repaired at version (\d+): 1 missing sent, 1 different sent, 1 extra deleted, 0 superseded/;
ok(defined $version, 'the repair reports what it sent and deleted') or diag $out;
like($out, qr/repaired at version.*\n.*public\.items -> index "\Q$index\E": 30 rows, 30 documents: equal/,
	'then verifies again: equal');
like($out, qr/^1 of 1 table\(s\) equal to their index$/m, 'the summary counts the table equal');
my ($eq, $msg) = index_equals_table($node, $es, 'items', $index);
ok($eq, 'the index equals the table') or diag $msg;

# The repair wrote at the snapshot's consistent point, above the load's.
my (undef, $doc3) = $es->request('GET', "/$index/_doc/3");
is($doc3->{_version}, $version, 'a repaired document carries the repair\'s version');
my (undef, $doc1) = $es->request('GET', "/$index/_doc/1");
cmp_ok($doc1->{_version}, '<', $version, 'an untouched document keeps the load\'s lower version');
my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn() - \'0/0\'::pg_lsn');
cmp_ok($version, '<=', $lsn, 'the version is an LSN the server has passed');

# A change streamed after the repair has a higher version and is stored.
$node->safe_psql('postgres', "UPDATE items SET note = 'streamed' WHERE id = 3");
ok( wait_until(
		sub {
			my (undef, $d) = $es->request('GET', "/$index/_doc/3");
			$d && $d->{_source}{note} eq 'streamed';
		}),
	'a later streamed change overwrites the repaired document');
my (undef, $after) = $es->request('GET', "/$index/_doc/3");
cmp_ok($after->{_version}, '>', $version, 'with a higher version');

# Documents with a version above any the repair can write: superseded.
my $future = '4611686018427387904';    # 2^62, exact
($status) = $es->request('PUT',
	"/$index/_doc/7?version=$future&version_type=external&refresh=true",
	{ id => 7, note => 'from the future' });
is($status, 200, 'document 7 rewritten at a very high version');
($status) = $es->request('PUT',
	"/$index/_doc/998?version=$future&version_type=external&refresh=true", { id => 998 });
is($status, 201, 'document 998 of no row added at a very high version');
($rc, $out, $err) = run_verify($node, $es, '--repair', 'public.items');
is($rc, 1, 'verify --repair exits 1 when the index still differs') or diag "$out\n$err";
like($out, qr/repaired at version \d+: 0 missing sent, 0 different sent, 0 extra deleted, 2 superseded/,
	'the write and the delete a newer version refused count as superseded');
like($out, qr/repaired at version.*\n.*30 rows, 31 documents: 0 missing, 1 different, 1 extra/,
	'the second verdict still names them');
unlike($err, qr/error/i, 'superseded writes are no errors') or diag $err;
my (undef, $doc7) = $es->request('GET', "/$index/_doc/7");
is($doc7->{_source}{note}, 'from the future', 'the newer document stayed');

# Put right behind pg2es's back again, then a plain verify agrees.
$es->request('DELETE', "/$index/_doc/998?refresh=true");
$es->request('PUT', "/$index/_doc/7?version=4611686018427387905&version_type=external&refresh=true",
	{ id => 7, note => 'note 7', n => 70 });
($rc, $out, $err) = run_verify($node, $es, 'public.items');
is($rc, 0, 'verify: equal') or diag "$out\n$err";

# Nothing to repair: one verdict, no repair line.
($rc, $out, $err) = run_verify($node, $es, '--repair');
is($rc, 0, 'verify --repair on an equal index exits 0') or diag "$out\n$err";
unlike($out, qr/repaired/, 'and repairs nothing');

# Bad invocations.
($rc, $out, $err) = run_verify($node, $es, '--repair', '-o', 'versioning=off');
is($rc, 1, '--repair with versioning=off is refused');
like($err, qr/--repair needs versioned documents/, 'with a reason');
my @sync = (Pg2es::Test::forwarder_bin(), '-d', $node->connstr('postgres'), '-S', 'repairslot',
	'--es-url', $es->url, '--repair');
my ($sout, $serr) = ('', '');
IPC::Run::run(\@sync, '<', \undef, '>', \$sout, '2>', \$serr);
is($? >> 8, 1, '--repair without verify is refused');
like($serr, qr/--repair is an option of pg2es verify/, 'naming the command it belongs to');

is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
