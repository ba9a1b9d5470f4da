#!/usr/bin/env python3
"""The proof under load and fault (see benches/proof.sh, which runs this).

Three instances on one PostgreSQL database take a mixed load — reads,
interactions, orders, feedback, loyalty redemptions — from client threads.
Every write carries an Idempotency-Key and a marker naming it; a write that
fails (refused, reset, timed out, 5xx) is sent again with the same key to the
next instance until it gets a definite answer. Faults come in turn; after
the run the database is searched for every marker: an acknowledged write
that is missing is *lost*, a marker found twice is a *duplicate*.

Standard library only. Modes:
  faults   the fault sequence (SIGKILL, SIGTERM, PostgreSQL restart, PostgreSQL
           stopped for 10 s), then cold starts; writes benches/PROOF.md parts
  smoke    60 s: load, SIGKILL of one instance, restart; exits 1 on a lost or
           duplicated write or a 5xx other than 503
  soak     one instance, all jobs on, for --minutes: RSS at start and end,
           p99 and errors per minute (--database postgres|sqlite)
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

SECRET = "proof-secret-proof-secret-proof-secret-0123"
# Below the server's keep-alive timeout (5 s).
IDLE_REUSE_SECS = 4.0
BASE_PORT = 18300


def now():
    return time.monotonic()


class Instance:
    """One server process, restartable."""

    def __init__(self, binary, port, env, log_dir):
        self.binary, self.port, self.env = binary, port, env
        self.log_path = os.path.join(log_dir, f"instance_{port}.log")
        self.proc = None

    def start(self):
        env = dict(os.environ, **self.env, RAPPORT__SERVER__ADDR=f"127.0.0.1:{self.port}")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=log, stderr=log)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=60):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def ready(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/readyz")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    def wait_ready(self, timeout=60):
        started = now()
        while now() - started < timeout:
            if self.ready():
                return now() - started
            if self.proc.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None


class Attempt:
    __slots__ = ("at", "port", "outcome", "ms")

    def __init__(self, at, port, outcome, ms):
        self.at, self.port, self.outcome, self.ms = at, port, outcome, ms


class Request:
    __slots__ = ("kind", "key", "started", "ms", "final", "attempts")

    def __init__(self, kind, key, started):
        self.kind, self.key, self.started = kind, key, started
        self.ms, self.final, self.attempts = None, None, []


class Load:
    """Client threads sending the mix to every instance in turn."""

    def __init__(self, ports, token, customers, workers):
        self.ports, self.token, self.customers = ports, token, customers
        self.workers = workers
        self.stop = threading.Event()
        self.requests = []
        self.lock = threading.Lock()
        self.threads = []
        # Each thread's last consistency token, sent with its reads.
        self.tokens = {}

    def start(self):
        for i in range(self.workers):
            t = threading.Thread(target=self.worker, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)

    def worker(self, n):
        rnd = random.Random(n)
        conns = {}
        turn = n
        while not self.stop.is_set():
            kind = rnd.choices(
                ["read_list", "read_360", "report", "interaction", "order", "feedback", "redeem"],
                weights=[20, 20, 10, 15, 15, 10, 10],
            )[0]
            customer = rnd.choice(self.customers)
            key = str(uuid.uuid4())
            marker = f"proof {key}"
            if kind == "read_list":
                method, path, body = "GET", "/api/v1/customers?limit=20", None
            elif kind == "read_360":
                method, path, body = "GET", f"/api/v1/customers/{customer}/overview", None
            elif kind == "report":
                # On the replica, once it has this worker's last write.
                method, path, body = "GET", "/api/v1/analytics/feedback", None
            elif kind == "interaction":
                method, path = "POST", f"/api/v1/customers/{customer}/interactions"
                body = {"channel": "phone", "direction": "outbound", "summary": marker}
            elif kind == "order":
                method, path = "POST", "/api/v1/orders"
                body = {"customer_id": customer, "amount_minor": rnd.randint(100, 50000), "currency": "EUR",
                        "external_id": key}
            elif kind == "feedback":
                method, path = "POST", "/api/v1/feedback"
                body = {"customer_id": customer, "channel": "email", "kind": "suggestion", "subject": marker,
                        "body": "from the proof"}
            else:
                method, path = "POST", f"/api/v1/customers/{customer}/loyalty/redeem"
                body = {"points": 1, "note": marker}
            req = Request(kind, key if method == "POST" else None, now())
            turn = self.send(conns, turn, method, path, body, key, req)
            with self.lock:
                self.requests.append(req)

    def send(self, conns, turn, method, path, body, key, req):
        """Sends until a definite answer (2xx or 4xx), moving to the next
        instance after each failure; gives up after 120 s."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"authorization": f"Bearer {self.token}"}
        token = self.tokens.get(threading.get_ident())
        if token and method == "GET":
            headers["consistency-token"] = token
        if payload is not None:
            headers["content-type"] = "application/json"
            headers["idempotency-key"] = key
        backoff = 0.05
        while True:
            port = self.ports[turn % len(self.ports)]
            turn += 1
            t0 = now()
            outcome, status = self.attempt(conns, port, method, path, payload, headers)
            req.attempts.append(Attempt(t0, port, outcome, (now() - t0) * 1000))
            if outcome == "ok" or outcome == "4xx":
                req.final, req.ms = outcome, (now() - req.started) * 1000
                return turn
            if now() - req.started > 120:
                req.final, req.ms = "gave_up", (now() - req.started) * 1000
                return turn
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def attempt(self, conns, port, method, path, payload, headers):
        conn = conns.get(port)
        # As a well-set client does: a connection idle for longer than the
        # server keeps it (5 s) is not reused — it may be closing just as the
        # request goes out, and the server would never see the request.
        if conn is not None and now() - conn.last_used > IDLE_REUSE_SECS:
            conn.close()
            conn = None
        if conn is None:
            conn = conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.last_used = now()
        try:
            conn.request(method, path, body=payload, headers=headers)
            res = conn.getresponse()
            data = res.read()
            conn.last_used = now()
            token = res.getheader("consistency-token")
            if token:
                self.tokens[threading.get_ident()] = token
            if res.will_close:
                conn.close()
                conns.pop(port, None)
        except ConnectionRefusedError:
            conns.pop(port, None)
            return "refused", None
        except (socket.timeout, TimeoutError):
            conn.close()
            conns.pop(port, None)
            return "timeout", None
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                http.client.BadStatusLine, http.client.IncompleteRead) as e:
            if os.environ.get("PROOF_DEBUG"):
                sys.stderr.write(f"reset {now():.2f} {method} {path}: {e!r}\n")
            conn.close()
            conns.pop(port, None)
            return "reset", None
        except OSError:
            conn.close()
            conns.pop(port, None)
            return "refused", None
        s = res.status
        if 200 <= s < 300:
            return "ok", s
        if s == 503:
            return "503", s
        if s == 409 and b"Idempotency-Key" in data:
            return "in_progress", s
        if s == 429:
            return "429", s
        if s >= 500:
            sys.stderr.write(f"{s} {method} {path}: {data[:300]!r}\n")
            return "5xx", s
        if s != 409:
            sys.stderr.write(f"{s} {method} {path}: {data[:300]!r}\n")
        return "4xx", s


