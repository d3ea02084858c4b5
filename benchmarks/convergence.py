"""Every model trained with its default recipe on its task's synthetic data, against the
task's known optimum: one `zoo train NAME --json` process per model, one JSON line each.

    python -m benchmarks.convergence [--models mlp,seed_cnn] [--output FILE] [--resume]

Writes benchmarks/results/synthetic-cpu.jsonl by default (each line appended whole, so a
killed run keeps what it finished and `--resume` trains only the rest); `python -m
benchmarks.report` turns it into the table in docs/results.md. The `applications` and
`hub` families are left out unless named in --models: at their published sizes a CPU
epoch takes hours (the keras-hub models of the newer tasks are sized for a CPU).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "synthetic-cpu.jsonl"
SKIPPED_FAMILIES = ("applications", "hub")


def models(names: str | None) -> list[str]:
    import zoo

    if names:  # named models run whatever their family
        wanted = names.split(",")
        return [name for name in zoo.list_models() if name in wanted]
    return [name for name in zoo.list_models() if zoo.get_spec(name).family not in SKIPPED_FAMILIES]


def train(name: str) -> dict:
    """One default-recipe run in its own process; the record the report reads."""
    import zoo

    spec = zoo.get_spec(name)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.cli.main", "train", name, "--json"],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return stamp({"model": name, "status": "error", "reason": proc.stderr.strip()[-500:]})
    r = json.loads(proc.stdout)
    epochs = [row["seconds"] for row in r["history"] if "seconds" in row]
    return stamp(
        {
            "model": name,
            "status": "ok",
            "family": spec.family,
            "task": spec.task,
            "params": r["num_params"],
            "epochs": len(r["history"]),
            "best_epoch": r.get("best_epoch"),
            "test_metrics": r["test_metrics"],
            "optimum": r["optimum"],
            "seconds_per_epoch": sum(epochs) / len(epochs) if epochs else None,
            "wall_s": wall,
            "env": r.get("env"),
        }
    )


def stamp(record: dict) -> dict:
    """The record with the zoo's schema and this process's provenance (command line, git
    commit and whether the tree was dirty, versions, the machine's ISA flags)."""
    from zoo.record import stamp as stamp_record

    return stamp_record(record, "convergence")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated names (default: every model)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--resume", action="store_true", help="train only missing models")
    args = parser.parse_args(argv)
    done = set()
    if args.resume and args.output.exists():
        done = {json.loads(line)["model"] for line in args.output.read_text().splitlines()}
    elif args.output.exists():
        args.output.unlink()
    for name in models(args.models):
        if name in done:
            continue
        record = train(name)
        with args.output.open("a") as f:  # one whole line per model
            f.write(json.dumps(record) + "\n")
        print(f"{name}: {record['status']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
