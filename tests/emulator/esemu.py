#!/usr/bin/env python3
"""esemu: an in-memory emulator of Elasticsearch 8's document APIs.

pg2es's end-to-end tests run against it when no real cluster is available
(no Elasticsearch can run on the test machines).  Fidelity is the point: a
bug that real Elasticsearch would expose must show up here too, so requests
are checked as strictly as Elasticsearch checks them (see
/work/shared/docs/elasticsearch.md and tests/emulator/README.md for the
deliberate differences).  Standard library only.

Usage and the /_emulator/ control endpoints: docs/design.md, "Emulator
interface".
"""

import argparse
import base64
import binascii
import copy
import datetime
import gzip
import ipaddress
import json
import math
import os
import re
import secrets
import socket
import socketserver
import ssl
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

ES_VERSION = "8.15.0"
LUCENE_VERSION = "9.11.1"
CLUSTER_NAME = "esemu"
MAX_ID_BYTES = 512
MAX_INDEX_NAME_BYTES = 255
MAX_RESULT_WINDOW = 10000
TOTAL_FIELDS_LIMIT = 1000
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
INT_RANGES = {
    "long": (LONG_MIN, LONG_MAX),
    "integer": (-(1 << 31), (1 << 31) - 1),
    "short": (-(1 << 15), (1 << 15) - 1),
    "byte": (-128, 127),
    "unsigned_long": (0, (1 << 64) - 1),
}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
STRING_TYPES = {"keyword", "text", "match_only_text", "wildcard",
                "constant_keyword", "search_as_you_type"}
RANGE_TYPES = {"integer_range", "long_range", "float_range", "double_range",
               "date_range", "ip_range"}
OPAQUE_TYPES = {"flattened", "geo_point", "geo_shape", "point", "shape",
                "dense_vector", "sparse_vector", "rank_feature",
                "rank_features", "percolator", "join", "histogram",
                "completion", "alias", "version", "token_count"}
LEAF_TYPES = (set(INT_RANGES) | FLOAT_TYPES | STRING_TYPES | RANGE_TYPES |
              OPAQUE_TYPES | {"boolean", "date", "date_nanos", "binary", "ip"})
OBJECT_TYPES = {"object", "nested"}
DEPTH_LIMIT = 20
MAX_NUMBER_LENGTH = 1000
# Field names the engines keep for their metadata: a document or a mapping
# that uses one at its top level is refused (Elasticsearch 8 and OpenSearch
# 2 alike for these; each has a few more of its own).
METADATA_FIELDS = {"_id", "_index", "_routing", "_source", "_version",
                   "_seq_no", "_primary_term", "_ignored", "_field_names",
                   "_nested_path", "_data_stream_timestamp", "_feature"}
# Mapping parameters each field type takes; any other is refused.
_COMMON_PARAMS = {"type", "meta", "copy_to", "boost", "store", "index",
                  "doc_values", "fields"}
_NUMERIC_PARAMS = _COMMON_PARAMS | {"coerce", "ignore_malformed", "null_value",
                                    "on_script_error", "script"}
MAPPING_PARAMS = {
    "keyword": _COMMON_PARAMS | {"eager_global_ordinals", "ignore_above",
                                 "index_options", "norms", "null_value",
                                 "similarity", "normalizer",
                                 "split_queries_on_whitespace"},
    "text": _COMMON_PARAMS | {"analyzer", "search_analyzer",
                              "search_quote_analyzer", "eager_global_ordinals",
                              "fielddata", "fielddata_frequency_filter",
                              "index_options", "index_prefixes",
                              "index_phrases", "norms", "similarity",
                              "position_increment_gap", "term_vector"},
    "scaled_float": _NUMERIC_PARAMS | {"scaling_factor"},
    "date": _NUMERIC_PARAMS | {"format", "locale"},
    "date_nanos": _NUMERIC_PARAMS | {"format", "locale"},
    "boolean": _COMMON_PARAMS | {"null_value", "ignore_malformed"},
    "binary": {"type", "meta", "store", "doc_values", "copy_to"},
    "ip": _NUMERIC_PARAMS - {"coerce"},
    "flattened": {"type", "meta", "depth_limit", "doc_values", "index",
                  "eager_global_ordinals", "ignore_above", "index_options",
                  "null_value", "similarity", "split_queries_on_whitespace"},
    "object": {"type", "properties", "dynamic", "enabled", "subobjects"},
    "nested": {"type", "properties", "dynamic", "enabled", "include_in_parent",
               "include_in_root"},
}
for _t in INT_RANGES:
    MAPPING_PARAMS[_t] = _NUMERIC_PARAMS
for _t in ("double", "float", "half_float"):
    MAPPING_PARAMS[_t] = _NUMERIC_PARAMS
for _t in RANGE_TYPES:
    MAPPING_PARAMS[_t] = _COMMON_PARAMS | {"coerce", "format"}
ACTIONS = ("index", "create", "update", "delete")
ACTION_KEYS = {"_index", "_id", "routing", "op_type", "version",
               "version_type", "if_seq_no", "if_primary_term",
               "retry_on_conflict", "pipeline", "_source", "require_alias",
               "dynamic_templates", "require_data_stream",
               "list_executed_pipelines"}
UPDATE_KEYS = {"doc", "upsert", "doc_as_upsert", "script", "scripted_upsert",
               "_source", "detect_noop", "lang", "params"}
VERSION_TYPES = {"internal": "internal", "external": "external",
                 "external_gt": "external", "external_gte": "external_gte"}
INDEX_NAME_BAD_CHARS = '\\/*?"<>| ,#:'
DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"
# The second default dynamic date format: the reference docs print it as
# "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z", but what clusters map a detected
# "2015/09/02" to (GET _mapping) is this zone-less form.
SLASH_DATE_FORMAT = "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"
DYNAMIC_DATE_FORMATS = ("strict_date_optional_time", SLASH_DATE_FORMAT)
WWW_AUTHENTICATE = ['Basic realm="security", charset="UTF-8"',
                    'Bearer realm="security"', "ApiKey"]


class EsError(Exception):
    """An Elasticsearch error: HTTP status, exception type, reason.

    extra holds the exception's metadata keys (index, index_uuid, ...);
    caused_by an optional nested {"type","reason"} object.  The same error
    renders as a whole-request body (body()) or as a bulk item's "error"
    object (item()).
    """

    def __init__(self, status, etype, reason, extra=None, caused_by=None):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.extra = extra or {}
        self.caused_by = caused_by

    def item(self):
        err = {"type": self.etype, "reason": self.reason}
        err.update(self.extra)
        if self.caused_by:
            err["caused_by"] = self.caused_by
        return err

    def body(self):
        root = {"type": self.etype, "reason": self.reason}
        root.update(self.extra)
        return {"error": dict(self.item(), root_cause=[root]),
                "status": self.status}


class PlainError(Exception):
    """An error whose body is {"error": "<string>", "status": N} (406, 400
    no handler, 405): Elasticsearch's REST layer answers these before any
    action runs."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Raw:
    """Pre-encoded JSON text (a document's _source exactly as sent), to be
    spliced into a response by encode_json without re-encoding."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


# --------------------------------------------------------------------------
# JSON in and out

def _object_without_duplicates(pairs):
    """object_pairs_hook: Elasticsearch's parser rejects duplicate keys
    (strict duplicate detection), Python's json keeps the last one."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError("Duplicate field '%s'" % key)
            seen.add(key)
    return obj


def _reject_constant(name):
    """parse_constant: NaN and Infinity are not JSON (Jackson refuses them)."""
    raise ValueError("Non-standard token '%s'" % name)


def _checked_number(convert):
    """parse_int/parse_float: Jackson refuses numbers longer than its
    StreamReadConstraints allow (1000 characters)."""
    def parse(text):
        if len(text) > MAX_NUMBER_LENGTH:
            raise ValueError("Number value length (%d) exceeds the maximum "
                             "allowed (%d)" % (len(text), MAX_NUMBER_LENGTH))
        return convert(text)
    return parse


_DECODER = json.JSONDecoder(object_pairs_hook=_object_without_duplicates,
                            parse_constant=_reject_constant,
                            parse_int=_checked_number(int),
                            parse_float=_checked_number(float))


def parse_json(text):
    """Parses text strictly; raises ValueError with a message on bad JSON."""
    return _DECODER.decode(text)


def parse_json_bytes(data):
    """Parses UTF-8 bytes strictly; raises ValueError (also for bad UTF-8)."""
    return _DECODER.decode(data.decode("utf-8"))


def json_error_reason(err):
    """Renders a JSON parse failure like Jackson's "[line:col] message"."""
    if isinstance(err, json.JSONDecodeError):
        return "[%d:%d] %s" % (err.lineno, err.colno, err.msg)
    return "[1:1] %s" % err


def encode_json(obj, pretty=False):
    """Encodes a response object to UTF-8 bytes; Raw values are spliced in
    verbatim so stored _source text comes back byte for byte."""
    raws = []
    nonce = secrets.token_hex(8)

    def placeholder(value):
        if isinstance(value, Raw):
            raws.append(value.text)
            return "@raw%s:%d@" % (nonce, len(raws) - 1)
        raise TypeError("cannot encode %r" % type(value))

    kwargs = {"default": placeholder, "ensure_ascii": False}
    if pretty:
        kwargs["indent"] = 2
    else:
        kwargs["separators"] = (",", ":")
    text = json.dumps(obj, **kwargs)
    if raws:
        text = re.sub('"@raw%s:([0-9]+)@"' % nonce,
                      lambda m: raws[int(m.group(1))], text)
    return text.encode("utf-8", "surrogatepass")


def serialize_source(obj):
    """The _source text Elasticsearch stores for a document it built itself
    (update results, upserts): compact JSON."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------
# Dates

_ZONE = r"(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?|[A-Za-z][A-Za-z_]*(?:/[A-Za-z0-9_+\-]+)+)"
_ISO_RE = re.compile(
    r"(-?\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})"
    r"(?:[.,](\d{1,9}))?)?)?" + _ZONE + r"?)?)?)?\Z")
_NUMERIC_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_EPOCH_RE = re.compile(r"-?\d+(\.\d+)?\Z")
_JAVA_TOKENS = re.compile(r"'[^']*'|yyyy|uuuu|MM|dd|HH|mm|ss|SSSSSSSSS|SSSSSS|SSS|"
                          r"XXX|ZZZZZ|Z|X|.", re.S)
_JAVA_TOKEN_RE = {"yyyy": r"\d{4}", "uuuu": r"\d{4}", "MM": r"\d{2}",
                  "dd": r"\d{2}", "HH": r"\d{2}", "mm": r"\d{2}",
                  "ss": r"\d{2}", "SSS": r"\d{3}", "SSSSSS": r"\d{6}",
                  "SSSSSSSSS": r"\d{9}", "Z": r"[+-]\d{4}",
                  "X": r"(Z|[+-]\d{2}(\d{2})?)", "XXX": r"(Z|[+-]\d{2}:\d{2})",
                  "ZZZZZ": r"(Z|[+-]\d{2}:\d{2})"}
_FORMAT_CACHE = {}


def _days_in_month(year, month):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _valid_date_parts(year, month, day, hour, minute, second):
    """Range checks the calendar fields a pattern matched (None = absent)."""
    if month is not None and not 1 <= month <= 12:
        return False
    if day is not None and not 1 <= day <= _days_in_month(year, month or 1):
        return False
    if hour is not None and not 0 <= hour <= 23:
        return False
    if minute is not None and not 0 <= minute <= 59:
        return False
    return second is None or 0 <= second <= 59


def _int_or_none(text):
    return None if text is None else int(text)


def _zone_ok(zone):
    """Offsets are limited to +-18:00 as in java.time."""
    if zone is None or zone == "Z" or zone[0] not in "+-":
        return True
    return int(zone[1:3]) <= 18


def is_strict_date_optional_time(text):
    """strict_date_optional_time: yyyy[-MM[-dd[THH[:mm[:ss[.f{1,9}]]][zone]]]]
    (a space instead of T, 5-digit years and " BC" are refused)."""
    m = _ISO_RE.match(text)
    if not m:
        return False
    y, mo, d, h, mi, s = (_int_or_none(g) for g in m.groups()[:6])
    return _valid_date_parts(y, mo, d, h, mi, s) and _zone_ok(m.group(8))


def _java_pattern_matcher(pattern):
    """Turns a java.time pattern (yyyy/MM/dd HH:mm:ss Z) into a checker."""
    parts = []
    groups = []
    for tok in _JAVA_TOKENS.findall(pattern):
        if tok in _JAVA_TOKEN_RE:
            if tok in ("yyyy", "uuuu", "MM", "dd", "HH", "mm", "ss"):
                parts.append("(?P<%s>%s)" % (tok[0] + str(len(groups)),
                                             _JAVA_TOKEN_RE[tok]))
                groups.append(tok)
            else:
                parts.append(_JAVA_TOKEN_RE[tok])
        elif tok.startswith("'"):
            parts.append(re.escape(tok[1:-1] or "'"))
        else:
            parts.append(re.escape(tok))
    regex = re.compile("".join(parts) + r"\Z")

    def check(text):
        m = regex.match(text)
        if not m:
            return False
        fields = {}
        for i, tok in enumerate(groups):
            fields[tok] = int(m.group(tok[0] + str(i)))
        return _valid_date_parts(fields.get("yyyy", fields.get("uuuu", 2000)),
                                 fields.get("MM"), fields.get("dd"),
                                 fields.get("HH"), fields.get("mm"),
                                 fields.get("ss"))
    return check


def _named_format_checker(name):
    """Checker for one element of a date format ("a||b" is split before)."""
    if name in ("strict_date_optional_time", "date_optional_time",
                "strict_date_optional_time_nanos", "date_time",
                "strict_date_time", "strict_date", "date",
                "strict_date_hour_minute_second"):
        return lambda v: isinstance(v, str) and is_strict_date_optional_time(v)
    if name in ("epoch_millis", "epoch_second"):
        return lambda v: (isinstance(v, (int, float)) and
                          not isinstance(v, bool) and math.isfinite(v)) or \
            (isinstance(v, str) and bool(_EPOCH_RE.match(v)))
    check = _java_pattern_matcher(name)
    return lambda v: isinstance(v, str) and check(v)


def date_matches(fmt, value):
    """True iff value parses with the date format fmt ("a||b||c")."""
    checkers = _FORMAT_CACHE.get(fmt)
    if checkers is None:
        checkers = [_named_format_checker(f) for f in fmt.split("||")]
        _FORMAT_CACHE[fmt] = checkers
    return any(c(value) for c in checkers)


def date_sort_key(value):
    """A comparable key for a date value: numbers are epoch millis, strings
    compare by their normalized ISO text (good enough for equal formats)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, str) and _EPOCH_RE.match(value):
        return (0, float(value), "")
    return (1, 0.0, str(value).replace("/", "-").replace(" ", "T"))


