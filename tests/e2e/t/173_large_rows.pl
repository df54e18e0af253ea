# One large row costs the forwarder about its size in the stream: the
# plugin splits a change over 1 MB into pieces, which the forwarder copies
# into the block that becomes the request body (libpq holds one piece at a
# time). The initial load (--snapshot) too: pg2es.bulk_item_parts returns
# the row in values of 1 MB, put together the same way. A row larger than the cluster's request
# limit (--es-max-content-length) is dead-lettered with an error naming its
# size and the limit, and the sync goes on. Peak memory is read from
# VmHWM in /proc/PID/status.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until);

my $MB   = 1024 * 1024;
my $es   = start_es();
my $node = new_cluster('large_rows');
my $dir  = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', 'CREATE TABLE big (id int PRIMARY KEY, body text)');
$es->delete_index($_) for qw(public.big public.big_load);

# vm_hwm($fw): the forwarder's peak resident memory, in bytes.
sub vm_hwm
{
	my ($fw) = @_;
	my $status = slurp_file('/proc/' . $fw->pid . '/status');
	return $status =~ /^VmHWM:\s+(\d+) kB/m ? $1 * 1024 : die "no VmHWM";
}

# doc_length($index, $id): the length of the document's body field, or -1.
sub doc_length
{
	my ($index, $id) = @_;
	my ($status, $doc) = $es->request('GET', "/$index/_doc/$id");
	return $status == 200 ? length($doc->{_source}{body}) : -1;
}

# --- the stream: a 40 MB value ---
my $fw = start_forwarder(node => $node, es => $es, slot => 'large',
	args => [ '--create-slot', '--bulk-linger-ms', '10', '--dead-letter-file', "$dir/stream.ndjson" ]);
$node->safe_psql('postgres', "INSERT INTO big VALUES (0, 'small')");
ok(wait_until(sub { (eval { $es->count('public.big') } // -1) == 1 }), 'the forwarder streams');
my $base = vm_hwm($fw);
$node->safe_psql('postgres', "INSERT INTO big VALUES (1, repeat('abcdefghij', 4 * $MB))");
ok(wait_until(sub { doc_length('public.big', 1) == 40 * $MB }, 120), 'the 40 MB row is stored whole')
  or diag $fw->log_contents;
my $peak = vm_hwm($fw) - $base;
note sprintf('stream: VmHWM %.1f MB before the row, +%.1f MB for it', $base / $MB, $peak / $MB);
cmp_ok($peak, '<=', 1.3 * 40 * $MB, 'the stream held the 40 MB row about once');
is($fw->stop, 0, 'SIGTERM exits 0');

# --- the stream: over the request limit ---
$fw = start_forwarder(node => $node, es => $es, slot => 'large',
	args => [ '--bulk-linger-ms', '10', '--es-max-content-length', '8MB',
		'--dead-letter-file', "$dir/stream.ndjson" ]);
$node->safe_psql('postgres', "INSERT INTO big VALUES (2, repeat('x', 10 * $MB))");
$node->safe_psql('postgres', "INSERT INTO big VALUES (3, 'after')");
ok(wait_until(sub { doc_length('public.big', 3) == 5 }), 'a row after the oversized one is synced');
is(doc_length('public.big', 2), -1, 'the oversized row was not sent');
like($fw->log_contents,
	qr/item \{"index":\{"_index":"public\.big","_id":"2".* is \d+ bytes, over the request limit of 8388608 bytes \(--es-max-content-length\): written to the dead-letter file/,
	'the log names the item, its size and the limit');
my $errors = slurp_file("$dir/stream.ndjson.errors");
like($errors,
	qr/"status":413,"action":\{"index":\{"_index":"public\.big","_id":"2"[^\n]*"type":"item_too_large","reason":"the item is \d+ bytes, over the request limit of 8388608 bytes/,
	'the dead letter names the size and the limit');
like(slurp_file("$dir/stream.ndjson"), qr/^\{"index":\{"_index":"public\.big","_id":"2"/m,
	'the dead-letter file holds the item');
is($fw->stop, 0, 'SIGTERM exits 0');

# --- the initial load (--snapshot): a 40 MB row, and one over the limit ---
$node->safe_psql('postgres', <<"EOS");
CREATE TABLE big_load (id int PRIMARY KEY, body text);
INSERT INTO big_load VALUES (1, repeat('abcdefghij', 4 * $MB));
INSERT INTO big_load VALUES (2, repeat('y', 50 * $MB));
INSERT INTO big_load VALUES (3, 'after');
EOS
$fw = start_forwarder(node => $node, es => $es, slot => 'large',
	args => [ '--snapshot', 'public.big_load', '--es-max-content-length', '45MB',
		'--load-jobs', '1', '--dead-letter-file', "$dir/load.ndjson" ]);
ok(wait_until(sub { $fw->log_contents =~ /initial load done/ }, 180), 'the load ends')
  or diag $fw->log_contents;
is(doc_length('public.big_load', 1), 40 * $MB, 'the 40 MB row is loaded whole');
is(doc_length('public.big_load', 3), 5, 'the row after the oversized one is loaded');
is(doc_length('public.big_load', 2), -1, 'the oversized row was not sent');
like(slurp_file("$dir/load.ndjson.errors"),
	qr/"_id":"2".*"type":"item_too_large","reason":"the item is \d+ bytes, over the request limit of 47185920 bytes/,
	'its dead letter names the size and the limit');
$peak = vm_hwm($fw) - $base;
note sprintf('load: VmHWM +%.1f MB over the idle stream', $peak / $MB);
cmp_ok($peak, '<=', 1.3 * 50 * $MB, 'the load held the largest row about once');
is($fw->stop, 0, 'SIGTERM exits 0');

done_testing();
