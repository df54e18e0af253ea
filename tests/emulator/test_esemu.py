"""Unit tests of the Elasticsearch emulator (tests/emulator/esemu.py).

Run: /usr/bin/python3 -m unittest discover -s tests/emulator -v

Each test talks HTTP to a real emulator server (in-process, port 0), so
what is tested is what pg2es's forwarder and the end-to-end tests see.
"""

import base64
import gzip
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import esemu  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NDJSON = "application/x-ndjson"


class Emulator:
    """An emulator server on a free port, run in a background thread."""

    def __init__(self, *argv):
        self.args = esemu.parse_args(["--port", "0"] + list(argv))
        self.server = esemu.Server(("127.0.0.1", 0), self.args)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def connection(self, context=None):
        if context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               context=context, timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def raw(self, method, path, body=None, headers=None, conn=None):
        """Sends one request; returns (status, headers, body bytes)."""
        own = conn is None
        conn = conn or self.connection()
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        if own:
            conn.close()
        return resp.status, resp.headers, data

    def json(self, method, path, body=None, headers=None, ctype=None):
        """Sends a JSON request; returns (status, decoded body or None)."""
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            hdrs.setdefault("Content-Type", ctype or "application/json")
        status, _, data = self.raw(method, path, body, hdrs)
        return status, (json.loads(data) if data else None)

    def bulk(self, lines, path="/_bulk", headers=None):
        """Posts NDJSON lines (objects or strings), each ending in \\n."""
        body = "".join((l if isinstance(l, str) else json.dumps(l)) + "\n"
                       for l in lines)
        hdrs = {"Content-Type": NDJSON}
        hdrs.update(headers or {})
        return self.json("POST", path, body, hdrs)


def idx(action, index, doc_id=None, **meta):
    """An action line."""
    body = {"_index": index}
    if doc_id is not None:
        body["_id"] = doc_id
    body.update(meta)
    return {action: body}


def ext(index, doc_id, version, vt="external_gte", action="index"):
    return idx(action, index, doc_id, version=version, version_type=vt)


class EmulatorCase(unittest.TestCase):
    """A fresh emulator per test (cheap: in-process)."""

    argv = ()

    def setUp(self):
        self.es = Emulator(*self.argv)

    def tearDown(self):
        self.es.stop()

    def assertWholeError(self, result, status, etype):
        code, body = result
        self.assertEqual(code, status, body)
        self.assertEqual(body["status"], status)
        self.assertEqual(body["error"]["type"], etype, body)
        self.assertEqual(body["error"]["root_cause"][0]["type"], etype)
        return body["error"]["reason"]

    def item(self, result, n=0):
        code, body = result
        self.assertEqual(code, 200, body)
        (action, item), = body["items"][n].items()
        return item

    def count(self, index):
        status, body = self.es.json("GET", "/%s/_count" % index)
        self.assertEqual(status, 200, body)
        return body["count"]

    def get(self, index, doc_id):
        return self.es.json("GET", "/%s/_doc/%s" % (index, doc_id))


class MalformedBulkTest(EmulatorCase):
    """One test per malformed input issue 2 lists (and a few more)."""

    def test_missing_final_newline(self):
        status, _, data = self.es.raw(
            "POST", "/_bulk", '{"index":{"_index":"t","_id":"1"}}\n{"a":1}',
            {"Content-Type": NDJSON})
        body = json.loads(data)
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["type"], "illegal_argument_exception")
        self.assertIn("must be terminated by a newline", body["error"]["reason"])
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)

    def test_malformed_action_json(self):
        reason = self.assertWholeError(
            self.es.bulk(['{"index":{"_index":"t"', '{"a":1}']), 400,
            "x_content_parse_exception")
        self.assertTrue(reason.startswith("[1:"), reason)

    def test_action_line_not_an_object(self):
        reason = self.assertWholeError(self.es.bulk(['"index"', '{"a":1}']),
                                       400, "illegal_argument_exception")
        self.assertIn("Malformed action/metadata line [1]", reason)

    def test_action_metadata_not_an_object(self):
        reason = self.assertWholeError(
            self.es.bulk(['{"index":"t"}', '{"a":1}']), 400,
            "illegal_argument_exception")
        self.assertIn("expected START_OBJECT or END_OBJECT but found "
                      "[VALUE_STRING]", reason)

    def test_unknown_action_is_ignored_with_a_warning(self):
        # Elasticsearch 8 ignores the pair and sends a deprecation warning
        # (BulkRequestParser); later versions will reject it.
        status, headers, data = self.es.raw(
            "POST", "/_bulk",
            '{"upsert":{"_index":"t","_id":"1"}}\n{"a":1}\n'
            '{"index":{"_index":"t","_id":"2"}}\n{"a":2}\n',
            {"Content-Type": NDJSON})
        body = json.loads(data)
        self.assertEqual(status, 200)
        self.assertEqual(len(body["items"]), 1)
        self.assertEqual(body["items"][0]["index"]["_id"], "2")
        self.assertIn("Unsupported action: [upsert]", headers["Warning"])
        self.assertEqual(self.get("t", "1")[0], 404)

    def test_trailing_action_without_source_is_dropped(self):
        # BulkRequestParser stops at an action whose source line is missing
        # at the very end of the body: the item silently disappears.
        code, body = self.es.bulk([idx("index", "t", "1"), {"a": 1},
                                   idx("index", "t", "2")])
        self.assertEqual(code, 200)
        self.assertEqual(len(body["items"]), 1)
        self.assertEqual(self.get("t", "2")[0], 404)

    def test_unknown_action_line_key(self):
        reason = self.assertWholeError(
            self.es.bulk([idx("index", "t", "1", _type="_doc"), {"a": 1}]),
            400, "illegal_argument_exception")
        self.assertEqual(reason, "Action/metadata line [1] contains an "
                         "unknown parameter [_type]")

    def test_action_key_with_array_value(self):
        reason = self.assertWholeError(
            self.es.bulk([{"index": {"_index": "t", "_id": ["1"]}}, {}]),
            400, "illegal_argument_exception")
        self.assertIn("expected a simple value for field [_id] but found "
                      "[START_ARRAY]", reason)

    def test_source_not_an_object_fails_the_item(self):
        result = self.es.bulk([idx("index", "t", "1"), "[1,2]",
                               idx("index", "t", "2"), '"text"',
                               idx("index", "t", "3"), {"a": 1}])
        self.assertTrue(result[1]["errors"])
        for n in (0, 1):
            item = self.item(result, n)
            self.assertEqual(item["status"], 400)
            self.assertEqual(item["error"]["type"],
                             "document_parsing_exception")
        self.assertEqual(self.item(result, 2)["status"], 201)
        self.assertEqual(self.count("t"), 1)

    def test_malformed_source_fails_the_item(self):
        result = self.es.bulk([idx("index", "t", "1"), '{"a":1,}',
                               idx("index", "t", "2"), '{"a":NaN}',
                               idx("index", "t", "3"), '{"a":1,"a":2}',
                               idx("index", "t", "4"), '{"a":3}'])
        for n in range(3):
            item = self.item(result, n)
            self.assertEqual(item["status"], 400, item)
            self.assertEqual(item["error"]["type"],
                             "document_parsing_exception")
        self.assertEqual(self.item(result, 3)["status"], 201)

    def test_invalid_utf8_source_fails_the_item(self):
        status, _, data = self.es.raw(
            "POST", "/_bulk",
            b'{"index":{"_index":"t","_id":"1"}}\n{"a":"\xff\xfe"}\n'
            b'{"index":{"_index":"t","_id":"2"}}\n{"a":"\xc3\xa9"}\n',
            {"Content-Type": NDJSON})
        body = json.loads(data)
        self.assertEqual(status, 200)
        self.assertEqual([i["index"]["status"] for i in body["items"]],
                         [400, 201])

    def test_invalid_index_names_fail_per_item(self):
        names = ["Upper", "_under", "-dash", "+plus", "a*b", "a b", "a,b",
                 "a:b", "a#b", "a/b", "a|b", ".", "..", "x" * 256]
        lines = []
        for name in names:
            lines += [idx("index", name, "1"), {"a": 1}]
        lines += [idx("index", "ok", "1"), {"a": 1}]
        result = self.es.bulk(lines)
        for n, name in enumerate(names):
            item = self.item(result, n)
            self.assertEqual(item["status"], 400, name)
            self.assertEqual(item["error"]["type"],
                             "invalid_index_name_exception", name)
            self.assertEqual(item["error"]["index"], name)
        self.assertIn("must be lowercase", self.item(result, 0)["error"]["reason"])
        self.assertIn("(256 > 255)", self.item(result, len(names) - 1)
                      ["error"]["reason"])
        self.assertEqual(self.item(result, len(names))["status"], 201)

    def test_id_over_512_bytes_fails_the_whole_request(self):
        ok_id = "é" * 256                    # 512 bytes: allowed
        result = self.es.bulk([idx("index", "t", ok_id), {"a": 1}])
        self.assertEqual(self.item(result)["status"], 201)
        long_id = "x" * 511 + "é"            # 513 bytes
        reason = self.assertWholeError(
            self.es.bulk([idx("index", "t", "2"), {"a": 1},
                          idx("delete", "t", long_id)]),
            400, "action_request_validation_exception")
        self.assertIn("is too long, must be no longer than 512 bytes but "
                      "was: 513", reason)
        self.assertEqual(self.get("t", "2")[0], 404)

    def test_update_with_version_fails_the_whole_request(self):
        reason = self.assertWholeError(
            self.es.bulk([idx("update", "t", "1", version=3,
                              version_type="external"), {"doc": {"a": 1}}]),
            400, "illegal_argument_exception")
        self.assertIn("Update requests do not support versioning", reason)

    def test_malformed_update_body_fails_the_whole_request(self):
        self.assertWholeError(
            self.es.bulk([idx("index", "t", "1"), {"a": 1},
                          idx("update", "t", "1"), '{"doc":{"a":2}']),
            400, "x_content_parse_exception")
        self.assertEqual(self.get("t", "1")[0], 404)
        reason = self.assertWholeError(
            self.es.bulk([idx("update", "t", "1"), {"doc": {}, "bogus": 1}]),
            400, "x_content_parse_exception")
        self.assertIn("unknown field [bogus]", reason)
        reason = self.assertWholeError(
            self.es.bulk([idx("update", "t", "1"), {"upsert": {"a": 1}}]),
            400, "action_request_validation_exception")
        self.assertIn("script or doc is missing", reason)

    def test_versioning_validation_fails_the_whole_request(self):
        cases = [
            (ext("t", "1", 5, "external", "create"),
             "create operations only support internal versioning"),
            (idx("index", "t", None, version=5, version_type="external"),
             "an id must be provided if version type or value are set"),
            (idx("index", "t", "1", version=5),
             "internal versioning can not be used"),
            (idx("index", "t", "1", version_type="external"),
             "illegal version value [-3] for version type [EXTERNAL]"),
        ]
        for action, text in cases:
            reason = self.assertWholeError(self.es.bulk([action, {"a": 1}]),
                                           400,
                                           "action_request_validation_exception")
            self.assertIn(text, reason)
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)

    def test_empty_requests(self):
        self.assertWholeError(self.es.json("POST", "/_bulk", "",
                                           ctype=NDJSON), 400,
                              "parse_exception")
        reason = self.assertWholeError(self.es.bulk(["", ""]), 400,
                                       "action_request_validation_exception")
        self.assertIn("no requests added", reason)

    def test_blank_lines_and_crlf_are_accepted(self):
        status, _, data = self.es.raw(
            "POST", "/_bulk",
            '\n{"index":{"_index":"t","_id":"1"}}\r\n{"a":1}\r\n\n',
            {"Content-Type": NDJSON})
        self.assertEqual(status, 200, data)
        self.assertFalse(json.loads(data)["errors"])
        status, _, data = self.es.raw("GET", "/t/_doc/1")
        self.assertIn(b'"_source":{"a":1}}', data)

    def test_source_api_returns_the_stored_bytes(self):
        self.es.raw("POST", "/_bulk",
                    '{"index":{"_index":"t","_id":"1"}}\n'
                    '{"n":1.50, "s":"x"}\n', {"Content-Type": NDJSON})
        status, _, data = self.es.raw("GET", "/t/_source/1")
        self.assertEqual((status, data), (200, b'{"n":1.50, "s":"x"}'))
        status, _, data = self.es.raw("GET", "/t/_source/2")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(data)["error"]["type"],
                         "resource_not_found_exception")
        status, _, data = self.es.raw("GET", "/nope/_source/1")
        self.assertEqual(json.loads(data)["error"]["type"],
                         "index_not_found_exception")