def detect_date_format(text):
    """Dynamic date detection: the dynamic_date_formats element that matches
    text, or None.  Pure numbers are never dates ("2024" is text)."""
    if _NUMERIC_RE.match(text) or _EPOCH_RE.match(text):
        return None
    for fmt in DYNAMIC_DATE_FORMATS:
        if date_matches(fmt, text):
            return fmt
    return None


# --------------------------------------------------------------------------
# Mappings and document parsing

def _value_preview(value):
    """Java's toString of a parsed value, as Elasticsearch's error shows."""
    if isinstance(value, dict):
        return "{" + ", ".join("%s=%s" % (k, _value_preview(v))
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value_preview(v) for v in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class DocContext:
    """Per-document parse state: the id (for messages), the raw source (to
    locate fields), and the mappings added by this document so far
    (path -> mapping), applied to the index only if the whole document
    parses."""

    __slots__ = ("doc_id", "raw", "pending")

    def __init__(self, doc_id, raw):
        self.doc_id = doc_id
        self.raw = raw
        self.pending = {}

    def location(self, name):
        """Approximates Jackson's [line:col] token location for a field."""
        pos = self.raw.find('"%s"' % name) if self.raw else -1
        return "[1:%d]" % (pos + len(name) + 4 if pos >= 0 else 1)

    def parse_error(self, name, reason, cause_type=None, cause_reason=None):
        caused = None
        if cause_type:
            caused = {"type": cause_type, "reason": cause_reason}
        return EsError(400, "document_parsing_exception",
                       "%s %s" % (self.location(name), reason),
                       caused_by=caused)


def field_type_error(ctx, path, ftype, value, cause_type, cause_reason):
    """The "failed to parse field" error Elasticsearch gives per item."""
    name = path.rsplit(".", 1)[-1]
    reason = ("failed to parse field [%s] of type [%s] in document with id "
              "'%s'. Preview of field's value: '%s'"
              % (path, ftype, ctx.doc_id, _value_preview(value)))
    return ctx.parse_error(name, reason, cause_type, cause_reason)


def _check_integer(mapping, value):
    """Integer types: JSON numbers (fractions truncated, coerce=true) and
    numeric strings; returns an error reason or None."""
    ftype = mapping["type"]
    if isinstance(value, bool):
        return ("illegal_argument_exception",
                "Current token (%s) not numeric, can not use numeric value "
                "accessors" % ("VALUE_TRUE" if value else "VALUE_FALSE"))
    if isinstance(value, str):
        if value == "":
            return None
        try:
            num = float(value) if not re.match(r"[+-]?\d+\Z", value) else int(value)
        except ValueError:
            return ("number_format_exception",
                    'For input string: "%s"' % value)
        value = num
    if isinstance(value, float):
        if not math.isfinite(value):
            return ("illegal_argument_exception",
                    "[%s] supports only finite values" % ftype)
        value = int(value)
    low, high = INT_RANGES[ftype]
    if not low <= value <= high:
        return ("illegal_argument_exception",
                "Value [%s] is out of range for %s %s" %
                (value, "a" if ftype != "integer" else "an", ftype))
    return None


def _check_float(mapping, value):
    """Floating types: finite numbers and numeric strings."""
    ftype = mapping["type"]
    if isinstance(value, bool):
        return ("illegal_argument_exception",
                "Current token (%s) not numeric, can not use numeric value "
                "accessors" % ("VALUE_TRUE" if value else "VALUE_FALSE"))
    if isinstance(value, str):
        if value == "":
            return None
        if not _NUMERIC_RE.match(value.strip()):
            return ("number_format_exception",
                    'For input string: "%s"' % value)
        value = float(value)
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        return ("illegal_argument_exception",
                "[%s] supports only finite values, but got [%s]" %
                (ftype, "Infinity" if value > 0 else "-Infinity"))
    return None


def _check_leaf(mapping, value):
    """Whether a scalar value fits a leaf mapping: None when it does, else a
    (cause type, cause reason) pair."""
    ftype = mapping.get("type")
    kind = type(value)
    if ftype in STRING_TYPES or ftype in OPAQUE_TYPES:
        return None
    if kind is int and ftype == "long" and LONG_MIN <= value <= LONG_MAX:
        return None
    if kind is float and ftype in FLOAT_TYPES and math.isfinite(value):
        return None
    if kind is bool and ftype == "boolean":
        return None
    if ftype in INT_RANGES:
        return _check_integer(mapping, value)
    if ftype in FLOAT_TYPES:
        return _check_float(mapping, value)
    if ftype == "boolean":
        if value is True or value is False or value in ("true", "false", ""):
            return None
        if isinstance(value, str):
            return ("illegal_argument_exception",
                    "Failed to parse value [%s] as only [true] or [false] are "
                    "allowed." % value)
        return ("illegal_argument_exception",
                "Current token (VALUE_NUMBER_INT) not of boolean type")
    if ftype in ("date", "date_nanos"):
        fmt = mapping.get("format", DEFAULT_DATE_FORMAT)
        if isinstance(value, bool) or not date_matches(fmt, value):
            return ("illegal_argument_exception",
                    "failed to parse date field [%s] with format [%s]" %
                    (_value_preview(value), fmt))
        return None
    if ftype == "binary":
        try:
            if not isinstance(value, str):
                raise binascii.Error("not a string")
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return ("illegal_argument_exception",
                    "failed to decode base64 value [%s]" % value)
        return None
    if ftype == "ip":
        try:
            ipaddress.ip_address(value if isinstance(value, str) else "")
        except ValueError:
            return ("illegal_argument_exception",
                    "'%s' is not an IP string literal." % value)
        return None
    if ftype == "ip_range" and isinstance(value, str):
        try:
            ipaddress.ip_network(value, strict=False)
            return None
        except ValueError:
            return ("illegal_argument_exception",
                    "'%s' is not an IP string literal." % value)
    if ftype in RANGE_TYPES:
        return ("illegal_argument_exception",
                "error parsing field [%s], expected an object but got %s" %
                (ftype, _value_preview(value)))
    return None


def _date_millis(value):
    """Epoch milliseconds of a strict_date_optional_time text or a number
    (the engines keep date range bounds at millisecond precision)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    m = _ISO_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError("failed to parse date field [%s]" % value)
    y, mo, d, h, mi, sec = (_int_or_none(g) or 0 for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(3, "0")[:3]
    zone = m.group(8)
    offset = 0
    if zone and zone != "Z" and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60
        offset = -offset if zone[0] == "-" else offset
    when = datetime.datetime(y, mo or 1, d or 1, h, mi, sec,
                             tzinfo=datetime.timezone.utc)
    return int(when.timestamp() - offset) * 1000 + int(frac)


def _range_bound(ftype, value, up):
    """A range bound as the engine holds it, moved one unit inwards for an
    exclusive bound (up: the lower bound)."""
    if ftype in ("integer_range", "long_range"):
        num = int(value) if not isinstance(value, float) else int(value)
        return num + 1 if up is True else num - 1 if up is False else num
    if ftype in ("float_range", "double_range"):
        num = float(value)
        return math.nextafter(num, math.inf) if up is True else \
            math.nextafter(num, -math.inf) if up is False else num
    if ftype == "date_range":
        num = _date_millis(value)
        return num + 1 if up is True else num - 1 if up is False else num
    num = int(ipaddress.ip_address(value))
    return num + 1 if up is True else num - 1 if up is False else num


def _check_range(mapping, value):
    """A range object: its bounds parse, and the lower one does not pass the
    upper one once exclusive bounds are moved (None when it fits)."""
    ftype = mapping["type"]
    low = high = None
    try:
        for key, bound in value.items():
            if bound is None:
                continue
            if key in ("gt", "gte", "from"):
                low = _range_bound(ftype, bound, True if key == "gt" else None)
            elif key in ("lt", "lte", "to"):
                high = _range_bound(ftype, bound,
                                    False if key == "lt" else None)
            else:
                return ("illegal_argument_exception",
                        "error parsing field [%s], with unknown parameter "
                        "[%s]" % (ftype, key))
    except (ValueError, TypeError, OverflowError) as err:
        return ("illegal_argument_exception", str(err))
    if low is not None and high is not None and low > high:
        return ("illegal_argument_exception",
                "min value (%s) is greater than max value (%s)" % (low, high))
    return None


def new_dynamic_mapping(value, root):
    """The mapping dynamic mapping creates for a scalar JSON value."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "long"}
    if isinstance(value, float):
        return {"type": "float"}
    if root.get("date_detection", True):
        fmt = detect_date_format(value)
        if fmt is not None:
            if fmt == "strict_date_optional_time":
                return {"type": "date"}
            return {"type": "date", "format": fmt}
    return {"type": "text",
            "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


def _dynamic_value(mapping, inherited):
    """The effective "dynamic" setting below an object mapping."""
    dyn = mapping.get("dynamic", inherited)
    if isinstance(dyn, bool):
        return "true" if dyn else "false"
    return str(dyn)


def _split_field_name(ctx, name):
    """Splits "a.b.c" into parts, rejecting the names Elasticsearch
    rejects (empty, whitespace only, leading/trailing/double dots)."""
    if name == "":
        raise ctx.parse_error(name, "field name cannot be an empty string")
    if name.strip() == "":
        raise ctx.parse_error(name, "field name cannot contain only "
                              "whitespace: ['%s']" % name)
    if "." not in name:
        return [name]
    parts = name.split(".")
    if "" in parts:
        if name.strip(".") == "":
            why = "field name cannot contain only dots"
        else:
            why = ("object field starting or ending with a [.] makes object "
                   "resolution ambiguous: [%s]" % name)
        raise ctx.parse_error(name, why, "illegal_argument_exception", why)
    return parts


class Mapper:
    """Checks a document against an index's mappings (and extends them,
    dynamic mapping).  Works on one Index; the caller holds the store lock.
    """

    def __init__(self, index, ctx):
        self.index = index
        self.ctx = ctx

    def lookup(self, path):
        mapping = self.ctx.pending.get(path)
        if mapping is None:
            mapping = self.index.fields.get(path)
        return mapping

    def parse_object(self, obj, prefix, dynamic):
        """Walks the fields of one JSON object whose mapping is at prefix
        ("" = root)."""
        for name, value in obj.items():
            parts = _split_field_name(self.ctx, name)
            if not prefix and parts[0] in METADATA_FIELDS:
                raise self.ctx.parse_error(
                    name, "Field [%s] is a metadata field and cannot be "
                    "added inside a document. Use the index API request "
                    "parameters." % parts[0])
            path = prefix
            dyn = dynamic
            for part in parts[:-1]:
                path = path + "." + part if path else part
                mapping = self.object_at(path, part, dyn, {})
                if mapping is None:
                    break
                dyn = _dynamic_value(mapping, dyn)
            else:
                leaf = path + "." + parts[-1] if path else parts[-1]
                self.parse_value(leaf, parts[-1], value, dyn)

    def object_at(self, path, name, dynamic, value):
        """The object mapping at path, created dynamically if allowed;
        None when dynamic=false drops the field."""
        mapping = self.lookup(path)
        if mapping is None:
            if not self.may_add(path, name, dynamic):
                return None
            mapping = self.object_template(path)
            if mapping is not None:
                self.ctx.pending[path] = mapping
                return mapping
            if path.count(".") + 1 > DEPTH_LIMIT:
                why = ("Limit of mapping depth [%d] has been exceeded due to "
                       "object field [%s]" % (DEPTH_LIMIT, path))
                raise self.ctx.parse_error(name, why,
                                           "illegal_argument_exception", why)
            mapping = {"properties": {}}
            self.ctx.pending[path] = mapping
            return mapping
        ftype = mapping.get("type", "object")
        if ftype not in OBJECT_TYPES:
            raise field_type_error(self.ctx, path, ftype, value,
                                   "illegal_argument_exception",
                                   "unexpected object")
        return mapping

    def object_template(self, path):
        """The mapping the first dynamic template for objects whose
        path_match fits path gives (a copy), or None."""
        for entry in self.index.mapping.get("dynamic_templates", []):
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            spec = next(iter(entry.values()))
            if spec.get("match_mapping_type", "*") not in ("object", "*"):
                continue
            pattern = spec.get("path_match")
            if isinstance(pattern, str) and \
                    re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), path):
                return copy.deepcopy(spec.get("mapping", {}))
        return None

    def may_add(self, path, name, dynamic):
        """Whether dynamic mapping may add the field at path."""
        if dynamic == "strict":
            parent = path.rsplit(".", 1)[0] if "." in path else "_doc"
            raise EsError(400, "strict_dynamic_mapping_exception",
                          "%s mapping set to strict, dynamic introduction of "
                          "[%s] within [%s] is not allowed" %
                          (self.ctx.location(name), name, parent))
        return dynamic == "true"

    def parse_value(self, path, name, value, dynamic):
        """Checks one field value (scalar, object or array) at path."""
        if value is None:
            return
        if isinstance(value, list):
            for element in value:
                self.parse_value(path, name, element, dynamic)
            return
        mapping = self.lookup(path)
        if isinstance(value, dict):
            if mapping is not None and mapping.get("type") in RANGE_TYPES:
                problem = _check_range(mapping, value)
                if problem:
                    raise field_type_error(self.ctx, path, mapping["type"],
                                           None, *problem)
                return
            if mapping is not None and mapping.get("type") in OPAQUE_TYPES:
                return
            obj_mapping = self.object_at(path, name, dynamic, value)
            if obj_mapping is not None and obj_mapping.get("enabled") is False:
                return
            if obj_mapping is not None:
                self.parse_object(value, path, _dynamic_value(obj_mapping,
                                                              dynamic))
            return
        if mapping is None:
            if self.may_add(path, name, dynamic):
                self.ctx.pending[path] = new_dynamic_mapping(
                    value, self.index.mapping)
                mapping = self.ctx.pending[path]
            else:
                return
        ftype = mapping.get("type", "object")
        if ftype in OBJECT_TYPES:
            raise self.ctx.parse_error(
                name, "object mapping for [%s] tried to parse field [%s] as "
                "object, but found a concrete value" % (path, name))
        problem = _check_leaf(mapping, value)
        if problem and not mapping.get("ignore_malformed"):
            raise field_type_error(self.ctx, path, ftype, value, *problem)


def _count_mapping_fields(mapping):
    """Fields a mapping node counts towards index.mapping.total_fields.limit
    (itself plus its multi-fields)."""
    return 1 + len(mapping.get("fields", {}))


