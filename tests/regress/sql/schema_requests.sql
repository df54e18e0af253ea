-- The event trigger of the extension: after a schema change whose rows the
-- WAL does not carry, a request for the table's index of every slot whose
-- options cover it (README, "Schema changes").
CREATE EXTENSION pg2es;
INSERT INTO pg2es.slot_options (slot_name, options)
VALUES ('root', '{}'), ('leaf', '{partition-index=leaf}'),
       ('other', '{include-tables=public.other}'),
       ('bad', '{no-such-option=1}');
CREATE TABLE t (id int PRIMARY KEY, a int, b text);
CREATE TABLE p (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE p2 (id int PRIMARY KEY, v int);
CREATE VIEW requests AS
SELECT slot_name, kind, table_name, state FROM pg2es.requests ORDER BY id;

-- changes that need nothing (a slot whose options cannot be read gives a
-- WARNING, never a failed ALTER TABLE)
ALTER TABLE t ADD COLUMN c int;
ALTER TABLE t ALTER COLUMN c SET NOT NULL;
SELECT * FROM requests;

-- a changed column type: a reindex, for each slot covering t
ALTER TABLE t ALTER COLUMN a TYPE bigint;
SELECT * FROM requests;
-- with a request open, another change adds none
ALTER TABLE t DROP COLUMN b;
SELECT * FROM requests;
UPDATE pg2es.requests SET state = 'done';

ALTER TABLE t DROP COLUMN c;
ALTER TABLE t RENAME COLUMN a TO a2;
UPDATE pg2es.requests SET state = 'done';
-- a renamed table: a reindex, which creates the index of its new name
ALTER TABLE t RENAME TO t2;
UPDATE pg2es.requests SET state = 'done';
-- a partition attached or detached: a backfill of the root's index; under
-- partition-index=leaf the partition has its own index, untouched
ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (10) TO (20);
UPDATE pg2es.requests SET state = 'done';
ALTER TABLE p DETACH PARTITION p1;
-- with the backfill open, a changed column adds no reindex (a limit the
-- README names)
ALTER TABLE p ALTER COLUMN v TYPE bigint;
SELECT * FROM requests;
UPDATE pg2es.requests SET state = 'done';
-- a changed column of a partitioned table: its root's index (under
-- partition-index=leaf the partitions' indexes get none: a limit too)
ALTER TABLE p ALTER COLUMN v TYPE int;
SELECT * FROM requests;

DROP VIEW requests;
DROP TABLE t2, p, p1;
DROP EXTENSION pg2es;
