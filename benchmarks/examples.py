"""The command transcripts of the README and docs/, run for real and recorded.

    python -m benchmarks.examples                    # run every example, record each
    python -m benchmarks.examples --only ID [...]    # run these only
    python -m benchmarks.examples --write            # rewrite the pages' blocks from the file
    python -m benchmarks.examples --check            # exit 1 where a page and its record differ
    python -m benchmarks.examples --list

Each example (EXAMPLES) is a `zoo` command a page shows with its output. Running one
spawns the CLI (`python -m zoo`, COLUMNS=100, in a scratch folder with a scratch copy of
the zoo's cache, so that nothing it writes is left behind) and records its standard
output (with standard error merged in order, for an example whose transcript shows the
progress lines), exit code and wall time in benchmarks/results/examples-cpu.jsonl, one
record per id, stamped like every record the zoo writes (`zoo.record.stamp`: schema,
command line, zoo version, git commit, machine with its ISA flags, library versions) and
with the `env` of `zoo.io.environment()`. A later run of an id replaces its record.

A page marks a generated transcript with `<!-- example: ID -->` on the line before its
fenced block; `--write` replaces that block with `$ COMMAND` and the recorded output, and
`--check` (run by `python -m benchmarks.report --check`) fails naming the page and id
where a block is not its record's, or a marker has no record. Run the examples one after
another on a quiet machine: they are timings. Only the CLI is spawned; this module imports
no framework.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "examples-cpu.jsonl"
GENERATED = "results.md"  # docs/results.md is written by benchmarks.report, not here
MARKER = re.compile(r"^<!-- example: (\S+) -->\s*$")
FENCE = "```"
COLUMNS = "100"


@dataclass(frozen=True)
class Example:
    """One transcript: `id` (the pages' marker), `command` (as the page shows it, starting
    with `zoo`) and whether the transcript shows standard error (`stderr`: merged into
    the output in the order it was written) or only standard output. `setup`: `zoo`
    commands run first in the same scratch folder (a model trained for the command to
    read), recorded but not shown."""

    id: str
    command: str
    stderr: bool = False
    setup: tuple[str, ...] = ()


TRAIN_MLP = "zoo train mlp --samples 2048 --output runs/mlp"
EXAMPLES = (
    Example("train-mlp", "zoo train mlp --epochs 2 --output runs/mlp", stderr=True),
    Example("tune-mlp", "zoo tune mlp --target accuracy=0.96 --budget 2m", stderr=True),
    Example("profile-seed_cnn", "zoo profile seed_cnn"),
    Example("profile-mlp-int8", "zoo profile mlp --quantize int8 --batch-sizes 1,32,256"),
    Example(
        "profile-seed_cnn-onnx",
        "zoo profile seed_cnn --inference --batch-sizes 1,8,32,128 --format onnx",
    ),
    Example("export-mlp-onnx", "zoo export runs/mlp --format onnx", setup=(TRAIN_MLP,)),
    Example("evaluate-mlp-int8", "zoo evaluate runs/mlp --quantize int8", setup=(TRAIN_MLP,)),
    Example(
        "predict-unet",
        "zoo predict runs/unet --example 3 --output mask.png",
        stderr=True,
        setup=("zoo train unet --output runs/unet",),
    ),
    Example(
        "predict-ctc",
        "zoo predict runs/speech --example 0",
        setup=("zoo train ctc_speech --output runs/speech",),
    ),
)


IDS = {e.id: e for e in EXAMPLES}


def example(example_id: str) -> Example:
    if example_id in IDS:
        return IDS[example_id]
    known = ", ".join(e.id for e in EXAMPLES)
    raise SystemExit(f"No example {example_id!r}; the examples are: {known}.")


def pages(root: Path = ROOT) -> list[Path]:
    """The hand-written pages: the README and docs/, but the generated results page."""
    docs = sorted(p for p in (root / "docs").glob("*.md") if p.name != GENERATED)
    return [root / "README.md", *docs]


# Running and recording.


def _scratch_env(cache: Path) -> dict[str, str]:
    """The environment of an example: a stable width, output written as it comes (so
    merged streams keep their order), and a copy of the zoo's cache (the device peak MFU
    is taken against) that the example may write to."""
    env = dict(os.environ, COLUMNS=COLUMNS, PYTHONUNBUFFERED="1", XDG_CACHE_HOME=str(cache))
    env.pop("LINES", None)
    ours = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keras-zoo"
    if ours.is_dir():
        shutil.copytree(ours, cache / "keras-zoo")
    cache.mkdir(exist_ok=True)
    return env


def environment(env: dict[str, str]) -> dict[str, Any] | None:
    """`zoo.io.environment()` as a process with the examples' environment reports it
    (it imports Keras, so it runs apart); None if that process fails."""
    code = "import json, zoo.io; print(json.dumps(zoo.io.environment()))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if done.returncode == 0 and lines else None


def _argv(command: str) -> list[str]:
    return [sys.executable, "-m", "zoo", *shlex.split(command)[1:]]


def run(e: Example) -> dict[str, Any]:
    """Runs the example's command once, in a scratch folder, and returns its record."""
    from zoo import record

    argv = _argv(e.command)
    with tempfile.TemporaryDirectory(prefix=f"example-{e.id}-") as scratch:
        env = _scratch_env(Path(scratch) / "cache")
        work = Path(scratch) / "work"
        work.mkdir()
        for command in e.setup:
            subprocess.run(
                _argv(command),
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
        start = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if e.stderr else subprocess.DEVNULL,
            text=True,
            check=False,
        )
        wall_s = time.perf_counter() - start
        measured = {
            "id": e.id,
            "command": e.command,
            "setup": list(e.setup),
            "argv": argv[1:],
            "stderr": "merged" if e.stderr else "left out",
            "exit_code": done.returncode,
            "wall_s": round(wall_s, 1),
            "stdout": done.stdout,
            "env": environment(env),
        }
    return record.stamp(measured, "example")


