# The initial load: a forwarder that creates its slot first copies every
# covered table inside the slot's exported snapshot (rows of every type
# family, a partitioned table, a table large enough for several chunks),
# while writes go on; once the load and the stream have caught up, the
# indexes equal the tables and `pg2es verify` says so (exit 0).  Then
# verify must notice a document deleted or changed behind pg2es's back and
# name its _id.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('load');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE families (
	id int PRIMARY KEY,
	i2 smallint, i8 bigint, n numeric(12,2), nbig numeric, f8 float8, f4 real,
	b bool, tx text, vc varchar(20), ch char(3),
	ts timestamptz, tsn timestamp, d date, tm time, iv interval,
	u uuid, ip inet, j jsonb, js json, by bytea,
	ia int[], ta text[], m mood
);
INSERT INTO families
SELECT g, g % 100, g::bigint * 1000000007, g / 7.0, (10::numeric ^ 30) + g, g / 3.0, g / 9.0,
	g % 2 = 0, 'text "' || g || E'"\n\\', 'v' || g, 'c' || (g % 10),
	'2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute',
	'2024-01-01'::timestamp + g * interval '1 hour', '2024-01-01'::date + g,
	'00:00'::time + g * interval '1 second', g * interval '1 day 1 second',
	md5(g::text)::uuid, ('10.0.' || (g % 256) || '.1')::inet,
	jsonb_build_object('k', g, 'nested', jsonb_build_array(g, g + 1)), ('{"a":' || g || '}')::json,
	decode(md5(g::text), 'hex'), ARRAY[g, g + 1], ARRAY['a' || g, NULL],
	(ARRAY['sad', 'ok', 'happy']::mood[])[g % 3 + 1]
FROM generate_series(1, 3000) g;
INSERT INTO families (id) VALUES (0);

CREATE TABLE events (id bigint, region text, note text, PRIMARY KEY (id, region))
	PARTITION BY LIST (region);
CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
CREATE TABLE events_us PARTITION OF events FOR VALUES IN ('us');
INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'e' || g
FROM generate_series(1, 2000) g;

CREATE TABLE big (id int PRIMARY KEY, payload text);
INSERT INTO big SELECT g, repeat(md5(g::text), 15) FROM generate_series(1, 12000) g;
ANALYZE;
EOS

my %index;
for my $t (qw(families events big))
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
	$es->delete_index($index{$t});
}
cmp_ok($node->safe_psql('postgres',
		"SELECT pg_relation_size('big') / current_setting('block_size')::int"),
	'>', 512, 'table big spans several chunks of 256 pages');

# Writes that keep going while the load runs: updates, inserts, deletes,
# and key changes, each its own transaction.
my $script = '';
for my $i (1 .. 400)
{
	$script .= "UPDATE families SET tx = 'during $i', n = $i WHERE id = $i;\n";
	$script .= "INSERT INTO big VALUES (" . (100000 + $i) . ", 'new $i');\n";
	$script .= "DELETE FROM big WHERE id = " . (20 * $i) . ";\n";
	$script .= "UPDATE events SET region = 'eu' WHERE id = " . (2 * $i + 1) . ";\n";
}
my ($wout, $werr) = ('', '');
my $writer = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$script, '>', \$wout, '2>', \$werr);

my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'loadslot',
	args => [ '--create-slot', '--load-jobs', '2', '--bulk-max-items', '500' ]);

ok($writer->finish, 'the concurrent writes succeeded') or diag $werr;
# Caught up: the slot has confirmed everything written so far.
my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots"
				  . " WHERE slot_name = 'loadslot'") eq 't';
		}),
	'the load is done and the stream has caught up');

for my $t (qw(families events big))
{
	my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $t");
	ok(wait_until(sub { $es->count($index{$t}) == $rows }),
		"index of $t has as many documents as the table has rows");
	# (the helper's JSON decoding rounds big numbers and long floats, so
	# the table with those is left to verify's byte-exact comparison below)
	next if $t eq 'families';
	my ($eq, $msg) = index_equals_table($node, $es, $t, $index{$t});
	ok($eq, "index of $t equals the table after the load and the stream")
	  or diag $msg;
}
my $log = $fwd->log_contents;
like($log, qr/created the slot at/, 'the slot was created with a snapshot');
# A row nobody wrote during the load carries the slot's consistent point.
my ($hi, $lo) = $log =~ m{created the slot at ([0-9A-F]+)/([0-9A-F]+)};
my (undef, $doc) = $es->request('GET', "/$index{big}/_doc/1");
is($doc->{_version}, hex($hi) * 2**32 + hex($lo),
	'a copied document is versioned with the consistent point');
like($log, qr/table public\.big loaded: \d+ rows/, 'the load reports a finished table');
like($log, qr/initial load done: 3 table/, 'the load covers the three tables');
is($node->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE done) || '/' || count(*) FROM pg2es.load_state"
		  . " WHERE slot_name = 'loadslot'"),
	'3/3', 'load_state records every table done');

my ($rc, $out, $err) = run_verify($node, $es);
is($rc, 0, 'verify: the indexes equal the tables') or diag "$out\n$err";
like($out, qr/public\.big .*equal/, 'verify reports each table');

# A document deleted behind pg2es's back: missing, named.
my $gone = '77';
my ($status) = $es->request('DELETE', "/$index{families}/_doc/$gone?refresh=true");
is($status, 200, 'a document is deleted directly in Elasticsearch');
($rc, $out, $err) = run_verify($node, $es, 'public.families');
is($rc, 1, 'verify exits 1 when a document is missing') or diag "$out\n$err";
like($out, qr/missing.*\b$gone\b/s, 'verify names the missing _id');

# A changed document: different, named; a document of no row: extra, named.
($status) = $es->request('PUT', "/$index{families}/_doc/$gone?refresh=true", { id => 77, tx => 'changed' });
($status) = $es->request('PUT', "/$index{big}/_doc/999999?refresh=true", { id => 999999 });
($rc, $out, $err) = run_verify($node, $es);
is($rc, 1, 'verify exits 1 when a document differs') or diag "$out\n$err";
like($out, qr/different.*\b$gone\b/s, 'verify names the different _id');
like($out, qr/extra.*\b999999\b/s, 'verify names the extra _id');
like($out, qr/public\.events .*equal/, 'the other tables are still equal');

is($fwd->stop, 0, 'the forwarder stops cleanly');
done_testing();
