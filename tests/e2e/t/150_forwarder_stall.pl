
# A forwarder that Elasticsearch does not answer must not hold PostgreSQL:
# once it has taken nothing for --pause-after seconds while changes wait,
# the forwarder closes its replication connection (the slot goes inactive,
# PostgreSQL keeps the WAL), so a fast shutdown completes; it goes on
# sending what it holds, reconnects once Elasticsearch has taken it, and
# every index ends equal to its table.  An index first seen in the stream
# during the outage is still created with its derived mapping (the
# creation is a request of the stream's pipeline, retried like any other,
# not a blocking call that gives up).

use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run ();
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until json_canonical);

my $es = start_es('--faults');

my $node = new_cluster('stall');
$node->safe_psql('postgres', 'CREATE TABLE item (id int PRIMARY KEY, name text)');
my $item = $node->safe_psql('postgres', "SELECT pg2es.index_name('item')");
# public.later: the index of the table created during the outage below
$es->delete_index($_) for ($item, 'public.later');

my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $fw = start_forwarder(node => $node, es => $es, slot => 'stall',
	args => [ '--create-slot', '--pause-after', '2', '--es-timeout', '3',
		'--bulk-linger-ms', '10', '--metrics-port', $metrics_port ]);
my $metric = sub {
	my ($name) = @_;
	my $res = HTTP::Tiny->new->get("http://127.0.0.1:$metrics_port/metrics");
	return $res->{content} =~ /^\Q$name\E (\d+)$/m ? $1 : undef;
};
my $active = sub {
	$node->safe_psql('postgres',
		"SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = 'stall'");
};
ok(wait_until(sub { $active->() eq 't' }), 'the forwarder streams the slot');
$node->safe_psql('postgres', "INSERT INTO item SELECT g, 'a' || g FROM generate_series(1, 100) g");
ok(wait_until(sub { (index_equals_table($node, $es, 'public.item', $item))[0] }),
	'before the outage the index equals the table');

# Outage: every request refused, index creation included.
$es->fault({ kind => 'status', status => 503, count => 1_000_000, scope => 'all' });
$node->safe_psql('postgres', <<'EOS');
UPDATE item SET name = name || '!' WHERE id <= 50;
DELETE FROM item WHERE id > 90;
CREATE TABLE later (id int PRIMARY KEY, price numeric(10,2), at timestamptz);
INSERT INTO later VALUES (1, 9.99, now()), (2, 0.5, now());
EOS
my $later = $node->safe_psql('postgres', "SELECT pg2es.index_name('later')");

# A fast shutdown asked for while the forwarder still holds the
# connection completes: within --pause-after the forwarder lets go.
my ($stdout, $stderr);
my $stopped = IPC::Run::run(
	[ 'pg_ctl', '-D', $node->data_dir, '-m', 'fast', '-t', '40', 'stop' ],
	'>', \$stdout, '2>', \$stderr);
ok($stopped, 'a fast shutdown during the outage completes') or diag $stderr;
$node->_update_pid(0) if $stopped;
like($fw->log_contents, qr/Elasticsearch has taken nothing for 2 s: replication connection closed/,
	'the pause is logged');
ok($fw->running, 'the forwarder keeps running');
is($metric->('pg2es_pauses_total'), 1, '/metrics counts the pause');
is($metric->('pg2es_up{end="postgresql"}'), 0, '/metrics shows PostgreSQL let go');

$node->start;
$node->safe_psql('postgres', "INSERT INTO later VALUES (3, 1.25, now())");
ok(wait_until(sub { $active->() eq 'f' }, 30),
	'while Elasticsearch takes nothing the slot stays released');

$es->clear_faults;
ok( wait_until(
		sub {
			(index_equals_table($node, $es, 'public.item', $item))[0]
			  && (index_equals_table($node, $es, 'public.later', $later))[0];
		}),
	'after the outage every index equals its table');
ok(wait_until(sub { $active->() eq 't' }), 'the forwarder streams the slot again');
my (undef, $got) = $es->concrete_mapping($later);
is(json_canonical(JSON::PP->new->allow_bignum->encode($got)),
	json_canonical($node->safe_psql('postgres', "SELECT pg2es.mapping('later')")),
	'an index first seen during the outage got its derived mapping');
my @pauses = ($fw->log_contents =~ /replication connection closed/g);
is($fw->stop('TERM'), 0, 'SIGTERM: exit 0');
note 'pauses logged: ' . scalar(@pauses);
$node->stop;
done_testing();
