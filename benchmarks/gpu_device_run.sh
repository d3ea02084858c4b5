#!/bin/bash
# Driver for a lent GPU machine (this workplace's device tool: the working tree copied, .whl
# carried, results written under $OUT): installs the wheels of benchmarks/gpu_wheels.sh into
# /tmp/site and runs benchmarks/gpu.sh's steps with the goal's case (resnet50) first.

set -uo pipefail
export PYTHONUNBUFFERED=1
exec > >(tee "$OUT/log.txt") 2>&1
date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv
python3 -c "import sys, jax; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices())"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3
if ! python3 -c "import typer, pydantic" 2>/dev/null && ! python3 -c "import typer; assert tuple(map(int, typer.__version__.split('.')[:2])) >= (0, 12)"; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/fallback/*.whl
fi
python3 -c "import typer, keras, zoo.record as r, pynvml; print('typer', typer.__version__, 'keras', keras.__version__, keras.backend.backend(), r.git_state())" || exit 1
o=$OUT
t0=$(date +%s)
zoo peak --device gpu --dtype float32 --output $o/peak-gpu-jax.jsonl
zoo peak --device gpu --dtype float32 --matmul-precision highest --output $o/peak-gpu-jax.jsonl
zoo peak --device gpu --dtype bfloat16 --output $o/peak-gpu-jax.jsonl
echo "peaks: $(( $(date +%s) - t0 )) s"
zoo bench --suite gpu --backend jax --models resnet50 --output $o/gpu-jax.jsonl
echo "resnet50: $(( $(date +%s) - t0 )) s"
zoo bench --suite parity-gpu --output $o/parity-gpu.jsonl
echo "parity: $(( $(date +%s) - t0 )) s"
zoo bench --suite gpu --backend jax --output $o/gpu-jax.jsonl --resume
echo "all: $(( $(date +%s) - t0 )) s"
