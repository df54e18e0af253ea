
# Least privilege against a real OpenSearch with its security plugin on
# (tests/engines/start opensearch PORT --security, started here; skipped
# when this machine has no Java or cannot build the launcher).
#
#  * A user with exactly the role the README documents (read from the
#    README itself) syncs: the initial load, the stream, a key change that
#    keeps a TOASTed value (GET _source), a versioned TRUNCATE (_refresh,
#    scroll, versioned deletes), and `pg2es verify` (_refresh, _count,
#    _mget, scroll) all work, and nothing is refused.
#  * A user whose role lacks cluster:monitor/main (Elasticsearch's
#    "monitor"): the start-up probe GET / is refused; the forwarder logs one
#    ERROR naming the action and what grants it, pg2es_es_forbidden is 1,
#    nothing is sent; once the role is fixed the sync resumes without a
#    restart and the index equals the table.
#  * The same user once the role lacks indices:admin/refresh* (Elasticsearch's
#    "maintenance"): a TRUNCATE waits at its _refresh, named in the log; no
#    document is deleted and no later change sent meanwhile; `pg2es verify`
#    stops with the same privilege named; the role fixed, the sync resumes
#    and the index equals the table.
#  * Without indices:data/write/delete ("write"): the TRUNCATE's versioned
#    deletes are refused item by item inside a 200 answer; the same waiting
#    state, named once; the role fixed, the index equals the table.
#  * Without indices:admin/create ("create_index"): a table new in the
#    stream waits for its index; the role fixed, it is created with the
#    derived mapping and equals the table.

use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

use Pg2es::Test qw(repo_root new_cluster start_es start_forwarder
  index_equals_table wait_until run_verify);

my $root = repo_root();
# PG2ES_SECURE_ENGINE_PORT: the engine's port (default: a free one)
my $port = $ENV{PG2ES_SECURE_ENGINE_PORT} || PostgreSQL::Test::Cluster::get_free_port();

# ---------------------------------------------------------------------------
# The secure engine, for this file only (it stops when this process exits).

my $t0 = time();
my ($url, $err) = ('', '');
{
	local $ENV{PG2ES_ENGINE_WATCH_PID} = $$;
	IPC::Run::run([ "$root/tests/engines/start", 'opensearch', $port, '--security' ],
		'<', \undef, '>', \$url, '2>', \$err);
}
my $rc = $? >> 8;
plan skip_all => "no OpenSearch with security on this machine: $err" if $rc == 3;
BAIL_OUT("tests/engines/start opensearch $port --security failed ($rc): $err") if $rc != 0;
chomp $url;
diag(sprintf('OpenSearch with security started in %.1f s', time() - $t0));

END
{
	local $?;
	system("$root/tests/engines/stop", $port) if $port && $url;
}

