"""Starts a real ferrokv-server on a free 127.0.0.1 port for each test module."""
import contextlib
import os
import subprocess
import tempfile
import time

import pytest
import redis

from support import free_port, wait_port  # noqa: F401  (re-exported for the tests)

SERVER = os.environ.get("FERROKV_SERVER", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "ferrokv-server"))


@contextlib.contextmanager
def running_server(data, port, *extra, wait_for=None):
    """ferrokv-server (or FERROKV_SERVER) on `port` with `data` as its
    directory, until the block ends; ready once `wait_for` (the port by
    default) accepts connections."""
    proc = subprocess.Popen([SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", data, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(wait_for or port, "ferrokv-server")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        with running_server(data, port):
            yield port


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(server, request):
    client = redis.Redis(port=server, protocol=request.param, socket_timeout=10, decode_responses=True)
    client.flushall()
    yield client
    client.close()
