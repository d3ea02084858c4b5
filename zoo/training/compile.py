"""Building and compiling a model, shared by training and profiling (`zoo.perf`).

One path builds the graph that is trained and the graph that is timed: the same float32
output under mixed precision, the same loss scaling, the same meaning of `jit_compile`.
"""

from __future__ import annotations

from typing import Any

from zoo import registry, runtime, tasks
from zoo.choices import OPTIMIZERS, SCHEDULES, check_choice


def build_optimizer(
    name: str,
    learning_rate: float,
    *,
    schedule: str = "constant",
    total_steps: int = 1,
    clip_norm: float | None = None,
    weight_decay: float | None = None,
):
    """An optimizer with a learning-rate schedule over `total_steps`, optional global
    gradient-norm clipping and decoupled weight decay (None: the optimizer's default;
    adamw's is 0.004)."""
    import keras

    check_choice("schedule", schedule, SCHEDULES)
    check_choice("optimizer", name, OPTIMIZERS)
    lr: Any = learning_rate
    if schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(learning_rate, max(total_steps, 1))
    elif schedule in ("warmup_cosine", "one_cycle"):
        # warmup_cosine: 10% linear warm-up from 0; one_cycle: 30% from lr/25 (PyTorch
        # OneCycleLR's pct_start and div_factor, with a linear rise); then cosine to 0.
        if schedule == "warmup_cosine":
            warmup, start = max(total_steps // 10, 1), 0.0
        else:
            warmup, start = max(total_steps * 3 // 10, 1), learning_rate / 25
        lr = keras.optimizers.schedules.CosineDecay(
            start, max(total_steps - warmup, 1), warmup_target=learning_rate, warmup_steps=warmup
        )
    kwargs: dict[str, Any] = {"global_clipnorm": clip_norm} if clip_norm else {}
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, **kwargs)
    if name == "adam":
        return keras.optimizers.Adam(lr, **kwargs)
    return keras.optimizers.AdamW(lr, **kwargs)


def build_model(name: str, model_kwargs: dict[str, Any], precision: str = "float32"):
    """The registry's model; under mixed precision its output passes through a float32
    `Activation("linear")`, so logits and loss stay in float32 as the Keras mixed-precision
    guide does. Training and profiling both build through here: they run one graph."""
    import keras

    net = registry.create_model(name, **model_kwargs)
    if precision != "float32":
        outputs = keras.layers.Activation("linear", dtype="float32", name="float32_output")(
            net.output
        )
        net = keras.Model(net.input, outputs, name=net.name)
    return net


def compile_model(
    net,
    task: tasks.Task,
    optimizer,
    *,
    precision: str = "float32",
    jit_compile: bool | str = False,
    steps_per_execution: int = 1,
    run_eagerly: bool = False,
    metrics: bool = True,
    label_smoothing: float | None = None,
):
    """Compiles `net` for `task`: float16 wraps the optimizer in loss scaling; `jit_compile`
    is translated for the running backend (`runtime.backend_jit`). Returns `net`."""
    import keras

    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    net.compile(
        optimizer=optimizer,
        loss=task.build_loss(label_smoothing),
        metrics=task.build_metrics(net.outputs[0].shape[-1]) if metrics else None,
        jit_compile=False if run_eagerly else runtime.backend_jit(jit_compile),
        run_eagerly=run_eagerly,
        steps_per_execution=steps_per_execution,
    )
    return net


def prebuild(net, x, y) -> None:
    """Creates the optimizer's, the metrics' and the loss's variables before the first
    step is traced, from the shapes of (x, y) (symbolically, with the batch size left
    open: nothing runs).

    Without a distribution strategy Keras leaves them to the first trace of the train
    step, and TensorFlow traces a `tf.function` whose first call creates variables twice
    (once creating them, once more without). Built first, the step is traced once, which
    about halves the compilation of a model with many variables under Adam
    (docs/training.md). Keras builds the same way itself under a strategy
    (`_symbolic_build`, a private method: where it is missing or fails, Keras builds in
    the first trace as before); the other backends build before their first step
    already."""
    import keras

    build = getattr(net, "_symbolic_build", None)
    if keras.backend.backend() != "tensorflow" or build is None:
        return
    if getattr(net, "_distribute_strategy", None) is not None:
        return  # Keras builds it itself, in the strategy's scope

    def spec(a):  # an open batch size: a fixed one would clash with the real batches'
        # shapes in ops traced once per shape (TensorFlow's CTC loss)
        return keras.KerasTensor(
            (None, *tuple(a.shape)[1:]), dtype=keras.backend.standardize_dtype(a.dtype)
        )

    try:
        build(data_batch=(keras.tree.map_structure(spec, x), spec(y), None))
    except Exception:  # noqa: BLE001 - only speed is at stake: Keras builds when it traces
        return
