
# pg2es wait and GET /wait (issue 16): they return only once the running
# forwarder has confirmed, so stored, everything up to the LSN: while the
# engine is held (every _bulk answered 503 through the fault proxy) the
# write is not stored and the wait times out, or stays waiting; released,
# the wait returns 0 and the document is there. An idle database (WAL past
# the last commit: a checkpoint record) still gets its wait answered.
# --searchable leaves the document visible to a search at once, with the
# index's own refresh off. Bad input gets a clear error and exit 2 (400 on
# the endpoint); a slow or half-sent request blocks neither the endpoint
# nor the stream.

use strict;
use warnings;

use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use File::Basename qw(dirname);

use Pg2es::Test qw(forwarder_bin new_cluster repo_root start_es start_forwarder wait_until);

my $es   = start_es('--faults');
my $node = new_cluster('wait');
my $dir  = PostgreSQL::Test::Utils::tempdir();

$node->safe_psql('postgres', 'CREATE TABLE waited (id int PRIMARY KEY, v text)');
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.waited')");
$es->delete_index($index);

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $fw = start_forwarder(node => $node, es => $es, slot => 'waits',
	args => [ '--create-slot', '--no-initial-load', '--bulk-linger-ms', '10',
		'--metrics-port', $port, '--dead-letter-file', "$dir/dead.ndjson" ]);
my $http = HTTP::Tiny->new(timeout => 90);
my $base = "http://127.0.0.1:$port";

# The environment that hands the engine's credentials to pg2es.
sub es_env
{
	my %env = %ENV;
	$env{PG2ES_ES_USER}     = $es->{user}     if defined $es->{user};
	$env{PG2ES_ES_PASSWORD} = $es->{password} if defined $es->{password};
	$env{PG2ES_ES_API_KEY}  = $es->{api_key}  if defined $es->{api_key};
	$env{PG2ES_ES_CACERT}   = $es->{cacert}   if defined $es->{cacert};
	return %env;
}

# The command line of pg2es wait on the test cluster with @args.
sub wait_command
{
	my (@args) = @_;
	return (forwarder_bin(), 'wait', '-d', $node->connstr('postgres'), @args);
}

# Runs pg2es wait; returns (exit status, stdout, stderr).
sub run_wait
{
	my (@args) = @_;
	my @cmd = wait_command(@args);
	my %env = es_env();
	local %ENV = %env;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# Whether document $id is stored (a realtime GET: no refresh needed).
sub stored
{
	my ($id) = @_;
	my ($status) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($index) . "/_doc/$id");
	return $status == 200;
}

ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'waits' AND active") eq '1';
		}),
	'the forwarder streams') or diag $fw->log_contents;

# --- bad input: exit 2 and a message naming what is wrong ---
my ($rc, $out, $err) = run_wait('-S', 'nosuch', '--timeout', '5');
is($rc, 2, 'unknown slot: exit 2');
like($err, qr/replication slot "nosuch" does not exist/, 'unknown slot: named');
($rc, $out, $err) = run_wait('-S', 'waits', '--lsn', '16/B374Z');
is($rc, 2, 'bad LSN text: exit 2');
like($err, qr/invalid value "16\/B374Z" for --lsn/, 'bad LSN text: named');
($rc, $out, $err) = run_wait('-S', 'waits', '--timeout', 'soon');
is($rc, 2, 'bad timeout: exit 2');
like($err, qr/invalid .*"soon".*--timeout/, 'bad timeout: named');
($rc, $out, $err) = run_wait('-S', 'waits', 'extra');
is($rc, 2, 'stray argument: exit 2');
$node->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('physical')");
($rc, $out, $err) = run_wait('-S', 'physical', '--timeout', '5');
is($rc, 2, 'physical slot: exit 2');
like($err, qr/replication slot "physical" is not a logical slot/, 'physical slot: named');
{
	my @cmd = (forwarder_bin(), 'wait', '-d', 'host=/nonexistent port=1', '-S', 'waits');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	is($? >> 8, 2, 'no server: exit 2');
	like($err, qr/could not connect to PostgreSQL/, 'no server: said');
}
($rc, $out, $err) = run_wait('-S', 'waits', '--searchable');
is($rc, 2, '--searchable without an Elasticsearch URL: exit 2');
like($err, qr/no Elasticsearch URL/, '--searchable without an Elasticsearch URL: said');

# --- a write, waited for ---
$node->safe_psql('postgres', "INSERT INTO waited VALUES (1, 'first')");
($rc, $out, $err) = run_wait('-S', 'waits', '--timeout', '60');
is($rc, 0, 'wait after a write: exit 0') or diag $err;
like($out, qr/slot "waits" has confirmed \S+, at or past \S+/, 'wait says what it saw');
ok(stored(1), 'once wait returned, the document is stored');

