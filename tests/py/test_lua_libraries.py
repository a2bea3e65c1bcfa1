"""Python libraries that run on Redis through Lua, unchanged against
ferrokv: `limits` (its moving-window and sliding-window strategies are Lua
scripts) and `dramatiq` (its Redis broker is one Lua dispatch script)."""
import threading
import time
import uuid

import pytest

limits = pytest.importorskip("limits")
dramatiq = pytest.importorskip("dramatiq")

from dramatiq.brokers.redis import RedisBroker  # noqa: E402
from limits import parse, storage, strategies  # noqa: E402


@pytest.fixture
def limiter_storage(server):
    s = storage.RedisStorage(f"redis://127.0.0.1:{server}")
    assert s.check()
    yield s
    s.reset()


@pytest.mark.parametrize("strategy", [strategies.MovingWindowRateLimiter, strategies.SlidingWindowCounterRateLimiter,
                                      strategies.FixedWindowRateLimiter])
def test_limits_strategies_allow_then_refuse(limiter_storage, strategy):
    limiter = strategy(limiter_storage)
    five_a_minute = parse("5/minute")
    key = uuid.uuid4().hex
    assert all(limiter.hit(five_a_minute, key) for _ in range(5))
    assert not limiter.hit(five_a_minute, key), "a sixth hit within the minute was allowed"
    assert limiter.test(five_a_minute, "someone-else")
    stats = limiter.get_window_stats(five_a_minute, key)
    assert stats.remaining == 0
    limiter.clear(five_a_minute, key)
    assert limiter.hit(five_a_minute, key)


def test_limits_moving_window_counts_cost(limiter_storage):
    limiter = strategies.MovingWindowRateLimiter(limiter_storage)
    ten_a_second = parse("10/second")
    assert limiter.hit(ten_a_second, "cost", cost=7)
    assert not limiter.hit(ten_a_second, "cost", cost=4)
    assert limiter.hit(ten_a_second, "cost", cost=3)
    assert limiter.get_window_stats(ten_a_second, "cost").remaining == 0


def test_dramatiq_redis_broker_runs_retries_and_dead_letters(server):
    broker = RedisBroker(host="127.0.0.1", port=server, namespace=f"dq-{uuid.uuid4().hex[:8]}")
    dramatiq.set_broker(broker)
    done, lock = [], threading.Lock()

    @dramatiq.actor(broker=broker, max_retries=0)
    def add(x, y):
        with lock:
            done.append(x + y)

    @dramatiq.actor(broker=broker, max_retries=0)
    def fail():
        raise RuntimeError("always")

    for i in range(20):
        add.send(i, 1)
    fail.send()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        broker.join(add.queue_name, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
    assert sorted(done) == list(range(1, 21))
    # The failed message went to the dead-letter queue (the script's `nack`).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and broker.client.zcard(f"{broker.namespace}:default.XQ") == 0:
        time.sleep(0.05)
    assert broker.client.zcard(f"{broker.namespace}:default.XQ") == 1
    broker.close()