def validate_explicit_mapping(props, prefix=""):
    """Validates the "properties" of a PUT /{index} mapping; raises the
    mapper_parsing_exception Elasticsearch gives."""
    if not isinstance(props, dict):
        raise EsError(400, "mapper_parsing_exception",
                      "Failed to parse mapping: Expected map for property "
                      "[properties] on field [%s]" % (prefix or "_doc"))
    for name, spec in props.items():
        path = prefix + "." + name if prefix else name
        if not isinstance(spec, dict):
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: Expected map for "
                          "property [fields] on field [%s] but got a class "
                          "java.lang.String" % path)
        ftype = spec.get("type", "object" if "properties" in spec else None)
        if ftype is None:
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: No type specified for "
                          "field [%s]" % path)
        if ftype not in LEAF_TYPES and ftype not in OBJECT_TYPES:
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: No handler for type [%s] "
                          "declared on field [%s]" % (ftype, name))
        if not prefix and name in METADATA_FIELDS:
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: Field [%s] is defined "
                          "more than once" % name)
        unknown = sorted(set(spec) - MAPPING_PARAMS.get(ftype, set(spec)))
        if unknown:
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: unknown parameter [%s] "
                          "on mapper [%s] of type [%s]"
                          % (unknown[0], name, ftype))
        if ftype == "scaled_float" and "scaling_factor" not in spec:
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: Field [scaling_factor] "
                          "is required")
        if ftype in OBJECT_TYPES:
            validate_explicit_mapping(spec.get("properties", {}), path)
        for sub in spec.get("fields", {}).values():
            if sub.get("type") not in LEAF_TYPES:
                raise EsError(400, "mapper_parsing_exception",
                              "Failed to parse mapping: No handler for type "
                              "[%s] declared on field [%s]" %
                              (sub.get("type"), name))


# --------------------------------------------------------------------------
# Indexes and documents

class Doc:
    """A stored document: its _source text exactly as received, the parsed
    object (for searches and updates), version, seq_no, primary term."""

    __slots__ = ("source", "obj", "version", "seq_no")

    def __init__(self, source, obj, version, seq_no):
        self.source = source
        self.obj = obj
        self.version = version
        self.seq_no = seq_no


def validate_index_name(name):
    """Raises invalid_index_name_exception unless name is a valid index
    name (MetadataCreateIndexService.validateIndexOrAliasName)."""
    def bad(why):
        return EsError(400, "invalid_index_name_exception",
                       "Invalid index name [%s], %s" % (name, why),
                       {"index_uuid": "_na_", "index": name})
    if name == "":
        raise bad("must not be empty")
    for ch in INDEX_NAME_BAD_CHARS:
        if ch in name:
            raise bad("must not contain the following characters "
                      "[' ','\"','*',',','/','<','>','?','\\','|']"
                      if ch != "#" and ch != ":" else
                      "must not contain '%s'" % ch)
    if name[0] in "_-+":
        raise bad("must not start with '_', '-', or '+'")
    if name in (".", ".."):
        raise bad("must not be '.' or '..'")
    if name != name.lower():
        raise bad("must be lowercase")
    size = len(name.encode("utf-8"))
    if size > MAX_INDEX_NAME_BYTES:
        raise bad("index name is too long, (%d > %d)" %
                  (size, MAX_INDEX_NAME_BYTES))


def _setting(settings, key, default):
    """Reads an index setting given flat ("index.x"), as "x", or nested."""
    if not isinstance(settings, dict):
        return default
    nested = settings.get("index")
    for source in (settings, nested if isinstance(nested, dict) else {}):
        for k in ("index." + key, key):
            if k in source:
                return source[k]
    return default


def parse_duration(text, default):
    """Elasticsearch time values ("60s", "1m", "500ms", "-1") to seconds."""
    if text is None:
        return default
    if isinstance(text, (int, float)):
        return float(text) / 1000.0
    m = re.match(r"(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)?\Z", str(text))
    if not m:
        raise EsError(400, "illegal_argument_exception",
                      "failed to parse setting [timeout] with value [%s] as "
                      "a time value: unit is missing or unrecognized" % text)
    unit = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1, "m": 60,
            "h": 3600, "d": 86400, None: 1e-3}[m.group(2)]
    return float(m.group(1)) * unit


class Index:
    """One index: mappings, documents in Lucene-like order (an update moves
    the document to the end), tombstones of deletes kept gc_deletes
    seconds, a seq_no counter."""

    def __init__(self, name, gc_deletes, mappings=None, settings=None):
        self.name = name
        self.uuid = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]
        self.created = int(time.time() * 1000)
        self.docs = {}
        self.tombstones = {}
        self.seq_no = -1
        self.replicas = int(_setting(settings, "number_of_replicas", 1))
        self.shards = int(_setting(settings, "number_of_shards", 1))
        self.gc_deletes = parse_duration(
            _setting(settings, "gc_deletes", None), gc_deletes)
        self.settings = settings or {}
        self.mapping = {"properties": {}}
        self.fields = {}
        self.field_count = 0
        self.total_fields_limit = int(_setting(
            settings, "mapping.total_fields.limit", TOTAL_FIELDS_LIMIT))
        if mappings:
            for key in ("dynamic", "date_detection", "dynamic_date_formats",
                        "dynamic_templates", "_meta"):
                if key in mappings:
                    self.mapping[key] = mappings[key]
            validate_explicit_mapping(mappings.get("properties", {}))
            self.add_properties(copy.deepcopy(mappings.get("properties", {})),
                                "")
            if self.field_count > self.total_fields_limit:
                raise EsError(400, "illegal_argument_exception",
                              "Limit of total fields [%d] has been exceeded"
                              % self.total_fields_limit)

    def add_properties(self, props, prefix):
        """Registers explicit mapping properties under prefix.  A dotted
        name is a path through objects, as in Elasticsearch: "a.b" maps b
        inside object a, which is created when missing."""
        for name, spec in props.items():
            parent = prefix
            for part in name.split(".")[:-1]:
                parent = parent + "." + part if parent else part
                if parent not in self.fields:
                    self.add_field(parent, {"properties": {}})
            self.add_field(prefix + "." + name if prefix else name, spec)
            if "properties" in spec:
                self.add_properties(spec["properties"],
                                    prefix + "." + name if prefix else name)

    def add_field(self, path, mapping):
        """Puts a mapping node into the tree and the flat path index."""
        parent = self.mapping
        if "." in path:
            parent = self.fields[path.rsplit(".", 1)[0]]
        parent.setdefault("properties", {})[path.rsplit(".", 1)[-1]] = mapping
        self.fields[path] = mapping
        for sub, spec in mapping.get("fields", {}).items():
            self.fields[path + "." + sub] = dict(spec, _parent=path)
        self.field_count += _count_mapping_fields(mapping)

    def apply_pending(self, pending):
        """Adds the fields a document introduced, or raises the total
        fields limit error without adding any."""
        if not pending:
            return
        added = sum(_count_mapping_fields(m) for m in pending.values())
        if self.field_count + added > self.total_fields_limit:
            raise EsError(400, "illegal_argument_exception",
                          "Limit of total fields [%d] has been exceeded "
                          "while adding new fields [%d]" %
                          (self.total_fields_limit, added))
        for path in sorted(pending, key=lambda p: p.count(".")):
            self.add_field(path, pending[path])

    def check_document(self, doc_id, raw, obj):
        """Parses obj against the mappings, extending them on success;
        raises EsError (400) for a document Elasticsearch would refuse."""
        ctx = DocContext(doc_id, raw)
        Mapper(self, ctx).parse_object(
            obj, "", _dynamic_value(self.mapping, "true"))
        self.apply_pending(ctx.pending)

    def current(self, doc_id, now):
        """(live Doc or None, tombstone (version, seq_no) or None); prunes a
        tombstone older than gc_deletes."""
        doc = self.docs.get(doc_id)
        if doc is not None:
            return doc, None
        tomb = self.tombstones.get(doc_id)
        if tomb is not None and now - tomb[2] > self.gc_deletes:
            del self.tombstones[doc_id]
            tomb = None
        return None, tomb

    def next_seq_no(self):
        self.seq_no += 1
        return self.seq_no

    def public_mapping(self):
        """The mapping as GET /{index}/_mapping shows it."""
        def clean(node):
            if not isinstance(node, dict):
                return node
            out = {k: clean(v) for k, v in node.items() if k != "_parent"}
            # an object with fields is shown by its properties alone, and a
            # scaling factor as the double it is
            if out.get("type") == "object" and out.get("properties"):
                del out["type"]
            if "scaling_factor" in out and out.get("type") == "scaled_float":
                out["scaling_factor"] = float(out["scaling_factor"])
            return out
        out = clean(self.mapping)
        if not out.get("properties"):
            out.pop("properties", None)
        return out

    def public_settings(self):
        return {"index": {
            "routing": {"allocation": {"include": {
                "_tier_preference": "data_content"}}},
            "number_of_shards": str(self.shards),
            "provided_name": self.name,
            "creation_date": str(self.created),
            "number_of_replicas": str(self.replicas),
            "uuid": self.uuid,
            "version": {"created": "8512000"},
            **({"mapping": {"total_fields": {"limit": str(
                self.total_fields_limit)}}}
               if self.total_fields_limit != TOTAL_FIELDS_LIMIT else {}),
        }}

    def shard_extra(self):
        """The metadata keys Elasticsearch puts on shard-level errors."""
        return {"index_uuid": self.uuid, "shard": "0", "index": self.name}


# --------------------------------------------------------------------------
# Queries

_TOKEN_RE = re.compile(r"\w+", re.U)


def field_values(obj, parts, objects=False):
    """Yields the scalar values at a dotted path in a source object,
    following dotted keys and arrays as Elasticsearch flattens them (with
    objects, an object at the path too: a range field's value)."""
    for i in range(1, len(parts) + 1):
        key = ".".join(parts[:i])
        if key not in obj:
            continue
        value = obj[key]
        rest = parts[i:]
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, list):
                stack.extend(reversed(v))
            elif v is None:
                continue
            elif rest:
                if isinstance(v, dict):
                    yield from field_values(v, rest, objects)
            elif objects or not isinstance(v, dict):
                yield v


class Matcher:
    """Compiles a query DSL object into a predicate over (index, id, doc).
    Supported: match_all, match_none, term, terms, ids, exists, range,
    match (any analyzed token), bool.  Anything else is a parsing_exception
    as Elasticsearch gives for an unknown query."""

    def __init__(self, query):
        self.test = self.compile(query)

    def compile(self, query):
        if not isinstance(query, dict) or len(query) != 1:
            raise EsError(400, "parsing_exception",
                          "[_na] query malformed, must start with start_object",
                          {"line": 1, "col": 1})
        (kind, spec), = query.items()
        builder = getattr(self, "q_" + kind, None)
        if builder is None:
            raise EsError(400, "parsing_exception",
                          "unknown query [%s]" % kind, {"line": 1, "col": 1})
        return builder(spec)

    @staticmethod
    def q_match_all(spec):
        return lambda idx, did, doc: True

    @staticmethod
    def q_match_none(spec):
        return lambda idx, did, doc: False

    @staticmethod
    def _field_spec(spec, kind, key):
        if not isinstance(spec, dict) or len(spec) != 1:
            raise EsError(400, "parsing_exception",
                          "[%s] query doesn't support multiple fields" % kind,
                          {"line": 1, "col": 1})
        (field, value), = spec.items()
        if isinstance(value, dict) and key in value:
            value = value[key]
        return field, value

    def q_term(self, spec):
        field, value = self._field_spec(spec, "term", "value")
        return self.values_test(field, lambda m, vals: any(
            values_equal(m, v, value) for v in vals))

    def q_match(self, spec):
        field, value = self._field_spec(spec, "match", "query")
        tokens = set(_TOKEN_RE.findall(str(value).lower()))
        return self.values_test(field, lambda m, vals: any(
            values_equal(m, v, value) or
            (m.get("type") == "text" and tokens &
             set(_TOKEN_RE.findall(str(v).lower())))
            for v in vals))

    def q_terms(self, spec):
        spec = {k: v for k, v in spec.items() if k != "boost"}
        field, wanted = self._field_spec(spec, "terms", None)
        return self.values_test(field, lambda m, vals: any(
            values_equal(m, v, w) for v in vals for w in wanted))

    @staticmethod
    def q_ids(spec):
        ids = set(str(i) for i in spec.get("values", []))
        return lambda idx, did, doc: did in ids

    def q_exists(self, spec):
        return self.values_test(spec["field"], lambda m, vals: bool(vals))

    def q_range(self, spec):
        field, bounds = self._field_spec(spec, "range", None)
        ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
               "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}

        def test(m, vals):
            for v in vals:
                key = sort_key(m, v)
                if all(ops[op](key, sort_key(m, b))
                       for op, b in bounds.items() if op in ops):
                    return True
            return False
        return self.values_test(field, test)

    def q_bool(self, spec):
        parts = {}
        for clause in ("must", "filter", "should", "must_not"):
            queries = spec.get(clause, [])
            if isinstance(queries, dict):
                queries = [queries]
            parts[clause] = [self.compile(q) for q in queries]
        min_should = spec.get("minimum_should_match",
                              0 if parts["must"] or parts["filter"] else 1)

        def test(idx, did, doc):
            if not all(t(idx, did, doc) for t in parts["must"] + parts["filter"]):
                return False
            if any(t(idx, did, doc) for t in parts["must_not"]):
                return False
            if parts["should"]:
                hits = sum(1 for t in parts["should"] if t(idx, did, doc))
                return hits >= int(min_should)
            return True
        return test

    @staticmethod
    def values_test(field, predicate):
        """A test applying predicate(mapping, values) to a field's values;
        unmapped fields match nothing, as in Elasticsearch."""
        def test(idx, did, doc):
            if field == "_id":
                return predicate({"type": "keyword"}, [did])
            if field == "_index":
                return predicate({"type": "keyword"}, [idx.name])
            mapping = idx.fields.get(field)
            if mapping is None or mapping.get("type", "object") in OBJECT_TYPES:
                return False
            source_path = mapping.get("_parent", field)
            values = list(field_values(doc.obj, source_path.split("."),
                                       mapping.get("type") in RANGE_TYPES))
            if mapping.get("ignore_above") is not None:
                values = [v for v in values
                          if len(str(v)) <= mapping["ignore_above"]]
            if mapping.get("ignore_malformed"):
                # a malformed value stays in _source but is not indexed
                values = [v for v in values if not _check_leaf(mapping, v)]
            return predicate(mapping, values)
        return test


