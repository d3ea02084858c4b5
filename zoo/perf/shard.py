"""Shards: one suite split over several machines, and the merge of their results files.

`zoo bench --suite S --shard I/N` runs every N-th case of the suite, starting at case I
(0 <= I < N), with every repeat of each; `--shard N` takes I from the variable that the
engine running the job sets for each of its tasks: `JOB_COMPLETION_INDEX` (a Kubernetes
Indexed Job, 0-based) or `SLURM_ARRAY_TASK_ID` (a SLURM job array, counted from
`SLURM_ARRAY_TASK_MIN`). A parity suite is sharded by model (a model's backends stay
together). Each shard writes its own results file; every record says its shard
(`shard`: index, count, and `size`, the runs the shard was given).

`merge` puts the shards' files together: it refuses a case that two files both hold, and
shards whose manifests disagree (`manifest_of`: the suite, the shard count, the zoo's
version and commit, the library versions and the machine; shards of one suite are
compared only where all of that is the same), and lists the shards and cases missing.
Standard library only.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from zoo.errors import InvalidArgumentError

T = TypeVar("T")
# (variable of the index, variable it counts from or None, engine) in the order they are read.
ENGINES = (
    ("JOB_COMPLETION_INDEX", None, "a Kubernetes Indexed Job"),
    ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "a SLURM job array"),
)
HOW = (
    "Pass --shard I/N (0 <= I < N), or --shard N inside a Kubernetes Indexed Job "
    "(JOB_COMPLETION_INDEX) or a SLURM job array (SLURM_ARRAY_TASK_ID)."
)


@dataclasses.dataclass(frozen=True)
class Shard:
    """This process's part of a suite: `index` of `count`, and where the index came from."""

    index: int
    count: int
    source: str = "--shard"

    def take(self, items: Sequence[T]) -> list[T]:
        """Every `count`-th item from `index` on."""
        return list(items[self.index :: self.count])

    def to_dict(self, size: int) -> dict[str, Any]:
        return {"index": self.index, "count": self.count, "size": size}


def parse(text: str, environ: Mapping[str, str] | None = None) -> Shard:
    """`--shard`'s value: "I/N", or "N" with I from the engine's variable.

    Raises:
        InvalidArgumentError: not of that form, I out of range, or no engine variable.
    """
    environ = os.environ if environ is None else environ
    index_text, slash, count_text = text.partition("/")
    if not slash:
        index_text, count_text = "", text
    count = _int(count_text, text)
    if count < 1:
        raise InvalidArgumentError(f"--shard {text}: the shard count must be at least 1.", HOW)
    source = "--shard"
    if slash:
        index = _int(index_text, text)
    else:
        index, source = _from_engine(text, environ)
    if not 0 <= index < count:
        raise InvalidArgumentError(
            f"--shard {text}: shard index {index} is not in 0..{count - 1} ({source}).", HOW
        )
    return Shard(index, count, source)


