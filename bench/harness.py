#!/usr/bin/env python3
"""Runs the benchmark scenarios (docs/performance.md) against Switchboard and its
peers with the same load generator, in one invocation, and prints the table.

Called by bench/run after the build; standard library only. Every server is
started fresh for every run on a free loopback port and stopped after it.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile

import charts  # bench/charts.py, beside this file
from charts import fmt  # a measured value, as the table and the charts print it
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ALL_SERVERS = ["switchboard", "socketio", "centrifugo", "nats"]
ALL_SCENARIOS = ["S1", "S2", "S3", "S4", "S5", "S6", "S1-TLS", "S4-TLS"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"not listening on {port} after {seconds}s")


def run_tool(argv, env=None):
    """Runs a measuring tool; echoes its output and returns (exit code, the JSON
    of its `RESULT {...}` line or None)."""
    out = subprocess.run(argv, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    result = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            print(line, flush=True)
    return out.returncode, result


class Process:
    """A server process started for one run; stopped (TERM, then KILL) on exit."""

    def __init__(self, argv, port, env=None, log=None):
        self.port = port
        self.log = open(log or os.devnull, "ab")
        self.proc = subprocess.Popen(argv, env={**os.environ, **(env or {})},
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        try:
            wait_port(port, self.proc)
        except Exception:
            self.stop()
            raise

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class CtlBroker:
    """A broker started and stopped by tests/support/broker_ctl.sh (Kafka: a JVM
    whose jars come from Maven once, cached in the build tree)."""

    def __init__(self, kind, port, workdir, cache, jvm=None):
        self.kind, self.port, self.dir = kind, port, workdir
        self.ctl = os.path.join(HERE, "..", "tests", "support", "broker_ctl.sh")
        self.env = {**os.environ, "KAFKA_CACHE": cache, "BROKER_WAIT": "120"}
        if jvm:
            self.env["KAFKA_JVM_OPTS"] = jvm
        out = subprocess.run([self.ctl, kind, "start", str(port), workdir], env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{kind} did not start: {out.stdout[-2000:]}")
        with open(os.path.join(workdir, f"{kind}-{port}.pid")) as f:
            self.pid = int(f.read().strip())

    def stop(self):
        subprocess.run([self.ctl, self.kind, "stop", str(self.port), self.dir], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Harness:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build or ".")
        self.bin = os.path.join(self.build, "bin")
        self.cache = os.path.join(self.build, "peers")
        self.logs = tempfile.mkdtemp(prefix="switchboard-bench-")
        self.results = []  # every loadgen result, tagged
        self.skipped = {}
        self.failures = []  # runs that failed (the smoke test fails on any)
        self.tls_files = None  # (cert, key) made for this run, once a TLS scenario needs them

    # ---- servers -------------------------------------------------------------
    def available(self, server):
        if server == "switchboard":
            return True
        if server in self.skipped:
            return False
        ok = subprocess.run(["bash", os.path.join(HERE, "peers", "peers.sh"), "check",
                             self.cache, server], capture_output=True).returncode == 0
        if not ok:
            self.skipped[server] = "not set up (bench/peers/peers.sh setup printed why)"
        return ok

    def tls_env(self):
        """The settings that put Switchboard's listener on TLS, with a throwaway
        self-signed P-256 certificate made for this run by the openssl CLI."""
        if self.tls_files is None:
            cert, key = os.path.join(self.logs, "tls-cert.pem"), os.path.join(self.logs, "tls-key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                            "-keyout", key, "-out", cert],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.tls_files = (cert, key)
        cert, key = self.tls_files
        return {"SWITCHBOARD_SERVER_TLS_CERT": cert, "SWITCHBOARD_SERVER_TLS_KEY": key}

    def start(self, server, env=None):
        port = free_port()
        log = os.path.join(self.logs, f"{server}-{port}.log")
        if server == "switchboard":
            argv = [os.path.join(self.bin, "switchboard-bench-server"), "--config",
                    os.path.join(HERE, "config", "switchboard.yaml")]
            env = {"SWITCHBOARD_SERVER_LISTEN": f"127.0.0.1:{port}",
                   **dict(kv.split("=", 1) for kv in self.args.switchboard_env), **(env or {})}
        else:
            argv = ["bash", os.path.join(HERE, "peers", "peers.sh"), "start", server, str(port),
                    self.cache]
        return Process(argv, port, env, log)

    # ---- the load generator ----------------------------------------------------
    def loadgen(self, tag, server, scenario, port, pids, *extra, pub_port=None, tls=False):
        argv = [os.path.join(self.bin, "switchboard-bench"), "--proto", server,
                "--url", f"127.0.0.1:{port}", "--scenario", scenario, "--label", server]
        if tls:
            argv += ["--tls"]
        if pub_port:
            argv += ["--pub-url", f"127.0.0.1:{pub_port}"]
        for pid in pids:
            argv += ["--server-pid", str(pid)]
        argv += [str(a) for a in extra]
        if self.args.smoke:
            argv += ["--expect-lossless", "--keep-going"]
        print(f"\n## {tag} {server}: {' '.join(argv[1:])}", flush=True)
        rc, result = run_tool(argv)
        if rc != 0 or result is None:
            print(f"   (the load generator exited with {rc})")
            self.failures.append(f"{tag} {server}: exit {rc}")
        if result is None:
            return None
        result["tag"] = tag
        result["server"] = server
        self.results.append(result)
        return result

    def run_on(self, tag, server, scenario, *extra, tls=False):
        """One fresh server, one load-generator run; None when it failed. With
        tls, the server listens with TLS only and the load generator speaks it."""
        if not self.available(server):
            return None
        try:
            srv = self.start(server, self.tls_env() if tls else None)
        except Exception as e:  # noqa: BLE001 - reported, the run goes on
            print(f"## {tag} {server}: could not start: {e}")
            self.failures.append(f"{tag} {server}: could not start: {e}")
            return None
        try:
            return self.loadgen(tag, server, scenario, srv.port, [srv.pid], *extra, tls=tls)
        finally:
            srv.stop()

    def repeat(self, tag, server, scenario, *extra, tls=False):
        runs = [self.run_on(tag, server, scenario, *extra, tls=tls) for _ in range(self.args.reps)]
        return [r for r in runs if r]

    # ---- scenarios -----------------------------------------------------------------
    def rates(self, full, quick):
        if self.args.smoke:
            return "1k,2k"
        return ",".join(quick if self.args.quick else full)

    def size(self, full, quick=None):
        """Connections for a scenario: full, --quick, or the smoke test's few."""
        if self.args.smoke:
            return 100 if not isinstance(full, list) else [100]
        return quick if self.args.quick and quick is not None else full

    def s1(self, tls=False):
        sizes = self.size([1000, 5000, 9000], [1000, 9000])
        for subs in sizes:
            rates = self.rates(["20k", "50k", "100k", "200k", "400k", "600k", "800k", "1M",
                                "1.2M", "1.6M", "2M", "2.5M", "3M"],
                               ["20k", "50k", "100k", "400k", "800k", "1.2M", "1.6M", "2M",
                                "2.5M", "3M"])
            # Four publishing connections, for every server: one connection's
            # requests are read one per event-loop round (fairness), which would
            # cap the publish rate rather than measure fan-out.
            for server in self.tls_servers() if tls else self.servers:
                self.repeat(f"S1-{subs}" + ("-tls" if tls else ""), server, "broadcast",
                            "--subs", subs, "--rates", rates, "--step-seconds", self.step,
                            "--publishers", 4, tls=tls)

    # S1-TLS and S4-TLS: S1 and S4 again with Switchboard's listener on TLS
    # (wss://, a self-signed certificate made for the run), tagged "-tls" so they
    # sit beside the plain runs in the table. The peers run no TLS variant.
    def tls_servers(self):
        return [s for s in self.servers if s == "switchboard"]

    def s1_tls(self):
        self.s1(tls=True)

    def s4_tls(self):
        self.s4(tls=True)

    def s2(self):
        rates = self.rates(["20k", "50k", "75k", "100k", "150k", "200k", "300k", "400k"],
                           ["20k", "50k", "75k", "100k", "150k", "200k"])
        for server in self.servers:
            self.repeat("S2", server, "rooms", "--subs", self.size(9000), "--rates", rates,
                        "--step-seconds", self.step, "--publishers", 4)

    def s3(self):
        rates = self.rates(["10k", "20k", "35k", "50k", "75k", "100k", "150k"],
                           ["10k", "20k", "35k", "50k", "75k", "100k"])
        for server in self.servers:
            for kind in ("user", "socket"):
                if server == "switchboard" or (server == "socketio" and kind == "socket"):
                    self.repeat(f"S3-{kind}", server, kind, "--subs", self.size(1000), "--rates", rates,
                                "--step-seconds", self.step, "--publishers", 2)

    def s4(self, tls=False):
        for server in self.tls_servers() if tls else self.servers:
            self.repeat("S4-tls" if tls else "S4", server, "idle", "--subs", self.size(9000, 5000),
                        tls=tls)

    # S5: two servers on one broker (publishes enter one, subscribers sit on the
    # other), once per broker so the hops compare in one run.
    BROKERS = {
        "redis": (["--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--port"],
                  lambda port: {"SWITCHBOARD_TRANSPORT_USE": "redis",
                                "SWITCHBOARD_REDIS_URL": f"redis://127.0.0.1:{port}/0"}),
        "nats": (["-a", "127.0.0.1", "-p"],
                 lambda port: {"SWITCHBOARD_TRANSPORT_USE": "nats",
                               "SWITCHBOARD_NATS_SERVERS": f"nats://127.0.0.1:{port}"}),
        "kafka": (None,  # broker_ctl.sh: one KRaft node
                  lambda port: {"SWITCHBOARD_TRANSPORT_USE": "kafka",
                                "SWITCHBOARD_KAFKA_BROKERS": f"[127.0.0.1:{port}]"}),
    }

    def start_broker(self, broker, args):
        """The broker on a free loopback port, or None (recorded as skipped)."""
        port = free_port()
        if args is None:
            missing = [t for t in ("java", "mvn", "kcat") if not shutil.which(t)]
            if missing:
                self.skipped[f"S5 {broker}"] = f"{', '.join(missing)} not installed"
                return None
            # Measured with the JVM's full JIT and G1, as a deployment runs it (the
            # tests' flags start faster and run slower); the smoke test keeps those.
            return CtlBroker(broker, port, tempfile.mkdtemp(prefix=f"{broker}-", dir=self.logs),
                             os.path.join(self.build, "kafka-cache"),
                             None if self.args.smoke else
                             "-Xms1g -Xmx1g -XX:+UseG1GC -XX:-UsePerfData -Djava.awt.headless=true")
        binary = shutil.which(f"{broker}-server") or (
            f"/usr/sbin/{broker}-server" if os.path.exists(f"/usr/sbin/{broker}-server") else None)
        if not binary:
            self.skipped[f"S5 {broker}"] = f"{broker}-server is not installed"
            return None
        return Process([binary] + args + [str(port)], port, log=os.path.join(self.logs, f"{broker}.log"))

    def s5(self):
        if "switchboard" not in self.servers:
            return
        rates = self.rates(["50k", "100k", "200k", "300k", "400k", "600k", "800k", "1M"],
                           ["100k", "200k", "400k", "800k"])
        for _ in range(self.args.reps):
            self.hop("memory", {"SWITCHBOARD_TRANSPORT_USE": "memory"})  # the in-process baseline
            for broker, (args, settings) in self.BROKERS.items():
                if broker not in self.brokers:
                    continue
                try:
                    r = self.start_broker(broker, args)
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    print(f"## S5-{broker}: the broker could not start: {e}")
                    self.failures.append(f"S5-{broker}: broker did not start")
                    continue
                if r is None:
                    continue
                env = dict(settings(r.port), SWITCHBOARD_SESSION_SECRET="bench")
                a = b = None
                try:
                    self.hop(broker, env)
                    a, b = self.start("switchboard", env), self.start("switchboard", env)
                    time.sleep(1)  # both subscribed to the bus
                    self.loadgen(f"S5-{broker}", "switchboard", "broadcast", b.port, [a.pid, b.pid, r.pid],
                                 "--subs", self.size(1000), "--rates", rates,
                                 "--step-seconds", self.step, pub_port=a.port)
                finally:
                    for p in (a, b, r):
                        if p:
                            p.stop()

    def hop(self, broker, env):
        """The broker hop alone (switchboard-bench-hop): two transport instances
        behind the core's plugin host, at the bus rates S5 offers (1,000
        subscribers: 100 messages/s is 100k deliveries/s), nothing else running."""
        argv = [os.path.join(self.bin, "switchboard-bench-hop"), "--rates",
                "100,1k" if self.args.smoke else "100,1k,10k,50k",
                "--seconds", "1" if self.args.smoke else str(self.step * 2)]
        if not self.args.smoke:
            # Every broker gets 30 s of traffic at 1k msgs/s first, unreported: a
            # deployed broker has long been running, and a JVM (Kafka) started
            # seconds ago is still compiling its hot paths (p99 at 100 msgs/s
            # 4.5-9.5 ms in its first minute, 2-3.5 ms after).
            argv += ["--warmup", "30", "--warmup-rate", "1k"]
        print(f"\n## hop-{broker}: {' '.join(argv[1:])}", flush=True)
        rc, result = run_tool(argv, env)
        if rc != 0 or result is None:
            self.failures.append(f"hop-{broker}: exit {rc}")
            return
        result.update(tag=f"hop-{broker}", server="switchboard")
        for st in result["steps"]:
            for who in ("other", "self"):
                r = st[who]
                if r["received"] != st["sent"] or r["duplicates"] or st["refused"]:
                    self.failures.append(
                        f"hop-{broker} at {st['offered']:.0f}/s: {who} received {r['received']} "
                        f"of {st['sent']} ({r['duplicates']} duplicates, {st['refused']} refused)")
        self.results.append(result)

    def s6(self):
        for server in self.servers:
            self.repeat("S6", server, "storm", "--subs", self.size(5000, 2000))

    # ---- the table -------------------------------------------------------------------
    def pick(self, tag, server):
        return [r for r in self.results if r["tag"] == tag and r["server"] == server]

    @staticmethod
    def sustained(step):
        """The load generator's rule, judged again from the raw figures, so that
        older result files render the same way."""
        return (step["lost"] == 0 and step["dup_or_reordered"] == 0
                and step["delivered_per_s"] >= 0.95 * step["offered"]
                and step.get("drain_s", 0) <= 1.0)

    def sustained_steps(self, result):
        """The steps up to the first one that was not sustained."""
        out = []
        for st in result.get("steps", []):
            if not self.sustained(st):
                break
            out.append(st)
        return out

    def max_sustained(self, result):
        steps = self.sustained_steps(result)
        return max((s["offered"] for s in steps), default=0.0)

    def best_step(self, result):
        """The highest step that was sustained, even after one that was not (a
        transient stall in a lower step does not hide the capacity above it)."""
        return max((st["offered"] for st in result.get("steps", []) if self.sustained(st)),
                   default=0.0)

    def metric(self, tag, server, fn):
        vals = [v for v in (fn(r) for r in self.pick(tag, server)) if v is not None]
        return statistics.median(vals) if vals else None

    def table(self):
        rows = []  # (scenario, metric, better, {server: value}, target text)

        def add(tag, name, fn, better, target=""):
            vals = {s: self.metric(tag, s, fn) for s in self.servers}
            if any(v is not None for v in vals.values()):
                rows.append((tag, name, better, vals, target))

        def at(offered, key):
            def f(r):
                for st in self.sustained_steps(r):
                    if abs(st["offered"] - offered) < 1:
                        return st.get(key)
                return None
            return f

        s1_tags = sorted({r["tag"] for r in self.results if r["tag"].startswith("S1-")},
                         key=charts.s1_size)
        for tag in s1_tags:
            add(tag, "max sustained deliveries/s", self.max_sustained, "high",
                {"S1-1000": ">= 2.5M and >= nats-server", "S1-9000": ">= 1.5M"}.get(tag, ""))
            add(tag, "highest sustained step, any", self.best_step, "high")
        def hop_at(offered, q):
            """A hop-bench step's latency (ms) at the other instance, if it
            received everything."""
            def f(r):
                for st in r.get("steps", []):
                    o = st["other"]
                    if abs(st["offered"] - offered) < 1 and o["received"] == st["sent"] \
                            and o["duplicates"] == 0:
                        return o[f"{q}_us"] / 1000
                return None
            return f

        def at_best(key):
            def f(r):
                sust = self.sustained_steps(r)
                return max(sust, key=lambda x: x["offered"])[key] if sust else None
            return f

        for tag in ("S1-1000", "S1-1000-tls"):  # plain, then the same over TLS
            plain = tag == "S1-1000"
            add(tag, "server CPU us/delivery at max sustained", at_best("cpu_us_per_delivery"),
                "low", "<= 1/10 of Socket.IO" if plain else "")
            add(tag, "deliveries per WebSocket frame at max sustained",
                at_best("deliveries_per_frame"), "high")
            add(tag, "p50 ms at 100k/s", at(100e3, "p50_ms"), "low")
            add(tag, "p99 ms at 100k/s", at(100e3, "p99_ms"), "low",
                "<= 10 and <= 1/2 nats-server" if plain else "")
            add(tag, "last-subscriber p99 ms at 100k/s", at(100e3, "last_p99_ms"), "low")
            add(tag, "server CPU us/delivery at 100k/s", at(100e3, "cpu_us_per_delivery"),
                "low")
        add("S2", "max sustained deliveries/s", self.max_sustained, "high")
        add("S2", "deliveries per server CPU-second at 50k/s",
            lambda r: 1e6 / v if (v := at(50e3, "cpu_us_per_delivery")(r)) else None, "high",
            ">= 1.5x Centrifugo")
        for kind in ("user", "socket"):
            add(f"S3-{kind}", "max sustained deliveries/s", self.max_sustained,
                "high")
            add(f"S3-{kind}", "p99 ms at 10k/s", at(10e3, "p99_ms"), "low")
        for tag in ("S4", "S4-tls"):  # plain, then the same over TLS
            add(tag, "bytes per idle connection", lambda r: r["bytes_per_connection"], "low",
                "<= 4096" if tag == "S4" else "")
            add(tag, "connects/s", lambda r: r["connects_per_s"], "high")
            add(tag, "server CPU us per connect", lambda r: r.get("cpu_us_per_connect"), "low")
        for broker, label in (("redis", "Redis"), ("nats", "NATS"), ("kafka", "Kafka")):
            tag = f"S5-{broker}"
            add(tag, "max sustained deliveries/s", self.max_sustained, "high",
                {"nats": ">= S5-redis", "kafka": ">= 500k"}.get(broker, ""))
            add(tag, "p50 ms at 100k/s", at(100e3, "p50_ms"), "low")
            add(tag, "p99 ms at 100k/s", at(100e3, "p99_ms"), "low")
            # The broker hop, measured alone (switchboard-bench-hop at the bus
            # rate of 100k deliveries/s to 1k subscribers) against the in-process
            # memory transport measured the same way ...
            for q in ("p50", "p99"):
                hop = [self.metric(f"hop-{broker}", "switchboard", hop_at(100, q)),
                       self.metric("hop-memory", "switchboard", hop_at(100, q))]
                if None not in hop:
                    rows.append((tag, f"added {q} ms of the {label} hop, alone, at 100 msgs/s "
                                      "(= 100k deliveries/s)", "low",
                                 {s: (hop[0] - hop[1] if s == "switchboard" else None)
                                  for s in self.servers},
                                 "<= 0.5" if (broker, q) == ("nats", "p50") else ""))
            hop99 = self.metric(f"hop-{broker}", "switchboard", hop_at(100, "p99"))
            if hop99 is not None:
                rows.append((tag, f"p99 ms of the {label} hop, alone, at 100 msgs/s", "low",
                             {s: (hop99 if s == "switchboard" else None) for s in self.servers},
                             "<= 5" if broker == "kafka" else ""))
            # ... and inside the whole system: S5's latency minus the single
            # server's (S1, 1k subscribers) at 100k/s, when both ran.
            for q in ("p50", "p99"):
                hop = [self.metric(tag, "switchboard", at(100e3, f"{q}_ms")),
                       self.metric("S1-1000", "switchboard", at(100e3, f"{q}_ms"))]
                if None not in hop:
                    rows.append((tag, f"S5 minus S1-1000, {q} ms at 100k/s", "low",
                                 {s: (hop[0] - hop[1] if s == "switchboard" else None)
                                  for s in self.servers}, ""))
        add("S6", "ms until 99% receive again", lambda r: r["t99_ms"] if r["t99_ms"] >= 0 else None,
            "low", "<= 1000")

        peers = [s for s in self.servers if s != "switchboard"]
        head = ["scenario", "metric"] + self.servers + [f"vs {p}" for p in peers] + ["target"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for tag, name, better, vals, target in rows:
            cells = [tag, name] + [fmt(vals[s]) for s in self.servers]
            sb = vals.get("switchboard")
            for p in peers:
                pv = vals.get(p)
                if sb is None or pv is None or sb == 0 or pv == 0:
                    cells.append("")
                else:
                    ratio = sb / pv if better == "high" else pv / sb
                    cells.append(f"{ratio:.2f}x")
            cells.append(target)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def run(self):
        self.servers = [s for s in self.args.servers.split(",") if s]
        self.brokers = [b for b in self.args.brokers.split(",") if b]
        for b in self.brokers:
            if b not in self.BROKERS:
                sys.exit(f"unknown broker {b} ({', '.join(self.BROKERS)})")
        self.step = 1 if self.args.smoke else 2 if self.args.quick else 3
        wanted = [s.strip().upper() for s in self.args.only.split(",")] if self.args.only \
            else ALL_SCENARIOS
        for s in wanted:
            if s not in ALL_SCENARIOS:
                sys.exit(f"unknown scenario {s} ({', '.join(ALL_SCENARIOS)})")
            getattr(self, s.lower().replace("-", "_"))()
        table = self.table()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = os.path.join(self.build, "results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{stamp}.json"), "w") as f:
            json.dump({"machine": machine(), "switchboard_env": self.args.switchboard_env,
                       "results": self.results,
                       "skipped": self.skipped}, f, indent=1)
        with open(os.path.join(out, f"{stamp}.md"), "w") as f:
            f.write(table + "\n")
        drawn = charts.draw(self.results, os.path.join(out, f"{stamp}-charts"))
        print("\n# Results (median of %d repetition%s; ratios: how many times better "
              "Switchboard is)\n" % (self.args.reps, "s" if self.args.reps > 1 else ""))
        print(table)
        for what, why in self.skipped.items():
            print(f"\nskipped {what}: {why}")
        print(f"\nmachine: {machine()}\nraw results: {out}/{stamp}.json; server logs: {self.logs}")
        if drawn:
            print(f"charts: {out}/{stamp}-charts/ ({len(drawn)} SVG files)")
        if self.failures:
            print("\nfailed runs:\n  " + "\n  ".join(self.failures))
            if self.args.smoke:
                sys.exit(1)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, kernel {os.uname().release}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", help="the Release build directory (not needed for --render, --charts)")
    p.add_argument("--only", default="",
                   help="comma-separated scenarios: S1..S6, and S1-TLS, S4-TLS (S1, S4 with "
                        "Switchboard on TLS; tagged -tls in the table)")
    p.add_argument("--servers", default=",".join(ALL_SERVERS),
                   help="comma-separated: switchboard,socketio,centrifugo,nats")
    p.add_argument("--brokers", default="redis,nats,kafka",
                   help="comma-separated brokers for S5 and the hop (redis,nats,kafka)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (median is reported)")
    p.add_argument("--quick", action="store_true", help="fewer steps and sizes")
    p.add_argument("--switchboard-env", metavar="KEY=VALUE", action="append", default=[],
                   help="an environment override for the Switchboard servers, e.g. "
                        "SWITCHBOARD_SERVER_WRITE_INTERVAL=10ms (repeatable)")
    p.add_argument("--render", metavar="RESULTS.json",
                   help="print the table of an earlier run's raw results (runs nothing)")
    p.add_argument("--charts", nargs=2, metavar=("RESULTS.json", "OUT_DIR"),
                   help="draw the charts (SVG) of an earlier run's raw results into OUT_DIR "
                        "(runs nothing; bench/charts.py)")
    p.add_argument("--smoke", action="store_true",
                   help="the CI test: tiny sizes and rates, every run must deliver every "
                        "message exactly once and in order (no timing is checked)")
    args = p.parse_args()
    if not args.build and not (args.render or args.charts):
        p.error("--build is required to run scenarios")
    if args.reps is None:
        args.reps = 1 if args.quick or args.smoke else 3
    if args.charts:
        with open(args.charts[0]) as f:
            raw = json.load(f)
        for path in charts.draw(raw["results"], args.charts[1]):
            print(path)
        return
    h = Harness(args)
    if args.render:
        with open(args.render) as f:
            raw = json.load(f)
        h.results = raw["results"]
        h.servers = [s for s in ALL_SERVERS if any(r["server"] == s for r in h.results)]
        print(h.table())
        print(f"\nmachine: {raw.get('machine', '?')}")
        return
    h.run()


if __name__ == "__main__":
    main()
