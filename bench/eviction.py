"""Redis as a cache, ferrokv vs Redis 7.0, side by side in one run.

- **Steady-state eviction**: redis-benchmark SETs random keys (100 B
  values, a key space far larger than fits) into a server with
  `maxmemory 100mb` and `allkeys-lru`, pipeline 1 and 16, after a fill that
  reaches the limit; alternating rounds, median throughput, and the highest
  `used_memory` a poller saw (every 20 ms) against `maxmemory`.
- **Hit ratio**: the same Zipf-distributed sequence of keys (exponent 1.0,
  a key space ten times what fits) is played against both servers as a
  cache would: GET, and SET on a miss; for `allkeys-lru` and
  `allkeys-lfu`. The hit ratio of each.

Results replace the "Cache: eviction and hit ratio" section of
docs/benchmarks.md (bench/bench.py keeps it when it rewrites the rest).
"""
import argparse
import bisect
import os
import random
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import FERROKV, ROOT, Server, fmt_ratio  # noqa: E402
from report import replace_block  # noqa: E402
from snapshots import Resp  # noqa: E402

NOTES = """
What these numbers say (see docs/memory.md for the design):

- ferrokv checks `maxmemory` before every command as Redis does, reading a
  counter the allocator keeps rather than asking jemalloc; several workers
  check and write at once, so `used_memory` can pass the limit by what the
  commands in flight allocate plus the counter's per-thread lag (32 KiB per
  thread), which the poller's peak shows.
- Both approximate LRU and LFU with a pool of 16 candidates fed by 5
  samples per round; ferrokv samples from one random shard of each
  database per round, Redis from the whole table. Hit ratios within a
  point or two of each other are the same algorithm on different random
  draws.
"""


def start(name, extra):
    if name == "ferrokv":
        return Server("ferrokv", [FERROKV, "--save", ""] + extra)
    return Server("redis", ["redis-server", "--save", "", "--appendonly", "no"] + extra)


def poll_peak(server, stop, peak):
    c = Resp(server.port)
    while not stop.is_set():
        peak[0] = max(peak[0], int(c.info("memory")["used_memory"]))
        time.sleep(0.02)


def steady_state(name, pipeline, requests, maxmemory):
    s = start(name, ["--maxmemory", str(maxmemory), "--maxmemory-policy", "allkeys-lru"])
    try:
        base = ["redis-benchmark", "-p", str(s.port), "-t", "set", "-d", "100", "-r", "100000000", "-c", "50", "--csv"]
        # Fill to the limit first: the measured run is all eviction.
        subprocess.run(base + ["-P", "16", "-n", str(maxmemory // 100)], capture_output=True, timeout=900)
        stop, peak = threading.Event(), [0]
        poller = threading.Thread(target=poll_peak, args=(s, stop, peak))
        poller.start()
        out = subprocess.run(base + ["-P", str(pipeline), "-n", str(requests)], capture_output=True, text=True, timeout=900)
        stop.set()
        poller.join()
        lines = [line for line in out.stdout.splitlines() if line.startswith('"SET"')]
        rps = float(lines[-1].split('","')[1].strip('"'))
        evicted = int(Resp(s.port).info("stats")["evicted_keys"])
        return {"rps": rps, "peak": peak[0], "evicted": evicted}
    finally:
        s.stop()


def zipf_sequence(keys, count, seed):
    """`count` key indexes drawn from a Zipf(1.0) law over `keys` keys."""
    cdf, total = [], 0.0
    for rank in range(1, keys + 1):
        total += 1.0 / rank
        cdf.append(total)
    rng = random.Random(seed)
    # Rank r is key (r * 7919) % keys, so hot keys are spread over the space.
    return [(bisect.bisect_left(cdf, rng.random() * total) * 7919) % keys for _ in range(count)]


def hit_ratio(name, policy, sequence, value, maxmemory, batch=100):
    s = start(name, ["--maxmemory", str(maxmemory), "--maxmemory-policy", policy])
    try:
        c = Resp(s.port)
        hits = 0
        for at in range(0, len(sequence), batch):
            keys = sequence[at:at + batch]
            # One GET per key (a pipelined batch), then the misses' SETs.
            c.sock.sendall(b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k) for k in (b"key:%d" % i for i in keys)))
            replies = [c._read() for _ in keys]
            misses = [k for k, r in zip(keys, replies) if r is None]
            hits += len(keys) - len(misses)
            if misses:
                c.sock.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(value), value)
                                        for k in (b"key:%d" % i for i in misses)))
                for _ in misses:
                    c._read()
        return hits / len(sequence)
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2_000_000, help="SETs per steady-state run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating steady-state runs per server (the median is kept)")
    ap.add_argument("--maxmemory", type=int, default=100 << 20)
    ap.add_argument("--lookups", type=int, default=500_000, help="GETs in the hit-ratio sequence")
    ap.add_argument("--cache-mb", type=int, default=20, help="maxmemory of the hit-ratio runs")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()

    lines = ["## Cache: eviction and hit ratio", "",
             f"Command: `bench/run-eviction --requests {args.requests} --rounds {args.rounds} --lookups {args.lookups}`: throughput is the median of "
             f"{args.rounds} alternating runs per server, the peak the highest seen in any; the hit ratios come from one run each (the sequence is the same).", "",
             "| steady-state SET, allkeys-lru | ferrokv rps | redis rps | ratio | ferrokv peak used_memory over maxmemory | redis peak over maxmemory |",
             "|---|---:|---:|---:|---:|---:|"]
    for pipeline in (1, 16):
        # Alternating rounds, the median of each: drift on a shared machine
        # hits both alike.
        runs = {"ferrokv": [], "redis": []}
        for _ in range(args.rounds):
            for name in runs:
                runs[name].append(steady_state(name, pipeline, args.requests, args.maxmemory))
        r = {name: {"rps": statistics.median(x["rps"] for x in v), "peak": max(x["peak"] for x in v)} for name, v in runs.items()}
        f, d = r["ferrokv"], r["redis"]
        print(f"pipeline {pipeline}: {runs}")
        lines.append(f"| pipeline {pipeline} | {f['rps']:,.0f} | {d['rps']:,.0f} | {fmt_ratio(f['rps'], d['rps'])} | "
                     f"{f['peak'] - args.maxmemory:+,} B | {d['peak'] - args.maxmemory:+,} B |")

    value = b"v" * 1000
    fits = (args.cache_mb << 20) // (len(value) + 100)
    sequence = zipf_sequence(fits * 10, args.lookups, seed=7)
    lines += ["", f"Hit ratio: {args.lookups:,} lookups of 1000 B values over {fits * 10:,} keys (Zipf 1.0, ten times what "
              f"`maxmemory {args.cache_mb}mb` holds), GET then SET on a miss, batches of 100.", "",
              "| policy | ferrokv hit ratio | redis hit ratio | ratio |", "|---|---:|---:|---:|"]
    for policy in ("allkeys-lru", "allkeys-lfu"):
        r = {name: hit_ratio(name, policy, sequence, value, args.cache_mb << 20) for name in ("ferrokv", "redis")}
        print(f"{policy}: {r}")
        lines.append(f"| {policy} | {r['ferrokv']:.4f} | {r['redis']:.4f} | {fmt_ratio(r['ferrokv'], r['redis'])} |")
    lines += [""] + NOTES.strip("\n").splitlines()
    replace_block(args.out, "eviction", lines)


if __name__ == "__main__":
    main()
