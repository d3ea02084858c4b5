"""FLOPs per example from a per-layer counter.

One multiply-add is 2 FLOPs. Counted: Dense and EinsumDense-free projections, Conv1D/2D,
DepthwiseConv2D, pooling (one op per window element), normalization (2 per element for
batch norm, 5 for layer norm), element-wise layers (1 per output element), recurrent
cells times time steps (SimpleRNN, GRU with 3 gates, LSTM with 4, both directions of a
Bidirectional), multi-head attention (the Q, K, V and output projections, the score and
value products and the softmax), dot products, keras-rs FeatureCross, and the in-batch
scores of a retrieval model (which grow with the batch). Embedding lookups are memory
reads, 0 FLOPs. A training step is counted as 3x the forward pass (the backward pass
costs about twice the forward: Kaplan et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

ELEMENTWISE = {
    "ReLU",
    "Activation",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Rescaling",
    "Softmax",
    "LeakyReLU",
    "GlobalBias",
    "UnitNormalization",
    "Normalization",
    "PositionEmbedding",
}
FREE = {
    "InputLayer",
    "Flatten",
    "Reshape",
    "Permute",
    "Dropout",
    "Embedding",
    "Concatenate",
    "ZeroPadding2D",
    "ZeroPadding1D",
    "Cropping2D",
    "Identity",
    "RepeatVector",
}


def _n(shape) -> int:
    """Elements per example of a (batch, ...) shape."""
    return int(math.prod(d for d in shape[1:] if d is not None))


def _shape(t) -> tuple:
    return tuple(t.shape)


def _calls(model) -> Iterator[tuple[Any, list[tuple], list[tuple]]]:
    """(layer, input shapes, output shapes) for every call of every layer, nested models
    expanded."""
    for layer in model.layers:
        if (
            hasattr(layer, "layers")
            and hasattr(layer, "_inbound_nodes")
            and getattr(layer, "inputs", None) is not None
            and type(layer).__name__ in ("Functional", "Model", "Sequential")
        ):
            yield from _calls(layer)
            continue
        for node in layer._inbound_nodes:
            ins = [_shape(t) for t in node.input_tensors]
            outs = [_shape(t) for t in node.output_tensors]
            yield layer, ins, outs


def _rnn(layer, ins, gates: int) -> int:
    cell_units = layer.units if hasattr(layer, "units") else layer.cell.units
    steps, features = ins[0][1], ins[0][2]
    return steps * gates * 2 * (features + cell_units) * cell_units


def layer_flops(layer, ins: list[tuple], outs: list[tuple], batch_size: int = 1) -> int:
    """Forward FLOPs per example of one call of `layer` (see the module docstring)."""
    kind = type(layer).__name__
    out = outs[0]
    if kind in FREE or kind.endswith("InputLayer"):
        return 0
    if kind == "Dense":
        return 2 * ins[0][-1] * layer.units * (_n(out) // layer.units)
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        kernel = math.prod(layer.kernel_size)
        cin = ins[0][-1] if layer.data_format == "channels_last" else ins[0][1]
        return 2 * kernel * (cin // layer.groups) * _n(out)
    if kind == "DepthwiseConv2D":
        return 2 * math.prod(layer.kernel_size) * _n(out)
    if kind in ("MaxPooling2D", "AveragePooling2D", "MaxPooling1D", "AveragePooling1D"):
        return math.prod(layer.pool_size) * _n(out)
    if kind.startswith("Global") and "Pooling" in kind:
        return _n(ins[0])
    if kind == "BatchNormalization":
        return 2 * _n(out)
    if kind == "LayerNormalization":
        return 5 * _n(out)
    if kind in ELEMENTWISE:
        return _n(out)
    if kind == "SimpleRNN":
        return _rnn(layer, ins, 1)
    if kind == "GRU":
        return _rnn(layer, ins, 3)
    if kind == "LSTM":
        return _rnn(layer, ins, 4)
    if kind == "Bidirectional":
        inner = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[type(layer.forward_layer).__name__]
        return 2 * _rnn(layer.forward_layer, ins, inner)
    if kind == "MultiHeadAttention":
        q, v = ins[0], ins[1] if len(ins) > 1 else ins[0]
        tq, tk, dq, dv = q[1], v[1], q[-1], v[-1]
        h, k = layer.num_heads, layer.key_dim
        vd = layer.value_dim or k
        projections = 2 * (
            tq * dq * h * k + tk * dv * h * k + tk * dv * h * vd + tq * h * vd * out[-1]
        )
        attention = 2 * tq * tk * h * k + 3 * tq * tk * h + 2 * tq * tk * h * vd
        return projections + attention
    if kind == "Dot":
        return 2 * _n(ins[0])
    if kind == "FeatureCross":
        d = ins[0][-1]
        return 2 * d * d + 3 * d
    if kind == "DotScores":
        return 2 * ins[0][-1] * batch_size
    if kind == "MaxPooling3D" or kind == "AveragePooling3D":
        return math.prod(layer.pool_size) * _n(out)
    raise NotImplementedError(kind)


def count(model, batch_size: int = 1) -> dict[str, Any]:
    """Forward and training FLOPs per example of a Functional model.

    Returns:
        ``{"forward": int, "train": int, "by_layer": {name: flops}, "uncounted": [types]}``;
        layers of an unknown type count 0 and are named in ``uncounted``.
    """
    by_layer: dict[str, int] = {}
    uncounted: set[str] = set()
    for layer, ins, outs in _calls(model):
        try:
            flops = layer_flops(layer, ins, outs, batch_size)
        except NotImplementedError:
            uncounted.add(type(layer).__name__)
            flops = 0
        by_layer[layer.name] = by_layer.get(layer.name, 0) + int(flops)
    forward = sum(by_layer.values())
    return {
        "forward": forward,
        "train": 3 * forward,
        "by_layer": by_layer,
        "uncounted": sorted(uncounted),
    }
