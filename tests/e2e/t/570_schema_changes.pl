# Schema changes whose rows the WAL does not carry: the extension's event
# trigger asks for a request in the ALTER TABLE's transaction, which the
# running forwarder carries out at that point of the stream, and the index
# ends equal to its table (pg2es verify): ALTER COLUMN TYPE ... USING (a
# reindex), ATTACH and DETACH PARTITION (a backfill of the root's index),
# RENAME TO (a reindex, which creates the index of the new name).

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until run_verify);

my $node = new_cluster('schema_changes');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (id int PRIMARY KEY, n int);
INSERT INTO items SELECT g, g FROM generate_series(1, 200) g;
CREATE TABLE parted (id int PRIMARY KEY, note text) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
INSERT INTO parted SELECT g, 'first ' || g FROM generate_series(1, 50) g;
CREATE TABLE loose (id int PRIMARY KEY, note text);
INSERT INTO loose SELECT g, 'loose ' || g FROM generate_series(100, 149) g;
CREATE TABLE ren (id int PRIMARY KEY, note text);
INSERT INTO ren SELECT g, 'ren ' || g FROM generate_series(1, 30) g;
EOS
for my $t (qw(items parted loose ren ren2))
{
	my $alias = "public.$t";
	$es->delete_index($_) for ($alias, "$alias~g1", "$alias~g2");
}
my $fwd = start_forwarder(node => $node, es => $es, slot => 'ddl', args => ['--create-slot']);
ok(wait_until(sub { (eval { $es->count('public.items') } // -1) == 200 }), 'the initial load stored items');
# the options the slot streams with, as the forwarder records them at start
# (contract C2; recorded here while that part is not in)
$node->safe_psql('postgres', <<'EOS');
INSERT INTO pg2es.slot_options (slot_name, options) VALUES ('ddl', '{}')
ON CONFLICT (slot_name) DO NOTHING
EOS

# ddl($sql): runs the schema change; the request it made ends done; returns
# its kind and table.
sub ddl
{
	my ($sql) = @_;
	my $before = $node->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM pg2es.requests');
	$node->safe_psql('postgres', $sql);
	my $row = $node->safe_psql('postgres',
		"SELECT id || '|' || kind || '|' || table_name FROM pg2es.requests WHERE id > $before ORDER BY id LIMIT 1");
	my ($id, $kind, $table) = split /\|/, $row;
	return ('none') unless defined $id;
	ok( wait_until(sub { $node->safe_psql('postgres', "SELECT state FROM pg2es.requests WHERE id = $id") =~ /^(done|failed)$/ }, 120),
		"the $kind of $table after '$sql' ended");
	is($node->safe_psql('postgres', "SELECT state || coalesce(error, '') FROM pg2es.requests WHERE id = $id"),
		'done', "the $kind of $table is done") or diag $fwd->log_contents;
	return ($kind, $table);
}

sub verify_ok
{
	my ($table, $what) = @_;
	my ($rc, $out, $err) = run_verify($node, $es, $table);
	is($rc, 0, "verify: $table equals its index $what") or diag "$out\n$err";
}

is_deeply([ ddl("ALTER TABLE items ALTER COLUMN n TYPE text USING 'n' || n") ],
	[ 'reindex', 'public.items' ], 'ALTER COLUMN TYPE asks for a reindex');
verify_ok('public.items', 'after ALTER COLUMN TYPE ... USING');

is_deeply([ ddl('ALTER TABLE parted ATTACH PARTITION loose FOR VALUES FROM (100) TO (200)') ],
	[ 'backfill', 'public.parted' ], 'ATTACH PARTITION asks for a backfill of the root');
verify_ok('public.parted', 'after ATTACH PARTITION');

is_deeply([ ddl('ALTER TABLE parted DETACH PARTITION parted_1') ],
	[ 'backfill', 'public.parted' ], 'DETACH PARTITION asks for a backfill of the root');
verify_ok('public.parted', 'after DETACH PARTITION');

is_deeply([ ddl('ALTER TABLE ren RENAME TO ren2') ],
	[ 'reindex', 'public.ren2' ], 'RENAME TO asks for a reindex into the new name');
verify_ok('public.ren2', 'after RENAME TO');

is_deeply([ ddl('ALTER TABLE items ADD COLUMN extra int') ], ['none'], 'ADD COLUMN asks for nothing');
my ($drop_rc, $drop_out, $drop_err) = $node->psql('postgres', 'DROP TABLE ren2');
is($drop_rc, 0, 'DROP TABLE of a covered table succeeds');
like($drop_err, qr/WARNING:  pg2es: table public\.ren2 was dropped; its Elasticsearch index is kept/,
	'DROP TABLE says that the index is kept');
is($fwd->stop, 0, 'SIGTERM exits 0');

done_testing();
