
# Pg2es::Test - shared helpers for pg2es's end-to-end TAP tests.
#
# Starts throwaway PostgreSQL clusters (PostgreSQL::Test::Cluster) set up for
# logical decoding with the pg2es plugin, starts the Elasticsearch emulator
# (or uses the real cluster named by ES_URL), runs the forwarder, and compares
# an index with its table.
#
# Every test that uses Elasticsearch goes through Pg2es::Test::ES, so that it
# runs unchanged against a real cluster when ES_URL is set; tests that need
# the emulator's fault injection call require_emulator(), which skips them
# against a real cluster.

package Pg2es::Test;

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT_OK = qw(repo_root forwarder_bin new_cluster start_es
  start_forwarder index_equals_table wait_until
  require_emulator json_canonical);

# The repository root: this file is tests/lib/Pg2es/Test.pm.
sub repo_root
{
	return abs_path(dirname(__FILE__) . '/../../..');
}

# The forwarder binary built by `make -C forwarder`.
sub forwarder_bin
{
	my $bin = repo_root() . '/forwarder/pg2es';
	BAIL_OUT("forwarder not built: $bin is missing (run make)") unless -x $bin;
	return $bin;
}

# Does this server know output_plugin_libraries (PostgreSQL 15.19+ and the
# same minor releases of other majors)?  Older servers refuse the setting at
# startup, so it is added only where it exists.
sub server_has_output_plugin_libraries
{
	my $postgres = install_path() ? install_path() . '/bin/postgres' : 'postgres';
	my $out = `$postgres --describe-config 2>/dev/null`;
	return $out =~ /^output_plugin_libraries\t/m ? 1 : 0;
}

# A started cluster ready for logical decoding with pg2es, the extension
# created in database "postgres".  Extra settings go in $extra_conf.
# The installation the test clusters come from: PG2ES_INSTALL_PATH (the
# bindir's parent of another major, tests/majors), or undef for the
# PostgreSQL found on PATH.
sub install_path
{
	return $ENV{PG2ES_INSTALL_PATH} || undef;
}

sub new_cluster
{
	my ($name, %opts) = @_;
	my $node = install_path()
	  ? PostgreSQL::Test::Cluster->new($name, install_path => install_path())
	  : PostgreSQL::Test::Cluster->new($name);

	$node->init(allows_streaming => 'logical');
	$node->append_conf('postgresql.conf', <<'EOC');
max_replication_slots = 10
max_wal_senders = 10
wal_sender_timeout = 60s
log_min_messages = warning
log_statement = none
EOC
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, pg2es'\n")
	  if server_has_output_plugin_libraries();
	$node->append_conf('postgresql.conf', $opts{extra_conf})
	  if defined $opts{extra_conf};
	$node->start;
	if (install_path())
	{
		# a run against another major proves it got that server
		my $version = $node->safe_psql('postgres', 'SHOW server_version');
		BAIL_OUT("cluster $name runs PostgreSQL $version, not "
			  . $node->pg_version . ' from ' . install_path())
		  unless index($version, $node->pg_version . '') == 0;
		note("cluster $name: PostgreSQL $version from " . install_path());
	}
	$node->safe_psql('postgres', 'CREATE EXTENSION pg2es');
	return $node;
}

# Polls $check (a sub returning true when done) every 100 ms for up to
# $timeout seconds.  Returns whether it became true.
sub wait_until
{
	my ($check, $timeout) = @_;
	$timeout //= $PostgreSQL::Test::Utils::timeout_default;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		return 1 if $check->();
		usleep(100_000);
	}
	return $check->() ? 1 : 0;
}

# Skips the rest of the test file unless the emulator is in use.
sub require_emulator
{
	my ($es) = @_;
	plan skip_all => 'needs the emulator (ES_URL points at a real cluster)'
	  unless $es->{emulated};
}

# Starts the emulator (extra command-line flags in @args), or wraps ES_URL.
sub start_es
{
	my (@args) = @_;
	return Pg2es::Test::ES->new(@args);
}

# JSON text with sorted keys and big numbers kept exact, for comparing a
# document from Elasticsearch with one encoded by PostgreSQL.
sub json_canonical
{
	my ($text) = @_;
	my $json = JSON::PP->new->canonical->allow_bignum->allow_nonref;
	return $json->encode($json->decode($text));
}