def _keyword_text(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def values_equal(mapping, doc_value, query_value):
    """Term equality under a field's type (text: one token equals the
    unanalyzed term; keyword: exact string; numbers, booleans, dates by
    value)."""
    ftype = mapping.get("type")
    try:
        if ftype == "text" or ftype == "match_only_text":
            return _keyword_text(query_value) in _TOKEN_RE.findall(
                _keyword_text(doc_value).lower())
        if ftype in INT_RANGES or ftype in FLOAT_TYPES:
            return float(doc_value) == float(query_value)
        if ftype == "boolean":
            return (_keyword_text(doc_value) == "true") == \
                (_keyword_text(query_value) == "true")
        if ftype in ("date", "date_nanos"):
            return date_sort_key(doc_value) == date_sort_key(query_value)
        if ftype == "ip":
            return ipaddress.ip_address(doc_value) == \
                ipaddress.ip_address(query_value)
        if ftype in RANGE_TYPES:
            return range_contains(mapping, doc_value, query_value)
    except (TypeError, ValueError, OverflowError):
        return False
    return _keyword_text(doc_value) == _keyword_text(query_value)


def range_contains(mapping, doc_value, query_value):
    """Whether a range field's value (an object of bounds, or a CIDR for
    ip_range) holds query_value, bounds as the engine keeps them."""
    ftype = mapping["type"]
    if ftype == "ip_range" and isinstance(doc_value, str):
        return ipaddress.ip_address(query_value) in \
            ipaddress.ip_network(doc_value, strict=False)
    if not isinstance(doc_value, dict):
        return False
    point = _range_bound(ftype, query_value, None)
    for key, bound in doc_value.items():
        if bound is None:
            continue
        if key in ("gt", "gte", "from") and \
                _range_bound(ftype, bound, True if key == "gt" else None) > point:
            return False
        if key in ("lt", "lte", "to") and \
                _range_bound(ftype, bound, False if key == "lt" else None) < point:
            return False
    return True


def sort_key(mapping, value):
    """A comparable key for sorting and ranges under a field's type."""
    ftype = mapping.get("type")
    if ftype in INT_RANGES or ftype in FLOAT_TYPES:
        try:
            return (0, float(value), "")
        except (TypeError, ValueError):
            return (1, 0.0, _keyword_text(value))
    if ftype in ("date", "date_nanos"):
        return date_sort_key(value)
    return (1, 0.0, _keyword_text(value))


# --------------------------------------------------------------------------
# filter_path and _source filtering

_MISSING = object()


def _glob(pattern, name):
    """Elasticsearch's simple wildcard match (only * is special)."""
    if "*" not in pattern:
        return pattern == name
    regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.match(regex + r"\Z", name, re.S) is not None


def _expand_double_star(patterns):
    """A pattern starting with ** may also match zero levels here."""
    out = []
    for p in patterns:
        out.append(p)
        while p and p[0] == "**":
            p = p[1:]
            out.append(p)
    return out


def _include(node, patterns):
    """Keeps only what the include patterns (lists of segments) reach;
    returns _MISSING when nothing is left (the key then disappears)."""
    patterns = _expand_double_star(patterns)
    if any(not p for p in patterns):
        return node
    if isinstance(node, Raw):
        node = parse_json(node.text)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            sub = []
            for p in patterns:
                if p[0] == "**":
                    sub.append(p)
                elif _glob(p[0], key):
                    sub.append(p[1:])
                elif "." in key and _glob(".".join(p[:key.count(".") + 1]), key):
                    sub.append(p[key.count(".") + 1:])
            if sub:
                kept = _include(value, sub)
                if kept is not _MISSING:
                    out[key] = kept
        return out if out else _MISSING
    if isinstance(node, list):
        out = [k for k in (_include(e, patterns) for e in node)
               if k is not _MISSING]
        return out if out else _MISSING
    return _MISSING


def _exclude(node, patterns):
    """Removes what the exclude patterns reach."""
    patterns = _expand_double_star(patterns)
    if isinstance(node, Raw):
        node = parse_json(node.text)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            sub = [p[1:] for p in patterns if p and (p[0] == "**" or
                                                      _glob(p[0], key))]
            sub += [p for p in patterns if p and p[0] == "**"]
            if any(not p for p in sub):
                continue
            out[key] = _exclude(value, sub) if sub else value
        return out
    if isinstance(node, list):
        return [_exclude(e, patterns) for e in node]
    return node


def filter_tree(obj, spec):
    """Applies a filter_path value ("a.b,-c.*,**.x") to a response object."""
    includes, excludes = [], []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("-"):
            excludes.append(item[1:].split("."))
        else:
            includes.append(item.split("."))
    if includes:
        obj = _include(obj, includes)
        if obj is _MISSING:
            return {}
    if excludes:
        obj = _exclude(obj, excludes)
    return obj


def source_filter(spec_includes, spec_excludes):
    """A function turning a Doc into the _source a response shows, or None
    when _source is disabled; unfiltered sources stay Raw (byte exact)."""
    if spec_includes is False:
        return None
    if not spec_includes and not spec_excludes:
        return lambda doc: Raw(doc.source)
    inc = [p.split(".") for p in spec_includes or []]
    exc = [p.split(".") for p in spec_excludes or []]

    def apply(doc):
        obj = doc.obj
        if inc:
            obj = _include(obj, inc)
            obj = {} if obj is _MISSING else obj
        if exc:
            obj = _exclude(obj, exc)
        return obj
    return apply


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value)


def source_spec(body_value, params):
    """Reads _source / _source_includes / _source_excludes from a request
    body value and query params; returns source_filter's function."""
    value = params.get("_source", body_value)
    if value in (False, "false"):
        return source_filter(False, None)
    includes = _as_list(params.get("_source_includes"))
    excludes = _as_list(params.get("_source_excludes"))
    if isinstance(value, dict):
        includes += _as_list(value.get("includes", value.get("include")))
        excludes += _as_list(value.get("excludes", value.get("exclude")))
    elif value not in (None, True, "true", ""):
        includes += _as_list(value)
    return source_filter(includes, excludes)


# --------------------------------------------------------------------------
# Bulk request parsing (everything that fails the whole request)

class BulkOp:
    """One parsed bulk item: action, target index, id, versioning, and the
    source (index/create: raw text, parsed per item later; update: the
    already parsed update body)."""

    __slots__ = ("action", "index", "doc_id", "version", "version_type",
                 "if_seq_no", "if_primary_term", "source", "update",
                 "require_alias", "pipeline")

    def __init__(self, action):
        self.action = action
        self.index = None
        self.doc_id = None
        self.version = None
        self.version_type = "internal"
        self.if_seq_no = None
        self.if_primary_term = None
        self.source = None
        self.update = None
        self.require_alias = False
        self.pipeline = None


def _token_name(value):
    """Jackson's token name for a JSON value (for parser messages)."""
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if value is None:
        return "VALUE_NULL"
    return "VALUE_STRING"


def _bad_request(reason, etype="illegal_argument_exception"):
    return EsError(400, etype, reason)


def _parse_long(value, line, key):
    """A numeric action-line value (Jackson coerces numeric strings)."""
    if isinstance(value, bool) or value is None:
        raise _bad_request("[%s] failed to parse field [%s]" % (line, key))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad_request("[%s] failed to parse field [%s]" % (line, key))
    if not LONG_MIN <= number <= LONG_MAX:
        raise _bad_request("Numeric value (%s) out of range of long" % value,
                           "x_content_parse_exception")
    return number


def parse_action_meta(op, meta, line, url_index):
    """Fills op from an action line's metadata object (line = 1-based line
    number for messages); raises whole-request EsErrors."""
    meta = {k: v for k, v in meta.items() if v is not None}
    for key, value in meta.items():
        if key not in ACTION_KEYS:
            raise _bad_request("Action/metadata line [%d] contains an unknown "
                               "parameter [%s]" % (line, key))
        if isinstance(value, list) or (isinstance(value, dict) and
                                       key not in ("dynamic_templates",
                                                   "_source")):
            raise _bad_request("Malformed action/metadata line [%d], expected "
                               "a simple value for field [%s] but found [%s]"
                               % (line, key, _token_name(value)))
    if "dynamic_templates" in meta and op.action in ("delete", "update"):
        raise _bad_request("%s request in line [%d] does not accept "
                           "dynamic_templates" %
                           (op.action.capitalize(), line))
    if op.action == "update" and ("version" in meta or
                                  "version_type" in meta):
        raise _bad_request("Update requests do not support versioning. "
                           "Please use `if_seq_no` and `if_primary_term` "
                           "instead")
    index = meta.get("_index", url_index)
    if index is None:
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: 1: index is missing;")
    op.index = _keyword_text(index)
    if "_id" in meta:
        op.doc_id = _keyword_text(meta["_id"])
    if "version" in meta:
        op.version = _parse_long(meta["version"], line, "version")
    if "version_type" in meta:
        vt = _keyword_text(meta["version_type"]).lower()
        if vt not in VERSION_TYPES:
            raise _bad_request("No version type match [%s]" %
                               meta["version_type"])
        op.version_type = VERSION_TYPES[vt]
    if "if_seq_no" in meta:
        op.if_seq_no = _parse_long(meta["if_seq_no"], line, "if_seq_no")
    if "if_primary_term" in meta:
        op.if_primary_term = _parse_long(meta["if_primary_term"], line,
                                         "if_primary_term")
    if op.action == "index" and meta.get("op_type") == "create":
        op.action = "create"
    op.require_alias = meta.get("require_alias") in (True, "true")
    op.pipeline = meta.get("pipeline")


def validate_op(op):
    """The item's validate() messages (BulkRequest.validate collects them
    and fails the whole request if any)."""
    errors = []
    if op.doc_id is not None:
        size = len(op.doc_id.encode("utf-8", "surrogatepass"))
        if size > MAX_ID_BYTES:
            errors.append("id [%s] is too long, must be no longer than 512 "
                          "bytes but was: %d" % (op.doc_id, size))
    if op.action in ("update", "delete") and not op.doc_id:
        errors.append("id is missing")
    if op.action in ("index", "create") and op.doc_id == "":
        errors.append("if _id is specified it must not be empty")
    if op.action == "create":
        if op.version_type != "internal":
            errors.append("create operations only support internal "
                          "versioning. use index instead")
        elif op.version is not None:
            errors.append("create operations do not support explicit "
                          "versions. use index instead")
    if op.action == "index" and op.doc_id is None and \
            (op.version is not None or op.version_type != "internal"):
        errors.append("an id must be provided if version type or value "
                      "are set")
    if op.action in ("index", "delete"):
        if op.version_type == "internal" and op.version is not None:
            errors.append("internal versioning can not be used for "
                          "optimistic concurrency control. Please use "
                          "`if_seq_no` and `if_primary_term` instead")
        elif op.version_type != "internal":
            version = -3 if op.version is None else op.version
            if version < 0:
                errors.append("illegal version value [%d] for version type "
                              "[%s]" % (version, op.version_type.upper()))
    if op.if_seq_no is not None:
        if op.version is not None or op.version_type != "internal":
            errors.append("compare and write operations can not use "
                          "versioning")
        if not op.if_primary_term:
            errors.append("ifSeqNo is set, but primary term is [0]")
    if op.pipeline == "":
        errors.append("pipeline cannot be an empty string")
    return errors


def _noop_result(index, op, doc):
    """The item result of an update that changed nothing (a script's
    ctx.op = 'noop', or a doc equal to the source with detect_noop)."""
    return {"_index": index.name, "_id": op.doc_id,
            "_version": doc.version, "result": "noop",
            "_shards": {"total": 0, "successful": 0, "failed": 0},
            "_seq_no": doc.seq_no, "_primary_term": 1, "status": 200}


def parse_update_body(text):
    """Parses an update item's body at request time, as Elasticsearch
    does: any problem fails the whole request."""
    try:
        body = parse_json(text)
    except ValueError as err:
        raise EsError(400, "x_content_parse_exception",
                      json_error_reason(err))
    if not isinstance(body, dict):
        raise EsError(400, "x_content_parse_exception",
                      "[1:1] [UpdateRequest] Expected START_OBJECT but was: "
                      "%s" % _token_name(body))
    for key in body:
        if key not in UPDATE_KEYS:
            raise EsError(400, "x_content_parse_exception",
                          "[1:2] [UpdateRequest] unknown field [%s]" % key)
    for key in ("doc", "upsert"):
        if key in body and not isinstance(body[key], dict):
            raise EsError(400, "x_content_parse_exception",
                          "[1:%d] [UpdateRequest] failed to parse field [%s]"
                          % (len(key) + 4, key))
    return body


def parse_bulk_body(body, url_index):
    """Splits a _bulk body into BulkOps, or raises the whole-request error
    Elasticsearch gives.  Returns (ops, warnings)."""
    if not body:
        raise EsError(400, "parse_exception", "request body is required")
    if not body.endswith(b"\n"):
        raise _bad_request("The bulk request must be terminated by a newline "
                           "[\\n]")
    lines = body.split(b"\n")
    lines.pop()
    ops = []
    warnings = []
    errors = []
    i = 0
    count = len(lines)
    while i < count:
        raw = lines[i]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        i += 1
        if not raw.strip():
            continue
        try:
            action_line = parse_json_bytes(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise EsError(400, "x_content_parse_exception",
                          json_error_reason(err))
        if not isinstance(action_line, dict):
            raise _bad_request("Malformed action/metadata line [%d], expected "
                               "START_OBJECT but found [%s]" %
                               (i, _token_name(action_line)))
        if not action_line:
            raise _bad_request("Malformed action/metadata line [%d], expected "
                               "FIELD_NAME but found [END_OBJECT]" % i)
        action, meta = next(iter(action_line.items()))
        if len(action_line) > 1:
            warnings.append("A bulk action object contained multiple keys. "
                            "Additional keys are currently ignored but will "
                            "be rejected in a future version.")
        if action not in ACTIONS:
            warnings.append("Unsupported action: [%s]. Supported values are "
                            "[create], [delete], [index], and [update]. "
                            "Unsupported actions are currently accepted but "
                            "will be rejected in a future version." % action)
            i += 1
            continue
        if not isinstance(meta, dict):
            raise _bad_request("Malformed action/metadata line [%d], expected "
                               "START_OBJECT or END_OBJECT but found [%s]" %
                               (i, _token_name(meta)))
        op = BulkOp(action)
        parse_action_meta(op, meta, i, url_index)
        if action != "delete":
            if i >= count:
                # Elasticsearch's parser stops here: an action without its
                # source line at the very end is dropped without a word.
                break
            src = lines[i]
            i += 1
            if src.endswith(b"\r"):
                src = src[:-1]
            try:
                text = src.decode("utf-8")
            except UnicodeDecodeError as err:
                if action == "update":
                    raise EsError(400, "x_content_parse_exception",
                                  "[1:1] Invalid UTF-8: %s" % err)
                text = src        # bytes: fails when the item runs
            if action == "update":
                op.update = parse_update_body(text)
                if "doc" not in op.update and "script" not in op.update:
                    errors.append("script or doc is missing")
            else:
                if not text.strip():
                    errors.append("source is missing")
                # index/create sources are only sliced here: their parse
                # errors come back per item
                op.source = text
        errors.extend(validate_op(op))
        ops.append(op)
    if not ops and not errors:
        errors.append("no requests added")
    if errors:
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: " + "".join(
                          "%d: %s;" % (n + 1, e) for n, e in enumerate(errors)))
    return ops, warnings


# --------------------------------------------------------------------------
# Faults

FAULT_KINDS = {"status", "item_status", "delay", "drop_before", "drop_after",
               "reject", "cut"}

STATUS_ERRORS = {
    400: ("illegal_argument_exception", "emulated bad request"),
    401: ("security_exception", "emulated authentication failure"),
    403: ("security_exception", "action [indices:data/write/bulk] is "
          "unauthorized for user [emulated]"),
    404: ("index_not_found_exception", "no such index [emulated]"),
    408: ("timeout_exception", "emulated timeout"),
    409: ("version_conflict_engine_exception", "emulated conflict"),
    429: ("es_rejected_execution_exception",
          "rejected execution of coordinating operation "
          "[coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, "
          "coordinating_operation_bytes=0, max_coordinating_and_primary_"
          "bytes=0]"),
    500: ("exception", "emulated internal server error"),
    502: ("exception", "emulated bad gateway"),
    503: ("unavailable_shards_exception",
          "[emulated][0] primary shard is not active Timeout: [1m]"),
    504: ("timeout_exception", "emulated gateway timeout"),
}


