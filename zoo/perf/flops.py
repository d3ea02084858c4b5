"""FLOPs per example from a per-layer counter.

One multiply-add is 2 FLOPs. Counted: Dense and EinsumDense-free projections, Conv1D/2D,
DepthwiseConv2D, pooling (one op per window element), normalization (2 per element for
batch norm, 5 for layer norm), element-wise layers (1 per output element), recurrent
cells times time steps (SimpleRNN, GRU with 3 gates, LSTM with 4, both directions of a
Bidirectional), multi-head attention (the Q, K, V and output projections, the score and
value products and the softmax), dot products, keras-rs FeatureCross, the in-batch
scores of a retrieval model (which grow with the batch), transposed convolutions,
bilinear resizing (6 per output element; nearest is a copy), ConvLSTM2D (the input and
recurrent convolutions into 4 gates, per step), TimeDistributed (its layer per step), and
keras-hub's MiT blocks (SegFormer: sequence-reduced attention and the Mix-FFN). Embedding
lookups are memory reads, 0 FLOPs. A training step is counted as 3x the forward pass (the
backward pass costs about twice the forward: Kaplan et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
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
# masks and ids made from the tokens: no floating-point arithmetic
ZERO = {"PaddingMask", "SegmentIds", "HashedBigrams"}
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


def _calls(
    model, seen: set | None = None, length: int | None = None
) -> Iterator[tuple[Any, list[tuple], list[tuple]]]:
    """(layer, input shapes, output shapes) for every call of every layer, nested models
    (Functional ones and their subclasses, such as keras-hub backbones) expanded; a layer
    shared by two nested models is visited once. A nested model built for any sequence
    length (None on axis 1) is counted at the outer model's `length`."""
    import keras

    seen = set() if seen is None else seen
    for layer in model.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, keras.Model) and getattr(layer, "inputs", None) is not None:
            yield from _calls(layer, seen, length)
            continue
        # a layer shared with another model (built by it): only its calls in this one, by
        # Keras' node keys (keras.src.ops.function.make_node_key)
        own = getattr(model, "_nodes", None)
        for i, node in enumerate(layer._inbound_nodes):
            if own is not None and f"{id(layer)}_ib-{i}" not in own:
                continue
            ins = [_fill(_shape(t), length) for t in node.input_tensors]
            outs = [_fill(_shape(t), length) for t in node.output_tensors]
            yield layer, ins, outs


def _fill(shape: tuple, length: int | None) -> tuple:
    if length is not None and len(shape) >= 2 and shape[1] is None:
        return (shape[0], length, *shape[2:])
    return shape


def _rnn(layer, ins, gates: int) -> int:
    cell_units = layer.units if hasattr(layer, "units") else layer.cell.units
    steps, features = ins[0][1], ins[0][2]
    return steps * gates * 2 * (features + cell_units) * cell_units


def _transformer_block(layer, ins, out, batch_size) -> int:  # keras-hub blocks
    tokens, d = ins[0][1], ins[0][-1]
    heads, ffn = layer.num_heads, layer.intermediate_dim
    attention = 4 * 2 * tokens * d * d + 2 * 2 * tokens * tokens * d
    attention += 3 * tokens * tokens * heads  # softmax
    feedforward = 2 * 2 * tokens * d * ffn
    return attention + feedforward + 2 * 5 * tokens * d + 2 * tokens * d  # norms, adds


def _decoder_block(layer, ins, out, batch_size) -> int:  # keras-hub, with cross-attention
    """A decoder block: its self-attention block, plus cross-attention over the encoder's
    sequence where the call has one (queries and output from the decoder's tokens, keys
    and values from the encoder's)."""
    own = _transformer_block(layer, ins, out, batch_size)
    context = [s for s in ins[1:] if len(s) == 3]
    if not context:
        return own
    tokens, d = ins[0][1], ins[0][-1]
    source = context[0][1]
    cross = 2 * 2 * tokens * d * d + 2 * 2 * source * d * d + 2 * 2 * tokens * source * d
    return own + cross + 3 * tokens * source * layer.num_heads + 5 * tokens * d


