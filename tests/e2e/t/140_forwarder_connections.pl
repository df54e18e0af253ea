
# How the forwarder reaches Elasticsearch and what it leaves behind: HTTPS
# with certificate verification (a wrong CA is refused), basic auth with the
# password from the environment (never logged), gzip bodies, an API key,
# failover from a dead node to a live one, JSON logs, --endpos for a
# deterministic run, and resident memory under 64 MB with the default
# settings while a large transaction streams through.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until require_emulator);

my $probe = start_es();
require_emulator($probe);
$probe->stop;

my $dir = PostgreSQL::Test::Utils::tempdir();

# A test CA, a server certificate for 127.0.0.1 signed by it, and an
# unrelated CA.
sub openssl
{
	my @args = @_;
	my ($out, $err);
	IPC::Run::run([ 'openssl', @args ], '>', \$out, '2>', \$err)
	  or BAIL_OUT("openssl @args: $err");
	return;
}
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
	'-keyout', "$dir/ca.key", '-out', "$dir/ca.pem", '-subj', '/CN=pg2es test CA');
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
	'-keyout', "$dir/other.key", '-out', "$dir/other.pem", '-subj', '/CN=other CA');
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$dir/server.key",
	'-out', "$dir/server.csr", '-subj', '/CN=127.0.0.1');
append_to_file("$dir/san.ext", "subjectAltName=IP:127.0.0.1\n");
openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.pem",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', '2',
	'-extfile', "$dir/san.ext", '-out', "$dir/server.pem");

my $password = 'Pa55-for-pg2es-test';
my $tls = start_es('--force-emulator', '--tls-cert', "$dir/server.pem", '--tls-key',
	"$dir/server.key", '--user', 'elastic', '--password', $password);
like($tls->url, qr{^https://}, 'emulator serves HTTPS');

my $node = new_cluster('connections');
$node->safe_psql('postgres', 'CREATE TABLE t (id int PRIMARY KEY, v text)');
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.t')");

sub synced
{
	my ($es) = @_;
	my ($same, $why);
	my $ok = wait_until(sub { ($same, $why) = index_equals_table($node, $es, 'public.t', $index); $same },
		60);
	diag $why unless $ok;
	return $ok;
}

# HTTPS, basic auth (user and password from the environment), gzip
my $fw = start_forwarder(
	node => $node,
	es   => $tls,
	slot => 'conn',
	args => [ '--create-slot', '--es-cacert', "$dir/ca.pem", '--es-gzip' ]);
ok( wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'conn'") eq '1';
		}),
	'the slot is created');
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 200) g");
ok(synced($tls), 'HTTPS with the right CA, basic auth and gzip bodies: synced')
  or diag $fw->log_contents;
is($fw->stop('TERM'), 0, 'exit 0');
unlike($fw->log_contents, qr/\Q$password\E/, 'the password never appears in the log');

# A CA that did not sign the server's certificate: refused, nothing sent.
$fw = start_forwarder(
	node => $node,
	es   => $tls,
	slot => 'conn',
	args => [ '--es-cacert', "$dir/other.pem", '--log-format', 'json', '--mappings', 'dynamic' ]);
$node->safe_psql('postgres', "UPDATE t SET v = 'not yet' WHERE id = 1");
ok(wait_until(sub { $fw->log_contents =~ /unreachable/ }),
	'a wrong CA: the cluster is reported unreachable');
like($fw->log_contents, qr/certificate/i, 'naming the certificate problem');
my $docs = $tls->all_docs($index);
unlike($docs->{1}, qr/not yet/, 'and nothing was sent to it');
is($fw->stop('TERM'), 0, 'SIGTERM while Elasticsearch is unreachable: still exits 0');
my $json = JSON::PP->new;
my @lines = grep { length } split /\n/, $fw->log_contents;
is(scalar(grep { !eval { $json->decode($_) } } @lines), 0, '--log-format=json: every line is JSON');
$tls->stop;

# An API key, and a first node that is down: failover to the second.  This
# cluster is new, so it receives only what was not acknowledged before.
my $api = start_es('--force-emulator', '--api-key', 'a2V5aWQ6c2VjcmV0');
my $dead_port = PostgreSQL::Test::Cluster::get_free_port();
$fw = start_forwarder(
	node => $node,
	es   => $api,
	slot => 'conn',
	args => [ '--es-url', "http://127.0.0.1:$dead_port," . $api->url ]);
$node->safe_psql('postgres', "INSERT INTO t VALUES (201, 'after failover')");
ok( wait_until(
		sub {
			my $d = $api->all_docs($index);
			($d->{1} // '') =~ /not yet/ && ($d->{201} // '') =~ /after failover/;
		}),
	'API key and failover from a dead node: the unacknowledged and new changes arrive')
  or diag $fw->log_contents;
is($fw->stop('TERM'), 0, 'exit 0');

# --endpos: a deterministic run that ends by itself once everything up to
# the given position is acknowledged.
$node->safe_psql('postgres', "INSERT INTO t VALUES (202, 'endpos')");
my $endpos = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
{
	local $ENV{PG2ES_ES_API_KEY} = $api->{api_key};
	my ($out, $err);
	my $ok = IPC::Run::run(
		[
			Pg2es::Test::forwarder_bin(), '-d', $node->connstr('postgres'), '-S', 'conn',
			'--es-url', $api->url, '--endpos', $endpos
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	ok($ok, "--endpos $endpos: exits 0 by itself") or diag $err;
}
like($api->all_docs($index)->{202} // '', qr/endpos/, '--endpos: what came before it is in the index');

# Memory: the defaults keep RSS under 64 MB while a transaction several
# times larger than that streams through.
$fw = start_forwarder(node => $node, es => $api, slot => 'conn');
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, repeat(md5(g::text), 12) FROM generate_series(1000, 150000) g");
ok(wait_until(sub { $api->count($index) == 3 + 149001 }),
	'a 149001-row transaction (about 67 MB of NDJSON) synced')
  or diag $api->count($index), $fw->log_contents;
my $status = slurp_file('/proc/' . $fw->pid . '/status');
my ($hwm) = $status =~ /^VmHWM:\s+(\d+) kB/m;
cmp_ok($hwm, '<', 64 * 1024, "peak resident memory ${hwm} kB stays under 64 MB");
is($fw->stop('TERM'), 0, 'exit 0');

$node->stop;
done_testing();
