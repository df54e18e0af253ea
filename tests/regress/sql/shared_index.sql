-- Two tables never share an index: an index-names list sending two tables
-- to one index is refused when the options are read; a target equal to
-- another covered table's derived name, or a wildcard pattern matching two
-- tables, is refused when the second table is first seen, naming both.
-- The partitions of one root share the root's index and are not refused.
SET synchronous_commit = on;
-- the decoding context names an LSN: keep it out
\set SHOW_CONTEXT never

SELECT 'init' FROM pg_create_logical_replication_slot('shared', 'pg2es');

CREATE TABLE ta (id int PRIMARY KEY);
CREATE TABLE tb (id int PRIMARY KEY);
CREATE TABLE tc (id int PRIMARY KEY);
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (10) TO (20);
INSERT INTO ta VALUES (1);
INSERT INTO tb VALUES (2);
INSERT INTO parted VALUES (1), (11);

-- two overrides onto one index: refused at once, whatever the tables
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.ta:shared,public.tb:shared');
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.ta:shared,public.nosuch:other,"public"."Tb":shared');
-- an override onto another covered table's derived name: refused when the
-- second of the two tables comes
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.ta:public.tb');
-- the same with an index prefix
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-prefix', 'p-', 'index-names', 'public.tb:p-public.ta');
-- a wildcard pattern matching two tables
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.t*:all-t');
-- not refused: the other table is not covered, or is another index's
SELECT data FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'versioning', 'off', 'index-names', 'public.ta:public.tb',
    'exclude-tables', 'public.tb');
SELECT data FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'versioning', 'off', 'index-names', 'public.ta:public.tb,public.tb:public.ta',
    'include-tables', 'public.ta,public.tb');
-- partitions go to their root's index, under an override too
SELECT data FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'versioning', 'off', 'include-tables', 'public.parted',
    'index-names', 'public.parted:parts');

-- the other table need not have been seen in this session
SELECT count(*) FROM pg_logical_slot_get_changes('shared', NULL, NULL);
INSERT INTO tb VALUES (3);
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.ta:public.tb');
SELECT count(*) FROM pg_logical_slot_get_changes('shared', NULL, NULL);
INSERT INTO ta VALUES (3);
SELECT * FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'index-names', 'public.ta:public.tb');
-- nor is a table refused for a table whose own override sends it elsewhere
SELECT data FROM pg_logical_slot_peek_changes('shared', NULL, NULL,
    'versioning', 'off', 'index-names', 'public.ta:public.tb,public.tb:other');

-- the SQL functions refuse the same (the forwarder lists every covered
-- table's index in one query at start, so it stops there, naming both)
CREATE EXTENSION pg2es;
SELECT pg2es.index_name('ta', ARRAY['index-names=public.ta:shared,public.tb:shared']);
SELECT c.relname, pg2es.index_name(c.oid::regclass, ARRAY['index-names=public.tc:public.ta'])
FROM pg_class c WHERE c.relname IN ('ta', 'tb', 'tc') ORDER BY c.relname;
SELECT c.relname, pg2es.index_name(c.oid::regclass, ARRAY['index-names=public.tc:shared'])
FROM pg_class c WHERE c.relname IN ('ta', 'tb', 'tc') ORDER BY c.relname;
-- a renamed table gives its old name up
ALTER TABLE ta RENAME TO ta_old;
SELECT c.relname, pg2es.index_name(c.oid::regclass, ARRAY['index-names=public.tc:public.ta'])
FROM pg_class c WHERE c.relname IN ('ta_old', 'tc') ORDER BY c.relname;
DROP EXTENSION pg2es;

SELECT pg_drop_replication_slot('shared');
DROP TABLE ta_old, tb, tc, parted;
