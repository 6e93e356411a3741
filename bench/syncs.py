"""Records-store benchmark, driven by bench/syncs.sh (see there). Runs with Debian's python3,
which has python3-psycopg (the PostgreSQL baseline); everything else is the standard library.

    python3 bench/syncs.py upstream PORT RECORDS   the local upstream (a child process)
    python3 bench/syncs.py run SERVER BACKEND...   the benchmark; prints the tables
"""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORDS = int(os.environ.get("RECORDS", "100000"))
BATCH = int(os.environ.get("BATCH", "100"))
READ_LIMIT = int(os.environ.get("READ_LIMIT", "1000"))
PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432")
PG_DB = os.environ.get("PG_DB", "nango_bench_syncs")
# PostgreSQL: run ANALYZE on the records table once this many records were stored, as
# autovacuum's autoanalyze would soon after a first sync starts (when autovacuum is on).
ANALYZE_AT = int(os.environ.get("ANALYZE_AT", "-1"))
SYNC = "records-bench"
KEY_INTEGRATION, CONN, BASE_CONN = "acme-fn", "c1", "baseline"

# ---- the records: deterministic, about 1 KB of JSON each ------------------------------------

_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
          "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
          "exercitation ullamco laboris nisi aliquip ex ea commodo consequat ").split()
_TEXT = " ".join(_WORDS * 20)


def record(i):
    off = (i * 7) % 101
    return {"id": f"r{i:07d}", "name": f"Record {i}", "email": f"user{i}@example.com", "n": i,
            "active": i % 2 == 0, "body": _TEXT[off:off + 900]}


def data(i):
    """The record's JSON as the server stores it (serde_json, compact, keys in order)."""
    return json.dumps(record(i), separators=(",", ":"))


SCHEMA = {"type": "object",
          "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"},
                         "n": {"type": "number"}, "active": {"type": "boolean"}, "body": {"type": "string"}},
          "required": ["id", "name", "email", "n", "active", "body"], "additionalProperties": False}

BUNDLE = """"use strict";
const z = require('zod');
const Rec = z.object({ id: z.string(), name: z.string(), email: z.string(), n: z.number(), active: z.boolean(), body: z.string() });
module.exports.default = {
  type: 'sync',
  models: { Rec },
  exec: async (nango) => {
    let cursor = '0';
    while (cursor !== null && cursor !== undefined) {
      const res = await nango.get({ endpoint: '/page', params: { cursor, limit: '%d' } });
      await nango.batchSave(res.data.records, 'Rec');
      cursor = res.data.next;
    }
  }
};
""" % BATCH


# ---- the upstream ---------------------------------------------------------------------------

