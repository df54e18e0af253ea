-- framing=msgpack: binary output, frames as in protocol/pg2es_protocol.h,
-- checked byte for byte.
SET synchronous_commit = on;
\set VERBOSITY terse

-- Renders one msgpack value at offset pos (0-based) as text, checking that
-- integers use their shortest form; next is the offset after it.
CREATE FUNCTION mp_value(msg bytea, pos int, OUT txt text, OUT next int)
LANGUAGE plpgsql AS $$
DECLARE
    b int := get_byte(msg, pos);
    n int;
    v numeric := 0;
    least_value numeric;
    part text;
    parts text[] := '{}';
BEGIN
    next := pos + 1;
    IF b < 128 THEN
        txt := b::text;
    ELSIF b BETWEEN 204 AND 207 THEN            -- uint 8, 16, 32, 64
        n := 1 << (b - 204);
        FOR i IN 1 .. n LOOP
            v := v * 256 + get_byte(msg, pos + i);
        END LOOP;
        least_value := CASE b WHEN 204 THEN 128 WHEN 205 THEN 256
                              WHEN 206 THEN 65536 ELSE 4294967296 END;
        IF v < least_value THEN
            RAISE EXCEPTION 'integer % not in its shortest form', v;
        END IF;
        txt := v::text;
        next := pos + 1 + n;
    ELSIF b BETWEEN 144 AND 159 THEN            -- fixarray
        FOR i IN 1 .. b - 144 LOOP
            SELECT r.txt, r.next INTO part, next FROM mp_value(msg, next) r;
            parts := parts || part;
        END LOOP;
        txt := '[' || array_to_string(parts, ',') || ']';
    ELSIF b = 192 THEN                          -- nil
        txt := 'null';
    ELSIF b IN (194, 195) THEN                  -- false, true
        txt := CASE b WHEN 195 THEN 'true' ELSE 'false' END;
    ELSIF b BETWEEN 160 AND 191 OR b = 217 THEN -- fixstr, str 8
        IF b = 217 THEN
            n := get_byte(msg, pos + 1);
            next := pos + 2;
        ELSE
            n := b - 160;
        END IF;
        txt := '"' || convert_from(substring(msg FROM next + 1 FOR n), 'UTF8') || '"';
        next := next + n;
    ELSE
        RAISE EXCEPTION 'unexpected msgpack byte % at %', b, pos;
    END IF;
END $$;

-- The frames of a message, one row each; a CHANGE frame's NDJSON follows
-- it as its own row.
CREATE FUNCTION frames(msg bytea) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    pos int := 0;
    frame text;
    len int;
BEGIN
    WHILE pos < length(msg) LOOP
        SELECT r.txt, r.next INTO frame, pos FROM mp_value(msg, pos) r;
        RETURN NEXT frame;
        IF frame LIKE '[1,%' THEN
            len := (regexp_match(frame, ',(\d+)\]$'))[1]::int;
            RETURN NEXT convert_from(substring(msg FROM pos + 1 FOR len), 'UTF8');
            pos := pos + len;
        END IF;
    END LOOP;
END $$;

