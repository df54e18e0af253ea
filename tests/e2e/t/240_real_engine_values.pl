# Values and tables that real Elasticsearch and OpenSearch refuse when pg2es
# sends them naively (issue 12): columns named like metadata fields
# (_id, _source, ...), ranges whose bounds cross after the engine's rounding
# (an exclusive bound moved by one unit, timestamps cut to milliseconds), a
# numeric of 10^1000 (over the JSON parser's 1000 characters) and one beyond
# a double's range, a table of 500 text columns (1001 fields with their
# keyword sub-fields: over index.mapping.total_fields.limit), jsonb values
# and composite values nested deeper than index.mapping.depth.limit (20).
# Each is written once by the initial load and once by the stream; every
# index must then equal its table, `pg2es verify` must agree, and nothing
# may be dead-lettered.  Then TRUNCATEs in a row must leave no scroll
# context open on the cluster (real engines allow 500 per node).
#
# Written against a real OpenSearch 2.19 (make check's engine, or ES_URL);
# the emulator does what it checks too (dynamic templates and disabled
# objects, the total-fields setting in GET _settings, term queries on
# ranges), held to the real engine by tests/conformance.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $es   = start_es();
my $node = new_cluster('realvalues');
my $dir  = PostgreSQL::Test::Utils::tempdir();
my $dead = "$dir/dead.ndjson";

# composite types nested 22 deep: nest1 (v int), nest2 (n nest1), ...
my $types = "CREATE TYPE nest1 AS (v int, _id text);\n";
$types .= "CREATE TYPE nest$_ AS (v int, n nest" . ($_ - 1) . ");\n" for 2 .. 22;
my $nestval = "ROW(1, 'x')::nest1";
$nestval = "ROW($_, $nestval)::nest$_" for 2 .. 22;
# a jsonb object nested 50 deep, with a scalar at every level
my $deepjson = '{"leaf": 1}';
$deepjson = "{\"l$_\": $deepjson, \"v$_\": $_}" for 1 .. 50;
my $wide_cols = join(', ', map { "c$_ text" } 1 .. 500);

$node->safe_psql('postgres', <<"EOS");
CREATE TABLE meta_cols (id int PRIMARY KEY, _id text, _source text, _routing text,
	_version int, _index text, _ignored text, _field_names text, __id text,
	_doc_count int, _seq_no int, _foo text);
CREATE TYPE intr AS RANGE (subtype = int4);
CREATE TYPE f8r AS RANGE (subtype = float8);
CREATE TABLE ranges (id int PRIMARY KEY, i4 int4range, ir intr, f8 f8r, n numrange,
	d daterange, ts tsrange, tz tstzrange, tzm tstzmultirange, net cidr);
-- (a column named r, as verify's row alias: r.* is the row)
CREATE TABLE bignum (id int PRIMARY KEY, n numeric, a numeric[], j jsonb, r numrange);
CREATE TABLE wide (id int PRIMARY KEY, $wide_cols);
$types
CREATE TABLE deep (id int PRIMARY KEY, j jsonb, c nest22);
EOS

# Rows $base + 1 .. $base + 3 of every table.
sub insert_rows
{
	my ($base) = @_;
	my ($a, $b, $c) = ($base + 1, $base + 2, $base + 3);
	my $wide_vals = join(', ', map { "'w$_ ' || g" } 1 .. 500);
	$node->safe_psql('postgres', <<"EOS");
INSERT INTO meta_cols SELECT g, 'id' || g, 'src' || g, 'r', g, 'x', 'ig', 'fn', 'ii', 2, 3, 'foo'
FROM generate_series($a, $c) g;
INSERT INTO ranges VALUES
	($a, '[1,2)', '(1,2)', '(1,1.0000000000000002)', '(1,2)', '[2024-01-01,2024-01-02)',
	 '("2024-01-01 00:00:00.0001","2024-01-01 00:00:00.0009")',
	 '("2024-01-01 00:00:00.0001+00","2024-01-01 00:00:00.0009+00")',
	 '{("2024-01-01 00:00:00.0001+00","2024-01-01 00:00:00.0009+00")}', '10.0.0.0/8'),
	($b, '(1,3)', '(1,3)', '(1,2)', '(1.00000000000000000001,1.00000000000000000002)',
	 '(2024-01-01,2024-01-03)', '("2024-01-01 00:00:00.000001","2024-01-01 00:00:00.000002")',
	 tstzrange(now(), clock_timestamp(), '()'), '{}', '2001:db8::/32'),
	($c, '(,)', '[1,2)', '[1,1.0000000000000002)', '(1,)', '(,2024-01-01)',
	 '("2024-01-01 10:00","2024-01-01 11:00")',
	 '("2024-01-01 10:00+00","2024-01-01 11:00:00.0005+00"]', NULL, '192.168.0.0/24');
INSERT INTO bignum VALUES
	($a, ('1' || repeat('0', 1000))::numeric, ARRAY[('1' || repeat('0', 1000))::numeric, 1],
	 ('{"big": 1' || repeat('0', 1000) || ', "small": 1}')::jsonb,
	 numrange(-('1' || repeat('0', 1000))::numeric, ('1' || repeat('0', 400))::numeric)),
	($b, ('1' || repeat('0', 400))::numeric, ARRAY[-('1' || repeat('0', 400))::numeric],
	 '{"small": 2}', numrange(('1' || repeat('0', 400))::numeric, NULL)),
	($c, 1.5, ARRAY[2.5], '{"small": 3}', numrange(1, 2, '()'));
INSERT INTO wide SELECT g, $wide_vals FROM generate_series($a, $c) g;
INSERT INTO deep SELECT g, '$deepjson'::jsonb, $nestval FROM generate_series($a, $c) g;
EOS
	return;
}

my @tables = qw(meta_cols ranges bignum wide deep);
my %index;
for my $t (@tables)
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
	$es->delete_index($index{$t});
}

