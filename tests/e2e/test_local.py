"""deploy/local/cluster: the compose topology as plain processes comes up
(one primary, two replicas, three sentinels that agree on the primary),
reports itself, and stops without leaving processes behind."""
import os
import sys
import subprocess
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "py"))
from support import until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER = os.path.join(ROOT, "deploy", "local", "cluster")


def test_local_cluster_starts_reports_and_stops():
    run = os.path.join(ROOT, "deploy", "local", "run")
    subprocess.run(["rm", "-rf", run], check=True)
    subprocess.run([CLUSTER, "start"], check=True, timeout=900, capture_output=True)
    try:
        until(lambda: [redis.Redis(port=p).role()[0] for p in (7001, 7002, 7003)] == [b"master", b"slave", b"slave"], 30, "roles")
        until(lambda: all(redis.Redis(port=p, decode_responses=True).sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", 7001) for p in (27001, 27002, 27003)), 30, "sentinels")
        until(lambda: all(len(redis.Redis(port=p).sentinel_slaves("mymaster")) == 2 for p in (27001, 27002, 27003)), 30, "replicas discovered")
        status = subprocess.run([CLUSTER, "status"], check=True, capture_output=True, text=True).stdout
        assert "node1      127.0.0.1:7001   up   master" in status, status
        assert "primary: 127.0.0.1:7001" in status, status
        # The replicas' first full sync starts after repl-diskless-sync-delay
        # (5 s, as Redis): until then min-replicas-to-write refuses writes.
        until(lambda: redis.Redis(port=7001).set("k", "v"), 30, "no write on the primary (min-replicas needs a replica)")
        until(lambda: redis.Redis(port=7003).get("k") == b"v", 10, "replication")
    finally:
        subprocess.run([CLUSTER, "stop"], check=True)
    pids = [f for f in os.listdir(run) if f.endswith(".pid")]
    assert not pids, pids
    until(lambda: all(subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{p}"], capture_output=True).returncode != 0 for p in (7001, 27001)), 10, "processes still listening")


def roles():
    return {p: redis.Redis(port=p, socket_timeout=1).role()[0] for p in (7001, 7002, 7003)}


def test_local_cluster_restarts_in_the_roles_sentinel_gave():
    """kill -9 of the primary, a failover, the old primary back and made a
    replica, then the whole cluster stopped and started: every node comes
    back in the role it last had (its config file, rewritten by Sentinel),
    with its data, and never as three primaries."""
    run = os.path.join(ROOT, "deploy", "local", "run")
    subprocess.run(["rm", "-rf", run], check=True)
    subprocess.run([CLUSTER, "start"], check=True, timeout=900, capture_output=True)
    try:
        until(lambda: list(roles().values()) == [b"master", b"slave", b"slave"], 30, "roles")
        until(lambda: all(len(redis.Redis(port=p).sentinel_slaves("mymaster")) == 2 and len(redis.Redis(port=p).sentinel_sentinels("mymaster")) == 2 for p in (27001, 27002, 27003)), 60, "sentinels never met")
        until(lambda: redis.Redis(port=7001).set("k", "v"), 30, "no write on the primary (min-replicas needs a replica)")
        until(lambda: redis.Redis(port=7001).execute_command("WAIT", 2, 1000) == 2, 10, "replication")
        with open(os.path.join(run, "node1.pid")) as f:
            os.kill(int(f.read()), 9)
        addr = lambda: redis.Redis(port=27002, decode_responses=True).sentinel_get_master_addr_by_name("mymaster")  # noqa: E731
        until(lambda: int(addr()[1]) in (7002, 7003), 60, "no failover")
        new = int(addr()[1])
        subprocess.run([CLUSTER, "start"], check=True, capture_output=True)
        until(lambda: roles() == {p: (b"master" if p == new else b"slave") for p in (7001, 7002, 7003)}, 60, "the old primary was not made a replica")
        until(lambda: redis.Redis(port=new).execute_command("WAIT", 2, 1000) == 2, 30, "replicas did not catch up")
        subprocess.run([CLUSTER, "stop"], check=True)
        until(lambda: all(subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{p}"], capture_output=True).returncode != 0 for p in (7001, 7002, 7003)), 20, "nodes did not stop")
        subprocess.run([CLUSTER, "start"], check=True, capture_output=True)
        expected = {p: (b"master" if p == new else b"slave") for p in (7001, 7002, 7003)}
        until(lambda: all(redis.Redis(port=p).ping() for p in (7001, 7002, 7003)), 20, "nodes did not restart")
        assert roles() == expected, "a restarted node took a role Sentinel had not given it"
        assert all(redis.Redis(port=p).get("k") == b"v" for p in (7001, 7002, 7003))
    finally:
        subprocess.run([CLUSTER, "stop"], check=True)
