# Publications choose what syncs (-o publications=...): a table published
# with a row filter and a column list is loaded and streamed while writes
# go on (updates that leave and enter the filter, deletes, inserts); the
# index then holds exactly the filtered, projected rows, and `pg2es verify`
# says so and notices a document removed behind pg2es's back.  A table
# whose publication does not publish delete keeps its deleted rows'
# documents, which verify reports as expected.  A publication that does
# not exist stops the forwarder at start, before any slot is created.
# Last, the example of the README's "Choosing what syncs", run as shown.

use strict;
use warnings;

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Text::ParseWords qw(shellwords);

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until run_verify
  json_canonical repo_root forwarder_bin);
use Pg2es::HA qw(wait_slot_caught_up);

my $node = new_cluster('publications');
my $es   = start_es();

plan skip_all => 'row filters and column lists need PostgreSQL 15 or later'
  if $node->safe_psql('postgres', 'SHOW server_version_num') < 150000;

# The filter and the column list use the key's columns only, as PostgreSQL
# requires of a publication that publishes update and delete.
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE orders (id int, region text, amount int, secret text,
	PRIMARY KEY (id, region));
INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN 'eu' ELSE 'us' END, g, 's' || g
FROM generate_series(1, 3000) g;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g;
CREATE TABLE unpublished (id int PRIMARY KEY);
INSERT INTO unpublished VALUES (1);
CREATE PUBLICATION pub_eu FOR TABLE orders (id, region, amount) WHERE (region = 'eu');
CREATE PUBLICATION pub_keep FOR TABLE notes WITH (publish = 'insert, update');
EOS

my @opts = ('publications=pub_eu,pub_keep');
my $optlit = "ARRAY['publications=pub_eu,pub_keep']";
my %index;
for my $t (qw(orders notes unpublished))
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
	$es->delete_index($index{$t});
}
is($node->safe_psql('postgres',
		"SELECT string_agg(t::regclass::text, ',' ORDER BY 1) FROM pg2es.covered_tables($optlit) t"),
	'notes,orders', 'the publications cover orders and notes, not the unpublished table');

# Writes while the load runs, each its own transaction: rows moving out of
# the filter (eu -> us: their documents go), into it (us -> eu: indexed),
# updates inside and outside it, deletes and inserts on both sides.
my $script = '';
for my $i (1 .. 300)
{
	my $eu = 3 * $i;            # an eu row
	my $us = 3 * $i + 1;        # a us row
	$script .= "UPDATE orders SET region = 'us' WHERE id = $eu AND $i % 4 = 0;\n";
	$script .= "UPDATE orders SET region = 'eu' WHERE id = $us AND $i % 5 = 0;\n";
	$script .= "UPDATE orders SET amount = amount + 1000 WHERE id IN ($eu, $us);\n";
	$script .= "DELETE FROM orders WHERE id = " . (3 * $i + 2) . ";\n";
	$script .= "DELETE FROM orders WHERE id = $eu AND $i % 7 = 0;\n";
	$script .= "INSERT INTO orders VALUES (" . (10000 + $i) . ", '"
	  . ($i % 2 ? 'eu' : 'us') . "', $i, 'new');\n";
}
my ($wout, $werr) = ('', '');
my $writer = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$script, '>', \$wout, '2>', \$werr);

my $fwd = start_forwarder(
	node => $node,
	es   => $es,
	slot => 'pubslot',
	args => [ '--create-slot', '--load-jobs', '2', map { ('-o', $_) } @opts ]);

ok($writer->finish, 'the concurrent writes succeeded') or diag $werr;
# after the slot's consistent point, so that the load copies these rows
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots"
				  . " WHERE slot_name = 'pubslot'") eq 't';
		}),
	'the forwarder created its slot');
$node->safe_psql('postgres', 'DELETE FROM notes WHERE id <= 5');

ok(wait_slot_caught_up($node, 'pubslot'), 'the load is done and the stream has caught up')
  or diag $fwd->log_contents;
