# Index mappings derived from the schema: `pg2es --print-mappings` shows
# them without writing anything; the sync creates a missing index with the
# derived mapping before its first write (GET /INDEX/_mapping shows it), and
# leaves an existing index alone; --mappings=dynamic creates nothing, so
# dynamic mapping (or the user's index template) applies.

use strict;
use warnings;

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder forwarder_bin
  wait_until json_canonical run_verify);

my $node = new_cluster('mappings');
my $es   = start_es();

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE shop (
	id int PRIMARY KEY, name text, price numeric(10,2), ratio float8,
	sold timestamptz, day date, ok bool, addr inet, ref uuid,
	tags text[], attrs jsonb, raw bytea
);
CREATE TABLE plain (id int PRIMARY KEY, price numeric(10,2));
EOS
my $shop  = $node->safe_psql('postgres', "SELECT pg2es.index_name('shop')");
my $plain = $node->safe_psql('postgres', "SELECT pg2es.index_name('plain')");
$es->delete_index($_) for ($shop, $plain);

# --print-mappings: no Elasticsearch needed, nothing written.
my ($out, $err) = ('', '');
ok( IPC::Run::run(
		[ forwarder_bin(), '--print-mappings', '-d', $node->connstr('postgres') ],
		'>', \$out, '2>', \$err),
	'--print-mappings succeeds without --es-url') or diag $err;
