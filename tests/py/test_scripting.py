"""Lua scripting through redis-py as applications use it: Script objects
(EVALSHA with a fallback to EVAL on NOSCRIPT), and redis-py's Lock, whose
acquire, extend and release are Lua scripts."""
import threading

import pytest
from redis.exceptions import LockError, NoScriptError, ResponseError


def test_register_script_falls_back_to_eval_and_caches(r):
    r.script_flush()
    incr_by = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert incr_by(keys=["counter"], args=[5]) == 5
    assert incr_by(keys=["counter"], args=[2]) == 7
    assert r.script_exists(incr_by.sha) == [True]
    r.script_flush()
    with pytest.raises(NoScriptError):
        r.evalsha(incr_by.sha, 1, "counter", 1)
    assert incr_by(keys=["counter"], args=[1]) == 8


def test_script_errors_reach_the_client(r):
    with pytest.raises(ResponseError, match="Unknown Redis command called from script"):
        r.eval("return redis.call('nosuch')", 0)
    r.set("s", "v")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        r.eval("return redis.call('lpush', KEYS[1], 'x')", 1, "s")
    assert r.eval("return redis.pcall('lpush', KEYS[1], 'x')['err'] ~= nil", 1, "s") == 1


def test_lock_is_exclusive_extends_and_releases(r):
    lock = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert lock.acquire()
    other = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert not other.acquire(), "a second holder got the lock"
    assert lock.extend(10)
    assert 5 < r.pttl("resource") <= 15000
    lock.release()
    with pytest.raises(LockError):
        lock.release()
    assert other.acquire()
    other.release()


def test_lock_serializes_threads(server):
    import redis

    client = redis.Redis(port=server, socket_timeout=10)
    client.delete("shared", "guarded")
    errors = []

    def work():
        c = redis.Redis(port=server, socket_timeout=10)
        try:
            for _ in range(20):
                with c.lock("guarded", timeout=5, blocking_timeout=10):
                    value = int(c.get("shared") or 0)
                    c.set("shared", value + 1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert int(client.get("shared")) == 80, "an increment was lost: the lock let two holders in"
