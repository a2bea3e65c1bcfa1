"""Failover time: from the primary's death (SIGKILL) to the first successful
write through redis-py's Sentinel client, ferrokv (ferrokv-server +
ferrokv-sentinel) vs Redis 7.0 (redis-server + redis-sentinel), same
topology (3 nodes, 3 sentinels, quorum 2) and settings, several rounds each.

Results replace the "Failover" section of docs/benchmarks.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import redis
from redis.sentinel import Sentinel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
from report import replace_block  # noqa: E402
from support import free_port, wait_port  # noqa: E402  (the tests' helpers)
SERVER = os.path.join(ROOT, "target", "release", "ferrokv-server")
SENTINEL = os.path.join(ROOT, "target", "release", "ferrokv-sentinel")


class Cluster:
    def __init__(self, kind, down_after):
        self.kind, self.procs, self.dirs = kind, [], []
        self.nodes = []
        primary = self.node([])
        for _ in range(2):
            self.node(["--replicaof", "127.0.0.1", str(primary)])
        self.sentinels = [self.sentinel(primary, down_after) for _ in range(3)]

    def node(self, extra):
        d = tempfile.TemporaryDirectory()
        self.dirs.append(d)
        port = free_port()
        binary = SERVER if self.kind == "ferrokv" else "redis-server"
        p = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d.name, "--save", "", "--protected-mode", "no"] + extra,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.nodes.append((port, p))
        wait_port(port, f"{binary} on port {port}")
        return port

    def sentinel(self, primary, down_after):
        d = tempfile.TemporaryDirectory()
        self.dirs.append(d)
        port = free_port()
        conf = os.path.join(d.name, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {primary} 2\n"
                    f"sentinel down-after-milliseconds mymaster {down_after}\nsentinel failover-timeout mymaster 10000\n")
        argv = [SENTINEL, conf] if self.kind == "ferrokv" else ["redis-server", conf, "--sentinel"]
        self.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port, f"{argv[0]} on port {port}")
        return port

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()
        for d in self.dirs:
            d.cleanup()


def one_round(kind, down_after, healthy_for):
    c = Cluster(kind, down_after)
    try:
        s = Sentinel([("127.0.0.1", p) for p in c.sentinels], socket_timeout=0.5, min_other_sentinels=1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if len(s.discover_slaves("mymaster")) == 2 and all(len(redis.Redis(port=p).sentinel_sentinels("mymaster")) == 2 for p in c.sentinels):
                    break
            except redis.RedisError:
                pass
            time.sleep(0.1)
        master = s.master_for("mymaster", socket_timeout=0.5, socket_connect_timeout=0.5)
        master.set("warm", 1)
        # Failovers started while the primary is healthy: every +try-failover
        # any sentinel publishes before the kill (after a quiet second).
        attempts = []
        subs = []
        for p in c.sentinels:
            ps = redis.Redis(port=p).pubsub()
            ps.subscribe(**{"+try-failover": lambda m: attempts.append(time.monotonic())})
            subs.append(ps.run_in_thread(sleep_time=0.05, daemon=True))
        time.sleep(healthy_for)
        host, port = s.discover_master("mymaster")
        victim = next(p for (np, p) in c.nodes if np == port)
        t0 = time.monotonic()
        victim.kill()
        while time.monotonic() - t0 < 120:
            try:
                master.set("after", 1)
                return time.monotonic() - t0, sum(1 for t in attempts if t < t0)
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError):
                time.sleep(0.01)
        raise SystemExit(f"{kind}: no write within 120 s")
    finally:
        for t in subs:
            t.stop()
        c.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--down-after", type=int, default=1000)
    ap.add_argument("--healthy-for", type=float, default=3.0, help="seconds the healthy cluster runs before the kill")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()
    times = {"ferrokv": [], "redis": []}
    spurious = {"ferrokv": 0, "redis": 0}
    for _ in range(args.rounds):
        for kind in ("ferrokv", "redis"):
            t, n = one_round(kind, args.down_after, args.healthy_for)
            times[kind].append(t)
            spurious[kind] += n
            print(f"{kind}: {t:.2f} s, {n} failovers started while healthy", flush=True)
    f, r = statistics.median(times["ferrokv"]), statistics.median(times["redis"])
    lines = [
        "## Failover",
        "",
        f"Command: `bench/run-failover --rounds {args.rounds} --down-after {args.down_after}`. Three nodes and three sentinels "
        "(quorum 2) on 127.0.0.1; the primary is killed (SIGKILL) and redis-py's Sentinel client (`master_for`, 0.5 s timeouts) "
        f"retries SET until one succeeds; `down-after-milliseconds {args.down_after}`, `failover-timeout 10000` for both. "
        "Median of the rounds, alternating ferrokv and Redis.",
        "",
        "| | ferrokv | redis 7.0 | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| primary killed → first successful write (s) | {f:.2f} | {r:.2f} | {f / r:.2f} |",
        f"| failovers started while the primary was healthy ({args.healthy_for:g} s per round) | {spurious['ferrokv']} | {spurious['redis']} | |",
        f"| all rounds (s) | {', '.join(f'{x:.2f}' for x in times['ferrokv'])} | {', '.join(f'{x:.2f}' for x in times['redis'])} | |",
        "",
    ]
    replace_block(args.out, "failover", lines)


if __name__ == "__main__":
    sys.exit(main())
