#!/usr/bin/perl
# Decoder fuzz test (issue 8): tables with random column types (every
# built-in family, arrays, domains, enums, composites, ranges, extension
# types that are installed) filled with random and edge values, in a UTF8
# and a SQL_ASCII database, decoded with the pg2es plugin.  Every line must
# be valid UTF-8 and valid JSON of the expected shape, and the server must
# stay up with no crash in its log.
#
# Reproduce a run with PG2ES_FUZZ_SEED=<seed printed below>; PG2ES_FUZZ_SECONDS
# sets how long the random rounds run (default 40).
use strict;
use warnings;

use Encode ();
use JSON::PP ();
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(time);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{PG2ES_FUZZ_SEED} // (time() * 1000 % 1_000_000_007);
$seed = int($seed);
my $budget = $ENV{PG2ES_FUZZ_SECONDS} // 40;
srand($seed);
diag("decoder fuzz seed: $seed (rerun with PG2ES_FUZZ_SEED=$seed)");

# Same JSON rules as Elasticsearch's parser: strict, UTF-8 bytes in.
my $json = JSON::PP->new->utf8(1)->allow_nonref(1);

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', "logical_decoding_work_mem = 64kB\n");
my $describe = `postgres --describe-config 2>/dev/null`;
if ($describe =~ /^output_plugin_libraries\t/m)
{
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, pg2es'\n");
}
$node->start;
$ENV{PGCLIENTENCODING} = 'UTF8';

my %available = map { $_ => 1 } split /\n/,
  $node->safe_psql('postgres',
	"SELECT name FROM pg_available_extensions WHERE name IN ('hstore', 'citext', 'ltree', 'cube')");

# ---------------------------------------------------------------- values

# A random element of a list.
sub pick { return $_[ int(rand(@_)) ]; }

# A SQL string literal for text in the database: UTF8 bytes (a database in
# UTF8) or any bytes but NUL (SQL_ASCII), built from hex so that every
# byte, control characters included, arrives exactly.
sub sql_bytes_text
{
	my ($bytes, $db) = @_;
	my $enc = $db eq 'ascii' ? 'SQL_ASCII' : 'UTF8';
	return "convert_from('\\x" . unpack('H*', $bytes) . "'::bytea, '$enc')";
}

my @text_pieces = (
	'a', 'Zz', ' ', '"', '\\', '/', "\n", "\r", "\t", "\b", "\f",
	"\x01", "\x1f", "\x7f", '"}', "\n{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n",
	'\\u0000', "\x{e9}", "\x{65e5}\x{672c}", "\x{1f600}", "\x{2028}", "\x{feff}",
	'null', '{}', '[', '0', '-', 'T', 'Z', '::');

