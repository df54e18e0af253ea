-- needs PostgreSQL 14: multiranges and numeric infinity (tests/majors/regress.sh)
-- Every type family, with its edge values, as the pg2es plugin encodes it.
-- The forms are documented at the top of decoder/encode.c.
SET synchronous_commit = on;
SELECT 'init' FROM pg_create_logical_replication_slot('types_slot', 'pg2es');

-- integers: limits, zero, NULL
CREATE TABLE t_int (id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, o oid);
INSERT INTO t_int VALUES
	(1, -32768, -2147483648, -9223372036854775808, 0),
	(2, 32767, 2147483647, 9223372036854775807, 4294967295),
	(3, 0, 0, 0, NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- floats and numeric: shortest round trip, NaN and infinities as null
CREATE TABLE t_num (id int PRIMARY KEY, f4 float4, f8 float8, n numeric, n2 numeric(10, 2));
INSERT INTO t_num VALUES
	(1, 'NaN', 'NaN', 'NaN', 0),
	(2, 'Infinity', 'Infinity', 'Infinity', 1.5),
	(3, '-Infinity', '-Infinity', '-Infinity', -99999999.99),
	(4, 0.1, 0.1, 0.1, 0.1),
	(5, '-0', '-0', '-0', '-0'),
	(6, 1.4e-45, 5e-324, 1e-100, 0.005),
	(7, 3.4028235e38, 1.7976931348623157e308, 1e300, 12345678.9),
	(8, 1e20, 1e21, 123456789012345678901234567890.123456789, NULL),
	(9, 16777217, 9007199254740993, -0.000001, 2);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- a numeric far beyond any float keeps every digit
CREATE TABLE t_bignum (id int PRIMARY KEY, n numeric);
-- (written out: the scale of numeric ^ differs between majors)
INSERT INTO t_bignum VALUES (1, ('1' || repeat('0', 1000))::numeric + 0.5),
	(2, -('1' || repeat('0', 1000))::numeric);
SELECT length(data) AS len, substr(data, 1, 80) AS head, right(data, 8) AS tail
FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- bool
CREATE TABLE t_bool (id int PRIMARY KEY, b bool);
INSERT INTO t_bool VALUES (1, true), (2, false), (3, NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- strings: empty, quotes, backslashes, every control character, non-ASCII,
-- padding, and a value that tries to inject a bulk action
CREATE TABLE t_text (id int PRIMARY KEY, t text, v varchar(20), c char(5), n name, ch "char");
INSERT INTO t_text VALUES
	(1, '', '', '', '', ''),
	(2, 'say "hi"', 'back\slash', 'a', 'name', 'x'),
	(3, (SELECT string_agg(chr(i), '' ORDER BY i) FROM generate_series(1, 31) i) || chr(127),
	 E'tab\there', E'\n', E'new\nline', E'\n'),
	(4, 'héllo wörld 日本語 😀', 'ünïcödé', 'é', 'ñ', NULL),
	(5, E'"}\n{"delete":{"_index":"t_text","_id":"1"}}\n', E'\\u0000', ' ', '"', '"'),
	(6, '</script>\/', '\u00e9', NULL, NULL, '\');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- json keeps its content without the whitespace; jsonb compact
CREATE TABLE t_json (id int PRIMARY KEY, j json, jb jsonb);
INSERT INTO t_json VALUES
	(1, '{ "a" : [ 1 , 2.50, { "b" : "x y\n" } ] ,
	   "c" : null, "d": true }',
	    '{ "a" : [ 1 , 2.50, { "b" : "x y\n" } ] , "c" : null, "d": true }'),
	(2, ' "a string" ', ' "a string" '),
	(3, '42', '-1.5e3'),
	(4, '[]', '{}'),
	(5, '{"esc":"\u0000\"\\\/\t","é":"ü"}', '{"esc":"\u0001\"\\\/\t","é":"ü"}'),
	(6, 'null', 'null'),
	(7, '[[],{},[1,[2,[3]]],{"k":{"k":{}}}]', '[[],{},[1,[2,[3]]],{"k":{"k":{}}}]');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- dates and timestamps: what Elasticsearch's date parser accepts, else null
CREATE TABLE t_date (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz);
INSERT INTO t_date VALUES
	(1, '2024-02-29', '2024-02-29 13:14:15', '2024-02-29 13:14:15+00'),
	(2, '0001-01-01', '0001-01-01 00:00:00.000001', '0001-01-01 00:00:00+00'),
	(3, '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00'),
	(4, 'infinity', 'infinity', 'infinity'),
	(5, '-infinity', '-infinity', '-infinity'),
	(6, '0044-03-15 BC', '0044-03-15 12:00 BC', '4713-01-01 00:00+00 BC'),
	(7, '10000-01-01', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59+00'),
	(8, '1999-12-31', '2000-01-01 00:00:00.5', '2024-06-01 00:30:00.12+05:30'),
	(9, '1970-01-01', '1969-12-31 23:59:59.9', '1900-01-01 00:00:00-00:19:32'),
	(10, NULL, NULL, NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- time, timetz, interval
CREATE TABLE t_time (id int PRIMARY KEY, t time, tt timetz, i interval);
INSERT INTO t_time VALUES
	(1, '00:00', '00:00+00', '0'),
	(2, '24:00', '24:00-15:59', '1 year 2 mons 3 days 04:05:06.5'),
	(3, '13:14:15.123456', '13:14:15.5+05:30', '-1 year -2 mons +3 days -04:05:06.25'),
	(4, '23:59:59.999999', '12:00+01:02:03', '-0.5 sec'),
	(5, '12:00:00.1', '12:00-08', '178000000 years'),
	(6, NULL, NULL, '100000 hours 1 microsecond');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- bytea as base64, uuid
CREATE TABLE t_bin (id int PRIMARY KEY, b bytea, u uuid);
INSERT INTO t_bin VALUES
	(1, '', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
	(2, '\x00', '00000000-0000-0000-0000-000000000000'),
	(3, '\x0001', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
	(4, '\x000102', NULL),
	(5, '\xdeadbeefff', NULL),
	(6, convert_to('hello world', 'UTF8'), NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- types written as their text output
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy "quoted"');
CREATE TABLE t_other (id int PRIMARY KEY, ip inet, net cidr, mac macaddr, mac8 macaddr8,
	m money, b bit(4), vb varbit, tv tsvector, tq tsquery, x xml, lsn pg_lsn, e mood);
INSERT INTO t_other VALUES
	(1, '192.168.1.5', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
	 12.34, B'1011', B'1', 'a fat cat', 'fat & !rat', '<a href="x">y</a>', '16/B374D848', 'happy "quoted"'),
	(2, '2001:db8::1/64', '2001:db8::/32', NULL, NULL,
	 -1.5, B'0000', B'', '', 'x', E'<t>\n</t>', '0/0', 'sad');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- geometric types
CREATE TABLE t_geo (id int PRIMARY KEY, p point, l line, s lseg, b box, pa path, po polygon, c circle);
INSERT INTO t_geo VALUES
	(1, '(1.1,-2)', '{1,2,3}', '[(0,0),(1,1)]', '((0,0),(1,1))', '[(0,0),(1,1),(2,0)]',
	 '((0,0),(1,1),(2,0))', '<(0,0),0.1>');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- arrays: dimensions, NULL elements, lower bounds, element encodings
CREATE TABLE t_arr (id int PRIMARY KEY, ia int[], ta text[], da date[], ja jsonb[], fa float8[], ea mood[]);
INSERT INTO t_arr VALUES
	(1, '{1,NULL,3}', '{"a\"b",NULL,"\\n"}', '{2024-01-01,infinity}', ARRAY['{"a":1}'::jsonb, 'null', NULL],
	 '{NaN,1.5,-Infinity}', '{sad,ok}'),
	(2, '{}', '{}', '{}', '{}', '{}', '{}'),
	(3, '{{1,2},{3,NULL}}', '{{a,b},{c,d}}', NULL, NULL, '{{{1}},{{2}}}', NULL),
	(4, '[5:6]={7,8}', ARRAY[E'\n', ''], NULL, NULL, NULL, NULL),
	(5, '{NULL}', '{NULL,NULL}', NULL, NULL, NULL, NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- domains follow their base type; composites are objects
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(10, 2);
CREATE DOMAIN label AS text;
CREATE DOMAIN stamps AS timestamptz[];
CREATE TYPE addr AS (street text, zip posint, tags text[], at timestamptz, m mood);
CREATE DOMAIN checked_addr AS addr CHECK ((VALUE).zip < 100000);
CREATE TYPE nested AS (a addr, r int4range, "odd name." text);
CREATE TABLE t_dom (id int PRIMARY KEY, p posint, pr price, l label, s stamps, pa posint[]);
INSERT INTO t_dom VALUES
	(1, 5, 1.5, 'lbl', '{"2024-01-01 00:00+00",NULL}', '{1,2}'),
	(2, NULL, NULL, NULL, '{}', NULL);
CREATE TABLE t_comp (id int PRIMARY KEY, a addr, ca checked_addr, n nested, aa addr[]);
INSERT INTO t_comp VALUES
	(1, ROW('Main St', 12345, '{x,y}', '2024-01-01 00:00+00', 'ok'),
	 ROW('Side St', 1, '{}', 'infinity', 'sad'),
	 ROW(ROW(E'q"\n', NULL, NULL, NULL, NULL), '[1,5)', 'v'),
	 ARRAY[ROW('a', 1, NULL, NULL, NULL)::addr, NULL]),
	(2, ROW(NULL, NULL, NULL, NULL, NULL), NULL, ROW(NULL, NULL, NULL), '{}');
-- ALTER TYPE mid-stream: the next change of t_comp sees the new attributes
-- (also inside the domain, the nested type and the array), and an enum
-- value added mid-stream is written like the others
ALTER TYPE addr DROP ATTRIBUTE tags;
INSERT INTO t_comp VALUES (3, ROW('after drop', 2, NULL, 'happy "quoted"'), NULL, NULL, NULL);
ALTER TYPE addr ADD ATTRIBUTE floor int;
ALTER TYPE mood ADD VALUE 'calm';
INSERT INTO t_comp VALUES (4, ROW('after add', 3, NULL, 'calm', 7),
	ROW('checked', 4, NULL, 'calm', 8), ROW(ROW('nested', 5, NULL, 'sad', 9), NULL, NULL),
	ARRAY[ROW('in array', 6, NULL, 'calm', 10)::addr]);
-- a value stored before ADD ATTRIBUTE: the new attribute is null
UPDATE t_comp SET ca = NULL WHERE id = 3;
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');
ALTER TYPE addr DROP ATTRIBUTE floor;

-- ranges and multiranges: gt/gte/lt/lte objects, unbounded sides left out
CREATE TABLE t_range (id int PRIMARY KEY, i4 int4range, i8 int8range, n numrange, d daterange,
	ts tsrange, tz tstzrange, mr int4multirange);
INSERT INTO t_range VALUES
	(1, '[1,5)', '(1,5]', '[1.5,2.5]', '[2024-01-01,2024-02-01)',
	 '[2024-01-01 10:00,2024-01-01 11:00)', '["2024-01-01 10:00+00","2024-01-02 00:00+00"]', '{[1,3),[5,7)}'),
	(2, 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', '{}'),
	(3, '(,)', '(,5)', '(1.5,)', '[2024-01-01,infinity)', '(-infinity,2024-01-01)', '(,)', '{(,)}'),
	(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- types with no encoding of their own fall back to their text output
CREATE TABLE t_fallback (id int PRIMARY KEY, snap txid_snapshot, tid tid, iv int2vector, ov oidvector);
INSERT INTO t_fallback VALUES (1, '10:20:10,14,15', '(1,2)', '1 2', '3 4');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- keys of every kind give an _id text of their own, also where the JSON
-- value is null
CREATE TABLE t_key_date (d date PRIMARY KEY);
INSERT INTO t_key_date VALUES ('infinity'), ('-infinity'), ('0044-03-15 BC'), ('10000-01-01'), ('2024-01-01');
CREATE TABLE t_key_ts (ts timestamptz PRIMARY KEY);
INSERT INTO t_key_ts VALUES ('infinity'), ('2024-01-01 10:00:00.5+00'), ('294276-12-31 23:59:59+00');
CREATE TABLE t_key_num (n numeric PRIMARY KEY, f float8 UNIQUE);
INSERT INTO t_key_num VALUES ('NaN', 'NaN'), ('Infinity', 'Infinity'), ('-Infinity', '-Infinity'), (1.50, 1.5);
CREATE TABLE t_key_misc (t text, u uuid, b bytea, PRIMARY KEY (t, u, b));
INSERT INTO t_key_misc VALUES (E'a|b\\c\n"é', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\xff00');
-- an _id is escaped as the document's strings are (\n, never \u000a)
CREATE TABLE t_key_ctl (t text PRIMARY KEY);
INSERT INTO t_key_ctl VALUES (E'\b\t\n\f\r\x01\x1f"\\/\x7f');
-- every other kind of key
CREATE TABLE t_key_kinds (a int2, b int8, c float4, d time, e timetz, f interval,
	g name, h numeric, i inet, j bool, k oid, l varchar, m char(3), n jsonb,
	o int4range, p int[], q date, PRIMARY KEY (a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q));
INSERT INTO t_key_kinds VALUES
	(1, -9000000000, 'Infinity', '10:11:12.5', '10:11:12+05:30', '1 day 2 hours', 'nm',
	 12.50, '10.0.0.1/8', true, 7, 'v|w', 'ab', '{"k": "v\n", "n": 1}', '[1,5)', '{1,2}', '2024-02-29'),
	(2, 0, 1.25, '00:00', '23:59:59.999999-01:15:30', '-3 months', 'x', 'NaN', '::1', false, 0, '', '',
	 '"s"', 'empty', '{}', '-infinity');
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');

-- the output does not depend on the session: the same changes decoded under
-- very different TimeZone, DateStyle, IntervalStyle, extra_float_digits and
-- bytea_output settings give the same bytes
CREATE TABLE t_session (id int PRIMARY KEY, tz timestamptz, ts timestamp, d date, t time,
	tt timetz, i interval, f4 float4, f8 float8, p point, b bytea, a timestamptz[],
	r tstzrange, c addr);
INSERT INTO t_session VALUES
	(1, '2024-07-01 12:34:56.789+02', '2024-07-01 12:34:56.789', '2024-07-01', '12:34:56.789',
	 '12:34:56.789+02', '1 year 2 mons 3 days 04:05:06.789', 0.1, 0.1, '(0.1,0.2)', '\x0102',
	 '{"2024-07-01 00:00+00"}', '[2024-07-01 00:00+00,2024-07-02 00:00+00)',
	 ROW('s', 1, '2024-07-01 00:00+00', 'ok'));
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SELECT md5(string_agg(data, E'\n')) AS reference
FROM pg_logical_slot_peek_changes('types_slot', NULL, NULL, 'versioning', 'off') \gset
SET TimeZone = 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = -15;
SET bytea_output = 'escape';
SELECT md5(string_agg(data, E'\n')) = :'reference' AS same_output
FROM pg_logical_slot_peek_changes('types_slot', NULL, NULL, 'versioning', 'off');
SET TimeZone = 'America/St_Johns';
SET DateStyle = 'German';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
SELECT md5(string_agg(data, E'\n')) = :'reference' AS same_output
FROM pg_logical_slot_peek_changes('types_slot', NULL, NULL, 'versioning', 'off');
SET DateStyle = 'Postgres, YMD';
SET IntervalStyle = 'postgres_verbose';
SELECT data FROM pg_logical_slot_get_changes('types_slot', NULL, NULL, 'versioning', 'off');
RESET ALL;

-- the Elasticsearch mapping of every column above (pg2es.mapping, used to
-- create an index before its first document)
CREATE EXTENSION pg2es;
SELECT t AS "table", m.key AS "column", m.value AS mapping
FROM unnest(ARRAY['t_int', 't_num', 't_bool', 't_text', 't_json', 't_date', 't_time',
	't_bin', 't_other', 't_geo', 't_arr', 't_dom', 't_comp', 't_range', 't_fallback']) AS t,
	jsonb_each(pg2es.mapping(t::regclass) -> 'properties') AS m
ORDER BY 1, 2;
DROP EXTENSION pg2es;

SELECT 'stop' FROM pg_drop_replication_slot('types_slot');
DROP TABLE t_int, t_num, t_bignum, t_bool, t_text, t_json, t_date, t_time, t_bin,
	t_other, t_geo, t_arr, t_dom, t_comp, t_range, t_fallback, t_key_date, t_key_ts,
	t_key_num, t_key_misc, t_key_ctl, t_key_kinds, t_session;
DROP TYPE nested;
DROP DOMAIN checked_addr;
DROP TYPE addr;
DROP DOMAIN posint, price, label, stamps;
DROP TYPE mood;