def status_error(status):
    """The Elasticsearch error injected for a fault status."""
    etype, reason = STATUS_ERRORS.get(status, ("exception",
                                               "emulated failure"))
    return EsError(status, etype, reason)


class Faults:
    """Pending fault rules (docs/design.md, "Emulator interface").  Rules of
    one kind are consumed in the order they were installed."""

    def __init__(self):
        self.rules = []
        self.served = {}

    def install(self, rules):
        """Validates and appends rules (a dict or a list of dicts)."""
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise _bad_request("fault rules must be an object or an array")
        checked = []
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("kind") not in FAULT_KINDS:
                raise _bad_request("unknown fault rule %s" % json.dumps(rule))
            count = rule.get("count", None if rule["kind"] == "reject" else 1)
            if count is not None and (not isinstance(count, int) or count < 1):
                raise _bad_request("fault count must be a positive integer")
            if rule["kind"] in ("status", "item_status") and \
                    not isinstance(rule.get("status"), int):
                raise _bad_request("fault rule needs an integer status")
            if rule["kind"] == "delay" and not isinstance(rule.get("ms"),
                                                          (int, float)):
                raise _bad_request("delay rule needs ms")
            if rule["kind"] == "reject" and not isinstance(rule.get("match"),
                                                           str):
                raise _bad_request("reject rule needs a match string")
            checked.append(dict(rule, count=count))
        self.rules.extend(checked)
        return len(checked)

    def clear(self, keep=""):
        """Drops every rule but those of the kinds in keep (a comma list),
        in one step: a rule that must hold all along never lapses."""
        kinds = set(keep.split(",")) - {""}
        self.rules = [r for r in self.rules if r["kind"] in kinds]

    def take(self, kind, is_bulk, predicate=None):
        """Consumes one use of the first rule of kind that applies (rules
        other than item rules apply to _bulk requests unless "scope" is
        "all"); returns the rule or None."""
        for rule in self.rules:
            if rule["kind"] != kind:
                continue
            if not is_bulk and rule.get("scope") != "all":
                continue
            if predicate is not None and not predicate(rule):
                continue
            if rule["count"] is not None:
                rule["count"] -= 1
                if rule["count"] == 0:
                    self.rules.remove(rule)
            self.served[kind] = self.served.get(kind, 0) + 1
            return rule
        return None


# --------------------------------------------------------------------------
# The store: indexes, documents and the APIs on them

def _shards(index, successful=True):
    total = index.replicas + 1 if index is not None else 0
    return {"total": total, "successful": 1 if successful else 0,
            "failed": 0}


