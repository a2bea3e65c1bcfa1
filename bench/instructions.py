"""Instructions per request, ferrokv vs Redis 7.0, counted by callgrind.

Wall-clock figures on a small shared machine move by tens of percent from
run to run; the instructions a server executes for a request do not.
Each server runs under `valgrind --tool=callgrind` twice, once with N1 and
once with N2 requests of the same redis-benchmark test (pipeline 16, 50
clients, 3-byte values, keys drawn from 100,000); the difference of the two
totals divided by N2 - N1 is the cost of one request, start-up and
shutdown cancelling out. Only user space is counted: the kernel's share
(the same read and write calls for both servers) is not.

Updates the "instructions" section of docs/benchmarks.md.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from report import replace_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
from support import free_port, wait_port  # noqa: E402  (the tests' helpers)
FERROKV = os.path.join(ROOT, "target", "release", "ferrokv-server")

TESTS = [("set", "SET"), ("get", "GET"), ("incr", "INCR"), ("lpush", "LPUSH"), ("lpop", "LPOP"),
         ("sadd", "SADD"), ("hset", "HSET"), ("zadd", "ZADD"), ("mset", "MSET (10 keys)")]
# As in bench.py: readers run after an unmeasured writer, so they find data.
PREFILL = {"get": "set", "lpop": "lpush"}
SERVERS = {
    "ferrokv": [FERROKV, "--save", "", "--appendonly", "no", "--io-threads", "1"],
    "redis": ["redis-server", "--save", "", "--appendonly", "no"],
}


def bench(port, test, requests):
    subprocess.run(["redis-benchmark", "-p", str(port), "-t", test, "-P", "16", "-c", "50", "-n", str(requests),
                    "-r", "100000", "-d", "3", "-q"], capture_output=True, timeout=1800, check=True)


def total_instructions(name, test, requests, prefill):
    """Instructions callgrind counted over a whole server run."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *SERVERS[name],
                                 "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, f"{name} under valgrind", seconds=120)
            if test in PREFILL:
                bench(port, PREFILL[test], prefill)
            bench(port, test, requests)
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=120)
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        summary = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True, check=True).stdout
        match = re.search(r"^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", summary, re.M)
        if not match:
            raise SystemExit(f"no totals from callgrind for {name} {test}")
        return int(match.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n1", type=int, default=20000)
    ap.add_argument("--n2", type=int, default=120000)
    ap.add_argument("--tests", default=",".join(t for t, _ in TESTS), help="comma-separated redis-benchmark tests")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()
    wanted = args.tests.split(",")
    rows = []
    for test, label in TESTS:
        if test not in wanted:
            continue
        per = {}
        for name in SERVERS:
            a = total_instructions(name, test, args.n1, args.n2)
            b = total_instructions(name, test, args.n2, args.n2)
            per[name] = (b - a) / (args.n2 - args.n1)
        rows.append((label, per["ferrokv"], per["redis"]))
        print(f"{label:16} ferrokv {per['ferrokv']:8.0f}  redis {per['redis']:8.0f}  ratio {per['ferrokv'] / per['redis']:.2f}", flush=True)
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2].removeprefix("v=")
    lines = [
        "## Instructions per request (callgrind)",
        "",
        f"Command: `bench/run-instructions --n1 {args.n1} --n2 {args.n2}`. User-space instructions one request costs, "
        f"from two callgrind runs per server (N2 − N1 requests apart), pipeline 16, 50 clients, 3-byte values, "
        f"Debian's redis-server {version}. Repeatable to the instruction whatever else the machine does, unlike "
        "the timings above; the kernel's part (the same reads and writes for both) is not counted.",
        "",
        "| test | ferrokv | redis | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {label} | {f:,.0f} | {r:,.0f} | {f / r:.2f} |" for label, f, r in rows]
    replace_block(args.out, "instructions", lines)


if __name__ == "__main__":
    sys.exit(main())
