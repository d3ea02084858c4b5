"""The zoo's model trained by a hand-written `tf.function` step.

The same architecture (built by the zoo's factory), the same Adam optimizer and learning
rate, the same loss and the same batch in memory as `zoo.perf.profile`'s "graph" mode; only
the training step differs: a plain GradientTape step in one `tf.function`, no Keras
trainer. The zoo's throughput over this one is the overhead of the Keras trainer.
"""

from __future__ import annotations

from typing import Any

from zoo.perf.references import common


def measure(
    model: str,
    batch_size: int,
    *,
    steps: int = 20,
    warmup: int = 3,
    precision: str = "float32",
) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from zoo import registry, tasks

    if precision != "float32":
        raise ValueError("the hand-written loop is measured in float32 only")
    x, y, kwargs = common.batch(model, batch_size)
    task = tasks.get(registry.get_spec(model).task)
    keras.utils.set_random_seed(0)
    net = registry.create_model(model, **kwargs)
    loss_fn = task.build_loss()
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(net.trainable_variables)
    x_t = tf.nest.map_structure(tf.constant, x)
    y_t = tf.constant(y)

    @tf.function(jit_compile=False, reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, net(x, training=True))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply(grads, net.trainable_variables)
        return loss

    losses = []
    first, times = common.time_steps(
        lambda: losses.append(float(train_step(x_t, y_t))), steps, warmup
    )
    return common.record(
        model=model,
        mode="ref_tf",
        batch_size=batch_size,
        first_s=first,
        times=times,
        flops_model=net,
        implementation=f"hand-written tf.function step, TensorFlow {tf.__version__}",
        params=int(net.count_params()),
        framework="tensorflow",
        warmup=warmup,
        extra={"loss_first": losses[0], "loss_last": losses[-1]},
    )
