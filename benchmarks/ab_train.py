"""A/B of one `zoo train --target` command under two interpreters: is a change faster to
the target, and where did the seconds move?

`zoo bench --against` times throughput; this times a whole training run to its target,
each run in its own process, the two sides interleaved by seed (A B, then B A, ...), so
that a slow spell of a shared machine falls on both. Side A and B are Python
interpreters, each with its own checkout of the zoo on its path (a wrapper script such as
benchmarks/one-core-python, or a venv); each record keeps the commit its side ran.

    python -m benchmarks.ab_train --a /tmp/old-python --b python --seeds 100,101,102,103,104 \\
        --output ab-checks.jsonl -- matrix_factorization --target rmse=0.335 --eval-every 20

The summary gives, per phase of the time to target (`zoo.training.target.PHASES`) and for
the total, the medians of both sides and A's time over B's with its 95% interval (paired
by seed, `zoo.stats.paired`), and both sides' test metric.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from statistics import median

from benchmarks import real_data

COMPARED = ("time_to_target_s", "checks_s", "train_s", "compile_s", "build_s", "start_s")


def side_commit(python: str) -> dict:
    """The checkout an interpreter runs: the folder `import zoo` finds, its git commit and
    whether it has changes."""
    where = subprocess.run(
        [python, "-c", "import os, zoo; print(os.path.dirname(os.path.dirname(zoo.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", where, *args], capture_output=True, text=True).stdout

    return {
        "tree": where,
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def run_side(python: str, args: list[str], seed: int) -> dict:
    """One `zoo train ARGS --seed S --json` run: its target record and test metrics."""
    argv = [python, "-m", "zoo.cli.main", "train", *args, "--seed", str(seed), "--json"]
    result, error = real_data.json_of(argv)
    if result is None:
        return {"status": "failed", "reason": error}
    target = result.get("target") or {}
    return {
        "status": "ok",
        "reached": bool(target.get("reached")),
        "time_to_target_s": target.get("time_to_target_s"),
        "phases": target.get("phases"),
        "checks": target.get("checks"),
        "steps_to_target": target.get("steps_to_target"),
        "test_metric": target.get("test_metric"),
    }


def summarize(records: list[dict]) -> list[dict]:
    """Per compared time: both sides' medians and A over B, paired by seed over the seeds
    where both reached the target."""
    from zoo import stats

    by_seed: dict[int, dict[str, dict]] = {}
    for r in records:
        by_seed.setdefault(r["seed"], {})[r["arm"]] = r["run"]
    both = [s for s in by_seed.values() if all(s.get(k, {}).get("reached") for k in "AB")]
    rows = []
    for name in COMPARED:
        a, b = [_value(s["A"], name) for s in both], [_value(s["B"], name) for s in both]
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if x and y]
        row = {"time": name, "pairs": len(pairs), "a_s": None, "b_s": None, "ratio": None}
        if pairs:
            row.update(a_s=median(p[0] for p in pairs), b_s=median(p[1] for p in pairs))
        if len(pairs) >= 2:
            ratio = stats.paired([p[1] for p in pairs], [p[0] for p in pairs])  # A over B
            row.update(ratio=ratio.ratio, **ratio.fields("ratio"))
        rows.append(row)
    return rows


def _value(run: dict, name: str) -> float | None:
    return run.get(name) if name == "time_to_target_s" else (run.get("phases") or {}).get(name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, train_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ab_train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--a", required=True, help="side A's Python (the old checkout)")
    parser.add_argument("--b", required=True, help="side B's Python (the new checkout)")
    parser.add_argument("--seeds", default="100,101,102,103,104", help="comma-separated")
    parser.add_argument("--output", type=Path, required=True, help="records, one per run (.jsonl)")
    args = parser.parse_args(ours)
    if not train_args:
        parser.error("give the zoo train arguments after --, e.g. -- mlp --target accuracy=0.9")
    from zoo.record import stamp

    sides = {"A": args.a, "B": args.b}
    trees = {arm: side_commit(python) for arm, python in sides.items()}
    records = []
    for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
        for arm in ("A", "B") if i % 2 == 0 else ("B", "A"):
            run = run_side(sides[arm], train_args, seed)
            record = {"arm": arm, "seed": seed, "train_args": train_args}
            record.update(python=sides[arm], checkout=trees[arm], run=run)
            records.append(stamp(record, "ab_train"))
            with open(args.output, "a", encoding="utf-8") as out:
                out.write(json.dumps(records[-1]) + "\n")
            print(
                f"seed {seed} {arm}: {run.get('time_to_target_s')} s to target, "
                f"checks {_value(run, 'checks_s')} s",
                flush=True,
            )
    for row in summarize(records):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
