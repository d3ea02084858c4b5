"""Figures quoted in the README and docs/ that no committed result file supports.

    python -m benchmarks.figures        # one line per unsupported figure; exit 1 if any

A figure is a number with a unit of measurement: a ratio (`1.55x`), a throughput
(`2,908 samples/s`), a rate (`GFLOP/s`), a time (`s`, `ms`), a percentage or a multiple
of eps. It is supported when some number in `benchmarks/results/` (the records, and the
Markdown and CSV beside them) or in the generated `docs/results.md` rounds to it at the
figure's own precision, at the scale a file stores it (FLOP/s for GFLOP/s, seconds for
ms, a fraction for %). `python -m benchmarks.report --check` runs this too, so a figure
typed into the docs from a run that was never committed fails CI, as a page out of step
with its files does.

Two kinds of line are left out: docs/results.md itself (generated from the files), and a
line that says `<!-- derived -->`, for a figure computed by a formula (a tolerance, a
bound) rather than measured. Standard library only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GENERATED = ROOT / "docs" / "results.md"
DERIVED = "<!-- derived -->"

_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*(?:[eE]-?\d+)?")
_FIGURE = re.compile(
    r"(?<![\w.\-/])(\d[\d,]*(?:\.\d+)?)\s?(x\b|samples/s|GFLOP/s|eps\b|%|ms\b|s\b)"
)


def pages(root: Path = ROOT) -> list[Path]:
    """The hand-written pages: the README and docs/, but the generated results page."""
    docs = sorted((root / "docs").glob("*.md"))
    return [root / "README.md", *(p for p in docs if p.name != GENERATED.name)]


def numbers(texts: Iterable[str]) -> set[float]:
    """Every number written in the texts."""
    found = set()
    for text in texts:
        for m in _NUMBER.finditer(text):
            try:
                found.add(float(m.group(0).replace(",", "")))
            except ValueError:
                continue
    return found


def committed_numbers(root: Path = ROOT) -> set[float]:
    """The numbers of the committed result files and of the page generated from them."""
    files = [p for p in sorted((root / "benchmarks" / "results").glob("*")) if p.is_file()]
    files = [p for p in files if p.suffix in (".jsonl", ".json", ".md", ".csv")]
    generated = root / "docs" / GENERATED.name
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in [*files, generated])
    return numbers(t for t in texts)


# The scales a file may store a figure at: FLOP/s as such, seconds for ms, fractions for %.
SCALES = {"GFLOP/s": (1.0, 1e-9), "ms": (1.0, 1e3), "%": (1.0, 100.0)}


def _supported(figure: str, unit: str, known: set[float]) -> bool:
    places = len(figure.partition(".")[2])
    value = float(figure.replace(",", ""))
    return any(
        abs(round(n * scale, places) - value) < 10 ** -(places + 3)
        for scale in SCALES.get(unit, (1.0,))
        for n in known
    )


def unsupported(root: Path = ROOT, known: set[float] | None = None) -> list[str]:
    """`page:line: figure` for each figure on the hand-written pages that no committed
    file supports."""
    known = committed_numbers(root) if known is None else known
    out = []
    for page in pages(root):
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if DERIVED in line:
                continue
            for m in _FIGURE.finditer(line):
                if not _supported(m.group(1), m.group(2), known):
                    out.append(f"{page.relative_to(root)}:{n}: {m.group(0).strip()}")
    return out


def main(argv: list[str] | None = None) -> int:
    missing = unsupported()
    for line in missing:
        print(line)
    if missing:
        print(
            f"{len(missing)} figure(s) on the README and docs/ match no file under "
            "benchmarks/results/: commit the run they come from, quote a committed figure, "
            f"or mark a computed one {DERIVED}.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
