"""Tests of faultproxy.py, with the emulator as the cluster behind it (the
end-to-end suites put it in front of a real engine).

    python3 -m unittest discover -s tests/faultproxy -v
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "..", "emulator", "esemu.py")
PROXY = os.path.join(HERE, "faultproxy.py")


def start(argv):
    """Starts a server that writes its port to a file; returns (proc, port)."""
    tmp = tempfile.mkdtemp()
    portfile = os.path.join(tmp, "port")
    proc = subprocess.Popen([sys.executable] + argv +
                            ["--port", "0", "--port-file", portfile],
                            stdout=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(portfile):
            with open(portfile) as f:
                return proc, int(f.read())
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("%s did not start" % argv[0])


class FaultProxyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.emu, emu_port = start([EMULATOR])
        cls.proxy, cls.port = start(
            [PROXY, "--upstream", "http://127.0.0.1:%d" % emu_port])
        cls.emu_port = emu_port

    @classmethod
    def tearDownClass(cls):
        for proc in (cls.proxy, cls.emu):
            proc.terminate()
            proc.wait()

    def request(self, method, path, body=None, port=None, ctype=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                          timeout=30)
        headers = {}
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                ctype = ctype or "application/json"
            headers["Content-Type"] = ctype or "application/x-ndjson"
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            return res.status, data
        finally:
            conn.close()

    def setUp(self):
        self.request("DELETE", "/_emulator/faults")
        self.request("DELETE", "/t")

    def bulk(self, ids, query=""):
        body = "".join('{"index":{"_index":"t","_id":"%s"}}\n{"n":%s}\n'
                       % (i, i) for i in ids)
        status, data = self.request("POST", "/_bulk" + query, body)
        return status, json.loads(data)

    def emulator_has(self, doc_id):
        status, _ = self.request("GET", "/t/_doc/%s" % doc_id,
                                 port=self.emu_port)
        return status == 200

    def test_passes_requests_through(self):
        status, resp = self.bulk([1, 2])
        self.assertEqual(status, 200)
        self.assertFalse(resp["errors"])
        self.assertTrue(self.emulator_has(1))
        status, data = self.request("GET", "/t/_doc/2")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["_source"], {"n": 2})

    def test_status_fault_never_reaches_the_cluster(self):
        self.request("POST", "/_emulator/faults",
                     {"kind": "status", "status": 503})
        status, resp = self.bulk([3])
        self.assertEqual(status, 503)
        self.assertEqual(resp["error"]["type"], "unavailable_shards_exception")
        self.assertFalse(self.emulator_has(3))
        status, _ = self.bulk([3])
        self.assertEqual(status, 200)

    def test_item_faults_are_answered_in_place_and_merged(self):
        self.request("POST", "/_emulator/faults",
                     [{"kind": "reject", "match": '"n":5', "count": 1},
                      {"kind": "item_status", "status": 429, "count": 1}])
        status, resp = self.bulk(
            [4, 5, 6], "?filter_path=errors,items.*.status,items.*.error,"
            "items.*._id")
        self.assertEqual(status, 200)
        self.assertTrue(resp["errors"])
        got = [(i["index"]["_id"], i["index"]["status"]) for i in resp["items"]]
        # the first item takes the item_status rule, the second is rejected
        self.assertEqual(got, [("4", 429), ("5", 400), ("6", 201)])
        self.assertEqual(resp["items"][0]["index"]["error"]["type"],
                         "es_rejected_execution_exception")
        self.assertEqual(resp["items"][1]["index"]["error"]["type"],
                         "document_parsing_exception")
        self.assertNotIn("_index", resp["items"][2]["index"])
        self.assertFalse(self.emulator_has(4))
        self.assertFalse(self.emulator_has(5))
        self.assertTrue(self.emulator_has(6))

    def test_drop_before_and_after(self):
        self.request("POST", "/_emulator/faults", {"kind": "drop_before"})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.bulk([7])
        self.assertFalse(self.emulator_has(7))
        self.request("POST", "/_emulator/faults", {"kind": "drop_after"})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.bulk([8])
        self.assertTrue(self.emulator_has(8))

    def test_cut_answer_after_the_request_arrived(self):
        self.request("POST", "/_emulator/faults", {"kind": "cut"})
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.bulk([9])
        self.assertTrue(self.emulator_has(9))

    def test_stats_count_what_was_served(self):
        self.request("POST", "/_emulator/faults",
                     {"kind": "status", "status": 429})
        self.bulk([10])
        status, data = self.request("GET", "/_emulator/stats")
        self.assertEqual(status, 200)
        stats = json.loads(data)
        self.assertGreaterEqual(stats["bulk_requests"], 1)
        self.assertGreaterEqual(stats["faults_served"].get("status", 0), 1)

    def test_clear_keeps_the_kinds_asked(self):
        self.request("POST", "/_emulator/faults",
                     [{"kind": "reject", "match": '"n":12'},
                      {"kind": "status", "status": 503, "count": 5}])
        self.request("DELETE", "/_emulator/faults?keep=reject")
        status, resp = self.bulk([11, 12])
        self.assertEqual(status, 200)
        self.assertEqual([i["index"]["status"] for i in resp["items"]],
                         [201, 400])

    def test_bad_rule_is_refused(self):
        status, _ = self.request("POST", "/_emulator/faults",
                                 {"kind": "no-such-fault"})
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