# Runs the forwarder in the background.  %opts: node (the cluster), slot,
# es (a Pg2es::Test::ES), es_url (the --es-url value, when it is not the
# es object's URL), args (extra arguments), env (extra environment),
# log (file for stdout+stderr; default in the test's tmp dir).
# Returns a Pg2es::Test::Forwarder.
sub start_forwarder
{
	my (%opts) = @_;
	return Pg2es::Test::Forwarder->new(%opts);
}

# Compares the index with the table through the standard Elasticsearch
# APIs: the documents the table's rows encode to (pg2es.doc_id and
# pg2es.doc_source over the table, with @$options as plugin options) must
# be exactly the documents in the index.  Returns (1, '') when equal, else
# (0, a description naming the first differing _id and the totals).
sub index_equals_table
{
	my ($node, $es, $table, $index, $options, $dbname) = @_;
	$dbname //= 'postgres';
	my $optlit = _options_literal($options);
	# the _id travels as a JSON string: it may hold newlines and tabs
	my $rows = $node->safe_psql($dbname,
		"SELECT to_json(pg2es.doc_id('$table'::regclass, t, $optlit))::text || E'\\t' || "
		  . "convert_from(pg2es.doc_source('$table'::regclass, t, $optlit), 'UTF8') "
		  . "FROM $table t");
	my %want;
	my $json = JSON::PP->new->allow_nonref;
	for my $line (split /\n/, $rows)
	{
		my ($id, $src) = split /\t/, $line, 2;
		$want{ $json->decode($id) } = json_canonical($src);
	}
	my $have = $es->all_docs($index);
	my (@missing, @extra, @different);
	for my $id (sort keys %want)
	{
		if (!exists $have->{$id}) { push @missing, $id; next; }
		push @different, $id
		  if json_canonical($have->{$id}) ne $want{$id};
	}
	for my $id (sort keys %$have)
	{
		push @extra, $id unless exists $want{$id};
	}
	return (1, '') unless @missing || @extra || @different;
	my $msg = sprintf(
		"index %s vs table %s: %d rows, %d docs; missing %d, extra %d, different %d",
		$index, $table, scalar(keys %want), scalar(keys %$have),
		scalar(@missing), scalar(@extra), scalar(@different));
	$msg .= "; first missing _id $missing[0]" if @missing;
	$msg .= "; first extra _id $extra[0]" if @extra;
	if (@different)
	{
		my $id = $different[0];
		$msg .= "; first different _id $id: want $want{$id} have "
		  . json_canonical($have->{$id});
	}
	return (0, $msg);
}

