
# The forwarder survives faults without losing or misapplying anything:
# Elasticsearch answering 429 and 503 for a while (whole requests and single
# items), connections dropped before and after a request is applied, slow
# answers, the forwarder killed with SIGKILL at random moments and
# restarted, and PostgreSQL restarted (fast and immediate).  After each,
# every index equals its table.  The random choices come from a seed that
# is printed (PG2ES_SEED=N reproduces a run).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until);

my $es = start_es('--faults');

my $seed = $ENV{PG2ES_SEED} // int(rand(1_000_000));
srand($seed);
note "seed $seed (set PG2ES_SEED=$seed to repeat)";

my $node = new_cluster('faults');
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE acct (id int PRIMARY KEY, balance int, note text);
CREATE TABLE hist (id bigserial PRIMARY KEY, acct int, delta int);
EOS
my @tables = qw(acct hist);
my %index;
for my $t (@tables)
{
	$index{$t} = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.$t')");
	$es->delete_index($index{$t});
}

my @fw_args = (
	'--bulk-max-items', '50', '--bulk-linger-ms', '10',
	'--es-timeout',     '5',  '--dead-letter-file', "$dir/dead.ndjson");
my $fw = start_forwarder(node => $node, es => $es, slot => 'faults',
	args => [ '--create-slot', @fw_args ]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'faults'") eq '1';
		}),
	'slot created');

my $next_id = 1;

# A random batch of writes in a few transactions: inserts, updates (some
# moving the key), deletes.
sub write_some
{
	my $sql = '';
	for (1 .. 3)
	{
		$sql .= "BEGIN;\n";
		for (1 .. 5 + int(rand(20)))
		{
			my $r = rand();
			if ($r < 0.5)
			{
				my $id = $next_id++;
				$sql .= "INSERT INTO acct VALUES ($id, 0, 'n$id');\n";
			}
			elsif ($r < 0.75)
			{
				my $id = 1 + int(rand($next_id));
				my $d  = int(rand(100)) - 50;
				$sql .= "UPDATE acct SET balance = balance + $d WHERE id = $id;\n"
				  . "INSERT INTO hist (acct, delta) VALUES ($id, $d);\n";
			}
			elsif ($r < 0.85)
			{
				my $id = 1 + int(rand($next_id));
				my $to = $next_id++;
				$sql .= "UPDATE acct SET id = $to WHERE id = $id;\n";
			}
			else
			{
				my $id = 1 + int(rand($next_id));
				$sql .= "DELETE FROM acct WHERE id = $id;\n";
			}
		}
		$sql .= "COMMIT;\n";
	}
	$node->safe_psql('postgres', $sql);
	return;
}

sub all_synced
{
	my ($what) = @_;
	my $msg = '';
	my $ok = wait_until(
		sub {
			for my $t (@tables)
			{
				my ($same, $why) = index_equals_table($node, $es, "public.$t", $index{$t});
				$msg = $why, return 0 unless $same;
			}
			return 1;
		});
	ok($ok, "$what: every index equals its table") or diag "seed $seed: $msg\n", $fw->log_contents;
	return;
}

my %survived;

# Elasticsearch faults, each while writes go on.
my @faults = (
	[ 'whole requests answered 429', { kind => 'status', status => 429, count => 4 } ],
	[ 'whole requests answered 503', { kind => 'status', status => 503, count => 4 } ],
	[ 'single items answered 429', { kind => 'item_status', status => 429, count => 30 } ],
	[ 'connections dropped before applying', { kind => 'drop_before', count => 3 } ],
	[ 'connections dropped after applying', { kind => 'drop_after', count => 3 } ],
	[ 'slow answers', { kind => 'delay', ms => 300, count => 5 } ]);
for my $f (@faults)
{
	my ($what, $rule) = @$f;
	my $before = $es->stats->{faults_served}{ $rule->{kind} } // 0;
	$es->fault($rule);
	write_some() for 1 .. 3;
	all_synced($what);
	my $served = ($es->stats->{faults_served}{ $rule->{kind} } // 0) - $before;
	ok($served > 0, "$what: the emulator served the fault ($served)");
	$survived{ $rule->{kind} } += $served;
	$es->clear_faults;
}
unlike($fw->log_contents, qr/retrying.*\n.*retrying.*\n.*retrying.*\n.*retrying/,
	'an outage is logged once per state change, not per retry');

# SIGKILL at random moments, during writes, and restart.
for my $round (1 .. 4)
{
	write_some();
	usleep(int(rand(300_000)));
	$fw->kill9;
	write_some();
	$fw = start_forwarder(node => $node, es => $es, slot => 'faults', args => \@fw_args);
	$survived{sigkill}++;
}
all_synced('after four SIGKILLs and restarts');

# PostgreSQL restarts under the forwarder; it reconnects and resumes.
for my $mode (qw(fast immediate))
{
	write_some();
	$node->restart(mode => $mode);
	write_some();
	all_synced("after a $mode restart of PostgreSQL");
	$survived{"pg_restart_$mode"}++;
}
like($fw->log_contents, qr/reconnecting/, 'the PostgreSQL loss was logged');

ok(!-e "$dir/dead.ndjson", 'no transient fault sent anything to the dead-letter file');
is($fw->stop('TERM'), 0, 'SIGTERM after all that: exit 0');

note 'faults survived: ' . join(', ', map { "$_=$survived{$_}" } sort keys %survived);
$node->stop;
done_testing();