like($out, qr{^# table public\.shop, alias "\Q$shop\E"\nPUT /\Q$shop\E~g1\n\{\n\s*"aliases": \{\n\s*"\Q$shop\E": \{\n\s*"is_write_index": true}m,
	'it prints a create-index request per table: generation 1 behind the alias');
like($out, qr{"_meta": \{\s*"pg2es": \{\s*"table": "public\.shop",\s*"alias": "\Q$shop\E",\s*"generation": 1}s,
	'with _meta.pg2es');
like($out, qr{"sold": \{\s*"type": "date"}s, 'timestamptz maps to date');
like($out, qr{"addr": \{\s*"type": "ip"}s, 'inet maps to ip');
my ($status) = $es->request('GET', "/$shop");
is($status, 404, 'printing created no index');

# The sync creates the index with the derived mapping.
$node->safe_psql('postgres',
	"INSERT INTO shop VALUES (1, 'pen', 1.50, 0.5, now(), current_date, true,"
	  . " '10.1.2.3', gen_random_uuid(), ARRAY['a'], '{\"k\": 1}', '\\x00')");
my $fwd = start_forwarder(node => $node, es => $es, slot => 'mapslot',
	args => [ '--create-slot', '--no-initial-load', '--mappings', 'schema' ]);
ok(wait_until(sub { ($status) = $es->request('GET', "/$shop"); $status == 200 }),
	'the sync creates the index');
my ($concrete, $got) = $es->concrete_mapping($shop);
my $want = $node->safe_psql('postgres', "SELECT pg2es.mapping('shop')");
is($concrete, "$shop~g1", 'the index is generation 1 behind the alias');
is(json_canonical(JSON::PP->new->allow_bignum->encode($got)), json_canonical($want),
	'GET /INDEX/_mapping shows the derived mapping');
# A real engine shows the index (GET 200) before it answers the creation
# and before the forwarder goes on to create its slot: wait for both.
ok(wait_until(sub { $fwd->log_contents =~ /created index "\Q$shop\E~g1" behind alias "\Q$shop\E" with the mapping of table public\.shop/ }),
	'the creation is logged');
ok(wait_until(sub { $fwd->log_contents =~ /streaming slot "mapslot"/ }),
	'the forwarder streams its new slot');
$node->safe_psql('postgres',
	"INSERT INTO shop VALUES (2, 'ink', 2.25); INSERT INTO plain VALUES (1, 3.5)");
ok(wait_until(sub { $es->count($shop) == 1 && $es->count($plain) == 1 }),
	'documents flow into the created indexes');

# A table created while the sync runs: its RELATION frame names the index,
# which is created with the derived mapping before the first write.
$node->safe_psql('postgres',
	"CREATE TABLE later (id int PRIMARY KEY, price numeric(10,2), at timestamptz, addr inet)");
my $later = $node->safe_psql('postgres', "SELECT pg2es.index_name('later')");
$es->delete_index($later);
$node->safe_psql('postgres', "INSERT INTO later VALUES (1, 9.99, now(), '::1')");
ok(wait_until(sub { $es->count($later) == 1 }), 'a new table is streamed');
($concrete, $got, my $meta) = $es->concrete_mapping($later);
is($concrete, "$later~g1", 'its index is generation 1 behind the alias');
is(json_canonical(JSON::PP->new->allow_bignum->encode($got)),
	json_canonical($node->safe_psql('postgres', "SELECT pg2es.mapping('later')")),
	'its index was created with the derived mapping');
is_deeply($meta, { pg2es => { table => 'public.later', alias => $later, generation => 1 } },
	'and _meta.pg2es');
is($fwd->stop, 0, 'the forwarder stops');

# An existing index is left as it is; --mappings=dynamic creates nothing.
$es->delete_index($plain);
$fwd = start_forwarder(node => $node, es => $es, slot => 'mapslot',
	args => [ '--mappings', 'dynamic' ]);
$node->safe_psql('postgres', "INSERT INTO plain VALUES (2, 4.5)");
ok(wait_until(sub { $es->count($plain) == 1 }), 'with dynamic mappings the stream goes on');
(undef, $got) = $es->request('GET', "/$plain/_mapping");
isnt($got->{$plain}{mappings}{properties}{price}{type}, 'scaled_float',
	'--mappings=dynamic left the index to dynamic mapping');
unlike($fwd->log_contents, qr/created index/, 'and created no index');
is($fwd->stop, 0, 'the forwarder stops');

# add-fields: __lsn, __ts_ms and __op describe the change that wrote a
# document (the SQL encoder verify uses gives null, null and "r"), so verify
# leaves them out when add-fields has them; __table is still compared.
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE stamped (id int PRIMARY KEY, note text);
INSERT INTO stamped SELECT g, 'loaded ' || g FROM generate_series(1, 20) g;
EOS
my $stamped = $node->safe_psql('postgres', "SELECT pg2es.index_name('stamped')");
$es->delete_index($stamped);
my @stamp_opts = ('-o', 'include-tables=public.stamped', '-o', 'add-fields=table,lsn,commit-time,op');
$fwd = start_forwarder(node => $node, es => $es, slot => 'stampslot',
	args => [ '--create-slot', @stamp_opts ]);
ok(wait_until(sub { $es->count($stamped) == 20 }), 'add-fields: the table is loaded');
$node->safe_psql('postgres',
	"UPDATE stamped SET note = 'changed' WHERE id = 1; INSERT INTO stamped VALUES (21, 'new')");
ok( wait_until(
		sub {
			my (undef, $d) = $es->request('GET', "/$stamped/_doc/1");
			$es->count($stamped) == 21 && ($d->{_source}{note} // '') eq 'changed';
		}),
	'add-fields: the changes are streamed');
my (undef, $doc) = $es->request('GET', "/$stamped/_doc/21");
is($doc->{_source}{__op}, 'c', 'a streamed document carries its own __op');
like($doc->{_source}{__lsn} // '', qr{^[0-9A-F]+/[0-9A-F]+$}, 'and its commit LSN');
is($fwd->stop, 0, 'the forwarder stops');
my ($vrc, $vout, $verr) = run_verify($node, $es, @stamp_opts);
is($vrc, 0, 'verify with add-fields: the index equals the table') or diag "$vout\n$verr";
($status) = $es->request('PUT', "/$stamped/_doc/2?refresh=true",
	{ id => 2, note => 'loaded 2', __table => 'public.other', __lsn => undef,
	  __ts_ms => undef, __op => 'r' });
($vrc, $vout, $verr) = run_verify($node, $es, @stamp_opts);
is($vrc, 1, 'verify with add-fields still compares __table') or diag "$vout\n$verr";
like($vout, qr/different.*\b2\b/s, 'and names the different _id');

# verify's errors: exit 2, not "different".
for my $case (
	[ 'an unreachable Elasticsearch', [ '--es-url', 'http://127.0.0.1:1' ], qr/giving up/ ],
	[ 'a table pattern without schema', [ '--es-url', $es->url, 'shop' ], qr/schema\.table/ ])
{
	my ($what, $args, $msg) = @$case;
	my ($o, $e) = ('', '');
	IPC::Run::run([ forwarder_bin(), 'verify', '-d', $node->connstr('postgres'), @$args ],
		'>', \$o, '2>', \$e);
	is($? >> 8, 2, "verify with $what exits 2");
	like($e, $msg, "verify with $what says why");
}

# Bad invocations.
for my $bad (['--mappings', 'guess'], ['--print-mappings', 'extra-arg'])
{
	my ($o, $e) = ('', '');
	ok(!IPC::Run::run([ forwarder_bin(), '-d', $node->connstr('postgres'), @$bad ],
			'>', \$o, '2>', \$e), "pg2es @$bad fails");
	like($e, qr/error: .*\n.*Try "pg2es --help"/, "pg2es @$bad explains");
}
done_testing();
