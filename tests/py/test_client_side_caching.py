"""Client-side caching from redis-py's public API against ferrokv, as an
application builds it on Redis 7.0: a connection subscribed to
`__redis__:invalidate` (RESP2) and a reading connection whose CLIENT
TRACKING redirects there; a RESP3 reader gets the invalidations itself.

redis-py's own `cache_config` cache refuses any server older than 7.4
(Redis 7.0 included), so it cannot be the test here: the same protocol is
driven through the calls it is built on."""
import time

import redis


def wait_message(pubsub, within=5):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.1)
        if msg and msg["type"] == "message":
            return msg
    raise AssertionError("no invalidation arrived")


def test_resp2_redirect_to_a_subscriber(server):
    listener = redis.Redis(port=server, protocol=2, decode_responses=True)
    reader = redis.Redis(port=server, protocol=2, decode_responses=True, single_connection_client=True)
    writer = redis.Redis(port=server, decode_responses=True)
    pubsub = listener.pubsub()
    try:
        writer.flushall()
        pubsub.subscribe("__redis__:invalidate")
        pubsub.get_message(timeout=1)  # the subscribe confirmation
        listener_id = next(c["id"] for c in writer.client_list() if c["cmd"] == "subscribe")
        assert reader.client_tracking_on(clientid=int(listener_id)) in (True, "OK")
        assert reader.client_trackinginfo()[:2] == ["flags", ["on"]]
        writer.set("greeting", "hello")
        assert reader.get("greeting") == "hello"
        writer.set("greeting", "bonjour")
        msg = wait_message(pubsub)
        assert msg["channel"] == "__redis__:invalidate" and msg["data"] == ["greeting"]
        assert reader.get("greeting") == "bonjour"
        writer.flushdb()
        assert wait_message(pubsub)["data"] is None
        assert writer.info("clients")["tracking_clients"] == 1
        assert reader.client_tracking_off() in (True, "OK")
        assert writer.info("clients")["tracking_clients"] == 0
    finally:
        pubsub.close()
        for c in (listener, reader, writer):
            c.close()


def test_resp3_reader_gets_pushes(server):
    reader = redis.Redis(port=server, protocol=3, decode_responses=True, single_connection_client=True)
    writer = redis.Redis(port=server, decode_responses=True)
    seen = []
    try:
        reader.connection._parser.set_invalidation_push_handler(seen.append)
        assert reader.client_tracking_on(bcast=True, prefix=["user:"]) in (True, "OK")
        writer.set("user:1", "ada")
        writer.set("other", "x")
        deadline = time.monotonic() + 5
        while not seen:
            assert time.monotonic() < deadline, "no push arrived"
            reader.ping()
        assert seen[0] == ["invalidate", ["user:1"]]
    finally:
        reader.close()
        writer.close()
