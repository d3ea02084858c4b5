"""zoo.stats: the t quantile against table values, ratio intervals worked by hand, verdicts
and the regression rule."""

from __future__ import annotations

import math

import pytest

from zoo import stats


@pytest.mark.parametrize(
    "p, df, table",
    [
        (0.975, 1, 12.706),
        (0.975, 2, 4.303),
        (0.975, 3, 3.182),
        (0.975, 5, 2.571),
        (0.975, 10, 2.228),
        (0.975, 30, 2.042),
        (0.975, 120, 1.980),
        (0.95, 4, 2.132),
        (0.995, 5, 4.032),
        (0.9995, 1, 636.619),
    ],
)
def test_the_t_quantile_matches_the_printed_table(p, df, table):
    assert stats.t_quantile(p, df) == pytest.approx(table, abs=1e-3)
    assert stats.t_quantile(1 - p, df) == pytest.approx(-table, abs=1e-3)
    assert stats.t_cdf(stats.t_quantile(p, df), df) == pytest.approx(p, abs=1e-9)


def test_the_t_distribution_takes_fractional_degrees_and_tends_to_the_normal():
    between = stats.t_quantile(0.975, 7.5)  # Welch's degrees of freedom are not whole
    assert stats.t_quantile(0.975, 8) < between < stats.t_quantile(0.975, 7)
    assert stats.t_quantile(0.975, 1e7) == pytest.approx(1.95996, abs=1e-4)
    assert stats.t_cdf(0.0, 3) == 0.5


def test_the_incomplete_beta_function_matches_closed_forms():
    # I_0.4(2, 3) = P(Binomial(4, 0.4) >= 2)
    assert stats.betainc(2, 3, 0.4) == pytest.approx(0.5248, abs=1e-12)
    assert stats.betainc(1, 1, 0.3) == pytest.approx(0.3)
    assert stats.betainc(2.5, 1, 0.6) == pytest.approx(0.6**2.5)
    assert stats.betainc(3, 3, 0.5) == pytest.approx(0.5)


def test_a_paired_ratio_is_a_t_interval_on_per_repeat_log_ratios():
    # log-ratios: ln 1.1 + (0, +ln 1.1, -ln 1.1): mean ln 1.1, sd ln 1.1, t(0.975, 2) = 4.3027
    r = stats.paired([100.0, 100.0, 100.0], [110.0, 121.0, 100.0])
    half = 4.302653 * math.log(1.1) / math.sqrt(3)
    assert r.ratio == pytest.approx(1.1)
    assert (r.low, r.high) == pytest.approx((1.1 * math.exp(-half), 1.1 * math.exp(half)))
    assert r.verdict == "no difference detected" and r.method == "paired" and r.repeats == 3


def test_an_unpaired_ratio_is_welchs_interval_on_the_logs():
    a = [100 * math.exp(x) for x in (0.0, 0.1, 0.2)]
    b = [x * math.exp(0.5) for x in reversed(a)]
    r = stats.unpaired(a, b)
    # equal spreads (sd 0.1) and counts: Welch's degrees of freedom are 2 (n - 1) = 4
    half = 2.776445 * math.sqrt(2 * 0.01 / 3)
    assert r.ratio == pytest.approx(math.exp(0.5))
    assert (r.low, r.high) == pytest.approx((math.exp(0.5 - half), math.exp(0.5 + half)))
    assert r.verdict == "faster" and r.decided() and r.repeats_needed() == 3


def test_a_regression_needs_the_whole_interval_beyond_the_threshold():
    base = [100.0, 105.0, 95.0, 102.0, 98.0]
    slow = stats.unpaired(base, [0.7 * x for x in (101.0, 96.0, 104.0, 99.0, 100.0)])
    assert slow.verdict == "slower" and slow.high < 0.8
    assert slow.regressed(5) and slow.decided(5)
    assert not slow.regressed(30) and not slow.decided(30)  # the interval holds 0.7
    assert not slow.regressed(40) and slow.decided(40)  # all of it above 0.6
    noisy = stats.unpaired(base, [80.0, 120.0, 90.0, 110.0, 100.0])
    assert noisy.verdict == "no difference detected" and not noisy.regressed(5)
    assert not noisy.decided(5)
    assert stats.unpaired(base, base).verdict == "no difference detected"


def test_too_few_repeats_give_no_interval_and_never_a_regression():
    r = stats.unpaired([100.0], [50.0])
    assert r.verdict == "too few repeats" and r.low is None and r.high is None
    assert r.ratio == pytest.approx(0.5) and not r.regressed(5) and r.repeats_needed(5) is None
    assert r.fields("speedup") == {
        "speedup_low": None,
        "speedup_high": None,
        "speedup_verdict": "too few repeats",
        "speedup_repeats_needed": None,
    }
    steady = stats.paired([1.0, 1.0], [2.0, 2.0])  # no spread: the interval is a point
    assert (steady.low, steady.high, steady.verdict) == (2.0, 2.0, "faster")


def test_repeats_needed_is_the_fewest_that_would_decide():
    r = stats.paired([100.0] * 4, [97.0, 99.0, 103.0, 97.0])  # about 1% slower, 3% noise
    assert r.verdict == "no difference detected"
    n = r.repeats_needed()
    assert n is not None and n > 4
    sd = math.sqrt(r.variances[0])
    margin = abs(r.center)

    def width(k):
        return stats.t_quantile(0.975, k - 1) * sd / math.sqrt(k)

    assert width(n) < margin <= width(n - 1)
    assert stats.paired([1.0, 2.0], [2.0, 1.0]).repeats_needed() is None  # exactly 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: stats.paired([1.0, 2.0], [1.0]), "one length"),
        (lambda: stats.unpaired([1.0, 0.0], [1.0]), "positive"),
        (lambda: stats.unpaired([], [1.0]), "each side"),
        (lambda: stats.paired([1.0], [1.0], confidence=1.0), "confidence"),
        (lambda: stats.t_quantile(1.0, 3), "between 0 and 1"),
    ],
)
def test_bad_input_is_a_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
