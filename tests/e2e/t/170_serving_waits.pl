# /metrics and /healthz answer during every wait of the forwarder, the
# start-up index creation included: against an Elasticsearch URL that
# refuses every connection (a closed port on 127.0.0.1) the forwarder
# retries the creation of the indexes, and meanwhile both endpoints answer
# at once (/healthz "not ready", /metrics with pg2es_up of Elasticsearch 0),
# for a slot to be created and for an existing slot alike. SIGTERM during
# those retries ends the forwarder promptly with status 0. The reconnect
# backoff while PostgreSQL is down answers as well.

use strict;
use warnings;

use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until);

# An "Elasticsearch" nobody listens on: a free port that stays closed.
{
	package ClosedEs;
	sub new { my ($class, $port) = @_; return bless { url => "http://127.0.0.1:$port" }, $class; }
	sub url { return $_[0]->{url}; }
}
my $es = ClosedEs->new(PostgreSQL::Test::Cluster::get_free_port());

my $node = new_cluster('serving');
$node->safe_psql('postgres', 'CREATE TABLE item (id int PRIMARY KEY, name text)');

# check_serving($label, @args): starts the forwarder with @args, waits
# until it has reported the unreachable engine, then asks both endpoints
# with a 2 s timeout, several times over the retries.
sub check_serving
{
	my ($label, $slot, @args) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $fw = start_forwarder(node => $node, es => $es, slot => $slot,
		args => [ @args, '--metrics-port', $port ]);
	ok(wait_until(sub { $fw->log_contents =~ /gave no answer.*retrying/ }, 30),
		"$label: the forwarder retries the index creation")
	  or diag $fw->log_contents;
	my $http = HTTP::Tiny->new(timeout => 2);
	for my $round (1 .. 3)
	{
		my $t0 = time();
		my $health = $http->get("http://127.0.0.1:$port/healthz");
		is($health->{status}, 503, "$label: /healthz answers \"not ready\" while retrying ($round)")
		  or diag "$health->{status} $health->{content}";
		my $metrics = $http->get("http://127.0.0.1:$port/metrics");
		is($metrics->{status}, 200, "$label: /metrics answers while retrying ($round)");
		like($metrics->{content}, qr/^pg2es_up\{end="elasticsearch"\} 0$/m,
			"$label: /metrics shows Elasticsearch down ($round)");
		sleep 1;
	}
	ok($fw->running, "$label: the forwarder is still retrying");
	my $status = $fw->stop('TERM');
	is($status, 0, "$label: SIGTERM during the retries exits 0");
	return;
}

check_serving('new slot', 'serving_new', '--create-slot');

$node->safe_psql('postgres',
	"SELECT 'init' FROM pg_create_logical_replication_slot('serving_old', 'pg2es')");
check_serving('existing slot', 'serving_old');

# The reconnect backoff while PostgreSQL is down serves them too.
my $real = start_es();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $fw = start_forwarder(node => $node, es => $real, slot => 'serving_old',
	args => [ '--metrics-port', $port ]);
my $http = HTTP::Tiny->new(timeout => 2);
ok(wait_until(sub { $fw->log_contents =~ /streaming slot "serving_old"/ }, 60),
	'backoff: the forwarder streams')
  or diag $fw->log_contents;
$node->stop('fast');
ok(wait_until(sub { $fw->log_contents =~ /reconnecting with backoff/ }, 30),
	'backoff: PostgreSQL is gone');
for my $round (1 .. 3)
{
	my $metrics = $http->get("http://127.0.0.1:$port/metrics");
	like($metrics->{content}, qr/^pg2es_up\{end="postgresql"\} 0$/m,
		"backoff: /metrics answers, PostgreSQL down ($round)");
	is($http->get("http://127.0.0.1:$port/healthz")->{status}, 503,
		"backoff: /healthz answers \"not ready\" ($round)");
	sleep 1;
}
$node->start;
is($fw->stop('TERM'), 0, 'backoff: SIGTERM exits 0');

done_testing();
