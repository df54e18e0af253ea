
# The README's debugging commands, run as the README shows them (blocks
# marked "run by tests/e2e/t/020_readme_debug.pl"), against a throwaway
# cluster with the article's todos table and the emulator (or ES_URL), and
# the README's `pg2es --help` block compared with the real output: neither
# may rot.

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use Pg2es::Test qw(repo_root forwarder_bin new_cluster start_es);

my $root   = repo_root();
my $readme = slurp_file("$root/README.md");

# The fenced blocks that follow a marker naming this test, as
# [language, text] pairs, in README order.
sub marked_blocks
{
	my @blocks;
	while ($readme =~
		/<!-- run by tests\/e2e\/t\/020_readme_debug\.pl -->\n```(\w+)\n(.*?)```/gs)
	{
		push @blocks, [ $1, $2 ];
	}
	return @blocks;
}

# --help: the block after the "pg2es --help" marker is the real output.
my ($help_block) = $readme =~ /<!-- pg2es --help -->\n```\n(.*?)```/s;
ok(defined $help_block, 'README has a pg2es --help block');
my $help = `@{[forwarder_bin()]} --help`;
is($help_block, $help, 'README shows exactly what pg2es --help prints');

my @blocks = marked_blocks();
is(scalar @blocks, 3, 'README has the three debugging blocks');

my $node = new_cluster('readme');
$node->safe_psql('postgres', 'CREATE DATABASE demo');
$node->safe_psql('demo', slurp_file("$root/sql/todos.sql"));
my $es = start_es();
$es->delete_index('public.todos');

# Runs a block the way a user would, in bash (sh) or psql (sql), with the
# cluster in PGHOST/PGPORT and the README's Elasticsearch URL pointed at the
# emulator (or ES_URL).  Returns (exit status, stdout, stderr).
sub run_block
{
	my ($lang, $text) = @_;
	my $url = $es->url;
	$text =~ s{http://localhost:9200}{$url}g;
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my @cmd =
	  $lang eq 'sql'
	  ? ('psql', '-XAt', '-v', 'ON_ERROR_STOP=1', '-d', 'demo')
	  : ('bash', '-e', '-o', 'pipefail');
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \$text, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my $json = JSON::PP->new;

# Block 1: create the slot, insert, stream to the current position.
my ($rc, $out, $err) = run_block(@{ $blocks[0] });
is($rc, 0, 'block 1 runs') or diag $err;
# psql's command tag comes first; the stream's lines are the JSON ones.
my @lines = grep { /^\{/ } split /\n/, $out;
is(scalar @lines, 2, 'block 1 streams one item: action and document');
my @parsed = map { eval { $json->decode($_) } } @lines;
is(scalar @parsed, 2, 'both lines are JSON');
is_deeply($parsed[0],
	{ index => { _index => 'public.todos', _id => '4',
		version => $parsed[0]{index}{version}, version_type => 'external_gte' } },
	'the action indexes row 4 with a version');
like($parsed[0]{index}{version}, qr/^\d+$/, 'the version is a number');
is_deeply($parsed[1],
	{ id => 4, title => 'Debug me', completed => JSON::PP::false,
		due => '2024-02-16T09:00:00', __table => 'public.todos', __op => 'c' },
	'the document is the row, with the added fields');

# Block 2: update and post the stream to _bulk.
($rc, $out, $err) = run_block(@{ $blocks[1] });
is($rc, 0, 'block 2 runs') or diag $err;
my ($bulk_answer) = grep { /^\{/ } split /\n/, $out;
my $resp = eval { $json->decode($bulk_answer) };
ok($resp && !$resp->{errors}, '_bulk accepts the stream without errors')
  or diag $out;
my ($status, $doc) = $es->request('GET', '/public.todos/_doc/4');
is($status, 200, 'document 4 is in the index');
is($doc->{_source}{completed}, JSON::PP::true, 'with the update applied');

# Block 3: peek at a delete, drop the slot.
($rc, $out, $err) = run_block(@{ $blocks[2] });
is($rc, 0, 'block 3 runs') or diag $err;
like($out, qr/^\{"delete":\{"_index":"public\.todos","_id":"4"\}\}$/m,
	'peek shows the delete, unversioned');
is($node->safe_psql('demo',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'debug'"),
	'0', 'the slot is gone');

$es->stop;
$node->stop;
done_testing();
