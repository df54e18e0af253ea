
# What issue 19 found as a new user and as an attacker, each checked against
# a real PostgreSQL and the emulator:
#  * a LATIN1 database: verify and --print-mappings speak UTF-8 (every
#    connection asks for it);
#  * verify says what a table without a usable key and a pattern matching
#    no table are, and exits non-zero;
#  * --es-url accepts http and https only; a dead-letter file that cannot
#    be written is refused at start;
#  * -o on the command line wins over PG2ES_OPTION for the same option;
#  * a slot whose creation failed leaves no row in pg2es.load_state, and
#    output_plugin_libraries refuses superusers too (the README's claim);
#  * PGPASSWORD is gone from /proc/PID/environ, and reconnections still
#    have the password;
#  * verify without the extension, and a slot of another plugin, say what
#    to do.

use strict;
use warnings;

use Encode ();
use HTTP::Tiny;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(forwarder_bin new_cluster start_es start_forwarder wait_until);

delete $ENV{$_} for grep { /^PG2ES_/ } keys %ENV;

my $node = new_cluster('defects');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();

# Runs the forwarder to its end with @args (and %$env added to the
# environment); returns (exit status, stdout, stderr).
sub run_pg2es
{
	my ($env, @args) = @_;
	local %ENV = (%ENV, %{ $env // {} });
	my ($out, $err) = ('', '');
	IPC::Run::run([ forwarder_bin(), @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# pg2es verify on database $db with @args.
sub verify
{
	my ($db, @args) = @_;
	return run_pg2es({}, 'verify', '-d', $node->connstr($db), '--es-url', $es->url, @args);
}

# Whether the slot is streamed by someone.
sub slot_active
{
	my ($slot) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot' AND active") eq '1';
}

#
# A LATIN1 database (defect 5).
#
$node->safe_psql('postgres',
	"CREATE DATABASE lat TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
$node->safe_psql('lat', <<'EOS');
SET client_encoding = 'UTF8';
CREATE EXTENSION pg2es;
CREATE TABLE "menú" (plat text PRIMARY KEY, "prénom" text);
INSERT INTO "menú" VALUES ('café', 'Zoé'), ('crème brûlée', 'Agnès');
EOS
my $lat_index = $node->safe_psql('lat',
	q{SET client_encoding = 'UTF8'; SELECT pg2es.index_name('"menú"')});
$es->delete_index($lat_index);
my $fw = start_forwarder(node => $node, es => $es, dbname => 'lat', slot => 'lat',
	args => [ '--create-slot', '--dead-letter-file', "$dir/lat.ndjson" ]);
ok(wait_until(sub { $es->count($lat_index) == 2 }), 'LATIN1 database: the initial load syncs (keys with é)')
  or diag $fw->log_contents;
$node->safe_psql('lat',
	"SET client_encoding = 'UTF8'; INSERT INTO \"menú\" VALUES (convert_from('\\x6ee97665'::bytea, 'LATIN1'), 'x')");
ok(wait_until(sub { $es->count($lat_index) == 3 }), 'LATIN1 database: the stream syncs')
  or diag $fw->log_contents;
$fw->stop;
# (all_docs gives the UTF-8 bytes, as this file's literals are)
my $lat_docs = $es->all_docs($lat_index);
like($lat_docs->{'café'} // '', qr/"prénom":"Zoé"/,
	'LATIN1 database: _id and document in UTF-8 in the index');
my ($st, $out, $err) = verify('lat');
is($st, 0, 'LATIN1 database: verify exits 0') or diag "$out\n$err";
like($out, qr/"\Q$lat_index\E": 3 rows, 3 documents: equal/, 'LATIN1 database: verify finds the index equal');
($st, $out, $err) = run_pg2es({ PGCLIENTENCODING => 'LATIN1' }, '--print-mappings', '-d',
	$node->connstr('lat'));
is($st, 0, '--print-mappings in a LATIN1 database') or diag $err;
my $text = eval { Encode::decode('UTF-8', $out, Encode::FB_CROAK) } // '';
ok($text ne '', '--print-mappings prints UTF-8, whatever PGCLIENTENCODING says');
like($text, qr/^# table public\."men\x{fa}", alias "public\.men%fa"$/m, 'the table name in UTF-8');
like($text, qr/"pr\x{e9}nom"/, 'the column name in UTF-8');

#
# verify's verdicts (defects 6 and 15).
#
$node->safe_psql('postgres', <<'EOS');
CREATE TABLE nokey (v text);
INSERT INTO nokey VALUES ('a'), ('b');
CREATE TABLE nokey_empty (v text);
CREATE TABLE idc (code text, v text);
ALTER TABLE idc REPLICA IDENTITY FULL;
INSERT INTO idc VALUES ('k1', 'x'), (NULL, 'y');
CREATE TABLE keyed (id int PRIMARY KEY);
CREATE DATABASE noext;
EOS
($st, $out, $err) = verify('postgres', 'public.nokey');
is($st, 1, 'verify of a table without a usable key exits 1') or diag "$out\n$err";
like($out, qr/^public\.nokey -> index "[^"]+": no usable key .*its rows are never synced/m,
	'verify says the table has no usable key');
unlike($out, qr/equal$/m, 'a table without a usable key is not called equal');
($st, $out, $err) = verify('postgres', 'public.nokey_empty');
is($st, 1, 'even empty, a table without a usable key is not equal') or diag "$out\n$err";
($st, $out, $err) = verify('postgres', '-o', 'id-columns=public.idc:code', 'public.idc');
is($st, 1, 'verify of rows with a NULL id-columns key exits 1') or diag "$out\n$err";
like($out, qr/^  1 rows without a key value .*never synced/m, 'verify counts the rows without a key value');
($st, $out, $err) = verify('postgres', 'public.keyed', 'public.kyed');
is($st, 2, 'a table pattern matching no table is an error') or diag "$out\n$err";
like($err, qr/table pattern "public\.kyed" matches no table/, 'verify names the pattern');
like($out, qr/^public\.keyed -> .*: equal$/m, 'the other pattern is still verified');
($st, $out, $err) = verify('postgres', '-o', 'include-tables=nosuchschema.*');
is($st, 2, 'options covering no table are an error for verify') or diag "$out\n$err";
like($err, qr/no table to verify/, 'verify says there is nothing to verify');
($st, $out, $err) = verify('noext');
is($st, 2, 'verify without the extension exits 2');
like($err, qr/run CREATE EXTENSION pg2es/, 'verify without the extension says what to run');
unlike($err, qr/schema "pg2es" does not exist/, 'not the raw server error');

#
# A slot of another plugin (defect 15).
#
$node->safe_psql('postgres',
	"SELECT 'init' FROM pg_create_logical_replication_slot('td', 'test_decoding')");
($st, $out, $err) = run_pg2es({}, '-d', $node->connstr('postgres'), '-S', 'td', '--es-url',
	$es->url, '--dead-letter-file', "$dir/td.ndjson");
is($st, 1, 'a slot of another plugin stops the forwarder');
like($err, qr/replication slot "td" uses plugin test_decoding, not pg2es/,
	'the message names the slot\'s plugin');
unlike($err, qr/framing/, 'not the server\'s complaint about an option');

#
# Options refused at start (defects 7 and 8).
#
my $all_err = '';
for my $url ('ftp://u:Pw9@127.0.0.1/', 'file:///etc/passwd', 'notaurl', 'http://')
{
	($st, $out, $err) = run_pg2es({}, '-S', 's', '--es-url', $url, '--endpos', '0/1');
	is($st, 1, "--es-url $url refused at start");
	like($err, qr/invalid Elasticsearch URL .*only http:\/\/ and https:\/\//, "--es-url $url: the reason");
	$all_err .= $err;
}
unlike($all_err, qr/Pw9/, 'a refused URL is shown without its password');
# (--endpos: without the check, the forwarder would sync up to there and
# exit 0, having never needed the dead-letter file)
my $now = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
($st, $out, $err) = run_pg2es({}, '-d', $node->connstr('postgres'), '-S', 'dlq', '--create-slot',
	'--no-initial-load', '--endpos', $now, '--es-url', $es->url,
	'--dead-letter-file', "$dir/missing/dead.ndjson");
is($st, 1, 'a dead-letter file in a missing directory is refused at start');
like($err, qr/cannot write the dead-letter file ".*missing\/dead\.ndjson".*its directory does not exist/,
	'the message names the file and the reason');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'dlq'"),
	'0', 'nothing was done before the refusal');

#
# The command line wins over PG2ES_OPTION (defect 10).
#
$node->safe_psql('postgres', 'CREATE TABLE opt (id int PRIMARY KEY, v text)');
my $opt_index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.opt')");
$es->delete_index($opt_index);
$fw = start_forwarder(node => $node, es => $es, slot => 'opt',
	env  => { PG2ES_OPTION => 'versioning=off;include-tables=public.opt' },
	args => [ '--create-slot', '--no-initial-load', '-o', 'versioning=on',
		'--dead-letter-file', "$dir/opt.ndjson" ]);
SKIP:
{
	ok(wait_until(sub { slot_active('opt') || !$fw->running }) && slot_active('opt'),
		'PG2ES_OPTION versioning=off with -o versioning=on streams')
	  or diag($fw->log_contents), skip 'the forwarder does not stream', 2;
	$node->safe_psql('postgres', "INSERT INTO opt VALUES (1, 'a')");
	ok(wait_until(sub { $es->count($opt_index) == 1 }), 'the row syncs') or diag $fw->log_contents;
	my (undef, $doc) = $es->request('GET', "/$opt_index/_doc/1");
	cmp_ok($doc->{_version} // 0, '>', 1000,
		'the command line\'s versioning=on applies (the version is an LSN)');
}
unlike($fw->log_contents, qr/one lane, not/, 'versioning=on: the default lanes');
$fw->stop;

# versioning=off: one lane (without versions, request order is the only guard)
my $lanes_port = PostgreSQL::Test::Cluster::get_free_port();
$fw = start_forwarder(node => $node, es => $es, slot => 'opt',
	env  => { PG2ES_OPTION => 'versioning=off;include-tables=public.opt' },
	args => [ '--no-initial-load', '--metrics-port', $lanes_port,
		'--dead-letter-file', "$dir/opt.ndjson" ]);
my $lanes_http = HTTP::Tiny->new(timeout => 5);
ok( wait_until(
		sub {
			my $res = $lanes_http->get("http://127.0.0.1:$lanes_port/metrics");
			return $res->{success} && $res->{content} =~ /^pg2es_lanes 1$/m;
		}),
	'versioning=off: one lane (pg2es_lanes 1)') or diag $fw->log_contents;
like($fw->log_contents, qr/one lane, not 4: versioning=off/, 'versioning=off: the log says why');
$node->safe_psql('postgres', "INSERT INTO opt VALUES (2, 'b')");
ok(wait_until(sub { $es->count($opt_index) == 2 }), 'versioning=off, one lane: the row syncs')
  or diag $fw->log_contents;
$fw->stop;

#
# A slot whose creation failed (defects 13 and 14).
#
($st, $out, $err) = run_pg2es({}, '-d', $node->connstr('postgres'), '-S', 'Bad-Name!',
	'--create-slot', '--es-url', $es->url, '--dead-letter-file', "$dir/bad.ndjson");
is($st, 1, 'an invalid slot name fails the start');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg2es.load_state WHERE slot_name = 'Bad-Name!'}),
	'0', 'no pg2es.load_state row for a slot with an invalid name');
SKIP:
{
	skip 'server has no output_plugin_libraries', 4
	  unless `postgres --describe-config 2>/dev/null` =~ /^output_plugin_libraries\t/m;
	$node->append_conf('postgresql.conf', "output_plugin_libraries = 'pgoutput, test_decoding'\n");
	$node->reload;
	is($node->safe_psql('postgres', 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'),
		't', 'connected as a superuser');
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT pg_create_logical_replication_slot('su', 'pg2es')");
	like($stderr, qr/library "pg2es" may not be used as an output plugin/,
		'output_plugin_libraries refuses a superuser too');
	($st, $out, $err) = run_pg2es({}, '-d', $node->connstr('postgres'), '-S', 'refused',
		'--create-slot', '--es-url', $es->url, '--dead-letter-file', "$dir/refused.ndjson");
	is($st, 1, 'the plugin not allowed fails the start');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM pg2es.load_state WHERE slot_name = 'refused'}),
		'0', 'no pg2es.load_state row for a slot the server refused');
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, pg2es'\n");
	$node->reload;
}

#
# PGPASSWORD (defect 14): gone from /proc/PID/environ, still used to
# reconnect.
#
my $secret = 'Pg2esDefect14Pw';
$node->safe_psql('postgres', "CREATE ROLE pwuser SUPERUSER LOGIN PASSWORD '$secret'");
my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
open(my $fh, '>', $node->data_dir . '/pg_hba.conf') or die $!;
print $fh "local all pwuser scram-sha-256\nlocal replication pwuser scram-sha-256\n$hba";
close($fh);
$node->reload;
$node->safe_psql('postgres', 'CREATE TABLE pw (id int PRIMARY KEY)');
my $pw_index = $node->safe_psql('postgres', "SELECT pg2es.index_name('public.pw')");
$es->delete_index($pw_index);
my $log = "$dir/pw.log";
my @cmd = (forwarder_bin(), '-d', $node->connstr('postgres') . ' user=pwuser', '-S', 'pw',
	'--create-slot', '--no-initial-load', '-o', 'include-tables=public.pw', '--es-url', $es->url,
	'--dead-letter-file', "$dir/pw.ndjson");
my $proc;
{
	local $ENV{PGPASSWORD} = $secret;
	$proc = IPC::Run::start(\@cmd, '<', \undef, '>>', $log, '2>>', $log);
}
ok(wait_until(sub { slot_active('pw') }), 'the forwarder logs in with PGPASSWORD')
  or diag slurp_file($log);
my $environ = slurp_file('/proc/' . $proc->{KIDS}[0]{PID} . '/environ');
like($environ, qr/(^|\0)PATH=/, '/proc/PID/environ is readable');
unlike($environ, qr/\Q$secret\E/, 'PGPASSWORD is gone from /proc/PID/environ');
$node->restart;
$node->safe_psql('postgres', 'INSERT INTO pw VALUES (1)');
ok(wait_until(sub { $es->count($pw_index) == 1 }), 'after a PostgreSQL restart it reconnects with the password')
  or diag slurp_file($log);
$proc->signal('TERM');
$proc->finish;

$node->stop;
done_testing();
