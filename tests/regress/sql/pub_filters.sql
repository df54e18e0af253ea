-- needs PostgreSQL 15: publication row filters, column lists and FOR TABLES IN SCHEMA (tests/majors/regress.sh)
-- Option "publications" with what PostgreSQL 15 added: row filters
-- evaluated as pgoutput evaluates them, column lists, schemas, filters
-- of partition roots, and their changes mid-stream.
SET synchronous_commit = on;
\set VERBOSITY terse
CREATE EXTENSION pg2es;

SELECT 'init' FROM pg_create_logical_replication_slot('pubf', 'pg2es');

-- Updates crossing the filter, under REPLICA IDENTITY FULL (every column
-- may be in a filter): old row in, new row out -> delete; old out, new in
-- -> index of the new row; both in -> update; both out -> nothing.
CREATE TABLE pf_orders (id int PRIMARY KEY, status text, note text);
ALTER TABLE pf_orders REPLICA IDENTITY FULL;
CREATE PUBLICATION pf_open FOR TABLE pf_orders WHERE (status = 'open');
CREATE PUBLICATION pf_closed FOR TABLE pf_orders WHERE (status = 'closed');
CREATE PUBLICATION pf_every FOR TABLE pf_orders;
INSERT INTO pf_orders VALUES (1, 'open', 'a'), (2, 'closed', 'b'), (3, 'open', 'c'),
    (4, NULL, 'null status');
UPDATE pf_orders SET status = 'closed' WHERE id = 1;
UPDATE pf_orders SET status = 'open' WHERE id = 2;
UPDATE pf_orders SET note = 'cc' WHERE id = 3;
UPDATE pf_orders SET note = 'still closed' WHERE id = 1;
UPDATE pf_orders SET id = 30 WHERE id = 3;
DELETE FROM pf_orders WHERE id = 1;
DELETE FROM pf_orders WHERE id = 30;
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_open');
-- filters of several publications are OR-ed (the NULL status matches
-- neither); one without a filter lets every row through
SELECT count(*) FROM pg_logical_slot_peek_changes('pubf', NULL, NULL,
    'publications', 'pf_open,pf_closed');
SELECT count(*) FROM pg_logical_slot_peek_changes('pubf', NULL, NULL,
    'publications', 'pf_open,pf_every');
SELECT count(*) FROM pg_logical_slot_get_changes('pubf', NULL, NULL);

-- Under REPLICA IDENTITY DEFAULT the old row is in the WAL only when the
-- key changed; without it only the new row is tested, as in pgoutput.
CREATE TABLE pf_keyed (id int PRIMARY KEY, v text);
CREATE PUBLICATION pf_small FOR TABLE pf_keyed WHERE (id < 10);
INSERT INTO pf_keyed VALUES (1, 'in'), (20, 'out');
UPDATE pf_keyed SET v = v || ' updated';
UPDATE pf_keyed SET id = 25 WHERE id = 1;
UPDATE pf_keyed SET id = 5 WHERE id = 20;
DELETE FROM pf_keyed WHERE id = 25;
DELETE FROM pf_keyed WHERE id = 5;
SELECT data FROM pg_logical_slot_get_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_small');
-- PostgreSQL refuses updates and deletes of a table whose filter, in a
-- publication of updates or deletes, names a column outside the replica
-- identity; a publication of inserts only may
CREATE TABLE pf_bad (id int PRIMARY KEY, v text);
CREATE PUBLICATION pf_bad_pub FOR TABLE pf_bad WHERE (v = 'x');
INSERT INTO pf_bad VALUES (1, 'x'), (2, 'y');
\set VERBOSITY default
UPDATE pf_bad SET v = 'z' WHERE id = 1;
DELETE FROM pf_bad WHERE id = 1;
\set VERBOSITY terse
ALTER PUBLICATION pf_bad_pub SET (publish = 'insert');
UPDATE pf_bad SET v = 'z' WHERE id = 1;
SELECT data FROM pg_logical_slot_get_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_bad_pub');

-- Column lists: only those columns in documents, narrowed further by
-- exclude-columns; a list without the _id column (possible for inserts
-- only) still gives the _id, with a WARNING; two publications with
-- different lists are refused, as pgoutput refuses them
CREATE TABLE pf_users (id int PRIMARY KEY, email text, secret text, bio text);
CREATE PUBLICATION pf_cols FOR TABLE pf_users (id, email, bio);
CREATE PUBLICATION pf_cols2 FOR TABLE pf_users (id, email);
INSERT INTO pf_users VALUES (1, 'a@example.com', 's3cret', 'hello');
UPDATE pf_users SET secret = 'other';
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_cols');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_cols', 'exclude-columns', 'public.pf_users.bio');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_cols,pf_cols2');
SELECT count(*) FROM pg_logical_slot_get_changes('pubf', NULL, NULL);
CREATE TABLE pf_nokey (id int PRIMARY KEY, v text);
CREATE PUBLICATION pf_nokey_ins FOR TABLE pf_nokey (v) WITH (publish = 'insert');
INSERT INTO pf_nokey VALUES (1, 'one');
SELECT data FROM pg_logical_slot_get_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_nokey_ins');
CREATE PUBLICATION pf_nokey_upd FOR TABLE pf_nokey (v);
\set VERBOSITY default
UPDATE pf_nokey SET v = 'uno';
\set VERBOSITY terse
DROP PUBLICATION pf_nokey_upd;

