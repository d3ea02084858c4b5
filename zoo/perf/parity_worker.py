"""One backend of a parity run: `python -m zoo.perf.parity_worker JOB_FILE RECORD_FILE`,
started by `zoo.perf.parity` through `zoo.proc` (not an interface for users).

Runs with `KERAS_BACKEND` set. Reads the shared batches (and, unless it is the first
backend, the shared initial weights) from the job's folder, writes `<backend>.npz`
(`jax-gpu.npz` for an entry `jax:gpu`: the job's `file`)
(outputs, gradients, initial weights) there, and returns the record (losses, metric,
throughput, what ran) that `zoo.proc.worker_main` writes; a ZooError or another exception
is a "failed" record, a missing optional package a "skipped" one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoo import io, runtime
from zoo.proc import worker_main


def run(job: dict) -> dict[str, Any]:
    """The backend's record; its arrays go to `<backend>.npz` in the job's folder."""
    folder = Path(job["folder"])
    from zoo.runtime import device as zdevice

    # Float32 matmuls in full float32 on every backend and device (a GPU's default may
    # run them in TF32, far outside the float32 tolerances): the parity of the arithmetic.
    zdevice.set_matmul_precision("highest")
    ran_on = zdevice.resolve("auto")
    if job.get("device") == "gpu" and ran_on != "gpu":
        return {"status": "skipped", "reason": f"{job['backend']}: the backend sees no GPU"}
    try:
        record, arrays = _run(job, folder)
    except ImportError as e:  # a factory's optional package (keras-hub, keras-rs)
        return {"status": "skipped", "reason": f"needs {e.name or e}: {e}"}
    record["env"] = {**record["env"], "device": ran_on, **zdevice.matmul_settings()}
    with io.atomic_path(folder / f"{job.get('file', job['backend'])}.npz", suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    return record


def _run(job: dict, folder: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Forward, step-1 gradients (SGD trick), the loss curve, the metric, throughput."""
    import keras

    keras.mixed_precision.set_global_policy(job["precision"])
    train, eval_batch = _batches(folder / "batches.npz")
    weights = folder / "init.weights.h5"
    if job["setup"]:
        _build(job, None).save_weights(weights)
    net = _build(job, weights)
    paths = [v.path for v in net.trainable_weights]
    initial = [np.asarray(keras.ops.convert_to_numpy(v)) for v in net.trainable_weights]
    grads, losses_sgd = _sgd_gradients(net, job, train[0])
    trained = _build(job, weights)
    forward = np.asarray(keras.ops.convert_to_numpy(trained.predict_on_batch(eval_batch[0])))
    losses, samples_per_s = _train(trained, job, train)
    metric = _metric(trained, job, eval_batch)
    arrays = {"forward": forward.astype("float64")}
    for i, (w, g) in enumerate(zip(initial, grads, strict=True)):
        arrays[f"weight_{i}"], arrays[f"grad_{i}"] = w, g
    record = {
        "status": "ok", "weights": paths, "losses_sgd": losses_sgd, "losses": losses,
        "loss_first": losses[0], "loss_final": losses[-1], "metric": metric,
        "samples_per_s": samples_per_s, "jit": str(trained.jit_compile), "env": _env(),
    }  # fmt: skip
    return record, arrays


def _batches(path: Path) -> tuple[list[tuple], tuple]:
    """[(x, y)] per training step, and the evaluation (x, y); x is an array or a dict."""
    data = np.load(path)
    keys = [k[len("train_x") :] for k in data.files if k.startswith("train_x")]

    def x(prefix, index=None):
        parts = {k.lstrip("/"): data[prefix + k] for k in keys}
        parts = {k: v if index is None else v[index] for k, v in parts.items()}
        return parts[""] if list(parts) == [""] else parts

    steps = len(data["train_y"])
    train = [(x("train_x", t), data["train_y"][t]) for t in range(steps)]
    return train, (x("eval_x"), data["eval_y"])


