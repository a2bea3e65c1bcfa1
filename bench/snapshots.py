"""Snapshots and replication, ferrokv vs Redis 7.0, side by side in one run.

- BGSAVE of a ~1 GB dataset while redis-benchmark writes: how long it
  takes, the worst latency a probe client sees during it, and the extra
  memory it costs (ferrokv: peak RSS growth of the process; Redis: the
  fork's copy-on-write, `current_cow_peak`/`rdb_last_cow_size`).
- Full sync of that dataset to a fresh replica: seconds and MB/s (RDB size
  over time from REPLICAOF to a synced link).
- Primary throughput (SET, pipeline 16) with 0, 1 and 2 replicas, and the
  replica's lag in bytes while that load runs.

Results replace the "Snapshots and replication" section of
docs/benchmarks.md (bench/bench.py keeps it when it rewrites the rest).
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import FERROKV, ROOT, Server, fmt_ratio  # noqa: E402
from report import replace_block  # noqa: E402

NOTES = """
What these numbers say (see docs/persistence.md for the design):

- **BGSAVE** captures per key: a command about to change a key the save
  still needs encodes that key's record on the spot (so the old value is
  freed as soon as the command replaces it), the walker takes the rest in
  chunks of 512 (at most 8 Ki of its entries wait for the writer thread), so
  no command waits for more than a chunk: the worst latency is below
  Redis's (whose fork pauses the parent), and the extra memory is what is
  encoded or queued but not yet written, against Redis's copy-on-write of
  every page the load touches. redis-benchmark's values are runs of `x`, so
  the records encoded on a command's path are LZF-compressed to a few dozen
  bytes; with incompressible values each would cost its own size until
  written (still freeing the old value at once). The save itself takes
  longer than Redis's: one writer thread encodes and compresses.
- **Full sync**: DEBUG POPULATE's values are zero-padded, so the RDB is
  small (LZF); the time is dominated by producing and loading the snapshot.
- **Replicas**: ferrokv's replicas apply the log as it comes (lag within
  a few hundred KB; Redis's lag has ranged from tens of KB to tens of MB
  across runs, its replicas catching up after). On this 2-core machine the
  replicas compete with the primary for the cores, which is most of the
  throughput drop for both; the log append (one mutex, one argument copy
  per write) is the next thing to measure.
"""



class Resp:
    """A minimal blocking RESP client (for polling without forking redis-cli)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in (x if isinstance(x, bytes) else str(x).encode() for x in args))
        self.sock.sendall(out)
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 16)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return rest.decode()
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 16)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode(errors="replace")
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise RuntimeError(f"bad reply {line!r}")

    def info(self, section):
        return dict(l.split(":", 1) for l in self.call("info", section).splitlines() if ":" in l)


def start(name, extra):
    if name == "ferrokv":
        return Server("ferrokv", [FERROKV, "--save", "", "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"] + extra)
    # Both wait repl-diskless-sync-delay (5 s) for more replicas before a
    # full sync; 0 measures the transfer itself.
    return Server("redis", ["redis-server", "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"] + extra)


def populate(server, keys, size):
    c = Resp(server.port)
    c.call("debug", "populate", keys, "key", size)
    return c


def populate_for_overwrites(server, keys, size):
    """SET the keys redis-benchmark -r picks from (key:%012d), so that its
    load overwrites keys of the snapshot instead of adding new ones."""
    value = b"x" * size
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        batch = 2000
        for first in range(0, keys, batch):
            n = min(batch, keys - first)
            sock.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n" % (i, size, value) for i in range(first, first + n)))
            got = b""
            while got.count(b"\r\n") < n:
                got += sock.recv(1 << 16)
    return Resp(server.port)