# unfiltered, well over 2000 rows would be copied; the filter passes at most 1210
like($fwd->log_contents, qr/table public\.orders loaded: (\d+) rows/, 'orders was loaded');
my ($loaded) = $fwd->log_contents =~ /table public\.orders loaded: (\d+) rows/;
cmp_ok($loaded // 0, '<=', 1210, 'the load copied only the rows the filter passes');

# The index against the table, computed here without pg2es's functions:
# the documents must be exactly the eu rows, without the unpublished column.
my $want = $node->safe_psql('postgres',
	"SELECT json_build_object('id', id, 'region', region, 'amount', amount)"
	  . " FROM orders WHERE region = 'eu'");
my @want = sort map { json_canonical($_) } split /\n/, $want;
$es->refresh($index{orders});
my @have = sort map { json_canonical($_) } values %{ $es->all_docs($index{orders}) };
cmp_ok(scalar(@want), '>', 900, 'the filter passes the eu rows, some moved in or out');
is(scalar(@have), scalar(@want), 'the index holds as many documents as the filter passes rows');
is_deeply(\@have, \@want, 'the index equals the filtered, projected table');
is(($es->request('HEAD', '/' . Pg2es::Test::ES::_path_escape($index{unpublished})))[0],
	404, 'the unpublished table has no index');

my ($status, $out, $err) = run_verify($node, $es, (map { ('-o', $_) } @opts), 'public.orders');
is($status, 0, 'verify: orders equals its index') or diag "$out\n$err";
like($out, qr/\d+ rows, \d+ documents: equal/, 'verify compares the filtered rows only');

# deleted rows of a table published without delete keep their documents
is(scalar(keys %{ $es->all_docs($index{notes}) }), 50,
	'the notes deleted under publish = insert, update keep their documents');
($status, $out, $err) = run_verify($node, $es, (map { ('-o', $_) } @opts), 'public.notes');
is($status, 0, 'verify: the kept documents are not a difference') or diag "$out\n$err";
like($out, qr/45 rows, 50 documents: 0 missing, 0 different, 5 extra/, 'verify counts them');
like($out, qr/kept on purpose: no publication of this table publishes delete/,
	'verify says why they are kept');

# a document lost behind pg2es's back is noticed
my ($id) = sort keys %{ $es->all_docs($index{orders}) };
$es->request('DELETE', '/' . Pg2es::Test::ES::_path_escape($index{orders}) . '/_doc/'
	  . Pg2es::Test::ES::_path_escape($id) . '?refresh=true');
($status, $out, $err) = run_verify($node, $es, (map { ('-o', $_) } @opts), 'public.orders');
is($status, 1, 'verify fails once a document is missing');
like($out, qr/1 missing, 0 different, 0 extra/, 'verify names the missing document');

# A table added to the publication mid-stream: its index is created and
# its existing rows are loaded (a backfill request), its new ones streamed.
SKIP:
{
	skip 'the database has no pg2es.requests (online backfill)', 5
	  unless $node->safe_psql('postgres',
		"SELECT to_regclass('pg2es.requests') IS NOT NULL") eq 't';
	$node->safe_psql('postgres', <<'EOS');
CREATE TABLE late (id int PRIMARY KEY, v text);
INSERT INTO late SELECT g, 'before ' || g FROM generate_series(1, 200) g;
ALTER PUBLICATION pub_eu ADD TABLE late;
INSERT INTO late VALUES (1000, 'after');
UPDATE late SET v = 'changed' WHERE id = 1;
EOS
	my $late = $node->safe_psql('postgres',
		"SELECT pg2es.index_name('late', $optlit)");
	ok(wait_until(sub { $es->count($late) == 201 }),
		'the added table\'s existing and new rows are in its index')
	  or diag $fwd->log_contents;
	ok( wait_until(
			sub {
				$node->safe_psql('postgres',
					"SELECT state FROM pg2es.requests WHERE kind = 'backfill'"
					  . " AND relid = 'late'::regclass AND slot_name = 'pubslot'") eq 'done';
			}),
		'the forwarder asked for its backfill, which is done');
	like($fwd->log_contents, qr/late is now published to slot "pubslot"/,
		'the forwarder says why it loads the table');
	($status, $out, $err) = run_verify($node, $es, (map { ('-o', $_) } @opts), 'public.late');
	is($status, 0, 'verify: the added table equals its index') or diag "$out\n$err";
	like($out, qr/201 rows, 201 documents: equal/, 'with the change made after the addition');
}

is($fwd->stop, 0, 'the forwarder stops cleanly');

# A publication that does not exist: a clear error at start, no slot made.
my ($bout, $berr) = ('', '');
my $ran = eval {
	IPC::Run::run(
		[ forwarder_bin(), '-d', $node->connstr('postgres'), '-S', 'badslot',
		  '--es-url', $es->url, '--create-slot', '-o', 'publications=pub_eu,nosuch' ],
		'<', \undef, '>', \$bout, '2>', \$berr,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	1;
};
ok($ran, 'the forwarder stops at once') or diag $@;
isnt($? >> 8, 0, 'with a failure status');
like($berr, qr/publication "nosuch" does not exist/, 'its log names the missing publication');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'badslot'"),
	'0', 'no slot was created');
($status, $out, $err) = run_verify($node, $es, '-o', 'publications=nosuch');
is($status, 2, 'verify with a missing publication is an error');
like($err, qr/publication "nosuch" does not exist/, 'verify names it');

# The README's example: its SQL in database demo, then its two commands
# (the sync, stopped once the document is there, and verify) with the
# test's cluster and engine in place of the README's.
my $readme = slurp_file(repo_root() . '/README.md');
my @blocks;
push @blocks, [ $1, $2 ] while $readme =~
  /<!-- run by tests\/e2e\/t\/560_publications\.pl -->\n```(\w+)\n(.*?)```/gs;
is(scalar @blocks, 2, 'the README has the SQL and the commands of its example');
my ($doc_text) = $readme =~ /holds one document, `(\{.*?\})`/s;
ok(defined $doc_text, 'the README shows the document the example gives');
$doc_text =~ s/\n\s*//g if defined $doc_text;
$node->safe_psql('postgres', 'CREATE DATABASE demo');
$node->safe_psql('demo', 'CREATE EXTENSION pg2es');
$node->safe_psql('demo', $blocks[0][1]);
$es->delete_index('public.tickets');
my @commands;
for my $line (split /(?<!\\)\n/, $blocks[1][1])
{
	$line =~ s/\\\n/ /g;
	my @argv = shellwords($line);
	next unless @argv && $argv[0] eq 'pg2es';
	$argv[0] = forwarder_bin();
	for my $i (1 .. $#argv - 1)
	{
		$argv[ $i + 1 ] = $node->connstr('demo') if $argv[$i] eq '-d';
		$argv[ $i + 1 ] = $es->url if $argv[$i] eq '--es-url';
	}
	push @commands, \@argv;
}
is(scalar @commands, 2, 'the example has a sync and a verify command');
my $log = PostgreSQL::Test::Utils::tempdir() . '/readme.log';
my $sync = IPC::Run::start($commands[0], '<', \undef, '>>', $log, '2>>', $log);
ok(wait_until(sub { $es->count('public.tickets') == 1 }), 'the example syncs one document')
  or diag slurp_file($log);
$sync->signal('TERM');
$sync->finish;
is_deeply([ map { json_canonical($_) } values %{ $es->all_docs('public.tickets') } ],
	[ json_canonical($doc_text // '{}') ], 'the document is the one the README shows');
my ($vout, $verr) = ('', '');
IPC::Run::run($commands[1], '<', \undef, '>', \$vout, '2>', \$verr);
is($? >> 8, 0, "the example's verify passes") or diag "$vout\n$verr";
like($vout, qr/public\.tickets -> index "public\.tickets": 1 rows, 1 documents: equal/,
	'verify compares the filtered, projected rows');

done_testing();
