"""Streams as Python users drive them: redis-py's stream and consumer-group
API (RESP2 and RESP3, whose reply shapes differ), and walrus's
TimeSeries-free helpers (Stream, ConsumerGroup) that applications build
work queues on."""
import threading
import time

import pytest
import redis
import walrus


def test_add_range_trim_delete(r):
    ids = [r.xadd("s", {"n": i}, id=f"{i + 1}-0") for i in range(5)]
    assert ids == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    auto = r.xadd("s", {"n": "auto"})
    ms, seq = auto.split("-")
    assert int(ms) > 1_600_000_000_000 and seq == "0"
    assert r.xlen("s") == 6
    assert r.xrange("s", min="2", max="3") == [("2-0", {"n": "1"}), ("3-0", {"n": "2"})]
    assert r.xrevrange("s", count=1)[0][0] == auto
    assert r.xdel("s", "1-0", "9-0") == 1
    assert r.xtrim("s", maxlen=2, approximate=False) == 3
    assert [e[0] for e in r.xrange("s")] == ["5-0", auto]
    assert r.xadd("s", {"x": "y"}, id="9999999999999-0", maxlen=1, approximate=False) == "9999999999999-0"
    assert r.xlen("s") == 1
    assert r.xadd("nothere", {"a": 1}, nomkstream=True) is None
    with pytest.raises(redis.ResponseError, match="equal or smaller"):
        r.xadd("s", {"a": 1}, id="1-0")
    assert r.type("s") == "stream"


def test_consumer_group_workflow(r):
    for i in range(6):
        r.xadd("jobs", {"job": i}, id=f"{i + 1}-0")
    assert r.xgroup_create("jobs", "workers", id="0") is True
    with pytest.raises(redis.ResponseError, match="BUSYGROUP"):
        r.xgroup_create("jobs", "workers", id="0")
    got = r.xreadgroup("workers", "alice", {"jobs": ">"}, count=2)
    entries = got["jobs"][0] if isinstance(got, dict) else got[0][1]
    assert [e[0] for e in entries] == ["1-0", "2-0"]
    r.xreadgroup("workers", "bob", {"jobs": ">"}, count=1)
    summary = r.xpending("jobs", "workers")
    assert summary["pending"] == 3 and summary["min"] == "1-0" and summary["max"] == "3-0"
    assert sorted((c["name"], c["pending"]) for c in summary["consumers"]) == [("alice", 2), ("bob", 1)]
    detail = r.xpending_range("jobs", "workers", min="-", max="+", count=10)
    assert [(d["message_id"], d["consumer"], d["times_delivered"]) for d in detail] == [("1-0", "alice", 1), ("2-0", "alice", 1), ("3-0", "bob", 1)]
    assert r.xack("jobs", "workers", "1-0") == 1
    claimed = r.xclaim("jobs", "workers", "carol", min_idle_time=0, message_ids=["2-0"])
    assert claimed == [("2-0", {"job": "1"})]
    # redis-py hands back only the IDs under JUSTID.
    assert r.xautoclaim("jobs", "workers", "dave", min_idle_time=0, start_id="0", justid=True) == ["2-0", "3-0"]
    cursor, taken, deleted = r.xautoclaim("jobs", "workers", "dave", min_idle_time=0, start_id="3-0")
    assert (cursor, taken, deleted) == ("0-0", [("3-0", {"job": "2"})], [])
    groups = r.xinfo_groups("jobs")
    assert groups[0]["name"] == "workers" and groups[0]["pending"] == 2 and groups[0]["last-delivered-id"] == "3-0"
    assert groups[0]["entries-read"] == 3 and groups[0]["lag"] == 3
    assert sorted(c["name"] for c in r.xinfo_consumers("jobs", "workers")) == ["alice", "bob", "carol", "dave"]
    info = r.xinfo_stream("jobs")
    assert info["length"] == 6 and info["first-entry"] == ("1-0", {"job": "0"}) and info["groups"] == 1
    full = r.xinfo_stream("jobs", full=True)
    assert len(full["entries"]) == 6 and full["groups"][0]["pel-count"] == 2
    assert r.xgroup_delconsumer("jobs", "workers", "dave") == 2
    assert r.xgroup_setid("jobs", "workers", id="0") is True
    assert r.xgroup_destroy("jobs", "workers") == 1


def test_blocking_read_is_woken_by_xadd(r, server):
    r.xadd("events", {"e": 0}, id="1-0")
    r.xgroup_create("events", "g", id="$")
    results = {}

    def wait():
        c = redis.Redis(port=server, protocol=r.connection_pool.connection_kwargs.get("protocol", 2), decode_responses=True, socket_timeout=10)
        results["xread"] = c.xread({"events": "$"}, block=5000)
        results["group"] = c.xreadgroup("g", "w", {"events": ">"}, block=5000)
        c.close()

    t = threading.Thread(target=wait)
    t.start()
    deadline = time.time() + 5
    while time.time() < deadline and int(r.info("clients")["blocked_clients"]) == 0:
        time.sleep(0.01)
    r.xadd("events", {"e": 1}, id="2-0")
    t.join(timeout=10)
    assert not t.is_alive()
    read = results["xread"]
    entries = read["events"][0] if isinstance(read, dict) else read[0][1]
    assert entries == [("2-0", {"e": "1"})]
    group = results["group"]
    entries = group["events"][0] if isinstance(group, dict) else group[0][1]
    assert entries == [("2-0", {"e": "1"})]
    assert r.xread({"events": "$"}, block=50) in (None, [], {})


def test_walrus_stream_and_consumer_group(server):
    db = walrus.Database(port=server)
    db.flushall()
    stream = db.Stream("orders")
    first = stream.add({"item": "apple"}, id="1-0")
    stream.add({"item": "pear"}, id="2-0")
    assert first == b"1-0"
    assert len(stream) == 2
    assert [m[1] for m in stream.range()] == [{b"item": b"apple"}, {b"item": b"pear"}]
    cg = db.consumer_group("cg", ["orders"], consumer="worker")
    cg.create()
    msgs = cg.read(count=10)
    assert [(name, [i for i, _ in items]) for name, items in msgs] == [(b"orders", [b"1-0", b"2-0"])]
    assert cg.orders.ack(b"1-0") == 1
    assert cg.orders.pending()[0]["message_id"] == b"2-0"
    claimed = cg.orders.claim(b"2-0", min_idle_time=0)
    assert [i for i, _ in claimed] == [b"2-0"]
    assert cg.stream_info()["orders"]["groups"] == 1
    assert [(c["name"], c["pending"]) for c in cg.orders.consumers_info()] == [(b"worker", 1)]
    cg.set_id("$")
    assert cg.read() == []
    stream.trim(0, approximate=False)
    assert len(stream) == 0
    cg.destroy()
