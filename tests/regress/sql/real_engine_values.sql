-- needs PostgreSQL 14: multiranges (tests/majors/regress.sh)
-- Values and names that real Elasticsearch and OpenSearch refuse when sent
-- as they are (issue 12), as the pg2es plugin writes them so that they land:
-- columns named like metadata fields, ranges whose bounds would cross after
-- the engine's rounding, numbers its JSON parser cannot read.
SET synchronous_commit = on;
CREATE EXTENSION IF NOT EXISTS pg2es;
SELECT 'init' FROM pg_create_logical_replication_slot('rev_slot', 'pg2es');

-- metadata-named columns get one more leading underscore (only names whose
-- first path component is underscores + a metadata field's name); fields
-- inside objects keep their names (the engines accept them there)
CREATE TYPE rev_meta AS (_id int, _source text);
CREATE TABLE rev_names (id int PRIMARY KEY, _id text, _source text, _routing text,
	_version int, _index text, _ignored text, _field_names text, __id text,
	"_source.x" int, _doc_count int, _foo text, "a._id" int, c rev_meta);
INSERT INTO rev_names VALUES (1, 'i', 's', 'r', 7, 'x', 'g', 'f', 'ii', 5, 3, 'foo', 9,
	ROW(2, 'src'));
SELECT data FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');
-- the initial load and verify write the same document and mapping
SELECT convert_from(pg2es.doc_source('rev_names', t), 'UTF8') AS doc FROM rev_names t;
SELECT jsonb_object_keys(pg2es.mapping('rev_names') -> 'properties') AS field ORDER BY 1;
UPDATE rev_names SET _id = 'j';
DELETE FROM rev_names;
SELECT data FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');

-- ranges: exclusive bounds of integers, dates and floats stay gt/lt (the
-- engine's unit is theirs); timestamps and numerics are written as closed
-- ranges; a range holding no value of its subtype is null, as empty is
CREATE TYPE rev_intrange AS RANGE (subtype = int4);
CREATE TYPE rev_f8range AS RANGE (subtype = float8);
CREATE TYPE rev_f4range AS RANGE (subtype = float4);
CREATE TYPE rev_tsrange AS RANGE (subtype = timestamptz);
CREATE TABLE rev_ranges (id int PRIMARY KEY, i4 int4range, ir rev_intrange, f8 rev_f8range,
	f4 rev_f4range, n numrange, d daterange, ts tsrange, tz tstzrange, mr nummultirange);
INSERT INTO rev_ranges VALUES
	(1, '[1,2)', '(1,2)', '(1,1.0000000000000002)', '(1,1.0000001)',
	 '(1,2)', '[2024-01-01,2024-01-02)',
	 '("2024-01-01 00:00:00.0001","2024-01-01 00:00:00.0009")',
	 '("2024-01-01 00:00:00.0001+00","2024-01-01 00:00:00.0009+00")', '{(1,2),[3,4]}'),
	(2, '(1,3)', '(1,3)', '(1,2)', '(1,2]', '(1.00000000000000000001,1.00000000000000000002)',
	 '(2024-01-01,2024-01-03)', '("2024-01-01 00:00:00.000001","2024-01-01 00:00:00.000002")',
	 '["2024-01-01 00:00:00.0001+00","2024-01-01 00:00:00.0001+00"]', '{}'),
	(3, '(1,)', '[1,2)', '[1,1.0000000000000002)', NULL, '(1,)',
	 NULL, '(,"2024-01-01 00:00:00.5")', '(-infinity,infinity)', NULL),
	(4, NULL, NULL, NULL, NULL, NULL, NULL, '("2024-01-01 10:00","2024-01-01 11:00")',
	 '("2024-01-01 10:00+00","2024-01-01 11:00:00.0005+00"]', NULL);
SELECT data FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');
-- (t, t+1us) holds no timestamp; (t, t+2us) holds one, the millisecond of t+1us
CREATE TABLE rev_tsr (id int PRIMARY KEY, r rev_tsrange);
INSERT INTO rev_tsr VALUES (1, '("2024-01-01 00:00:00.000999+00","2024-01-01 00:00:00.001+00")'),
	(2, '("2024-01-01 00:00:00.000999+00","2024-01-01 00:00:00.001001+00")');
SELECT data FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');

-- numeric bounds beyond a double's range: outward ones leave their side
-- unbounded, inward ones become the largest double; over 1000 characters
-- within range: the double's text
CREATE TABLE rev_bigrange (id int PRIMARY KEY, n numrange);
INSERT INTO rev_bigrange VALUES
	(1, numrange(-('1' || repeat('0', 400))::numeric, ('1' || repeat('0', 400))::numeric)),
	(2, numrange(('1' || repeat('0', 400))::numeric, ('2' || repeat('0', 400))::numeric)),
	(3, numrange(-('2' || repeat('0', 400))::numeric, -('1' || repeat('0', 400))::numeric, '[]')),
	(4, numrange(('0.' || repeat('0', 1100) || '1')::numeric, 1));
SELECT data FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');

-- numbers: over 1000 characters or beyond a double's range become strings
-- of the same digits (also inside arrays and jsonb); the rest stay numbers
CREATE TABLE rev_num (id int PRIMARY KEY, n numeric, a numeric[], j jsonb);
INSERT INTO rev_num VALUES
	(1, 1e308, ARRAY[1e308], '{"k": 1e308}'),
	(2, ('1' || repeat('0', 400))::numeric, ARRAY[-('1' || repeat('0', 400))::numeric, 2],
	 ('{"k": 1' || repeat('0', 400) || '}')::jsonb),
	(3, ('0.' || repeat('0', 1000) || '1')::numeric, NULL, ('[0.' || repeat('0', 1000) || '1]')::jsonb);
SELECT regexp_replace(data, '0{20,}', '<zeros>', 'g') AS data,
	   length(data) AS len
FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');
-- json (its text kept): the same for its numbers, nothing else touched
CREATE TABLE rev_json (id int PRIMARY KEY, j json);
INSERT INTO rev_json VALUES (1, '{"a": 1e400, "b": [-2.5E+3, 1e308], "c": "1e400", "d": -0}'),
	(2, ('{"k": 1' || repeat('0', 1000) || '}')::json);
SELECT regexp_replace(data, '0{20,}', '<zeros>', 'g') AS data
FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');
-- 10^1000: 1001 digits, a string; 10^-998 in 1000 characters: a number
INSERT INTO rev_num VALUES (4, ('1' || repeat('0', 1000))::numeric, NULL, NULL),
	(5, ('0.' || repeat('0', 997) || '1')::numeric, NULL, NULL);
SELECT substr(data, strpos(data, '"n":'), 8) AS n_starts, length(data) AS len
FROM pg_logical_slot_get_changes('rev_slot', NULL, NULL, 'versioning', 'off');

-- the initial load writes the same
SELECT id, regexp_replace(convert_from(pg2es.doc_source('rev_num', t), 'UTF8'), '0{20,}', '<zeros>', 'g') AS doc
FROM rev_num t ORDER BY id;

-- mappings within the engines' depth limit (20; an object at a path of k
-- names is at depth k + 1): objects at paths of 19 names are disabled, as
-- composite fields there and, through a dynamic template, inside json and
-- jsonb values; a mapping without json or jsonb has no template
CREATE TYPE rev_n1 AS (v int, j jsonb);
DO $$
BEGIN
	FOR i IN 2 .. 20 LOOP
		EXECUTE format('CREATE TYPE rev_n%s AS (v int, n rev_n%s)', i, i - 1);
	END LOOP;
END
$$;
CREATE TABLE rev_deep (id int PRIMARY KEY, j jsonb, ja json[], c rev_n20, cj rev_n2);
SELECT pg2es.mapping('rev_deep') -> 'dynamic_templates' AS templates;
SELECT regexp_replace(pg2es.mapping('rev_deep')::text, '("properties": \{"n": \{)+', '<...>', 'g') AS mapping;
-- c.n ... at paths of 2 to 18 names are mapped (17), the one at 19 disabled;
-- cj.n (rev_n1) is mapped
SELECT count(*) AS mapped_n_objects
FROM regexp_matches(pg2es.mapping('rev_deep')::text, '"n": \{"properties"', 'g');
SELECT pg2es.mapping('rev_ranges') ? 'dynamic_templates' AS ranges_template,
	   pg2es.mapping('rev_names') ? 'dynamic_templates' AS names_template;

SELECT 'dropped' FROM pg_drop_replication_slot('rev_slot');
-- (later topics create the extension themselves)
DROP EXTENSION pg2es;