class ContentTypeTest(EmulatorCase):

    def test_form_content_type_is_406_with_string_error(self):
        status, headers, data = self.es.raw(
            "POST", "/_bulk", '{"delete":{"_index":"t","_id":"1"}}\n',
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 406)
        self.assertEqual(json.loads(data), {
            "error": "Content-Type header [application/x-www-form-urlencoded]"
                     " is not supported", "status": 406})
        self.assertEqual(headers["X-Elastic-Product"], "Elasticsearch")

    def test_missing_content_type(self):
        status, _, data = self.es.raw(
            "POST", "/_bulk", '{"delete":{"_index":"t","_id":"1"}}\n')
        self.assertEqual(status, 406)
        self.assertIsInstance(json.loads(data)["error"], str)

    def test_accepted_bulk_types(self):
        for ctype in ("application/x-ndjson", "application/json",
                      "application/json; charset=UTF-8",
                      "application/vnd.elasticsearch+x-ndjson; "
                      "compatible-with=8",
                      "application/vnd.elasticsearch+json;compatible-with=8"):
            status, body = self.es.json(
                "POST", "/_bulk", '{"index":{"_index":"t"}}\n{"a":1}\n',
                ctype=ctype)
            self.assertEqual(status, 200, ctype)
            self.assertFalse(body["errors"])

    def test_compatible_response_type(self):
        status, headers, _ = self.es.raw(
            "GET", "/", headers={
                "Accept": "application/vnd.elasticsearch+json; "
                          "compatible-with=8"})
        self.assertEqual(status, 200)
        self.assertIn("vnd.elasticsearch+json", headers["Content-Type"])

    def test_bad_compatible_version(self):
        self.assertWholeError(
            self.es.json("POST", "/_bulk", '{"index":{"_index":"t"}}\n{}\n',
                         ctype="application/vnd.elasticsearch+x-ndjson; "
                               "compatible-with=9"),
            400, "media_type_header_exception")

    def test_ndjson_rejected_on_search(self):
        status, body = self.es.json("POST", "/_search", {"size": 1},
                                    ctype=NDJSON)
        self.assertEqual(status, 406)

    def test_product_header_on_every_response(self):
        for method, path in (("GET", "/"), ("HEAD", "/"),
                             ("GET", "/missing/_doc/1"),
                             ("GET", "/_nope"), ("GET", "/_cluster/health")):
            _, headers, _ = self.es.raw(method, path)
            self.assertEqual(headers["X-Elastic-Product"], "Elasticsearch",
                             path)