def p99(values):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))]


def fmt_ms(v):
    return "—" if v is None else f"{v:.0f}"


def api(port, token, method, path, body=None, key=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    if key:
        headers["idempotency-key"] = key
    c.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    res = c.getresponse()
    data = res.read()
    c.close()
    if res.status >= 300:
        raise RuntimeError(f"{method} {path}: {res.status} {data[:300]!r}")
    return json.loads(data) if data else None


def mint_token(binary, env):
    out = subprocess.run([binary, "token", "--role", "admin", "--sub", "proof", "--ttl", "7d"],
                         env=dict(os.environ, **env), capture_output=True, text=True, check=True)
    return out.stdout.strip()


def prepare(port, token, n):
    """Customers with points to redeem."""
    api(port, token, "PUT", "/api/v1/loyalty/program", {"enabled": True, "min_redemption": 1})
    ids = []
    for i in range(n):
        c = api(port, token, "POST", "/api/v1/customers", {"name": f"Proof customer {i}"})
        ids.append(c["id"])
        api(port, token, "POST", f"/api/v1/customers/{c['id']}/loyalty/earn",
            {"points": 1_000_000, "reason_code": "proof"}, key=str(uuid.uuid4()))
    return ids


MARKERS = {
    "interaction": ("interaction", "summary", "proof "),
    "order": ("customer_order", "external_id", ""),
    "feedback": ("feedback_item", "subject", "proof "),
    "redeem": ("loyalty_entry", "note", "proof "),
}


def stored_counts(query):
    """{(kind, key): rows} for every marker in the database."""
    found = {}
    for kind, (table, column, prefix) in MARKERS.items():
        if prefix:
            sql = (f"SELECT substr({column}, {len(prefix) + 1}), COUNT(*) FROM {table} "
                   f"WHERE {column} LIKE '{prefix}%' GROUP BY {column}")
        else:
            sql = f"SELECT {column}, COUNT(*) FROM {table} WHERE {column} IS NOT NULL GROUP BY {column}"
        for key, count in query(sql):
            found[(kind, key)] = int(count)
    return found


def pg_query(url):
    def run(sql):
        out = subprocess.run(["psql", url, "-qtAF", "\t", "-c", sql], capture_output=True, text=True, check=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]
    return run


def sqlite_query(path):
    def run(sql):
        con = sqlite3.connect(path)
        rows = con.execute(sql).fetchall()
        con.close()
        return rows
    return run


def verify(requests, query):
    found = stored_counts(query)
    writes = [r for r in requests if r.key]
    acked = [r for r in writes if r.final == "ok"]
    lost = [r for r in acked if found.get((r.kind, r.key), 0) == 0]
    dups = [k for k, n in found.items() if n > 1]
    return {"acked": len(acked), "lost": len(lost), "duplicates": len(dups),
            "lost_examples": [(r.kind, r.key) for r in lost[:5]]}


def window_stats(requests, start, end):
    """Requests started in [start, end), and attempts that ended in it (an
    attempt cut off by a fault belongs to the fault)."""
    reqs = [r for r in requests if start <= r.started < end]
    attempts = [a for r in requests for a in r.attempts if start <= a.at + a.ms / 1000 < end]
    count = lambda o: sum(1 for a in attempts if a.outcome == o)
    return {
        "requests": len(reqs),
        "acked_writes": sum(1 for r in reqs if r.key and r.final == "ok"),
        "5xx_not_503": count("5xx"),
        "503": count("503"),
        "resets": count("reset"),
        "refused": count("refused"),
        "timeouts": count("timeout"),
        "gave_up": sum(1 for r in reqs if r.final == "gave_up"),
        "p99_ms": p99([r.ms for r in reqs if r.ms is not None]),
    }


def last_failure(requests, start, end):
    bad = [a.at + a.ms / 1000 for r in requests for a in r.attempts
           if start <= a.at + a.ms / 1000 < end and a.outcome not in ("ok", "4xx", "in_progress")]
    return max(bad) if bad else None


def pg_ctl(action):
    version = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in v.split(".")])[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True,
                   capture_output=True)


