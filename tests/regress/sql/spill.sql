-- A transaction larger than logical_decoding_work_mem (64kB in
-- logical.conf) is spilled to disk and decoded from there, intact.
SET synchronous_commit = on;

SELECT 'init' FROM pg_create_logical_replication_slot('spill', 'pg2es');

CREATE TABLE spill (id int PRIMARY KEY, payload text);
BEGIN;
INSERT INTO spill SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000) g;
UPDATE spill SET payload = 'updated' WHERE id % 1000 = 0;
DELETE FROM spill WHERE id % 1000 = 1;
COMMIT;

SELECT count(*) AS changes,
       count(*) FILTER (WHERE data LIKE '{"index"%') AS indexes,
       count(*) FILTER (WHERE data LIKE '{"delete"%') AS deletes,
       count(DISTINCT (regexp_match(data, '"version":(\d+),'))[1]) AS versions
FROM pg_logical_slot_peek_changes('spill', NULL, NULL);
-- every row once, in order, with its payload
SELECT bool_and(data = format(E'{"index":{"_index":"public.spill","_id":"%s"}}\n{"id":%s,"payload":"%s"}',
                              n, n, repeat(md5(n::text), 4))) AS inserts_exact
FROM (SELECT data, row_number() OVER () AS n
      FROM pg_logical_slot_peek_changes('spill', NULL, NULL, 'versioning', 'off')) c
WHERE n <= 3000;
SELECT data FROM (SELECT data, row_number() OVER () AS n
                  FROM pg_logical_slot_peek_changes('spill', NULL, NULL, 'versioning', 'off')) c
WHERE n > 3000;

-- framed: messages of about 64kB, the last one ending with the COMMIT frame
SELECT count(*) > 10 AS several_messages,
       max(length(data)) < 64 * 1024 + 1024 AS bounded,
       min(length(data)) FILTER (WHERE n < count) >= 64 * 1024 AS full_messages,
       bool_and(position('\x9502'::bytea in data) = 0) FILTER (WHERE n < count) AS commit_only_last
FROM (SELECT data, row_number() OVER () AS n, count(*) OVER () AS count
      FROM pg_logical_slot_get_binary_changes('spill', NULL, NULL, 'framing', 'msgpack')) m;

SELECT pg_drop_replication_slot('spill');
DROP TABLE spill;