class VersioningTest(EmulatorCase):

    argv = ("--gc-deletes", "0.2")

    def test_external_gt(self):
        self.assertEqual(self.item(self.es.bulk(
            [ext("t", "1", 5, "external"), {"a": 1}]))["status"], 201)
        item = self.item(self.es.bulk([ext("t", "1", 5, "external"),
                                       {"a": 2}]))
        self.assertEqual(item["status"], 409)
        self.assertEqual(item["error"]["type"],
                         "version_conflict_engine_exception")
        self.assertEqual(item["error"]["reason"],
                         "[1]: version conflict, current version [5] is "
                         "higher or equal to the one provided [5]")
        self.assertEqual(item["error"]["index"], "t")
        item = self.item(self.es.bulk([ext("t", "1", 6, "external"),
                                       {"a": 3}]))
        self.assertEqual((item["status"], item["_version"],
                          item["result"]), (200, 6, "updated"))
        self.assertEqual(self.get("t", "1")[1]["_source"], {"a": 3})

    def test_external_gte(self):
        self.es.bulk([ext("t", "1", 5), {"a": 1}])
        item = self.item(self.es.bulk([ext("t", "1", 5), {"a": 2}]))
        self.assertEqual(item["status"], 200)
        item = self.item(self.es.bulk([ext("t", "1", 4), {"a": 3}]))
        self.assertEqual(item["status"], 409)
        self.assertEqual(item["error"]["reason"],
                         "[1]: version conflict, current version [5] is "
                         "higher than the one provided [4]")
        self.assertEqual(self.get("t", "1")[1]["_source"], {"a": 2})

    def test_conflicts_do_not_make_other_items_fail(self):
        result = self.es.bulk([ext("t", "1", 5), {"a": 1},
                               ext("t", "1", 3), {"a": 2},
                               ext("t", "2", 3), {"a": 3}])
        self.assertTrue(result[1]["errors"])
        self.assertEqual([self.item(result, n)["status"] for n in range(3)],
                         [201, 409, 201])

    def test_tombstone_blocks_older_versions_until_gc(self):
        self.es.bulk([ext("t", "1", 10), {"a": 1}])
        item = self.item(self.es.bulk([ext("t", "1", 20, action="delete")]))
        self.assertEqual((item["status"], item["result"], item["_version"]),
                         (200, "deleted", 20))
        item = self.item(self.es.bulk([ext("t", "1", 15), {"a": 2}]))
        self.assertEqual(item["status"], 409)
        time.sleep(0.5)                      # past --gc-deletes 0.2
        item = self.item(self.es.bulk([ext("t", "1", 15), {"a": 2}]))
        self.assertEqual((item["status"], item["result"]), (201, "created"))

    def test_delete_of_missing_doc_is_not_an_error(self):
        self.es.bulk([idx("index", "t", "1"), {"a": 1}])
        code, body = self.es.bulk([idx("delete", "t", "2")])
        self.assertFalse(body["errors"])
        item = body["items"][0]["delete"]
        self.assertEqual((item["status"], item["result"]), (404, "not_found"))
        self.assertNotIn("error", item)

    def test_delete_auto_creates_index_only_with_external_versions(self):
        code, body = self.es.bulk([idx("delete", "a", "1")])
        self.assertTrue(body["errors"])
        item = body["items"][0]["delete"]
        self.assertEqual(item["status"], 404)
        self.assertEqual(item["error"]["type"], "index_not_found_exception")
        self.assertEqual(self.es.json("HEAD", "/a")[0], 404)
        code, body = self.es.bulk([ext("b", "1", 7, action="delete")])
        self.assertFalse(body["errors"])
        self.assertEqual(body["items"][0]["delete"]["result"], "not_found")
        self.assertEqual(self.es.json("HEAD", "/b")[0], 200)
        # the tombstone of a missing doc still blocks older versions
        item = self.item(self.es.bulk([ext("b", "1", 6), {"a": 1}]))
        self.assertEqual(item["status"], 409)

    def test_internal_versions_and_create(self):
        r = [self.item(self.es.bulk([idx("index", "t", "1"), {"a": n}]))
             for n in range(3)]
        self.assertEqual([i["_version"] for i in r], [1, 2, 3])
        self.assertEqual([i["_seq_no"] for i in r], [0, 1, 2])
        item = self.item(self.es.bulk([idx("create", "t", "1"), {"a": 9}]))
        self.assertEqual(item["status"], 409)
        self.assertIn("document already exists (current version [3])",
                      item["error"]["reason"])
        item = self.item(self.es.bulk([idx("create", "t", "2"), {"a": 9}]))
        self.assertEqual((item["status"], item["result"]), (201, "created"))
        item = self.item(self.es.bulk([idx("index", "t", None), {"a": 1}]))
        self.assertEqual(len(item["_id"]), 20)

    def test_update_semantics(self):
        item = self.item(self.es.bulk([idx("update", "t", "1"),
                                       {"doc": {"a": 1}}]))
        self.assertEqual(item["status"], 404)
        self.assertEqual(item["error"]["type"], "document_missing_exception")
        self.assertEqual(item["error"]["reason"], "[1]: document missing")
        item = self.item(self.es.bulk([idx("update", "t", "1"),
                                       {"doc": {"a": 1, "o": {"x": 1}},
                                        "doc_as_upsert": True}]))
        self.assertEqual((item["status"], item["result"]), (201, "created"))
        item = self.item(self.es.bulk([idx("update", "t", "1"),
                                       {"doc": {"o": {"y": 2}}}]))
        self.assertEqual((item["status"], item["_version"]), (200, 2))
        self.assertEqual(self.get("t", "1")[1]["_source"],
                         {"a": 1, "o": {"x": 1, "y": 2}})
        item = self.item(self.es.bulk([idx("update", "t", "1"),
                                       {"doc": {"a": 1}}]))
        self.assertEqual((item["status"], item["result"], item["_version"]),
                         (200, "noop", 2))
        item = self.item(self.es.bulk([idx("update", "t", "2"),
                                       {"doc": {"a": 5}, "upsert": {"a": 0}}]))
        self.assertEqual(item["status"], 201)
        self.assertEqual(self.get("t", "2")[1]["_source"], {"a": 0})
        item = self.item(self.es.bulk([idx("update", "t", "2"),
                                       {"doc": {"a": "x"}}]))
        self.assertEqual(item["status"], 400)

    GUARD = ("if (ctx._version > params.v) { ctx.op = 'noop' } "
             "else { ctx._source.putAll(params.doc) }")

    def scripted(self, doc_id, v, doc, source=None):
        """Sends pg2es's guarded partial update; returns its item."""
        return self.item(self.es.bulk([
            idx("update", "t", doc_id),
            {"script": {"lang": "painless", "source": source or self.GUARD,
                        "params": {"v": v, "doc": doc}}}]))

    def test_guarded_update_script(self):
        self.item(self.es.bulk([ext("t", "1", 100),
                                {"a": 1, "j": {"x": 1, "y": 2}}]))
        # not newer than the change: putAll replaces top-level fields whole
        item = self.scripted("1", 100, {"j": {"x": 3}})
        self.assertEqual((item["status"], item["result"], item["_version"]),
                         (200, "updated", 101))
        self.assertEqual(self.get("t", "1")[1]["_source"],
                         {"a": 1, "j": {"x": 3}})
        # the document is newer: noop, version kept
        item = self.scripted("1", 99, {"a": 7})
        self.assertEqual((item["status"], item["result"], item["_version"]),
                         (200, "noop", 101))
        self.assertEqual(self.get("t", "1")[1]["_source"]["a"], 1)
        # a later versioned index still wins
        item = self.item(self.es.bulk([ext("t", "1", 200), {"a": 2}]))
        self.assertEqual(item["status"], 200)
        # missing document: 404 as for a doc update
        item = self.scripted("2", 100, {"a": 1})
        self.assertEqual((item["status"], item["error"]["type"]),
                         (404, "document_missing_exception"))

    def test_unsupported_scripts_are_refused(self):
        self.item(self.es.bulk([ext("t", "1", 100), {"a": 1}]))
        for source in ("ctx._source.a += 1",
                       "ctx.op = 'delete'",
                       "if (ctx._version > params.v) { ctx.op = 'noop' } "
                       "else { ctx._source.remove('a') }",
                       "ctx._source.putAll(params.doc); while (true) {}"):
            item = self.scripted("1", 100, {"a": 2}, source)
            self.assertEqual(item["status"], 400, source)
            self.assertEqual(item["error"]["type"],
                             "illegal_argument_exception")
            self.assertEqual(item["error"]["caused_by"]["type"],
                             "script_exception")
        item = self.scripted("1", 100, "not a map",
                             "ctx._source.putAll(params.doc)")
        self.assertEqual(item["status"], 400)
        self.assertEqual(self.get("t", "1")[1]["_version"], 100)
        self.assertEqual(self.get("t", "1")[1]["_source"], {"a": 1})

    def test_if_seq_no(self):
        item = self.item(self.es.bulk([idx("index", "t", "1"), {"a": 1}]))
        seq = item["_seq_no"]
        item = self.item(self.es.bulk([idx("index", "t", "1",
                                           if_seq_no=seq + 1,
                                           if_primary_term=1), {"a": 2}]))
        self.assertEqual(item["status"], 409)
        item = self.item(self.es.bulk([idx("index", "t", "1", if_seq_no=seq,
                                           if_primary_term=1), {"a": 2}]))
        self.assertEqual(item["status"], 200)

    def test_source_kept_byte_for_byte(self):
        source = '{ "b" : 1.50, "a":"h\\u00e9llo é",  "n":null ,"z":[ ]}'
        self.es.bulk([idx("index", "t", "1"), source])
        status, _, data = self.es.raw("GET", "/t/_doc/1")
        self.assertEqual(status, 200)
        self.assertIn(('"_source":' + source + "}").encode("utf-8"), data)
        status, _, data = self.es.raw("POST", "/t/_search")
        self.assertIn(('"_source":' + source + "}").encode("utf-8"), data)


