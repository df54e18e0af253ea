-- TRUNCATE: nothing in plain mode (a _bulk body cannot say it); in framed
-- mode a TRUNCATE frame [3, ["index", ...], version] naming the indexes to
-- clear and the transaction's version (its commit LSN, 0 with versioning
-- off).
SET synchronous_commit = on;
\set VERBOSITY terse

SELECT 'init' FROM pg_create_logical_replication_slot('trunc', 'pg2es');

CREATE TABLE trunc_a (id int PRIMARY KEY);
CREATE TABLE trunc_b (id int PRIMARY KEY);
CREATE TABLE trunc_skip (id int PRIMARY KEY);
CREATE TABLE trunc_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE trunc_p1 PARTITION OF trunc_parted FOR VALUES FROM (0) TO (10);
CREATE TABLE trunc_p2 PARTITION OF trunc_parted FOR VALUES FROM (10) TO (20);

INSERT INTO trunc_a VALUES (1);
TRUNCATE trunc_a;
INSERT INTO trunc_a VALUES (2);

-- plain: the inserts only
SELECT data FROM pg_logical_slot_get_changes('trunc', NULL, NULL, 'versioning', 'off');

TRUNCATE trunc_a, trunc_b, trunc_skip;
TRUNCATE trunc_skip;
TRUNCATE trunc_p1;
TRUNCATE trunc_parted;

-- framed: each transaction is one message, the frames then the COMMIT
-- frame [2, xid, commit_lsn, end_lsn, commit_time]; show what comes
-- before it.  trunc_skip is excluded (its transaction alone gives
-- nothing), a lone partition does not clear the shared index (WARNING),
-- the whole partitioned table clears it once.  The version (a uint32 in
-- this young cluster: 0xce and 4 bytes) is cut off and compared with the
-- COMMIT frame's commit_lsn.
SELECT encode(substring(data for position('\x9502'::bytea in data) - 6), 'hex') AS frames,
       encode(substring(data for position('\x9502'::bytea in data) - 6), 'escape') AS readable,
       position(substring(data from position('\x9502'::bytea in data) - 5 for 5)
                in substring(data from position('\x9502'::bytea in data))) > 0 AS version_is_commit_lsn
FROM pg_logical_slot_get_binary_changes('trunc', NULL, NULL, 'framing', 'msgpack',
    'exclude-tables', 'public.trunc_skip');

-- with an index per partition, the partitions' own indexes
TRUNCATE trunc_parted;
SELECT encode(substring(data for position('\x9502'::bytea in data) - 6), 'escape') AS readable
FROM pg_logical_slot_get_binary_changes('trunc', NULL, NULL, 'framing', 'msgpack',
    'partition-index', 'leaf');

-- with versioning off, version 0
TRUNCATE trunc_a;
SELECT encode(substring(data for position('\x9502'::bytea in data) - 1), 'escape') AS readable
FROM pg_logical_slot_get_binary_changes('trunc', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off');

SELECT pg_drop_replication_slot('trunc');
DROP TABLE trunc_a, trunc_b, trunc_skip, trunc_parted;
