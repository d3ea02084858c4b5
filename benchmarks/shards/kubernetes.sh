#!/usr/bin/env bash
# What each pod of the Kubernetes Indexed Job in docs/benchmarks.md runs: its shard of a
# suite, into its own results file; `zoo bench merge` puts the shards together after.
#
#   ZOO_SUITE   the suite, a shipped name or a .toml path (default: quick)
#   SHARDS      the Job's completions, the number of shards (default: 2)
#   RESULTS     the folder the shards write to, a shared volume (default: /results)
#   JOB_COMPLETION_INDEX   set by Kubernetes for each pod of an Indexed Job: the shard
#
# A pod that is restarted finishes its shard's file (--resume) rather than starting over.
set -euo pipefail
suite="${ZOO_SUITE:-quick}"
n="${SHARDS:-2}"
i="${JOB_COMPLETION_INDEX:?this runs in a Kubernetes Indexed Job (completionMode: Indexed)}"
out="${RESULTS:-/results}/$(basename "$suite" .toml)-shard-$i-of-$n.jsonl"
mkdir -p "$(dirname "$out")"
resume=()
[ -f "$out" ] && resume=(--resume)
exec zoo bench --suite "$suite" --shard "$n" --output "$out" "${resume[@]}"
