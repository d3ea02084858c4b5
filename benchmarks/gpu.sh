#!/usr/bin/env bash
# Benchmarks the zoo on an NVIDIA GPU and writes the results file.
#
#   bash benchmarks/gpu.sh [OUTPUT_DIR]        (default: benchmarks/results)
#
# Runs `zoo peak` on the GPU (float32 and bfloat16, for MFU), then the `gpu` suite: the
# quick suite's models and resnet50, mobilenet_v2 and efficientnet_b0 at batch 256, in
# float32 and mixed bf16, with XLA. Uses KERAS_BACKEND if set, else TensorFlow where it is
# installed, else JAX (a GPU machine may carry JAX and no TensorFlow). Needs the zoo
# installed (`pip install .`, plus `.[jax]` or jax[cuda12] for JAX) and a visible GPU.
set -euo pipefail

out="${1:-benchmarks/results}"
if [ -z "${KERAS_BACKEND:-}" ]; then
  if python -c "import tensorflow" >/dev/null 2>&1; then
    KERAS_BACKEND=tensorflow
  else
    KERAS_BACKEND=jax
  fi
fi
export KERAS_BACKEND
mkdir -p "$out"
results="$out/gpu-$KERAS_BACKEND.jsonl"
echo "backend: $KERAS_BACKEND; results: $results" >&2

zoo peak --device gpu --dtype float32
zoo peak --device gpu --dtype bfloat16
resume=()
[ -f "$results" ] && resume=(--resume)
zoo bench --suite gpu --output "$results" "${resume[@]}"
