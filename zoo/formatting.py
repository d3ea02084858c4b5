"""Numbers as people read them in a table: one precision per column, never an exponent.

Written once for every table the zoo prints (`zoo.cli.render`) or writes (the benchmark
CSV and Markdown in `zoo.perf.summary`). Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

# Number kinds: (significant digits the column's smallest value keeps, fewest and most
# decimals, scale, suffix). A column's decimals are chosen once, from its smallest value.
KINDS: dict[str, tuple[int, int, int, float, str]] = {
    "count": (1, 0, 0, 1, ""),
    "number": (4, 0, 4, 1, ""),
    "value": (4, 0, 6, 1, ""),
    "throughput": (2, 0, 2, 1, ""),
    "ms": (2, 0, 3, 1, ""),
    "s": (2, 0, 3, 1, ""),
    "ratio": (2, 2, 2, 1, ""),
    "MB": (2, 0, 1, 1, ""),
    "%": (2, 1, 1, 100, "%"),
    "fraction": (2, 2, 6, 1, ""),  # a share written as a number (MFU in the CSV)
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def decimals(values: Iterable[Any], kind: str) -> int:
    """The decimals a column of `kind` is printed with: enough for its smallest value to
    keep the kind's significant digits, within the kind's bounds; 0 for integers."""
    sig, fewest, most, scale, _ = KINDS[kind]
    numbers = [v for v in values if is_number(v) and math.isfinite(v)]
    if all(isinstance(v, int) for v in numbers) and scale == 1:
        return 0
    sizes = [abs(v) * scale for v in numbers if v]
    if not sizes:
        return fewest
    return max(fewest, min(most, sig - 1 - math.floor(math.log10(min(sizes)))))


def format_number(
    value: Any, kind: str = "number", places: int = 0, *, grouping: bool = True, missing="-"
) -> str:
    """One value of a column: `places` decimals, thousands separators (unless `grouping`
    is off, as in CSV), never an exponent; None is `missing`, text passes through."""
    if value is None:
        return missing
    if not is_number(value) or not math.isfinite(value):
        return str(value)
    _, _, _, scale, suffix = KINDS[kind]
    return f"{value * scale:{',' if grouping else ''}.{places}f}{suffix}"


def format_column(
    values: Sequence[Any], kind: str, *, grouping: bool = True, missing: str = "-"
) -> list[str]:
    """A column's values as text, every number with the one precision `decimals` chose."""
    places = decimals(values, kind)
    return [format_number(v, kind, places, grouping=grouping, missing=missing) for v in values]


def format_spread(
    rows: Sequence[dict], key: str, kind: str, suffix: str = "", *, only_when_varies=False
) -> list[str]:
    """`key (min-max)` per row, the three at the one precision of the column; "-" where
    `key` is empty. only_when_varies: the range only where repeats differ."""
    values = [r.get(f"{key}{part}") for r in rows for part in ("", "_min", "_max")]
    places = decimals(values, kind)
    cells = []
    for r in rows:
        if not r.get(key):
            cells.append("-")
            continue
        mid, low, high = (
            format_number(r.get(f"{key}{p}"), kind, places) for p in ("", "_min", "_max")
        )
        varies = r.get("repeats", 1) > 1 and r.get(f"{key}_min") != r.get(f"{key}_max")
        shown = varies or not only_when_varies
        cells.append(f"{mid}{suffix}" + (f" ({low}-{high})" if shown else ""))
    return cells


def ratio_text(r: dict[str, Any], unit: str = "repeats") -> str:
    """A ratio of `zoo.stats` (the keys ratio, low, high, verdict, repeats_needed) as one
    phrase: `8.14x [7.60-8.71] faster`; where the interval holds 1, the verdict and how
    many `unit` would decide it."""
    if r.get("low") is None or r.get("high") is None:
        return f"{format_column([r['ratio']], 'ratio')[0]}x ({r['verdict']})"
    ratio, low, high = format_column([r["ratio"], r["low"], r["high"]], "ratio")
    text = f"{ratio}x [{low}-{high}] {r['verdict']}"
    needed = r.get("repeats_needed")
    if r["verdict"] == "no difference detected" and needed:
        text += f" (about {needed:,} {unit} would tell)"
    return text
