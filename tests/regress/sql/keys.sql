-- Document _ids: composite keys, key changes, long keys, replica identity.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('keys', 'pg2es');

-- composite key: "\" doubled, "|" written as "\|", joined with "|"
CREATE TABLE keys_comp (a text, b int, c text, v int, PRIMARY KEY (c, a, b));
INSERT INTO keys_comp VALUES ('x|y', 1, 'z', 0), ('x', 1, 'y|z', 0),
    ('back\slash', 2, 'p\|q', 0), ('', 3, '', 0);
-- key change: delete of the old _id, then the new row, in one change
UPDATE keys_comp SET b = 10 WHERE a = 'x';
-- no key change: index only
UPDATE keys_comp SET v = 1 WHERE a = 'x';
DELETE FROM keys_comp WHERE a = 'x|y';

-- single key column: its text as it is
CREATE TABLE keys_one (k text PRIMARY KEY, v int);
INSERT INTO keys_one VALUES ('plain'), ('with "quote" and \ and |'),
    (repeat('a', 512)), (repeat('b', 513)), ('#sha256:short'), ('');
UPDATE keys_one SET k = repeat('c', 600) WHERE k = 'plain';
DELETE FROM keys_one WHERE k = repeat('b', 513);

-- replica identity index instead of a primary key
CREATE TABLE keys_ri (u int NOT NULL, w text NOT NULL, v text);
CREATE UNIQUE INDEX keys_ri_uw ON keys_ri (w, u);
ALTER TABLE keys_ri REPLICA IDENTITY USING INDEX keys_ri_uw;
INSERT INTO keys_ri VALUES (1, 'one', 'v1');
UPDATE keys_ri SET v = 'v2';
UPDATE keys_ri SET u = 2;
DELETE FROM keys_ri;

SELECT data FROM pg_logical_slot_get_changes('keys', NULL, NULL, 'versioning', 'off');

-- long and "#sha256:" keys are hashed: "#sha256:" + hex SHA-256 of the text
SELECT k = repeat('a', 512) AS is_512, '#sha256:' || encode(sha256(convert_to(k, 'UTF8')), 'hex') AS hashed
FROM (VALUES (repeat('a', 512)), (repeat('b', 513)), ('#sha256:short'), (''), (repeat('c', 600))) AS v(k);

-- id-columns overrides a primary key.  Under the default identity the WAL
-- holds only the primary key of old rows: a WARNING when the table is first
-- seen, deletes skipped, and a key change indexes the new _id only
CREATE TABLE keys_ov (id int PRIMARY KEY, code text, v int);
INSERT INTO keys_ov VALUES (1, 'a', 0), (2, 'b', 0);
UPDATE keys_ov SET v = 1 WHERE id = 1;
UPDATE keys_ov SET code = 'c' WHERE id = 1;
UPDATE keys_ov SET id = 20 WHERE id = 2;
DELETE FROM keys_ov WHERE id = 1;
-- under REPLICA IDENTITY FULL deletes and key changes follow the override
CREATE TABLE keys_ov_full (id int PRIMARY KEY, code text, v int);
ALTER TABLE keys_ov_full REPLICA IDENTITY FULL;
INSERT INTO keys_ov_full VALUES (1, 'a', 0), (2, 'b', 0);
UPDATE keys_ov_full SET code = 'c' WHERE id = 1;
UPDATE keys_ov_full SET id = 10 WHERE id = 1;
DELETE FROM keys_ov_full WHERE id = 2;
-- columns within the primary key need nothing more: no WARNING
CREATE TABLE keys_ov_part (a int, b int, v int, PRIMARY KEY (a, b));
INSERT INTO keys_ov_part VALUES (1, 1, 0), (2, 2, 0);
UPDATE keys_ov_part SET a = 3 WHERE a = 1;
UPDATE keys_ov_part SET v = 1 WHERE a = 2;
DELETE FROM keys_ov_part WHERE a = 2;

SELECT data FROM pg_logical_slot_get_changes('keys', NULL, NULL, 'versioning', 'off',
    'id-columns', 'public.keys_ov:code,public.keys_ov_full:code,public.keys_ov_part:a');

-- the SQL functions follow the override too
CREATE EXTENSION pg2es;
SELECT pg2es.doc_id('keys_ov_full', r, '{id-columns=public.keys_ov_full:code}'),
    convert_from(pg2es.bulk_item('keys_ov_full', r, NULL,
        '{id-columns=public.keys_ov_full:code}'), 'UTF8')
FROM keys_ov_full r;
SELECT pg2es.doc_id('keys_ov_full', r) FROM keys_ov_full r;
DROP EXTENSION pg2es;
DROP SCHEMA pg2es;

SELECT pg_drop_replication_slot('keys');
DROP TABLE keys_comp, keys_one, keys_ri, keys_ov, keys_ov_full, keys_ov_part;
