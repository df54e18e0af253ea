
# Indexes behind aliases, on the real engine: a fresh start creates
# public.todos~g1 with the alias public.todos as its write index and
# _meta.pg2es; the initial load, streaming, a key change keeping a TOASTed
# value, TRUNCATE and `pg2es verify` all work through the alias (the
# concrete index is what is checked); a second start uses the alias as it
# is; a concrete index named like the alias (legacy) keeps working as it
# is; and an index name that belongs to another table is refused at start
# with a message naming both.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('aliases');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE todos (id int PRIMARY KEY, title text, body text);
ALTER TABLE todos ALTER COLUMN body SET STORAGE EXTERNAL;
INSERT INTO todos SELECT g, 'todo ' || g, repeat(md5(g::text), 300) FROM generate_series(1, 40) g;
CREATE TABLE legacy (id int PRIMARY KEY, v text);
INSERT INTO legacy VALUES (1, 'old');
EOS

$es->delete_index($_) for qw(public.todos public.legacy);
# the legacy index: made as an older pg2es made it, a concrete index
my ($status, $body) = $es->request('PUT', '/public.legacy',
	{ mappings => { properties => { v => { type => 'keyword' } } } });
is($status, 200, 'a concrete index public.legacy exists before the start');

# Waits until the concrete index equals the table; says how it differs.
sub synced
{
	my ($table, $index, $what) = @_;
	my $msg = '';
	my $ok = wait_until(
		sub {
			my ($equal, $m) = index_equals_table($node, $es, $table, $index);
			$msg = $m;
			return $equal;
		});
	ok($ok, $what) or diag $msg;
	return;
}

my $fw = start_forwarder(node => $node, es => $es, slot => 'aliases',
	args => ['--create-slot']);

synced('public.todos', 'public.todos~g1',
	'the initial load wrote the table into public.todos~g1');
($status, $body) = $es->request('GET', '/_alias/public.todos');
is($status, 200, 'public.todos is an alias');
is_deeply([ sort keys %{ $body // {} } ], ['public.todos~g1'],
	'the alias points to generation 1 alone');
ok($body->{'public.todos~g1'}{aliases}{'public.todos'}{is_write_index},
	'generation 1 is the write index of the alias');
($status, $body) = $es->request('GET', '/public.todos~g1/_mapping');
is_deeply($body->{'public.todos~g1'}{mappings}{_meta},
	{ pg2es => { table => 'public.todos', alias => 'public.todos', generation => 1 } },
	'the mapping carries _meta.pg2es');
ok(exists $body->{'public.todos~g1'}{mappings}{properties}{title},
	'and the derived mapping');

# the legacy index: used as it is, nothing created beside it
synced('public.legacy', 'public.legacy', 'the legacy index got the initial load');
($status, $body) = $es->request('GET', '/public.legacy');
is_deeply([ keys %{ $body // {} } ], ['public.legacy'],
	'public.legacy is still a concrete index');
($status) = $es->request('GET', '/public.legacy~g1');
is($status, 404, 'no generation was created beside the legacy index');
like($fw->log_contents, qr/index "public\.legacy" of table public\.legacy is a concrete index, not an alias: used as it is/,
	'the log says the legacy index is used as it is');

# streaming through the alias, then a key change keeping a TOASTed value:
# its document is rebuilt from the old one, read through the alias
$node->safe_psql('postgres', <<'EOS');
INSERT INTO todos VALUES (100, 'new', 'short');
UPDATE todos SET title = 'changed' WHERE id = 2;
DELETE FROM todos WHERE id = 3;
UPDATE todos SET id = 1000, title = 'moved' WHERE id = 1;
INSERT INTO legacy VALUES (2, 'streamed');
EOS
synced('public.todos', 'public.todos~g1',
	'inserts, updates, deletes and a key change with a TOASTed value, through the alias');
synced('public.legacy', 'public.legacy', 'streaming into the legacy index');

my ($rc, $out, $err) = run_verify($node, $es);
is($rc, 0, 'verify through the alias: equal') or diag "$out\n$err";
($status) = $es->request('DELETE', '/public.todos~g1/_doc/5?refresh=true');
($rc, $out, $err) = run_verify($node, $es, 'public.todos');
is($rc, 1, 'verify through the alias sees a document deleted behind its back');
like($out . $err, qr/\b5\b/, 'and names its _id');
$node->safe_psql('postgres', "UPDATE todos SET title = 'back' WHERE id = 5");

# TRUNCATE empties the concrete index behind the alias
$node->safe_psql('postgres', 'TRUNCATE todos; INSERT INTO todos VALUES (7, \'after\', \'x\')');
synced('public.todos', 'public.todos~g1', 'TRUNCATE through the alias');
is($es->count('public.todos~g1'), 1, 'one document left in the concrete index');
is($fw->stop >> 8, 0, 'the forwarder stops cleanly');

# a second start uses the alias as it is
$fw = start_forwarder(node => $node, es => $es, slot => 'aliases');
$node->safe_psql('postgres', "INSERT INTO todos VALUES (8, 'again', 'y')");
synced('public.todos', 'public.todos~g1', 'a second start writes through the same alias');
($status, $body) = $es->request('GET', '/_alias/public.todos');
is_deeply([ sort keys %{ $body // {} } ], ['public.todos~g1'], 'still generation 1 alone');
is($fw->stop >> 8, 0, 'the second forwarder stops cleanly');

# run_refused($label, $want, @options): the forwarder exits 1 at start and
# logs the refusal.
sub run_refused
{
	my ($label, $want, @options) = @_;
	my $fw2 = start_forwarder(node => $node, es => $es, slot => 'clash',
		args => [ '--create-slot', map { ('-o', $_) } @options ]);
	ok(wait_until(sub { $fw2->log_contents =~ $want }, 60), "$label: the log names both")
	  or diag $fw2->log_contents;
	# had it gone on running, SIGTERM would end it with 0
	sleep 1;
	is($fw2->stop >> 8, 1, "$label: the forwarder stopped with exit status 1");
	return;
}

# an existing concrete index that pg2es made for another table
$node->safe_psql('postgres', 'CREATE TABLE clash (id int PRIMARY KEY)');
($status) = $es->request('PUT', '/public.clash',
	{ mappings => { _meta => { pg2es => { table => 'public.elsewhere' } } } });
is($status, 200, 'a concrete index public.clash of table public.elsewhere');
run_refused('an index of another table',
	qr/index "public\.clash" of table public\.clash exists and belongs to table public\.elsewhere/,
	'include-tables=public.clash');

# an index name that is another table's generation
run_refused("another table's generation",
	qr/index name "public\.todos~g1" of table public\.clash is the name of generation 1 of index "public\.todos" of table public\.todos/,
	'include-tables=public.clash,public.todos', 'index-names=public.clash:public.todos~g1');
synced('public.todos', 'public.todos~g1', 'the refusals changed nothing');

done_testing();