# --- the engine held: the write cannot be stored ---
$es->fault({ kind => 'status', status => 503, count => 1_000_000 });
$node->safe_psql('postgres', "INSERT INTO waited VALUES (2, 'held')");
my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my ($bg_out, $bg_err, $curl_out) = ('', '', '');
my $bg;
{
	my @cmd = wait_command('-S', 'waits', '--timeout', '0');
	my %env = es_env();
	local %ENV = %env;
	$bg = IPC::Run::start(\@cmd, '<', \undef, '>', \$bg_out, '2>', \$bg_err);
}
my $curl = IPC::Run::start([ 'curl', '-s', '-w', ' %{http_code}', "$base/wait?lsn=$lsn&timeout=0" ],
	'<', \undef, '>', \$curl_out);
($rc, $out, $err) = run_wait('-S', 'waits', '--timeout', '3');
is($rc, 1, 'engine held: wait --timeout 3 times out with exit 1');
like($err, qr/timed out after 3 s: slot "waits" has confirmed \S+, not yet \S+/,
	'engine held: the timeout says how far the slot got');
my $res = $http->get("$base/wait?lsn=$lsn&timeout=2");
is($res->{status}, 504, 'engine held: GET /wait times out with 504');
like($res->{content}, qr/^timed out: confirmed \S+, not yet \Q$lsn\E$/m, 'engine held: 504 says why');
ok(!stored(2), 'engine held: the document is not stored');
ok($bg->pumpable, 'engine held: a wait without timeout is still waiting');
ok($curl->pumpable, 'engine held: a GET /wait without timeout is still parked');
$res = $http->get("$base/metrics");
is($res->{status}, 200, 'engine held: /metrics answers while waits are parked');

# --- released ---
$es->clear_faults;
$bg->finish;
is($? >> 8, 0, 'released: the waiting pg2es wait returns 0') or diag $bg_err;
ok(stored(2), 'released: the document is stored once wait returned');
$curl->finish;
like($curl_out, qr/^confirmed \S+\n 200$/, 'released: the parked GET /wait answers 200');

# --- an idle database: WAL past the last commit, nothing to decode ---
my $after_commit = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$node->safe_psql('postgres', 'CHECKPOINT');
my $idle_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
ok($node->safe_psql('postgres', "SELECT '$idle_lsn'::pg_lsn > '$after_commit'::pg_lsn") eq 't',
	'idle: the WAL position is past the last commit (the checkpoint record)');
($rc, $out, $err) = run_wait('-S', 'waits', '--timeout', '60');
is($rc, 0, 'idle: wait returns 0') or diag $err;
ok( $node->safe_psql('postgres',
		"SELECT confirmed_flush_lsn >= '$idle_lsn' FROM pg_replication_slots WHERE slot_name = 'waits'"
	) eq 't',
	'idle: the slot has confirmed past the WAL written after the last commit');
$res = $http->get("$base/wait?lsn=$idle_lsn&timeout=60");
is($res->{status}, 200, 'idle: GET /wait answers 200');
($rc, $out, $err) = run_wait('-S', 'waits', '--lsn', $after_commit, '--timeout', '5');
is($rc, 0, '--lsn already passed: exit 0');

# --- --searchable, with the index's own refresh off ---
my ($status) = $es->request('PUT', '/' . Pg2es::Test::ES::_path_escape($index) . '/_settings',
	{ index => { refresh_interval => '-1' } });
is($status, 200, 'the index refreshes only when asked');
$node->safe_psql('postgres', "INSERT INTO waited VALUES (3, 'searchable')");
($rc, $out, $err) = run_wait('-S', 'waits', '--searchable', '--es-url', $es->url);
is($rc, 0, 'wait --searchable: exit 0') or diag $err;
my $body;
($status, $body) = $es->request('GET',
	'/' . Pg2es::Test::ES::_path_escape($index) . '/_search?q=v:searchable');
