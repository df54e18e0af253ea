
# Security: what the sync must never do, tried on purpose.
#
#  * Row data cannot inject bulk actions: keys and values holding '"}',
#    newlines and whole '{"delete":...}' lines land as data, and nothing
#    else happens in Elasticsearch.
#  * libpq settings in -d pass through: sslmode=verify-full with the test CA
#    streams over TLS; a wrong root certificate and a non-TLS connection are
#    refused.
#  * TLS to Elasticsearch is verified: the emulator serves HTTPS with a
#    certificate of a CA made here with openssl; --es-cacert with that CA
#    syncs, no CA or a wrong CA is refused with a reason in the log.
#  * Credentials (PG2ES_ES_PASSWORD, --es-password-file, a password in -d)
#    never appear in the log (even with -v), /metrics, /healthz, error
#    messages, /proc/PID/cmdline or /proc/PID/environ; the metrics endpoint
#    listens on 127.0.0.1 unless --metrics-address says otherwise.
#  * A column excluded with exclude-columns never leaves the server: not in
#    the decoded stream (plain and framed), not in the initial load's bulk
#    items, not in the index, not in the log.
#  * The role of sql/role.sql can load and stream, is no superuser and
#    cannot write the application's tables.

use strict;
use warnings;

use File::Copy qw(copy);
use HTTP::Tiny;
use IPC::Run;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(repo_root new_cluster start_es start_forwarder
  index_equals_table wait_until require_emulator);

my $dir      = PostgreSQL::Test::Utils::tempdir();
my $password = 'Pw-7f3a9c-' . int(rand(1e9)) . '-secret';
my $plain_es = start_es();
require_emulator($plain_es);
my $node = new_cluster('security');

# Index name of table $t.
sub index_of
{
	my ($t) = @_;
	return $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
}

# Waits until the index of $t equals the table (plugin options @$opts).
sub synced
{
	my ($es, $t, $what, $fwd, $opts) = @_;
	my $why = '';
	my $ok = wait_until(
		sub {
			my $same;
			($same, $why) = index_equals_table($node, $es, $t, index_of($t), $opts);
			return $same;
		},
		60);
	ok($ok, $what) or diag($why, "\nforwarder log:\n", $fwd ? $fwd->log_contents : '');
	return $ok;
}

# Waits until the forwarder's log matches $re.
sub log_says
{
	my ($fwd, $re, $what) = @_;
	my $ok = wait_until(sub { $fwd->log_contents =~ $re }, 30);
	ok($ok, $what) or diag($fwd->log_contents);
	return $ok;
}

# ---------------------------------------------------------------------------
# Certificates: a test CA, a server certificate for 127.0.0.1 and localhost
# signed by it, and an unrelated CA.

sub openssl
{
	my @args = @_;
	my ($out, $err);
	IPC::Run::run([ 'openssl', @args ], '<', \undef, '>', \$out, '2>', \$err)
	  or die "openssl @args: $err";
	return;
}
my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes');
openssl('req', '-x509', @ec, '-keyout', "$dir/ca.key", '-out', "$dir/ca.pem",
	'-days', '2', '-subj', '/CN=pg2es test CA');
openssl('req', '-x509', @ec, '-keyout', "$dir/wrong.key", '-out', "$dir/wrong.pem",
	'-days', '2', '-subj', '/CN=pg2es unrelated CA');
openssl('req', @ec, '-keyout', "$dir/server.key", '-out', "$dir/server.csr",
	'-subj', '/CN=localhost');
open my $ext, '>', "$dir/san.ext" or die;
print $ext "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
close $ext;
openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.pem",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-out', "$dir/server.pem",
	'-days', '2', '-extfile', "$dir/san.ext");

# ---------------------------------------------------------------------------
# Injection: rows whose keys and values look like bulk syntax

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE inj (id text PRIMARY KEY, v text, j jsonb, arr text[]);
CREATE TABLE inj2 (a text, b text, v text, PRIMARY KEY (a, b));
SELECT 'slot' FROM pg_create_logical_replication_slot('inj', 'pg2es');
EOS
my ($status) = $plain_es->request('PUT', '/victim/_doc/1?refresh=true', { keep => 'me' });
ok($status == 200 || $status == 201, 'a victim document exists');

my $inject = '{"delete":{"_index":"victim","_id":"1"}}';
$node->safe_psql('postgres', <<"EOS");
INSERT INTO inj VALUES
	('a"}', E'x"}\\n$inject', jsonb_build_object('k', E'"}\\n$inject', E'"}\\n$inject', 1), ARRAY[E'"}\\n$inject']),
	(E'b\\n$inject', E'\\n', '{"\\"}\\n{\\"index\\":{}}": 1}', '{}'),
	(E'c\\\\', E'\\\\"}', '{}', ARRAY[E'\\\\', '"']),
	(E'd\\r\\n$inject\\n', E'\\u2028\\u2029 and \\x01\\x1f controls', '{"n": null}', NULL),
	('$inject', '{"index":{"_index":"victim","_id":"2"}}', '{"a": ["1", "}"]}', ARRAY['{"index":{}}']),
	(E'\\\\u0000', E'\\\\u0022}', '{"s": "\\\\u0022"}', NULL);