class MappingTest(EmulatorCase):

    def mapping(self, index="t"):
        status, body = self.es.json("GET", "/%s/_mapping" % index)
        self.assertEqual(status, 200, body)
        return body[index]["mappings"].get("properties", {})

    def statuses(self, docs, index="t"):
        lines = []
        for n, doc in enumerate(docs):
            lines += [idx("index", index, str(n)),
                      doc if isinstance(doc, str) else json.dumps(doc)]
        code, body = self.es.bulk(lines)
        self.assertEqual(code, 200, body)
        return [list(i.values())[0]["status"] for i in body["items"]]

    def test_dynamic_types(self):
        self.assertEqual(self.statuses([{
            "l": 1, "f": 1.5, "b": True, "d": "2024-02-15T16:00:00.123+01:00",
            "d2": "2024/02/15 16:00:00", "d3": "2024/02/15",
            "d4": "2024/02/15 16:00:00 +0000", "s": "hello", "n": None,
            "num": "2024", "sp": "2024-02-15 16:00:00", "o": {"x": 1},
            "arr": [None, 3, 4]}]), [201])
        props = self.mapping()
        self.assertEqual(props["l"], {"type": "long"})
        self.assertEqual(props["f"], {"type": "float"})
        self.assertEqual(props["b"], {"type": "boolean"})
        self.assertEqual(props["d"], {"type": "date"})
        slash = {"type": "date",
                 "format": "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"}
        self.assertEqual(props["d2"], slash)
        self.assertEqual(props["d3"], slash)
        self.assertEqual(props["d4"]["type"], "text")
        self.assertEqual(props["s"], {"type": "text", "fields": {"keyword": {
            "type": "keyword", "ignore_above": 256}}})
        self.assertNotIn("n", props)
        self.assertEqual(props["num"]["type"], "text")
        self.assertEqual(props["sp"]["type"], "text")
        self.assertEqual(props["o"], {"properties": {"x": {"type": "long"}}})
        self.assertEqual(props["arr"], {"type": "long"})

    def test_later_values_that_do_not_fit(self):
        self.statuses([{"l": 1, "d": "2024-02-15", "s": "x", "o": {"x": 1},
                        "b": False, "f": 1.0}])
        bad = [{"l": "abc"}, {"l": True}, {"l": {"x": 1}},
               {"l": 9223372036854775808}, {"d": "yesterday"},
               {"d": "2024-02-15 16:00:00"}, {"d": "10000-01-01"},
               {"d": "2024-02-30"}, {"s": {"y": 1}}, {"o": "flat"},
               {"b": "yes"}, {"b": 1}, {"f": "1.5x"}, {"l": [1, "x"]},
               '{"f":1e999}']
        good = [{"l": "42"}, {"l": 1.7}, {"l": ""}, {"d": 1700000000000},
                {"s": 5}, {"s": True}, {"b": "true"}, {"f": "2.5"},
                {"l": [1, None, 2]}, {"d": "2024-02-15T16:00:00Z"},
                {"d": "2024-02"}, {"d": "2024-02-15T16:00:00.123456789+05:30"}]
        got = self.statuses(bad + good)
        self.assertEqual(got, [400] * len(bad) + [201] * len(good))
        code, body = self.es.bulk([idx("index", "t", "x"), {"l": "abc"}])
        error = body["items"][0]["index"]["error"]
        self.assertEqual(error["type"], "document_parsing_exception")
        self.assertIn("failed to parse field [l] of type [long] in document "
                      "with id 'x'", error["reason"])
        self.assertRegex(error["reason"], r"^\[1:\d+\] ")

    def test_dots_expand_to_objects(self):
        self.assertEqual(self.statuses([{"a.b": 1, "a.c.d": "x"}]), [201])
        props = self.mapping()
        self.assertEqual(props["a"]["properties"]["b"], {"type": "long"})
        self.assertEqual(self.statuses([{"a": {"b": "nope"}}, {"a": 5}]),
                         [400, 400])

    def test_invalid_field_names(self):
        self.assertEqual(self.statuses([{"": 1}, {" ": 1}, {".a": 1},
                                        {"a.": 1}, {"a..b": 1}, {"..": 1}]),
                         [400] * 6)

    def test_failed_document_adds_no_mapping(self):
        self.assertEqual(self.statuses([{"new": 1, "bad": 1}]), [201])
        self.assertEqual(self.statuses([{"other": "x", "bad": "y"}]), [400])
        self.assertNotIn("other", self.mapping())

    def test_first_value_in_one_request_fixes_the_type(self):
        self.assertEqual(self.statuses([{"v": 1}, {"v": "abc"}]), [201, 400])

    def test_explicit_mappings(self):
        status, body = self.es.json("PUT", "/m", {
            "settings": {"number_of_replicas": 0},
            "mappings": {"dynamic": "strict", "properties": {
                "i": {"type": "integer"}, "k": {"type": "keyword"},
                "bin": {"type": "binary"}, "ip": {"type": "ip"},
                "sf": {"type": "scaled_float", "scaling_factor": 100},
                "dt": {"type": "date", "format": "yyyy-MM-dd HH:mm:ss"},
                "fl": {"type": "flattened"}, "r": {"type": "integer_range"},
                "obj": {"properties": {"x": {"type": "short"}}}}}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"acknowledged": True,
                                "shards_acknowledged": True, "index": "m"})
        good = [{"i": 5, "k": 12, "bin": "AAEC", "ip": "10.0.0.1",
                 "sf": 1.25, "dt": "2024-02-15 16:00:00",
                 "fl": {"any": {"thing": [1, "x"]}}, "r": {"gte": 1, "lt": 5},
                 "obj": {"x": 7}}]
        bad = [{"i": 2 ** 31}, {"bin": "not base64!"}, {"ip": "300.1.1.1"},
               {"dt": "2024-02-15T16:00:00"}, {"obj": {"x": 40000}},
               {"undeclared": 1}, {"obj": {"undeclared": 1}}, {"r": 5}]
        self.assertEqual(self.statuses(good + bad, "m"),
                         [201] + [400] * len(bad))
        code, body = self.es.bulk([idx("index", "m", "s"), {"zz": 1}])
        self.assertEqual(body["items"][0]["index"]["error"]["type"],
                         "strict_dynamic_mapping_exception")
        self.assertEqual(self.es.json("HEAD", "/m")[0], 200)
        status, body = self.es.json("GET", "/m")
        self.assertEqual(body["m"]["mappings"]["properties"]["i"],
                         {"type": "integer"})
        self.assertEqual(body["m"]["settings"]["index"]["number_of_replicas"],
                         "0")

    def test_index_creation_errors(self):
        self.assertEqual(self.es.json("PUT", "/x")[0], 200)
        self.assertWholeError(self.es.json("PUT", "/x"), 400,
                              "resource_already_exists_exception")
        self.assertWholeError(self.es.json("PUT", "/Bad"), 400,
                              "invalid_index_name_exception")
        self.assertWholeError(
            self.es.json("PUT", "/y", {"mappings": {"properties": {
                "f": {"type": "nosuch"}}}}), 400, "mapper_parsing_exception")
        self.assertEqual(self.es.json("HEAD", "/y")[0], 404)
        self.assertWholeError(self.es.json("GET", "/nope"), 404,
                              "index_not_found_exception")

    def test_total_fields_limit(self):
        doc = {"f%d" % n: n for n in range(1001)}
        code, body = self.es.bulk([idx("index", "t", "1"), doc])
        error = body["items"][0]["index"]["error"]
        self.assertEqual(error["type"], "illegal_argument_exception")
        self.assertIn("Limit of total fields [1000]", error["reason"])


