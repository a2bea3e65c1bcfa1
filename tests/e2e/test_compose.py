"""End to end across containers: the compose cluster of deploy/ (three
nodes, three sentinels), a read-write split, `docker kill` of the primary
with a redis-py Sentinel client writing through it, the old primary
rejoining, a network partition of the primary, and `down -v` leaving
nothing behind. Every wait is bounded; failover times are printed.

Runs only where a Docker engine answers (scripts/test skips it otherwise).
"""
import os
import sys
import subprocess
import time

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "py"))
from support import content_digest, deploy_passwords, names_on_loopback, until  # noqa: E402
from redis.sentinel import Sentinel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE = ["docker-compose", "-f", os.path.join(ROOT, "deploy", "docker-compose.yml"), "-p", "ferrokve2e"]
NODES = {"node1": 7001, "node2": 7002, "node3": 7003}
SENTINELS = [27001, 27002, 27003]
PASSWORDS = {}


def node(port, **kw):
    """A node of the shipped cluster: every client logs in (deploy/setup)."""
    return redis.Redis(port=port, password=PASSWORDS["FERROKV_ADMIN_PASSWORD"], **kw)


def sentinel_client(port):
    return redis.Redis(port=port, password=PASSWORDS["FERROKV_SENTINEL_ADMIN_PASSWORD"])


def sentinels():
    return Sentinel([("127.0.0.1", p) for p in SENTINELS], socket_timeout=1.0, min_other_sentinels=1,
                    sentinel_kwargs={"password": PASSWORDS["FERROKV_SENTINEL_ADMIN_PASSWORD"]}, password=PASSWORDS["FERROKV_ADMIN_PASSWORD"])


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=300)


def container(service):
    return sh(*COMPOSE, "ps", "-q", service).stdout.strip()


@pytest.fixture(scope="module")
def cluster():
    sh(os.path.join(ROOT, "deploy", "build-image"))
    PASSWORDS.update(deploy_passwords())
    sh(*COMPOSE, "down", "-v", check=False)
    sh(*COMPOSE, "up", "-d")
    try:
        with names_on_loopback(set(NODES) | {f"sentinel{i}" for i in (1, 2, 3)}):
            until(lambda: all(node(p).ping() for p in NODES.values()) and all(sentinel_client(p).ping() for p in SENTINELS), 60, "cluster did not come up")
            # Safe defaults: no client gets in without a password.
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=NODES["node1"]).ping()
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=SENTINELS[0]).ping()
            yield
    finally:
        sh(*COMPOSE, "down", "-v", check=False)
        label = "label=com.docker.compose.project=ferrokve2e"
        left = sh("docker", "ps", "-a", "-q", "--filter", label).stdout.split()
        volumes = sh("docker", "volume", "ls", "-q", "--filter", label).stdout.split()
        networks = sh("docker", "network", "ls", "-q", "--filter", label).stdout.split()
        assert not (left or volumes or networks), f"compose down -v left containers {left}, volumes {volumes}, networks {networks}"



def primary_name(sentinel):
    host, _ = sentinel.discover_master("mymaster")
    return host


def cli(service, *args):
    """ferrokv-cli inside a container (reaches it even when it is cut off)."""
    port = str(NODES[service])
    return sh("docker", "exec", container(service), "/usr/local/bin/ferrokv-cli", "-p", port, *args, check=False).stdout.strip()


