
# Pg2es::HA - a primary and a streaming standby for the failover tests
# (tests/e2e/t/4xx_*.pl), on the PostgreSQL major the suite runs them with.
#
# PG2ES_INSTALL_PATH names the installation to run (a directory with bin/,
# as PostgreSQL::Test::Cluster's install_path); unset, the machine's own
# PostgreSQL on the PATH.  The forwarder and psql are the machine's, as a
# user's would be: libpq talks to every major.

package Pg2es::HA;

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

use Pg2es::Test qw(wait_until);

our @EXPORT_OK = qw(ha_node ha_pair common_conf server_major install_major multi_host_connstr
  start_ha_forwarder start_writer writer_count stop_writer wait_slot_caught_up
  metrics_of);

# The installation the nodes run, or undef for the default one.
sub install_path
{
	return $ENV{PG2ES_INSTALL_PATH} || undef;
}

# A node (not yet initialized) of the installation under test.
sub ha_node
{
	my ($name) = @_;
	my $inst = install_path();
	return PostgreSQL::Test::Cluster->new($name,
		defined $inst ? (install_path => $inst) : ());
}

# The major version of the installation under test, before any node runs.
sub install_major
{
	my $inst = install_path();
	my $postgres = defined $inst ? "$inst/bin/postgres" : 'postgres';
	my $v = `$postgres -V`;
	die "cannot run $postgres" unless $v =~ /\(PostgreSQL\) (\d+)/;
	return $1;
}

# The major version of the node's server, as a number (15, 17, 18).
sub server_major
{
	my ($node) = @_;
	my $num = $node->safe_psql('postgres', 'SHOW server_version_num');
	return int($num / 10000);
}

# Settings every node of a pair has: logical decoding with the pg2es plugin
# allowed, room for slots, and feedback from the standby.
sub common_conf
{
	my ($node) = @_;
	my $postgres = $node->installed_command('postgres');
	my $conf = <<'EOC';
max_replication_slots = 10
max_wal_senders = 10
wal_sender_timeout = 60s
hot_standby_feedback = on
log_min_messages = warning
EOC
	$conf .= "output_plugin_libraries = 'pgoutput, test_decoding, pg2es'\n"
	  if `$postgres --describe-config 2>/dev/null` =~ /^output_plugin_libraries\t/m;
	return $conf;
}

# A started primary with the pg2es extension and a physical slot
# "standby1", and a started standby streaming from it through that slot
# (primary_slot_name; primary_conninfo names a database, which slot
# synchronization needs).  %opts: primary_conf, standby_conf (appended).
# Returns ($primary, $standby).
sub ha_pair
{
	my ($name, %opts) = @_;
	my $primary = ha_node("${name}_primary");
	$primary->init(allows_streaming => 'logical');
	$primary->append_conf('postgresql.conf', common_conf($primary));
	$primary->append_conf('postgresql.conf', $opts{primary_conf})
	  if $opts{primary_conf};
	$primary->start;
	my $inst = install_path();
	BAIL_OUT("PG2ES_INSTALL_PATH=$inst but the server is PostgreSQL " . server_major($primary))
	  if defined $inst && $inst =~ m{/postgresql/(\d+)/?$} && server_major($primary) != $1;
	$primary->safe_psql('postgres',
		"CREATE EXTENSION pg2es; SELECT pg_create_physical_replication_slot('standby1')");
	$primary->backup("${name}_backup");

	my $standby = ha_node("${name}_standby");
	$standby->init_from_backup($primary, "${name}_backup", has_streaming => 1);
	$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby1'\n"
		  . sprintf("primary_conninfo = 'host=%s port=%s dbname=postgres'\n",
			$primary->host, $primary->port));
	$standby->append_conf('postgresql.conf', $opts{standby_conf})
	  if $opts{standby_conf};
	$standby->start;
	$primary->wait_for_catchup($standby, 'replay');
	return ($primary, $standby);
}

# libpq's multi-host connection string over the nodes, to the one that
# accepts writes.
sub multi_host_connstr
{
	my (@nodes) = @_;
	return sprintf('host=%s port=%s dbname=postgres target_session_attrs=read-write',
		join(',', map { $_->host } @nodes), join(',', map { $_->port } @nodes));
}

# The forwarder with -d $opts{conninfo} instead of one node's; otherwise
# as Pg2es::Test::start_forwarder.
sub start_ha_forwarder
{
	my (%opts) = @_;
	return Pg2es::HA::Forwarder->new(%opts);
}

# A background writer: one transaction after the other on $connstr (an
# insert of a new row, an update and a delete of older ones, in
# $table (id int primary key, v text)), going on through errors (a
# failover), until stopped.  Returns a handle for stop_writer.
sub start_writer
{
	my ($connstr, $table, $first_id) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $script = <<'EOS';
n=$FIRST
while [ ! -e "$DIR/stop" ]; do
	if psql -X -q -d "$CONN" -c "INSERT INTO $TABLE VALUES ($n, 'w$n') ON CONFLICT (id) DO UPDATE SET v = excluded.v; UPDATE $TABLE SET v = v || '+' WHERE id = $((n % 200 + 1)); DELETE FROM $TABLE WHERE id = $((n - 30))" >/dev/null 2>>"$DIR/errors"; then
		n=$((n + 1))
		echo "$n" >"$DIR/count"
	else
		sleep 0.2
	fi
	sleep 0.02
done
EOS
	local %ENV = (%ENV, FIRST => $first_id, DIR => $dir, CONN => $connstr,
		TABLE => $table);
	my $proc = IPC::Run::start([ 'bash', '-c', $script ], '<', \undef);
	return { proc => $proc, dir => $dir, first => $first_id };
}

# How many transactions the writer has committed so far.
sub writer_count
{
	my ($w) = @_;
	my $f = "$w->{dir}/count";
	return 0 unless -e $f;
	chomp(my $n = PostgreSQL::Test::Utils::slurp_file($f));
	return $n eq '' ? 0 : $n - $w->{first};
}

# Stops the writer; returns how many transactions it committed.
sub stop_writer
{
	my ($w) = @_;
	open(my $fh, '>', "$w->{dir}/stop") or die "stop file: $!";
	close $fh;
	$w->{proc}->finish;
	return writer_count($w);
}

# Waits until the slot on $node has confirmed everything written so far:
# the forwarder has it all in Elasticsearch.
sub wait_slot_caught_up
{
	my ($node, $slot) = @_;
	my $target = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
	return wait_until(
		sub {
			$node->safe_psql('postgres',
				"SELECT coalesce(confirmed_flush_lsn >= '$target', false)"
				  . " FROM pg_replication_slots WHERE slot_name = '$slot'") eq 't';
		});
}

# The forwarder's /metrics text on $port ('' when it does not answer).
sub metrics_of
{
	my ($port) = @_;
	my $res = HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$port/metrics");
	return $res->{status} == 200 ? $res->{content} : '';
}

package Pg2es::HA::Forwarder;

use strict;
use warnings;

use parent -norequire, 'Pg2es::Test::Forwarder';

sub command
{
	my ($self) = @_;
	my @cmd = (Pg2es::Test::forwarder_bin(), '-d', $self->{conninfo},
		'-S', $self->{slot} // 'pg2es', '--es-url', $self->{es}->url);
	push @cmd, @{ $self->{args} } if $self->{args};
	return @cmd;
}

1;
