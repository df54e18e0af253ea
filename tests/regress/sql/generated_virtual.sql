-- needs PostgreSQL 18: virtual generated columns (tests/majors/regress.sh)
-- A virtual generated column is computed when read and never stored: the
-- decoded tuple holds NULL where the table shows a value.  Documents leave
-- it out, in decoding and in the SQL functions the initial load and verify
-- use alike; a stored generated column is in the tuple and is kept.
SET synchronous_commit = on;
CREATE EXTENSION pg2es;
CREATE TABLE gen (
    id int PRIMARY KEY,
    a int,
    v int GENERATED ALWAYS AS (a * 2) VIRTUAL,
    s int GENERATED ALWAYS AS (a * 3) STORED,
    b text
);
SELECT 'init' FROM pg_create_logical_replication_slot('gen_slot', 'pg2es');
INSERT INTO gen (id, a, b) VALUES (1, 5, 'x'), (2, NULL, 'y');
UPDATE gen SET a = 8 WHERE id = 1;
SELECT data FROM pg_logical_slot_get_changes('gen_slot', NULL, NULL, 'versioning', 'off');
-- the table itself shows the virtual column's value
SELECT id, a, v, s FROM gen ORDER BY id;
-- what the initial load writes is what decoding wrote
SELECT convert_from(pg2es.doc_source('gen'::regclass, g, '{}'), 'UTF8') AS doc
FROM gen g ORDER BY id;
SELECT jsonb_object_keys(pg2es.mapping('gen'::regclass) -> 'properties') AS mapped
ORDER BY 1;
-- a key-changing update and a delete of a row with one
UPDATE gen SET id = 3 WHERE id = 2;
DELETE FROM gen WHERE id = 1;
SELECT data FROM pg_logical_slot_get_changes('gen_slot', NULL, NULL, 'versioning', 'off');
SELECT 'stop' FROM pg_drop_replication_slot('gen_slot');
DROP TABLE gen;
DROP EXTENSION pg2es;
