# After a PostgreSQL restart the forwarder's catalog connection (the one
# that derives the mapping of a table first seen in the stream) is stale.
# The first new table after the restart must still get its derived mapping
# without a second restart of the stream: the forwarder reconnects that
# connection and asks again, instead of ending the stream.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until json_canonical);

my $es   = start_es();
my $node = new_cluster('catalog_reconnect');
$node->safe_psql('postgres', 'CREATE TABLE first (id int PRIMARY KEY, v text)');
my $first = $node->safe_psql('postgres', "SELECT pg2es.index_name('first')");
$es->delete_index($_) for ($first, 'public.later');

my $fw = start_forwarder(node => $node, es => $es, slot => 'catreconnect',
	args => [ '--create-slot', '--bulk-linger-ms', '10' ]);
my $active = sub {
	$node->safe_psql('postgres',
		"SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = 'catreconnect'");
};
ok(wait_until(sub { $active->() eq 't' }), 'the forwarder streams');

# A table first seen in the stream opens the catalog connection.
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE early (id int PRIMARY KEY, price numeric(10,2));
INSERT INTO early VALUES (1, 1.50);
EOS
ok(wait_until(sub { (eval { $es->count('public.early') } // -1) == 1 }), 'a table created while streaming is synced');

$node->restart;
ok(wait_until(sub { $active->() eq 't' }, 60), 'the forwarder streams again after the restart');
my $lost_before = () = $fw->log_contents =~ /PostgreSQL connection lost or refused/g;

$node->safe_psql('postgres', <<'EOS');
CREATE TABLE later (id int PRIMARY KEY, price numeric(10,2), at timestamptz);
INSERT INTO later VALUES (1, 9.99, now());
EOS
ok(wait_until(sub { (eval { $es->count('public.later') } // -1) == 1 }), 'the first new table after the restart is synced');

my (undef, $got) = $es->concrete_mapping('public.later');
my $want = $node->safe_psql('postgres', "SELECT pg2es.mapping('later')");
is(json_canonical(JSON::PP->new->allow_bignum->encode($got)),
	json_canonical($want), 'its index has the derived mapping');

my $log = $fw->log_contents;
my $lost_after = () = $log =~ /PostgreSQL connection lost or refused/g;
is($lost_after, $lost_before, 'the stream was not restarted for the mapping');
unlike($log, qr/could not derive the mapping/, 'no mapping query failed');
like($log, qr/catalog connection.*reconnect/i, 'the reconnection of the catalog connection is logged');
is($fw->stop, 0, 'SIGTERM exits 0');

done_testing();
