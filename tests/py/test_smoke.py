"""redis-py against ferrokv: the same code a Redis user runs, unchanged."""
import threading

import pytest
import redis


def test_strings_and_counters(r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.set("k", "w", nx=True) is None
    assert r.set("n", 10, ex=100) is True
    assert r.incrby("n", 5) == 15
    assert 0 < r.ttl("n") <= 100
    assert r.incrbyfloat("f", 0.1) == pytest.approx(0.1)
    assert r.mset({"a": 1, "b": 2}) is True
    assert r.mget("a", "b", "missing") == ["1", "2", None]
    assert r.append("a", "x") == 2
    assert r.getrange("a", 0, 0) == "1"
    assert r.setbit("bits", 7, 1) == 0
    assert r.bitcount("bits") == 1
    assert r.bitfield("bf").incrby("u8", 0, 200).incrby("u8", 0, 100).execute() == [200, 44]


def test_keys_and_expiry(r):
    r.mset({"user:1": "a", "user:2": "b", "other": "c"})
    assert sorted(r.keys("user:*")) == ["user:1", "user:2"]
    assert sorted(r.scan_iter(match="user:*", count=1)) == ["user:1", "user:2"]
    assert r.exists("user:1", "nope") == 1
    assert r.type("other") == "string"
    assert r.rename("other", "renamed") is True
    assert r.expire("renamed", 50) is True
    assert r.persist("renamed") is True
    assert r.ttl("renamed") == -1
    assert r.copy("renamed", "copied") is True
    assert r.dbsize() == 4
    assert r.object("encoding", "renamed") == "embstr"
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("nope", "x")


def test_transactions_and_watch(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("t", 1).incr("t").get("t")
    assert pipe.execute() == [True, 2, "2"]
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"], decode_responses=True)
    with r.pipeline() as p:
        p.watch("t")
        other.set("t", 100)
        p.multi()
        p.set("t", 5)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("t") == "100"
    other.close()


def test_pubsub_across_connections(r):
    p = r.pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    received = []

    def listen():
        msg = p.get_message(ignore_subscribe_messages=True, timeout=5)
        received.append(msg)

    t = threading.Thread(target=listen)
    t.start()
    publisher = redis.Redis(port=r.connection_pool.connection_kwargs["port"], decode_responses=True)
    assert publisher.publish("news", "hello") == 1
    t.join(timeout=10)
    assert received and received[0]["data"] == "hello"
    assert publisher.pubsub_numsub("news") == [("news", 1)]
    p.close()
    publisher.close()


def test_server_commands(r):
    info = r.info()
    assert info["redis_version"] == "7.0.15"
    assert info["role"] == "master"
    assert "used_memory" in r.info("memory")
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert r.config_set("timeout", 0) is True
    assert r.client_setname("py") is True
    assert r.client_getname() == "py"
    assert any(c["name"] == "py" for c in r.client_list())
    assert r.ping() is True
    assert r.echo("hi") == "hi"
    assert isinstance(r.time()[0], int)
    assert r.command_count() > 80
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCMD")