class Store:
    """All state of the emulator behind one lock: indexes, scroll contexts,
    fault rules and counters."""

    def __init__(self, gc_deletes, counting_only):
        self.lock = threading.RLock()
        self.indexes = {}
        self.aliases = {}
        self.scrolls = {}
        self.faults = Faults()
        self.gc_deletes = gc_deletes
        self.counting_only = counting_only
        self.stats = {"requests": 0, "bulk_requests": 0, "items": 0,
                      "bulk_bytes": 0}
        self.cluster_uuid = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]

    # -- index resolution --------------------------------------------------

    def get_index(self, name):
        """The Index called name (or the one index of the alias name), or a
        404 index_not_found_exception."""
        if name in self.aliases:
            members = sorted(self.aliases[name])
            if len(members) > 1:
                raise _bad_request(
                    "alias [%s] has more than one index associated with it "
                    "[%s], can't execute a single index op"
                    % (name, ", ".join(members)))
            name = members[0]
        index = self.indexes.get(name)
        if index is None:
            raise EsError(404, "index_not_found_exception",
                          "no such index [%s]" % name,
                          {"resource.type": "index_or_alias",
                           "resource.id": name, "index_uuid": "_na_",
                           "index": name})
        return index

    def resolve(self, expression):
        """Indexes named by a comma list with * wildcards or _all; a
        missing concrete name is a 404."""
        if expression in (None, "", "_all", "*"):
            return [self.indexes[n] for n in sorted(self.indexes)]
        found = []
        for part in expression.split(","):
            if "*" in part:
                found += [self.indexes[n] for n in sorted(self.indexes)
                          if _glob(part, n)]
            elif part in self.aliases:
                found += [self.indexes[n] for n in sorted(self.aliases[part])]
            else:
                found.append(self.get_index(part))
        return found

    def write_index(self, name):
        """The concrete index a write to name goes to: name itself, or the
        write index of the alias name (None when no index is called name)."""
        members = self.aliases.get(name)
        if members is None:
            return self.indexes.get(name)
        writers = [n for n, spec in members.items()
                   if spec.get("is_write_index")]
        if not writers and len(members) == 1 and \
                list(members.values())[0].get("is_write_index") is not False:
            writers = list(members)
        if len(writers) != 1:
            raise _bad_request(
                "no write index is defined for alias [%s]. The write index "
                "may be explicitly disabled using is_write_index=false or the "
                "alias points to multiple indices without one being "
                "designated as a write index" % name)
        return self.indexes[writers[0]]

    def update_aliases(self, body):
        """POST /_aliases: every action is checked first, then all are
        applied together (the switch is atomic)."""
        actions = body.get("actions") if isinstance(body, dict) else None
        if not isinstance(actions, list) or not actions:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no aliases to add/remove;")
        aliases = copy.deepcopy(self.aliases)
        removed = set()
        for action in actions:
            if not isinstance(action, dict) or len(action) != 1:
                raise _bad_request("Expected one action per object",
                                   "parsing_exception")
            kind, spec = next(iter(action.items()))
            self._alias_action(aliases, removed, kind, spec)
        for name in removed:
            del self.indexes[name]
        self.aliases = {a: m for a, m in aliases.items() if m}
        return {"acknowledged": True}

    def _alias_action(self, aliases, removed, kind, spec):
        """One add/remove/remove_index action applied to the copy aliases;
        the indexes a remove_index names go into removed (deleted once all
        actions passed, so that an alias may take a removed index's
        name in the same request)."""
        if kind not in ("add", "remove", "remove_index") or \
                not isinstance(spec, dict):
            raise _bad_request("Unsupported alias action [%s]" % kind,
                               "parsing_exception")
        index = self.get_index(spec.get("index", ""))
        if kind == "remove_index":
            removed.add(index.name)
            for members in aliases.values():
                members.pop(index.name, None)
            return
        alias = spec.get("alias")
        if not isinstance(alias, str) or not alias:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: [alias] is missing;")
        if kind == "remove":
            if index.name not in aliases.get(alias, {}):
                raise EsError(404, "aliases_not_found_exception",
                              "aliases [%s] missing" % alias,
                              {"resource.type": "aliases",
                               "resource.id": alias})
            del aliases[alias][index.name]
            return
        self._check_alias_name(alias, removed)
        entry = {}
        if "is_write_index" in spec:
            entry["is_write_index"] = bool(spec["is_write_index"])
        aliases.setdefault(alias, {})[index.name] = entry

    def _check_alias_name(self, alias, removed=()):
        """An alias may not be named like an index (one that stays)."""
        if alias in self.indexes and alias not in removed:
            raise EsError(400, "invalid_alias_name_exception",
                          "Invalid alias name [%s]: an index or data stream "
                          "exists with the same name as the alias" % alias)

    def alias_view(self, indexes, names=None):
        """GET /_alias: {index: {"aliases": {alias: {...}}}}."""
        out = {}
        for index in indexes:
            mine = {a: dict(m[index.name]) for a, m in sorted(
                self.aliases.items()) if index.name in m and
                (names is None or a in names)}
            if mine or names is None:
                out[index.name] = {"aliases": mine}
        return out

    def create_index(self, name, body):
        """PUT /{index}: creates an index with optional mappings/settings."""
        validate_index_name(name)
        if name in self.aliases:
            raise EsError(400, "invalid_index_name_exception",
                          "Invalid index name [%s], already exists as alias"
                          % name, {"index_uuid": "_na_", "index": name})
        if name in self.indexes:
            index = self.indexes[name]
            raise EsError(400, "resource_already_exists_exception",
                          "index [%s/%s] already exists" % (name, index.uuid),
                          {"index_uuid": index.uuid, "index": name})
        body = body or {}
        if not isinstance(body, dict):
            raise _bad_request("request body must be an object",
                               "parse_exception")
        mappings = body.get("mappings")
        if mappings is not None and not isinstance(mappings, dict):
            raise EsError(400, "mapper_parsing_exception",
                          "Failed to parse mapping: Expected map")
        aliases = self._create_aliases(name, body.get("aliases"))
        index = Index(name, self.gc_deletes, mappings, body.get("settings"))
        self.indexes[name] = index
        for alias, entry in aliases.items():
            self.aliases.setdefault(alias, {})[name] = entry
        return {"acknowledged": True, "shards_acknowledged": True,
                "index": name}

    def _create_aliases(self, name, aliases):
        """The "aliases" of a create-index body, checked: {alias: entry}.
        A second write index of an alias fails the creation, as the
        engines' metadata check does."""
        if aliases is None:
            return {}
        if not isinstance(aliases, dict):
            raise _bad_request("aliases must be an object", "parse_exception")
        out = {}
        for alias, spec in aliases.items():
            self._check_alias_name(alias)
            entry = {}
            if isinstance(spec, dict) and "is_write_index" in spec:
                entry["is_write_index"] = bool(spec["is_write_index"])
            writers = sorted(n for n, e in self.aliases.get(alias, {}).items()
                             if e.get("is_write_index"))
            if entry.get("is_write_index") and writers:
                raise EsError(500, "illegal_state_exception",
                              "alias [%s] has more than one write index [%s]"
                              % (alias, ",".join(writers + [name])))
            out[alias] = entry
        return out

    def auto_create(self, name):
        """Bulk's automatic index creation (invalid names fail the item); a
        write to an alias goes to its write index."""
        index = self.write_index(name)
        if index is None:
            validate_index_name(name)
            index = Index(name, self.gc_deletes)
            self.indexes[name] = index
        return index

    # -- bulk --------------------------------------------------------------

    def bulk(self, ops, refresh):
        """Runs parsed bulk items in order; returns the response object."""
        started = time.monotonic()
        now = time.monotonic()
        items = []
        errors = False
        forced = refresh in ("", "true")
        for op in ops:
            try:
                injected = self.faults.take("item_status", True)
                if injected is not None:
                    raise status_error(injected["status"])
                result = self.run_op(op, now)
                if forced and result.get("status", 500) < 300 and \
                        result.get("result") != "noop":
                    result = self._with_forced_refresh(result)
            except EsError as err:
                errors = True
                result = {"_index": op.index, "_id": op.doc_id,
                          "status": err.status, "error": err.item()}
            items.append({op.action: result})
        self.stats["items"] += len(ops)
        took = int((time.monotonic() - started) * 1000)
        return {"took": took, "errors": errors, "items": items}

    @staticmethod
    def _with_forced_refresh(result):
        out = {}
        for key, value in result.items():
            if key == "_shards":
                out["forced_refresh"] = True
            out[key] = value
        return out

    def run_op(self, op, now):
        """Applies one bulk item; returns its result or raises EsError."""
        if op.require_alias:
            raise EsError(404, "index_not_found_exception",
                          "no such index [%s] and [require_alias] request "
                          "flag is [true] and [%s] is not an alias" %
                          (op.index, op.index),
                          {"index_uuid": "_na_", "index": op.index})
        if op.action == "delete":
            return self.run_delete(op, now)
        index = self.auto_create(op.index)
        if op.action == "update":
            return self.run_update(index, op, now)
        return self.run_index(index, op, now)

    @staticmethod
    def check_versions(index, op, doc, tomb):
        """Raises the 409 Elasticsearch gives for op against the current
        document or tombstone; returns the version to store."""
        current = doc.version if doc is not None else (
            tomb[0] if tomb is not None else None)
        if op.if_seq_no is not None:
            if doc is None:
                raise EsError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, required seqNo [%d], "
                              "primary term [%d] but no document was found" %
                              (op.doc_id, op.if_seq_no, op.if_primary_term),
                              index.shard_extra())
            if doc.seq_no != op.if_seq_no or op.if_primary_term != 1:
                raise EsError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, required seqNo [%d], "
                              "primary term [%d]. current document has seqNo "
                              "[%d] and primary term [1]" %
                              (op.doc_id, op.if_seq_no, op.if_primary_term,
                               doc.seq_no), index.shard_extra())
        if op.version_type == "internal":
            if op.action == "create" and doc is not None:
                raise EsError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, document already "
                              "exists (current version [%d])" %
                              (op.doc_id, doc.version), index.shard_extra())
            return 1 if current is None else current + 1
        if current is not None:
            if op.version_type == "external" and current >= op.version:
                raise EsError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, current version [%d] "
                              "is higher or equal to the one provided [%d]" %
                              (op.doc_id, current, op.version),
                              index.shard_extra())
            if op.version_type == "external_gte" and current > op.version:
                raise EsError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, current version [%d] "
                              "is higher than the one provided [%d]" %
                              (op.doc_id, current, op.version),
                              index.shard_extra())
        return op.version

    def parse_source(self, index, op):
        """Parses an index/create item's source (per-item errors; bytes
        mean the line was not valid UTF-8)."""
        try:
            if isinstance(op.source, bytes):
                op.source.decode("utf-8")
            obj = parse_json(op.source)
        except UnicodeDecodeError as err:
            raise EsError(400, "document_parsing_exception",
                          "[1:1] failed to parse: Invalid UTF-8: %s" % err,
                          caused_by={"type": "json_parse_exception",
                                     "reason": "Invalid UTF-8: %s" % err})
        except ValueError as err:
            raise EsError(400, "document_parsing_exception",
                          "%s failed to parse: %s" %
                          (json_error_reason(err).split(" ", 1)[0], err),
                          caused_by={"type": "json_parse_exception",
                                     "reason": str(err)})
        if not isinstance(obj, dict):
            raise EsError(400, "document_parsing_exception",
                          "[1:1] failed to parse: Malformed content, must "
                          "start with an object",
                          caused_by={"type": "illegal_argument_exception",
                                     "reason": "Malformed content, must "
                                     "start with an object"})
        rule = self.faults.take("reject", True,
                                lambda r: r["match"] in op.source)
        if rule is not None:
            raise EsError(400, "document_parsing_exception",
                          "[1:1] failed to parse: rejected by emulator fault "
                          "rule [%s]" % rule["match"])
        return obj

    def run_index(self, index, op, now):
        """index and create items."""
        obj = self.parse_source(index, op)
        if op.doc_id is None:
            op.doc_id = base64.urlsafe_b64encode(os.urandom(15)).decode()
        index.check_document(op.doc_id, op.source, obj)
        doc, tomb = index.current(op.doc_id, now)
        version = self.check_versions(index, op, doc, tomb)
        created = doc is None
        if not created:
            del index.docs[op.doc_id]
        index.tombstones.pop(op.doc_id, None)
        seq_no = index.next_seq_no()
        index.docs[op.doc_id] = Doc(op.source, obj, version, seq_no)
        return {"_index": index.name, "_id": op.doc_id, "_version": version,
                "result": "created" if created else "updated",
                "_shards": _shards(index), "_seq_no": seq_no,
                "_primary_term": 1, "status": 201 if created else 200}

    def run_delete(self, op, now):
        """delete items: a missing index is auto-created only for external
        versioning; a missing document is 404 not_found, not an error."""
        index = self.write_index(op.index)
        if index is None:
            if op.version_type == "internal":
                raise EsError(404, "index_not_found_exception",
                              "no such index [%s]" % op.index,
                              {"resource.type": "index_expression",
                               "resource.id": op.index, "index_uuid": "_na_",
                               "index": op.index})
            index = self.auto_create(op.index)
        doc, tomb = index.current(op.doc_id, now)
        version = self.check_versions(index, op, doc, tomb)
        seq_no = index.next_seq_no()
        index.docs.pop(op.doc_id, None)
        index.tombstones[op.doc_id] = (version, seq_no, now)
        found = doc is not None
        return {"_index": index.name, "_id": op.doc_id, "_version": version,
                "result": "deleted" if found else "not_found",
                "_shards": _shards(index), "_seq_no": seq_no,
                "_primary_term": 1, "status": 200 if found else 404}

    def run_update(self, index, op, now):
        """update items (doc merge, doc_as_upsert, upsert, and the scripts
        compile_update_script accepts)."""
        body = op.update
        compiled = None
        if "script" in body:
            if set(body) - {"script", "_source"}:
                raise EsError(400, "illegal_argument_exception",
                              "the emulator supports scripts without "
                              "upsert only")
            compiled = compile_update_script(body["script"])
        doc, tomb = index.current(op.doc_id, now)
        self.check_versions(index, op, doc, tomb)
        if compiled is not None and doc is not None:
            script_op, new_obj = run_update_script(compiled, doc.obj,
                                                    doc.version)
            if script_op in ("noop", "none"):
                return _noop_result(index, op, doc)
            version = doc.version + 1
        elif doc is None:
            if body.get("doc_as_upsert") in (True, "true"):
                new_obj = body["doc"]
            elif "upsert" in body:
                new_obj = body["upsert"]
            else:
                raise EsError(404, "document_missing_exception",
                              "[%s]: document missing" % op.doc_id,
                              index.shard_extra())
            version = tomb[0] + 1 if tomb is not None else 1
        else:
            new_obj = merge_objects(doc.obj, body["doc"])
            if new_obj == doc.obj and body.get("detect_noop", True) \
                    not in (False, "false"):
                return _noop_result(index, op, doc)
            version = doc.version + 1
        source = serialize_source(new_obj)
        index.check_document(op.doc_id, source, new_obj)
        if doc is not None:
            del index.docs[op.doc_id]
        index.tombstones.pop(op.doc_id, None)
        seq_no = index.next_seq_no()
        index.docs[op.doc_id] = Doc(source, new_obj, version, seq_no)
        return {"_index": index.name, "_id": op.doc_id, "_version": version,
                "result": "created" if doc is None else "updated",
                "_shards": _shards(index), "_seq_no": seq_no,
                "_primary_term": 1, "status": 201 if doc is None else 200}

    # -- reads -------------------------------------------------------------

    @staticmethod
    def doc_response(index, doc_id, doc, source_fn):
        """GET /{index}/_doc/{id} shaped answer (found or not)."""
        if doc is None:
            return {"_index": index.name, "_id": doc_id, "found": False}
        out = {"_index": index.name, "_id": doc_id, "_version": doc.version,
               "_seq_no": doc.seq_no, "_primary_term": 1, "found": True}
        if source_fn is not None:
            out["_source"] = source_fn(doc)
        return out

    def mget(self, url_index, body, params):
        """POST /_mget and /{index}/_mget with "docs" or "ids"."""
        if not isinstance(body, dict) or not ("docs" in body or "ids" in body):
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no documents to get;")
        wanted = []
        if "ids" in body:
            wanted = [{"_id": i} for i in body["ids"]]
        else:
            wanted = body["docs"]
        default_fn = source_spec(None, params)
        out = []
        for n, spec in enumerate(wanted):
            name = spec.get("_index", url_index)
            if name is None:
                raise EsError(400, "action_request_validation_exception",
                              "Validation Failed: %d: index is missing;" %
                              (n + 1))
            if spec.get("_id") is None:
                raise EsError(400, "action_request_validation_exception",
                              "Validation Failed: %d: id is missing;" % (n + 1))
            doc_id = _keyword_text(spec["_id"])
            try:
                index = self.get_index(name)
            except EsError:
                index = None
            if index is None:
                err = EsError(404, "index_not_found_exception",
                              "no such index [%s]" % name,
                              {"resource.type": "index_expression",
                               "resource.id": name, "index_uuid": "_na_",
                               "index": name})
                out.append({"_index": name, "_id": doc_id,
                            "error": err.item()})
                continue
            fn = default_fn
            if "_source" in spec:
                fn = source_spec(spec["_source"], {})
            out.append(self.doc_response(index, doc_id,
                                         index.docs.get(doc_id), fn))
        return {"docs": out}

    def matching(self, indexes, query):
        """(index, id, doc) triples matching a query, in index then
        document order."""
        test = Matcher(query if query is not None else
                       {"match_all": {}}).test
        return [(idx, did, doc) for idx in indexes
                for did, doc in idx.docs.items() if test(idx, did, doc)]

    def search(self, expression, body, params):
        """GET|POST /{index}/_search and the first page of a scroll."""
        body = body or {}
        indexes = self.resolve(expression)
        size = int(params.get("size", body.get("size", 10)))
        start = int(params.get("from", body.get("from", 0)))
        scroll = params.get("scroll", body.get("scroll"))
        if size < 0 or start < 0:
            raise _bad_request("[from] parameter cannot be negative"
                               if start < 0 else
                               "[size] parameter cannot be negative")
        if scroll is None and start + size > MAX_RESULT_WINDOW:
            raise EsError(400, "search_phase_execution_exception",
                          "all shards failed",
                          caused_by={"type": "illegal_argument_exception",
                                     "reason": "Result window is too large, "
                                     "from + size must be less than or "
                                     "equal to: [10000] but was [%d]." %
                                     (start + size)})
        hits = self.matching(indexes, body.get("query"))
        sort = body.get("sort", params.get("sort"))
        sort_values = self.sort_hits(hits, sort)
        source_fn = source_spec(body.get("_source"), params)
        track = params.get("track_total_hits", body.get("track_total_hits",
                                                        MAX_RESULT_WINDOW))
        result = {"took": 1, "timed_out": False,
                  "_shards": {"total": len(indexes),
                              "successful": len(indexes), "skipped": 0,
                              "failed": 0}}
        if scroll is not None:
            scroll_id = base64.b64encode(os.urandom(24)).decode()
            keep = parse_duration(scroll, 60)
            self.scrolls[scroll_id] = {
                "hits": hits, "values": sort_values, "pos": size,
                "size": size, "source_fn": source_fn, "keep": keep,
                "expires": time.monotonic() + keep, "sorted": sort is not None}
            result["_scroll_id"] = scroll_id
            start = 0
        result["hits"] = self.hits_page(hits, sort_values, start, size,
                                        source_fn, track, sort is not None)
        return result

    @staticmethod
    def sort_hits(hits, sort):
        """Sorts hits in place by a sort spec; returns the sort values per
        hit (None when unsorted: _score order, all scores equal)."""
        if sort is None:
            return None
        if not isinstance(sort, list):
            sort = [sort]
        keys = []
        for entry in sort:
            if isinstance(entry, str):
                field, order = entry, "asc"
            elif isinstance(entry, dict) and len(entry) == 1:
                (field, order), = entry.items()
                if isinstance(order, dict):
                    order = order.get("order", "asc")
            else:
                raise EsError(400, "parsing_exception", "malformed sort")
            keys.append((field, order))
        position = {id(h[2]): n for n, h in enumerate(hits)}

        def values(hit):
            """(sort value shown in the hit, comparable key) per key."""
            idx, did, doc = hit
            out = []
            for field, order in keys:
                if field == "_doc":
                    value, mapping = position[id(doc)], {"type": "long"}
                elif field == "_score":
                    value, mapping = 1.0, {"type": "float"}
                elif field == "_id":
                    value, mapping = did, {"type": "keyword"}
                else:
                    mapping = idx.fields.get(field, {"type": "keyword"})
                    vals = sorted(field_values(doc.obj, mapping.get(
                        "_parent", field).split(".")),
                        key=lambda v: sort_key(mapping, v))
                    value = (vals[-1] if order == "desc" else vals[0]) \
                        if vals else None
                out.append((value, None if value is None else
                            sort_key(mapping, value)))
            return out
        decorated = [(values(h), h) for h in hits]
        for n in range(len(keys) - 1, -1, -1):
            desc = keys[n][1] == "desc"
            present = [d for d in decorated if d[0][n][1] is not None]
            missing = [d for d in decorated if d[0][n][1] is None]
            present.sort(key=lambda d: d[0][n][1], reverse=desc)
            decorated = present + missing
        hits[:] = [h for _, h in decorated]
        return [[value for value, _ in v] for v, _ in decorated]

    @staticmethod
    def hits_page(hits, sort_values, start, size, source_fn, track, sorted_):
        """The "hits" object of a search response for one page."""
        total = len(hits)
        out = {}
        if track not in (False, "false"):
            cap = total if track in (True, "true") else int(track)
            out["total"] = {"value": min(total, cap),
                            "relation": "eq" if total <= cap else "gte"}
        out["max_score"] = None if sorted_ or not hits else 1.0
        page = []
        for n in range(start, min(start + size, total)):
            idx, did, doc = hits[n]
            hit = {"_index": idx.name, "_id": did,
                   "_score": None if sorted_ else 1.0}
            if source_fn is not None:
                hit["_source"] = source_fn(doc)
            if sorted_:
                hit["sort"] = sort_values[n]
            page.append(hit)
        out["hits"] = page
        return out

    def scroll_next(self, body, params):
        """POST /_search/scroll: the next page of a scroll context."""
        body = body or {}
        scroll_id = params.get("scroll_id", body.get("scroll_id"))
        ctx = self.live_scroll(scroll_id)
        keep = params.get("scroll", body.get("scroll"))
        if keep is not None:
            ctx["keep"] = parse_duration(keep, ctx["keep"])
        ctx["expires"] = time.monotonic() + ctx["keep"]
        start = ctx["pos"]
        ctx["pos"] += ctx["size"]
        result = {"_scroll_id": scroll_id, "took": 1, "timed_out": False,
                  "_shards": {"total": 1, "successful": 1, "skipped": 0,
                              "failed": 0}}
        result["hits"] = self.hits_page(ctx["hits"], ctx["values"], start,
                                        ctx["size"], ctx["source_fn"], True,
                                        ctx["sorted"])
        return result

    def live_scroll(self, scroll_id):
        """The scroll context for an id, or the 404 Elasticsearch gives."""
        now = time.monotonic()
        for key in [k for k, v in self.scrolls.items() if v["expires"] < now]:
            del self.scrolls[key]
        ctx = self.scrolls.get(scroll_id) if scroll_id else None
        if ctx is None:
            err = EsError(404, "search_phase_execution_exception",
                          "all shards failed",
                          caused_by={"type": "search_context_missing_"
                                     "exception",
                                     "reason": "No search context found for "
                                     "id [%s]" % scroll_id})
            raise err
        return ctx

    def clear_scroll(self, body, params):
        """DELETE /_search/scroll: frees contexts (all with _all)."""
        body = body or {}
        ids = params.get("scroll_id", body.get("scroll_id", []))
        if isinstance(ids, str):
            ids = ids.split(",")
        if ids == ["_all"]:
            ids = list(self.scrolls)
        freed = 0
        for scroll_id in ids:
            if self.scrolls.pop(scroll_id, None) is not None:
                freed += 1
        return {"succeeded": True, "num_freed": freed}

    def delete_by_query(self, expression, body, params):
        """POST /{index}/_delete_by_query (internal versioning: each delete
        bumps the version by one and leaves a tombstone)."""
        started = time.monotonic()
        indexes = self.resolve(expression)
        hits = self.matching(indexes, (body or {}).get("query"))
        proceed = params.get("conflicts", (body or {}).get("conflicts")) \
            == "proceed"
        deleted = conflicts = 0
        failures = []
        now = time.monotonic()
        for idx, did, doc in hits:
            if doc.version == 0:
                conflicts += 1
                if not proceed:
                    failures.append({
                        "index": idx.name, "id": did, "status": 409,
                        "cause": EsError(409, "version_conflict_engine_"
                                         "exception",
                                         "[%s]: version conflict, internal "
                                         "versioning does not support the "
                                         "value 0 as a valid version number"
                                         % did, idx.shard_extra()).item()})
                    break
                continue
            seq_no = idx.next_seq_no()
            del idx.docs[did]
            idx.tombstones[did] = (doc.version + 1, seq_no, now)
            deleted += 1
        result = {"took": int((time.monotonic() - started) * 1000),
                  "timed_out": False, "total": len(hits), "deleted": deleted,
                  "batches": 1 if hits else 0,
                  "version_conflicts": conflicts, "noops": 0,
                  "retries": {"bulk": 0, "search": 0},
                  "throttled_millis": 0, "requests_per_second": -1.0,
                  "throttled_until_millis": 0, "failures": failures}
        return (409 if failures else 200), result

    def health(self):
        """GET /_cluster/health for a single node."""
        primaries = sum(i.shards for i in self.indexes.values())
        unassigned = sum(i.shards * i.replicas for i in self.indexes.values())
        status = "yellow" if unassigned else "green"
        total = primaries + unassigned
        return {"cluster_name": CLUSTER_NAME, "status": status,
                "timed_out": False, "number_of_nodes": 1,
                "number_of_data_nodes": 1,
                "active_primary_shards": primaries,
                "active_shards": primaries, "relocating_shards": 0,
                "initializing_shards": 0, "unassigned_shards": unassigned,
                "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
                "number_of_in_flight_fetch": 0,
                "task_max_waiting_in_queue_millis": 0,
                "active_shards_percent_as_number":
                    100.0 * primaries / total if total else 100.0}

    def cat_indices(self, expression):
        """GET /_cat/indices?format=json rows."""
        rows = []
        for idx in self.resolve(expression):
            size = sum(len(d.source) for d in idx.docs.values())
            rows.append({"health": "yellow" if idx.replicas else "green",
                         "status": "open", "index": idx.name,
                         "uuid": idx.uuid, "pri": str(idx.shards),
                         "rep": str(idx.replicas),
                         "docs.count": str(len(idx.docs)),
                         "docs.deleted": "0", "store.size": "%db" % size,
                         "pri.store.size": "%db" % size,
                         "dataset.size": "%db" % size})
        return rows


