
# Names: schemas, tables and columns whose names Elasticsearch would refuse
# as they are (upper case, quotes, spaces, dots, slashes, unicode, a leading
# '_', '-' or '+', names that escape to more than 255 bytes) sync end to
# end to valid, distinct indexes, and every column arrives as a JSON key
# spelled exactly like the column.

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Pg2es::Test qw(new_cluster start_es start_forwarder index_equals_table
  wait_until run_verify);

my $node = new_cluster('names');
my $es   = start_es();
my $dir  = PostgreSQL::Test::Utils::tempdir();
my $json = JSON::PP->new->allow_nonref;

# 63 bytes (the longest identifier) of two-byte letters, twice, differing
# only in the last letter: escaped, schema and table exceed 255 bytes.
my $long_schema = '"' . ('é' x 31) . 'x"';
my @long_tables = map { '"' . ('ü' x 31) . $_ . '"' } qw(a b);

my @tables = (
	'public."Users"', 'public.users', 'public."USERS"', 'public."with space"',
	'public."dot.ted"', '"public.dot".ted', 'public."quo""te"', 'public."_lead"',
	'public."-dash"', 'public."+plus"', 'public."."', 'public.".."',
	'public."a/b\\c*?<>|,#:"', 'public."ÄÖÜ 日本"', '"My Schema"."My Table"',
	(map { "$long_schema.$_" } @long_tables));

my $columns = join(', ',
	'"Upper" text', '"with space" int', '"quo""te" text', 'U&"new\000aline" text',
	'"back\\slash" text', '"dot.ted" text', '"ünï 日本" text', '"_under" text',
	'"tab	x" text');

my $sql = "CREATE SCHEMA \"public.dot\"; CREATE SCHEMA \"My Schema\"; "
  . "CREATE SCHEMA $long_schema;\n";
$sql .= "CREATE TABLE $_ (id int PRIMARY KEY, $columns);\n" for @tables;
$sql .= "SELECT 'slot' FROM pg_create_logical_replication_slot('names', 'pg2es');\n";
$node->safe_psql('postgres', $sql);

my $i = 0;
$sql = '';
for my $t (@tables)
{
	$i++;
	$sql .= "INSERT INTO $t SELECT g, 'up ' || g, g * $i, 'q\"' || g, E'nl\\n' || g, "
	  . "E'b\\\\' || g, 'd.' || g, 'ü' || g, '_' || g, E'\\t' || g "
	  . "FROM generate_series(1, $i + 2) g;\n";
	$sql .= "UPDATE $t SET \"Upper\" = 'changed' WHERE id = 1;\n";
	$sql .= "DELETE FROM $t WHERE id = 2;\n";
}
$node->safe_psql('postgres', $sql);

my $fwd = start_forwarder(node => $node, es => $es, slot => 'names',
	args => [ '--dead-letter-file', "$dir/dead.ndjson" ]);

# Elasticsearch's rules for an index name.
sub index_name_problem
{
	my ($name) = @_;
	return 'empty' if $name eq '';
	return 'upper case' if $name =~ /[A-Z]/;
	return 'forbidden character' if $name =~ m{[\\/*?"<>| ,#:]};
	return 'forbidden start' if $name =~ /^[-_+]/;
	return '. or ..' if $name eq '.' || $name eq '..';
	return 'longer than 255 bytes' if length($name) > 255;
	return '';
}

my %seen;
for my $t (@tables)
{
	my $index = $node->safe_psql('postgres', "SELECT pg2es.index_name('$t')");
	is(index_name_problem($index), '', "$t: index name $index is valid");
	ok(!$seen{$index}, "$t: index name is distinct")
	  or diag("$t and $seen{$index} both give $index");
	$seen{$index} = $t;

	my $why = '';
	my $equal = wait_until(
		sub {
			my $same;
			($same, $why) = index_equals_table($node, $es, $t, $index);
			return $same;
		},
		60);
	ok($equal, "$t: the index equals the table") or diag($why);

	my $attnames = $node->safe_psql('postgres',
		"SELECT json_agg(attname ORDER BY attname) FROM pg_attribute "
		  . "WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped");
	my ($status, $doc) = $es->request('GET', '/' . Pg2es::Test::ES::_path_escape($index) . '/_doc/1');
	is_deeply([ sort keys %{ $doc->{_source} // {} } ], $json->decode($attnames),
		"$t: every column is a JSON key spelled like the column");
}

ok(!-s "$dir/dead.ndjson", 'nothing was dead-lettered');
my ($vstatus, $vout, $verr) = run_verify($node, $es);
is($vstatus, 0, 'pg2es verify finds every index equal to its table') or diag("$vout$verr");
$fwd->stop;

done_testing();