def _reversible_embedding(layer, ins, out, batch_size) -> int:
    """A lookup (0), or with reverse=True the logits over the vocabulary."""
    if out[-1] == layer.input_dim and ins[0][-1] == layer.output_dim:
        return 2 * layer.output_dim * layer.input_dim * (_n(out) // layer.input_dim)
    return 0


def _conv(layer, ins, out, batch_size) -> int:
    kernel = math.prod(layer.kernel_size)
    cin = ins[0][-1] if layer.data_format == "channels_last" else ins[0][1]
    return 2 * kernel * (cin // layer.groups) * _n(out)


def _attention(layer, ins, out, batch_size) -> int:
    q, v = ins[0], ins[1] if len(ins) > 1 else ins[0]
    tq, tk, dq, dv = q[1], v[1], q[-1], v[-1]
    h, k = layer.num_heads, layer.key_dim
    vd = layer.value_dim or k
    projections = 2 * (tq * dq * h * k + tk * dv * h * k + tk * dv * h * vd + tq * h * vd * out[-1])
    attention = 2 * tq * tk * h * k + 3 * tq * tk * h + 2 * tq * tk * h * vd
    return projections + attention


def _pool(layer, ins, out, batch_size) -> int:  # one op per window element
    return math.prod(layer.pool_size) * _n(out)


RNN_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def _bidirectional(layer, ins, out, batch_size) -> int:
    gates = RNN_GATES[type(layer.forward_layer).__name__]
    return 2 * _rnn(layer.forward_layer, ins, gates)


def _conv_transpose(layer, ins, out, batch_size) -> int:
    """Each input pixel scatters kernel x filters multiply-adds per input channel."""
    return 2 * math.prod(layer.kernel_size) * layer.filters * _n(ins[0])


def _resize(layer, ins, out, batch_size) -> int:
    """Nearest: a copy (0); bilinear: three lerps of 2 FLOPs per output element."""
    return 6 * _n(out) if getattr(layer, "interpolation", "nearest") == "bilinear" else 0


def _time_distributed(layer, ins, out, batch_size) -> int:
    """The wrapped layer on each of the time steps."""
    steps = ins[0][1]
    inner_in, inner_out = [(ins[0][0], *ins[0][2:])], [(out[0], *out[2:])]
    return steps * layer_flops(layer.layer, inner_in, inner_out, batch_size)


def _conv_lstm(layer, ins, out, batch_size) -> int:
    """Per step, the input and the recurrent convolutions into the 4 gates."""
    steps, cin = ins[0][1], ins[0][-1]
    pixels = math.prod(ins[0][2:-1])  # "same" padding: the state's size
    kernel = math.prod(layer.kernel_size)
    return steps * 2 * kernel * (cin + layer.filters) * 4 * layer.filters * pixels


def _mit_patches(layer, ins, out, batch_size) -> int:  # keras-hub MiT
    """The overlapping patch embedding: a strided convolution, then a layer norm."""
    cin = ins[0][-1]
    return 2 * layer.patch_size**2 * cin * _n(out) + 5 * _n(out)


def _mit_block(layer, ins, out, batch_size) -> int:  # keras-hub MiT (SegFormer)
    """Efficient self-attention (keys and values from a sequence reduced sr x sr by a
    strided convolution) and the Mix-FFN (Dense to 4d, 3x3 depthwise, Dense back)."""
    tokens, d = ins[0][1], ins[0][-1]
    sr = layer.attn.sr_ratio
    reduced = tokens // (sr * sr)
    attention = 2 * 2 * tokens * d * d  # query and output projections
    attention += 2 * 2 * reduced * d * d  # key and value projections
    attention += 2 * sr * sr * d * d * reduced if sr > 1 else 0  # the reduction
    attention += 2 * 2 * tokens * reduced * d + 3 * tokens * reduced * layer.num_heads
    feedforward = 2 * 2 * tokens * d * 4 * d + 2 * 9 * tokens * 4 * d
    return attention + feedforward + 2 * 5 * tokens * d + 2 * tokens * d  # norms, adds


def _feature_cross(layer, ins, out, batch_size) -> int:
    d = ins[0][-1]
    return 2 * d * d + 3 * d


# Layer type -> forward FLOPs per example of one call: f(layer, ins, out, batch_size).
COUNTERS: dict[str, Callable[[Any, list[tuple], tuple, int], int]] = {
    "ReversibleEmbedding": _reversible_embedding,
    **dict.fromkeys(("TransformerEncoder", "WhisperEncoder"), _transformer_block),
    **dict.fromkeys(("TransformerDecoder", "WhisperDecoder"), _decoder_block),
    "Dense": lambda layer, ins, out, b: 2 * ins[0][-1] * layer.units * (_n(out) // layer.units),
    **dict.fromkeys(("Conv1D", "Conv2D", "Conv3D"), _conv),
    "DepthwiseConv2D": lambda layer, ins, out, b: 2 * math.prod(layer.kernel_size) * _n(out),
    **{f"{kind}Pooling{d}D": _pool for kind in ("Max", "Average") for d in (1, 2, 3)},
    "BatchNormalization": lambda layer, ins, out, b: 2 * _n(out),
    "LayerNormalization": lambda layer, ins, out, b: 5 * _n(out),
    **{kind: (lambda layer, ins, out, b: _n(out)) for kind in ELEMENTWISE},
    **{
        kind: (lambda layer, ins, out, b, g=gates: _rnn(layer, ins, g))
        for kind, gates in RNN_GATES.items()
    },
    "Bidirectional": _bidirectional,
    "MultiHeadAttention": _attention,
    "Dot": lambda layer, ins, out, b: 2 * _n(ins[0]),
    "FeatureCross": _feature_cross,
    "Conv2DTranspose": _conv_transpose,
    **dict.fromkeys(("UpSampling2D", "Resizing"), _resize),
    "TimeDistributed": _time_distributed,
    "ConvLSTM2D": _conv_lstm,
    "OverlappingPatchingAndEmbedding": _mit_patches,
    "HierarchicalTransformerEncoder": _mit_block,
    "DotScores": lambda layer, ins, out, batch_size: 2 * ins[0][-1] * batch_size,
    # p_u . q_i, then + b_u + b_i and + mu: matrix_factorization's Dot, Add and GlobalBias
    "BiasedFactors": lambda layer, ins, out, b: (2 * layer.embedding_dim + 2) * _n(out),
}


def layer_flops(layer, ins: list[tuple], outs: list[tuple], batch_size: int = 1) -> int:
    """Forward FLOPs per example of one call of `layer` (see the module docstring).

    Raises:
        NotImplementedError: a layer type the counter does not know.
    """
    kind = type(layer).__name__
    if kind in FREE or kind in ZERO or kind.endswith("InputLayer"):
        return 0
    if (kind.startswith("Global") and "Pooling" in kind) or kind == "MaskedMean":
        return _n(ins[0])  # one add per input element (a masked mean: as many)
    counter = COUNTERS.get(kind)
    if counter is None:
        raise NotImplementedError(kind)
    return counter(layer, ins, outs[0], batch_size)


def count(model, batch_size: int = 1) -> dict[str, Any]:
    """Forward and training FLOPs per example of a Functional model.

    Returns:
        ``{"forward": int, "train": int, "by_layer": {name: flops}, "uncounted": [types]}``;
        layers of an unknown type count 0 and are named in ``uncounted``.
    """
    by_layer: dict[str, int] = {}
    uncounted: set[str] = set()
    first = tuple(model.inputs[0].shape) if getattr(model, "inputs", None) else ()
    length = first[1] if len(first) == 2 and isinstance(first[1], int) else None  # tokens
    for layer, ins, outs in _calls(model, length=length):
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