def pg_ready():
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


def instance_env(url, extra=None):
    env = {
        "DATABASE_URL": url,
        "RAPPORT__AUTH__JWT_SECRET": SECRET,
        "RAPPORT__LOG__FILTER": "warn",
        "RAPPORT__RATE_LIMIT__TOKEN_PER_MINUTE": "0",
        "RAPPORT__RATE_LIMIT__IP_PER_MINUTE": "0",
        "RAPPORT__DATABASE__MAX_CONNECTIONS": "16",
        "RAPPORT__SERVER__WORKERS": "2",
    }
    env.update(extra or {})
    return env


ALL_JOBS_ON = {f"RAPPORT__JOBS__{name}": secs for name, secs in {
    "RFM_INTERVAL_SECS": "120", "SEGMENT_REFRESH_INTERVAL_SECS": "60", "SLA_SWEEP_INTERVAL_SECS": "10",
    "EVENT_RETENTION_INTERVAL_SECS": "60", "WEBHOOK_FANOUT_INTERVAL_SECS": "1",
    "WEBHOOK_DELIVERY_INTERVAL_SECS": "1", "WEBHOOK_REPLAY_INTERVAL_SECS": "10",
    "IDEMPOTENCY_PURGE_INTERVAL_SECS": "60", "SURVEY_TRIGGERS_INTERVAL_SECS": "60",
    "LOYALTY_EXPIRY_INTERVAL_SECS": "60", "LOYALTY_HOLD_EXPIRY_INTERVAL_SECS": "10",
    "HEALTH_RECOMPUTE_INTERVAL_SECS": "120", "LOYALTY_TIER_REVIEW_INTERVAL_SECS": "120",
    "CADENCE_FOLLOW_UP_INTERVAL_SECS": "120", "CARE_MOMENTS_INTERVAL_SECS": "120",
    "NEEDS_UNMET_INTERVAL_SECS": "60"}.items()}