def _build(job: dict, weights: Path | None):
    """The registry's model: seed 0, fresh layer names, the shared weights if given."""
    import keras

    from zoo.training.compile import build_model

    keras.backend.clear_session()
    runtime.set_seed(0)
    net = build_model(job["model"], dict(job["model_kwargs"]), job["precision"])
    _dropout_off(net)
    if weights is not None:
        net.load_weights(weights)
        if job.get("perturb"):
            _perturb(net, job["perturb"])
    return net


# Layers that drop whole residual branches at random in training, by class name.
STOCHASTIC_DEPTH = ("DropPath", "StochasticDepth")


def _dropout_off(net) -> None:
    """Rate 0 for every Dropout layer, including those a factory does not expose as a
    hyper-parameter (keras.applications' EfficientNet drops units and whole blocks in
    training), and for stochastic depth (keras-hub's DropPath: SegFormer's MiT drops whole
    residual branches): the backends' random streams differ, so dropout would be the
    difference."""
    import keras

    for layer in net._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Dropout) or type(layer).__name__ in STOCHASTIC_DEPTH:
            layer.rate = 0.0


def _perturb(net, path: str) -> None:
    """The test hook: adds 1e-3 of its largest magnitude to one trainable tensor."""
    import keras

    for v in net.trainable_weights:
        if v.path == path:
            w = np.asarray(keras.ops.convert_to_numpy(v))
            v.assign(w + 1e-3 * max(float(np.max(np.abs(w))), 1.0))
            return
    known = ", ".join(v.path for v in net.trainable_weights)
    raise ValueError(f"no trainable tensor {path!r}; the model has: {known}")


def _compile(net, job: dict, optimizer, metrics: bool):
    from zoo import registry, tasks
    from zoo.training.compile import compile_model

    task = tasks.get(registry.get_spec(job["model"]).task)
    return compile_model(net, task, optimizer, precision=job["precision"], metrics=metrics)


def _sgd_gradients(net, job: dict, batch: tuple) -> tuple[list[np.ndarray], list[float]]:
    """g = w_before - w_after of one SGD(learning_rate=1.0) step without momentum, for
    every trainable tensor (the difference of two float32 arrays, exact in float64)."""
    import keras

    _compile(net, job, keras.optimizers.SGD(learning_rate=1.0), metrics=False)
    before = [np.asarray(keras.ops.convert_to_numpy(v), "float64") for v in net.trainable_weights]
    loss = float(net.train_on_batch(*batch))
    after = [np.asarray(keras.ops.convert_to_numpy(v), "float64") for v in net.trainable_weights]
    return [b - a for b, a in zip(before, after, strict=True)], [loss]


def _train(net, job: dict, batches: list[tuple]) -> tuple[list[float], float | None]:
    """The recipe's optimizer (fresh state) over the batches in order: the loss of every
    step, and samples/s of steps 2..N (step 1 traces and compiles)."""
    from zoo.training.compile import build_optimizer

    _compile(net, job, build_optimizer(job["optimizer"], job["learning_rate"]), metrics=True)
    losses, t0 = [], 0.0
    for step, (x, y) in enumerate(batches):
        if step == 1:
            t0 = time.perf_counter()
        losses.append(float(net.train_on_batch(x, y, return_dict=True)["loss"]))
    elapsed = time.perf_counter() - t0
    timed = len(batches) - 1
    rate = timed * len(batches[0][1]) / elapsed if timed and elapsed > 0 else None
    return losses, rate


def _metric(net, job: dict, batch: tuple) -> float:
    """The task's headline metric on the evaluation batch."""
    from zoo import registry, tasks

    headline = tasks.get(registry.get_spec(job["model"]).task).epoch_headline
    x, y = batch
    logs = net.evaluate(x, y, batch_size=len(y), verbose=0, return_dict=True)
    return float(logs[headline])


def _env() -> dict[str, Any]:
    """Versions and machine of this backend's process."""
    from importlib.metadata import PackageNotFoundError, version

    from zoo import io

    env = io.environment()
    keys = ("keras", "backend", "tensorflow", "numpy", "cpu", "cpu_count")
    out = {k: env.get(k) for k in keys}
    for dist in ("jax", "jaxlib", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


if __name__ == "__main__":
    sys.exit(worker_main(run))