def bgsave_under_load(name, keys, size):
    s = start(name, [])
    try:
        c = populate_for_overwrites(s, keys, size)
        load = subprocess.Popen(["redis-benchmark", "-p", str(s.port), "-t", "set", "-d", str(size), "-r", str(keys), "-c", "20", "-n", "100000000", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe_stop, worst, window = threading.Event(), [0.0], [False]

        def probe():
            p = Resp(s.port)
            while not probe_stop.is_set():
                t0 = time.perf_counter()
                p.call("set", "probe", "x")
                dt = time.perf_counter() - t0
                if window[0]:
                    worst[0] = max(worst[0], dt)
                time.sleep(0.001)

        t = threading.Thread(target=probe)
        t.start()
        time.sleep(2)
        rss_before = s.rss()
        used_before = int(c.info("memory")["used_memory"])
        peak_rss, cow_peak = rss_before, 0
        window[0] = True
        t0 = time.monotonic()
        assert c.call("bgsave") == "Background saving started"
        while True:
            info = c.info("persistence")
            peak_rss = max(peak_rss, s.rss())
            cow_peak = max(cow_peak, int(info.get("current_cow_peak", 0)), int(info.get("current_cow_size", 0)))
            if info["rdb_bgsave_in_progress"] == "0":
                break
            time.sleep(0.01)
        seconds = time.monotonic() - t0
        window[0] = False
        info = c.info("persistence")
        cow_peak = max(cow_peak, int(info.get("rdb_last_cow_size", 0)))
        probe_stop.set()
        t.join()
        load.terminate()
        load.wait()
        status = info["rdb_last_bgsave_status"]
        used = int(c.info("memory")["used_memory"])
        # Ours: RSS growth, less what the dataset itself grew by meanwhile
        # (a key the load adds is not in the snapshot and costs it nothing).
        extra = cow_peak if name == "redis" else peak_rss - rss_before - max(0, used - used_before)
        return {"seconds": seconds, "worst_ms": worst[0] * 1000, "extra": extra, "used": used, "status": status}
    finally:
        s.stop()


def replicate(replica, primary):
    """REPLICAOF `primary` on `replica`; seconds until its link is up and
    synced."""
    rc = Resp(replica.port)
    t0 = time.monotonic()
    rc.call("replicaof", "127.0.0.1", primary.port)
    while True:
        info = rc.info("replication")
        if info.get("master_link_status") == "up" and info.get("master_sync_in_progress") == "0":
            return time.monotonic() - t0
        time.sleep(0.01)


def full_sync(name, keys, size):
    p = start(name, [])
    r = None
    try:
        c = populate(p, keys, size)
        c.call("save")
        rdb = os.path.getsize(os.path.join(p.dir.name, "dump.rdb"))
        r = start(name, [])
        seconds = replicate(r, p)
        return {"seconds": seconds, "mbps": rdb / seconds / 1e6, "rdb": rdb}
    finally:
        if r:
            r.stop()
        p.stop()


def throughput_with_replicas(name, replicas, requests):
    p = start(name, [])
    rs = []
    try:
        for _ in range(replicas):
            rs.append(start(name, ["--replicaof", "127.0.0.1", str(p.port)]))
        for r in rs:
            rc = Resp(r.port)
            while rc.info("replication").get("master_link_status") != "up":
                time.sleep(0.02)
        lag, stop = [0], threading.Event()

        def sample():
            pc = Resp(p.port)
            rcs = [Resp(r.port) for r in rs]
            while not stop.is_set():
                primary = int(pc.info("replication")["master_repl_offset"])
                for rc in rcs:
                    lag[0] = max(lag[0], primary - int(rc.info("replication")["slave_repl_offset"]))
                time.sleep(0.05)

        t = threading.Thread(target=sample)
        if rs:
            t.start()
        out = subprocess.run(["redis-benchmark", "-p", str(p.port), "-t", "set", "-P", "16", "-c", "50", "-n", str(requests), "-r", "100000", "--csv"],
                             capture_output=True, text=True, timeout=600)
        stop.set()
        if rs:
            t.join()
        line = [l for l in out.stdout.splitlines() if l.startswith('"SET"')][-1]
        rps = float(line.split('","')[1])
        catch_up = 0.0
        if rs:
            t0 = time.monotonic()
            pc = Resp(p.port)
            while any(Resp(r.port).info("replication")["slave_repl_offset"] != pc.info("replication")["master_repl_offset"] for r in rs):
                time.sleep(0.01)
            catch_up = time.monotonic() - t0
        return {"rps": rps, "lag": lag[0], "catch_up": catch_up}
    finally:
        for r in rs:
            r.stop()
        p.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000, help="keys in the dataset (of --size bytes each)")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    args = ap.parse_args()
    if args.quick:
        args.keys, args.requests = 50_000, 100_000
    res = {}
    for name in ("ferrokv", "redis"):
        res[("bgsave", name)] = bgsave_under_load(name, args.keys, args.size)
        print(name, "bgsave", res[("bgsave", name)], flush=True)
    for name in ("ferrokv", "redis"):
        res[("sync", name)] = full_sync(name, args.keys, args.size)
        print(name, "full sync", res[("sync", name)], flush=True)
    for n in (0, 1, 2):
        for name in ("ferrokv", "redis"):
            res[(n, name)] = throughput_with_replicas(name, n, args.requests)
            print(name, n, "replicas", res[(n, name)], flush=True)
    write(args, res)


def write(args, res):
    gb = args.keys * args.size / 1e9
    f, r = res[("bgsave", "ferrokv")], res[("bgsave", "redis")]
    fs, rs = res[("sync", "ferrokv")], res[("sync", "redis")]
    lines = [
        "## Snapshots and replication",
        "",
        f"Command: `bench/run-snapshots --keys {args.keys} --size {args.size} --requests {args.requests}` "
        f"(dataset: {args.keys:,} keys of {args.size} B, ~{gb:.2f} GB of values; one run, same machine as above). "
        "Redis runs with its defaults (diskless full sync) except `repl-diskless-sync-delay 0`.",
        "",
        "BGSAVE while redis-benchmark overwrites the dataset's keys (SET, 20 clients, `-r` over the same key names); "
        "a probe client's worst SET latency during the save. Our extra memory is RSS growth less what `used_memory` grew by.",
        "",
        "| | ferrokv | redis | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| BGSAVE time (s) | {f['seconds']:.2f} | {r['seconds']:.2f} | {fmt_ratio(f['seconds'], r['seconds'])} |",
        f"| worst probe latency during BGSAVE (ms) | {f['worst_ms']:.1f} | {r['worst_ms']:.1f} | {fmt_ratio(f['worst_ms'], r['worst_ms'])} |",
        f"| extra memory during BGSAVE (MB; ours: RSS growth, Redis: fork copy-on-write) | {f['extra'] / 1e6:.0f} | {r['extra'] / 1e6:.0f} | {fmt_ratio(f['extra'], r['extra'])} |",
        f"| used_memory of the dataset (MB) | {f['used'] / 1e6:.0f} | {r['used'] / 1e6:.0f} | {fmt_ratio(f['used'], r['used'])} |",
        f"| full sync to a fresh replica (s) | {fs['seconds']:.2f} | {rs['seconds']:.2f} | {fmt_ratio(fs['seconds'], rs['seconds'])} |",
        f"| full sync rate (MB/s of RDB) | {fs['mbps']:.0f} | {rs['mbps']:.0f} | {fmt_ratio(fs['mbps'], rs['mbps'])} |",
        "",
        f"Primary throughput, SET pipeline 16, 50 clients, {args.requests:,} requests; replicas on the same machine. "
        "Lag: the largest gap between the primary's offset and a replica's seen while the load ran (sampled every 50 ms); "
        "catch-up: time for every replica to reach the primary's offset after the load.",
        "",
        "| replicas | ferrokv rps | redis rps | ratio | max lag, bytes (f / r) | catch-up s (f / r) |",
        "| ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for n in (0, 1, 2):
        a, b = res[(n, "ferrokv")], res[(n, "redis")]
        lines.append(f"| {n} | {a['rps']:,.0f} | {b['rps']:,.0f} | {fmt_ratio(a['rps'], b['rps'])} | {a['lag']:,} / {b['lag']:,} | {a['catch_up']:.2f} / {b['catch_up']:.2f} |")
    lines += ["", NOTES.strip("\n"), ""]
    replace_block(args.out, "snapshots", lines)


if __name__ == "__main__":
    sys.exit(main())
