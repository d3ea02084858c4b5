#!/usr/bin/env bash
# What each task of the SLURM job array in docs/benchmarks.md runs: its shard of a suite,
# into its own results file; `zoo bench merge` puts the shards together after.
#
#   ZOO_SUITE   the suite, a shipped name or a .toml path (default: quick)
#   SHARDS      the number of shards (default: the array's SLURM_ARRAY_TASK_COUNT, else 2)
#   RESULTS     the folder the shards write to, on a shared file system (default: ./results)
#   SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN   set by SLURM for each task of the array
#
# A task that is requeued finishes its shard's file (--resume) rather than starting over.
set -euo pipefail
suite="${ZOO_SUITE:-quick}"
n="${SHARDS:-${SLURM_ARRAY_TASK_COUNT:-2}}"
id="${SLURM_ARRAY_TASK_ID:?this runs in a SLURM job array (sbatch --array)}"
i=$((id - ${SLURM_ARRAY_TASK_MIN:-0}))
out="${RESULTS:-results}/$(basename "$suite" .toml)-shard-$i-of-$n.jsonl"
mkdir -p "$(dirname "$out")"
resume=()
[ -f "$out" ] && resume=(--resume)
exec zoo bench --suite "$suite" --shard "$n" --output "$out" "${resume[@]}"