# Rows 1-3 come through the initial load, rows 11-13 through the stream.
insert_rows(0);
my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'realvalues',
	args => [ '--create-slot', '--dead-letter-file', $dead ]);
ok( wait_until(sub { $fwd->log_contents =~ /initial load done/ }),
	'the initial load is done')
  or diag $fwd->log_contents;
insert_rows(10);

my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots"
				  . " WHERE slot_name = 'realvalues'") eq 't';
		}),
	'the stream has caught up (everything confirmed)');
for my $t (@tables)
{
	ok(wait_until(sub { $es->count($index{$t}) == 6 }, 30),
		"index of $t holds all 6 rows")
	  or diag "count " . $es->count($index{$t}) . "\n" . $fwd->log_contents;
	my ($eq, $msg) = index_equals_table($node, $es, $t, $index{$t});
	ok($eq, "index of $t equals the table") or diag $msg;
}
ok(!-s $dead, 'nothing was dead-lettered')
  or diag(-e $dead ? slurp_file($dead) . slurp_file("$dead.errors") : '');

# What made them land, as the engine shows it.
my (undef, $doc) = $es->request('GET', "/$index{meta_cols}/_source/11");
is_deeply([ @$doc{qw(__id __source ___id _foo)} ], [ 'id11', 'src11', 'ii', 'foo' ],
	'metadata-named columns are fields with one more leading underscore');
(undef, $doc) = $es->request('GET', "/$index{bignum}/_source/11");
is(length($doc->{n}), 1001, '10^1000 is kept whole in _source, as a string');
# (the answer is keyed by the concrete index behind the alias)
my (undef, $settings) = $es->request('GET', "/$index{wide}/_settings");
my ($wide_settings) = values %{ $settings // {} };
is($wide_settings->{settings}{index}{mapping}{total_fields}{limit}, '2001',
	'the 500-column table got its index with the fields limit raised');
like($fwd->log_contents,
	qr/index "\Q$index{wide}\E" is created with index\.mapping\.total_fields\.limit 2001/,
	'and the log says so');
my (undef, $found) = $es->request('POST', "/$index{deep}/_search",
	{ query => { term => { 'j.v50' => 50 } } });
is($found->{hits}{total}{value}, 6, 'the shallow part of a deep jsonb value is searchable');
(undef, $found) = $es->request('POST', "/$index{ranges}/_search",
	{ query => { term => { tz => '2024-01-01T00:00:00.0005Z' } } });
is($found->{hits}{total}{value}, 2,
	'a timestamp inside a range whose bounds share a millisecond is found in it');

my ($rc, $out, $err) = run_verify($node, $es, map { "public.$_" } @tables);
is($rc, 0, 'verify: every index equals its table') or diag "$out\n$err";

# TRUNCATE, many times: every scroll it opens is cleared.
sub open_scrolls
{
	my (undef, $stats) = $es->request('GET', '/_nodes/stats/indices/search');
	my $n = 0;
	$n += $_->{indices}{search}{scroll_current} for values %{ $stats->{nodes} };
	return $n;
}
# (scrolls other runs left open on a shared cluster may expire meanwhile)
my $scrolls_before = open_scrolls();
for my $round (1 .. 3)
{
	insert_rows(100 * $round);
	$node->safe_psql('postgres', 'TRUNCATE meta_cols, ranges');
}
ok( wait_until(
		sub {
			my @done = $fwd->log_contents =~ /emptied the indexes of a truncated table/g;
			@done >= 3;
		}),
	'the three TRUNCATEs are done');
ok(wait_until(sub { $es->count($index{ranges}) == 0 && $es->count($index{meta_cols}) == 0 }),
	'the truncated indexes are empty');
cmp_ok(open_scrolls(), '<=', $scrolls_before, 'and no scroll context is left open');

is($fwd->stop, 0, 'the forwarder stops');
ok(!-s $dead, 'still nothing dead-lettered');
done_testing();
