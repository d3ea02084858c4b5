"""Ratios of two measurements with a confidence interval and a verdict.

Every "is B faster than A?" the zoo answers (a speed-up over the baseline mode, the zoo
against a reference, quantized against float32, `zoo compare`) rests on a handful of
repeats on a noisy machine. This module turns those repeats into a ratio B/A, an interval
that holds the true ratio with a stated confidence (0.95 by default), and a verdict:
"faster" (the whole interval above 1), "slower" (the whole interval below 1) or "no
difference detected" (the interval holds 1); with under two repeats a side there is no
interval and the verdict is "too few repeats".

The method, and why:

- **Logs.** Speed is multiplicative: a 2x gain and a 0.5x loss are the same size. On log
  throughputs a ratio is a difference, symmetric around 1, and the interval exponentiated
  is a ratio interval that can never go below 0.
- **Paired** (`paired`), when A and B ran interleaved in one run (A B B A ..., repeat i of
  each close in time): the per-repeat log-ratios log(b_i / a_i), their mean and a Student
  t interval with n - 1 degrees of freedom. Pairing cancels a slow spell of the machine
  that hits both sides of a repeat.
- **Unpaired** (`unpaired`), for two separate runs (`zoo compare BASE NEW`): Welch's t
  interval on the difference of the mean logs, which does not assume equal spreads, with
  the Welch-Satterthwaite degrees of freedom.
- **t, not the bootstrap.** Benchmarks have 2 to 10 repeats. A bootstrap of 5 values can
  only resample those 5: its interval is too narrow (it never sees a value beyond the
  observed range) and jumps with each value. The t interval is exact for normal log
  times and widens honestly as n shrinks (t(0.975) is 12.7 with 2 repeats, 2.78 with 5).
- **A gate that does not cry wolf** (`Ratio.regressed`): a case regresses at a threshold
  of t percent only when the whole interval lies below 1 - t/100, that is, it is slower
  beyond the threshold with the stated confidence. An interval that reaches both sides of
  1 - t/100 is undecided, and `repeats_needed` estimates how many repeats a side would
  decide it if the estimate and the spread stayed as measured.

No scipy: the t quantile comes from the regularized incomplete beta function (a
continued fraction, as in Numerical Recipes), inverted by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

CONFIDENCE = 0.95
VERDICTS = ("faster", "slower", "no difference detected", "too few repeats")
FIELDS = ("low", "high", "verdict", "repeats_needed")  # what Ratio.fields gives, prefixed
MAX_REPEATS = 1000  # repeats_needed gives up beyond this many repeats a side


# --- the Student t distribution ----------------------------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):  # the fraction converges fast here; else use symmetry
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom."""
    tail = 0.5 * betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (0 < p < 1), by bisection on `t_cdf`."""
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


# --- ratios ------------------------------------------------------------------------------


def _logs(values: Sequence[float]) -> list[float]:
    if any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"ratios need positive, finite values, got {list(values)}")
    return [math.log(v) for v in values]


def _mean_var(xs: list[float]) -> tuple[float, float]:
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else math.nan
    return mean, var


@dataclass(frozen=True)
class Ratio:
    """B over A with its interval. For rates (samples/s) a ratio above 1 means B is faster.

    `center` is the estimate on the log scale; `variances` the per-side variances of the
    logs (one, of the log-ratios, when paired) and `counts` their repeats.
    """

    method: str  # "paired" or "welch"
    confidence: float
    center: float
    variances: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def ratio(self) -> float:
        """The estimate: the geometric mean of the ratios (paired), or of B over that of A."""
        return math.exp(self.center)

    @property
    def repeats(self) -> int:
        """The fewest repeats of a side (the pairs, when paired)."""
        return min(self.counts)

    def _half_width(self, counts: Sequence[int]) -> float | None:
        """The interval's half-width on the log scale with `counts` repeats a side."""
        if min(counts) < 2:
            return None
        se2 = [v / n for v, n in zip(self.variances, counts, strict=True)]
        if sum(se2) == 0:
            return 0.0
        if self.method == "paired":
            df = counts[0] - 1
        else:  # Welch-Satterthwaite
            df = sum(se2) ** 2 / sum(s * s / (n - 1) for s, n in zip(se2, counts, strict=True))
        return t_quantile((1 + self.confidence) / 2, df) * math.sqrt(sum(se2))

    @cached_property
    def _interval(self) -> tuple[float, float] | None:
        h = self._half_width(self.counts)
        return None if h is None else (math.exp(self.center - h), math.exp(self.center + h))

    @property
    def low(self) -> float | None:
        return None if self._interval is None else self._interval[0]

    @property
    def high(self) -> float | None:
        return None if self._interval is None else self._interval[1]

    @property
    def verdict(self) -> str:
        """faster, slower, no difference detected, or too few repeats (under 2 a side)."""
        low, high = self.low, self.high
        if low is None or high is None:
            return "too few repeats"
        if low > 1:
            return "faster"
        if high < 1:
            return "slower"
        return "no difference detected"

    def regressed(self, threshold_pct: float) -> bool:
        """Slower beyond the threshold with the stated confidence: the whole interval below
        1 - threshold_pct / 100. Never with too few repeats."""
        high = self.high
        return high is not None and high < 1 - threshold_pct / 100

    def decided(self, threshold_pct: float | None = None) -> bool:
        """Whether the interval lies on one side of 1 - threshold_pct / 100 (of 1 when
        None): the repeats were enough to tell."""
        bound = 1 - (threshold_pct or 0) / 100
        low, high = self.low, self.high
        return low is not None and high is not None and (high < bound or low > bound)

    def repeats_needed(self, threshold_pct: float | None = None) -> int | None:
        """Repeats a side that would decide against 1 - threshold_pct / 100 (1 when None),
        if the estimate and the spread stayed as measured (the current repeats where they
        decide already). None when the spread is unknown (under 2 repeats), the estimate
        sits on the bound, or it would take more than MAX_REPEATS."""
        if self.repeats < 2:
            return None
        if self.decided(threshold_pct):
            return self.repeats
        margin = abs(self.center - math.log(1 - (threshold_pct or 0) / 100))

        def enough(n: int) -> bool:
            return self._half_width([n] * len(self.counts)) < margin

        if not enough(MAX_REPEATS):
            return None
        low, high = self.repeats, MAX_REPEATS  # enough(high), and the width falls with n
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if enough(mid) else (mid, high)
        return high

    def fields(self, prefix: str) -> dict[str, float | str | int | None]:
        """`{prefix}_low`, `_high`, `_verdict` and `_repeats_needed` (where undecided), for a
        summary row."""
        return {
            f"{prefix}_low": self.low,
            f"{prefix}_high": self.high,
            f"{prefix}_verdict": self.verdict,
            f"{prefix}_repeats_needed": None if self.decided() else self.repeats_needed(),
        }


def paired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """B/A from interleaved repeats, a[i] and b[i] measured in the same repeat: a t interval
    on the mean per-repeat log-ratio."""
    if len(a) != len(b) or not a:
        raise ValueError(f"paired repeats need two lists of one length, got {len(a)}, {len(b)}")
    _check_confidence(confidence)
    diffs = [y - x for x, y in zip(_logs(a), _logs(b), strict=True)]
    mean, var = _mean_var(diffs)
    return Ratio("paired", confidence, mean, (var,), (len(diffs),))


def unpaired(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """B/A from two separate runs: Welch's t interval on the difference of the mean logs."""
    if not a or not b:
        raise ValueError(f"each side needs a value, got {len(a)} and {len(b)}")
    _check_confidence(confidence)
    (mean_a, var_a), (mean_b, var_b) = _mean_var(_logs(a)), _mean_var(_logs(b))
    return Ratio("welch", confidence, mean_b - mean_a, (var_a, var_b), (len(a), len(b)))


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