def _int(value: str, text: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidArgumentError(f"--shard {text!r} is not I/N or N.", HOW) from None


def _from_engine(text: str, environ: Mapping[str, str]) -> tuple[int, str]:
    for variable, base, engine in ENGINES:
        if environ.get(variable, "").strip():
            index = _int(environ[variable], f"{variable}={environ[variable]}")
            if base and environ.get(base, "").strip():
                index -= _int(environ[base], f"{base}={environ[base]}")
            return index, f"{variable} of {engine}"
    raise InvalidArgumentError(
        f"--shard {text} takes its index from the job engine, and none is set "
        "(JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID).",
        HOW,
    )


# --- merge -------------------------------------------------------------------------------


def key_of(record: dict[str, Any]) -> tuple:
    """A record's identity in its suite: (case, repeat); a parity record's, its model
    and setting."""
    if record.get("kind") == "parity":
        return ("parity", record.get("model"), record.get("precision"), record.get("batch_size"))
    return (record.get("case"), record.get("repeat"))


def manifest_of(record: dict[str, Any]) -> dict[str, Any]:
    """What every shard of one run must share: the suite, the shard count, the zoo, its
    commit, the library versions and the machine (the CPU's model and flags, the GPU)."""
    prov = record.get("provenance") or {}
    machine = prov.get("machine") or {}
    return {
        "suite": record.get("suite"),
        "kind": record.get("kind"),
        "shards": (record.get("shard") or {}).get("count"),
        "zoo": prov.get("zoo"),
        "git": prov.get("git"),
        "versions": prov.get("versions"),
        "machine": {k: machine.get(k) for k in ("cpu", "cpu_id", "cpu_flags", "cores", "gpus")},
    }


@dataclasses.dataclass
class Merged:
    """The merge: the records in shard order, the shards found and those missing, and per
    shard how many of its runs are missing."""

    records: list[dict[str, Any]]
    shards: list[int]
    missing_shards: list[int]
    missing_runs: dict[int, int]


def merge(files: Iterable[tuple[str, list[dict[str, Any]]]]) -> Merged:
    """Merges the records of shard files (name, records).

    Raises:
        InvalidArgumentError: a record without a shard, two files with the same case (or the same
            shard), or shards whose manifests disagree (naming the field).
    """
    seen: dict[tuple, str] = {}
    by_shard: dict[int, tuple[str, list[dict]]] = {}
    reference: tuple[str, dict] | None = None
    for name, records in files:
        if not records:
            raise InvalidArgumentError(f"{name} holds no records.", "Leave it out of the merge.")
        shards = {(r.get("shard") or {}).get("index") for r in records}
        if None in shards or len(shards) != 1:
            raise InvalidArgumentError(
                f"{name} is not one shard's results "
                f"(its records name shards {sorted(map(str, shards))}).",
                "Merge the files that `zoo bench --shard I/N` wrote, one per shard.",
            )
        (index,) = shards
        if index in by_shard:
            raise InvalidArgumentError(f"{name} and {by_shard[index][0]} are both shard {index}.")
        reference = reference or (name, manifest_of(records[0]))
        for r in records:
            agree(reference, name, manifest_of(r))
            key = key_of(r)
            if key in seen:
                raise InvalidArgumentError(
                    f"{name} and {seen[key]} both hold {_key_text(key)}.",
                    "Each case belongs to one shard: merge each shard's file once.",
                )
            seen[key] = name
        by_shard[index] = (name, records)
    count = reference[1]["shards"] if reference else 0
    records = [r for i in sorted(by_shard) for r in by_shard[i][1]]
    missing_runs = {
        i: max(0, by_shard[i][1][0]["shard"]["size"] - len(by_shard[i][1])) for i in by_shard
    }
    return Merged(
        records,
        sorted(by_shard),
        [i for i in range(count or 0) if i not in by_shard],
        {i: n for i, n in missing_runs.items() if n},
    )


def agree(
    reference: tuple[str, dict],
    name: str,
    manifest: dict,
    of: str = "run",
    fix: str = "Run every shard with the same zoo, libraries and kind of machine.",
) -> None:
    """Raises InvalidArgumentError naming the first field where `manifest` (file `name`'s)
    differs from the reference file's: the shards of one `of` share every field."""
    ref_name, ref = reference
    for field, value in manifest.items():
        if value != ref[field]:
            raise InvalidArgumentError(
                f"{name} and {ref_name} differ in {field}: {_short(value)} against "
                f"{_short(ref[field])}; shards of one {of} share it.",
                fix,
            )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key_text(key: tuple) -> str:
    if key and key[0] == "parity":
        return f"the parity of {key[1]}"
    return f"case {key[0]} (repeat {key[1]})"


def output_name(path: Path, shard: Shard | None) -> Path:
    """The default results file of a shard: the suite's with `-shard-I-of-N`."""
    if shard is None:
        return path
    return path.with_name(f"{path.stem}-shard-{shard.index}-of-{shard.count}{path.suffix}")