# A random text value (bytes) for database $db; under SQL_ASCII also bytes
# that are not UTF-8.
sub random_text_bytes
{
	my ($db, $maxpieces) = @_;
	my $s = '';
	my $n = int(rand($maxpieces // 12));
	for (1 .. $n)
	{
		if ($db eq 'ascii' && rand() < 0.3)
		{
			$s .= chr(0x80 + int(rand(128)));
			next;
		}
		$s .= Encode::encode('UTF-8', pick(@text_pieces));
	}
	$s = Encode::encode('UTF-8', 'x' x (100_000 + int(rand(50_000))))
	  . $s
	  if rand() < 0.01;
	return $s;
}

sub random_text { return sql_bytes_text(random_text_bytes(@_), $_[0]); }

sub random_int
{
	my ($bits) = @_;
	my $max = 2**($bits - 1);
	if ($bits == 64)
	{
		return pick('-9223372036854775808', '9223372036854775807', 0, -1)
		  if rand() < 0.4;
		return int(rand(2**52) - 2**51);
	}
	return pick(-$max, $max - 1, 0, -1, 1) if rand() < 0.4;
	return int(rand(2 * $max) - $max);
}

sub random_float
{
	return "'" . pick('NaN', 'Infinity', '-Infinity', '-0', '0') . "'"
	  if rand() < 0.3;
	my $v = (rand() - 0.5) * 10**(int(rand(60)) - 30);
	return "'$v'";
}

sub random_numeric
{
	return "'" . pick('NaN', 'Infinity', '-Infinity', '-0', '0.000') . "'"
	  if rand() < 0.2;
	return pick('10::numeric ^ 1000', '-(10::numeric ^ 900) - 0.5',
		'1e-300::numeric')
	  if rand() < 0.1;
	my $digits = join '', map { int(rand(10)) } 1 .. 1 + int(rand(30));
	my $point = int(rand(length($digits) + 1));
	substr($digits, $point, 0, '.') if $point < length $digits;
	$digits = "0$digits" if $digits =~ /^\./;
	return "'" . (rand() < 0.5 ? '-' : '') . $digits . "'";
}

sub random_date_text
{
	return pick('infinity', '-infinity', '0044-03-15 BC', '4714-11-24 BC',
		'5874897-12-31', '10000-01-01', '0001-01-01', '9999-12-31',
		'2024-02-29')
	  if rand() < 0.4;
	return sprintf('%04d-%02d-%02d', 1 + int(rand(9999)), 1 + int(rand(12)),
		1 + int(rand(28)));
}

sub random_time_text
{
	return pick('00:00', '24:00', '23:59:59.999999') if rand() < 0.2;
	my $t = sprintf('%02d:%02d:%02d', int(rand(24)), int(rand(60)),
		int(rand(60)));
	$t .= '.' . int(rand(1_000_000)) if rand() < 0.5;
	return $t;
}

sub random_offset
{
	return pick('+00', '-00:19:32', '+05:30', '-15:59', '+14', 'Z');
}

sub random_timestamp_text
{
	my ($tz) = @_;
	return pick('infinity', '-infinity', '294276-12-31 23:59:59.999999',
		'4713-01-01 00:00 BC', '1999-12-31 23:59:59.999999')
	  if rand() < 0.3;
	my $d = random_date_text();
	$d = '2000-01-01' if $d =~ /[A-Za-z]/ || $d =~ /^\d{5}/;
	return "$d " . random_time_text() . ($tz ? random_offset() : '');
}

sub random_interval_text
{
	return pick('0', '178000000 years', '-178000000 years',
		'-2147483648 days', '1 microsecond', '-0.5 sec')
	  if rand() < 0.3;
	return sprintf('%d years %d mons %d days %d hours %d minutes %.6f seconds',
		map { int(rand(200) - 100) } 1 .. 5, rand(120) - 60);
}

our $json_escapes_ok = 1;

# A random JSON text, with random whitespace (newlines too) for json.
sub random_json_text
{
	my ($depth) = @_;
	my $ws = sub { return pick('', '', ' ', "\n", "\t ", "\r\n") };
	my $r = rand();
	if ($depth < 3 && $r < 0.25)
	{
		return '[' . $ws->()
		  . join(',' . $ws->(),
			map { random_json_text($depth + 1) } 1 .. int(rand(4)))
		  . $ws->() . ']';
	}
	if ($depth < 3 && $r < 0.5)
	{
		return '{' . $ws->()
		  . join(',',
			map { json_string() . $ws->() . ':' . $ws->() . random_json_text($depth + 1) }
			  1 .. int(rand(4)))
		  . '}';
	}
	return pick('null', 'true', 'false', '0', '-1.5e10', '123456789012345678901234567890',
		'0.1', json_string(), json_string());
}

sub json_string
{
	my $s = pick('', 'k', 'é', '日本', '😀', 'a"b', 'a\\b', "tab\there", "nl\nx");
	# \u escapes above 007F are refused by jsonb outside UTF8 databases
	return JSON::PP->new->ascii($json_escapes_ok && rand() < 0.5)
	  ->allow_nonref->encode($s);
}

sub sql_json_literal
{
	my ($text, $type) = @_;
	(my $q = $text) =~ s/'/''/g;
	return "'$q'::$type";
}

# The type catalog: SQL type, value generator (database -> SQL expression),
# and the JSON shape its non-null values must have.
my @types = (
	[ 'int2',   sub { random_int(16) },            'number' ],
	[ 'int4',   sub { random_int(32) },            'number' ],
	[ 'int8',   sub { "'" . random_int(64) . "'" }, 'number' ],
	[ 'oid',    sub { int(rand(4294967296)) },      'number' ],
	[ 'float4', \&random_float,                    'number_or_null' ],
	[ 'float8', \&random_float,                    'number_or_null' ],
	[ 'numeric', \&random_numeric, 'number_or_null' ],
	[ 'numeric(12,3)', sub { sprintf("'%.4f'", rand(1e8) - 5e7) }, 'number' ],
	[ 'bool',   sub { pick('true', 'false') },      'bool' ],
	[ 'text',   sub { random_text($_[0]) },         'string' ],
	[ 'varchar', sub { random_text($_[0]) },        'string' ],
	[ 'char(7)', sub { "rpad(" . random_text($_[0], 3) . ", 7)" }, 'string' ],
	[ 'name',   sub { "left(" . random_text($_[0], 3) . ", 20)::name" }, 'string' ],
	[ '"char"', sub { pick("'a'", "'\\'", "'\"'", "''") }, 'string' ],
	[ 'json',   sub { sql_json_literal(random_json_text(0), 'json') },  'any' ],
	[ 'jsonb',  sub { sql_json_literal(random_json_text(0), 'jsonb') }, 'any' ],
	[ 'date',   sub { "'" . random_date_text() . "'" }, 'date' ],
	[ 'timestamp', sub { "'" . random_timestamp_text(0) . "'" }, 'timestamp' ],
	[ 'timestamptz', sub { "'" . random_timestamp_text(1) . "'" }, 'timestamptz' ],
	[ 'time',   sub { "'" . random_time_text() . "'" }, 'string' ],
	[ 'timetz', sub { "'" . random_time_text() . random_offset() . "'" }, 'string' ],
	[ 'interval', sub { "'" . random_interval_text() . "'" }, 'duration' ],
	[ 'bytea',  sub { "'\\x" . unpack('H*', random_text_bytes('ascii')) . "'" }, 'base64' ],
	[ 'uuid',   sub { 'gen_random_uuid()' }, 'uuid' ],
	[ 'inet',   sub { pick("'192.168.1.5'", "'10.0.0.1/8'", "'::1'", "'2001:db8::1/64'") }, 'string' ],
	[ 'cidr',   sub { pick("'10.0.0.0/8'", "'2001:db8::/32'") }, 'string' ],
	[ 'macaddr', sub { "'08:00:2b:01:02:03'" }, 'string' ],
	[ 'macaddr8', sub { "'08:00:2b:01:02:03:04:05'" }, 'string' ],
	[ 'money',  sub { sprintf("'%.2f'", rand(1e6) - 5e5) }, 'string' ],
	[ 'bit(4)', sub { pick("B'1010'", "B'0000'") }, 'string' ],
	[ 'varbit', sub { pick("B''", "B'1'", "B'10101010101'") }, 'string' ],
	[ 'tsvector', sub { "to_tsvector('simple', " . random_text('utf8') . ")" }, 'string' ],
	[ 'xml',    sub { pick("'<a>x</a>'", "'<a b=\"&quot;\"/>'", "'text'") }, 'string' ],
	[ 'pg_lsn', sub { pick("'0/0'", "'FFFFFFFF/FFFFFFFF'", "'16/B374D848'") }, 'string' ],
	[ 'point',  sub { "point(" . random_float() . "::float8, 1)" }, 'string' ],
	[ 'box',    sub { "'((0,0),(1,1))'" }, 'string' ],
	[ 'circle', sub { "'<(0,0),1.5>'" }, 'string' ],
	[ 'path',   sub { "'[(0,0),(1,1),(2,0)]'" }, 'string' ],
	[ 'fuzz_mood', sub { pick("'sad'", "'ok'", "'happy \"x\"'") }, 'string' ],
	[ 'fuzz_posint', sub { 1 + int(rand(1000)) }, 'number' ],
	[ 'fuzz_label', sub { random_text($_[0]) }, 'string' ],
	[ 'fuzz_pair', sub { "ROW(" . random_text($_[0]) . ", " . random_int(32) . ", '" . random_timestamp_text(1) . "')" }, 'object' ],
	[ 'int4range', sub { pick("'[1,5)'", "'empty'", "'(,)'", "'(,7]'", "'[3,)'") }, 'range' ],
	[ 'numrange', sub { pick("'[1.5,2.5]'", "'empty'", "'(,0)'") }, 'range' ],
	[ 'tstzrange', sub { pick("'[2024-01-01 00:00+00,infinity)'", "'(-infinity,2024-01-01 00:00+00]'", "'empty'", "'[2024-01-01 00:00+00,2024-01-02 00:00+00)'") }, 'range' ],
	[ 'daterange', sub { pick("'[2024-01-01,2024-02-01)'", "'[0044-01-01 BC,2024-01-01)'") }, 'range' ],
	[ 'fuzz_floatrange', sub { pick("fuzz_floatrange(" . random_float() . ", NULL)", "'empty'") }, 'range' ],
	[ 'int4multirange', sub { pick("'{}'", "'{[1,3),[5,7)}'", "'{(,)}'") }, 'array' ],
);
push @types, [ 'hstore', sub { pick(q{'a=>1, "b c"=>NULL'}, q{''}) }, 'string' ]
  if $available{hstore};
push @types, [ 'citext', sub { random_text($_[0]) }, 'string' ]
  if $available{citext};
push @types, [ 'ltree', sub { pick("'a.b.c'", "''") }, 'string' ]
  if $available{ltree};
push @types, [ 'cube', sub { pick("'(1,2),(3,4)'", "'(1e300)'") }, 'string' ]
  if $available{cube};

# Values of a random array of the scalar type $t: 1 to 3 dimensions, NULLs.
sub random_array
{
	my ($t, $db) = @_;
	my $dims = 1 + int(rand(3));
	my @len = map { 1 + int(rand(3)) } 1 .. $dims;
	my $build;
	$build = sub {
		my ($d) = @_;
		my @items = map {
			$d + 1 < $dims ? $build->($d + 1)
			  : (rand() < 0.2 ? 'NULL' : '(' . $t->[1]->($db) . ")::$t->[0]")
		} 1 .. $len[$d];
		return 'ARRAY[' . join(', ', @items) . ']';
	};
	return rand() < 0.1 ? "'{}'" : $build->(0);
}

# ---------------------------------------------------------------- shapes

my $date_re = qr/^\d{4}-\d\d-\d\d$/;
my $time_re = qr/\d\d:\d\d:\d\d(\.\d{1,6})?/;

# Returns an error text if $v (decoded JSON) does not fit $shape, else ''.
sub shape_error
{
	my ($v, $shape) = @_;
	return '' unless defined $v;
	my $r = ref $v;
	if ($shape eq 'number' || $shape eq 'number_or_null')
	{
		return $r eq '' && looks_like_number($v) ? '' : 'not a number';
	}
	return $r eq 'JSON::PP::Boolean' ? '' : 'not a boolean' if $shape eq 'bool';
	return $r eq 'HASH' ? '' : 'not an object' if $shape eq 'object';
	return $r eq 'ARRAY' ? '' : 'not an array' if $shape eq 'array';
	if ($shape eq 'range')
	{
		return 'not a range object' unless $r eq 'HASH';
		for my $k (keys %$v)
		{
			return "bad range key $k" unless $k =~ /^(gt|gte|lt|lte)$/;
		}
		return '';
	}
	return '' if $shape eq 'any';
	return 'not a string' unless $r eq '';
	return $v =~ $date_re ? '' : 'bad date' if $shape eq 'date';
	return $v =~ /^\d{4}-\d\d-\d\dT$time_re$/ ? '' : 'bad timestamp'
	  if $shape eq 'timestamp';
	return $v =~ /^\d{4}-\d\d-\d\dT${time_re}Z$/ ? '' : 'bad timestamptz'
	  if $shape eq 'timestamptz';
	return $v =~ /^P(-?\d+[YMD])*(T(-?\d+[HM])*(-?\d+(\.\d{1,6})?S)?)?$/
	  && $v ne 'P' && $v ne 'PT' ? '' : 'bad duration'
	  if $shape eq 'duration';
	return $v =~ m{^[A-Za-z0-9+/]*={0,2}$} && length($v) % 4 == 0 ? ''
	  : 'bad base64'
	  if $shape eq 'base64';
	return $v =~ /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/ ? '' : 'bad uuid'
	  if $shape eq 'uuid';
	return '';
}

# Checks one array value's elements (at any depth) against the element shape.
sub array_shape_error
{
	my ($v, $shape) = @_;
	return '' unless defined $v;
	return 'not an array' unless ref $v eq 'ARRAY';
	for my $e (@$v)
	{
		my $err = ref $e eq 'ARRAY' ? array_shape_error($e, $shape)
		  : shape_error($e, $shape);
		return $err if $err;
	}
	return '';
}

# ---------------------------------------------------------------- setup

for my $db (qw(utf8 ascii))
{
	my $enc = $db eq 'utf8' ? 'UTF8' : 'SQL_ASCII';
	$node->safe_psql('postgres',
		"CREATE DATABASE fuzz_$db ENCODING $enc LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
	my $ext = join '', map { "CREATE EXTENSION $_;\n" } sort keys %available;
	$node->safe_psql("fuzz_$db", qq{
		$ext
		CREATE TYPE fuzz_mood AS ENUM ('sad', 'ok', 'happy "x"');
		CREATE DOMAIN fuzz_posint AS int CHECK (VALUE > 0);
		CREATE DOMAIN fuzz_label AS text;
		CREATE TYPE fuzz_pair AS (t text, n int, at timestamptz);
		CREATE TYPE fuzz_floatrange AS RANGE (subtype = float8);
		SELECT 'init' FROM pg_create_logical_replication_slot('fuzz_$db', 'pg2es');
	});
}

# ---------------------------------------------------------------- rounds

my %stats = (tables => 0, refused => 0, rows => 0, values => 0, lines => 0,
	items => 0);
my $failures = 0;

# Records a failure (a test failure, with the seed) unless $ok.
sub check
{
	my ($ok, $what) = @_;
	return 1 if $ok;
	$failures++;
	fail("$what (seed $seed)");
	return 0;
}

# Decodes what is pending in $db's slot and checks every line.  $cols maps
# table name -> [ [column, shape, is_array], ... ].
sub decode_and_check
{
	my ($db, $cols, $options) = @_;
	my $out = $node->safe_psql("fuzz_$db",
		"SELECT data FROM pg_logical_slot_get_changes('fuzz_$db', NULL, NULL$options)",
		extra_params => [ '-R', "\x1e" ]);
	return unless length $out;
	for my $msg (split /\x1e/, $out)
	{
		check(eval { Encode::decode('UTF-8', my $copy = $msg, Encode::FB_CROAK); 1 },
			"message is valid UTF-8: " . substr($msg, 0, 200)) or next;
		my @lines = split /\n/, $msg, -1;
		$stats{lines} += @lines;
		while (@lines)
		{
			my $action_text = shift @lines;
			my $action = eval { $json->decode($action_text) };
			check($action && ref $action eq 'HASH' && keys %$action == 1,
				"action line is one JSON object: " . substr($action_text, 0, 200)) or last;
			my ($kind) = keys %$action;
			my $meta = $action->{$kind};
			check($kind =~ /^(index|delete|update)$/ && ref $meta eq 'HASH'
				  && defined $meta->{_index} && defined $meta->{_id}
				  && length $meta->{_id} <= 512,
				"action line has a known action, _index and _id: $action_text") or last;
			$stats{items}++;
			next if $kind eq 'delete';
			my $source_text = shift @lines // '';
			my $source = eval { $json->decode($source_text) };
			check($source && ref $source eq 'HASH',
				"source line is one JSON object: " . substr($source_text, 0, 200)) or last;
			# a partial update: a "doc", or with versioning the guarded
			# script's params.doc
			$source = $source->{doc} // $source->{script}{params}{doc}
			  if $kind eq 'update';
			my ($table) = $meta->{_index} =~ /^public\.(fuzz_t\d+)$/;
			check(defined $table && $cols->{$table}, "index name $meta->{_index}") or last;
			check($kind ne 'index' || "$source->{id}" eq $meta->{_id},
				"_id $meta->{_id} is the key $source->{id}");
			for my $c (@{ $cols->{$table} })
			{
				my ($name, $shape, $is_array) = @$c;
				next if $kind eq 'update' && !exists $source->{$name};
				check(exists $source->{$name}, "$table.$name present") or next;
				$stats{values}++;
				my $err = $is_array ? array_shape_error($source->{$name}, $shape)
				  : shape_error($source->{$name}, $shape);
				check($err eq '', "$table.$name: $err: "
					  . substr($json->encode($source->{$name}), 0, 200));
			}
		}
	}
}

# One round: a new table with random columns, rows inserted, updated and
# deleted in random transactions, then decoded and checked.
sub run_round
{
	my ($db, $n, $cols) = @_;
	my $table = "fuzz_t$n";
	local $json_escapes_ok = $db eq 'utf8';
	my @defs;
	for my $i (1 .. 1 + int(rand(8)))
	{
		my $t = pick(@types);
		my $is_array = rand() < 0.25 && $t->[2] ne 'array' ? 1 : 0;
		push @defs, [ "c$i", $t, $is_array ];
	}
	$cols->{$table} = [ map { [ $_->[0], $_->[1][2], $_->[2] ] } @defs ];
	my $sql = "CREATE TABLE $table (id serial PRIMARY KEY, "
	  . join(', ', map { "$_->[0] $_->[1][0]" . ($_->[2] ? '[]' : '') } @defs)
	  . ");\nBEGIN;\n";
	my $rows = 1 + int(rand(12));
	for (1 .. $rows)
	{
		my @vals = map {
			rand() < 0.1 ? 'NULL'
			  : $_->[2] ? random_array($_->[1], $db) . "::$_->[1][0]\[]"
			  : '(' . $_->[1][1]->($db) . ")::$_->[1][0]"
		} @defs;
		$sql .= "INSERT INTO $table VALUES (DEFAULT, " . join(', ', @vals) . ");\n";
	}
	$sql .= "UPDATE $table SET c1 = c1 WHERE id % 3 = 0;\n" if rand() < 0.5;
	$sql .= "DELETE FROM $table WHERE id % 4 = 0;\n" if rand() < 0.5;
	$sql .= "COMMIT;\n";
	# Without ON_ERROR_STOP psql reads the whole script (stopping early
	# would break the pipe on a large one); an error aborts the transaction.
	my ($ret, $stdout, $stderr) = $node->psql("fuzz_$db", $sql);
	# A generated value a type refuses (out of range, ...) is an input
	# error, not a finding: the transaction just does not happen.
	if ($ret != 0 || $stderr =~ /ERROR:/)
	{
		note("round $n ($db): input refused: " . substr($stderr, 0, 300));
		$stats{refused}++;
	}
	$stats{tables}++;
	$stats{rows} += $rows unless $stderr =~ /ERROR:/;
}

my $start = time();
my $round = 0;
my %cols;
while (time() - $start < $budget && $failures < 10)
{
	my $db = pick('utf8', 'utf8', 'ascii');
	run_round($db, ++$round, \%cols);
	my $options = pick(q{, 'versioning', 'off'}, '',
		q{, 'add-fields', 'table,lsn,op'});
	decode_and_check($db, \%cols, $options);
	last unless check($node->safe_psql('postgres', 'SELECT 1') eq '1',
		'server answers after round');
}

# One value of tens of megabytes, checked by the server itself (Perl's JSON
# parser would take minutes): the line is valid JSON and valid UTF-8.
$node->safe_psql('fuzz_utf8', q{
	CREATE TABLE fuzz_huge (id int PRIMARY KEY, t text);
	INSERT INTO fuzz_huge VALUES (1, repeat(E'ab\n"\\\\\u00e9\u0001', 3000000));
});
my $huge = $node->safe_psql('fuzz_utf8', <<'SQL');
SELECT count(*), bool_and(l::json IS NOT NULL),
	bool_and(convert_from(convert_to(l, 'UTF8'), 'UTF8') IS NOT NULL),
	max(octet_length(l))
FROM pg_logical_slot_get_changes('fuzz_utf8', NULL, NULL) c,
	regexp_split_to_table(c.data, E'\n') AS l
WHERE l LIKE '{"id":1,%'
SQL
check($huge =~ /^1\|t\|t\|(\d+)$/ && $1 > 30_000_000,
	"a 21 MB text decodes to one valid JSON line ($huge)");

# The server never crashed: it still answers, and its log has no crash.
check($node->safe_psql('postgres', 'SELECT 1') eq '1', 'postmaster is up');
my $log = slurp_file($node->logfile);
check($log !~ /terminated by signal|was terminated|PANIC|TRAP:|server process .* exited/,
	'server log shows no crash');

# A generator that the server keeps refusing would test nothing.
check($stats{refused} <= $stats{tables} / 4,
	"most generated rounds are accepted ($stats{refused} of $stats{tables} refused)");

diag(sprintf(
	"decoder fuzz: seed %d, %d tables (%d refused), %d rows, %d values checked, %d items, %d lines, %.0f s",
	$seed, $stats{tables}, $stats{refused}, $stats{rows}, $stats{values},
	$stats{items}, $stats{lines}, time() - $start));
ok($failures == 0, "no failure in $round rounds");
$node->stop;
done_testing();