def test_compose_cluster_fails_over_and_heals(cluster):
    s = sentinels()
    until(lambda: len(s.discover_slaves("mymaster")) == 2, 60, "sentinels never saw both replicas")
    until(lambda: all(len(sentinel_client(p).sentinel_sentinels("mymaster")) == 2 for p in SENTINELS), 60, "sentinels never met")
    assert primary_name(s) == "node1"

    # Read-write split.
    master = s.master_for("mymaster", socket_timeout=1.0, decode_responses=True)
    until(lambda: master.set("greeting", "hello"), 30, "no write on the primary (min-replicas needs a replica)")
    for name in ("node2", "node3"):
        until(lambda: node(NODES[name], decode_responses=True).get("greeting") == "hello", 20, f"{name} never got the write")

    # docker kill the primary: a replica is promoted, the client keeps writing.
    sh("docker", "kill", container("node1"))
    t0 = time.monotonic()
    until(lambda: master.set("after-kill", "1"), 60, "no write through the Sentinel client after docker kill")
    print(f"\nfailover after docker kill: {time.monotonic() - t0:.2f} s")
    new = primary_name(s)
    assert new in ("node2", "node3")

    # The old primary comes back as a replica of the new one.
    sh(*COMPOSE, "start", "node1")
    until(lambda: cli("node1", "info", "replication").find(f"master_host:{new}") >= 0 and "master_link_status:up" in cli("node1", "info", "replication"), 60, "old primary did not rejoin")
    until(lambda: cli("node1", "get", "after-kill") == '"1"', 30, "old primary never caught up")

    # Partition the current primary away from everyone.
    network = "ferrokve2e_ferrokv"
    isolated = new
    sh("docker", "network", "disconnect", network, container(isolated))
    t0 = time.monotonic()
    until(lambda: primary_name(s) not in (isolated,), 60, "no failover on the majority side")
    until(lambda: master.set("after-partition", "1"), 60, "no write on the majority side")
    # (Sentinel waits 2 x failover-timeout before failing the same master
    # over again, as Redis does: most of this time is that wait.)
    print(f"failover after network partition: {time.monotonic() - t0:.2f} s")
    # The isolated old primary refuses writes once its replicas' acks are stale.
    until(lambda: cli(isolated, "set", "split", "brain").startswith("(error) NOREPLICAS"), 30, "the isolated primary kept accepting writes")
    sh("docker", "network", "connect", network, container(isolated))
    current = primary_name(s)

    def one_primary():
        roles = {n: ("role:master" in cli(n, "info", "replication")) for n in NODES}
        return sum(roles.values()) == 1 and roles[current]

    until(one_primary, 60, "not exactly one primary after the partition healed")
    # DEBUG is off in the shipped cluster: compare contents from outside.
    digests = lambda: {content_digest(node(NODES[n])) for n in NODES}  # noqa: E731
    until(lambda: len(digests()) == 1, 60, f"datasets did not converge: {digests()}")
    assert master.get("after-partition") == "1"


def kill9_process(service):
    """kill -9 of the node's server process itself (not `docker kill`): the
    restart policy brings the container back at once, before the sentinels'
    detection window."""
    pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", container(service)).stdout.strip()
    sh("kill", "-9", pid)


def test_a_crashed_node_restarts_with_its_data_and_its_role(cluster):
    s = sentinels()
    until(lambda: len(s.discover_slaves("mymaster")) == 2, 60, "sentinels do not see two replicas")
    primary = primary_name(s)
    master = s.master_for("mymaster", socket_timeout=1.0, decode_responses=True)
    for i in range(101):
        until(lambda: master.set(f"crash:{i}", i), 30, "write refused")
    until(lambda: master.execute_command("WAIT", 2, 1000) == 2, 30, "replicas did not acknowledge")

    # The primary crashes and is back within a second: with the AOF it
    # comes back with every write, so its replicas keep them too.
    kill9_process(primary)
    until(lambda: cli(primary, "ping") == "PONG", 60, "the crashed primary was not restarted")

    def everyone_has_them():
        p = primary_name(s)
        roles = {n: "role:master" in cli(n, "info", "replication") for n in NODES}
        return sum(roles.values()) == 1 and roles[p] and len({cli(n, "dbsize") for n in NODES}) == 1
    until(everyone_has_them, 90, "not one primary with every node holding the same keys")
    p = primary_name(s)
    assert all(node(NODES[p], decode_responses=True).get(f"crash:{i}") == str(i) for i in range(101)), "acknowledged writes lost"

    # A replica crashes: it comes back as a replica of the same primary
    # (its config file says so), not in the role of its first start.
    replica = next(n for n in NODES if n != p)
    kill9_process(replica)
    until(lambda: f"master_host:{p}" in cli(replica, "info", "replication") and "master_link_status:up" in cli(replica, "info", "replication"), 60, "the replica did not come back following the primary")
    assert cli(replica, "get", "crash:100") == '"100"'
