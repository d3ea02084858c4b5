"""The record schema: its version, and the provenance every record the zoo writes carries.

A record is one JSON object: `schema` (SCHEMA_VERSION; a record without one is of schema
1, from before it), `kind` (bench, target, parity, trial...), the case's own keys (its
settings, with `model_kwargs` apart from `num_params`, and its measurements), and
`provenance`: the command line, the zoo's version, the git commit and whether the tree
was dirty (when the zoo runs from a checkout), the library versions and the machine's
fingerprint (CPU model, id and ISA flags, cores; GPUs and driver where the driver shows
them). Nothing here imports a framework: versions come from the installed packages'
metadata, the GPUs from the NVIDIA driver's files.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from zoo import proc
from zoo.io import dist_version, machine, machine_fingerprint

__all__ = [
    "SCHEMA_VERSION", "machine", "machine_fingerprint", "provenance", "schema_of", "stamp",
]  # fmt: skip

SCHEMA_VERSION = 2
# The distributions whose versions a record names (None: not installed).
LIBRARIES = ("keras", "tensorflow", "jax", "jaxlib", "torch", "numpy", "keras-hub", "keras-rs")


def stamp(record: dict[str, Any], kind: str) -> dict[str, Any]:
    """`record` with `schema`, `kind` and `provenance` first and last: the record's own
    keys win (its kind, a provenance it already carries), except `schema`."""
    out = {"schema": SCHEMA_VERSION, "kind": kind, **record}
    out["schema"] = SCHEMA_VERSION
    out["provenance"] = record.get("provenance") or provenance()
    return out


def schema_of(record: dict[str, Any]) -> int:
    """The schema version of a record (1: written before records had one)."""
    return int(record.get("schema", 1))


@functools.cache
def provenance() -> dict[str, Any]:
    """Where this process's records come from (collected once per process): `argv`, `zoo`
    (its version), `git` ({commit, dirty}, or None when the zoo is not run from a git
    checkout or git is missing), `versions` (python and LIBRARIES) and `machine`."""
    return {
        "argv": list(sys.argv),
        "zoo": dist_version("keras-zoo"),
        "git": git_state(),
        "versions": versions(),
        "machine": machine(),
    }


def versions() -> dict[str, str | None]:
    """Python's version and each of LIBRARIES' (None: not installed), none imported."""
    return {"python": sys.version.split()[0], **{name: dist_version(name) for name in LIBRARIES}}


# Written into a wheel by benchmarks/gpu_wheels.sh: the commit it was built from, for a
# machine that runs the zoo from that wheel, with no checkout (the GPU machine).
BUILT_FROM = Path(__file__).resolve().parent / "_git.json"


def built_from() -> dict[str, Any] | None:
    """{commit, dirty, source} recorded in an installed wheel (`BUILT_FROM`), else None."""
    try:
        data = json.loads(BUILT_FROM.read_text())
    except (OSError, ValueError):
        return None
    return {"commit": str(data["commit"]), "dirty": bool(data["dirty"]), "source": "wheel"}


def git_state(root: Path | None = None) -> dict[str, Any] | None:
    """{commit, dirty} of the checkout the zoo's own source sits in (or `root`); in an
    installed wheel, the commit it was built from where the wheel records one
    (`built_from`); else None (git cannot say)."""
    if root is None and not (Path(__file__).resolve().parents[1] / ".git").exists():
        return built_from()
    root = root or Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    commit = proc.output_of(["git", "-C", str(root), "rev-parse", "HEAD"])
    status = proc.output_of(["git", "-C", str(root), "status", "--porcelain"])
    if commit is None or status is None:
        return None
    return {"commit": commit.strip(), "dirty": bool(status.strip())}