class AuthTest(unittest.TestCase):

    def check_401(self, es, headers):
        status, hdrs, data = es.raw("GET", "/_cluster/health", None, headers)
        self.assertEqual(status, 401)
        body = json.loads(data)
        self.assertEqual(body["error"]["type"], "security_exception")
        self.assertEqual(body["status"], 401)
        self.assertIn('Basic realm="security", charset="UTF-8"',
                      hdrs.get_all("WWW-Authenticate"))
        self.assertIn("ApiKey", hdrs.get_all("WWW-Authenticate"))
        self.assertEqual(hdrs["X-Elastic-Product"], "Elasticsearch")
        return body["error"]["reason"]

    def test_basic(self):
        es = Emulator("--user", "elastic", "--password", "s3cret")
        self.addCleanup(es.stop)
        reason = self.check_401(es, {})
        self.assertEqual(reason, "missing authentication credentials for "
                         "REST request [/_cluster/health]")
        wrong = base64.b64encode(b"elastic:nope").decode()
        reason = self.check_401(es, {"Authorization": "Basic " + wrong})
        self.assertIn("unable to authenticate user [elastic]", reason)
        right = base64.b64encode(b"elastic:s3cret").decode()
        status, _, _ = es.raw("GET", "/_cluster/health", None,
                              {"Authorization": "Basic " + right})
        self.assertEqual(status, 200)

    def test_api_key(self):
        key = base64.b64encode(b"id1:secretkey").decode()
        es = Emulator("--api-key", key)
        self.addCleanup(es.stop)
        self.check_401(es, {})
        self.check_401(es, {"Authorization": "ApiKey " +
                            base64.b64encode(b"id1:bad").decode()})
        self.check_401(es, {"Authorization": "Basic " +
                            base64.b64encode(b"u:p").decode()})
        status, _, _ = es.raw("GET", "/", None,
                              {"Authorization": "ApiKey " + key})
        self.assertEqual(status, 200)


