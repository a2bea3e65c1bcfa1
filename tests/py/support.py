"""Helpers shared by the Python tests (tests/py, tests/e2e, tests/nemesis):
free ports, bounded waits, and compose service names on the loopback."""
import contextlib
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
