"""TLS and ACL costs, side by side with Redis 7.0 in one run:

- GET and SET over TLS (redis-benchmark --tls, 50 clients), pipeline 1 and
  16: ferrokv against Redis, both serving the same certificate (made for
  the run by trustme, never stored);
- a restricted ACL user (one key pattern, @read and @write) against the
  default user, SET and GET at pipeline 16, on each server: what the
  permission check costs.

Rounds alternate the servers; the median of each row is reported. Results
replace the "security" section of docs/benchmarks.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import FERROKV, ROOT, Server, free_port, median  # noqa: E402
from report import replace_block  # noqa: E402

import trustme  # noqa: E402


def certificates(d):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": os.path.join(d, "ca.crt"), "cert": os.path.join(d, "node.crt"), "key": os.path.join(d, "node.key")}
    ca.cert_pem.write_to_path(paths["ca"])
    cert.cert_chain_pems[0].write_to_path(paths["cert"])
    cert.private_key_pem.write_to_path(paths["key"])
    return paths


def start(name, tls_port, certs):
    args = ["--save", "", "--tls-port", str(tls_port), "--tls-cert-file", certs["cert"], "--tls-key-file", certs["key"],
            "--tls-ca-cert-file", certs["ca"], "--tls-auth-clients", "no"]
    if name == "ferrokv":
        return Server("ferrokv", [FERROKV] + args)
    return Server("redis", ["redis-server", "--appendonly", "no"] + args)


def rps(port, test, pipeline, requests, extra):
    argv = ["redis-benchmark", "-p", str(port), "-t", test, "-P", str(pipeline), "-c", "50", "-n", str(requests), "-r", "100000", "--csv", *extra]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    lines = [l for l in out.stdout.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"redis-benchmark failed: {' '.join(argv)}\n{out.stdout}{out.stderr}")
    return float(lines[-1].split('","')[1])


def measure(server, port, test, pipeline, requests, extra):
    """Requests per second and the server's CPU microseconds per request
    (every thread's on-CPU time: steadier than throughput on a machine the
    client shares)."""
    cpu0 = server.cpu_seconds()
    got = rps(port, test, pipeline, requests, extra)
    return got, (server.cpu_seconds() - cpu0) * 1e6 / requests


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--acl-requests", type=int, default=1000000, help="per ACL figure: pipeline 16 needs longer runs to be steady")
    args = ap.parse_args()
    tls_rows = {}
    acl_rows = {}
    with tempfile.TemporaryDirectory() as d:
        certs = certificates(d)
        tls_cli = ["--tls", "--cacert", certs["ca"]]
        # Both servers run side by side for a round and each figure is
        # taken from one then the other (the order alternating by round),
        # so the machine's drift over a run falls on both alike.
        for r in range(args.rounds):
            names = ["ferrokv", "redis"] if r % 2 == 0 else ["redis", "ferrokv"]
            servers = {}
            try:
                for name in names:
                    tls_port = free_port()
                    servers[name] = (start(name, tls_port, certs), tls_port)
                    servers[name][0].command("acl", "setuser", "bench", "on", ">bench-pw", "~key:*", "+@read", "+@write")
                for test in ("set", "get"):
                    for pipeline in (1, 16):
                        for name in names:
                            server, tls_port = servers[name]
                            tls_rows.setdefault((test, pipeline), {}).setdefault(name, []).append(measure(server, tls_port, test, pipeline, args.requests, tls_cli))
                users = [("default", []), ("restricted", ["--user", "bench", "-a", "bench-pw"])]
                for test in ("set", "get"):
                    # Each from the same state (SET creates, then GET reads,
                    # the keys), in alternating order by round.
                    for user, extra in (users if r % 2 == 0 else users[::-1]):
                        for name in names:
                            server, _ = servers[name]
                            server.command("flushall")
                            if test == "get":
                                rps(server.port, "set", 16, args.requests, [])
                            got = measure(server, server.port, test, 16, args.acl_requests, extra)
                            acl_rows.setdefault((test, user), {}).setdefault(name, []).append(got)
            finally:
                for server, _ in servers.values():
                    server.stop()
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    lines = [
        "## TLS and ACL users",
        "",
        f"`bench/run-security` ({args.rounds} rounds, both servers side by side, each figure taken from one then the other; rates are medians, ratios the median of each round's pair; {args.requests} requests, 50 clients, 3-byte values; "
        "both servers with the same certificate made for the run, `tls-auth-clients no`, no persistence, one I/O thread).",
        "",
        "| over TLS | ferrokv req/s | Redis 7.0 req/s | ferrokv/Redis | ferrokv CPU µs/req | Redis CPU µs/req | CPU ferrokv/Redis |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rate = lambda runs: median([r for r, _ in runs])  # noqa: E731
    cpu = lambda runs: median([c for _, c in runs])  # noqa: E731
    # Ratios are medians of each round's pair (the two figures taken back
    # to back): the drift between rounds cancels out.
    paired = lambda a, b, i: median([x[i] / y[i] for x, y in zip(a, b)])  # noqa: E731
    for (test, pipeline), by in tls_rows.items():
        f, r = by["ferrokv"], by["redis"]
        lines.append(f"| {test.upper()} pipeline {pipeline} | {rate(f):,.0f} | {rate(r):,.0f} | {paired(f, r, 0):.2f} | "
                     f"{cpu(f):.2f} | {cpu(r):.2f} | {paired(f, r, 1):.2f} |")
    lines += [
        "",
        "At pipeline 1 throughput is bound by round trips through redis-benchmark, whose own TLS work shares the two cores; "
        "the CPU columns show what each server spends per request.",
        "",
        f"A user restricted to `~key:*` with `+@read +@write` against the default user, pipeline 16, plain TCP, {args.acl_requests} requests a figure "
        "(throughput, and the server's CPU per request, whose change is the check's cost; default and restricted measured back to back):",
        "",
        "| test | server | default req/s | restricted req/s | restricted/default | default CPU µs/req | restricted CPU µs/req | CPU restricted/default |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for test in ("set", "get"):
        for name in ("ferrokv", "redis"):
            d, rr = acl_rows[(test, "default")][name], acl_rows[(test, "restricted")][name]
            lines.append(f"| {test.upper()} | {name} | {rate(d):,.0f} | {rate(rr):,.0f} | {paired(rr, d, 0):.2f} | "
                         f"{cpu(d):.2f} | {cpu(rr):.2f} | {paired(rr, d, 1):.2f} |")
    replace_block(os.path.join(ROOT, "docs", "benchmarks.md"), "security", lines)


if __name__ == "__main__":
    main()
