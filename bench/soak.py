#!/usr/bin/env python3
"""Soak test of `simkyc serve` (issue 16): bounded in time, loopback only.

Starts `simkyc serve` on 127.0.0.1 with a fresh store, then CLIENTS threads send a mix of good and
bad requests for SECONDS: number registrations on verified sessions (201), full verifications
(session, consent, document, live), /healthz, and wrong ones (malformed JSON, no API key, bad
phone number, unknown session, a declared body over the limit, a POST without a length, a
connection left with unfinished headers).  Every INTERVAL seconds it prints throughput, p50/p99
latency, status counts and the server's RSS.  At the end it checks that every acknowledged
registration (201) is in the store, and exits 1 on any 5xx, transport error, lost registration,
server crash, or RSS growth after warm-up above --max-growth-mb.

  python3 bench/soak.py [--seconds 600] [--clients 4] [--interval 30] [--json FILE]
"""
import argparse
import base64
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))]


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lat = []          # (kind, ms) since the last report
        self.status = {}       # status -> count, whole run
        self.kinds = {}        # kind -> count, whole run
        self.fivexx = []       # first few 5xx / transport errors
        self.done = 0

    def add(self, kind, status, ms, body=""):
        with self.lock:
            self.lat.append(ms)
            self.status[status] = self.status.get(status, 0) + 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            self.done += 1
            if (status >= 500 or status <= 0) and len(self.fivexx) < 20:
                self.fivexx.append(f"{kind} {status} {body[:200]}")

    def take(self):
        with self.lock:
            lat, self.lat = self.lat, []
            return lat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--interval", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=None, help="seconds before the RSS baseline (default: 1/5 of the run)")
    ap.add_argument("--max-growth-mb", type=float, default=64, help="allowed RSS growth after warm-up")
    ap.add_argument("--simkyc", default=os.path.join(ROOT, "build", "simkyc"))
    ap.add_argument("--models", default=os.path.join(ROOT, "models"))
    ap.add_argument("--json", default="", help="also write the report to this file")
    a = ap.parse_args()
    warmup = a.warmup if a.warmup is not None else a.seconds / 5

    work = tempfile.mkdtemp(prefix="simkyc-soak-")
    store = os.path.join(work, "simkyc.db")
    with open(os.path.join(work, "config.json"), "w") as f:
        json.dump({"channel_fmr": {"counter": 1e-3, "online": 1e-4}, "review_fmr": 1e-2, "number_limit": 1000000,
                   "rate_max_failures": 1000000}, f)
    log = open(os.path.join(work, "server.log"), "w")
    srv = subprocess.Popen([a.simkyc, "--models", a.models, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
                            "--store", store, "--config", os.path.join(work, "config.json"), "--threads", "4",
                            "--web", ""], stdout=subprocess.PIPE, stderr=log, text=True)
    import atexit
    atexit.register(lambda: srv.poll() is None and srv.kill())   # never leave the server behind
    line = srv.stdout.readline()
    if "127.0.0.1:" not in line:
        print("soak: server did not start: " + line, file=sys.stderr)
        return 1
    port = int(line.split("127.0.0.1:")[1].split()[0].strip("/"))
    key = json.loads(subprocess.run([a.simkyc, "--models", a.models, "keys", "create", "--store", store,
                                     "--operator", "soak", "--role", "clerk", "--json"],
                                    check=True, capture_output=True, text=True).stdout)["key"]

    def b64(path):
        with open(path, "rb") as f:
            return base64.b64encode(f.read()).decode()
    id_photo = b64(os.path.join(ROOT, "bench", "data", "id-640x480.jpg"))
    live_photo = b64(os.path.join(ROOT, "bench", "data", "live-640x480.jpg"))
    auth = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}

    def request(conn, method, path, body=None, headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or auth)
        r = conn.getresponse()
        text = r.read().decode(errors="replace")
        return r.status, text

    def verify(conn):
        st, t = request(conn, "POST", "/v1/sessions", {"channel": "counter", "device_id": "soak"})
        if st != 201:
            return None, st, t
        sid = json.loads(t)["session_id"]
        request(conn, "POST", f"/v1/sessions/{sid}/consent", {"accepted": True, "version": "2026-01"})
        st, t = request(conn, "POST", f"/v1/sessions/{sid}/document", {"id_number": "11010519491231002X", "portrait": id_photo})
        if st != 200:
            return None, st, t
        st, t = request(conn, "POST", f"/v1/sessions/{sid}/live", {"image": live_photo})
        return (sid if st == 200 and json.loads(t).get("decision") == "PASS" else None), st, t

    conn0 = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sid, st, t = verify(conn0)
    if not sid:
        print(f"soak: the bench photos did not verify: {st} {t}", file=sys.stderr)
        return 1

    stats = Stats()
    acknowledged = set()
    ack_lock = threading.Lock()
    stop = threading.Event()

    def raw(payload, expect_reply=True):
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        try:
            s.sendall(payload)
            if not expect_reply:
                return s
            reply = s.recv(4096).decode(errors="replace")
            return int(reply[9:12]) if reply.startswith("HTTP/1.1 ") else 0
        finally:
            if expect_reply:
                s.close()

    def client(n):
        rnd = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        held = []
        while not stop.is_set():
            i += 1
            r = rnd.random()
            t0 = time.monotonic()
            kind, status, body = "", 0, ""
            try:
                if r < 0.45:
                    kind = "register"
                    phone = f"+86137{n:02d}{i:06d}"
                    status, body = request(conn, "POST", f"/v1/sessions/{sid}/registrations", {"phone_number": phone})
                    if status == 201:
                        with ack_lock:
                            acknowledged.add(phone)
                elif r < 0.60:
                    kind = "healthz"
                    status, body = request(conn, "GET", "/healthz", headers={})
                elif r < 0.63:
                    kind = "verify"
                    _, status, body = verify(conn)
                elif r < 0.70:
                    kind = "bad_json"
                    status, body = request(conn, "POST", "/v1/sessions", b"{\"channel\": ", auth)
                elif r < 0.75:
                    kind = "no_key"
                    status, body = request(conn, "POST", "/v1/sessions", {"channel": "counter"},
                                           {"Content-Type": "application/json"})
                elif r < 0.82:
                    kind = "bad_phone"
                    status, body = request(conn, "POST", f"/v1/sessions/{sid}/registrations", {"phone_number": "12ab"})
                elif r < 0.88:
                    kind = "unknown_session"
                    status, body = request(conn, "GET", "/v1/sessions/s_doesnotexist", headers=auth)
                elif r < 0.92:
                    kind = "too_large"
                    status = raw(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 999999999\r\n\r\n{")
                elif r < 0.96:
                    kind = "no_length"
                    status = raw(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n")
                else:
                    kind = "stalled"
                    held.append(raw(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Ty", expect_reply=False))
                    if len(held) > 4:
                        held.pop(0).close()
                    status = 1   # not a response: the server closes it at its header deadline
            except (OSError, http.client.HTTPException) as e:
                status, body = -1, repr(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            if kind != "stalled":
                stats.add(kind, status, (time.monotonic() - t0) * 1000.0, body)
        for s in held:
            s.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(a.clients)]
    start = time.monotonic()
    for th in threads:
        th.start()
    samples = []
    last_done = 0
    next_report = start + a.interval
    print(f"soak: {a.clients} clients for {a.seconds:.0f} s against 127.0.0.1:{port} (pid {srv.pid})", flush=True)
    print(f"{'t_s':>6} {'req/s':>7} {'p50_ms':>8} {'p99_ms':>8} {'rss_mb':>7} {'5xx':>4}", flush=True)
    while time.monotonic() - start < a.seconds and srv.poll() is None:
        time.sleep(min(1.0, max(0.0, next_report - time.monotonic())))
        if time.monotonic() >= next_report:
            lat = stats.take()
            done = stats.done
            el = time.monotonic() - start
            rss = rss_mb(srv.pid)
            five = sum(c for s, c in stats.status.items() if s >= 500 or s <= 0)
            row = {"t_s": round(el), "req_per_s": round((done - last_done) / a.interval, 1),
                   "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1), "rss_mb": round(rss or 0, 1),
                   "errors_5xx_or_transport": five}
            samples.append(row)
            last_done = done
            next_report += a.interval
            print(f"{row['t_s']:>6} {row['req_per_s']:>7} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['rss_mb']:>7} {five:>4}",
                  flush=True)
    stop.set()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - start
    crashed = srv.poll() is not None

    # Every acknowledged registration is in the store.
    lost = None
    if not crashed:
        conn0.close()   # idle for the whole run: the server closed it long ago (keep-alive timeout)
        conn0 = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        st, t = request(conn0, "GET", f"/v1/sessions/{sid}/registrations", headers=auth)
        stored = {n["phone_number"] for n in json.loads(t)["numbers"]} if st == 200 else set()
        lost = len(acknowledged - stored)
        srv.terminate()
        srv.wait(timeout=30)
    base = [s["rss_mb"] for s in samples if s["t_s"] >= warmup]
    growth = (max(base) - base[0]) if len(base) >= 2 else 0.0
    five = sum(c for s, c in stats.status.items() if s >= 500 or s <= 0)
    report = {"seconds": round(elapsed, 1), "clients": a.clients, "requests": stats.done,
              "req_per_s": round(stats.done / elapsed, 1), "by_kind": stats.kinds,
              "by_status": {str(k): v for k, v in sorted(stats.status.items())}, "errors_5xx_or_transport": five,
              "first_errors": stats.fivexx, "acknowledged_registrations": len(acknowledged), "lost_registrations": lost,
              "server_crashed": crashed, "rss_growth_after_warmup_mb": round(growth, 1), "samples": samples}
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    ok = five == 0 and not crashed and lost == 0 and growth <= a.max_growth_mb
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"soak: FAILED (server log in {work}/server.log)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
