"""Starts a real ferrokv-server on a free 127.0.0.1 port for each test module."""
import os
import subprocess
import tempfile
import time

import pytest
import redis

from support import free_port, wait_port  # noqa: F401  (re-exported for the tests)

SERVER = os.environ.get("FERROKV_SERVER", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "ferrokv-server"))


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        proc = subprocess.Popen([SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, "ferrokv-server")
        except BaseException:
            proc.kill()
            raise
        yield port
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(server, request):
    client = redis.Redis(port=server, protocol=request.param, socket_timeout=10, decode_responses=True)
    client.flushall()
    yield client
    client.close()
