"""The nemesis suite's long run (tests/nemesis/nemesis.py): many mixed
rounds against ferrokv and against Redis 7.0 + Redis Sentinel on local
processes (with and without CPU pressure), and against the compose cluster
as shipped; the figures replace the "nemesis" section of docs/sentinel.md.

Each run is a fresh cluster; a run that fails keeps its logs and is
reported with its error."""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "nemesis"))
import nemesis  # noqa: E402
from report import replace_block  # noqa: E402


def row(r):
    name = {"ferrokv": "ferrokv", "redis": "Redis 7.0", "ferrokv-compose": "ferrokv (compose)"}[r["kind"]]
    where = "compose" if r["kind"] == "ferrokv-compose" else f"local, {r['cpu_pressure']} busy loops"
    if "error" in r:
        return f"| {name} | {where} | {r['rounds']} | — | — | — | — | failed: {r['error']} |"
    return (f"| {name} | {where} | {r['rounds']} | {r['acked'] + r['list_acked']:,} | {r['lost'] + r['list_lost']} | {r['failovers']} | "
            f"{r['primaries']} | {'equal' if r['digests_equal'] else 'DIFFER'}{'; ' + '; '.join(r['list_anomalies']) if r['list_anomalies'] else ''} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--runs", default="ferrokv,redis,ferrokv-cpu,redis-cpu,compose",
                    help="comma-separated: ferrokv, redis, ferrokv-cpu, redis-cpu (2 busy loops), compose; name:N runs N rounds")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "sentinel.md"))
    a = ap.parse_args()
    results = []
    for run in a.runs.split(","):
        run, _, n = run.partition(":")
        rounds = int(n) if n else a.rounds
        kind, _, cpu = run.partition("-")
        if kind == "compose":
            r = nemesis.run("ferrokv", rounds, "mixed", cluster="compose")
        else:
            r = nemesis.run(kind, rounds, "mixed", cpu_pressure=2 if cpu else 0, profile="release")
        print({k: v for k, v in r.items() if k != "actions"}, flush=True)
        results.append(r)
    lines = [
        f"Command: `bench/run-nemesis --rounds {a.rounds} --runs {a.runs}`. Mixed faults, one per 8 s round (kill -9 + restart after 5 s, "
        "crash + immediate restart, SIGSTOP of the primary 4 s, SIGSTOP of a replica 2 s, kill -9 of a sentinel, a replica "
        "restarted empty and killed during its full sync; on compose `docker kill`/`pause`, kill -9 of the server process "
        "inside its container, and a 4 s `docker network disconnect` of the primary instead of the resync kill). Writers: "
        "3 × `SET`+`WAIT 1 200`, 1 × `RPUSH`+`WAIT 1 200`, through redis-py's Sentinel client. Acknowledged = WAIT returned ≥ 1.",
        "",
        "| server | cluster | rounds | acknowledged | lost | failovers | primaries after heal | replicas' digests |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        *[row(r) for r in results],
    ]
    replace_block(a.out, "nemesis", lines)
    return 0 if all(r.get("ok") or r["kind"] == "redis" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
