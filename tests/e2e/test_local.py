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
        redis.Redis(port=7001).set("k", "v")
        until(lambda: redis.Redis(port=7003).get("k") == b"v", 10, "replication")
    finally:
        subprocess.run([CLUSTER, "stop"], check=True)
    pids = [f for f in os.listdir(run) if f.endswith(".pid")]
    assert not pids, pids
    until(lambda: all(subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{p}"], capture_output=True).returncode != 0 for p in (7001, 27001)), 10, "processes still listening")
