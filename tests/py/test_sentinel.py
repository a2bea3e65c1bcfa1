"""redis-py's Sentinel client against ferrokv-sentinel: master_for() for
writes and slave_for() for reads keep working, with the same client objects,
across a failover caused by killing the primary (kill -9)."""
import os
import subprocess
import tempfile
import time

import pytest
import redis
from redis.sentinel import Sentinel

from support import free_port, until, wait_port

BIN = os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug")
SERVER = os.environ.get("FERROKV_SERVER", os.path.join(BIN, "ferrokv-server"))
SENTINEL = os.environ.get("FERROKV_SENTINEL", os.path.join(BIN, "ferrokv-sentinel"))


@pytest.fixture
def cluster():
    procs, dirs = [], []

    def start(args):
        d = tempfile.TemporaryDirectory()
        dirs.append(d)
        port = free_port()
        p = subprocess.Popen([SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d.name, "--save", ""] + args,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_port(port, "ferrokv-server")
        return port, p

    primary, primary_proc = start([])
    replicas = [start(["--replicaof", "127.0.0.1", str(primary)])[0] for _ in range(2)]
    sentinels = []
    for _ in range(3):
        d = tempfile.TemporaryDirectory()
        dirs.append(d)
        port = free_port()
        conf = os.path.join(d.name, "sentinel.conf")
        with open(conf, "w") as f:
            f.write(f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {primary} 2\n"
                    "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 10000\n")
        procs.append(subprocess.Popen([SENTINEL, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port, "ferrokv-sentinel")
        sentinels.append(port)
    yield primary, primary_proc, replicas, sentinels
    for p in procs:
        p.kill()
        p.wait()
    for d in dirs:
        d.cleanup()


def test_master_for_and_slave_for_survive_a_failover(cluster):
    primary, primary_proc, replicas, sentinels = cluster
    sentinel = Sentinel([("127.0.0.1", p) for p in sentinels], socket_timeout=1.0, min_other_sentinels=1)
    until(lambda: len(sentinel.discover_slaves("mymaster")) == 2, 30, "replicas never discovered")
    until(lambda: all(len(redis.Redis(port=p).sentinel_sentinels("mymaster")) == 2 for p in sentinels), 30, "sentinels never met")
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", primary)
    master = sentinel.master_for("mymaster", socket_timeout=1.0, decode_responses=True)
    replica = sentinel.slave_for("mymaster", socket_timeout=1.0, decode_responses=True)
    master.set("k", "before")
    until(lambda: replica.get("k") == "before", 10, "read from a replica")

    primary_proc.kill()
    primary_proc.wait()
    written = []

    def write_after_failover():
        n = len(written)
        master.set(f"after:{n}", n)
        written.append(n)
        return len(written) >= 3

    until(write_after_failover, 60, "no write went through the Sentinel client after the primary died")
    new_primary = sentinel.discover_master("mymaster")
    assert new_primary[1] in replicas
    until(lambda: replica.get("after:0") == "0", 20, "the remaining replica does not follow the new primary")
    assert master.get("k") == "before"