my $state = ($ENV{TMPDIR} // '/tmp') . "/pg2es-engine.$>.$port";
my $admin_password = PostgreSQL::Test::Utils::slurp_file("$state/admin-password");
chomp $admin_password;

# A client of the engine authenticated as $user.
sub engine_as
{
	my ($user, $password) = @_;
	local $ENV{ES_URL}      = $url;
	local $ENV{ES_USER}     = $user;
	local $ENV{ES_PASSWORD} = $password;
	local $ENV{ES_API_KEY};
	local $ENV{ES_CACERT};
	delete $ENV{ES_API_KEY};
	delete $ENV{ES_CACERT};
	return start_es();
}

my $admin = engine_as('admin', $admin_password);
my ($status, $body) = $admin->request('GET', '/');
is($status, 200, 'the admin reaches the secure engine');
my $anonymous = HTTP::Tiny->new(timeout => 10)->get("$url/");
is($anonymous->{status}, 401, 'an anonymous request is refused: security is on');

# The role exactly as the README documents it.
my $readme = PostgreSQL::Test::Utils::slurp_file("$root/README.md");
my ($role_text) = $readme =~
  m{<!-- used by tests/e2e/t/330_least_privilege\.pl \(OpenSearch role\) -->\n```sh\n[^\n]*\n[^\n]*-d '\n(\{.*?\n\})'}s;
ok(defined $role_text, 'the README holds the OpenSearch role') or BAIL_OUT('no role in the README');
my $role = decode_json($role_text);

# PUTs role $name with the README's permissions less those matching $drop.
sub put_role
{
	my ($name, $drop) = @_;
	my %r = (
		cluster_permissions => [ grep { !$drop || $_ !~ $drop } @{ $role->{cluster_permissions} } ],
		index_permissions => [
			map {
				my %p = %$_;
				$p{allowed_actions} = [ grep { !$drop || $_ !~ $drop } @{ $p{allowed_actions} } ];
				\%p
			} @{ $role->{index_permissions} }
		]);
	my ($s, $b) = $admin->request('PUT', "/_plugins/_security/api/roles/$name", \%r);
	ok($s == 200 || $s == 201, "role $name" . ($drop ? " without $drop" : ' as documented'))
	  or diag explain $b;
	return;
}

# Creates the internal user $user with role $role_name; returns its client.
sub new_user
{
	my ($user, $role_name) = @_;
	my $password = "Qz7-" . int(rand(1e9)) . "-Xv9!";   # not like the name: the plugin checks
	my ($s, $b) = $admin->request('PUT', "/_plugins/_security/api/internalusers/$user",
		{ password => $password, opendistro_security_roles => [$role_name] });
	ok($s == 200 || $s == 201, "user $user with role $role_name") or diag explain $b;
	return engine_as($user, $password);
}

put_role('pg2es');
my $sync_es = new_user('lp_sync', 'pg2es');

# ---------------------------------------------------------------------------
# PostgreSQL: one table whose body is stored out of line (TOASTed).

my $node = new_cluster('least_privilege');
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE lp_items (id int PRIMARY KEY, n int, body text);
ALTER TABLE lp_items ALTER COLUMN body SET STORAGE EXTERNAL;
INSERT INTO lp_items SELECT g, g, CASE WHEN g <= 10
  THEN (SELECT string_agg(md5(g::text || '-' || i), '') FROM generate_series(1, 100) i)
  ELSE 'short ' || g END FROM generate_series(1, 200) g;
EOS
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.lp_items')");
like($index, qr/^public\./, "the index $index is covered by the role's pattern public.*");

# Waits until the index equals the table, checked as the admin.
sub synced
{
	my ($what, $fwd) = @_;
	my $why = '';
	my $ok = wait_until(
		sub {
			my $same;
			# a search of an index whose shards are still starting fails (503)
			($same, $why) = eval { index_equals_table($node, $admin, 'public.lp_items', $index) };
			$why = $@ unless defined $same;
			return $same;
		},
		90);
	ok($ok, "$what: the index equals the table") or diag($why, "\n", $fwd->log_contents);
	return $ok;
}

# The value of gauge $name on the forwarder's metrics port, or undef.
sub gauge
{
	my ($mport, $name) = @_;
	my $res = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$mport/metrics");
	return undef unless $res->{success};
	return $res->{content} =~ /^\Q$name\E (\S+)$/m ? $1 : undef;
}

# Waits until the forwarder's log matches $re.
sub log_says
{
	my ($fwd, $re, $what) = @_;
	my $ok = wait_until(sub { $fwd->log_contents =~ $re }, 60);
	ok($ok, $what) or diag($fwd->log_contents);
	return $ok;
}

# ---------------------------------------------------------------------------
# 1. Exactly the documented role: everything works.

my $mport = PostgreSQL::Test::Cluster::get_free_port();
my $fwd = start_forwarder(
	node => $node,
	es   => $sync_es,
	slot => 'lp',
	args => [ '--create-slot', '--metrics-port', $mport, '--bulk-linger-ms', '20' ]);
synced('documented role: the initial load', $fwd);

$node->safe_psql('postgres', <<'EOS');
INSERT INTO lp_items SELECT g, g, 'streamed ' || g FROM generate_series(201, 300) g;
UPDATE lp_items SET n = n + 1 WHERE id % 4 = 0;
DELETE FROM lp_items WHERE id % 9 = 0;
EOS
synced('documented role: the stream', $fwd);

# a key change that leaves the TOASTed body untouched: rebuilt from the
# old document (GET _source)
$node->safe_psql('postgres', 'UPDATE lp_items SET id = id + 1000 WHERE id <= 5');
log_says($fwd, qr/rebuilt document/, 'documented role: a key change keeping a TOASTed value is rebuilt from the old document');
synced('documented role: the key change', $fwd);

$node->safe_psql('postgres', <<'EOS');
BEGIN;
TRUNCATE lp_items;
INSERT INTO lp_items SELECT g, g, 'after truncate ' || g FROM generate_series(1, 50) g;
COMMIT;
EOS
log_says($fwd, qr/emptied the indexes of a truncated table/, 'documented role: the TRUNCATE empties the index');
synced('documented role: TRUNCATE', $fwd);

my ($vrc, $vout, $verr) = run_verify($node, $sync_es);
is($vrc, 0, 'documented role: pg2es verify works and finds the index equal') or diag "$vout\n$verr";
like($vout, qr/public\.lp_items .*equal/, 'verify reports the table equal');
is(gauge($mport, 'pg2es_es_forbidden'), '0', 'documented role: pg2es_es_forbidden is 0');
unlike($fwd->log_contents, qr/HTTP 40[13]/, 'documented role: nothing was refused');
is($fwd->stop, 0, 'the forwarder stops cleanly');

# ---------------------------------------------------------------------------
# 2. A role without cluster:monitor/main: the start-up probe is refused.

put_role('pg2es_partial', qr{^cluster:monitor/main$});
my $partial_es = new_user('lp_partial', 'pg2es_partial');
$node->safe_psql('postgres',
	"INSERT INTO lp_items SELECT g, g, 'while forbidden ' || g FROM generate_series(51, 80) g");
$mport = PostgreSQL::Test::Cluster::get_free_port();
$fwd = start_forwarder(
	node => $node,
	es   => $partial_es,
	slot => 'lp',
	args => [ '--metrics-port', $mport, '--bulk-linger-ms', '20' ]);
log_says($fwd,
	qr{error: .*HTTP 403: pg2es's user may not run \[cluster:monitor/main\]; grant it the cluster privilege "monitor" \(Elasticsearch\) or the cluster permission "cluster:monitor/main" \(OpenSearch\)},
	'no monitor: the probe is refused with an ERROR naming cluster:monitor/main and "monitor"');
ok(wait_until(sub { (gauge($mport, 'pg2es_es_forbidden') // '') eq '1' }, 30),
	'no monitor: pg2es_es_forbidden is 1');
is(HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$mport/healthz")->{status},
	503, 'no monitor: /healthz answers 503');
sleep 3;
is($admin->count($index), 50, 'no monitor: nothing after the refused probe was sent');
my @errors = ($fwd->log_contents =~ /may not run \[cluster:monitor\/main\]/g);
is(scalar(@errors), 1, 'no monitor: the refusal is logged once, not at every retry');

put_role('pg2es_partial');
synced('monitor granted: the sync resumes without a restart', $fwd);
log_says($fwd, qr/allows pg2es's requests again \(\[cluster:monitor\/main\] was granted\)/,
	'the resumption is logged');
ok(wait_until(sub { (gauge($mport, 'pg2es_es_forbidden') // '') eq '0' }, 30),
	'monitor granted: pg2es_es_forbidden is 0 again');

# ---------------------------------------------------------------------------
# 3. A role without indices:admin/refresh*: a TRUNCATE waits at _refresh.

put_role('pg2es_partial', qr{^indices:admin/refresh});
my $before = $admin->count($index);
$node->safe_psql('postgres', <<'EOS');
TRUNCATE lp_items;
INSERT INTO lp_items SELECT g, g, 'after the second truncate ' || g FROM generate_series(1, 20) g;
EOS
log_says($fwd,
	qr{error: .*HTTP 403: pg2es's user may not run \[indices:admin/refresh[^\]]*\]; grant it the index privilege "maintenance" \(Elasticsearch\) or the index permission "indices:admin/refresh\*" \(OpenSearch\)},
	'no refresh: the TRUNCATE is refused with an ERROR naming indices:admin/refresh and "maintenance"');
ok(wait_until(sub { (gauge($mport, 'pg2es_es_forbidden') // '') eq '1' }, 30),
	'no refresh: pg2es_es_forbidden is 1');
sleep 3;
is($admin->count($index), $before,
	'no refresh: no document deleted and no later change sent while the TRUNCATE waits');

($vrc, $vout, $verr) = run_verify($node, $partial_es);
isnt($vrc, 0, 'no refresh: pg2es verify stops with an error status');
like("$vout\n$verr", qr{may not run \[indices:admin/refresh[^\]]*\]; grant it the index privilege "maintenance"},
	'no refresh: verify names the missing privilege');

put_role('pg2es_partial');
synced('refresh granted: the TRUNCATE and what followed are applied', $fwd);
ok(wait_until(sub { (gauge($mport, 'pg2es_es_forbidden') // '') eq '0' }, 30),
	'refresh granted: pg2es_es_forbidden is 0 again');
($vrc, $vout, $verr) = run_verify($node, $partial_es);
is($vrc, 0, 'refresh granted: verify finds the index equal') or diag "$vout\n$verr";

# ---------------------------------------------------------------------------
# 4. A role without indices:data/write/delete: the TRUNCATE's versioned
# deletes are refused item by item (inside a 200 answer).

put_role('pg2es_partial', qr{^indices:data/write/delete$});
$before = $admin->count($index);
$node->safe_psql('postgres', <<'EOS');
TRUNCATE lp_items;
INSERT INTO lp_items VALUES (1, 1, 'after the third truncate');
EOS
log_says($fwd,
	qr{error: .*HTTP 403: pg2es's user may not run \[indices:data/write/delete\]; grant it the index privilege "write" \(Elasticsearch\)},
	'no delete: the refused deletes of a TRUNCATE are named in the log');
ok(wait_until(sub { (gauge($mport, 'pg2es_es_forbidden') // '') eq '1' }, 30),
	'no delete: pg2es_es_forbidden is 1');
sleep 3;
is($admin->count($index), $before, 'no delete: nothing deleted, nothing later sent');
unlike($fwd->log_contents, qr/a delete got status 403/, 'no delete: no warning at every retry');
put_role('pg2es_partial');
synced('delete granted: the TRUNCATE and what followed are applied', $fwd);

# ---------------------------------------------------------------------------
# 5. A role without indices:admin/create ("create_index"): the index of a
# table new in the stream waits to be created, its rows with it.

put_role('pg2es_partial', qr{^indices:admin/create$});
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE lp_new (id int PRIMARY KEY, v text);
INSERT INTO lp_new SELECT g, 'new ' || g FROM generate_series(1, 30) g;
EOS
my $new_index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.lp_new')");
log_says($fwd,
	qr{error: .*HTTP 403: pg2es's user may not run \[indices:admin/create\]; grant it the index privilege "create_index" \(Elasticsearch\)},
	'no create_index: the creation of a new index is refused, named in the log');
my ($exists) = $admin->request('HEAD', '/' . $new_index);
is($exists, 404, 'no create_index: the index does not exist, no row of it was sent');
put_role('pg2es_partial');
my $why = '';
ok( wait_until(
		sub {
			my $same;
			($same, $why) = eval { index_equals_table($node, $admin, 'public.lp_new', $new_index) };
			$why = $@ unless defined $same;
			return $same;
		},
		90),
	'create_index granted: the new index equals its table') or diag($why, "\n", $fwd->log_contents);
like($fwd->log_contents, qr/created generation 1 behind alias "\Q$new_index\E" with the mapping of its table/,
	'the index was created with its derived mapping, not by a bulk auto-create');
is($fwd->stop, 0, 'the forwarder stops cleanly');

diag(sprintf('330_least_privilege: %.1f s in all', time() - $t0));
done_testing();