def upstream(port, total, batch):
    def page(start, limit):
        end = min(start + limit, total)
        return ('{"records":[' + ",".join(data(i) for i in range(start, end)) + '],"next":'
                + (f'"{end}"' if end < total else "null") + "}").encode()

    # Every page the sync asks for, built before listening: serving one then costs a write.
    pages = {start: page(start, batch) for start in range(0, total, batch)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            start = int(q.get("cursor", ["0"])[0])
            limit = int(q.get("limit", ["100"])[0])
            # Logged first: the driver follows this log, and a line written after the answer
            # could land after the driver truncated the file.
            print(f"{time.time():.4f} {start}", flush=True)
            body = pages.get(start) if limit == batch else None
            body = body or page(start, limit)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


# ---- helpers --------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def profile(pid, name):
    """With PROFILE=<dir>: perf record (DWARF call graphs) of the server for one phase; finish() stops it."""
    where = os.environ.get("PROFILE")
    if not where:
        return None
    os.makedirs(where, exist_ok=True)
    p = subprocess.Popen(["perf", "record", "-F", "299", "--call-graph", "dwarf,16384", "-p", str(pid), "-o", os.path.join(where, f"{name}.data")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def finish(p):
    if p:
        p.send_signal(signal.SIGINT)
        p.wait()


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """The server's RSS every 50 ms: the peak since the last reset."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, rss_kb(self.pid))
            except OSError:
                return
            time.sleep(0.05)

    def reset(self):
        self.peak = rss_kb(self.pid)


class Api:
    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.key = key

    def call(self, method, path, body=None, headers=None, raw=False):
        h = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body).encode() if not isinstance(body, bytes) else body
        h.update(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        out = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} answered {r.status}: {out[:2000]!r}")
        return out if raw else (json.loads(out) if out else None)


def deploy_body():
    fixture = json.load(open("tests/functions/fixtures/deploy-body.json"))
    flow = next(f for f in fixture["flowConfigs"] if f["syncName"] == "items")
    flow = json.loads(json.dumps(flow))
    flow.update({"syncName": SYNC, "models": ["Rec"], "runs": "every day", "auto_start": False, "sync_type": "full",
                 "track_deletes": False, "version": "1.0.0",
                 "metadata": {"description": "records-store benchmark", "scopes": []},
                 "endpoints": [{"method": "GET", "path": "/records-bench", "group": "Bench"}],
                 "models_json_schema": {"definitions": {"Rec": SCHEMA}},
                 "fileBody": {"js": BUNDLE, "ts": "// hand-written bundle: bench/syncs.py"}})
    flow.pop("input", None)
    body = {k: v for k, v in fixture.items() if k != "flowConfigs"}
    body["flowConfigs"] = [flow]
    return body


def iso_ms(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


# ---- the baseline: one prepared multi-row INSERT per batch, straight into the database -----

COLUMNS = "connection_row, model, external_id, data, data_hash, created_at, updated_at, deleted_at, seen_run"
UPSERT = (" ON CONFLICT (connection_row, model, external_id) DO UPDATE SET data = excluded.data, "
          "data_hash = excluded.data_hash, created_at = excluded.created_at, updated_at = excluded.updated_at, "
          "deleted_at = excluded.deleted_at, seen_run = excluded.seen_run")


def batch_params(row, start, end):
    now = int(time.time() * 1000)
    params = []
    for i in range(start, end):
        d = data(i)
        params += [row, "Rec", f"r{i:07d}", d, hashlib.md5(d.encode()).hexdigest(), now, now, None, 1]
    return params


def baseline(backend, db):
    """Seconds spent in the INSERTs and their commits (building the rows is not counted)."""
    spent = 0.0
    if backend == "sqlite":
        import sqlite3
        c = sqlite3.connect(db, timeout=10)
        # As the server's connections (sqlx): WAL (already set on the file), foreign keys on,
        # synchronous FULL (SQLite's default, which sqlx keeps).
        c.execute("PRAGMA foreign_keys = ON")
        c.execute("PRAGMA synchronous = FULL")
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = c.execute("SELECT id FROM connections WHERE connection_id = ?", (BASE_CONN,)).fetchone()[0]
        sql = f"INSERT INTO records ({COLUMNS}) VALUES " + ",".join(["(?,?,?,?,?,?,?,?,?)"] * BATCH) + UPSERT
        for start in range(0, RECORDS, BATCH):
            end = min(start + BATCH, RECORDS)
            p = batch_params(row, start, end)
            s = sql if end - start == BATCH else (
                f"INSERT INTO records ({COLUMNS}) VALUES " + ",".join(["(?,?,?,?,?,?,?,?,?)"] * (end - start)) + UPSERT)
            t = time.perf_counter()
            c.execute(s, p)  # the sqlite3 module keeps the prepared statement in its cache
            c.commit()
            spent += time.perf_counter() - t
        n = c.execute("SELECT count(*) FROM records WHERE connection_row = ?", (row,)).fetchone()[0]
        c.close()
    else:
        import psycopg
        c = psycopg.connect(f"{PG_URL}/{PG_DB}")
        row = c.execute("SELECT id FROM connections WHERE connection_id = %s", (BASE_CONN,)).fetchone()[0]
        c.commit()
        for start in range(0, RECORDS, BATCH):
            end = min(start + BATCH, RECORDS)
            p = batch_params(row, start, end)
            sql = f"INSERT INTO records ({COLUMNS}) VALUES " + ",".join(
                ["(%s,%s,%s,%s,%s,%s,%s,%s,%s)"] * (end - start)) + UPSERT
            t = time.perf_counter()
            c.execute(sql, p, prepare=True)  # a server-side prepared statement, reused
            c.commit()
            spent += time.perf_counter() - t
        n = c.execute("SELECT count(*) FROM records WHERE connection_row = %s", (row,)).fetchone()[0]
        c.close()
    assert n == RECORDS, f"baseline stored {n} rows"
    return spent


def empty_records(backend, db):
    """Removes the baseline's rows so that the sync writes into an empty table as it did."""
    if backend == "sqlite":
        import sqlite3
        c = sqlite3.connect(db, timeout=10, isolation_level=None)
        c.execute("DELETE FROM records")
        c.execute("VACUUM")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
    else:
        import psycopg
        with psycopg.connect(f"{PG_URL}/{PG_DB}", autocommit=True) as c:
            c.execute("TRUNCATE records")
            c.execute("VACUUM ANALYZE records")
            c.execute("CHECKPOINT")


def stored_sample(backend, db, i):
    if backend == "sqlite":
        import sqlite3
        c = sqlite3.connect(db, timeout=10)
        v = c.execute("SELECT data FROM records WHERE external_id = ?", (f"r{i:07d}",)).fetchone()
        c.close()
    else:
        import psycopg
        with psycopg.connect(f"{PG_URL}/{PG_DB}") as c:
            v = c.execute("SELECT data FROM records WHERE external_id = %s", (f"r{i:07d}",)).fetchone()
    return v[0] if v else None


# ---- one backend ----------------------------------------------------------------------------

def run_backend(server, backend, work):
    out = {"backend": backend}
    data_dir = os.path.join(work, f"data-{backend}")
    port, up_port = free_port(), free_port()
    env = dict(os.environ, NANGO_DATA_DIR=data_dir, SERVER_PORT=str(port), NANGO_BIND_ADDRESS="127.0.0.1",
               RUST_LOG="warn", DEFAULT_RATE_LIMIT_PER_MIN="1000000000",
               NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}')
    db = os.path.join(data_dir, "nango.db")
    if backend == "postgres":
        subprocess.run(["psql", f"{PG_URL}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{PG_DB}"'], check=True)
        subprocess.run(["psql", f"{PG_URL}/postgres", "-qc", f'CREATE DATABASE "{PG_DB}"'], check=True)
        env["NANGO_DATABASE_URL"] = f"{PG_URL.replace('postgresql://', 'postgres://')}/{PG_DB}"
        env["NANGO_ENCRYPTION_KEY"] = base64.b64encode(os.urandom(32)).decode()
        av = subprocess.run(["psql", f"{PG_URL}/postgres", "-Atc", "SHOW autovacuum"], capture_output=True, text=True)
        out["backend"] = f"postgres (autovacuum {av.stdout.strip()}" + (
            f", ANALYZE at {ANALYZE_AT // 1000}k)" if ANALYZE_AT >= 0 else ")")
    log = open(os.path.join(work, f"server-{backend}.log"), "w")
    srv = subprocess.Popen([server], env=env, stdout=log, stderr=subprocess.STDOUT)
    up_log_path = os.path.join(work, f"upstream-{backend}.log")
    up = subprocess.Popen([sys.executable, __file__, "upstream", str(up_port), str(RECORDS)],
                          stdout=open(up_log_path, "a"))  # appends: truncating it later is safe
    try:
        for _ in range(400):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
                socket.create_connection(("127.0.0.1", up_port), timeout=1).close()
                break
            except OSError:
                if srv.poll() is not None:
                    raise RuntimeError(f"the server exited; see {log.name}")
                time.sleep(0.05)
        time.sleep(0.2)
        key = open(os.path.join(data_dir, "secret-key-dev")).read().strip()
        api = Api(port, key)
        api.call("POST", "/integrations", {"provider": "private-api-generic", "unique_key": KEY_INTEGRATION,
                                           "integration_config": {"baseUrl": f"http://127.0.0.1:{up_port}",
                                                                  "keyName": "x-api-key"}})
        for c in (CONN, BASE_CONN):
            api.call("POST", "/connections", {"provider_config_key": KEY_INTEGRATION, "connection_id": c,
                                              "credentials": {"type": "API_KEY", "apiKey": "bench-key"}})
        api.call("POST", "/sync/deploy", deploy_body())
        sampler = Sampler(srv.pid)
        sampler.start()
        out["rss_idle"] = rss_kb(srv.pid)

        # The upstream alone: every page, straight, by one client (what the sync's fetching costs
        # the upstream and the loopback).
        u = http.client.HTTPConnection("127.0.0.1", up_port)
        t = time.perf_counter()
        cursor = "0"
        while cursor is not None:
            u.request("GET", f"/page?cursor={cursor}&limit={BATCH}")
            cursor = json.loads(u.getresponse().read())["next"]
        out["upstream_s"] = time.perf_counter() - t
        u.close()
        open(up_log_path, "w").close()  # only the sync's requests from here on (the file is appended to)

        # The sync.
        headers = {"Connection-Id": CONN, "Provider-Config-Key": KEY_INTEGRATION}
        status_path = f"/sync/status?syncs={SYNC}&provider_config_key={KEY_INTEGRATION}&connection_id={CONN}"
        sampler.reset()
        milestones = {RECORDS // 10: None, RECORDS // 2: None}
        perf = profile(srv.pid, f"sync-{backend}")
        t0, cpu0 = time.time(), cpu_s(srv.pid)
        api.call("POST", "/sync/trigger", {"syncs": [SYNC], "provider_config_key": KEY_INTEGRATION,
                                           "connection_id": CONN, "opts": {"reset": True, "emptyCache": True}})
        # Follow the upstream's log (no status polling while the sync writes: the status
        # counts the records, a scan that would compete with the sync).
        first_page, page_times = None, []
        with open(up_log_path) as f:
            partial = ""
            while True:
                line = partial + f.readline()
                if not line.endswith("\n"):  # nothing new, or a line not yet written whole
                    partial = line
                    if srv.poll() is not None:
                        raise RuntimeError("the server exited")
                    time.sleep(0.01)
                    continue
                partial = ""
                ts, cur = line.split()
                cur = int(cur)
                first_page = first_page or float(ts)
                page_times.append(float(ts))
                if backend == "postgres" and cur == ANALYZE_AT:
                    import psycopg
                    with psycopg.connect(f"{PG_URL}/{PG_DB}", autocommit=True) as c:
                        c.execute("ANALYZE records")
                if cur in milestones:  # the page after RECORDS // 10 (…) records were stored
                    milestones[cur] = rss_kb(srv.pid)
                if cur >= RECORDS - BATCH:
                    break
        deadline = time.time() + 1800
        while True:
            # The schedule stays PAUSED (auto_start is off); the run's outcome is
            # latestExecutionStatus, its end finishedAt.
            st = api.call("GET", status_path)["syncs"][0]
            if (st["status"] != "RUNNING" and st.get("latestExecutionStatus") in ("SUCCESS", "STOPPED")
                    and st.get("finishedAt") and iso_ms(st["finishedAt"]) >= t0):
                break
            if time.time() > deadline:
                raise RuntimeError(f"the sync did not finish: {json.dumps(st)}")
            time.sleep(0.05)
        if st["latestExecutionStatus"] != "SUCCESS" or st["recordCount"].get("Rec") != RECORDS:
            raise RuntimeError(f"the sync did not store every record: {json.dumps(st)}")
        out["sync_s"] = iso_ms(st["finishedAt"]) - t0
        out["sync_cpu"] = cpu_s(srv.pid) - cpu0
        finish(perf)
        out["startup_s"] = first_page - t0
        # Time per batch (one page fetched and saved) over the first and the last tenth of the
        # run: equal when the cost of a batch does not grow with the records already stored.
        tenth = max(len(page_times) // 10, 2)
        out["batch_ms"] = [(page_times[tenth - 1] - page_times[0]) / (tenth - 1) * 1000,
                           (page_times[-1] - page_times[-tenth]) / (tenth - 1) * 1000]
        out["rss_store"] = [milestones[RECORDS // 10], milestones[RECORDS // 2], rss_kb(srv.pid)]
        out["rss_store_peak"] = max([sampler.peak] + out["rss_store"])
        same = all(stored_sample(backend, db, i) == data(i) for i in (0, RECORDS // 2, RECORDS - 1))
        if not same:
            raise RuntimeError("the sync stored other JSON than the baseline wrote")

        # Reading: GET /records at READ_LIMIT per page, until next_cursor is null.
        sampler.reset()
        read_marks, read_rss = [RECORDS // 10, RECORDS // 2], []
        n, cursor, read_times = 0, None, []
        perf = profile(srv.pid, f"read-{backend}")
        t, cpu0 = time.perf_counter(), cpu_s(srv.pid)
        while True:
            path = f"/records?model=Rec&limit={READ_LIMIT}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            tp = time.perf_counter()
            page = api.call("GET", path, headers=headers, raw=True)
            read_times.append(time.perf_counter() - tp)
            n += page.count(b'"_nango_metadata"')
            m = re.search(rb'"next_cursor":(null|"([^"]*)")', page)
            cursor = m.group(2).decode() if m.group(2) else None
            if read_marks and n >= read_marks[0]:
                read_marks.pop(0)
                read_rss.append(rss_kb(srv.pid))
            if cursor is None:
                break
        out["read_s"] = time.perf_counter() - t
        out["read_cpu"] = cpu_s(srv.pid) - cpu0
        tenth = max(len(read_times) // 10, 1)
        out["page_ms"] = [sum(read_times[:tenth]) / tenth * 1000, sum(read_times[-tenth:]) / tenth * 1000]
        finish(perf)
        if n != RECORDS:
            raise RuntimeError(f"GET /records answered {n} records, not {RECORDS}")
        out["rss_read"] = read_rss + [rss_kb(srv.pid)]
        out["rss_read_peak"] = max([sampler.peak] + out["rss_read"])
        time.sleep(1)
        out["rss_after"] = rss_kb(srv.pid)
        sampler.stop = True

        # The baseline, into the same table emptied again: after the sync, so that the sync
        # meets the database as a first sync does (a table never analyzed), and the
        # baseline, which reads nothing, a table as empty as the sync's was.
        empty_records(backend, db)
        time.sleep(1)
        out["baseline_s"] = baseline(backend, db if backend == "sqlite" else None)
        return out
    finally:
        up.terminate()
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
        if backend == "postgres" and not os.environ.get("KEEP_DB"):
            subprocess.run(["psql", f"{PG_URL}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{PG_DB}"'])


def mb(kb):
    return f"{kb / 1024:.1f}"


def main():
    server, backends = sys.argv[2], sys.argv[3:]
    commit = os.environ.get("COMMIT") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="bench-syncs-")
    results = []
    for b in backends:
        print(f"{b}: sync of {RECORDS} records, read, baseline", file=sys.stderr, flush=True)
        try:
            results.append(run_backend(server, b, work))
        except Exception:
            print(f"failed; the logs are in {work}", file=sys.stderr)
            raise
    if os.environ.get("KEEP_DB"):
        print(f"kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"Records-store benchmark (bash bench/syncs.sh at {commit}; {RECORDS} records of "
          f"{len(data(RECORDS - 1))} bytes, batches of {BATCH}, read at limit {READ_LIMIT}; this machine)")
    print()
    print("| backend | stored rec/s | baseline rec/s | ratio | read rec/s | RSS peak |")
    print("|---|---|---|---|---|---|")
    for r in results:
        store, base, read = RECORDS / r["sync_s"], RECORDS / r["baseline_s"], RECORDS / r["read_s"]
        peak = max(r["rss_store_peak"], r["rss_read_peak"])
        print(f"| {r['backend']} | {store:,.0f} | {base:,.0f} | {store / base:.2f} | {read:,.0f} | {mb(peak)} MB |")
    print()
    print("| backend | upstream alone | sync: trigger to first page | sync: whole run (server CPU) "
          "| ms per batch, first / last tenth | baseline | read (server CPU) | ms per page read, first / last tenth |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['upstream_s']:.2f} s | {r['startup_s']:.2f} s | {r['sync_s']:.2f} s "
              f"({r['sync_cpu']:.2f} s) | {r['batch_ms'][0]:.1f} / {r['batch_ms'][1]:.1f} | {r['baseline_s']:.2f} s "
              f"| {r['read_s']:.2f} s ({r['read_cpu']:.2f} s) | {r['page_ms'][0]:.1f} / {r['page_ms'][1]:.1f} |")
    print()
    a, b, c = (f"{n / 1000:g}k" for n in (RECORDS // 10, RECORDS // 2, RECORDS))
    print(f"| backend | RSS idle | stored {a} | stored {b} | stored {c} | peak storing "
          f"| read {a} | read {b} | read {c} | peak reading | after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s, rd = r["rss_store"], r["rss_read"]
        print(f"| {r['backend']} | {mb(r['rss_idle'])} MB | {mb(s[0])} | {mb(s[1])} | {mb(s[2])} | "
              f"{mb(r['rss_store_peak'])} | {mb(rd[0])} | {mb(rd[1])} | {mb(rd[2])} | {mb(r['rss_read_peak'])} "
              f"| {mb(r['rss_after'])} MB |")
    print()
    for r in results:
        store, base, read = RECORDS / r["sync_s"], RECORDS / r["baseline_s"], RECORDS / r["read_s"]
        print(f"- {r['backend']}: storing at {store / base:.0%} of the baseline (target >= 50%): "
              f"{'met' if store >= 0.5 * base else 'MISSED'}; reading {read:,.0f} records/s (target >= 50,000): "
              f"{'met' if read >= 50_000 else 'MISSED'}")


if __name__ == "__main__":
    if sys.argv[1] == "upstream":
        upstream(int(sys.argv[2]), int(sys.argv[3]), BATCH)
    else:
        main()
