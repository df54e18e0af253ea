"""The request shapes pg2es sends, as conformance cases.

Each case starts from no index named "cf-*", runs its steps in order, and
every step's answer is reduced to what pg2es acts on (the `keep` list, in
filter_path syntax; "status" is always kept).  A case may end with reads of
what was stored.  Versions stand for commit LSNs, as the plugin writes them.
"""

import json

BULK_KEEP = "errors,items.*.status,items.*.error.type,items.*.result,items.*._version"
DOC_KEEP = "found,_version,_source"
ERROR_KEEP = "error.type"


def ndjson(*objs):
    """A _bulk body: one JSON line per object, each ended by a newline."""
    return "".join((o if isinstance(o, str) else json.dumps(o)) + "\n"
                   for o in objs)


def index(idx, doc_id, version, source):
    return [{"index": {"_index": idx, "_id": doc_id, "version": version,
                       "version_type": "external_gte"}}, source]


def delete(idx, doc_id, version):
    return [{"delete": {"_index": idx, "_id": doc_id, "version": version,
                        "version_type": "external_gte"}}]


GUARD = ("if (ctx._version > params.v) { ctx.op = 'noop' } else "
         "{ ctx._source.putAll(params.doc) }")


def guarded_update(idx, doc_id, v, doc):
    return [{"update": {"_index": idx, "_id": doc_id}},
            {"script": {"lang": "painless", "source": GUARD,
                        "params": {"v": v, "doc": doc}}}]


def bulk(*items, keep=BULK_KEEP, path="/_bulk"):
    body = ndjson(*[line for item in items for line in item])
    return {"method": "POST", "path": path, "body": body, "ndjson": True,
            "keep": keep}


def req(method, path, body=None, keep=ERROR_KEEP):
    return {"method": method, "path": path, "body": body, "keep": keep}


def get_doc(idx, doc_id):
    return req("GET", "/%s/_doc/%s" % (idx, doc_id), keep=DOC_KEEP)


REFRESH = lambda idx: req("POST", "/%s/_refresh" % idx, keep="_shards.failed")
TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword",
                                               "ignore_above": 256}}}

