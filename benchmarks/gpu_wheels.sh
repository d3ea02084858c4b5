#!/usr/bin/env bash
# Prepares, on a machine with the network, the wheels a GPU machine without one needs to
# run benchmarks/gpu.sh on JAX: the zoo (built from the committed HEAD, with the commit
# recorded in the wheel: zoo/_git.json), Keras and the pure-Python or binary packages of
# Keras' that such an image lacks.
#
#   bash benchmarks/gpu_wheels.sh [DIR] [PYTHON_VERSION]   (default: .whl 3.12)
#
# Then, on the GPU machine, from the repository root:
#   python3 -m pip install --no-index --no-deps --target /tmp/site DIR/*.whl
#   PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH bash benchmarks/gpu.sh
# The list assumes an image with JAX (CUDA), NumPy, h5py, ml-dtypes, absl-py, rich, click
# and nvidia-ml-py already there (the lent H100/H200 image has them): name any other in
# EXTRA="pkg==ver ...".
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.whl}"
py="${2:-3.12}"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "gpu_wheels.sh: the checkout has uncommitted changes; commit them first, so the" \
    "wheel's recorded commit is what it holds." >&2
  exit 2
fi
rm -rf "$dir" && mkdir -p "$dir"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive HEAD | tar -x -C "$src"
printf '{"commit": "%s", "dirty": false}\n' "$(git rev-parse HEAD)" > "$src/zoo/_git.json"
python3 -m pip wheel -q --no-deps --no-build-isolation -w "$dir" "$src"
keras=$(python3 -c "import keras; print(keras.__version__)" 2>/dev/null || echo 3.15.1)
plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
  --platform manylinux2014_x86_64)
# shellcheck disable=SC2086
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" \
  --implementation cp "${plat[@]}" -d "$dir" "keras==$keras" namex optree "typer>=0.12" \
  ${EXTRA:-}
ls -1 "$dir"
