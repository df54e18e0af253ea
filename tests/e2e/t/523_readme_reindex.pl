# The README's section "Changing a mapping without downtime": its SQL block
# (marked "run by tests/e2e/t/523_readme_reindex.pl") runs as shown and
# reports a request the running forwarder carried out.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(repo_root new_cluster start_es start_forwarder wait_until);

my $readme = slurp_file(repo_root() . '/README.md');
my @blocks;
push @blocks, $1
  while $readme =~ /<!-- run by tests\/e2e\/t\/523_readme_reindex\.pl -->\n```sql\n(.*?)```/gs;
is(scalar @blocks, 1, 'README has the request-watching block');

my $node = new_cluster('readmereindex');
my $es   = start_es();
$node->safe_psql('postgres', 'CREATE TABLE todos (id int PRIMARY KEY, title text)');
$node->safe_psql('postgres', "INSERT INTO todos VALUES (1, 'one'), (2, 'two')");
my $alias = $node->safe_psql('postgres', "SELECT pg2es.index_name('todos')");
$es->delete_index($_) for ($alias, "$alias~g1");
my $fwd = start_forwarder(node => $node, es => $es, slot => 'pg2es', args => ['--create-slot']);
ok(wait_until(sub { $es->count($alias) == 2 }), 'the initial load stored the rows');
$node->safe_psql('postgres',
	"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
	  . " VALUES ('pg2es', 'reindex', 'todos'::regclass, 'public.todos')");
ok(wait_until(sub { $node->safe_psql('postgres', $blocks[0]) =~ /\|done\|/ }),
	'the README query shows the request done')
  or diag $node->safe_psql('postgres', $blocks[0]);
like($node->safe_psql('postgres', $blocks[0]), qr/^1\|reindex\|public\.todos\|done\|\Q$alias\E~g2\|$/m,
	'with its kind, table, state and target index');
$fwd->stop;
done_testing();
