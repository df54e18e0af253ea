-- Every option: valid values take effect; an unknown, repeated or invalid
-- option is an ERROR naming it.
SET synchronous_commit = on;

-- slot creation runs the startup callback without options
SELECT 'init' FROM pg_create_logical_replication_slot('opts', 'pg2es');

CREATE TABLE opt_t (id int PRIMARY KEY, name text, secret text);
CREATE TABLE "Opt_Upper" (id int PRIMARY KEY);
INSERT INTO opt_t VALUES (1, 'one', 's');
INSERT INTO "Opt_Upper" VALUES (1);

-- index-prefix is lower-cased; index-names overrides per table
SELECT data FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', 'off',
    'index-prefix', 'Sync-', 'index-names', 'public.opt_t:my-index');
-- add-fields in any order; commit-time is milliseconds since 1970
SELECT regexp_replace(data, '"__ts_ms":\d{13}', '"__ts_ms":<13 digits>') AS data
FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', 'false',
    'add-fields', 'op,commit-time,table', 'include-tables', 'public.opt_t',
    'exclude-columns', 'public.opt_t.secret');
SELECT (regexp_match(data, '"__ts_ms":(\d+)'))[1]::numeric / 1000
         BETWEEN extract(epoch FROM now()) - 600 AND extract(epoch FROM now()) + 60 AS recent
FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'add-fields', 'commit-time',
    'include-tables', 'public.opt_t');
-- boolean spellings
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', 'yes')
WHERE data LIKE '%"version":%';
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', '0')
WHERE data LIKE '%"version":%';
-- the remaining options with valid values
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL,
    'partition-index', 'root', 'framing', 'none', 'id-columns', 'public.opt_t:name');

-- unknown option
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'no-such-option', 'x');
-- repeated option
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', 'on', 'versioning', 'off');
-- bad values, one per option
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'versioning', 'maybe');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'partition-index', 'middle');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'framing', 'json');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'add-fields', 'table,ts_ms');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'add-fields', '');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-tables', 'opt_t');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-tables', '');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-tables', 'public.opt_t,');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-tables', '"public.opt_t');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-tables', '"public"x.opt_t');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'exclude-tables', 'a.b.c');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'exclude-columns', 'public.opt_t');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-prefix', '_sync');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-prefix', 'a b');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:Upper');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:a#b');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:+x');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:..');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:' || repeat('x', 256));
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:a+');
-- a table repeated in a per-table option, a column repeated in id-columns
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:a,public.opt_t:b');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.opt_t:a,"public"."opt_t":b');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.*:a,public.*:b');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:id,public.opt_t:name');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:name+name');
SELECT * FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:id+name+"id"');
-- not repeated: a wildcard and a quoted star are different patterns
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'index-names', 'public.*:a,public."*":b',
    'include-tables', 'public.opt_t');
SELECT count(*) FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'id-columns', 'public.opt_t:id+name',
    'include-tables', 'public."Opt_Upper"');

-- the SQL functions parse the same options; there a bare name means true
CREATE EXTENSION pg2es;
SELECT convert_from(pg2es.bulk_item('opt_t', t, 7, ARRAY['versioning']), 'UTF8') FROM opt_t t;
SELECT convert_from(pg2es.bulk_item('opt_t', t, 7, ARRAY['versioning=off']), 'UTF8') FROM opt_t t;
SELECT pg2es.bulk_item('opt_t', t, 7, ARRAY['framing']) FROM opt_t t;
SELECT pg2es.bulk_item('opt_t', t, 7, ARRAY['nope=1']) FROM opt_t t;
SELECT pg2es.bulk_item('opt_t', t, 7, ARRAY['versioning', 'versioning=on']) FROM opt_t t;
SELECT pg2es.index_name('opt_t', ARRAY['index-prefix=X-']), pg2es.index_name('"Opt_Upper"');
DROP EXTENSION pg2es;

SELECT pg_drop_replication_slot('opts');
DROP TABLE opt_t, "Opt_Upper";
