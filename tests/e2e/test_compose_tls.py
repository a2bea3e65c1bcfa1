"""The TLS variant of the compose cluster (deploy/docker-compose.tls.yml):
TLS on every link and the plain ports off, ACL users and passwords from
deploy/setup. A redis-py Sentinel client over TLS writes (acknowledged by
both replicas), the primary is `docker kill`ed, the sentinels fail over
over TLS, and every acknowledged write is on the new primary.

Runs only where a Docker engine answers (scripts/test skips it otherwise).
"""
import os
import subprocess
import sys
import time

import pytest
import redis
from redis.sentinel import Sentinel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "py"))
from support import deploy_passwords, names_on_loopback, until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMPOSE = ["docker-compose", "-f", os.path.join(ROOT, "deploy", "docker-compose.tls.yml"), "-p", "ferrokvtls"]
NODES = {"node1": 7001, "node2": 7002, "node3": 7003}
SENTINELS = [27001, 27002, 27003]
CERTS = os.path.join(ROOT, "deploy", "secrets", "tls", "certs")


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=300)


def tls():
    return {"ssl": True, "ssl_ca_certs": os.path.join(CERTS, "ca.crt"), "ssl_certfile": os.path.join(CERTS, "client.crt"),
            "ssl_keyfile": os.path.join(CERTS, "client.key")}


@pytest.fixture(scope="module")
def cluster():
    sh(os.path.join(ROOT, "deploy", "build-image"))
    passwords = deploy_passwords()
    sh(*COMPOSE, "down", "-v", check=False)
    sh(*COMPOSE, "up", "-d")
    try:
        with names_on_loopback(set(NODES) | {f"sentinel{i}" for i in (1, 2, 3)}):
            node = lambda p: redis.Redis(port=p, password=passwords["FERROKV_ADMIN_PASSWORD"], socket_timeout=2, **tls())  # noqa: E731
            sentinel = lambda p: redis.Redis(port=p, password=passwords["FERROKV_SENTINEL_ADMIN_PASSWORD"], socket_timeout=2, **tls())  # noqa: E731
            until(lambda: all(node(p).ping() for p in NODES.values()) and all(sentinel(p).ping() for p in SENTINELS), 90, "cluster did not come up over TLS")
            yield passwords, node, sentinel
    finally:
        sh(*COMPOSE, "down", "-v", check=False)


def test_tls_everywhere_and_a_failover(cluster):
    passwords, node, sentinel = cluster
    # No plain text anywhere, and no client without a certificate.
    with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
        redis.Redis(port=7001, socket_timeout=2).ping()
    with pytest.raises((redis.ConnectionError, redis.TimeoutError, OSError)):
        redis.Redis(port=7001, ssl=True, ssl_ca_certs=os.path.join(CERTS, "ca.crt"), socket_timeout=2).ping()
    until(lambda: all(len(sentinel(p).sentinel_slaves("mymaster")) == 2 and len(sentinel(p).sentinel_sentinels("mymaster")) == 2 for p in SENTINELS),
          90, "sentinels did not find the replicas and each other over TLS")
    s = Sentinel([("127.0.0.1", p) for p in SENTINELS], socket_timeout=1.0, min_other_sentinels=1,
                 sentinel_kwargs={"password": passwords["FERROKV_SENTINEL_ADMIN_PASSWORD"], **tls()})
    app = s.master_for("mymaster", socket_timeout=1.0, decode_responses=True, username="app", password=passwords["FERROKV_APP_PASSWORD"], **tls())
    old, _ = s.discover_master("mymaster")
    for i in range(50):
        until(lambda: app.set(f"app:tls:{i}", i), 30, "write refused")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("not-app", 1)
    until(lambda: app.execute_command("WAIT", 2, 1000) == 2, 30, "replicas did not acknowledge over TLS")
    started = time.monotonic()
    sh("docker", "kill", sh(*COMPOSE, "ps", "-q", old).stdout.strip())
    until(lambda: s.discover_master("mymaster")[0] != old, 60, "no failover over TLS")
    print(f"\nfailover over TLS after docker kill: {time.monotonic() - started:.2f} s")
    until(lambda: app.set("app:tls:after", 1), 30, "writes refused after the failover")
    assert all(app.get(f"app:tls:{i}") == str(i) for i in range(50)), "acknowledged writes lost"
