-- Option "publications" (docs/design.md, "Publications"), the part every
-- major has: FOR TABLE, FOR ALL TABLES, published actions,
-- publish_via_partition_root, publication changes mid-stream, a missing
-- publication.  Row filters, column lists and schemas (15): pub_filters.
SET synchronous_commit = on;
\set VERBOSITY terse

CREATE TABLE pb_a (id int PRIMARY KEY, v text);
CREATE TABLE pb_b (id int PRIMARY KEY, v text);
CREATE TABLE pb_gen (id int PRIMARY KEY, v int,
    twice int GENERATED ALWAYS AS (v * 2) STORED);
CREATE PUBLICATION pb_one FOR TABLE pb_a;
CREATE PUBLICATION pb_all FOR ALL TABLES;
CREATE PUBLICATION pb_ins FOR TABLE pb_b WITH (publish = 'insert');
CREATE PUBLICATION pb_del FOR TABLE pb_b WITH (publish = 'delete');

SELECT 'init' FROM pg_create_logical_replication_slot('pubs', 'pg2es');

INSERT INTO pb_a VALUES (1, 'a1');
INSERT INTO pb_b VALUES (1, 'b1');
INSERT INTO pb_gen VALUES (1, 21);
UPDATE pb_a SET v = 'a1u';
UPDATE pb_b SET v = 'b1u';
DELETE FROM pb_a;
DELETE FROM pb_b;

-- FOR TABLE: that table only, every action
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_one');
-- FOR ALL TABLES: every table; a generated column is left out, as pgoutput
-- leaves it out (without the option it is in the document)
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_all');
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off')
WHERE data LIKE '%pb_gen%';
-- published actions: inserts only; with a second publication they add up
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_ins');
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_ins,pb_del');
-- with include-tables and exclude-tables, each narrows the other
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_all', 'exclude-tables', 'public.pb_b,public.pb_gen');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', 'pb_one', 'include-tables', 'public.pb_b');
-- names are SQL identifiers, as pgoutput's publication_names: unquoted
-- ones are lower-cased, quoted ones kept
CREATE PUBLICATION "Pb Quoted" FOR TABLE pb_b;
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', 'PB_ONE, "Pb Quoted"');
-- a publication that does not exist stops the start, and bad lists
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', 'pb_one,pb_nosuch');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', 'pb_quoted');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', '');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', 'pb_one,,pb_all');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubs', NULL, NULL,
    'publications', '"pb_one');
SELECT count(*) FROM pg_logical_slot_get_changes('pubs', NULL, NULL);

-- Partitions.  publish_via_partition_root decides whose publication
-- entry applies; the index stays the partition-index option's.
CREATE TABLE pb_parts (id int, region text, v text, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE pb_parts_eu PARTITION OF pb_parts FOR VALUES IN ('eu');
CREATE TABLE pb_parts_us PARTITION OF pb_parts FOR VALUES IN ('us');
CREATE PUBLICATION pb_root FOR TABLE pb_parts WITH (publish_via_partition_root = true);
CREATE PUBLICATION pb_leaf FOR TABLE pb_parts_eu;
CREATE PUBLICATION pb_parent FOR TABLE pb_parts;
INSERT INTO pb_parts VALUES (1, 'eu', 'e'), (2, 'us', 'u');
-- the root published: both partitions, into the root's index or each
-- partition's own
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_root');
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_parent', 'partition-index', 'leaf');
-- one partition published
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_leaf');
SELECT count(*) FROM pg_logical_slot_get_changes('pubs', NULL, NULL);

-- Publication changes take effect at their point of the stream: ADD
-- TABLE, DROP TABLE, SET (publish), SET TABLE, also inside a transaction;
-- and a publication created later publishes nothing before it exists.
CREATE PUBLICATION pb_mid FOR TABLE pb_a;
INSERT INTO pb_a VALUES (10, 'a before');
INSERT INTO pb_b VALUES (10, 'b before');
ALTER PUBLICATION pb_mid ADD TABLE pb_b;
INSERT INTO pb_b VALUES (11, 'b after add');
ALTER PUBLICATION pb_mid DROP TABLE pb_a;
INSERT INTO pb_a VALUES (12, 'a after drop');
ALTER PUBLICATION pb_mid SET (publish = 'insert');
UPDATE pb_b SET v = 'b update not published' WHERE id = 11;
INSERT INTO pb_b VALUES (13, 'b insert published');
ALTER PUBLICATION pb_mid SET (publish = 'insert, update, delete, truncate');
ALTER PUBLICATION pb_mid SET TABLE pb_a;
INSERT INTO pb_a VALUES (14, 'a after set');
INSERT INTO pb_b VALUES (14, 'b after set');
BEGIN;
INSERT INTO pb_b VALUES (15, 'b before add, same transaction');
ALTER PUBLICATION pb_mid ADD TABLE pb_b;
INSERT INTO pb_b VALUES (16, 'b after add, same transaction');
COMMIT;
CREATE PUBLICATION pb_late FOR TABLE pb_a;
INSERT INTO pb_a VALUES (17, 'a after create');
DROP PUBLICATION pb_late;
INSERT INTO pb_a VALUES (18, 'a after drop publication');
CREATE PUBLICATION pb_late FOR TABLE pb_b;
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_mid');
SELECT data FROM pg_logical_slot_peek_changes('pubs', NULL, NULL, 'versioning', 'off',
    'publications', 'pb_late');

SELECT pg_drop_replication_slot('pubs');
DROP PUBLICATION pb_one, pb_all, pb_ins, pb_del, "Pb Quoted", pb_root, pb_leaf,
    pb_parent, pb_mid, pb_late;
DROP TABLE pb_a, pb_b, pb_gen, pb_parts;