@unittest.skipIf(shutil.which("openssl") is None, "needs openssl")
class TlsTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="esemu-tls-")
        self.addCleanup(shutil.rmtree, self.dir)

        def run(*cmd):
            subprocess.run(cmd, cwd=self.dir, check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=esemu test CA")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
        with open(os.path.join(self.dir, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt",
            "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
            "-days", "2", "-extfile", "ext.cnf")

    def test_https(self):
        es = Emulator("--tls-cert", os.path.join(self.dir, "server.crt"),
                      "--tls-key", os.path.join(self.dir, "server.key"),
                      "--user", "elastic", "--password", "pw")
        self.addCleanup(es.stop)
        context = ssl.create_default_context(
            cafile=os.path.join(self.dir, "ca.crt"))
        conn = es.connection(context)
        auth = {"Authorization": "Basic " +
                base64.b64encode(b"elastic:pw").decode()}
        status, _, data = es.raw("GET", "/", None, auth, conn)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["tagline"], "You Know, for Search")
        status, _, _ = es.raw("GET", "/", None, {}, conn)
        self.assertEqual(status, 401)
        conn.close()
        # a client that does not trust the CA fails the handshake
        with self.assertRaises(ssl.SSLError):
            es.raw("GET", "/", None, auth,
                   es.connection(ssl.create_default_context()))
        # plain HTTP to the TLS port gets no HTTP answer
        with self.assertRaises((http.client.HTTPException, OSError)):
            es.raw("GET", "/", None, auth)


class TransportTest(EmulatorCase):

    argv = ("--max-content-length", "1kb")

    def test_gzip_body(self):
        body = gzip.compress(b'{"index":{"_index":"t","_id":"1"}}\n{"a":1}\n')
        status, _, data = self.es.raw("POST", "/_bulk", body, {
            "Content-Type": NDJSON, "Content-Encoding": "gzip"})
        self.assertEqual(status, 200, data)
        self.assertEqual(self.count("t"), 1)
        status, _, data = self.es.raw("POST", "/_bulk", b"not gzip", {
            "Content-Type": NDJSON, "Content-Encoding": "gzip"})
        self.assertEqual(status, 400)

    def test_gzip_response(self):
        status, headers, data = self.es.raw("GET", "/", None,
                                            {"Accept-Encoding": "gzip"})
        self.assertEqual(headers["Content-Encoding"], "gzip")
        self.assertIn("tagline", json.loads(gzip.decompress(data)))

    def test_max_content_length(self):
        big = ('{"index":{"_index":"t"}}\n{"a":"%s"}\n' % ("x" * 1100))
        status, headers, data = self.es.raw("POST", "/_bulk", big,
                                            {"Content-Type": NDJSON})
        self.assertEqual((status, data), (413, b""))
        self.assertEqual(headers["X-Elastic-Product"], "Elasticsearch")
        # the limit applies to the decompressed size
        status, _, data = self.es.raw("POST", "/_bulk", gzip.compress(
            big.encode()), {"Content-Type": NDJSON,
                            "Content-Encoding": "gzip"})
        self.assertEqual((status, data), (413, b""))
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)

    def test_expect_100_continue_oversized(self):
        with socket.create_connection(("127.0.0.1", self.es.port)) as s:
            s.sendall(b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/x-ndjson\r\nContent-Length: 5000\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            reply = s.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 417"), reply)

    def test_chunked_body_and_keep_alive(self):
        conn = self.es.connection()
        chunks = iter([b'{"index":{"_index":"t","_id":"1"}}\n',
                       b'{"a":1}\n'])
        conn.request("POST", "/_bulk", body=chunks,
                     headers={"Content-Type": NDJSON},
                     encode_chunked=True)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        resp.read()
        status, _, _ = self.es.raw("GET", "/t/_doc/1", conn=conn)
        self.assertEqual(status, 200)
        conn.close()

    def test_root_and_unknown_paths(self):
        status, body = self.es.json("GET", "/")
        self.assertEqual(body["version"]["build_flavor"], "default")
        self.assertTrue(body["version"]["number"].startswith("8."))
        status, _, data = self.es.raw("HEAD", "/")
        self.assertEqual((status, data), (200, b""))
        status, body = self.es.json("GET", "/_nope/x/y")
        self.assertEqual(status, 400)
        self.assertIn("no handler found", body["error"])
        status, body = self.es.json("GET", "/_bulk")
        self.assertEqual(status, 405)


class FaultTest(EmulatorCase):

    def faults(self, rules):
        status, _ = self.es.json("POST", "/_emulator/faults", rules)
        self.assertEqual(status, 200)

    def stats(self):
        return self.es.json("GET", "/_emulator/stats")[1]

    def test_status_faults(self):
        self.faults({"kind": "status", "status": 429, "count": 2})
        for _ in range(2):
            reason = self.assertWholeError(
                self.es.bulk([idx("index", "t", "1"), {"a": 1}]), 429,
                "es_rejected_execution_exception")
            self.assertIn("rejected execution", reason)
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)
        self.assertFalse(self.es.bulk([idx("index", "t", "1"),
                                       {"a": 1}])[1]["errors"])
        self.faults([{"kind": "status", "status": 503}])
        self.assertEqual(self.es.json("GET", "/t/_count")[0], 200)
        self.assertEqual(self.es.bulk([idx("delete", "t", "1")])[0], 503)
        stats = self.stats()
        self.assertEqual(stats["faults_served"]["status"], 3)
        self.assertEqual(stats["bulk_requests"], 4)

    def test_scope_all(self):
        self.faults([{"kind": "status", "status": 503, "scope": "all"},
                     {"kind": "delay", "ms": 1, "scope": "all"}])
        self.assertWholeError(self.es.json("GET", "/_cluster/health"), 503,
                              "unavailable_shards_exception")
        self.assertEqual(self.es.json("GET", "/")[0], 200)
        self.assertEqual(self.stats()["faults_served"],
                         {"status": 1, "delay": 1})

    def test_item_status(self):
        self.faults({"kind": "item_status", "status": 429, "count": 2})
        code, body = self.es.bulk([idx("index", "t", str(n)) if k == 0 else
                                   {"n": n} for n in range(3)
                                   for k in range(2)])
        self.assertTrue(body["errors"])
        got = [i["index"]["status"] for i in body["items"]]
        self.assertEqual(got, [429, 429, 201])
        self.assertEqual(body["items"][0]["index"]["error"]["type"],
                         "es_rejected_execution_exception")
        self.assertEqual(self.count("t"), 1)

    def test_delay(self):
        self.faults({"kind": "delay", "ms": 50, "count": 1})
        self.assertFalse(self.es.bulk([idx("index", "t", "1"),
                                       {"a": 1}])[1]["errors"])
        self.assertEqual(self.stats()["faults_served"], {"delay": 1})

    def test_drop_before(self):
        self.faults({"kind": "drop_before", "count": 1})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.es.bulk([idx("index", "t", "1"), {"a": 1}])
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)

    def test_drop_after(self):
        self.faults({"kind": "drop_after", "count": 1})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.es.bulk([idx("index", "t", "1"), {"a": 1}])
        self.assertEqual(self.get("t", "1")[0], 200)

    def test_cut(self):
        self.faults({"kind": "cut", "count": 1})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.es.bulk([idx("index", "t", "1"), {"a": 1}])
        self.assertEqual(self.get("t", "1")[0], 200)
        code, body = self.es.bulk([idx("index", "t", "2"), {"a": 2}])
        self.assertFalse(body["errors"])

    def test_reject(self):
        self.faults({"kind": "reject", "match": "poison"})
        for _ in range(2):
            code, body = self.es.bulk([idx("index", "t", "1"),
                                       {"a": "poison"},
                                       idx("index", "t", "2"), {"a": "ok"}])
            item = body["items"][0]["index"]
            self.assertEqual(item["status"], 400)
            self.assertEqual(item["error"]["type"],
                             "document_parsing_exception")
            self.assertEqual(body["items"][1]["index"]["status"] // 100, 2)
        self.assertEqual(self.es.json("DELETE", "/_emulator/faults")[0], 200)
        code, body = self.es.bulk([idx("index", "t", "1"), {"a": "poison"}])
        self.assertFalse(body["errors"])

    def test_clear_keeps_the_kinds_asked(self):
        self.faults([{"kind": "reject", "match": "poison"},
                     {"kind": "status", "status": 503, "count": 5}])
        self.assertEqual(self.es.json("DELETE",
                                      "/_emulator/faults?keep=reject")[0], 200)
        code, body = self.es.bulk([idx("index", "t", "1"), {"a": "poison"},
                                   idx("index", "t", "2"), {"a": "ok"}])
        self.assertEqual(code, 200)
        self.assertEqual(body["items"][0]["index"]["status"], 400)
        self.assertEqual(body["items"][1]["index"]["status"] // 100, 2)

    def test_bad_rule(self):
        status, _ = self.es.json("POST", "/_emulator/faults",
                                 {"kind": "nonsense"})
        self.assertEqual(status, 400)


class ApiTest(EmulatorCase):

    def load(self, n, index="t"):
        lines = []
        for i in range(n):
            lines += [idx("index", index, str(i)),
                      {"n": i, "k": "v%d" % (i % 3), "s": "Word %d" % i}]
        code, body = self.es.bulk(lines)
        self.assertFalse(body["errors"])

    def ids(self, body):
        return [h["_id"] for h in body["hits"]["hits"]]

    def test_filter_path(self):
        code, body = self.es.json(
            "POST", "/_bulk?filter_path=items.*.error",
            '{"index":{"_index":"t","_id":"1"}}\n{"a":1}\n'
            '{"index":{"_index":"t","_id":"2"}}\n{"a":"x"}\n', ctype=NDJSON)
        self.assertEqual(list(body), ["items"])
        self.assertEqual(len(body["items"]), 1)
        self.assertEqual(list(body["items"][0]["index"]), ["error"])
        code, body = self.es.json(
            "POST", "/_bulk?filter_path=items.*.error",
            '{"index":{"_index":"t","_id":"3"}}\n{"a":1}\n', ctype=NDJSON)
        self.assertEqual(body, {})
        code, body = self.es.json(
            "POST", "/_bulk?filter_path=errors,items.*._id,items.*.status",
            '{"index":{"_index":"t","_id":"4"}}\n{"a":1}\n', ctype=NDJSON)
        self.assertEqual(body, {"errors": False,
                                "items": [{"index": {"_id": "4",
                                                     "status": 201}}]})
        code, body = self.es.json("GET", "/t/_doc/4?filter_path=**.a")
        self.assertEqual(body, {"_source": {"a": 1}})
        code, body = self.es.json("GET", "/t/_doc/4?filter_path=-_source,"
                                  "-_seq_no,-_primary_term,-_version")
        self.assertEqual(body, {"_index": "t", "_id": "4", "found": True})

    def test_get_and_mget(self):
        self.load(3)
        status, body = self.get("t", "1")
        self.assertEqual((status, body["found"], body["_source"]["n"]),
                         (200, True, 1))
        self.assertEqual(self.get("t", "9"), (404, {"_index": "t",
                                                    "_id": "9",
                                                    "found": False}))
        status, body = self.es.json("POST", "/t/_mget", {"ids": ["0", "9"]})
        self.assertEqual([d["found"] for d in body["docs"]], [True, False])
        status, body = self.es.json("POST", "/_mget", {"docs": [
            {"_index": "t", "_id": "2"}, {"_index": "zz", "_id": "1"}]})
        self.assertEqual(body["docs"][0]["_source"]["n"], 2)
        self.assertEqual(body["docs"][1]["error"]["type"],
                         "index_not_found_exception")
        status, body = self.es.json("GET", "/t/_doc/1?_source=false")
        self.assertNotIn("_source", body)

    def test_search_and_count(self):
        self.load(25)
        status, body = self.es.json("GET", "/t/_search")
        self.assertEqual(body["hits"]["total"], {"value": 25,
                                                 "relation": "eq"})
        self.assertEqual(len(body["hits"]["hits"]), 10)
        status, body = self.es.json("POST", "/t/_search", {
            "size": 5, "from": 20, "sort": ["_doc"], "_source": False})
        self.assertEqual(self.ids(body), ["20", "21", "22", "23", "24"])
        self.assertNotIn("_source", body["hits"]["hits"][0])
        for query, expected in (({"term": {"n": 7}}, 1),
                                ({"term": {"n": "7"}}, 1),
                                ({"term": {"k.keyword": "v1"}}, 8),
                                ({"term": {"k": "v1"}}, 8),
                                ({"term": {"s": "word"}}, 25),
                                ({"term": {"s": "Word"}}, 0),
                                ({"term": {"s.keyword": {"value": "Word 3"}}},
                                 1),
                                ({"match_all": {}}, 25)):
            status, body = self.es.json("POST", "/t/_count",
                                        {"query": query})
            self.assertEqual((status, body["count"]), (200, expected), query)
            status, body = self.es.json("POST", "/t/_search?size=100",
                                        {"query": query})
            self.assertEqual(len(body["hits"]["hits"]), expected)
        status, body = self.es.json("POST", "/t/_search",
                                    {"query": {"nope": {}}})
        self.assertEqual(status, 400)
        status, body = self.es.json("POST", "/t/_search?size=x")
        self.assertEqual(status, 400)
        status, body = self.es.json("POST", "/t/_search",
                                    {"query": {"terms": {"k": 5}}})
        self.assertEqual(status, 400)
        status, body = self.es.json("POST", "/t/_search",
                                    {"size": 10, "from": 9995})
        self.assertEqual(status, 400)
        status, body = self.es.json("POST", "/t/_search", {
            "sort": [{"n": "desc"}], "size": 2})
        self.assertEqual(self.ids(body), ["24", "23"])

    def test_total_hits_cap(self):
        lines = []
        for i in range(10005):
            lines += ['{"index":{"_index":"big","_id":"%d"}}' % i, '{}']
        self.assertFalse(self.es.bulk(lines)[1]["errors"])
        status, body = self.es.json("GET", "/big/_search?size=0")
        self.assertEqual(body["hits"]["total"], {"value": 10000,
                                                 "relation": "gte"})
        status, body = self.es.json(
            "GET", "/big/_search?size=0&track_total_hits=true")
        self.assertEqual(body["hits"]["total"], {"value": 10005,
                                                 "relation": "eq"})
        self.assertEqual(self.count("big"), 10005)

    def test_scroll(self):
        self.load(25)
        status, body = self.es.json("POST", "/t/_search?scroll=1m",
                                    {"size": 10, "sort": ["_doc"]})
        seen = self.ids(body)
        scroll_id = body["_scroll_id"]
        while True:
            status, body = self.es.json("POST", "/_search/scroll", {
                "scroll": "1m", "scroll_id": scroll_id})
            self.assertEqual(status, 200)
            if not body["hits"]["hits"]:
                break
            seen += self.ids(body)
        self.assertEqual(seen, [str(i) for i in range(25)])
        status, body = self.es.json("DELETE", "/_search/scroll",
                                    {"scroll_id": [scroll_id]})
        self.assertEqual(body, {"succeeded": True, "num_freed": 1})
        status, body = self.es.json("POST", "/_search/scroll",
                                    {"scroll_id": scroll_id})
        self.assertEqual(status, 404)

    def test_delete_by_query(self):
        self.load(5)
        status, body = self.es.json(
            "POST", "/t/_delete_by_query?refresh=true&conflicts=proceed",
            {"query": {"term": {"n": 1}}})
        self.assertEqual((status, body["deleted"], body["total"]), (200, 1, 1))
        status, body = self.es.json("POST", "/t/_delete_by_query",
                                    {"query": {"match_all": {}}})
        self.assertEqual((status, body["deleted"]), (200, 4))
        self.assertEqual(body["failures"], [])
        self.assertEqual(self.count("t"), 0)
        # the deletes left tombstones at version 2
        item = self.item(self.es.bulk([ext("t", "0", 1), {"a": 1}]))
        self.assertEqual(item["status"], 409)
        # version 0 documents cannot be deleted by query
        self.es.bulk([ext("t", "z", 0), {"a": 1}])
        status, body = self.es.json("POST", "/t/_delete_by_query",
                                    {"query": {"match_all": {}}})
        self.assertEqual((status, body["version_conflicts"]), (409, 1))

    def test_index_admin_health_cat(self):
        status, body = self.es.json("GET", "/_cluster/health")
        self.assertEqual(body["status"], "green")
        self.load(2)
        status, body = self.es.json(
            "GET", "/_cluster/health?wait_for_status=yellow&timeout=1s")
        self.assertEqual((status, body["status"], body["number_of_nodes"]),
                         (200, "yellow", 1))
        self.assertEqual(body["unassigned_shards"], 1)
        status, body = self.es.json("GET", "/_cat/indices?format=json")
        self.assertEqual(body[0]["index"], "t")
        self.assertEqual(body[0]["docs.count"], "2")
        status, body = self.es.json("POST", "/t/_refresh")
        self.assertEqual(body["_shards"]["failed"], 0)
        self.assertEqual(self.es.json("DELETE", "/t"),
                         (200, {"acknowledged": True}))
        self.assertEqual(self.es.json("DELETE", "/t")[0], 404)
        self.assertEqual(self.es.json("GET", "/t/_search")[0], 404)

    def test_bulk_url_index_and_refresh(self):
        code, body = self.es.bulk(['{"index":{"_id":"1"}}', '{"a":1}',
                                   '{"index":{"_index":"u","_id":"1"}}',
                                   '{"a":1}'], path="/t/_bulk?refresh=true")
        self.assertEqual([list(i.values())[0]["_index"]
                          for i in body["items"]], ["t", "u"])
        self.assertTrue(body["items"][0]["index"]["forced_refresh"])
        self.assertEqual(self.count("t"), 1)

    def test_single_document_apis(self):
        status, body = self.es.json("PUT", "/t/_doc/1", {"a": 1})
        self.assertEqual((status, body["result"]), (201, "created"))
        status, body = self.es.json(
            "PUT", "/t/_doc/1?version=5&version_type=external", {"a": 2})
        self.assertEqual((status, body["_version"]), (200, 5))
        status, body = self.es.json("DELETE", "/t/_doc/1")
        self.assertEqual((status, body["result"]), (200, "deleted"))
        status, body = self.es.json("DELETE", "/t/_doc/1")
        self.assertEqual((status, body["result"]), (404, "not_found"))


class RealEngineRulesTest(EmulatorCase):
    """Rules the conformance test (tests/conformance) found the real
    engines apply and the emulator once did not."""

    statuses = MappingTest.statuses

    def put(self, props, index="t", settings=None):
        body = {"mappings": {"properties": props}}
        if settings:
            body["settings"] = settings
        return self.es.json("PUT", "/" + index, body)

    def test_metadata_field_names(self):
        self.assertEqual(self.statuses([{"_id": 1}, {"_source": 1},
                                        {"_routing": "a"}, {"_foo": 1}]),
                         [400, 400, 400, 201])
        status, body = self.put({"_version": {"type": "long"}}, "m")
        self.assertEqual((status, body["error"]["type"]),
                         (400, "mapper_parsing_exception"))

    def test_unknown_mapping_parameter(self):
        status, body = self.put({"a": {"type": "long", "no_such": 1}})
        self.assertEqual(status, 400)
        self.assertIn("unknown parameter [no_such]", body["error"]["reason"])
        self.assertEqual(self.put({"a": {"type": "long",
                                         "ignore_malformed": True}}, "u")[0],
                         200)

    def test_total_fields_of_an_explicit_mapping(self):
        text = {"type": "text", "fields": {"keyword": {"type": "keyword"}}}
        props = {"c%d" % i: text for i in range(501)}
        status, body = self.put(props)
        self.assertEqual((status, body["error"]["type"]),
                         (400, "illegal_argument_exception"))
        self.assertEqual(self.put(props, "big", {
            "index.mapping.total_fields.limit": 2000})[0], 200)

    def test_depth_limit(self):
        deep = json.loads("{" + '"a":{' * 21 + '"x":1' + "}" * 22)
        ok = json.loads("{" + '"a":{' * 20 + '"x":1' + "}" * 21)
        self.assertEqual(self.statuses([deep, ok]), [400, 201])

    def test_long_numbers(self):
        self.put({"d": {"type": "double"}})
        self.assertEqual(self.statuses(['{"k":1' + "0" * 1000 + "}",
                                        '{"d":1e400}', '{"d":1' + "0" * 400 + "}",
                                        '{"d":1.5}']), [400, 400, 400, 201])

    def test_ranges_crossing_after_rounding(self):
        self.put({"r": {"type": "integer_range"}, "t": {"type": "date_range"},
                  "n": {"type": "ip_range"}})
        self.assertEqual(self.statuses([
            {"r": {"gt": 1, "lt": 2}}, {"r": {"gte": 1, "lt": 2}},
            {"t": {"gt": "2024-01-01T00:00:00.0001",
                   "lt": "2024-01-01T00:00:00.0009"}},
            {"t": {"gte": "2024-01-01T00:00:00.0001",
                   "lte": "2024-01-01T00:00:00.0009"}},
            {"n": "192.168.0.0/16"}]), [400, 201, 400, 201, 201])

    def test_ignore_malformed_keeps_source_unindexed(self):
        self.put({"addr": {"type": "ip", "ignore_malformed": True}})
        self.assertEqual(self.statuses([{"addr": "10.1.2.3/16"},
                                        {"addr": "10.1.2.3"}]), [201, 201])
        status, body = self.get("t", "0")
        self.assertEqual(body["_source"], {"addr": "10.1.2.3/16"})
        status, body = self.es.json("POST", "/t/_search", {
            "query": {"exists": {"field": "addr"}}})
        self.assertEqual(body["hits"]["total"]["value"], 1)

    def test_disabled_objects_and_object_templates(self):
        status, _ = self.es.json("PUT", "/t", {"mappings": {
            "dynamic_templates": [{"deep": {
                "path_match": "a.*", "match_mapping_type": "object",
                "mapping": {"type": "object", "enabled": False}}}],
            "properties": {"off": {"type": "object", "enabled": False}}}})
        self.assertEqual(status, 200)
        deep = json.loads("{" + '"a":{' * 30 + '"x":1' + "}" * 31)
        self.assertEqual(self.statuses([dict(deep, off={"k": [1, "x"]})]),
                         [201])
        status, body = self.es.json("GET", "/t/_mapping")
        props = body["t"]["mappings"]["properties"]
        self.assertEqual(props["a"]["properties"]["a"],
                         {"type": "object", "enabled": False})

    def test_settings_and_range_terms(self):
        self.put({"t": {"type": "date_range"}}, "t",
                 {"index.mapping.total_fields.limit": 2001})
        status, body = self.es.json("GET", "/t/_settings")
        self.assertEqual(body["t"]["settings"]["index"]["mapping"]
                         ["total_fields"]["limit"], "2001")
        self.statuses([{"t": {"gte": "2024-01-01T00:00:00.0001Z",
                              "lte": "2024-01-01T00:00:00.0009Z"}}])
        status, body = self.es.json("POST", "/t/_search", {"query": {"term": {
            "t": "2024-01-01T00:00:00.0005Z"}}})
        self.assertEqual(body["hits"]["total"]["value"], 1)
        status, body = self.es.json("POST", "/t/_search", {"query": {"term": {
            "t": "2024-01-01T00:00:00.002Z"}}})
        self.assertEqual(body["hits"]["total"]["value"], 0)


class AliasTest(EmulatorCase):

    def aliases(self, *actions):
        return self.es.json("POST", "/_aliases", {"actions": list(actions)})

    def test_write_read_and_atomic_switch(self):
        for name in ("g1", "g2"):
            self.assertEqual(self.es.json("PUT", "/" + name)[0], 200)
        self.assertEqual(self.aliases({"add": {"index": "g1", "alias": "al"}})[0],
                         200)
        item = self.item(self.es.bulk([ext("al", "1", 5), {"n": 1}]))
        self.assertEqual((item["status"], item["_index"]), (201, "g1"))
        self.assertEqual(self.get("al", "1")[1]["_index"], "g1")
        status, _ = self.aliases({"remove": {"index": "g1", "alias": "al"}},
                                 {"add": {"index": "g2", "alias": "al"}})
        self.assertEqual(status, 200)
        self.assertEqual(self.get("al", "1")[0], 404)
        status, body = self.es.json("GET", "/_alias/al")
        self.assertEqual(body, {"g2": {"aliases": {"al": {}}}})
        status, body = self.es.json("PUT", "/al")
        self.assertEqual((status, body["error"]["type"]),
                         (400, "invalid_index_name_exception"))

    def test_refused_actions_change_nothing(self):
        self.es.json("PUT", "/g1")
        self.aliases({"add": {"index": "g1", "alias": "al"}})
        status, body = self.aliases(
            {"remove": {"index": "g1", "alias": "al"}},
            {"add": {"index": "nosuch", "alias": "al"}})
        self.assertEqual(status, 404)
        self.assertEqual(self.es.json("GET", "/_alias/al")[1],
                         {"g1": {"aliases": {"al": {}}}})
        status, body = self.aliases({"add": {"index": "g1", "alias": "g1"}})
        self.assertEqual(body["error"]["type"], "invalid_alias_name_exception")

    def test_two_indexes_need_a_write_index(self):
        for name in ("g1", "g2"):
            self.es.json("PUT", "/" + name)
            self.aliases({"add": {"index": name, "alias": "al"}})
        item = self.item(self.es.bulk([ext("al", "1", 5), {"n": 1}]))
        self.assertEqual(item["status"], 400)
        self.aliases({"add": {"index": "g2", "alias": "al",
                              "is_write_index": True}})
        item = self.item(self.es.bulk([ext("al", "1", 5), {"n": 1}]))
        self.assertEqual((item["status"], item["_index"]), (201, "g2"))
        self.es.json("DELETE", "/g2")
        self.assertEqual(self.es.json("GET", "/_alias/al")[1],
                         {"g1": {"aliases": {"al": {}}}})


class CountingOnlyTest(EmulatorCase):

    argv = ("--counting-only",)

    def test_counts_and_stores_nothing(self):
        code, body = self.es.bulk([ext("t", "1", 5), {"a": 1},
                                   ext("t", "2", 6, action="delete"),
                                   idx("index", "t", "3"), {"a": "x"}])
        self.assertEqual(code, 200)
        self.assertFalse(body["errors"])
        self.assertEqual([list(i)[0] for i in body["items"]],
                         ["index", "delete", "index"])
        self.assertEqual(body["items"][0]["index"]["_version"], 5)
        stats = self.es.json("GET", "/_emulator/stats")[1]
        self.assertEqual((stats["items"], stats["bulk_requests"]), (3, 1))
        self.assertGreater(stats["bulk_bytes"], 0)
        self.assertEqual(self.es.json("HEAD", "/t")[0], 404)
        status, _ = self.es.json("POST", "/_bulk", '{"index":{}}\n{}',
                                 ctype=NDJSON)
        self.assertEqual(status, 400)


class CommandLineTest(unittest.TestCase):

    def test_port_file_and_banner(self):
        with tempfile.TemporaryDirectory() as tmp:
            port_file = os.path.join(tmp, "port")
            proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "esemu.py"), "--port",
                 "0", "--port-file", port_file],
                stdout=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                with open(port_file) as f:
                    port = int(f.read())
                self.assertEqual(line.strip(),
                                 "esemu listening on http://127.0.0.1:%d"
                                 % port)
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
                conn.request("GET", "/")
                self.assertEqual(conn.getresponse().status, 200)
                conn.close()
            finally:
                proc.terminate()
                proc.wait(10)
                proc.stdout.close()

    def test_bad_flags(self):
        result = subprocess.run(
            [sys.executable, os.path.join(HERE, "esemu.py"), "--user", "x"],
            capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--user and --password go together", result.stderr)


if __name__ == "__main__":
    unittest.main()