def read(path: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """The records of the file by id (the last of an id wins); {} when there is none."""
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    records = (json.loads(line) for line in lines if line.strip())
    return {r["id"]: r for r in records}


def save(new: dict[str, Any], path: Path = RESULTS) -> None:
    """Puts `new` in the file in place of the record of its id (appended if none),
    rewriting the file atomically."""
    from zoo import io

    records = read(path)
    records[new["id"]] = new
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# The pages.


def transcript(record: dict[str, Any]) -> list[str]:
    """The lines of a fenced block's body: `$ COMMAND`, then the output (trailing spaces
    dropped, as Markdown would)."""
    return [f"$ {record['command']}", *(s.rstrip() for s in record["stdout"].rstrip().splitlines())]


def blocks(lines: list[str]) -> list[tuple[str, int, int]]:
    """(id, first, end) for each marker: the body of the fenced block after it is
    lines[first:end]; first == end == -1 where the marker is not followed by a block."""
    found = []
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        opens = i + 1 < len(lines) and lines[i + 1].startswith(FENCE)
        close = next((j for j in range(i + 2, len(lines)) if lines[j].strip() == FENCE), None)
        if not opens or close is None:
            found.append((m.group(1), -1, -1))
        else:
            found.append((m.group(1), i + 2, close))
    return found


def problems(page: Path, records: dict[str, dict[str, Any]], root: Path = ROOT) -> list[str]:
    """What is wrong with the page's marked blocks, one line each."""
    name = page.relative_to(root) if page.is_relative_to(root) else page
    lines = page.read_text(encoding="utf-8").splitlines()
    out = []
    for example_id, first, end in blocks(lines):
        where = f"{name}: example {example_id}"
        r = records.get(example_id)
        if first < 0:
            out.append(f"{where}: no fenced block follows the marker")
        elif r is None:
            out.append(f"{where}: no record (record it: --only {example_id})")
        elif example_id in IDS and r["command"] != IDS[example_id].command:
            out.append(f"{where}: recorded for `{r['command']}`, not `{IDS[example_id].command}`")
        elif lines[first:end] != transcript(r):
            out.append(f"{where}: the block differs from its record (--write rewrites it)")
        elif r.get("exit_code") is None or r.get("provenance") is None:
            out.append(f"{where}: the record has no exit code or provenance")
    return out


def rewrite(page: Path, records: dict[str, dict[str, Any]]) -> bool:
    """Replaces each marked block that has a record by it; True if the page changed."""
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    for example_id, first, end in reversed(blocks(lines)):  # from the end: indices hold
        if first >= 0 and example_id in records:
            lines[first:end] = transcript(records[example_id])
    new = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.examples", description=__doc__.split("\n")[0]
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--only", nargs="+", metavar="ID", help="run these examples only")
    what.add_argument("--write", action="store_true", help="rewrite the pages from the file")
    what.add_argument("--check", action="store_true", help="exit 1 if a page differs")
    what.add_argument("--list", action="store_true", help="the examples and their records")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--page", type=Path, action="append", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    targets = args.page or pages()
    if args.check or args.write:
        return _pages(targets, args.results, write=args.write)
    if args.list:
        records = read(args.results)
        for e in EXAMPLES:
            r = records.get(e.id)
            seen = f"{r['wall_s']} s, exit {r['exit_code']}" if r else "not recorded"
            print(f"{e.id:24} {e.command}  ({seen})")
        return 0
    for e in [example(i) for i in args.only] if args.only else EXAMPLES:
        print(f"{e.id}: {e.command}", file=sys.stderr, flush=True)
        r = run(e)
        save(r, args.results)
        print(f"  exit {r['exit_code']} in {r['wall_s']} s", file=sys.stderr, flush=True)
    return 0


def _pages(targets: list[Path], results: Path, write: bool) -> int:
    records = read(results)
    if write:
        for page in targets:
            if rewrite(page, records):
                print(f"rewrote {page}")
    found = [line for page in targets for line in problems(page, records)]
    for line in found:
        print(line, file=sys.stderr)
    if not found and not write:
        print(f"the marked transcripts match {results}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
