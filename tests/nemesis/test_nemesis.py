"""The short nemesis run of CI (tests/nemesis/nemesis.py has the suite;
bench/run-nemesis the long run): ferrokv loses no acknowledged write under
mixed faults, under kill -9 with `appendfsync always` beside busy loops,
and the same script against Redis 7.0 + Redis Sentinel (the oracle) is
run and reported beside it."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nemesis  # noqa: E402

PROFILE = os.environ.get("FERROKV_PROFILE", "debug")


def report(result):
    print("\n" + json.dumps({k: v for k, v in result.items() if k != "actions"}))
    print("actions: " + "; ".join(result.get("actions", [])))


def assert_safe(result):
    report(result)
    assert "error" not in result, f"{result['error']} (logs kept in {result['dir']})"
    assert result["acked"] > 0 and result["list_acked"] > 0, "no write was ever acknowledged"
    assert result["lost"] == 0, f"{result['lost']} acknowledged keys lost, e.g. {result['lost_sample']} (logs in {result['dir']})"
    assert result["list_lost"] == 0 and not result["list_anomalies"], f"lists: {result['list_lost']} lost, {result['list_anomalies']} (logs in {result['dir']})"
    assert result["primaries"] == 1
    assert result["digests_equal"], f"replicas differ from the primary (logs in {result['dir']})"


def test_ferrokv_mixed_faults_lose_nothing_acknowledged():
    assert_safe(nemesis.run("ferrokv", rounds=10, faults="mixed", profile=PROFILE))


def test_ferrokv_kill_rounds_under_cpu_pressure_with_appendfsync_always():
    assert_safe(nemesis.run("ferrokv", rounds=5, faults="kill", cpu_pressure=2, appendfsync="always", profile=PROFILE))


def test_redis_oracle_runs_the_same_script():
    result = nemesis.run("redis", rounds=5, faults="mixed")
    report(result)
    assert "error" not in result, result["error"]
    assert result["acked"] > 0 and result["primaries"] == 1