is($status . ' ' . ($body->{hits}{total}{value} // -1), '200 1',
	'wait --searchable: a search right after finds the document');

$node->safe_psql('postgres', "INSERT INTO waited VALUES (5, 'endpoint')");
$lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$res = $http->get("$base/wait?lsn=$lsn&searchable=1");
is($res->{status}, 200, 'GET /wait&searchable=1: 200') or diag $res->{content};
like($res->{content}, qr/^confirmed \Q$lsn\E, searchable$/m, 'GET /wait&searchable=1: says so');
($status, $body) = $es->request('GET',
	'/' . Pg2es::Test::ES::_path_escape($index) . '/_search?q=v:endpoint');
is($status . ' ' . ($body->{hits}{total}{value} // -1), '200 1',
	'GET /wait&searchable=1: a search right after finds the document');

# --- GET /wait: bad input, and requests arriving in pieces ---
$res = $http->get("$base/wait?lsn=bogus");
is($res->{status}, 400, 'GET /wait?lsn=bogus: 400');
like($res->{content}, qr/invalid lsn "bogus"/, 'GET /wait?lsn=bogus: named');
$res = $http->get("$base/wait");
is($res->{status}, 400, 'GET /wait without lsn: 400');
like($res->{content}, qr/lsn is required/, 'GET /wait without lsn: said');
$res = $http->get("$base/wait?lsn=0/1&timeout=later");
is($res->{status}, 400, 'GET /wait with a bad timeout: 400');
$res = $http->get("$base/wait?lsn=0/1&when=now");
is($res->{status}, 400, 'GET /wait with an unknown parameter: 400');
like($res->{content}, qr/unknown parameter "when"/, 'GET /wait with an unknown parameter: named');
$res = $http->get("$base/wait?lsn=0%2F1");
is($res->{status}, 200, 'GET /wait with a percent-encoded lsn: 200');

my $idle_client = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
  or die "connect: $!";
my $split = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
  or die "connect: $!";
$split->syswrite("GET /wait?lsn=$lsn HT");
$res = $http->get("$base/healthz");
is($res->{status}, 200, 'a silent client and a half-sent request block nothing');
$split->syswrite("TP/1.1\r\nHost: x\r\n\r\n");
my $answer = '';
while ($split->sysread(my $chunk, 4096)) { $answer .= $chunk; }
like($answer, qr/^HTTP\/1\.1 200 OK\r\n.*\r\n\r\nconfirmed \S+\n\z/s,
	'a request sent in two pieces is answered');
close $idle_client;
close $split;

$node->safe_psql('postgres', "INSERT INTO waited VALUES (4, 'after')");
($rc, $out, $err) = run_wait('-S', 'waits', '--timeout', '60');
is($rc, 0, 'the stream goes on after all that') or diag $err;
ok(stored(4), 'and stores');

is($fw->stop, 0, 'the forwarder stops cleanly');

# --- the README's examples, run as a user would (database demo, slot pg2es) ---
my $root = repo_root();
my @blocks = slurp_file("$root/README.md") =~
  /<!-- run by tests\/e2e\/t\/540_wait\.pl -->\n```sh\n(.*?)```/gs;
is(scalar @blocks, 2, 'README has the two wait examples');
$node->safe_psql('postgres', 'CREATE DATABASE demo');
$node->safe_psql('demo', 'CREATE EXTENSION pg2es');
$node->safe_psql('demo', slurp_file("$root/sql/todos.sql"));
$es->delete_index('public.todos');
my $demo_port = PostgreSQL::Test::Cluster::get_free_port();
my $demo = start_forwarder(node => $node, es => $es, slot => 'pg2es', dbname => 'demo',
	args => [ '--create-slot', '--metrics-port', $demo_port,
		'--dead-letter-file', "$dir/demo-dead.ndjson" ]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pg2es' AND active") eq '1';
		}),
	'README: the demo forwarder streams') or diag $demo->log_contents;

# Runs README block $text in bash against the test's cluster, engine and
# metrics port. Returns (exit status, stdout, stderr).
sub run_readme_block
{
	my ($text) = @_;
	my $url = $es->url;
	$text =~ s{http://localhost:9200}{$url}g;
	$text =~ s{127\.0\.0\.1:9187}{127.0.0.1:$demo_port}g;
	my %env = es_env();
	local %ENV = %env;
	$ENV{PGHOST} = $node->host;
	$ENV{PGPORT} = $node->port;
	$ENV{PATH}   = dirname(forwarder_bin()) . ":$ENV{PATH}";
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'bash', '-e', '-o', 'pipefail' ], '<', \$text, '>', \$o, '2>', \$e);
	return ($? >> 8, $o, $e);
}

($rc, $out, $err) = run_readme_block($blocks[0]);
is($rc, 0, 'README: the pg2es wait example runs') or diag "$out\n$err";
like($out, qr/^"Read my write"$/m, 'README: its search finds the row just written');
($rc, $out, $err) = run_readme_block($blocks[1]);
is($rc, 0, 'README: the GET /wait example runs') or diag "$out\n$err";
like($out, qr/^confirmed \S+, searchable$/m, 'README: GET /wait answers once it is searchable');
my ($found, $doc) = $es->request('GET', '/public.todos/_doc/4');
ok($found == 200 && $doc->{_source}{completed}, 'README: the update is stored')
  or diag "$found " . ($doc ? JSON::PP::encode_json($doc) : '');
is($demo->stop, 0, 'README: the demo forwarder stops cleanly');

$node->stop;
done_testing();