# An SQL text[] literal for plugin options given as 'name=value' strings.
sub _options_literal
{
	my ($options) = @_;
	return "'{}'::text[]" unless $options && @$options;
	return 'ARRAY['
	  . join(',', map { my $s = $_; $s =~ s/'/''/g; "'$s'" } @$options)
	  . ']::text[]';
}

package Pg2es::Test::ES;

use strict;
use warnings;

use File::Basename ();
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64;
use Scalar::Util;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# Starts the emulator on a free port, or uses $ENV{ES_URL} (with
# ES_USER/ES_PASSWORD or ES_API_KEY for credentials, ES_CACERT for TLS).
# With '--faults', a real cluster is reached through tests/faultproxy, so
# that fault() works against it as against the emulator.
sub new
{
	my ($class, @args) = @_;
	my $self = bless { json => JSON::PP->new->allow_nonref->allow_bignum }, $class;
	my $faults = grep { $_ eq '--faults' } @args;
	@args = grep { $_ ne '--faults' } @args;

	if ($ENV{ES_URL} && !grep { $_ eq '--force-emulator' } @args)
	{
		$self->{url}      = $ENV{ES_URL} =~ s{/+$}{}r;
		$self->{emulated} = 0;
		$self->{user}     = $ENV{ES_USER};
		$self->{password} = $ENV{ES_PASSWORD};
		$self->{api_key}  = $ENV{ES_API_KEY};
		$self->{cacert}   = $ENV{ES_CACERT};
		$self->_start_fault_proxy if $faults;
	}
	else
	{
		@args = grep { $_ ne '--force-emulator' } @args;
		$self->_start_emulator(@args);
		$self->{faults} = 1;
	}
	my %http = (timeout => 30, keep_alive => 1);
	$http{SSL_options} = { SSL_ca_file => $self->{cacert} }
	  if $self->{cacert};
	$self->{http} = HTTP::Tiny->new(%http);
	$self->_wipe_suite_engine unless $self->{emulated};
	return $self;
}

# A real engine that tests/run-suites.sh started for the suite
# (PG2ES_ENGINE_OWNED=its URL; never a cluster the user named, nor one a
# test started itself) serves every test file in turn: each file starts
# from no index at all, as it does with an emulator of its own.  Done once
# per test file, at its first start_es on that engine.
my $suite_engine_wiped = 0;

sub _wipe_suite_engine
{
	my ($self) = @_;
	my $owned = $ENV{PG2ES_ENGINE_OWNED} // '';
	return if $owned eq '' || $suite_engine_wiped;
	return if ($self->{upstream} // $self->{url}) ne ($owned =~ s{/+$}{}r);
	$suite_engine_wiped = 1;
	my ($status, undef, $raw) = $self->request('DELETE', '/*');
	die "could not delete the suite engine's indexes: HTTP $status $raw"
	  unless $status == 200 || $status == 404;
	return;
}

# Emulators and forwarders still running when the test file ends are
# stopped here: DESTROY is not reliable during global destruction.
our @started;

END
{
	local $?;
	for my $obj (grep { defined } @started)
	{
		$obj->stop;
	}
}

sub _start_emulator
{
	my ($self, @args) = @_;
	my $scheme = 'http';
	for my $i (0 .. $#args)
	{
		$scheme = 'https' if $args[$i] eq '--tls-cert';
		$self->{user}     = $args[ $i + 1 ] if $args[$i] eq '--user';
		$self->{password} = $args[ $i + 1 ] if $args[$i] eq '--password';
		$self->{api_key}  = $args[ $i + 1 ] if $args[$i] eq '--api-key';
	}
	my $port = $self->_start_python('tests/emulator/esemu.py', @args);
	$self->{port}     = $port;
	$self->{url}      = "$scheme://127.0.0.1:$port";
	$self->{emulated} = 1;
	return;
}

# The real cluster at $self->{url} is reached through a fault proxy from
# now on; checks still go to the cluster itself only through the proxy,
# which passes them on unchanged.
sub _start_fault_proxy
{
	my ($self) = @_;
	my @args = ('--upstream', $self->{url});
	push @args, '--cacert', $self->{cacert} if $self->{cacert};
	my $port = $self->_start_python('tests/faultproxy/faultproxy.py', @args);
	$self->{upstream} = $self->{url};
	$self->{url}      = "http://127.0.0.1:$port";
	$self->{faults}   = 1;
	return;
}

# Starts one of the tests' Python servers on a free port (stopped with
# this object); returns the port.
sub _start_python
{
	my ($self, $script, @args) = @_;
	my $dir      = PostgreSQL::Test::Utils::tempdir();
	my $name     = File::Basename::basename($script, '.py');
	my $portfile = "$dir/$name.port";
	my $log      = "$dir/$name.log";
	$self->{proc} = IPC::Run::start(
		[ '/usr/bin/python3', Pg2es::Test::repo_root() . "/$script",
			'--port', '0', '--port-file', $portfile, @args ],
		'<', \undef, '>>', $log, '2>>', $log);
	$self->{log} = $log;
	push @started, $self;
	Scalar::Util::weaken($started[-1]);
	for (1 .. 300)
	{
		last if -s $portfile;
		usleep(50_000);
	}
	BAIL_OUT("$name did not start; see $log") unless -s $portfile;
	chomp(my $port = PostgreSQL::Test::Utils::slurp_file($portfile));
	return $port;
}

sub url      { return $_[0]->{url}; }
sub emulated { return $_[0]->{emulated}; }
sub log_file { return $_[0]->{log}; }

# The request headers carrying this cluster's credentials.
sub auth_headers
{
	my ($self) = @_;
	return { Authorization => "ApiKey $self->{api_key}" } if $self->{api_key};
	return { Authorization => 'Basic '
		  . MIME::Base64::encode_base64("$self->{user}:$self->{password}", '') }
	  if defined $self->{user};
	return {};
}

# Sends a request; $body is a Perl structure (sent as JSON) or a string
# (sent as is, as NDJSON).  Returns (status, decoded body or undef, raw body).
sub request
{
	my ($self, $method, $path, $body) = @_;
	my %headers = %{ $self->auth_headers };
	my %opts = (headers => \%headers);
	if (defined $body)
	{
		if (ref $body)
		{
			$opts{content} = encode_json($body);
			$headers{'Content-Type'} = 'application/json';
		}
		else
		{
			$opts{content} = $body;
			$headers{'Content-Type'} = 'application/x-ndjson';
		}
	}
	my $res = $self->{http}->request($method, $self->{url} . $path, \%opts);
	my $decoded;
	$decoded = eval { $self->{json}->decode($res->{content}) }
	  if defined $res->{content} && length $res->{content};
	return ($res->{status}, $decoded, $res->{content});
}

# Deletes an index if it exists (tests start from a clean slate, also on a
# real cluster); an alias (as pg2es names its indexes) goes with the
# concrete indexes behind it.
sub delete_index
{
	my ($self, $index) = @_;
	my ($status, $body) = $self->request('GET', '/_alias/' . _path_escape($index));
	my @concrete = $status == 200 ? sort keys %$body : ($index);
	for my $name (@concrete)
	{
		($status) = $self->request('DELETE', '/' . _path_escape($name));
	}
	return $status;
}

# GET /INDEX/_mapping of an index name (an alias, as pg2es names its
# indexes): (the concrete index answering, its mappings without the
# _meta that pg2es adds, that _meta).
sub concrete_mapping
{
	my ($self, $index) = @_;
	my ($status, $body) = $self->request('GET', '/' . _path_escape($index) . '/_mapping');
	die "GET $index/_mapping: HTTP $status" unless $status == 200 && keys %$body == 1;
	my ($concrete) = keys %$body;
	my %mappings = %{ $body->{$concrete}{mappings} };
	my $meta = delete $mappings{_meta};
	return ($concrete, \%mappings, $meta);
}

sub refresh
{
	my ($self, $index) = @_;
	$self->request('POST', '/' . _path_escape($index) . '/_refresh');
	return;
}

# Number of documents in the index (0 when it does not exist).
sub count
{
	my ($self, $index) = @_;
	$self->refresh($index);
	my ($status, $body) =
	  $self->request('GET', '/' . _path_escape($index) . '/_count');
	($status, $body) =
	  $self->request('GET', '/' . _path_escape($index) . '/_count')
	  if $status == 503 && $self->_wait_for_primaries($index);
	return 0 if $status == 404;
	die "count $index: HTTP $status" unless $status == 200;
	return $body->{count};
}

# A real engine answers 503 to a search of an index created a moment ago
# whose primary shard has not started yet: waits (30 s at most) until it
# has, then refreshes it.  Returns whether it has.
sub _wait_for_primaries
{
	my ($self, $index) = @_;
	my ($status) = $self->request('GET', '/_cluster/health/' . _path_escape($index)
		  . '?wait_for_status=yellow&timeout=30s');
	return 0 unless $status == 200;
	$self->refresh($index);
	return 1;
}

# All documents of the index as { _id => source JSON text }, read with a
# scroll so that any size works.
sub all_docs
{
	my ($self, $index) = @_;
	my %docs;
	$self->refresh($index);
	my @first = ('POST', '/' . _path_escape($index) . '/_search?scroll=1m',
		{ size => 1000, sort => ['_doc'], query => { match_all => {} } });
	my ($status, $body) = $self->request(@first);
	($status, $body) = $self->request(@first)
	  if $status == 503 && $self->_wait_for_primaries($index);
	return {} if $status == 404;
	die "search $index: HTTP $status" unless $status == 200;
	while (1)
	{
		my $hits = $body->{hits}{hits};
		last unless @$hits;
		$docs{ $_->{_id} } = $self->{json}->encode($_->{_source}) for @$hits;
		($status, $body) = $self->request('POST', '/_search/scroll',
			{ scroll => '1m', scroll_id => $body->{_scroll_id} });
		die "scroll $index: HTTP $status" unless $status == 200;
	}
	$self->request('DELETE', '/_search/scroll',
		{ scroll_id => $body->{_scroll_id} })
	  if $body->{_scroll_id};
	return \%docs;
}

# Installs fault rules (see docs/design.md): the emulator's, or those of
# the fault proxy in front of a real cluster (start_es('--faults')).
sub fault
{
	my ($self, $rules) = @_;
	die "faults need the emulator or start_es('--faults')" unless $self->{faults};
	my ($status) = $self->request('POST', '/_emulator/faults', $rules);
	die "fault: HTTP $status" unless $status == 200;
	return;
}

# Drops the fault rules, except those of the kinds in @keep (at once, so
# that those never lapse).
sub clear_faults
{
	my ($self, @keep) = @_;
	my $query = @keep ? '?keep=' . join(',', @keep) : '';
	$self->request('DELETE', "/_emulator/faults$query") if $self->{faults};
	return;
}

sub stats
{
	my ($self) = @_;
	my (undef, $body) = $self->request('GET', '/_emulator/stats');
	return $body;
}

sub stop
{
	my ($self) = @_;
	if ($self->{proc})
	{
		$self->{proc}->signal('TERM');
		$self->{proc}->finish;
		delete $self->{proc};
	}
	return;
}

sub DESTROY { my ($self) = @_; local $?; $self->stop; return; }

sub _path_escape
{
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord($1))/ge;
	return $s;
}

package Pg2es::Test::Forwarder;

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

sub new
{
	my ($class, %opts) = @_;
	my $self = bless {%opts}, $class;
	$self->{log} //= PostgreSQL::Test::Utils::tempdir() . '/pg2es.log';
	$self->start;
	return $self;
}

# The argument list: connection, slot and cluster, then the test's own.
sub command
{
	my ($self) = @_;
	my $node = $self->{node};
	my @cmd  = (
		Pg2es::Test::forwarder_bin(),
		'-d', $node->connstr($self->{dbname} // 'postgres'),
		'-S', $self->{slot} // 'pg2es',
		'--es-url', $self->{es_url} // $self->{es}->url);
	push @cmd, @{ $self->{args} } if $self->{args};
	return @cmd;
}

sub start
{
	my ($self) = @_;
	my %env = %ENV;
	my $es = $self->{es};
	$env{PG2ES_ES_USER}     = $es->{user}     if defined $es->{user};
	$env{PG2ES_ES_PASSWORD} = $es->{password} if defined $es->{password};
	$env{PG2ES_ES_API_KEY}  = $es->{api_key}  if defined $es->{api_key};
	$env{PG2ES_ES_CACERT}   = $es->{cacert}   if defined $es->{cacert};
	%env = (%env, %{ $self->{env} }) if $self->{env};
	my @cmd = $self->command;
	local %ENV = %env;
	$self->{proc} = IPC::Run::start(\@cmd, '<', \undef, '>>', $self->{log},
		'2>>', $self->{log});
	push @Pg2es::Test::ES::started, $self;
	Scalar::Util::weaken($Pg2es::Test::ES::started[-1]);
	return;
}

sub pid { return $_[0]->{proc}->{KIDS}[0]{PID}; }

sub log_contents
{
	my ($self) = @_;
	return -e $self->{log} ? PostgreSQL::Test::Utils::slurp_file($self->{log}) : '';
}

# Sends a signal and waits for the process; returns its exit status ($?).
sub stop
{
	my ($self, $signal) = @_;
	return unless $self->{proc};
	$self->{proc}->signal($signal // 'TERM');
	$self->{proc}->finish;
	my $status = $self->{proc}->full_result(0);
	delete $self->{proc};
	return $status;
}

sub kill9 { my ($self) = @_; return $self->stop('KILL'); }

sub running { my ($self) = @_; return $self->{proc} && $self->{proc}->pumpable; }

sub DESTROY
{
	my ($self) = @_;
	local $?;
	$self->{proc}->kill_kill if $self->{proc};
	return;
}

# --- added by the initial load / verify work (issue 5) ---
package Pg2es::Test;

# Runs `pg2es verify` against the cluster and the Elasticsearch of $es with
# extra arguments @args (plugin options, tables).  Returns (exit status,
# stdout, stderr).
sub run_verify
{
	my ($node, $es, @args) = @_;
	my @cmd = (forwarder_bin(), 'verify', '-d', $node->connstr('postgres'),
		'--es-url', $es->url, @args);
	my %env = %ENV;
	$env{PG2ES_ES_USER}     = $es->{user}     if defined $es->{user};
	$env{PG2ES_ES_PASSWORD} = $es->{password} if defined $es->{password};
	$env{PG2ES_ES_API_KEY}  = $es->{api_key}  if defined $es->{api_key};
	$env{PG2ES_ES_CACERT}   = $es->{cacert}   if defined $es->{cacert};
	local %ENV = %env;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

push @EXPORT_OK, 'run_verify';
# --- end of the issue 5 additions ---

# --- added by the reliability and security tests (issue 8) ---
package Pg2es::Test::ES;

# Trusts the CA certificates in $file for this test's own requests to an
# emulator serving HTTPS, and hands them to the forwarder (PG2ES_ES_CACERT),
# as ES_CACERT does for a real cluster.
sub use_cacert
{
	my ($self, $file) = @_;
	$self->{cacert} = $file;
	$self->{http} = HTTP::Tiny->new(timeout => 30, keep_alive => 1,
		SSL_options => { SSL_ca_file => $file });
	return;
}
# --- end of the issue 8 additions ---

1;