INSERT INTO inj2 VALUES
	('x|y', E'"}\\n$inject', 'v1'),
	(E'x\\\\', E'|y"}', 'v2'),
	('x', E'\\\\|y', 'v3');
UPDATE inj SET v = v || E'\\n$inject' WHERE id LIKE 'a%';
DELETE FROM inj WHERE id = E'c\\\\';
UPDATE inj2 SET b = b || E'\\n$inject' WHERE v = 'v1';
EOS
my $items_before = $plain_es->stats->{items};
my $fwd = start_forwarder(node => $node, es => $plain_es, slot => 'inj',
	args => [ '--dead-letter-file', "$dir/inj-dead.ndjson" ]);
synced($plain_es, 'public.inj',  'inj: rows holding bulk syntax land as data', $fwd);
synced($plain_es, 'public.inj2', 'inj2: composite keys holding bulk syntax land as data', $fwd);
$fwd->stop;
($status) = $plain_es->request('GET', '/victim/_doc/1');
is($status, 200, 'the victim document is still there');
($status) = $plain_es->request('GET', '/victim/_doc/2');
is($status, 404, 'no document was written to the victim index');
# 6 + 3 inserts, 1 update (with a 2nd row's change), 1 delete, 1 key change
# (delete + index): every item the emulator saw is one of those
my $items = $plain_es->stats->{items} - $items_before;
is($items, 6 + 3 + 1 + 1 + 2, 'Elasticsearch received exactly one item per change');
ok(!-s "$dir/inj-dead.ndjson", 'nothing was dead-lettered');

# ---------------------------------------------------------------------------
# libpq settings pass through -d: TLS to PostgreSQL

copy("$dir/server.pem", $node->data_dir . '/server.pem');
copy("$dir/server.key", $node->data_dir . '/server.key');
chmod 0600, $node->data_dir . '/server.key';
$node->append_conf('postgresql.conf', <<'EOC');
listen_addresses = '127.0.0.1'
ssl = on
ssl_cert_file = 'server.pem'
ssl_key_file = 'server.key'
EOC
open my $hba, '>', $node->data_dir . '/pg_hba.conf' or die;
print $hba <<'EOH';
local all all trust
local replication all trust
hostssl all all 127.0.0.1/32 trust
hostssl replication all 127.0.0.1/32 trust
EOH
close $hba;
$node->restart;
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE tls (id int PRIMARY KEY, v text);
SELECT 'slot' FROM pg_create_logical_replication_slot('tls', 'pg2es');
INSERT INTO tls SELECT g, 'row ' || g FROM generate_series(1, 20) g;
EOS
my $tcp = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres';

$fwd = start_forwarder(node => $node, es => $plain_es, slot => 'tls',
	args => [ '-d', "$tcp sslmode=verify-full sslrootcert=$dir/ca.pem" ]);
synced($plain_es, 'public.tls', 'sslmode=verify-full with the right root certificate streams', $fwd);
is( $node->safe_psql('postgres',
		"SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
		  . "WHERE a.backend_type = 'walsender'"),
	't', 'the replication connection uses TLS');
$fwd->stop;

$node->safe_psql('postgres', "INSERT INTO tls VALUES (21, 'not yet')");
$fwd = start_forwarder(node => $node, es => $plain_es, slot => 'tls',
	args => [ '-d', "$tcp sslmode=verify-full sslrootcert=$dir/wrong.pem" ]);
log_says($fwd, qr/certificate verify failed/i,
	'a wrong root certificate is refused, and the log says why');
$fwd->stop;

my $pg_password = "PgPw-$password";
$fwd = start_forwarder(node => $node, es => $plain_es, slot => 'tls',
	args => [ '-v', '-d', "$tcp sslmode=disable password=$pg_password" ]);
log_says($fwd, qr/no encryption/i,
	'sslmode=disable reaches the server (which refuses connections without TLS)');
unlike($fwd->log_contents, qr/\Q$pg_password\E/,
	'the log does not show a password given in -d');
$fwd->stop;
is($plain_es->count(index_of('public.tls')), 20, 'nothing arrived over the refused connections');

# ---------------------------------------------------------------------------
# TLS to Elasticsearch, credentials

my $es = start_es('--tls-cert', "$dir/server.pem", '--tls-key', "$dir/server.key",
	'--user', 'elastic', '--password', $password);
