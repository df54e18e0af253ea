# The initial load's progress report: with stderr on a terminal it is one
# line per table, rewritten in place ("\r", the figures, then "erase to the
# end of the line"): the table, rows done / the planner's estimate with a
# percentage, a rate and the time left, ending with every row done and 0s
# left; without a terminal the same figures come as periodic log lines.
# PG2ES_PROGRESS_INTERVAL shortens the period so that a load of a few
# seconds shows several reports; a small --max-memory and small requests
# make the rows go at Elasticsearch's pace, so the load lasts long enough.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder wait_until forwarder_bin);

my $rows = 12000;
my $node = new_cluster('progress');
my $es   = start_es();

$node->safe_psql('postgres', <<"EOS");
CREATE TABLE progress_rows (id int PRIMARY KEY, note text);
INSERT INTO progress_rows SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, $rows) g;
ANALYZE progress_rows;
EOS
my $table = 'public.progress_rows';
my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('progress_rows')");
$es->delete_index($index);

my @throttle = ('--create-slot', '--load-jobs', '1', '--bulk-max-items', '200',
	'--bulk-max-bytes', '128kB', '--max-memory', '1MB');
my %progress_env = (PG2ES_PROGRESS_INTERVAL => '0.05');

# What one report says, as a pattern capturing rows done, the estimate,
# the percentage, the rate and the time left ("?" before the first row).
my $figures = qr{(\d+) / ~(\d+) \((\d+)%\) rows, (\d+) rows/s, (\d+s|\d+m\d\ds|\d+h\d\dm|\?) left};

# --- on a terminal ---
my %env = (%ENV, %progress_env);
$env{PG2ES_ES_USER}     = $es->{user}     if defined $es->{user};
$env{PG2ES_ES_PASSWORD} = $es->{password} if defined $es->{password};
$env{PG2ES_ES_API_KEY}  = $es->{api_key}  if defined $es->{api_key};
$env{PG2ES_ES_CACERT}   = $es->{cacert}   if defined $es->{cacert};
my @cmd = (forwarder_bin(), '-d', $node->connstr('postgres'), '-S', 'progress_tty',
	'--es-url', $es->url, @throttle);
my $screen = '';
my $tty;
{
	local %ENV = %env;
	# '>pty>' puts stdout and stderr on one pseudo-terminal
	$tty = IPC::Run::start(\@cmd, '<', \undef, '>pty>', \$screen);
}
ok(wait_until(sub { $tty->pump_nb; $screen =~ /initial load done/ }, 60),
	'the load on a terminal finishes')
  or diag($screen);
$tty->signal('TERM');
$tty->finish;
(my $shown = $screen) =~ s/\e/\\e/g;
$shown =~ s/\r/\\r/g;
note("terminal output:\n$shown");

# The terminal turns each "\n" into "\r\n"; every report begins with a
# bare "\r" and ends by erasing the rest of the line.
my @screen_lines = split /\r\n/, $screen;
my ($line) = grep { /\rpg2es: loading \Q$table\E: / } @screen_lines;
ok(defined $line, "one terminal line holds the progress of $table");
$line //= '';
my @updates = split /\r/, $line;
shift @updates while @updates && $updates[0] !~ /^pg2es: loading/;
cmp_ok(scalar(@updates), '>=', 3,
	'the line is rewritten in place: several reports, each after a carriage return, no newline');
my @bad = grep { !/^pg2es: loading \Q$table\E: $figures\e\[K$/ } @updates;
is_deeply(\@bad, [], 'every report names the table, rows done / ~estimate (%), a rate and the time left, then erases the rest of the line');

my @seen = map { [/$figures/] } @updates;
my @mid = grep { $_->[0] > 0 && $_->[0] < $rows } @seen[0 .. $#seen - 1];
ok(@mid >= 1, 'a report came while the load was under way');
if (@mid)
{
	my ($done, $estimate, $pct, $rate, $left) = @{ $mid[0] };
	cmp_ok(abs($estimate - $rows), '<=', $rows / 10, "the estimate is about the table's $rows rows");
	is($pct, int(100 * $done / $estimate), 'the percentage is rows done of the estimate, rounded down');
	cmp_ok($rate, '>', 0, 'the rate is positive');
}
my @none_left = grep { $_->[0] < $_->[1] && $_->[4] eq '0s' } @seen;
is(scalar(@none_left), 0, 'a report before the estimate is reached has time left (rounded up)');
my @done_counts = map { $_->[0] } @seen;
is_deeply(\@done_counts, [ sort { $a <=> $b } @done_counts ], 'rows done never go down');
my $final = $seen[-1] // [];
is($final->[0], $rows, 'the last report counts every row');
is($final->[2], 100, 'the last report says 100%');
is($final->[4], '0s', 'the last report has nothing left');
unlike($screen, qr/info: loading /, 'no progress log lines on a terminal');
like($screen, qr{\r[^\r\n]* $rows / ~\d+ \(100%\) rows, \d+ rows/s, 0s left\e\[K\r\n},
	'the final report ends its line');
like($screen, qr{\r\n\S+ pg2es: info: table \Q$table\E loaded: $rows rows},
	'the log line saying the table is loaded begins a line of its own');

# --- without a terminal ---
$node->safe_psql('postgres', "SELECT pg_drop_replication_slot('progress_tty')");
my $fwd = start_forwarder(
	node => $node,
	slot => 'progress_log',
	es   => $es,
	env  => \%progress_env,
	args => \@throttle);
ok(wait_until(sub { $fwd->log_contents =~ /initial load done/ }, 60),
	'the load without a terminal finishes')
  or diag($fwd->log_contents);
$fwd->stop;
my $log = $fwd->log_contents;
unlike($log, qr/[\r\e]/, 'no carriage returns or terminal controls in the log');
my @logged = $log =~ /^\S+ pg2es: info: loading \Q$table\E: ($figures)$/mg;
my @reports = map { [/$figures/] } grep { m{ / } } @logged;
cmp_ok(scalar(@reports), '>=', 3, 'several progress log lines');
ok((grep { $_->[0] > 0 && $_->[0] < $rows && $_->[3] > 0 } @reports),
	'a log line came while the load was under way, with a rate');
is_deeply($reports[-1] ? [ @{ $reports[-1] }[ 0, 2, 4 ] ] : [], [ $rows, 100, '0s' ],
	'the last log line counts every row, 100%, nothing left');

done_testing();
