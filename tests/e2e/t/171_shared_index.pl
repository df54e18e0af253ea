# Two tables are never synced into one index (a TRUNCATE of one would
# delete the other's documents): the forwarder refuses to start with an
# index-names list sending two tables to one index, and with an override
# equal to another existing table's derived name, naming both tables and
# the index; a table created later whose derived name an override already
# takes stops the stream with the same message, and the other table's
# documents are left alone.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until);

my $es   = start_es();
my $node = new_cluster('shared_index');
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE ta (id int PRIMARY KEY, v text);
CREATE TABLE tb (id int PRIMARY KEY, v text);
INSERT INTO ta VALUES (1, 'a');
INSERT INTO tb VALUES (1, 'b');
EOS
$es->delete_index($_) for qw(shared public.tb public.tc);

# run_refused($label, @options): the forwarder exits 1 at start and logs
# the refusal.
sub run_refused
{
	my ($label, $want, @options) = @_;
	my $fw = start_forwarder(node => $node, es => $es, slot => 'shared',
		args => [ '--create-slot', map { ('-o', $_) } @options ]);
	ok(wait_until(sub { $fw->log_contents =~ $want }, 60),
		"$label: the log names both tables and the index")
	  or diag $fw->log_contents;
	# had it gone on running, SIGTERM would end it with 0
	sleep 1;
	my $status = $fw->stop;
	is($status >> 8, 1, "$label: the forwarder stopped with exit status 1");
	return;
}

run_refused('two overrides onto one index',
	qr/tables public\.ta and public\.tb are both mapped to index "shared"/,
	'index-names=public.ta:shared,public.tb:shared');
run_refused("an override onto another table's derived name",
	qr/tables public\.ta and public\.tb are both mapped to index "public\.tb"/,
	'index-names=public.ta:public.tb');
my ($status) = $es->request('GET', '/shared');
is($status, 404, 'no shared index was created');
($status) = $es->request('GET', '/public.tb');
is($status, 404, 'no index of the other table was created either');

# In the stream: tc is created after the start, and ta's override takes
# tc's derived name.
my $fw = start_forwarder(node => $node, es => $es, slot => 'shared_stream',
	args => [ '--create-slot', '--bulk-linger-ms', '10', '-o', 'index-names=public.ta:public.tc' ]);
ok(wait_until(sub { (eval { $es->count('public.tc') } // -1) == 1 }), 'ta is synced into its override');
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE tc (id int PRIMARY KEY, v text);
INSERT INTO tc VALUES (7, 'c');
EOS
ok( wait_until(
		sub {
			$fw->log_contents =~ /tables public\.ta and public\.tc are both mapped to index "public\.tc"/;
		},
		60),
	'the stream refuses the second table, naming both tables and the index')
  or diag $fw->log_contents;
sleep 1;
is($fw->stop >> 8, 1, 'the forwarder stopped with exit status 1');
$es->refresh('public.tc');
is($es->count('public.tc'), 1, "tc's row was not written into ta's index");

done_testing();
