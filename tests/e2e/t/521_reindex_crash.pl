# A crash (SIGKILL of the forwarder, which takes its reindex worker with
# it) at each step of an online reindex, then a restart: the request
# resumes from its recorded state and ends done, the alias on the new
# generation, the index equal to the table. The worker is held at the step
# (PG2ES_TEST_REINDEX_PAUSE) so that the kill lands there. Each step has
# its own table and slot (include-tables), so that a restart only meets
# tables whose index is still the one it created.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('reindexcrash');
my $es   = start_es();

for my $step (qw(created copied switching switched))
{
	my $table = "items_$step";
	my $slot  = "crash_$step";
	$node->safe_psql('postgres', <<"EOS");
CREATE TABLE $table (id int PRIMARY KEY, note text);
INSERT INTO $table SELECT g, 'note ' || g FROM generate_series(1, 2000) g;
EOS
	my $alias = $node->safe_psql('postgres', "SELECT pg2es.index_name('$table')");
	$es->delete_index($_) for ($alias, "$alias~g1", "$alias~g2");
	my @args = ('--create-slot', '-o', "include-tables=public.$table");
	my $fwd = start_forwarder(node => $node, es => $es, slot => $slot,
		env => { PG2ES_TEST_REINDEX_PAUSE => $step }, args => \@args);
	ok(wait_until(sub { $es->count($alias) == 2000 }), "$step: the initial load stored every row");

	my $id = $node->safe_psql('postgres',
		"INSERT INTO pg2es.requests (slot_name, kind, relid, table_name)"
		  . " VALUES ('$slot', 'reindex', '$table'::regclass, 'public.$table') RETURNING id");
	ok(wait_until(sub { $fwd->log_contents =~ /reindex request $id: paused at step $step/ }),
		"$step: the worker reached the step");
	$node->safe_psql('postgres', <<"EOS");
UPDATE $table SET note = 'before crash' WHERE id % 5 = 0;
DELETE FROM $table WHERE id % 9 = 0;
UPDATE $table SET id = id + 5000 WHERE id = 7;
EOS
	$fwd->kill9;
	my $state = $node->safe_psql('postgres', "SELECT state FROM pg2es.requests WHERE id = $id");
	note("$step: killed in state $state");
	# the worker went with the forwarder: its temporary slot is gone
	ok( wait_until(
			sub {
				$node->safe_psql('postgres',
					"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg2es_load_%'") == 0;
			}),
		"$step: no copy survives the forwarder");
	$node->safe_psql('postgres', "INSERT INTO $table VALUES (99999, 'while down')");

	$fwd = start_forwarder(node => $node, es => $es, slot => $slot, args => \@args);
	ok( wait_until(
			sub {
				$node->safe_psql('postgres', "SELECT state FROM pg2es.requests WHERE id = $id")
				  =~ /^(done|failed)$/;
			}),
		"$step: the request ended after the restart");
	is($node->safe_psql('postgres', "SELECT state || coalesce(error, '') FROM pg2es.requests WHERE id = $id"),
		'done', "$step: done") or diag $fwd->log_contents;
	my $target = $node->safe_psql('postgres', "SELECT target_index FROM pg2es.requests WHERE id = $id");
	my (undef, $behind) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($alias) . '/_alias');
	is_deeply([ keys %$behind ], [$target], "$step: the alias points to the new generation alone");
	ok(wait_until(sub { my ($eq) = index_equals_table($node, $es, $table, $alias); $eq }),
		"$step: the alias equals the table")
	  or diag((index_equals_table($node, $es, $table, $alias))[1]);
	my ($rc, $out, $err) = run_verify($node, $es, '-o', "include-tables=public.$table");
	is($rc, 0, "$step: pg2es verify passes") or diag "$out\n$err";
	$fwd->stop;
}

done_testing();