def fresh_pg_database(admin_url, name):
    subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                    "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return admin_url.rsplit("/", 1)[0] + "/" + name


def replica_of(args, url):
    """A streaming replica of the local cluster (benches/replica.sh), as a URL
    for the database of `url`."""
    out = subprocess.run(["bash", "benches/replica.sh"], env=dict(os.environ, PRIMARY_URL=args.pg_admin_url),
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1]


def cluster(args, url, extra_env=None):
    os.makedirs(args.work, exist_ok=True)
    env = instance_env(url, extra_env)
    env["RAPPORT__DATABASE__READ_URL"] = replica_of(args, url)
    instances = [Instance(args.binary, BASE_PORT + i, env, args.work) for i in range(3)]
    first = instances[0]
    first.start()
    if first.wait_ready() is None:
        sys.exit(f"the first instance did not come up; see {first.log_path}")
    for i in instances[1:]:
        i.start()
    for i in instances[1:]:
        if i.wait_ready() is None:
            sys.exit(f"an instance did not come up; see {i.log_path}")
    token = mint_token(args.binary, env)
    customers = prepare(first.port, token, args.customers)
    return instances, token, customers


def run_faults(args, smoke):
    url = fresh_pg_database(args.pg_admin_url, "rapport_proof")
    instances, token, customers = cluster(args, url)
    load = Load([i.port for i in instances], token, customers, args.workers)
    t0 = now()
    load.start()
    rows = []

    def settle(seconds):
        time.sleep(seconds)

    def instance_fault(name, sig, victim):
        settle(args.steady)
        at = now()
        victim.signal(sig)
        victim.wait_exit()
        down = now()
        time.sleep(1.0)  # the orchestrator notices and restarts it
        victim.start()
        victim.wait_ready()
        back = now()
        settle(args.after)
        rows.append((name, at, max(back, last_failure(load.requests, at, now()) or at), now()))
        return down - at

    if smoke:
        instance_fault("SIGKILL one instance", signal.SIGKILL, instances[1])
    else:
        instance_fault("SIGKILL one instance", signal.SIGKILL, instances[1])
        instance_fault("SIGTERM one instance", signal.SIGTERM, instances[2])
        # PostgreSQL restarted.
        settle(args.steady)
        at = now()
        pg_ctl("restart")
        settle(args.after)
        rows.append(("PostgreSQL restarted", at, last_failure(load.requests, at, now()) or at, now()))
        # PostgreSQL stopped for 10 s.
        settle(args.steady)
        at = now()
        pg_ctl("stop")
        time.sleep(10)
        pg_ctl("start")
        while not pg_ready():
            time.sleep(0.1)
        settle(args.after)
        rows.append(("PostgreSQL stopped 10 s", at, last_failure(load.requests, at, now()) or at, now()))
    settle(3)
    load.finish()
    served = {"replica": 0, "primary": 0}
    for i in instances:
        try:
            c = http.client.HTTPConnection("127.0.0.1", i.port, timeout=5)
            c.request("GET", "/metrics")
            for line in c.getresponse().read().decode().splitlines():
                for target in served:
                    if line.startswith(f'rapport_db_reads_total{{target="{target}"}} '):
                        served[target] += int(float(line.split()[-1]))
            c.close()
        except OSError:
            pass
    for i in instances:
        i.signal(signal.SIGTERM)
    for i in instances:
        i.wait_exit()
    total = verify(load.requests, pg_query(url))
    lines = []
    header = ("| fault | writes acked | acked but lost | duplicates | 5xx other than 503 | 503 | resets in flight "
              "| refused | s to recovery | p99 during (ms) | p99 after (ms) |")
    lines.append(header)
    lines.append("|" + "---|" * 11)
    base = window_stats(load.requests, t0, t0 + args.steady)
    lines.append(f"| none (first {args.steady} s) | {base['acked_writes']} | — | — | {base['5xx_not_503']} | "
                 f"{base['503']} | {base['resets']} | {base['refused']} | — | {fmt_ms(base['p99_ms'])} | — |")
    failed = total["lost"] > 0 or total["duplicates"] > 0
    for name, at, recovered, end in rows:
        during = window_stats(load.requests, at, recovered + 0.001)
        after = window_stats(load.requests, recovered + 0.001, end)
        lost = verify([r for r in load.requests if at <= r.started < end], pg_query(url))
        failed |= during["5xx_not_503"] + after["5xx_not_503"] > 0
        lines.append(
            f"| {name} | {during['acked_writes'] + after['acked_writes']} | {lost['lost']} | "
            f"{lost['duplicates']} | {during['5xx_not_503'] + after['5xx_not_503']} | "
            f"{during['503'] + after['503']} | {during['resets'] + after['resets']} | "
            f"{during['refused'] + after['refused']} | {recovered - at:.1f} | {fmt_ms(during['p99_ms'])} | "
            f"{fmt_ms(after['p99_ms'])} |")
    everything = window_stats(load.requests, t0, now())
    lines.append(f"| **whole run** | {total['acked']} | **{total['lost']}** | **{total['duplicates']}** | "
                 f"**{everything['5xx_not_503']}** | {everything['503']} | {everything['resets']} | "
                 f"{everything['refused']} | — | {fmt_ms(everything['p99_ms'])} | — |")
    lines.append(f"\nSet-wide reads since each instance last started: {served['replica']} on the replica, "
                 f"{served['primary']} on the primary (reads carry their thread's last consistency token).")
    if total["lost_examples"]:
        lines.append(f"\nlost: {total['lost_examples']}")
    gave_up = everything["gave_up"]
    if gave_up:
        lines.append(f"\n{gave_up} requests gave up after 120 s of retries.")
        failed = True
    subprocess.run(["psql", args.pg_admin_url, "-qc", "DROP DATABASE IF EXISTS rapport_proof WITH (FORCE)"],
                   capture_output=True)
    return "\n".join(lines), failed