# Every mapping the decoder derives (decoder/encode_mapping.c), with a value
# of the form the encoder writes for it.
DERIVED = [
    ("int", {"type": "integer"}, 42),
    ("big", {"type": "long"}, 9007199254740993),
    ("real", {"type": "float"}, 1.5),
    ("dbl", {"type": "double"}, 2.25),
    ("num", {"type": "double", "ignore_malformed": True}, 12.5),
    ("money", {"type": "scaled_float", "scaling_factor": 100}, 19.99),
    ("flag", {"type": "boolean"}, True),
    ("day", {"type": "date"}, "2024-02-29"),
    ("ts", {"type": "date"}, "2024-02-29T12:34:56.123456"),
    ("tstz", {"type": "date"}, "2024-02-29T12:34:56.123456+00:00"),
    ("doc", {"type": "object"}, {"a": 1, "b": {"c": "x"}}),
    ("raw", {"type": "binary"}, "3q2+7w=="),
    ("addr", {"type": "ip", "ignore_malformed": True}, "192.168.0.1"),
    ("net", {"type": "ip_range"}, "10.0.0.0/8"),
    ("uuid", {"type": "keyword"}, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("txt", TEXT, "hello world"),
    ("long_kw", {"type": "keyword", "ignore_above": 8191}, "k" * 300),
    ("irange", {"type": "integer_range"}, {"gte": 1, "lt": 10}),
    ("drange", {"type": "date_range"},
     {"gte": "2024-01-01T00:00:00", "lt": "2024-02-01T00:00:00"}),
]


def mapping_body(props):
    return {"mappings": {"properties": props}}


CASES = [
    {"name": "bulk index, external_gte versions: higher, equal, lower",
     "steps": [
         bulk(index("cf-a", "1", 100, {"n": 1})),
         bulk(index("cf-a", "1", 100, {"n": 2})),
         bulk(index("cf-a", "1", 99, {"n": 3})),
         bulk(index("cf-a", "1", 101, {"n": 4})),
         get_doc("cf-a", "1")]},
    {"name": "bulk delete: versioned, of a missing document, then older index",
     "steps": [
         bulk(index("cf-b", "1", 100, {"n": 1})),
         bulk(delete("cf-b", "1", 200), delete("cf-b", "2", 50)),
         bulk(index("cf-b", "1", 150, {"n": 2}), index("cf-b", "2", 40, {"n": 3})),
         get_doc("cf-b", "1"), get_doc("cf-b", "2")]},
    {"name": "one document's index and delete in one request keep their order",
     "steps": [
         bulk(index("cf-c", "1", 300, {"n": 1}), delete("cf-c", "1", 300),
              index("cf-c", "2", 300, {"n": 2})),
         get_doc("cf-c", "1"), get_doc("cf-c", "2")]},
    {"name": "guarded partial update: applies, noop, missing document",
     "steps": [
         bulk(index("cf-d", "1", 100, {"n": 1, "big": "x"})),
         bulk(guarded_update("cf-d", "1", 100, {"n": 2})),
         get_doc("cf-d", "1"),
         bulk(guarded_update("cf-d", "1", 50, {"n": 3})),
         bulk(guarded_update("cf-d", "9", 100, {"n": 4})),
         get_doc("cf-d", "1")]},
    {"name": "unversioned partial update (versioning=off)",
     "steps": [
         bulk([{"index": {"_index": "cf-e", "_id": "1"}}, {"n": 1, "m": 1}]),
         bulk([{"update": {"_index": "cf-e", "_id": "1"}}, {"doc": {"n": 2}}]),
         get_doc("cf-e", "1")]},
    {"name": "whole-request failures",
     "steps": [
         bulk(index("cf-f", "x" * 513, 1, {"n": 1}), keep="status,error.type"),
         {"method": "POST", "path": "/_bulk", "ndjson": True,
          "body": '{"index":{"_index":"cf-f","_id":"1"}\n{"n":1}\n',
          "keep": "error.type"},
         {"method": "POST", "path": "/_bulk", "ndjson": True,
          "body": '{"index":{"_index":"cf-f","_id":"1"}}\n{"n":1}',
          "keep": "error.type"},
         bulk([{"update": {"_index": "cf-f", "_id": "1", "version": 3,
                           "version_type": "external_gte"}},
               {"doc": {"n": 1}}], keep="error.type"),
         {"method": "POST", "path": "/_bulk", "ndjson": True, "body": "\n",
          "keep": "error.type"}]},
    {"name": "item failures: not an object, an invalid index name",
     "steps": [
         bulk(index("cf-g", "1", 1, "[1,2]"), index("Bad*Index", "1", 1, {"n": 1}),
              index("cf-g", "2", 1, {"n": 2}))]},
    {"name": "derived mappings: every type, a document of each",
     "steps": [
         req("PUT", "/cf-m", mapping_body({n: m for n, m, _ in DERIVED}),
             keep="acknowledged,error.type,error.reason"),
         bulk(index("cf-m", "1", 1, {n: v for n, _, v in DERIVED})),
         req("GET", "/cf-m/_mapping", keep="*.mappings.properties"),
         get_doc("cf-m", "1")]},
    {"name": "ignore_malformed keeps an inet with a netmask in _source",
     "steps": [
         req("PUT", "/cf-i", mapping_body(
             {"addr": {"type": "ip", "ignore_malformed": True},
              "num": {"type": "double", "ignore_malformed": True}}),
             keep="acknowledged"),
         bulk(index("cf-i", "1", 1, {"addr": "10.1.2.3/16", "num": "NaN"})),
         get_doc("cf-i", "1"),
         REFRESH("cf-i"),
         req("POST", "/cf-i/_search", {"query": {"exists": {"field": "addr"}}},
             keep="hits.total.value")]},
    {"name": "ranges whose bounds cross after rounding, cidr in ip_range",
     "steps": [
         req("PUT", "/cf-r", mapping_body(
             {"r": {"type": "integer_range"}, "t": {"type": "date_range"},
              "n": {"type": "ip_range"}}), keep="acknowledged"),
         bulk(index("cf-r", "1", 1, {"r": {"gt": 1, "lt": 2}}),
              index("cf-r", "2", 1, {"t": {"gte": "2024-01-01T00:00:00.0001",
                                           "lte": "2024-01-01T00:00:00.0009"}}),
              index("cf-r", "3", 1, {"t": {"gt": "2024-01-01T00:00:00.0001",
                                           "lt": "2024-01-01T00:00:00.0009"}}),
              index("cf-r", "4", 1, {"n": "192.168.0.0/16"}),
              index("cf-r", "5", 1, {"r": {"gte": 1, "lt": 2}}))]},
    {"name": "numbers: over 1000 digits, beyond double range",
     "steps": [
         req("PUT", "/cf-n", mapping_body({"d": {"type": "double"},
                                           "k": {"type": "keyword"}}),
             keep="acknowledged"),
         bulk(index("cf-n", "1", 1, '{"k":1' + "0" * 1000 + "}"),
              index("cf-n", "2", 1, '{"d":1e400}'),
              index("cf-n", "3", 1, '{"d":1' + "0" * 400 + "}"),
              index("cf-n", "4", 1, {"d": 1.5}))]},
    {"name": "fields named like metadata fields",
     "steps": [
         bulk(index("cf-x", "1", 1, {"_id": 5}), index("cf-x", "2", 1, {"_source": 1}),
              index("cf-x", "3", 1, {"_routing": "a"}),
              index("cf-x", "4", 1, {"_version": 3}),
              index("cf-x", "5", 1, {"_index": "x"}),
              index("cf-x", "6", 1, {"_ignored": "x"}),
              index("cf-x", "7", 1, {"_field_names": "x"}),
              index("cf-x", "8", 1, {"ok": 1})),
         req("PUT", "/cf-xm", mapping_body({"_id": {"type": "keyword"}}))]},
    {"name": "mapping limits: depth over 20, over 1000 fields, unknown parameter",
     "steps": [
         bulk(index("cf-l", "1", 1, json.dumps(
             json.loads("{" + '"a":{' * 21 + '"x":1' + "}" * 22)))),
         req("PUT", "/cf-l2", mapping_body(
             {"c%d" % i: TEXT for i in range(501)})),
         req("PUT", "/cf-l3", mapping_body({"a": {"type": "long", "no_such": 1}})),
         req("PUT", "/cf-l4", {"settings": {"index.mapping.total_fields.limit": 2000},
                               "mappings": {"properties": {"c%d" % i: TEXT
                                                           for i in range(501)}}},
             keep="acknowledged,error.type")]},
    {"name": "disabled objects, object templates, settings, range terms",
     "steps": [
         req("PUT", "/cf-o", {
             "settings": {"index.mapping.total_fields.limit": 2001},
             "mappings": {
                 "dynamic_templates": [{"deep": {
                     "path_match": "a.*", "match_mapping_type": "object",
                     "mapping": {"type": "object", "enabled": False}}}],
                 "properties": {"off": {"type": "object", "enabled": False},
                                "t": {"type": "date_range"}}}},
             keep="acknowledged"),
         bulk(index("cf-o", "1", 1, json.dumps(dict(
             json.loads("{" + '"a":{' * 30 + '"x":1' + "}" * 31),
             off={"k": [1, "x"]},
             t={"gte": "2024-01-01T00:00:00.0001Z",
                "lte": "2024-01-01T00:00:00.0009Z"})))),
         req("GET", "/cf-o/_mapping",
             keep="*.mappings.properties.a,*.mappings.properties.off"),
         req("GET", "/cf-o/_settings",
             keep="*.settings.index.mapping.total_fields.limit"),
         REFRESH("cf-o"),
         req("POST", "/cf-o/_search", {"query": {"term": {
             "t": "2024-01-01T00:00:00.0005Z"}}}, keep="hits.total.value"),
         req("POST", "/cf-o/_search", {"query": {"term": {
             "t": "2024-01-01T00:00:00.002Z"}}}, keep="hits.total.value")]},
    {"name": "reads: _source, _mget, _count, scroll, clear scroll",
     "steps": [
         bulk(index("cf-s", "1", 5, {"n": 1}), index("cf-s", "2", 6, {"n": 2}),
              index("cf-s", "3", 7, {"n": 3})),
         req("GET", "/cf-s/_source/2", keep="n"),
         req("GET", "/cf-s/_source/9", keep="error.type"),
         req("POST", "/cf-s/_mget", {"ids": ["1", "9"]},
             keep="docs._id,docs.found,docs._version,docs._source"),
         REFRESH("cf-s"),
         req("GET", "/cf-s/_count", keep="count"),
         req("POST", "/cf-s/_search?scroll=1m",
             {"size": 2, "sort": ["_doc"], "query": {"match_all": {}}},
             keep="hits.hits._id"),
         req("GET", "/cf-none/_count", keep="error.type")]},
    {"name": "TRUNCATE, versioned: refresh, scroll of ids, versioned deletes",
     "steps": [
         bulk(index("cf-t", "1", 5, {"n": 1}), index("cf-t", "2", 6, {"n": 2})),
         REFRESH("cf-t"),
         req("POST", "/cf-t/_search?scroll=1m&filter_path=_scroll_id,hits.hits._id",
             {"size": 1000, "sort": ["_doc"], "_source": False},
             keep="hits.hits._id"),
         bulk(delete("cf-t", "1", 10), delete("cf-t", "2", 10),
              path="/_bulk?filter_path=errors,items.*.status,items.*.error",
              keep="errors,items.*.status"),
         req("DELETE", "/_search/scroll/_all", keep="succeeded"),
         REFRESH("cf-t"),
         req("GET", "/cf-t/_count", keep="count"),
         bulk(index("cf-t", "1", 9, {"n": 3}), index("cf-t", "2", 11, {"n": 4}))]},
    {"name": "TRUNCATE, versioning=off: refresh, delete_by_query",
     "steps": [
         bulk([{"index": {"_index": "cf-u", "_id": "1"}}, {"n": 1}],
              [{"index": {"_index": "cf-u", "_id": "2"}}, {"n": 2}]),
         REFRESH("cf-u"),
         req("POST", "/cf-u/_delete_by_query?conflicts=proceed&refresh=true",
             {"query": {"match_all": {}}}, keep="deleted,version_conflicts"),
         req("GET", "/cf-u/_count", keep="count")]},
    {"name": "aliases: add, write and read through one, swap atomically",
     "steps": [
         req("PUT", "/cf-g1", keep="acknowledged"),
         req("PUT", "/cf-g2", keep="acknowledged"),
         req("POST", "/_aliases", {"actions": [
             {"add": {"index": "cf-g1", "alias": "cf-al", "is_write_index": True}}]},
             keep="acknowledged"),
         bulk(index("cf-al", "1", 5, {"n": 1})),
         get_doc("cf-al", "1"),
         req("POST", "/_aliases", {"actions": [
             {"remove": {"index": "cf-g1", "alias": "cf-al"}},
             {"add": {"index": "cf-g2", "alias": "cf-al", "is_write_index": True}}]},
             keep="acknowledged"),
         get_doc("cf-al", "1"),
         req("GET", "/_alias/cf-al", keep="*.aliases"),
         req("PUT", "/cf-al", keep="error.type")]},
    {"name": "indexes behind aliases: create with the alias, use it, move a legacy index",
     "steps": [
         req("PUT", "/cf-a~g1", {
             "aliases": {"cf-a": {"is_write_index": True}},
             "mappings": {"properties": {"n": {"type": "long"}},
                          "_meta": {"pg2es": {"table": "public.a", "alias": "cf-a",
                                              "generation": 1}}}},
             keep="acknowledged,index"),
         req("GET", "/cf-a", keep="*.aliases,*.mappings._meta"),
         req("GET", "/cf-a~g1", keep="*.aliases"),
         req("PUT", "/cf-a~g1", {"aliases": {"cf-a": {"is_write_index": True}}}),
         req("PUT", "/cf-a~g2", {"aliases": {"cf-a": {"is_write_index": True}}}),
         req("GET", "/cf-none", keep="error.type"),
         bulk(index("cf-a", "1", 5, {"n": 1}), index("cf-a", "2", 6, {"n": 2}),
              keep=BULK_KEEP + ",items.*._index"),
         req("GET", "/cf-a/_source/1", keep="n"),
         req("POST", "/cf-a/_mget", {"ids": ["1", "9"]},
             keep="docs._index,docs._id,docs.found,docs._version"),
         REFRESH("cf-a"),
         req("GET", "/cf-a/_count", keep="count"),
         req("POST", "/cf-a/_search?scroll=1m",
             {"size": 10, "sort": ["_doc"], "query": {"match_all": {}}},
             keep="hits.hits._index,hits.hits._id"),
         req("POST", "/cf-a/_delete_by_query?conflicts=proceed&refresh=true",
             {"query": {"match_all": {}}}, keep="deleted,version_conflicts"),
         req("GET", "/cf-a~g1/_count", keep="count"),
         req("PUT", "/cf-b", {"mappings": {"properties": {"n": {"type": "long"}}}},
             keep="acknowledged"),
         req("PUT", "/cf-b~g1", {"aliases": {"cf-b": {"is_write_index": True}}}),
         req("PUT", "/cf-b~g1", keep="acknowledged"),
         bulk(index("cf-b", "1", 5, {"n": 1})),
         req("POST", "/_aliases", {"actions": [
             {"remove_index": {"index": "cf-b"}},
             {"add": {"index": "cf-b~g1", "alias": "cf-b", "is_write_index": True}}]},
             keep="acknowledged"),
         req("GET", "/_alias/cf-b", keep="*.aliases"),
         req("GET", "/cf-b", keep="*.aliases"),
         bulk(index("cf-b", "2", 5, {"n": 2}), keep=BULK_KEEP + ",items.*._index")]},
]
