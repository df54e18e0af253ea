
# Replays are harmless: sending a stream again leaves every index equal to
# its table and dead-letters nothing.
#
# PostgreSQL persists a slot's confirmed position only at checkpoints, so
# after a crash, and after a forwarder crash between applying a request and
# confirming it, the forwarder receives again changes that Elasticsearch
# already has, while the documents hold the effects of later changes.  Each
# change must then be a no-op.  This test makes the replay deterministic: two
# slots created together see the same stream; the forwarder syncs slot "a"
# to the end, then a second forwarder replays everything from slot "b" over
# the result (the worst case of a crash just before any confirmation).  The
# torture test (300) meets the same situations at random; these are the
# minimal cases.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es index_equals_table
  forwarder_bin);

my $es = start_es();
my $node = new_cluster('replay');
my $dir  = PostgreSQL::Test::Utils::tempdir();

my $big = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g)";
$node->safe_psql('postgres', <<"EOS");
CREATE TABLE r_trunc (id int PRIMARY KEY, v text);
CREATE TABLE r_partial (id int PRIMARY KEY, n int, big text);
CREATE TABLE r_deleted (id int PRIMARY KEY, n int, big text);
CREATE TABLE r_keymove (id int PRIMARY KEY, n int, big text);
CREATE TABLE r_txn_deleted (id int PRIMARY KEY, n int, big text);
CREATE TABLE r_txn_partials (id int PRIMARY KEY, n int, big text);
-- a row Elasticsearch never gets (written before the slots exist)
CREATE TABLE r_keylost (id int PRIMARY KEY, n int, big text);
INSERT INTO r_keylost VALUES (1, 0, $big);
SELECT 'a' FROM pg_create_logical_replication_slot('a', 'pg2es');
SELECT 'b' FROM pg_create_logical_replication_slot('b', 'pg2es');

-- a TRUNCATE followed by new rows: replaying the TRUNCATE must not delete
-- the rows inserted after it
INSERT INTO r_trunc SELECT g, 'before' FROM generate_series(1, 5) g;
TRUNCATE r_trunc;
INSERT INTO r_trunc SELECT g, 'after' FROM generate_series(1, 5) g;

-- a partial update (an unchanged TOASTed value under REPLICA IDENTITY
-- DEFAULT: an unversioned "update" item) followed by a full, versioned
-- index of the row: replaying the partial update must not make the later
-- version look older than what Elasticsearch holds
INSERT INTO r_partial VALUES (1, 0, $big);
UPDATE r_partial SET n = 1;
UPDATE r_partial SET n = 2, big = big || 'x';

-- a partial update of a row deleted later: on replay its document is
-- already gone; that is no error worth a dead letter
INSERT INTO r_deleted VALUES (1, 0, $big);
UPDATE r_deleted SET n = 1;
DELETE FROM r_deleted;

-- a key change that leaves a TOASTed value untouched: the forwarder
-- rebuilds the new document from the old one; on replay the old one is
-- gone and the partial update of the new one applies
INSERT INTO r_keymove VALUES (1, 0, $big);
UPDATE r_keymove SET id = 2;
UPDATE r_keymove SET id = 3, n = 3;

-- the same for a row whose old document Elasticsearch never had: nothing
-- to rebuild from, so the partial update's 404 is reported (dead-lettered)
UPDATE r_keylost SET id = 2;

-- in one transaction, an index, partial updates (each raises the
-- document's internal version past the transaction's version) and then a
-- delete, or a second partial update: the later items must still apply
BEGIN;
INSERT INTO r_txn_deleted VALUES (1, 0, $big);
UPDATE r_txn_deleted SET n = 1;
UPDATE r_txn_deleted SET n = 2;
DELETE FROM r_txn_deleted;
INSERT INTO r_txn_partials VALUES (1, 0, $big);
UPDATE r_txn_partials SET n = 1;
UPDATE r_txn_partials SET n = 2;
COMMIT;
EOS
my $end = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');

# Runs the forwarder on $slot until everything up to $end is confirmed.
sub forward
{
	my ($slot) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[
			forwarder_bin(), '-d', $node->connstr('postgres'), '-S', $slot,
			'--es-url', $es->url, '-E', $end,
			'--dead-letter-file', "$dir/dead-letter-$slot.ndjson"
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	ok($ok, "slot $slot: the forwarder reaches $end and exits 0")
	  or diag("$out$err");
	return;
}

# Checks every table against its index (r_keylost cannot be equal).
sub check
{
	my ($what) = @_;
	for my $t (
		qw(r_trunc r_partial r_deleted r_keymove r_txn_deleted r_txn_partials))
	{
		my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.$t')");
		my ($equal, $why) = index_equals_table($node, $es, "public.$t", $index);
		ok($equal, "$what: index of $t equals the table") or diag(substr($why, 0, 1500));
	}
	return;
}

# Whether the dead-letter file of $slot holds only r_keylost's item.
sub dead_letters_ok
{
	my ($slot) = @_;
	my $file = "$dir/dead-letter-$slot.ndjson";
	my @items = grep { /^\{"(?:index|update|delete|create)"/ }
	  split /\n/, (-e $file ? slurp_file($file) : '');
	my @unexpected = grep { !/"public\.r_keylost"/ } @items;
	is(scalar(@unexpected), 0, "slot $slot: nothing else was dead-lettered")
	  or diag(join("\n", @unexpected));
	# a key move with nothing to rebuild from cannot succeed: the decoder
	# flags it, so its 404 is reported, not dropped
	ok((grep { /^\{"update"/ } @items) == 1,
		"slot $slot: the key move of a document Elasticsearch never had is dead-lettered")
	  or diag(join("\n", @items));
	return;
}

forward('a');
check('first pass');
dead_letters_ok('a');

forward('b');
check('replayed');
dead_letters_ok('b');

done_testing();
