-- needs PostgreSQL 15: multiranges and numeric infinity (14), publication row filters and column lists (15) (tests/majors/regress.sh)
-- The extension's pg2es.bulk_item gives, for a row and a version, exactly
-- the bytes decoding gives for the INSERT of that row committed at that
-- version (plus the "\n" pg_recvlogical adds), with the same options.
--
-- To cover another type, add a column to ced (and a value to the rows
-- below); the comparisons need no change.
SET synchronous_commit = on;
CREATE EXTENSION pg2es;

CREATE TABLE ced (
    id int PRIMARY KEY,
    c_int2 int2, c_int4 int4, c_int8 int8, c_numeric numeric,
    c_float4 float4, c_float8 float8, c_bool bool,
    c_text text, c_varchar varchar(10), c_char char(3), c_bytea bytea,
    c_date date, c_timestamp timestamp, c_timestamptz timestamptz,
    c_time time, c_interval interval, c_uuid uuid, c_inet inet,
    c_json json, c_jsonb jsonb, c_int_array int[], c_text_array text[],
    c_big text
);
-- a partitioned table whose partition has its own column order
CREATE TABLE ced_parted (id int, part int, v text, PRIMARY KEY (id, part))
    PARTITION BY LIST (part);
CREATE TABLE ced_p1 (v text, part int NOT NULL, id int NOT NULL);
ALTER TABLE ced_parted ATTACH PARTITION ced_p1 FOR VALUES IN (1);

SELECT 'init' FROM pg_create_logical_replication_slot('ced', 'pg2es');

INSERT INTO ced VALUES
    (1, -32768, 2147483647, -9223372036854775808, 123.4500, 1.5, 0.1, true,
     E'quote" backslash\\ newline\n tab\t é', 'varchar', 'ab', '\x00ff10',
     '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+02',
     '23:59:59', '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     '192.168.0.1/24', '{"a": [1, 2]}', '{"b": {"c": null}}', '{1,NULL,3}',
     '{"x","y z"}', repeat('big', 1000)),
    (2, 0, 0, 0, 'NaN', 'Infinity', '-0', false, '', '', '', '', '-infinity',
     'infinity', 'epoch', '00:00', '-1 mons', '00000000-0000-0000-0000-000000000000',
     '::1', '[]', '[]', '{}', '{}', ''),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO ced_parted VALUES (1, 1, 'one'), (2, 1, NULL);

CREATE TEMP TABLE decoded AS
    SELECT 'default' AS options, data
    FROM pg_logical_slot_peek_changes('ced', NULL, NULL)
    UNION ALL
    SELECT 'with options', data
    FROM pg_logical_slot_peek_changes('ced', NULL, NULL,
        'add-fields', 'table,lsn', 'exclude-columns', '*.*.c_bool',
        'index-prefix', 'pre-', 'index-names', 'public.ced_parted:parted')
    UNION ALL
    SELECT 'unversioned', data
    FROM pg_logical_slot_get_changes('ced', NULL, NULL, 'versioning', 'off');

-- every decoded item has a row whose bulk item is byte-identical
SELECT d.options, r.rel, r.id,
       convert_to(d.data || E'\n', 'UTF8') = pg2es.bulk_item(r.rel, r.row,
           (regexp_match(d.data, '"version":(\d+),'))[1]::bigint,
           CASE d.options
               WHEN 'default' THEN '{}'
               WHEN 'unversioned' THEN '{versioning=off}'
               ELSE '{"add-fields=table,lsn","exclude-columns=*.*.c_bool",index-prefix=pre-,index-names=public.ced_parted:parted}'
           END::text[]) AS equal
FROM decoded d
     JOIN (SELECT 'ced'::regclass AS rel, t.id::text AS id, t AS row,
                  pg2es.doc_id('ced', t) AS doc_id FROM ced t) AS r(rel, id, row, doc_id)
       ON (regexp_match(d.data, '"_id":"([^"]*)"'))[1] = r.doc_id
WHERE d.data LIKE '%"_index":"%ced"%'
ORDER BY 1, 2, 3;

SELECT d.options,
       convert_to(d.data || E'\n', 'UTF8') = pg2es.bulk_item('ced_parted', t,
           (regexp_match(d.data, '"version":(\d+),'))[1]::bigint,
           CASE d.options
               WHEN 'default' THEN '{}'
               WHEN 'unversioned' THEN '{versioning=off}'
               ELSE '{"add-fields=table,lsn","exclude-columns=*.*.c_bool",index-prefix=pre-,index-names=public.ced_parted:parted}'
           END::text[]) AS equal
FROM decoded d
     JOIN ced_parted t
       ON (regexp_match(d.data, '"_id":"([^"]*)"'))[1] = pg2es.doc_id('ced_parted', t)
WHERE d.data NOT LIKE '%"_index":"%ced"%'
ORDER BY 1, 2;

