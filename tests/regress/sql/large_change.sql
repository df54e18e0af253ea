-- A change over 1 MB: framed mode splits it over messages of at most 1 MB
-- (docs/design.md, CHANGE flag bit 2); plain mode writes it as one message.
SET synchronous_commit = on;
SELECT 'init' FROM pg_create_logical_replication_slot('large_change', 'pg2es');
CREATE TABLE big (id int PRIMARY KEY, body text);
INSERT INTO big VALUES (1, repeat('x', 3000000));

-- plain: one message, the whole item
SELECT count(*) AS messages, min(length(data)) > 3000000 AS whole
FROM pg_logical_slot_peek_changes('large_change', NULL, NULL);

-- framed: the RELATION frame, the CHANGE header flagged continued (0x94
-- 0x01 0x04: array of 4, kind 1, flags 4) and the first bytes; two more
-- pieces; the COMMIT message
SELECT count(*) AS messages,
       bool_and(length(data) <= 1048576) AS at_most_1mb,
       sum(length(data)) > 3000000 AS all_there
FROM pg_logical_slot_peek_binary_changes('large_change', NULL, NULL,
                                         'framing', 'msgpack');
SELECT position('\x940104'::bytea IN data) > 0 AS continued_header
FROM pg_logical_slot_peek_binary_changes('large_change', NULL, NULL,
                                         'framing', 'msgpack')
LIMIT 1;
-- the pieces after the first hold nothing but the NDJSON
SELECT length(replace(convert_from(data, 'UTF8'), 'x', '')) AS not_x
FROM (SELECT data, row_number() OVER () AS n
      FROM pg_logical_slot_peek_binary_changes('large_change', NULL, NULL,
                                               'framing', 'msgpack')) m
WHERE n IN (2, 3);

SELECT 'stop' FROM pg_drop_replication_slot('large_change');
DROP TABLE big;