def run_cold_starts(args, rounds):
    up = failed = 0
    env_extra = {}
    for _ in range(rounds):
        url = fresh_pg_database(args.pg_admin_url, "rapport_proof_cold")
        env = instance_env(url, env_extra)
        instances = [Instance(args.binary, BASE_PORT + 10 + i, env, args.work) for i in range(3)]
        for i in instances:
            i.start()
        for i in instances:
            if i.wait_ready(timeout=60) is None:
                failed += 1
            else:
                up += 1
        for i in instances:
            i.signal(signal.SIGKILL)
            i.wait_exit()
    subprocess.run(["psql", args.pg_admin_url, "-qc", "DROP DATABASE IF EXISTS rapport_proof_cold WITH (FORCE)"],
                   capture_output=True)
    return f"{rounds} rounds of three instances started at once on an empty database: {up} came up, {failed} did not."


def run_soak(args):
    os.makedirs(args.work, exist_ok=True)
    if args.database == "postgres":
        url = fresh_pg_database(args.pg_admin_url, "rapport_proof_soak")
        query = pg_query(url)
    else:
        path = os.path.abspath(os.path.join(args.work, "soak.db"))
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        url = f"sqlite://{path}?mode=rwc"
        query = sqlite_query(path)
    env = instance_env(url, ALL_JOBS_ON)
    inst = Instance(args.binary, BASE_PORT + 20, env, args.work)
    inst.start()
    if inst.wait_ready() is None:
        sys.exit(f"the instance did not come up; see {inst.log_path}")
    token = mint_token(args.binary, env)
    customers = prepare(inst.port, token, args.customers)
    load = Load([inst.port], token, customers, args.workers)
    t0 = now()
    load.start()
    time.sleep(30)
    rss_start = inst.rss_kib()
    minutes = []
    for m in range(args.minutes):
        start = t0 + m * 60
        while now() < start + 60:
            time.sleep(1)
        stats = window_stats(load.requests, start, start + 60)
        errors = stats["5xx_not_503"] + stats["503"] + stats["resets"] + stats["refused"] + stats["timeouts"]
        minutes.append((m + 1, stats["requests"], stats["p99_ms"], errors, inst.rss_kib()))
    rss_end = inst.rss_kib()
    load.finish()
    inst.signal(signal.SIGTERM)
    inst.wait_exit()
    total = verify(load.requests, query)
    if args.database == "postgres":
        subprocess.run(["psql", args.pg_admin_url, "-qc", "DROP DATABASE IF EXISTS rapport_proof_soak WITH (FORCE)"],
                       capture_output=True)
    growth = (rss_end - rss_start) * 100.0 / rss_start if rss_start else float("nan")
    errors = sum(m[3] for m in minutes)
    lines = [f"{args.minutes}-minute soak on {args.database}, one instance, all jobs on, {args.workers} client threads: "
             f"RSS {rss_start / 1024:.1f} MiB at 30 s, {rss_end / 1024:.1f} MiB at the end "
             f"(**{growth:+.1f} %**); errors **{errors}**; writes acked {total['acked']}, "
             f"lost **{total['lost']}**, duplicates **{total['duplicates']}**.", "",
             "| minute | requests | p99 (ms) | errors | RSS (MiB) |", "|---|---|---|---|---|"]
    for m, n, p, e, rss in minutes:
        lines.append(f"| {m} | {n} | {fmt_ms(p)} | {e} | {rss / 1024 if rss else 0:.1f} |")
    first, last = t0, t0 + (args.minutes - 1) * 60
    by_kind = []
    for kind in sorted({r.kind for r in load.requests}):
        early = p99([r.ms for r in load.requests if r.kind == kind and first <= r.started < first + 60 and r.ms])
        late = p99([r.ms for r in load.requests if r.kind == kind and last <= r.started < last + 60 and r.ms])
        by_kind.append(f"{kind} {fmt_ms(early)} → {fmt_ms(late)}")
    lines.append("")
    lines.append("p99 (ms) by request kind, first minute → last minute: " + "; ".join(by_kind) + ".")
    return "\n".join(lines), errors > 0 or total["lost"] > 0 or total["duplicates"] > 0 or growth >= 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["faults", "smoke", "soak", "cold"])
    parser.add_argument("--binary", default="target/release/rapport")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--work", default="target/proof")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--steady", type=float, default=10)
    parser.add_argument("--after", type=float, default=10)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    if args.mode == "soak":
        text, failed = run_soak(args)
    elif args.mode == "cold":
        text, failed = run_cold_starts(args, args.rounds), False
    else:
        if args.mode == "smoke":
            args.steady, args.after = 10, 15
        text, failed = run_faults(args, args.mode == "smoke")
    print(text)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
