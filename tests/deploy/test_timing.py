"""zoo.deploy.verify's interleaved timing: turns in alternating order, and the speed of one
call over the other with its interval, from a clock the test controls."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.deploy import verify
from zoo.formatting import ratio_text


@pytest.fixture
def clock(monkeypatch):
    """Each call returns the seconds it "took": `_seconds` reads them instead of a clock,
    and the order of the timed calls is kept."""
    order: list[str] = []

    def seconds(call, x):
        name, took = call(x)
        order.append(name)
        return took

    monkeypatch.setattr(verify, "_seconds", seconds)
    return order


def _calls(a_times, b_times):
    """Two calls whose timed runs take the given seconds in turn (after one warm-up each
    at batch 1 and at the batch size, which are not timed)."""
    made = {}
    for name, times in (("a", a_times), ("b", b_times)):
        it = iter(times)
        made[name] = lambda x, name=name, it=it: (name, next(it, 0.0))
    return made


def _warm(times):
    return [0.0, 0.0, *times]  # the two warm-up calls' return values are not timed


def test_turns_alternate_their_order_and_pair_by_position(clock):
    x = np.zeros((8, 2), "float32")
    calls = _calls(_warm([2e-3] * 4 + [4e-3] * 3), _warm([1e-3] * 4 + [2e-3] * 3))
    timing = verify.interleaved_timing(calls, x, batch_size=8, repeats=4)
    assert clock == ["a", "b", "b", "a"] * 2 + ["a", "b", "b", "a", "a", "b"]
    assert len(timing["a"].latency_s) == 4 and len(timing["a"].batch_s) == 3
    assert timing["a"].p50_ms == pytest.approx(2.0) and timing["b"].samples_per_s == 4000
    assert "latency_s" not in timing["a"].to_dict()  # the samples stay out of the JSON


def test_a_call_twice_as_fast_is_faster_with_an_interval_around_2(clock):
    rng = np.random.default_rng(0)
    a = list(2e-3 * np.exp(rng.normal(0, 0.05, 50)))
    b = list(1e-3 * np.exp(rng.normal(0, 0.05, 50)))
    calls = _calls(_warm(a + a[:10]), _warm(b + b[:10]))
    timing = verify.interleaved_timing(calls, np.zeros((4, 2)), batch_size=4, repeats=50)
    s = verify.speedup(timing["a"], timing["b"])
    lat = s["latency"]
    assert lat["low"] < 2 < lat["high"] and lat["high"] / lat["low"] < 1.1
    assert lat["verdict"] == "faster" and lat["repeats"] == 50
    assert s["throughput"]["repeats"] == 10 and s["throughput"]["verdict"] == "faster"
    assert ratio_text(lat, "turns").endswith("] faster")


def test_equal_calls_are_no_difference_and_say_how_many_turns_would_tell(clock):
    rng = np.random.default_rng(1)
    a = list(1e-3 * np.exp(rng.normal(0, 0.3, 13)))
    b = list(1.02e-3 * np.exp(rng.normal(0, 0.3, 13)))
    calls = _calls(_warm(a), _warm(b))
    timing = verify.interleaved_timing(calls, np.zeros((4, 2)), batch_size=4, repeats=10)
    lat = verify.speedup(timing["a"], timing["b"])["latency"]
    assert lat["low"] < 1 < lat["high"] and lat["verdict"] == "no difference detected"
    assert lat["repeats_needed"] > 10
    text = ratio_text(lat, "turns")
    assert "no difference detected (about" in text and "turns would tell)" in text