$es->use_cacert("$dir/ca.pem");
like($es->url, qr{^https://}, 'the emulator serves HTTPS');
my $basic = MIME::Base64::encode_base64("elastic:$password", '');

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE creds (id int PRIMARY KEY, v text);
SELECT 'slot' FROM pg_create_logical_replication_slot('creds', 'pg2es');
INSERT INTO creds SELECT g, 'row ' || g FROM generate_series(1, 10) g;
EOS

# Whether the forwarder's log, command line, environment (the block
# /proc/PID/environ shows), /metrics and /healthz are free of the password
# (and of its Basic form); $metrics_port may be undef.
sub no_secret_leaks
{
	my ($fwd, $what, $metrics_port, @secrets) = @_;
	my $exposed = $fwd->log_contents;
	for my $file (map { '/proc/' . $fwd->pid . "/$_" } qw(cmdline environ))
	{
		$exposed .= "\n" . slurp_file($file) if -r $file;
	}
	if ($metrics_port)
	{
		my $http = HTTP::Tiny->new(timeout => 10);
		$exposed .= $http->get("http://127.0.0.1:$metrics_port/$_")->{content} // ''
		  for qw(metrics healthz);
	}
	my @found = grep { index($exposed, $_) >= 0 } @secrets;
	is(scalar(@found), 0, "$what: the password appears nowhere (log, cmdline, environ, /metrics)")
	  or diag("found: @found");
	return;
}

# The local address a TCP port listens on, from /proc/net/tcp(6).
sub listen_address
{
	my ($port) = @_;
	my $hex = sprintf('%04X', $port);
	for my $file ('/proc/net/tcp', '/proc/net/tcp6')
	{
		for my $line (split /\n/, slurp_file($file))
		{
			my @f = split ' ', $line;
			next unless @f > 3 && $f[1] =~ /^([0-9A-F]+):$hex$/ && $f[3] eq '0A';
			my $addr = $1;
			return join('.', reverse map { hex } $addr =~ /(..)/g) if length $addr == 8;
			return $addr =~ /^0+$/ ? '::' : "ipv6:$addr";
		}
	}
	return '';
}

my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
$fwd = start_forwarder(node => $node, es => $es, slot => 'creds',
	args => [ '--es-cacert', "$dir/ca.pem", '-v', '--metrics-port', $metrics_port ],
	env => { PG2ES_ES_CACERT => '' });
synced($es, 'public.creds', 'HTTPS with --es-cacert and the password from PG2ES_ES_PASSWORD syncs', $fwd);
is(listen_address($metrics_port), '127.0.0.1', 'the metrics endpoint listens on 127.0.0.1 by default');
no_secret_leaks($fwd, 'password from the environment, -v', $metrics_port, $password, $basic);
$fwd->stop;

open my $pwf, '>', "$dir/es-password" or die;
print $pwf "$password\n";
close $pwf;
$node->safe_psql('postgres', "INSERT INTO creds VALUES (11, 'from the file')");
$metrics_port = PostgreSQL::Test::Cluster::get_free_port();
$fwd = start_forwarder(node => $node, es => $es, slot => 'creds',
	args => [ '--es-user', 'elastic', '--es-password-file', "$dir/es-password",
		'--metrics-port', $metrics_port, '--metrics-address', '0.0.0.0' ],
	env => { PG2ES_ES_PASSWORD => '' });
synced($es, 'public.creds', '--es-password-file syncs', $fwd);
no_secret_leaks($fwd, 'password from a file', $metrics_port, $password, $basic);
is(listen_address($metrics_port), '0.0.0.0', '--metrics-address 0.0.0.0 listens on every address');
$fwd->stop;

my $wrong = 'Wrong-' . $password;
open $pwf, '>', "$dir/wrong-password" or die;
print $pwf "$wrong\n";
close $pwf;
$node->safe_psql('postgres', "INSERT INTO creds VALUES (12, 'refused')");
$fwd = start_forwarder(node => $node, es => $es, slot => 'creds',
	args => [ '--es-user', 'elastic', '--es-password-file', "$dir/wrong-password", '-v' ],
	env => { PG2ES_ES_PASSWORD => '' });
log_says($fwd, qr/401|credential|authenticat/i, 'a wrong password is refused, and the log says so');
no_secret_leaks($fwd, 'a wrong password', undef, $password, $wrong,
	MIME::Base64::encode_base64("elastic:$wrong", ''));
$fwd->stop;

$fwd = start_forwarder(node => $node, es => $es, slot => 'creds',
	env => { PG2ES_ES_CACERT => '' });
log_says($fwd, qr/certificate|SSL|TLS/i, 'without --es-cacert the test CA is not trusted, and the log says why');
$fwd->stop;

$fwd = start_forwarder(node => $node, es => $es, slot => 'creds',
	args => [ '--es-cacert', "$dir/wrong.pem" ], env => { PG2ES_ES_CACERT => '' });
log_says($fwd, qr/certificate|SSL|TLS/i, 'a wrong CA is refused, and the log says why');
$fwd->stop;
is($es->count(index_of('public.creds')), 11, 'nothing arrived over refused connections');

# ---------------------------------------------------------------------------
# An excluded column never leaves the server

my $excl = 'exclude-columns=public.users.password_hash';
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE users (id int PRIMARY KEY, name text, password_hash text);
INSERT INTO users SELECT g, 'user ' || g, 'HASH-SECRET-' || g FROM generate_series(1, 30) g;
SELECT 'peek' FROM pg_create_logical_replication_slot('peek', 'pg2es');
EOS
$fwd = start_forwarder(node => $node, es => $plain_es, slot => 'excl',
	args => [ '--create-slot', '-o', $excl, '-o', 'include-tables=public.users' ]);
$node->safe_psql('postgres', <<'EOS');
INSERT INTO users SELECT g, 'user ' || g, 'HASH-SECRET-' || g FROM generate_series(31, 60) g;
UPDATE users SET password_hash = 'HASH-SECRET-changed-' || id WHERE id % 3 = 0;
UPDATE users SET name = 'renamed', id = id + 1000 WHERE id % 7 = 0;
DELETE FROM users WHERE id % 5 = 0;
EOS
synced($plain_es, 'public.users', 'users: the index equals the table without password_hash',
	$fwd, [$excl]);
my $docs = $plain_es->all_docs(index_of('public.users'));
is(scalar(grep { /password_hash|HASH-SECRET/ } values %$docs), 0,
	'no document holds password_hash');
unlike($fwd->log_contents, qr/HASH-SECRET/, 'the log does not show the hashes');
$fwd->stop;

my $plain = $node->safe_psql('postgres',
	"SELECT string_agg(data, E'\\n') FROM pg_logical_slot_peek_changes('peek', NULL, NULL, "
	  . "'exclude-columns', 'public.users.password_hash')");
like($plain, qr/"name":"renamed"/, 'the plain stream holds the changes');
unlike($plain, qr/password_hash|HASH-SECRET/, 'the plain stream holds no password_hash');
my $framed = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_logical_slot_peek_binary_changes('peek', NULL, NULL, "
	  . "'exclude-columns', 'public.users.password_hash', 'framing', 'msgpack') "
	  . "WHERE position('HASH-SECRET' in data) > 0 OR position('password_hash' in data) > 0");
is($framed, '0', 'the framed stream holds no password_hash');
my $copied = $node->safe_psql('postgres',
	"SELECT count(*) FROM users u WHERE position('HASH-SECRET' in "
	  . "pg2es.bulk_item('users', u, 1, ARRAY['$excl'])) > 0");
is($copied, '0', 'the initial load\'s bulk items hold no password_hash');

# ---------------------------------------------------------------------------
# The least-privilege role of sql/role.sql

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE owned (id int PRIMARY KEY, v text);
INSERT INTO owned SELECT g, 'loaded ' || g FROM generate_series(1, 25) g;
EOS
my ($ret, $out, $err) = $node->psql('postgres', undef,
	extra_params => [ '-v', 'ON_ERROR_STOP=1', '-v', "sync_password=$password",
		'-f', repo_root() . '/sql/role.sql' ]);
is($ret, 0, 'sql/role.sql runs') or diag($err);
is( $node->safe_psql('postgres',
		"SELECT rolsuper, rolreplication, rolcreaterole, rolcreatedb, rolbypassrls "
		  . "FROM pg_roles WHERE rolname = 'pg2es_sync'"),
	'f|t|f|f|f', 'pg2es_sync has REPLICATION and nothing of a superuser');
$fwd = start_forwarder(node => $node, es => $plain_es, slot => 'role',
	args => [ '-d', $node->connstr('postgres') . ' user=pg2es_sync', '--create-slot',
		'-o', 'include-tables=public.owned' ]);
$node->safe_psql('postgres', "INSERT INTO owned VALUES (26, 'streamed')");
synced($plain_es, 'public.owned', 'as pg2es_sync, the forwarder loads and streams', $fwd);
$fwd->stop;
for my $sql ("INSERT INTO owned VALUES (99, 'x')", "UPDATE owned SET v = 'x'",
	'DELETE FROM owned', 'TRUNCATE owned', 'CREATE TABLE public.intruder (i int)',
	'DROP TABLE owned', "SELECT pg_read_file('postgresql.conf')")
{
	($ret, $out, $err) = $node->psql('postgres', $sql,
		extra_params => [ '-U', 'pg2es_sync' ]);
	like($err, qr/permission denied|must be owner/, "pg2es_sync cannot: $sql");
}

done_testing();
