"""Load the bench runner: a 50-case suite, the runner's memory after 10 and 50 cases.

    python -m benchmarks.faults.load [--cases 50] [--output load.jsonl]

The suite is `linear_regression` in graph mode at 50 batch sizes, 2 timed steps each:
every case is a fresh worker process, so the runner (this process) should stay as small
as it started. Prints the runner's resident memory (VmRSS) and peak (VmHWM) after case
10 and after the last case, and whether it ever imported TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def _memory_mb() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def run(cases: int = 50, output: Path | None = None) -> dict:
    from zoo.perf import runner as perf_runner
    from zoo.perf import suite as perf_suite

    with tempfile.TemporaryDirectory() as tmp:
        text = (
            '[suite]\nname = "load"\nsteps = 2\ntimeout_s = 300\n'
            '[[case]]\nmodel = "linear_regression"\nmodes = ["graph"]\n'
            f"batch_sizes = {list(range(1, cases + 1))}\n"
        )
        suite_path = Path(tmp) / "load.toml"
        suite_path.write_text(text)
        suite = perf_suite.load_suite(suite_path)
        marks: dict[int, dict] = {0: _memory_mb()}

        def on_result(n, total, case, record):
            if n in (10, total):
                marks[n] = _memory_mb()

        out = output or Path(tmp) / "load.jsonl"
        records = perf_runner.run_suite(suite, out, on_result=on_result)
    return {
        "cases": len(records),
        "ok": sum(r["status"] == "ok" for r in records),
        "memory_mb": marks,
        "runner_imported_tensorflow": "tensorflow" in sys.modules,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.cases, args.output), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
