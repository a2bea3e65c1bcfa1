"""redis-py over TLS (ssl=True) with a client certificate, against a
ferrokv-server started with certificates made for the test (trustme)."""
import os
import ssl
import tempfile

import pytest
import redis
import trustme

from conftest import running_server
from support import free_port


@pytest.fixture(scope="module")
def tls_server():
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert("client")
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, blob in [("ca", ca.cert_pem), ("cert", cert.cert_chain_pems[0]), ("key", cert.private_key_pem),
                           ("client", client_cert.cert_chain_pems[0]), ("client_key", client_cert.private_key_pem)]:
            paths[name] = os.path.join(d, name + ".pem")
            blob.write_to_path(paths[name])
        port, tls_port = free_port(), free_port()
        tls = ["--tls-port", str(tls_port), "--tls-cert-file", paths["cert"], "--tls-key-file", paths["key"], "--tls-ca-cert-file", paths["ca"]]
        with running_server(d, port, *tls, wait_for=tls_port):
            yield tls_port, paths


@pytest.mark.parametrize("protocol", [2, 3])
def test_ssl_with_client_certificate(tls_server, protocol):
    port, paths = tls_server
    r = redis.Redis(port=port, protocol=protocol, ssl=True, ssl_ca_certs=paths["ca"], ssl_certfile=paths["client"],
                    ssl_keyfile=paths["client_key"], ssl_cert_reqs="required", socket_timeout=10, decode_responses=True)
    assert r.ping()
    r.set("tls:k", "v")
    assert r.get("tls:k") == "v"
    pipe = r.pipeline()
    for i in range(100):
        pipe.incr("tls:n")
    assert pipe.execute()[-1] == 100
    r.delete("tls:n")
    r.close()


def test_ssl_without_client_certificate_is_refused(tls_server):
    port, paths = tls_server
    r = redis.Redis(port=port, ssl=True, ssl_ca_certs=paths["ca"], socket_timeout=5)
    with pytest.raises((redis.ConnectionError, ssl.SSLError, OSError)):
        r.ping()


def test_acl_user_over_ssl(tls_server):
    port, paths = tls_server
    kw = dict(port=port, ssl=True, ssl_ca_certs=paths["ca"], ssl_certfile=paths["client"], ssl_keyfile=paths["client_key"],
              socket_timeout=10, decode_responses=True)
    admin = redis.Redis(**kw)
    admin.acl_setuser("app", enabled=True, passwords=["+s3cret"], keys=["app:*"], commands=["+@read", "+@write"])
    app = redis.Redis(username="app", password="s3cret", **kw)
    assert app.set("app:1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("other", "x")
    assert admin.acl_whoami() == "default"
    admin.acl_deluser("app")
    admin.close()


def test_big_replies_a_stalled_reader_and_pushes_over_ssl(tls_server):
    """Replies sealed at the end of a round and replies written while the
    client does not read (40 MB of pipelined GETs) reach it in order, as do
    pub/sub messages between batches."""
    port, paths = tls_server
    kw = dict(port=port, ssl=True, ssl_ca_certs=paths["ca"], ssl_certfile=paths["client"], ssl_keyfile=paths["client_key"],
              socket_timeout=30)
    r = redis.Redis(**kw)
    big = os.urandom(1 << 20)
    r.set("tls:big", big)
    pipe = r.pipeline(transaction=False)
    for _ in range(40):
        pipe.get("tls:big")
        pipe.incr("tls:seq")
    got = pipe.execute()
    assert all(g == big for g in got[0::2])
    assert got[1::2] == list(range(1, 41))
    sub = redis.Redis(**kw).pubsub()
    sub.subscribe("tls:ch")
    assert sub.get_message(timeout=10)["type"] == "subscribe"
    for i in range(200):
        r.publish("tls:ch", f"m{i}")
    messages = []
    for _ in range(200):
        m = sub.get_message(timeout=10)
        assert m is not None, f"only {len(messages)} messages arrived"
        messages.append(m["data"])
    assert messages == [f"m{i}".encode() for i in range(200)]
    sub.close()
    r.delete("tls:big", "tls:seq")
    r.close()
