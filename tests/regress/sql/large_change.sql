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

-- pg2es.bulk_item_parts, as the initial load reads rows: values of at most
-- 1 MB, the first beginning with the item's length (4 bytes, big-endian);
-- after that prefix they are bulk_item's bytes
CREATE EXTENSION pg2es;
INSERT INTO big VALUES (2, 'small');
CREATE TABLE nokey (v text);
INSERT INTO nokey VALUES ('no _id');
SELECT b.id, count(*) AS parts, bool_and(length(x.p) <= 1048576) AS at_most_1mb,
       min((get_byte(x.p, 0) << 24) | (get_byte(x.p, 1) << 16) |
           (get_byte(x.p, 2) << 8) | get_byte(x.p, 3)) FILTER (WHERE x.n = 1)
         = sum(length(x.p)) - 4 AS length_prefix,
       substring(string_agg(x.p, '' ORDER BY x.n) FROM 5)
         = pg2es.bulk_item('big', b, 7) AS bulk_item_bytes
FROM big b, LATERAL pg2es.bulk_item_parts('big', b, 7) WITH ORDINALITY AS x(p, n)
GROUP BY b.id, b.* ORDER BY b.id;
-- in a SELECT list, as the load's COPY calls it; a row without a key gives
-- no value
SELECT id, count(*) AS parts
FROM (SELECT id, pg2es.bulk_item_parts('big', big, NULL) FROM big) s
GROUP BY id ORDER BY id;
SELECT count(*) AS nokey_values
FROM (SELECT pg2es.bulk_item_parts('nokey', nokey, NULL) FROM nokey) s;
-- a rescan that stops inside the large item's parts (LIMIT 1 for g = 1)
-- leaves none of them behind for the next row (g = 2: the small item)
SELECT g, (SELECT length(p) FROM (SELECT pg2es.bulk_item_parts('big', big, NULL) AS p
                                  FROM big WHERE id = g) s LIMIT 1)
FROM generate_series(1, 2) g;
DROP EXTENSION pg2es;
DROP TABLE big, nokey;
