#!/usr/bin/env bash
# Benchmarks the zoo on an NVIDIA GPU and writes every results file of the GPU run.
#
#   bash benchmarks/gpu.sh [--dry-run] [OUTPUT_DIR]   (default: benchmarks/results; a
#                                                      temporary folder with --dry-run)
#
# 1. `zoo peak` on the GPU: float32 under the backend's default matmul precision (TF32
#    where the GPU has it), float32 in full precision, and bfloat16 -> peak-gpu-<backend>.jsonl
# 2. the `gpu` suite: resnet50, the quick models, mobilenet_v2 and efficientnet_b0, bf16
#    and float32, XLA; throughput, step spread, compile time, device memory, MFU against
#    the measured peak, power and energy per sample from NVML -> gpu-<backend>.jsonl
# 3. the `parity-gpu` suite: mlp and seed_cnn on JAX, the GPU against the CPU of the same
#    machine -> parity-gpu.jsonl
#
# Uses KERAS_BACKEND if set, else TensorFlow where it is installed, else JAX (the lent GPU
# machines carry JAX and no TensorFlow: benchmarks/gpu_wheels.sh prepares what they lack).
#
# --dry-run runs the same steps on this machine's CPU with KERAS_BACKEND=jax and tiny
# sizes (on the CPU: 256x256 peaks; batch 8, 3 steps: linear_regression's cases and mlp's parity, whose
# GPU row is a skipped row), so the GPU run's plumbing is tested before a GPU is lent.
set -euo pipefail

dry=0
if [ "${1:-}" = "--dry-run" ]; then
  dry=1
  shift
fi
if [ "$dry" = 1 ]; then
  export KERAS_BACKEND=jax
  out="${1:-$(mktemp -d)}"
elif [ -z "${KERAS_BACKEND:-}" ]; then
  out="${1:-benchmarks/results}"
  if python3 -c "import tensorflow" >/dev/null 2>&1; then
    export KERAS_BACKEND=tensorflow
  else
    export KERAS_BACKEND=jax
  fi
else
  out="${1:-benchmarks/results}"
fi
mkdir -p "$out"
backend="$KERAS_BACKEND"
echo "backend: $backend; results in $out$([ "$dry" = 1 ] && echo ' (dry run, on the CPU)')" >&2

device=gpu
gpu_suite=gpu
parity_suite=parity-gpu
models=()
pmodels=()
size=()
if [ "$dry" = 1 ]; then
  device=cpu
  here=$(mktemp -d)
  suites=$(python3 -c "import zoo.perf.suite as s; print(s.SUITES_DIR)")
  # The shipped suites, shrunk: the CPU, batch 8, 3 steps.
  sed -e 's/^devices = .*/devices = ["cpu"]/' -e 's/^batch_sizes = .*/batch_sizes = [8]/' \
    -e 's/^steps = .*/steps = 3/' "$suites/gpu.toml" > "$here/gpu.toml"
  sed -e 's/^steps = .*/steps = 3/' -e 's/^batch_sizes = .*/batch_sizes = [8]/' \
    "$suites/parity-gpu.toml" > "$here/parity-gpu.toml"
  gpu_suite="$here/gpu.toml"
  parity_suite="$here/parity-gpu.toml"
  models=(--models linear_regression)
  pmodels=(--models mlp)
  size=(--size 256)
fi

peaks="$out/peak-$device-$backend.jsonl"
rm -f "$peaks"
zoo peak --device "$device" "${size[@]}" --dtype float32 --output "$peaks"
zoo peak --device "$device" "${size[@]}" --dtype float32 --matmul-precision highest --output "$peaks"
zoo peak --device "$device" "${size[@]}" --dtype bfloat16 --output "$peaks"

results="$out/gpu-$backend.jsonl"
resume=()
[ -f "$results" ] && resume=(--resume)
zoo bench --suite "$gpu_suite" --backend "$backend" --output "$results" "${models[@]}" \
  "${resume[@]}"

parity="$out/parity-gpu.jsonl"
resume=()
[ -f "$parity" ] && resume=(--resume)
if [ "$backend" = jax ]; then
  zoo bench --suite "$parity_suite" --output "$parity" "${pmodels[@]}" "${resume[@]}"
else
  echo "parity-gpu compares JAX on the GPU with JAX on the CPU: skipped on $backend" >&2
fi
echo "done: $(ls "$out" | tr '\n' ' ')" >&2
