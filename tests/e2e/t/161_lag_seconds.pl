
# pg2es_lag_seconds (issue 19, defect 12): while a committed change waits
# for Elasticsearch, it tells how long it has waited; once everything is
# confirmed it is 0, not the delay of the last transaction (alerts on it
# would otherwise keep firing after an outage).

use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until);

my $es = start_es('--faults');
my $node = new_cluster('lag');
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', 'CREATE TABLE lagged (id int PRIMARY KEY, v text)');
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.lagged')");
$es->delete_index($index);

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $fw = start_forwarder(node => $node, es => $es, slot => 'lag',
	args => [ '--create-slot', '--no-initial-load', '--bulk-linger-ms', '10',
		'--metrics-port', $port, '--dead-letter-file', "$dir/dead.ndjson" ]);
my $http = HTTP::Tiny->new(timeout => 10);

# The value of metric $name, undef when /metrics does not answer.
sub metric
{
	my ($name) = @_;
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	return undef unless $res->{success} && $res->{content} =~ /^\Q$name\E (\S+)$/m;
	return $1;
}

ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lag' AND active") eq '1';
		}),
	'the forwarder streams') or diag $fw->log_contents;
$node->safe_psql('postgres', "INSERT INTO lagged VALUES (0, 'before')");
ok(wait_until(sub { $es->count($index) == 1 }), 'a first row syncs') or diag $fw->log_contents;

# Elasticsearch answers 503 to everything for a while: the row waits.
$es->fault({ kind => 'status', status => 503, count => 1_000_000, scope => 'all' });
$node->safe_psql('postgres', "INSERT INTO lagged VALUES (1, 'waits')");
my $lag;
ok(wait_until(sub { $lag = metric('pg2es_lag_seconds'); defined $lag && $lag >= 1 }, 30),
	'while a committed change waits, pg2es_lag_seconds grows')
  or diag "pg2es_lag_seconds $lag\n" . $fw->log_contents;
$es->clear_faults;

ok(wait_until(sub { $es->count($index) == 2 }), 'the row syncs once Elasticsearch answers')
  or diag $fw->log_contents;
ok(wait_until(sub { ($lag = metric('pg2es_lag_seconds') // -1) == 0 }, 30),
	'everything confirmed: pg2es_lag_seconds is 0')
  or diag "pg2es_lag_seconds $lag, pg2es_lag_bytes " . (metric('pg2es_lag_bytes') // '?');

is($fw->stop, 0, 'the forwarder stops cleanly');
$node->stop;
done_testing();
