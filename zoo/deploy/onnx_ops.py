"""A conversion rule tf2onnx lacks: TensorFlow's exact GELU (`tf.nn.gelu(approximate=
False)`, which Keras' "gelu" activation calls) computes 0.5 * x * erfc(-x / sqrt(2)), and
tf2onnx 1.17 has no rule for Erfc, so every Transformer's ONNX graph held an op ONNX
Runtime refuses. ONNX has Erf: erfc(x) = 1 - erf(x), exact in float32 to one ulp of 1,
which GELU then multiplies by x / 2.
"""

from __future__ import annotations


def register_erfc() -> None:
    """Adds an Erfc rule to tf2onnx's registry, unless it has one (a later release)."""
    import numpy as np
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    if any("Erfc" in ops for ops in _registered(tf_op)):
        return

    @tf_op("Erfc")
    class Erfc:  # noqa: F841  (registered by the decorator)
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            node.type = "Erf"
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name("one"), np.array(1, dtype=dtype))
            minus = ctx.insert_new_node_on_output(
                "Sub",
                node.output[0],
                name=utils.make_name(node.name),
                inputs=[one.output[0], node.output[0]],
            )
            ctx.copy_shape(node.output[0], minus.output[0])
            ctx.copy_dtype(node.output[0], minus.output[0])


def _registered(tf_op) -> list[dict]:
    """The op names of every opset tf2onnx has rules for."""
    return [handlers for opset in tf_op._OPSETS.values() for handlers in opset]