-- FOR TABLES IN SCHEMA: the schema's tables, one created later too; a
-- schema publication has no filter, so it wins over a table's
CREATE SCHEMA pf_s;
CREATE TABLE pf_s.t1 (id int PRIMARY KEY, v text);
CREATE PUBLICATION pf_schema FOR TABLES IN SCHEMA pf_s;
CREATE PUBLICATION pf_s_filtered FOR TABLE pf_s.t1 WHERE (id > 1);
INSERT INTO pf_s.t1 VALUES (1, 'one'), (2, 'two');
CREATE TABLE pf_s.t2 (id int PRIMARY KEY);
INSERT INTO pf_s.t2 VALUES (1);
INSERT INTO pf_keyed VALUES (1, 'not in the schema');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_schema');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_s_filtered');
SELECT count(*) FROM pg_logical_slot_get_changes('pubf', NULL, NULL,
    'publications', 'pf_schema,pf_s_filtered');

-- Partitions: under publish_via_partition_root the root's filter and
-- column list apply to every partition, also one whose columns are
-- numbered differently; without it, a partition's own
CREATE TABLE pf_parts (id int, region text, v text, secret text,
    PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE pf_parts_eu PARTITION OF pf_parts FOR VALUES IN ('eu');
CREATE TABLE pf_parts_asia (dropme int, secret text, v text, region text NOT NULL,
    id int NOT NULL);
ALTER TABLE pf_parts_asia DROP COLUMN dropme;
ALTER TABLE pf_parts ATTACH PARTITION pf_parts_asia FOR VALUES IN ('asia');
CREATE PUBLICATION pf_root FOR TABLE pf_parts (id, region, v) WHERE (id > 1)
    WITH (publish_via_partition_root);
CREATE PUBLICATION pf_leaf FOR TABLE pf_parts_asia WHERE (id > 2);
INSERT INTO pf_parts VALUES (1, 'eu', 'e1', 's'), (2, 'eu', 'e2', 's'),
    (1, 'asia', 'a1', 's'), (2, 'asia', 'a2', 's'), (3, 'asia', 'a3', 's');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_root');
SELECT data FROM pg_logical_slot_peek_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_leaf');
SELECT count(*) FROM pg_logical_slot_get_changes('pubf', NULL, NULL);

-- Filter and column list changes take effect at their point of the
-- stream: a row moving into the new filter is indexed with the new list
CREATE TABLE pf_mid (id int PRIMARY KEY, n int, secret text);
CREATE PUBLICATION pf_mid_pub FOR TABLE pf_mid WHERE (id > 10);
INSERT INTO pf_mid VALUES (1, 1, 's'), (20, 20, 's');
ALTER PUBLICATION pf_mid_pub SET TABLE pf_mid (id, n) WHERE (id < 10);
INSERT INTO pf_mid VALUES (3, 3, 's'), (40, 40, 's');
UPDATE pf_mid SET id = 7 WHERE id = 20;
ALTER PUBLICATION pf_mid_pub SET TABLE pf_mid;
INSERT INTO pf_mid VALUES (50, 50, 's');
SELECT data FROM pg_logical_slot_get_changes('pubf', NULL, NULL, 'versioning', 'off',
    'publications', 'pf_mid_pub');

-- The SQL functions apply the same membership, column list and filter:
-- a row the filter rejects has no item, _id or document
SELECT id, convert_from(pg2es.bulk_item('pf_mid', t, NULL,
           '{publications=pf_open}'), 'UTF8') AS not_covered
FROM pf_mid t WHERE id = 1;
SELECT id, convert_from(pg2es.bulk_item('pf_orders', t, NULL,
           '{publications=pf_open}'), 'UTF8') AS item,
       pg2es.doc_id('pf_orders', t, '{publications=pf_open}') AS doc_id,
       convert_from(pg2es.doc_source('pf_orders', t, '{publications=pf_open}'), 'UTF8') AS source
FROM pf_orders t ORDER BY id;
SELECT convert_from(pg2es.doc_source('pf_users', t, '{publications=pf_cols}'), 'UTF8') AS source,
       pg2es.mapping('pf_users', '{publications=pf_cols}') AS mapping
FROM pf_users t;
SELECT pg2es.covered_tables('{publications=pf_schema}');
SELECT pg2es.covered_tables('{publications=pf_leaf}');
SELECT pg2es.covered_tables('{publications=pf_leaf,partition-index=leaf}');
SELECT pg2es.index_name('pf_orders', '{publications=pf_nosuch}');
SELECT pg2es.covered_tables('{publications=pf_nosuch}');

SELECT pg_drop_replication_slot('pubf');
DROP PUBLICATION pf_open, pf_closed, pf_every, pf_small, pf_bad_pub, pf_cols, pf_cols2,
    pf_nokey_ins, pf_schema, pf_s_filtered, pf_root, pf_leaf, pf_mid_pub;
DROP SCHEMA pf_s CASCADE;
DROP TABLE pf_orders, pf_keyed, pf_bad, pf_users, pf_nokey, pf_parts, pf_mid;
DROP EXTENSION pg2es;
