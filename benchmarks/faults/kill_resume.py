"""SIGKILL `zoo train` at random moments, resume it each time, check nothing was lost.

    python -m benchmarks.faults.kill_resume --points 10 [--seed 0] [--epochs 12]

A first, uninterrupted run measures how long the command takes. Each point is then one
run in a fresh folder: start `zoo train mlp ... --output DIR`, send SIGKILL after a
random delay drawn over that duration (so inside imports, epochs and checkpoint writes
alike; a draw that lands after the run ended is drawn again), then run the same command
with `--resume`, killing that one too at a second random moment, until it finishes. A point
survives when: every checkpoint left behind after each kill loads, the finished run's
history has every planned epoch exactly once, result.json parses, and the training
state is gone. Prints one line per point and a summary; exits 1 if any point failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["train", "mlp", "--samples", "3000", "--seed", "0"]


def _start(out: Path, epochs: int, resume: bool) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "zoo.cli.main",
        *ARGS,
        "--epochs",
        str(epochs),
        "--output",
        str(out),
    ]
    if resume:
        argv.append("--resume")
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )


def _checkpoints_load(out: Path) -> list[str]:
    """The checkpoint files that exist but do not load (a torn write would be one)."""
    import zoo

    bad = []
    for name in ("model.keras", "last.keras"):
        if (out / name).exists():
            try:
                zoo.load_model(out / name)
            except zoo.ZooError as e:
                bad.append(f"{name}: {e}")
    state = out / "backup" / "state.json"
    if state.exists():
        try:
            s = json.loads(state.read_text())
            if not (out / "backup" / s["weights"]).is_file():
                bad.append("state.json names a missing weights file")
        except ValueError as e:
            bad.append(f"state.json: {e}")
    return bad


def one_point(out: Path, epochs: int, rng: random.Random, max_delay: float) -> dict:
    kills, attempts, problems = [], 0, []
    resume = False
    while True:
        attempts += 1
        if attempts > 12:
            problems.append("did not finish in 12 attempts")
            break
        proc = _start(out, epochs, resume)
        delay = rng.uniform(0.5, max_delay) if len(kills) < 2 else None
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills.append(round(delay, 2))
            problems += _checkpoints_load(out)
            resume = (out / "backup" / "state.json").exists()
            if not resume and (out / "result.json").exists():
                break  # it finished just before the kill
            continue
        if not kills and proc.returncode == 0:  # ended before the kill: draw again
            shutil.rmtree(out, ignore_errors=True)
            resume = False
            continue
        stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0:
            problems.append(f"exit {proc.returncode}: {stderr.strip().splitlines()[-1:]}")
        break
    result = {}
    if (out / "result.json").exists():
        result = json.loads((out / "result.json").read_text())
        epochs_seen = [h["epoch"] for h in result["history"]]
        if epochs_seen != list(range(1, epochs + 1)):
            problems.append(f"history epochs {epochs_seen}")
        if (out / "backup").exists():
            problems.append("the training state was not removed")
        problems += _checkpoints_load(out)
    else:
        problems.append("no result.json")
    return {
        "kills_after_s": kills,
        "attempts": attempts,
        "resumed_from": result.get("resumed_from"),
        "survived": not problems,
        "problems": problems,
    }


def calibrate(epochs: int) -> float:
    """Seconds an uninterrupted run of the command takes here."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = _start(Path(tmp) / "run", epochs, False)
        proc.wait()
        return time.perf_counter() - t0


def run(
    points: int = 10, seed: int = 0, epochs: int = 12, max_delay: float | None = None
) -> list[dict]:
    rng = random.Random(seed)
    max_delay = max_delay or 0.95 * calibrate(epochs)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(points):
            t0 = time.perf_counter()
            record = one_point(Path(tmp) / f"run{i}", epochs, rng, max_delay)
            record["seconds"] = round(time.perf_counter() - t0, 1)
            out.append(record)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--max-delay", type=float, default=None, help="default: measured")
    args = parser.parse_args(argv)
    records = run(args.points, args.seed, args.epochs, args.max_delay)
    for i, r in enumerate(records):
        print(json.dumps({"point": i, **r}))
    kills = sum(len(r["kills_after_s"]) for r in records)
    survived = sum(r["survived"] for r in records)
    print(
        f"{len(records)} runs, {kills} SIGKILLs injected, {survived} survived, "
        f"{len(records) - survived} lost something"
    )
    return 0 if survived == len(records) else 1


if __name__ == "__main__":
    sys.exit(main())
