"""The merge of a sharded search: `zoo tune NAME --shard I/N` on N machines, then one
search whose winner is the fastest trial of any shard.

Each shard runs the execution stage whole (it measures its own machine) and every N-th
recipe trial of the search's queue from I on (`zoo.tuning.search`); its result says its
shard and each trial its `queue_index`. `merge` refuses results that are not shards of one
search: another model, dataset, target, seed, sample count, backends, device, trial count
or shard count; another zoo, commit, library versions or machine (times from different
machines do not race each other); two files of the same shard. It lists the shards
missing. The merged search has every shard's trials in queue order (each with its
`shard`), the default route (queue position 0, in shard 0) and the winner: the trial
that reached the target fastest, in any shard. Nothing is cached here (the merging
machine may not be the one measured).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from zoo.errors import InvalidArgumentError
from zoo.perf.shard import agree, manifest_of
from zoo.tuning.search import best_trial, speedup_of

# What the shards of one search share, besides the zoo, its commit, versions and machine.
FIX = "Run every shard with the same search options, zoo, libraries and kind of machine."
SEARCH_KEYS = ("model", "dataset", "target", "seed", "samples", "backends", "device", "max_trials")


@dataclasses.dataclass
class MergedSearch:
    """The merged search (a `tune` result), the shards found and those missing."""

    result: dict[str, Any]
    shards: list[int]
    missing_shards: list[int]


def manifest(result: dict[str, Any]) -> dict[str, Any]:
    """What every shard of one search must share."""
    common = manifest_of(result)  # the shard count, zoo, commit, versions and machine
    common.pop("suite")
    return {**{k: result.get(k) for k in SEARCH_KEYS}, **common}


def merge(files: Iterable[tuple[str, dict[str, Any]]]) -> MergedSearch:
    """Merges the results of a search's shards (name, `tune` result).

    Raises:
        InvalidArgumentError: a file that is not one shard of a search, two files of the
            same shard, or shards of different searches or machines (naming the field).
    """
    by_shard: dict[int, tuple[str, dict]] = {}
    reference: tuple[str, dict] | None = None
    for name, result in files:
        index = _shard_index(name, result)
        if index in by_shard:
            raise InvalidArgumentError(
                f"{name} and {by_shard[index][0]} are both shard {index}.",
                "Merge each shard's search once.",
            )
        reference = reference or (name, manifest(result))
        agree(reference, name, manifest(result), "search", FIX)
        by_shard[index] = (name, result)
    if reference is None:
        raise InvalidArgumentError("No shard results to merge.", "Pass each shard's search JSON.")
    count = reference[1]["shards"]
    shards = sorted(by_shard)
    return MergedSearch(
        _merged([by_shard[i][1] for i in shards]),
        shards,
        [i for i in range(count) if i not in by_shard],
    )


def _shard_index(name: str, result: dict[str, Any]) -> int:
    shard = result.get("shard") if isinstance(result, dict) else None
    if not isinstance(result, dict) or result.get("kind") != "tune" or not shard:
        raise InvalidArgumentError(
            f"{name} is not one shard of a search.",
            "Merge the JSON files that `zoo tune NAME --shard I/N --output F` wrote.",
        )
    return int(shard["index"])


def _merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One search from its shards' results (in shard order)."""
    trials = sorted(
        ({**t, "shard": r["shard"]["index"]} for r in results for t in r["trials"]),
        key=lambda t: t.get("queue_index", 0),
    )
    winner = best_trial(trials)
    default = next((t for t in trials if t.get("queue_index") == 0), None)
    fastest = [r["fastest_execution"] for r in results]
    first = results[0]
    merged = {
        **{k: first.get(k) for k in ("schema", "kind", *SEARCH_KEYS, "budget_s")},
        "backend": ((winner or {}).get("settings") or {}).get("backend", first.get("backend")),
        "spent_s": max(r.get("spent_s") or 0.0 for r in results),
        "fastest_execution": fastest[0],
        "execution": [
            {**row, "shard": r["shard"]["index"]} for r in results for row in r.get("execution", [])
        ],  # fmt: skip
        "trials": trials,
        "default": default,
        "winner": winner,
        "speedup": speedup_of(default, winner),
        "created": max(r.get("created") or "" for r in results),
        "merged_shards": {
            "count": first["shard"]["count"],
            "found": [r["shard"]["index"] for r in results],
            "fastest_execution_agrees": all(f == fastest[0] for f in fastest),
        },
        "env": first.get("env"),
        "provenance": first.get("provenance"),  # the shards agree on all but argv
    }
    if any(f != fastest[0] for f in fastest):
        merged["fastest_execution_by_shard"] = {
            r["shard"]["index"]: f for r, f in zip(results, fastest, strict=True)
        }
    return merged