-- nothing decoded was left unmatched
SELECT options, count(*) FROM decoded GROUP BY 1 ORDER BY 1;

-- the other functions agree with the items
SELECT pg2es.doc_id('ced', t) AS doc_id,
       convert_from(pg2es.doc_source('ced', t, '{exclude-columns=public.ced.c_*}'), 'UTF8') AS source,
       pg2es.index_name('ced') AS index_name
FROM ced t ORDER BY id;
SELECT convert_from(pg2es.bulk_item('ced', t, NULL, '{exclude-columns=public.ced.c_*}'), 'UTF8') AS unversioned
FROM ced t WHERE id = 1;
SELECT pg2es.index_name('ced_parted'), pg2es.index_name('ced_p1'),
       pg2es.index_name('ced_p1', '{partition-index=leaf}');
SELECT pg2es.covered_tables();
SELECT pg2es.covered_tables('{partition-index=leaf,exclude-tables=public.ced}');
SELECT pg2es.mapping('ced_parted', ARRAY['add-fields=table,op']);
-- wrong arguments
SELECT pg2es.bulk_item('ced', t, 1) FROM ced_parted t;
SELECT pg2es.doc_id('ced', t, '{include-tables=public.other}') FROM ced t WHERE id = 1;
CREATE VIEW ced_view AS SELECT 1 AS x;
SELECT pg2es.index_name('ced_view');
DROP VIEW ced_view;

SELECT pg_drop_replication_slot('ced');
DROP TABLE ced, ced_parted;
DROP EXTENSION pg2es;

-- Every type family of types.sql, edge values included: pg2es.bulk_item
-- gives the decoded bytes, also when the session that decodes and the one
-- that copies have different TimeZone, DateStyle, IntervalStyle,
-- extra_float_digits and bytea_output settings.
CREATE EXTENSION pg2es;
CREATE TYPE ced_mood AS ENUM ('sad', 'happy "quoted"');
CREATE DOMAIN ced_posint AS int CHECK (VALUE > 0);
CREATE TYPE ced_pair AS (t text, n ced_posint, at timestamptz, m ced_mood);
CREATE TABLE ced_types (
    id int PRIMARY KEY,
    c_int2 int2, c_oid oid, c_float4 float4, c_float8 float8, c_numeric numeric,
    c_name name, c_char "char", c_text text, c_json json, c_jsonb jsonb,
    c_date date, c_timestamp timestamp, c_timestamptz timestamptz,
    c_timetz timetz, c_interval interval, c_bytea bytea,
    c_cidr cidr, c_macaddr macaddr, c_money money, c_bit varbit, c_tsvector tsvector,
    c_xml xml, c_point point, c_box box, c_enum ced_mood, c_domain ced_posint,
    c_pair ced_pair, c_int_2d int[], c_date_array date[], c_pair_array ced_pair[],
    c_int4range int4range, c_tstzrange tstzrange, c_daterange daterange,
    c_multirange int4multirange
);
SELECT 'init' FROM pg_create_logical_replication_slot('ced_types', 'pg2es');
INSERT INTO ced_types VALUES
    (1, 32767, 4294967295, 'NaN', 1e-300, 10::numeric ^ 100, 'nm', 'x',
     (SELECT string_agg(chr(i), '' ORDER BY i) FROM generate_series(1, 31) i) || '"\é',
     E'{ "a" :\n [1, "x y"] }', '{"a": [1, "\u0001"], "b": 1.50}',
     '0044-03-15 BC', '294276-12-31 23:59:59.999999', 'infinity',
     '24:00-15:59', '-1 year +2 days -00:00:00.5', '\x00ff', '10.0.0.0/8',
     '08:00:2b:01:02:03', 12.34, B'101', 'a fat cat', '<a>x</a>', '(0.1,-2)',
     '((0,0),(1,1))', 'happy "quoted"', 7,
     ROW(E'q\n', 1, '2024-01-01 00:00+00', 'sad'), '{{1,NULL},{3,4}}',
     '{2024-01-01,-infinity,NULL}', ARRAY[ROW('a', 2, NULL, NULL)::ced_pair, NULL],
     '[1,5)', '[2024-01-01 00:00+00,infinity)', 'empty', '{[1,3),[5,7)}'),
    (2, -1, 0, '-Infinity', '-0', 'NaN', '', '', '', '"s"', '42',
     '2024-02-29', '1999-12-31 23:59:59.5', '2024-06-01 00:30:00.12+05:30',
     '00:00+00', '0', '', '::/0', NULL, -1.5, B'', '', '', '(1e300,-1e-300)',
     '((1,1),(0,0))', 'sad', 1, ROW(NULL, NULL, NULL, NULL), '{}', '{}', '{}',
     '(,)', '(,2024-01-01 00:00+00]', '[2024-01-01,2024-02-01)', '{}');

SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SET bytea_output = 'escape';
CREATE TEMP TABLE decoded_types AS
    SELECT data FROM pg_logical_slot_get_changes('ced_types', NULL, NULL);
RESET ALL;
SET TimeZone = 'America/St_Johns';
SET DateStyle = 'German';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
SELECT t.id,
       convert_to(d.data || E'\n', 'UTF8') = pg2es.bulk_item('ced_types', t,
           (regexp_match(d.data, '"version":(\d+),'))[1]::bigint) AS equal
FROM decoded_types d
     JOIN ced_types t ON (regexp_match(d.data, '"_id":"([^"]*)"'))[1] = t.id::text
ORDER BY 1;
SELECT count(*) AS decoded_items FROM decoded_types;
RESET ALL;

SELECT pg_drop_replication_slot('ced_types');
DROP TABLE ced_types;
DROP TYPE ced_pair, ced_mood;
DROP DOMAIN ced_posint;
DROP EXTENSION pg2es;

-- With option "publications", a filtered and projected publication, and a
-- partition root's under publish_via_partition_root (its partition with
-- its own column order): every decoded item is the bulk item of its row
-- (the leaf's, as the initial load copies leaves), and a row the filter
-- rejects has none.
CREATE EXTENSION pg2es;
CREATE TABLE ced_pub (id int PRIMARY KEY, status text, secret text, n numeric,
    big text);
ALTER TABLE ced_pub REPLICA IDENTITY FULL;
CREATE TABLE ced_pub_parted (id int, part int, v text, hidden text,
    PRIMARY KEY (id, part)) PARTITION BY LIST (part);
CREATE TABLE ced_pub_p1 (hidden text, v text, part int NOT NULL, id int NOT NULL);
ALTER TABLE ced_pub_parted ATTACH PARTITION ced_pub_p1 FOR VALUES IN (1);
CREATE PUBLICATION ced_pub
    FOR TABLE ced_pub (id, status, n, big) WHERE (status <> 'hidden'),
        ced_pub_parted (id, part, v) WHERE (v LIKE 'keep%')
    WITH (publish_via_partition_root);
SELECT 'init' FROM pg_create_logical_replication_slot('ced_pub', 'pg2es');
INSERT INTO ced_pub VALUES (1, 'open', 's', 1.50, repeat('big', 1000)),
    (2, 'hidden', 's', 2, ''), (3, NULL, 's', 3, 'null status'), (4, '', 's', NULL, NULL);
INSERT INTO ced_pub_parted VALUES (1, 1, 'keep one', 'h'), (2, 1, 'drop two', 'h');
CREATE TEMP TABLE decoded_pub AS
    SELECT data FROM pg_logical_slot_get_changes('ced_pub', NULL, NULL,
        'publications', 'ced_pub', 'add-fields', 'table');
SELECT t.id,
       convert_to(d.data || E'\n', 'UTF8') = pg2es.bulk_item('ced_pub', t,
           (regexp_match(d.data, '"version":(\d+),'))[1]::bigint,
           '{publications=ced_pub,add-fields=table}') AS equal
FROM decoded_pub d
     JOIN ced_pub t ON (regexp_match(d.data, '"_id":"([^"]*)"'))[1] =
         pg2es.doc_id('ced_pub', t, '{publications=ced_pub}')
WHERE d.data LIKE '%"_index":"public.ced_pub"%'
ORDER BY 1;
SELECT t.id,
       convert_to(d.data || E'\n', 'UTF8') = pg2es.bulk_item('ced_pub_p1', t,
           (regexp_match(d.data, '"version":(\d+),'))[1]::bigint,
           '{publications=ced_pub,add-fields=table}') AS equal
FROM decoded_pub d
     JOIN ced_pub_p1 t ON (regexp_match(d.data, '"_id":"([^"]*)"'))[1] =
         pg2es.doc_id('ced_pub_p1', t, '{publications=ced_pub}')
WHERE d.data LIKE '%"_index":"public.ced_pub_parted"%'
ORDER BY 1;
SELECT count(*) AS decoded_items FROM decoded_pub;
SELECT regexp_replace(data, '"version":\d+', '"version":V') AS projected
FROM decoded_pub WHERE data NOT LIKE '%bigbig%' ORDER BY 1;
SELECT id, pg2es.bulk_item('ced_pub', t, 1, '{publications=ced_pub}') IS NULL AS no_item,
       pg2es.doc_id('ced_pub', t, '{publications=ced_pub}') IS NULL AS no_id
FROM ced_pub t ORDER BY id;
SELECT id, pg2es.bulk_item('ced_pub_p1', t, 1, '{publications=ced_pub}') IS NULL AS no_item
FROM ced_pub_p1 t ORDER BY id;

SELECT pg_drop_replication_slot('ced_pub');
DROP PUBLICATION ced_pub;
DROP TABLE ced_pub, ced_pub_parted;
DROP EXTENSION pg2es;
