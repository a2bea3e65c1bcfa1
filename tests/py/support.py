"""Helpers shared by the Python tests (tests/py, tests/e2e, tests/nemesis):
free ports, bounded waits, and compose service names on the loopback."""
import contextlib
import hashlib
import os
import socket
import time

import pytest
import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, seconds=10):
    """Waits (bounded) until something accepts connections on `port`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    pytest.fail(f"{what} did not start")


def until(check, seconds, what, every=0.1):
    """Retries `check` (connection errors count as "not yet") for at most
    `seconds`, then fails the test saying `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(every)
    pytest.fail(f"{what} (after {seconds} s)")


@contextlib.contextmanager
def names_on_loopback(names):
    """Resolves these host names to 127.0.0.1 while open: the sentinels of
    the compose cluster report service names, reached from the host on the
    same ports (published 1:1), as a user's /etc/hosts entry would make them."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host in names else host, *args, **kwargs)

    socket.getaddrinfo = resolve
    try:
        yield
    finally:
        socket.getaddrinfo = real


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def deploy_passwords():
    """The passwords deploy/setup generated (deploy/.env), by name:
    FERROKV_ADMIN_PASSWORD, FERROKV_SENTINEL_ADMIN_PASSWORD, ..."""
    out = {}
    with open(os.path.join(ROOT, "deploy", ".env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def content_digest(r):
    """A digest of a node's whole dataset, independent of how each value is
    laid out inside (what DEBUG DIGEST gives, for nodes where DEBUG is off):
    every key with its type, contents in a canonical order and whether it
    expires."""
    h = hashlib.sha1()
    for key in sorted(r.scan_iter(count=1000)):
        kind = r.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            value = r.get(key)
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(r.smembers(key))
        elif kind == "zset":
            value = r.zrange(key, 0, -1, withscores=True)
        elif kind == "hash":
            value = sorted(r.hgetall(key).items())
        elif kind == "stream":
            value = r.xrange(key)
        else:
            continue  # gone between SCAN and TYPE
        h.update(repr((key, kind, value, r.ttl(key) >= 0)).encode())
    return h.hexdigest()