def merge_objects(base, changes):
    """Update's "doc" merge: objects merge recursively, everything else
    replaces.  Returns a new object; base is not modified."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_objects(out[key], value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------
# Update scripts: a small, honest subset of Painless
#
# Exactly what pg2es sends (a guarded partial update) and nothing more:
#   statement := "if" "(" operand CMP operand ")" block ["else" block]
#              | "ctx.op" "=" STRING [";"]
#              | "ctx._source.putAll" "(" "params." NAME ")" [";"]
#   block     := "{" statement* "}"
#   operand   := "ctx._version" | "params." NAME | NUMBER
#   CMP       := > >= < <= == !=
# ctx.op may be set to "noop", "none" or "index".  Anything else is refused
# the way Elasticsearch refuses a script that does not compile (400
# illegal_argument_exception "failed to execute script", caused by a
# script_exception), never silently ignored.

PAINLESS_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^'\\]*'|\"[^\"\\]*\")|"
    r"(?P<name>[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*)|"
    r"(?P<op>>=|<=|==|!=|[<>(){};=]))")
PAINLESS_COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
                    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                    "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _script_error(source, reason, detail):
    """The item error of a script that cannot compile or run."""
    return EsError(400, "illegal_argument_exception",
                   "failed to execute script",
                   caused_by={"type": "script_exception", "reason": reason,
                              "script_stack": [source[:100]],
                              "script": source, "lang": "painless",
                              "caused_by": {"type":
                                            "illegal_argument_exception",
                                            "reason": detail}})


def _painless_tokens(source):
    """Splits source into (kind, text) tokens; None when some text is not
    a token of the subset."""
    tokens = []
    pos = 0
    source = source.rstrip()
    while pos < len(source):
        m = PAINLESS_TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _PainlessParser:
    """Recursive descent over the subset; parse() returns the statements as
    nested tuples, or raises ValueError saying what is not supported."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) \
            else (None, None)

    def take(self, text=None):
        kind, value = self.peek()
        if kind is None or (text is not None and value != text):
            raise ValueError("unexpected %s, expected %s"
                             % (value or "end of script", text or "more"))
        self.pos += 1
        return kind, value

    def parse(self):
        statements = []
        while self.pos < len(self.tokens):
            statements.append(self.statement())
        return statements

    def block(self):
        self.take("{")
        statements = []
        while self.peek()[1] != "}":
            statements.append(self.statement())
        self.take("}")
        return statements

    def operand(self):
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value) if "." in value else int(value))
        if value == "ctx._version":
            return ("version",)
        if kind == "name" and value.startswith("params.") \
                and value.count(".") == 1:
            return ("param", value[7:])
        raise ValueError("unsupported operand [%s]" % value)

    def statement(self):
        kind, value = self.take()
        if value == "if":
            self.take("(")
            left = self.operand()
            _, cmp = self.take()
            if cmp not in PAINLESS_COMPARE:
                raise ValueError("unsupported comparison [%s]" % cmp)
            right = self.operand()
            self.take(")")
            then = self.block()
            other = []
            if self.peek()[1] == "else":
                self.take("else")
                other = self.block()
            return ("if", left, cmp, right, then, other)
        if value == "ctx.op":
            self.take("=")
            kind, op = self.take()
            if kind != "str" or op[1:-1] not in ("noop", "none", "index"):
                raise ValueError("unsupported ctx.op value [%s]" % op)
            self.optional_semicolon()
            return ("op", op[1:-1])
        if value == "ctx._source.putAll":
            self.take("(")
            arg = self.operand()
            if arg[0] != "param":
                raise ValueError("putAll takes a params value here")
            self.take(")")
            self.optional_semicolon()
            return ("putall", arg[1])
        raise ValueError("unsupported statement starting at [%s]" % value)

    def optional_semicolon(self):
        if self.peek()[1] == ";":
            self.take(";")


def compile_update_script(script):
    """The (source, params, statements) of an update's "script" value, or
    raises the EsError Elasticsearch gives for a script it cannot run."""
    if isinstance(script, str):
        script = {"source": script}
    if not isinstance(script, dict) or not isinstance(
            script.get("source"), str):
        raise EsError(400, "illegal_argument_exception",
                      "script source is missing or not a string")
    source = script["source"]
    params = script.get("params", {})
    if script.get("lang", "painless") != "painless" or \
            not isinstance(params, dict) or \
            set(script) - {"source", "lang", "params"}:
        raise _script_error(source, "compile error",
                            "the emulator runs only painless scripts with "
                            "source and params")
    tokens = _painless_tokens(source)
    try:
        if tokens is None:
            raise ValueError("unsupported characters")
        statements = _PainlessParser(tokens).parse()
    except ValueError as err:
        raise _script_error(source, "compile error",
                            "not supported by the emulator: %s" % err)
    return source, params, statements


def run_update_script(compiled, source_obj, version):
    """Runs a compiled update script on a copy of source_obj with
    ctx._version = version.  Returns (op, new source object)."""
    source, params, statements = compiled
    ctx = {"op": "index", "source": dict(source_obj)}

    def value(operand):
        if operand[0] == "num":
            return operand[1]
        if operand[0] == "version":
            return version
        if operand[1] not in params:
            raise _script_error(source, "runtime error",
                                "params.%s is null" % operand[1])
        return params[operand[1]]

    def run(block):
        for stmt in block:
            if stmt[0] == "if":
                left, right = value(stmt[1]), value(stmt[3])
                if not all(isinstance(v, (int, float)) and
                           not isinstance(v, bool) for v in (left, right)):
                    raise _script_error(source, "runtime error",
                                        "cannot compare non-numbers")
                run(stmt[4] if PAINLESS_COMPARE[stmt[2]](left, right)
                    else stmt[5])
            elif stmt[0] == "op":
                ctx["op"] = stmt[1]
            else:
                arg = value(("param", stmt[1]))
                if not isinstance(arg, dict):
                    raise _script_error(source, "runtime error",
                                        "class_cast_exception: putAll "
                                        "needs a map")
                ctx["source"].update(arg)

    run(statements)
    return ctx["op"], ctx["source"]


# --------------------------------------------------------------------------
# HTTP

JSON_TYPES = {"application/json", "application/vnd.elasticsearch+json"}
NDJSON_TYPES = JSON_TYPES | {"application/x-ndjson",
                             "application/vnd.elasticsearch+x-ndjson"}


