
# The plugin's plain output is a valid _bulk body as it stands:
# `pg_recvlogical -P pg2es` output (one message per line) posted to _bulk
# leaves every index equal to its table after inserts, updates, key changes
# and deletes.  No forwarder involved: this pins the decoder's contract
# (docs/design.md, "Bulk items the plugin emits") against Elasticsearch's
# rules -- the emulator's, or a real cluster's when ES_URL is set.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es index_equals_table);

my $node = new_cluster('recvlogical');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE items (
	id int PRIMARY KEY,
	name text,
	price numeric,
	tags text[],
	seen timestamptz,
	attrs jsonb
);
CREATE TABLE pairs (
	a int,
	b text,
	note text,
	PRIMARY KEY (a, b)
);
EOS

my %index;
for my $table (qw(items pairs))
{
	$index{$table} = $node->safe_psql('postgres',
		"SELECT pg2es.index_name('public.$table')");
	$es->delete_index($index{$table});
}

my $connstr = $node->connstr('postgres');
my ($stdout, $stderr);
ok( IPC::Run::run(
		[
			'pg_recvlogical', '-d', $connstr, '-S', 'recv',
			'--create-slot',  '-P', 'pg2es'
		],
		'>', \$stdout, '2>', \$stderr),
	'pg_recvlogical creates a pg2es slot')
  or diag $stderr;

my $round = 0;

# Streams the slot up to the current WAL position with pg_recvlogical and
# posts the output to _bulk.  Returns the decoded _bulk response (undef
# when there was no output).
sub stream_and_post
{
	my ($what) = @_;
	$round++;
	my $endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
	my $file   = "$dir/round$round.ndjson";
	my ($out, $err);
	my $ok = IPC::Run::run(
		[
			'pg_recvlogical', '-d', $connstr, '-S', 'recv', '--start',
			'--no-loop', '-E', $endpos, '-f', $file
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	ok($ok, "$what: pg_recvlogical streams to $endpos") or diag $err;
	my $body = -e $file ? slurp_file($file) : '';
	return undef unless length $body;
	like($body, qr/\n\z/, "$what: the output ends with a newline");
	my ($status, $resp, $raw) = $es->request('POST', '/_bulk', $body);
	is($status, 200, "$what: _bulk accepts the output") or diag $raw;
	my @failed = grep { exists $_->{error} }
	  map { (values %$_)[0] } @{ $resp->{items} // [] };
	is(scalar(@failed), 0, "$what: no item failed")
	  or diag explain $failed[0];
	ok(!$resp->{errors}, "$what: errors is false");
	return $resp;
}

# Checks every table against its index.
sub indexes_match
{
	my ($what) = @_;
	for my $table (qw(items pairs))
	{
		my ($equal, $why) =
		  index_equals_table($node, $es, "public.$table", $index{$table});
		ok($equal, "$what: index of $table equals the table") or diag $why;
	}
}

# Inserts, including values whose JSON and _id encodings need care.  (The
# jsonb values all are objects: with dynamic mapping, as in Elasticsearch,
# a jsonb column whose rows hold different JSON shapes fails.)
$node->safe_psql('postgres', <<'EOS');
INSERT INTO items
SELECT g, 'item ' || g, g * 1.25, ARRAY['t' || g, 'common'],
	'2024-02-15 16:00:00+00'::timestamptz + g * interval '1 hour',
	jsonb_build_object('n', g, 'even', g % 2 = 0)
FROM generate_series(1, 40) g;
INSERT INTO items VALUES
	(41, E'quote " backslash \\ newline \n tab \t', NULL, '{}', NULL, 'null'),
	(42, 'unicode é ☃ 😀', -0.5, ARRAY[NULL, 'x'], 'infinity',
	 '{"n": 42, "list": ["a", "b"], "deep": {"k": null}}');
INSERT INTO pairs VALUES
	(1, 'plain', 'a'), (1, 'with|bar', 'b'), (1, 'with\back', 'c'),
	(2, 'with\|both', 'd'), (2, '', 'empty text key');
EOS
my $resp = stream_and_post('inserts');
is(scalar(@{ $resp->{items} }), 47, 'inserts: one bulk item per row');
indexes_match('inserts');

# Updates, key changes (delete of the old _id, then the new document),
# several changes to one row in one transaction, deletes.
$node->safe_psql('postgres', <<'EOS');
UPDATE items SET name = name || ' updated', price = price * 2 WHERE id % 3 = 0;
UPDATE items SET id = id + 1000 WHERE id <= 5;
BEGIN;
UPDATE items SET name = 'first' WHERE id = 10;
UPDATE items SET name = 'second' WHERE id = 10;
UPDATE items SET id = 2010 WHERE id = 10;
COMMIT;
BEGIN;
INSERT INTO items VALUES (500, 'short-lived');
DELETE FROM items WHERE id = 500;
COMMIT;
DELETE FROM items WHERE id BETWEEN 20 AND 25;
UPDATE pairs SET b = 'renamed|key' WHERE b = 'plain';
UPDATE pairs SET note = 'changed' WHERE a = 2;
DELETE FROM pairs WHERE b = 'with\back';
EOS
stream_and_post('changes');
indexes_match('changes');

# A deleted row's _id is gone, a moved key's old _id too.
for my $id (qw(1 10 20 500))
{
	my ($status) = $es->request('GET', "/$index{items}/_doc/$id");
	is($status, 404, "document $id is gone");
}

# Replaying is harmless: a second pass over nothing new posts nothing.
is(stream_and_post('no changes'), undef, 'no new changes, no output');
indexes_match('final');

$es->delete_index($index{$_}) for keys %index;
$es->stop;
done_testing();