-- A frame's text with a RELATION or COVERED frame's relid shown as the
-- table name.
CREATE FUNCTION frame_text(f text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN f LIKE '[4,%'
                THEN format('[4,%s,%s]', ((f::jsonb)->>1)::oid::regclass, (f::jsonb)->2)
                WHEN f LIKE '[6,%'
                THEN format('[6,%s,%s,%s]', ((f::jsonb)->>1)::oid::regclass,
                            (f::jsonb)->2, (f::jsonb)->3)
                ELSE f END
$$;

-- The shortest msgpack form of an unsigned integer, in hex.
CREATE FUNCTION mp_uint_hex(n bigint) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN n < 128 THEN lpad(to_hex(n), 2, '0')
                WHEN n < 256 THEN 'cc' || lpad(to_hex(n), 2, '0')
                WHEN n < 65536 THEN 'cd' || lpad(to_hex(n), 4, '0')
                ELSE 'ce' || lpad(to_hex(n), 8, '0') END
$$;

SELECT 'init' FROM pg_create_logical_replication_slot('framing', 'pg2es');

CREATE TABLE framed (id int PRIMARY KEY, big text);
ALTER TABLE framed ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TEMP TABLE xids (xid xid8);

BEGIN;
INSERT INTO xids VALUES (pg_current_xact_id());
INSERT INTO framed VALUES (1, 'one');
COMMIT;

-- one transaction, one message: RELATION, CHANGE, COMMIT; the bytes up
-- to the COMMIT frame (with the table's OID masked), and the COMMIT
-- frame's shape: fixarray 5, kind 2, xid, two LSNs, the time
SELECT replace(encode(substring(data FOR position('\x9502'::bytea IN data) - 1), 'hex'),
               '9304' || mp_uint_hex('framed'::regclass::oid::bigint), '9304<oid>') AS hex,
       encode(substring(data FROM position('\x9502'::bytea IN data)), 'hex')
         ~ '^9502(c[cd]..|c[de]....|ce........)(ce........|cf.{16})(ce........|cf.{16})cf.{16}$'
         AS commit_frame_shape
FROM pg_logical_slot_peek_binary_changes('framing', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off');
SELECT frame_text(f) FROM pg_logical_slot_peek_binary_changes('framing', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off') c, frames(c.data) f
WHERE f NOT LIKE '[2,%';
-- COMMIT: [2, xid, commit_lsn, end_lsn, commit_time]: the xid, the
-- version of the items, the message's LSN (the end of the commit record),
-- microseconds since 1970
SELECT ((f::jsonb)->>1)::xid8 = (SELECT xid FROM xids) AS xid_ok,
       ((f::jsonb)->>2)::numeric =
         (regexp_match(encode(c.data, 'escape'), '"version":(\d+),'))[1]::numeric AS commit_lsn_is_version,
       ((f::jsonb)->>3)::numeric = c.lsn - '0/0' AS end_lsn_is_message_lsn,
       ((f::jsonb)->>4)::numeric / 1e6 BETWEEN extract(epoch FROM now()) - 600
                                         AND extract(epoch FROM now()) + 60 AS commit_time_ok
FROM pg_logical_slot_peek_binary_changes('framing', NULL, NULL, 'framing', 'msgpack') c,
     frames(c.data) f
WHERE f LIKE '[2,%';
SELECT count(*) FROM pg_logical_slot_get_binary_changes('framing', NULL, NULL, 'framing', 'msgpack');

-- several changes and tables in one message; a key change is one CHANGE
-- frame with 2 items; an unchanged TOASTed value gives a partial update,
-- flag 1, and 3 when it follows a key change (its document was never
-- created: a missing document then means lost columns); the RELATION
-- frame comes again after the table changed
CREATE TABLE framed_other (k text PRIMARY KEY);
BEGIN;
INSERT INTO framed VALUES (2, repeat('x', 3000));
INSERT INTO framed_other VALUES ('a');
UPDATE framed SET id = 3 WHERE id = 1;
UPDATE framed SET id = 4 WHERE id = 2;
DELETE FROM framed_other;
COMMIT;
UPDATE framed SET id = 5 WHERE id = 4;
ALTER TABLE framed ADD COLUMN c int;
UPDATE framed SET c = 1 WHERE id = 5;
SELECT regexp_replace(frame_text(f), 'x{20,}', 'xxx...') AS frame
FROM pg_logical_slot_peek_binary_changes('framing', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off') c, frames(c.data) f
WHERE f NOT LIKE '[2,%';
SELECT count(*) AS messages,
       count(*) FILTER (WHERE position('\x9502'::bytea in data) > 0) AS with_commit
FROM pg_logical_slot_get_binary_changes('framing', NULL, NULL, 'framing', 'msgpack');

-- plain mode is textual, framed mode binary: the text function refuses it
SELECT data FROM pg_logical_slot_peek_changes('framing', NULL, NULL, 'framing', 'msgpack');

-- option "publications": a table that a publication change makes covered
-- is announced by a COVERED frame at the commit of that change (a
-- transaction with catalog changes only gets its COMMIT frame then), so
-- that the forwarder copies its existing rows (here the CREATE
-- PUBLICATION too, which comes after the slot's start); a table covered
-- already, or left out by the other options, is not; one dropped from the
-- publication and added again is announced again; a TRUNCATE the
-- publications do not publish writes nothing
CREATE TABLE framed_pub (id int PRIMARY KEY);
CREATE TABLE framed_later (id int PRIMARY KEY);
CREATE PUBLICATION framed_pub FOR TABLE framed_pub
    WITH (publish = 'insert, update, delete');
INSERT INTO framed_pub VALUES (1);
INSERT INTO framed_later VALUES (1);
ALTER PUBLICATION framed_pub ADD TABLE framed_later;
BEGIN;
INSERT INTO framed_pub VALUES (2);
ALTER PUBLICATION framed_pub ADD TABLE framed, framed_other;
COMMIT;
ALTER PUBLICATION framed_pub DROP TABLE framed;
ALTER PUBLICATION framed_pub ADD TABLE framed;
TRUNCATE framed_pub;
ALTER PUBLICATION framed_pub SET (publish = 'truncate');
TRUNCATE framed_pub;
SELECT CASE WHEN f LIKE '[2,%' THEN 'COMMIT' ELSE frame_text(f) END AS frame
FROM pg_logical_slot_peek_binary_changes('framing', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off', 'publications', 'framed_pub') c, frames(c.data) f;
SELECT CASE WHEN f LIKE '[2,%' THEN 'COMMIT' ELSE frame_text(f) END AS frame
FROM pg_logical_slot_get_binary_changes('framing', NULL, NULL, 'framing', 'msgpack',
    'versioning', 'off', 'publications', 'framed_pub',
    'exclude-tables', 'public.framed_other') c, frames(c.data) f;

SELECT pg_drop_replication_slot('framing');
DROP PUBLICATION framed_pub;
DROP TABLE framed, framed_other, xids, framed_pub, framed_later;
-- frames and mp_value serve requests.sql too, which drops them
DROP FUNCTION frame_text(text), mp_uint_hex(bigint);