class Response:
    """What a route answers: status, a JSON-able body (None = empty body,
    str = already a string error), extra headers."""

    def __init__(self, status, body, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or []


def _media_type(header):
    """Splits a Content-Type into (lower-case type, params dict)."""
    parts = [p.strip() for p in header.split(";")]
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return parts[0].lower(), params


def read_chunked(rfile):
    """A chunked request body (Transfer-Encoding: chunked), trailers
    skipped."""
    chunks = []
    while True:
        line = rfile.readline(1024)
        chunk_len = int(line.split(b";")[0].strip() or b"0", 16)
        if chunk_len == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        chunks.append(rfile.read(chunk_len))
        rfile.readline(8)


class DispatchingHandler(BaseHTTPRequestHandler):
    """An HTTP/1.1 connection (keep-alive) whose every method goes to
    dispatch(method); the emulator's and the fault proxy's (tests/faultproxy)
    handlers.  server_version names the program in its log lines."""

    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s: %s\n" % (self.server_version, fmt % args))

    def dispatch(self, method):
        raise NotImplementedError

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")


class Handler(DispatchingHandler):
    """One HTTP/1.1 connection (keep-alive).  Every request goes through
    dispatch(): control endpoints, auth, size and encoding checks, faults,
    routing, filter_path, and the headers Elasticsearch sends."""

    server_version = "esemu"

    def handle_expect_100(self):
        """Answers Expect: 100-continue with 417 when the declared body is
        over http.max_content_length, as Elasticsearch does."""
        length = self.headers.get("Content-Length")
        if length is not None and length.isdigit() and \
                int(length) > self.server.max_content_length:
            self.send_raw(417, b"", [("Connection", "close")])
            self.close_connection = True
            return False
        return super().handle_expect_100()

    def send_raw(self, status, payload, headers, content_type=None):
        """Writes a complete response (no Server/Date: Elasticsearch sends
        neither)."""
        self.send_response_only(status)
        self.send_header("X-elastic-product", "Elasticsearch")
        if content_type:
            self.send_header("content-type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        cut = getattr(self, "cut_response", False)
        if self.command != "HEAD" and payload:
            self.wfile.write(payload[:len(payload) // 2] if cut else payload)
        self.wfile.flush()
        if cut:
            self.drop_connection()

    def read_body(self):
        """Reads the request body (Content-Length or chunked); returns None
        after answering 413 when it is too large."""
        limit = self.server.max_content_length
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = read_chunked(self.rfile)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                self.too_large()
                return None
            body = self.rfile.read(length) if length else b""
        if len(body) > limit:
            self.too_large()
            return None
        return body

    def too_large(self):
        """413 with an empty body, then close (Elasticsearch may not read
        the rest of the body)."""
        self.send_raw(413, b"", [("Connection", "close")])
        self.close_connection = True

    def dispatch(self, method):
        """Handles one request end to end."""
        store = self.server.store
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        control = path.startswith("/_emulator/")
        is_bulk = method in ("POST", "PUT") and (
            path == "/_bulk" or path.endswith("/_bulk"))
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if body is None:
            return
        if not control:
            with store.lock:
                store.stats["requests"] += 1
                delay = store.faults.take("delay", is_bulk)
                drop_before = store.faults.take("drop_before", is_bulk)
            if delay is not None:
                time.sleep(delay["ms"] / 1000.0)
            if drop_before is not None:
                self.drop_connection()
                return
        try:
            response = self.answer(method, url.path, params, body, control,
                                   is_bulk)
        except EsError as err:
            response = Response(err.status, err.body())
        except PlainError as err:
            response = Response(err.status, {"error": err.message,
                                             "status": err.status})
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            # a request shape the emulator's parsers did not expect:
            # Elasticsearch would refuse it while parsing, with a 400
            response = Response(400, EsError(
                400, "parse_exception", "emulator could not parse the "
                "request: %s: %s" % (type(err).__name__, err)).body())
        if not control and is_bulk:
            with store.lock:
                drop_after = store.faults.take("drop_after", True)
            if drop_after is not None:
                self.drop_connection()
                return
        if not control:
            with store.lock:
                self.cut_response = store.faults.take("cut", is_bulk) is not None
        self.send_response_obj(response, params)
        self.cut_response = False

    def drop_connection(self):
        """Closes the connection without answering (fault injection)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send_response_obj(self, response, params):
        """Encodes a Response with filter_path and Elasticsearch's headers."""
        headers = list(response.headers)
        if response.body is None:
            self.send_raw(response.status, b"", headers)
            return
        body = response.body
        if isinstance(body, str):
            self.send_raw(response.status, body.encode("utf-8"), headers,
                          "text/plain; charset=UTF-8")
            return
        if "filter_path" in params:
            body = filter_tree(body, params["filter_path"])
        pretty = "pretty" in params and params["pretty"] != "false"
        payload = encode_json(body, pretty)
        if pretty:
            payload += b"\n"
        accept = self.headers.get("Accept", "") + \
            self.headers.get("Content-Type", "")
        ctype = "application/json"
        if "vnd.elasticsearch" in accept:
            ctype = "application/vnd.elasticsearch+json;compatible-with=8"
        if "gzip" in self.headers.get("Accept-Encoding", "") and \
                not self.server.tls and payload:
            payload = gzip.compress(payload, 1)
            headers.append(("content-encoding", "gzip"))
        self.send_raw(response.status, payload, headers, ctype)

    def check_auth(self):
        """Raises 401 security_exception unless the request carries the
        configured Basic or ApiKey credentials."""
        server = self.server
        if server.user is None and server.api_key is None:
            return
        uri = self.path
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        reason = "missing authentication credentials for REST request [%s]" % uri
        if scheme.lower() == "basic" and server.user is not None:
            try:
                user, _, password = base64.b64decode(value).decode(
                    "utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", None
            if user == server.user and password == server.password:
                return
            reason = ("unable to authenticate user [%s] for REST request "
                      "[%s]" % (user, uri))
        elif scheme.lower() == "apikey" and server.api_key is not None:
            if value == server.api_key:
                return
            reason = ("unable to authenticate with provided credentials and "
                      "anonymous access is not allowed for this request")
        elif header:
            reason = ("unable to authenticate with provided credentials and "
                      "anonymous access is not allowed for this request")
        err = EsError(401, "security_exception", reason,
                      {"header": {"WWW-Authenticate": WWW_AUTHENTICATE}})
        raise _AuthFailure(err)

    def check_content_type(self, is_bulk, body):
        """Elasticsearch's strict Content-Type checking for bodies."""
        header = self.headers.get("Content-Type")
        if not body:
            return
        if header is None:
            raise PlainError(406, "Content-Type header is missing")
        mtype, mparams = _media_type(header)
        allowed = NDJSON_TYPES if is_bulk else JSON_TYPES
        if mtype not in allowed:
            raise PlainError(406, "Content-Type header [%s] is not supported"
                             % header)
        if "vnd.elasticsearch" in mtype and \
                mparams.get("compatible-with") not in ("7", "8"):
            raise EsError(400, "media_type_header_exception",
                          "Invalid media-type value on headers "
                          "[Content-Type]",
                          caused_by={"type": "status_exception",
                                     "reason": "A compatible version is "
                                     "required on both Content-Type and "
                                     "Accept headers if either one has "
                                     "requested a compatible version or the "
                                     "compatible versions do not match"})

    def decode_body(self, body):
        """Undoes Content-Encoding (gzip, deflate); the size limit applies
        to the decompressed body."""
        encoding = self.headers.get("Content-Encoding", "").lower().strip()
        if not body or encoding in ("", "identity"):
            return body
        limit = self.server.max_content_length
        try:
            if encoding == "gzip":
                decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                decoder = zlib.decompressobj()
            else:
                return body
            out = decoder.decompress(body, limit + 1)
        except zlib.error as err:
            raise EsError(400, "illegal_argument_exception",
                          "cannot decode %s request body: %s" %
                          (encoding, err))
        if len(out) > limit:
            raise _TooLarge()
        return out

    def answer(self, method, path, params, body, control, is_bulk):
        """Checks and routes a request; returns a Response."""
        store = self.server.store
        if control:
            return self.control(method, path, params, body)
        try:
            self.check_auth()
        except _AuthFailure as failure:
            return Response(401, failure.err.body(),
                            [("WWW-Authenticate", v)
                             for v in WWW_AUTHENTICATE])
        try:
            body = self.decode_body(body)
        except _TooLarge:
            self.close_connection = True
            return Response(413, None, [("Connection", "close")])
        self.check_content_type(is_bulk, body)
        with store.lock:
            if is_bulk:
                store.stats["bulk_requests"] += 1
                store.stats["bulk_bytes"] += len(body)
            injected = store.faults.take("status", is_bulk)
        if injected is not None:
            err = status_error(injected["status"])
            return Response(err.status, err.body())
        return route(store, method, path, params, body)

    def control(self, method, path, params, body):
        """The /_emulator/ endpoints (faults, stats)."""
        store = self.server.store
        with store.lock:
            if path == "/_emulator/faults" and method == "POST":
                try:
                    rules = parse_json_bytes(body)
                except ValueError as err:
                    raise _bad_request(str(err), "parse_exception")
                added = store.faults.install(rules)
                return Response(200, {"acknowledged": True, "added": added})
            if path == "/_emulator/faults" and method == "DELETE":
                store.faults.clear(params.get("keep", ""))
                return Response(200, {"acknowledged": True})
            if path == "/_emulator/stats" and method == "GET":
                stats = dict(store.stats)
                stats["faults_served"] = dict(store.faults.served)
                return Response(200, stats)
        raise PlainError(400, "no handler found for uri [%s] and method [%s]"
                         % (path, method))


class _AuthFailure(Exception):
    def __init__(self, err):
        super().__init__(err.reason)
        self.err = err


class _TooLarge(Exception):
    pass


def _json_body(body):
    """Parses a JSON request body (None when empty)."""
    if not body:
        return None
    try:
        return parse_json_bytes(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise EsError(400, "x_content_parse_exception",
                      json_error_reason(err))


def _root_info(store):
    return {"name": "esemu", "cluster_name": CLUSTER_NAME,
            "cluster_uuid": store.cluster_uuid,
            "version": {"number": ES_VERSION, "build_flavor": "default",
                        "build_type": "docker",
                        "build_hash": "0" * 40,
                        "build_date": "2024-08-05T10:05:34.233336849Z",
                        "build_snapshot": False,
                        "lucene_version": LUCENE_VERSION,
                        "minimum_wire_compatibility_version": "7.17.0",
                        "minimum_index_compatibility_version": "7.0.0"},
            "tagline": "You Know, for Search"}


def _counting_bulk(store, body, url_index):
    """--counting-only: counts items and bytes, stores nothing, answers a
    minimal well-formed response (every item succeeded)."""
    if not body.endswith(b"\n"):
        raise _bad_request("The bulk request must be terminated by a newline "
                           "[\\n]")
    items = []
    lines = body.split(b"\n")
    i = 0
    n = len(lines) - 1
    while i < n:
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        try:
            action, meta = next(iter(parse_json_bytes(line).items()))
            if not isinstance(meta, dict):
                raise ValueError("action metadata is not an object")
        except (ValueError, UnicodeDecodeError, StopIteration,
                AttributeError) as err:
            raise EsError(400, "x_content_parse_exception", str(err))
        if action != "delete":
            i += 1
        version = meta.get("version", 1) if isinstance(meta, dict) else 1
        status = 201 if action in ("index", "create") else 200
        items.append({action: {
            "_index": meta.get("_index", url_index), "_id": meta.get("_id"),
            "_version": version,
            "result": "deleted" if action == "delete" else "created",
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": 0, "_primary_term": 1, "status": status}})
    with store.lock:
        store.stats["items"] += len(items)
    return Response(200, {"took": 0, "errors": False, "items": items})


def route(store, method, path, params, body):
    """Maps method + path to an API; returns a Response."""
    segs = [unquote(s) for s in path.strip("/").split("/")] \
        if path.strip("/") else []
    if segs and segs[-1] == "_bulk" and len(segs) <= 2:
        if method not in ("POST", "PUT"):
            raise PlainError(405, "Incorrect HTTP method for uri [%s] and "
                             "method [%s], allowed: [POST, PUT]" %
                             (path, method))
        url_index = segs[0] if len(segs) == 2 else None
        if store.counting_only:
            return _counting_bulk(store, body, url_index)
        ops, warnings = parse_bulk_body(body, url_index)
        with store.lock:
            result = store.bulk(ops, params.get("refresh"))
        headers = [("Warning", '299 Elasticsearch-%s "%s"' % (ES_VERSION, w))
                   for w in warnings]
        return Response(200, result, headers)
    with store.lock:
        return route_other(store, method, segs, params, _json_body(body))


def route_other(store, method, segs, params, body):
    """Every API except _bulk (called with the store lock held)."""
    n = len(segs)
    if n == 0 and method in ("GET", "HEAD"):
        return Response(200, None if method == "HEAD" else _root_info(store))
    head = segs[0] if n else ""
    if head == "_cluster" and n >= 2 and segs[1] == "health":
        return cluster_health(store, params)
    if head == "_cat" and n >= 2 and segs[1] == "indices":
        rows = store.cat_indices(segs[2] if n > 2 else None)
        if params.get("format") == "json":
            return Response(200, rows)
        text = "".join("%s %s %s %s %s %s %s %s %s %s\n" % (
            r["health"], r["status"], r["index"], r["uuid"], r["pri"],
            r["rep"], r["docs.count"], r["docs.deleted"], r["store.size"],
            r["pri.store.size"]) for r in rows)
        return Response(200, text)
    if head == "_aliases" and n == 1 and method in ("POST", "PUT"):
        return Response(200, store.update_aliases(body))
    if head == "_alias" or (n >= 2 and segs[1] in ("_alias", "_aliases")):
        return alias_api(store, method, segs, body)
    if head == "_search" and n >= 2 and segs[1] == "scroll":
        if n == 3:
            params = dict(params, scroll_id=segs[2])
        if method == "DELETE":
            return Response(200, store.clear_scroll(body, params))
        return Response(200, store.scroll_next(body, params))
    if head in ("_search", "_count", "_mget", "_refresh",
                "_delete_by_query"):
        segs = ["_all"] + segs
        n += 1
    if n == 2 and segs[1] in ("_search", "_count", "_mget", "_refresh",
                              "_delete_by_query", "_mapping", "_settings"):
        return index_api(store, method, segs[0], segs[1], params, body)
    if n == 3 and segs[1] == "_doc":
        return doc_api(store, method, segs[0], segs[2], params, body)
    if n == 3 and segs[1] == "_source" and method in ("GET", "HEAD"):
        return source_api(store, method, segs[0], segs[2], params)
    if n == 1 and not head.startswith("_"):
        return index_admin(store, method, head, body)
    raise PlainError(400, "no handler found for uri [/%s] and method [%s]" %
                     ("/".join(segs), method))


def cluster_health(store, params):
    """GET /_cluster/health: waits (lock released) up to timeout for
    wait_for_status, then answers 408 with timed_out when not reached."""
    wanted = params.get("wait_for_status")
    rank = {"green": 0, "yellow": 1, "red": 2}
    health = store.health()
    if wanted in rank and rank[health["status"]] > rank[wanted]:
        timeout = parse_duration(params.get("timeout", "30s"), 30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            store.lock.release()
            try:
                time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            finally:
                store.lock.acquire()
            health = store.health()
            if rank[health["status"]] <= rank[wanted]:
                return Response(200, health)
        health["timed_out"] = True
        return Response(408, health)
    return Response(200, health)


def index_api(store, method, expression, api, params, body):
    """/{index}/_search, _count, _mget, _refresh, _delete_by_query,
    _mapping."""
    if api == "_search":
        return Response(200, store.search(expression, body, params))
    if api == "_count":
        indexes = store.resolve(expression)
        hits = store.matching(indexes, (body or {}).get("query"))
        return Response(200, {"count": len(hits), "_shards": {
            "total": len(indexes), "successful": len(indexes),
            "skipped": 0, "failed": 0}})
    if api == "_mget":
        return Response(200, store.mget(
            None if expression == "_all" else expression, body, params))
    if api == "_refresh":
        indexes = store.resolve(expression)
        total = sum(i.shards * (i.replicas + 1) for i in indexes)
        ok = sum(i.shards for i in indexes)
        return Response(200, {"_shards": {"total": total, "successful": ok,
                                          "failed": 0}})
    if api == "_delete_by_query":
        if method != "POST":
            raise PlainError(405, "Incorrect HTTP method for uri and method "
                             "[%s], allowed: [POST]" % method)
        status, result = store.delete_by_query(expression, body, params)
        return Response(status, result)
    if api == "_settings":
        return Response(200, {i.name: {"settings": i.public_settings()}
                              for i in store.resolve(expression)})
    return Response(200, {i.name: {"mappings": i.public_mapping()}
                          for i in store.resolve(expression)})


def doc_api(store, method, name, doc_id, params, body):
    """GET|HEAD|PUT|POST|DELETE /{index}/_doc/{id} (the single-document
    APIs run through the bulk item code, with its checks)."""
    if method in ("GET", "HEAD"):
        index = store.get_index(name)
        doc = index.docs.get(doc_id)
        response = store.doc_response(index, doc_id, doc,
                                      source_spec(None, params))
        status = 200 if doc is not None else 404
        return Response(status, None if method == "HEAD" else response)
    op = BulkOp("delete" if method == "DELETE" else "index")
    meta = {"_index": name, "_id": doc_id}
    for key in ("version", "version_type", "if_seq_no", "if_primary_term",
                "op_type"):
        if key in params:
            meta[key] = params[key]
    parse_action_meta(op, meta, 1, None)
    if op.action != "delete":
        if body is None:
            raise EsError(400, "action_request_validation_exception",
                          "Validation Failed: 1: source is missing;")
        op.source = serialize_source(body)
    errors = validate_op(op)
    if errors:
        raise EsError(400, "action_request_validation_exception",
                      "Validation Failed: " + "".join(
                          "%d: %s;" % (n + 1, e) for n, e in enumerate(errors)))
    result = store.run_op(op, time.monotonic())
    status = result.pop("status")
    return Response(status, result)


def source_api(store, method, name, doc_id, params):
    """GET|HEAD /{index}/_source/{id}: the document's _source alone, byte
    for byte as stored (real-time, like GET _doc); a missing document is a
    404 resource_not_found_exception [shape from memory]."""
    index = store.get_index(name)
    doc = index.docs.get(doc_id)
    show = source_spec(None, params)
    if doc is None or show is None:
        raise EsError(404, "resource_not_found_exception",
                      "Document not found [%s]/[%s]" % (name, doc_id))
    return Response(200, None if method == "HEAD" else show(doc))


def alias_api(store, method, segs, body):
    """GET|HEAD /_alias[/NAME], GET|HEAD /{index}/_alias[/NAME],
    PUT|DELETE /{index}/_alias/NAME."""
    if segs[0] == "_alias":
        indexes, names = store.resolve(None), segs[1] if len(segs) > 1 else None
    else:
        indexes = store.resolve(segs[0])
        names = segs[2] if len(segs) > 2 else None
    if method in ("PUT", "POST", "DELETE") and segs[0] != "_alias" and names:
        kind = "remove" if method == "DELETE" else "add"
        actions = [{kind: dict(body or {}, index=i.name, alias=a)}
                   for i in indexes for a in names.split(",")]
        return Response(200, store.update_aliases({"actions": actions}))
    wanted = set(names.split(",")) if names else None
    view = store.alias_view(indexes, wanted)
    if wanted and not view:
        missing = ",".join(sorted(wanted))
        body = {"error": "alias [%s] missing" % missing, "status": 404}
        return Response(404, None if method == "HEAD" else body)
    return Response(200, None if method == "HEAD" else view)


def index_admin(store, method, name, body):
    """PUT|GET|HEAD|DELETE /{index}."""
    if method == "PUT":
        return Response(200, store.create_index(name, body))
    if method == "HEAD":
        known = name in store.indexes or name in store.aliases
        return Response(200 if known else 404, None)
    if method == "GET":
        return Response(200, {i.name: {"aliases": store.alias_view([i])[
                                           i.name]["aliases"],
                                       "mappings": i.public_mapping(),
                                       "settings": i.public_settings()}
                              for i in store.resolve(name)})
    if method == "DELETE":
        if name in store.aliases:
            raise _bad_request(
                "The provided expression [%s] matches an alias, specify the "
                "corresponding concrete indices instead." % name)
        for index in store.resolve(name):
            del store.indexes[index.name]
            for members in store.aliases.values():
                members.pop(index.name, None)
        store.aliases = {a: m for a, m in store.aliases.items() if m}
        return Response(200, {"acknowledged": True})
    raise PlainError(405, "Incorrect HTTP method for uri [/%s] and method "
                     "[%s], allowed: [GET, HEAD, DELETE, PUT]" % (name, method))


class Server(ThreadingHTTPServer):
    """The HTTP server with the emulator's configuration and store."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, args):
        super().__init__(address, Handler)
        self.store = Store(args.gc_deletes, args.counting_only)
        self.user = args.user
        self.password = args.password
        self.api_key = args.api_key
        self.max_content_length = args.max_content_length
        self.verbose = args.verbose
        self.tls = bool(args.tls_cert)
        self.tls_context = None
        if self.tls:
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    def server_bind(self):
        """Binds without HTTPServer's reverse DNS lookup (getfqdn can
        stall for seconds on hosts without DNS)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        """Runs in the connection's thread, so a slow TLS handshake never
        blocks accept()."""
        if self.tls_context is not None:
            try:
                request = self.tls_context.wrap_socket(request,
                                                       server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                super().finish_request(request, client_address)
            finally:
                request.close()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        """Clients that hang up mid-request are routine (fault tests)."""
        if self.verbose:
            super().handle_error(request, client_address)


def parse_size(text):
    """Byte sizes as Elasticsearch writes them: 100mb, 1kb, 512b, 42."""
    m = re.match(r"(\d+)\s*(b|kb|mb|gb)?\Z", text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError("invalid size: %s" % text)
    return int(m.group(1)) * {None: 1, "b": 1, "kb": 1 << 10,
                              "mb": 1 << 20, "gb": 1 << 30}[m.group(2)]


def parse_args(argv):
    """Command line (docs/design.md, "Emulator interface")."""
    parser = argparse.ArgumentParser(
        prog="esemu.py",
        description="In-memory emulator of Elasticsearch's document APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--api-key", help="the encoded form "
                        "base64(id:key) clients send")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--gc-deletes", type=float, default=60.0,
                        help="seconds delete tombstones are kept")
    parser.add_argument("--max-content-length", type=parse_size,
                        default=100 << 20)
    parser.add_argument("--counting-only", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    return args


def exit_with_parent(server):
    """Shuts the server down once the process that started it is gone, so
    a test harness that dies (or forgets to stop it) never leaves an
    emulator behind.  Not armed when started by init (a daemon)."""
    parent = os.getppid()
    if parent == 1:
        return

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()
    threading.Thread(target=watch, daemon=True).start()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    server = Server((args.host, args.port), args)
    exit_with_parent(server)
    port = server.server_address[1]
    scheme = "https" if server.tls else "http"
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("esemu listening on %s://%s:%d" % (scheme, args.host, port),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
