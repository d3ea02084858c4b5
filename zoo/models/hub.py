"""Published Transformer architectures built through keras-hub (optional extra ``hub``).

`bert_base` and `gpt2_small` are built from the published configurations (BERT-Base:
12 layers, 12 heads, 768 hidden, 3072 intermediate, 30,522 word pieces; GPT-2 small:
12 layers, 12 heads, 768 hidden, 50,257 byte-pair tokens) with random weights, offline.
With a network, `preset=` loads a keras-hub preset's weights instead (e.g.
``bert_base_en_uncased``, ``gpt2_base_en``). Each wraps the keras-hub backbone into the
zoo's task interface: token ids in (0 is padding), logits out.
"""

from __future__ import annotations

import keras

from zoo.errors import InvalidArgumentError
from zoo.layers import PaddingMask, SegmentIds
from zoo.models import _checks


def _hub():
    try:
        import keras_hub
    except ImportError:
        raise InvalidArgumentError(
            "This model is built by keras-hub, which is not installed.",
            "pip install 'keras-zoo[hub]'",
        ) from None
    return keras_hub


def _backbone(cls, preset: str | None, *, dropout: float, **sizes):
    """A keras-hub backbone: from a preset (weights; needs a network), else from the given
    sizes (checked: positive integers) with random weights."""
    if preset:
        return cls.from_preset(preset)
    names = {"vocabulary_size": "vocab_size"}  # the zoo's parameter names in messages
    checked = {k: _checks.positive_int(names.get(k, k), v) for k, v in sizes.items()}
    return cls(**checked, dropout=float(dropout))


def bert_base(
    sequence_length: int = 128,
    num_classes: int = 2,
    vocab_size: int = 30522,
    num_layers: int = 12,
    num_heads: int = 12,
    hidden_dim: int = 768,
    intermediate_dim: int = 3072,
    dropout: float = 0.1,
    preset: str | None = None,
) -> keras.Model:
    """BERT-Base (Devlin et al. 2018) as a sequence classifier: the backbone's pooled
    [CLS] output, dropout, and a Dense layer of `num_classes` logits.

    Args:
        sequence_length: tokens per example (the published model takes up to 512).
        num_classes: output classes.
        vocab_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout: the
            backbone's configuration (defaults: BERT-Base).
        preset: a keras-hub preset name to load pretrained weights (needs a network);
            its configuration replaces the one above.
    """
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    num_classes = _checks.positive_int("num_classes", num_classes)
    backbone = _backbone(
        _hub().models.BertBackbone,
        preset,
        vocabulary_size=vocab_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        max_sequence_length=max(512, sequence_length),
    )
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    features = backbone(
        {
            "token_ids": tokens,
            "segment_ids": SegmentIds(name="segment_ids")(tokens),
            "padding_mask": PaddingMask(name="padding_mask")(tokens),
        }
    )["pooled_output"]
    x = keras.layers.Dropout(float(dropout), name="classifier_dropout")(features)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(tokens, logits, name="bert_base")


def gpt2_small(
    sequence_length: int = 128,
    vocab_size: int = 50257,
    num_layers: int = 12,
    num_heads: int = 12,
    hidden_dim: int = 768,
    intermediate_dim: int = 3072,
    dropout: float = 0.1,
    preset: str | None = None,
) -> keras.Model:
    """GPT-2 small (Radford et al. 2019) as a causal language model: next-token logits
    from the backbone's output through its token embedding, transposed (tied weights, as
    in GPT-2).

    Args:
        sequence_length: tokens per example (the published model takes up to 1024).
        vocab_size, num_layers, num_heads, hidden_dim, intermediate_dim, dropout: the
            backbone's configuration (defaults: GPT-2 small).
        preset: a keras-hub preset name to load pretrained weights (needs a network).
    """
    hub = _hub()
    sequence_length = _checks.positive_int("sequence_length", sequence_length)
    backbone = _backbone(
        hub.models.GPT2Backbone,
        preset,
        vocabulary_size=vocab_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        max_sequence_length=max(1024, sequence_length),
    )
    # keras-hub's causal LM ties the output to the token embedding and saves that way.
    causal_lm = hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    logits = causal_lm(
        {"token_ids": tokens, "padding_mask": PaddingMask(name="padding_mask")(tokens)}
    )
    return keras.Model(tokens, logits, name="gpt2_small")


def segformer_b0(
    input_shape: tuple[int, int, int] = (64, 64, 3),
    num_classes: int = 4,
    hidden_dims: tuple[int, ...] = (32, 64, 160, 256),
    depths: tuple[int, ...] = (2, 2, 2, 2),
    num_heads: tuple[int, ...] = (1, 2, 5, 8),
    projection_filters: int = 256,
    preset: str | None = None,
) -> keras.Model:
    """SegFormer-B0 (Xie et al. 2021) through keras-hub: the MiT-B0 hierarchical
    transformer encoder (overlapping patch embeddings at strides 4, 2, 2, 2, efficient
    self-attention with sequence reduction 8, 4, 2, 1) and SegFormer's all-MLP decoder at a
    quarter of the resolution, then a 1x1 convolution to class logits and a bilinear
    upsampling back to the image's size.

    Args:
        input_shape: (height, width, channels) of one image; height and width multiples of
            4 * 2 ** (len(hidden_dims) - 1), and at least twice that (B0: 64).
        num_classes: number of classes (the background is one); the model returns logits.
        hidden_dims, depths, num_heads: per encoder stage, its width, its transformer
            layers and attention heads (defaults: MiT-B0's published configuration).
        projection_filters: width of the decoder (B0: 256).
        preset: a keras-hub MiT preset to load the encoder's pretrained weights (needs a
            network), e.g. ``mit_b0_ade20k_512``.

    Returns:
        A Functional `keras.Model` returning (batch, height, width, num_classes) logits.
    """
    hub = _hub()
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    encoder = _mit_encoder(hub, input_shape, hidden_dims, depths, num_heads, preset)
    backbone = hub.models.SegFormerBackbone(
        image_encoder=encoder,
        projection_filters=_checks.positive_int("projection_filters", projection_filters),
    )
    inputs = keras.Input(shape=input_shape, name="image")
    x = backbone(inputs)
    x = keras.layers.Conv2D(num_classes, 1, name="classes")(x)
    outputs = keras.layers.UpSampling2D(4, interpolation="bilinear", name="logits")(x)
    return keras.Model(inputs, outputs, name="segformer_b0")


def _mit_encoder(hub, input_shape, hidden_dims, depths, num_heads, preset):
    """keras-hub's MiT encoder: from a preset, else from the stages' sizes (checked)."""
    stages = len(hidden_dims)
    for name, values in (("depths", depths), ("num_heads", num_heads)):
        if len(values) != stages:
            raise InvalidArgumentError(
                f"`{name}` needs one value per stage of hidden_dims ({stages}); received "
                f"{name}={tuple(values)}."
            )
    # The last stage sees size / (4 * 2 ** (stages - 1)) pixels a side, and every stage's
    # reduced attention sequence as many: keras-hub's MiT needs at least 2.
    step = 4 * 2 ** (stages - 1)
    for side, size in zip(("height", "width"), input_shape[:2], strict=False):
        _checks.divisible(side, size, "4 * 2 ** (stages - 1)", step)
        if size < 2 * step:
            raise InvalidArgumentError(
                f"SegFormer with {stages} stages needs images of {2 * step} pixels a side or "
                f"more; received {side}={size}.",
                f"Use input_shape=({2 * step}, {2 * step}, 3), or fewer stages.",
            )
    if preset:
        return hub.models.MiTBackbone.from_preset(preset)
    return hub.models.MiTBackbone(
        layerwise_depths=[_checks.positive_int("depths", d) for d in depths],
        num_layers=stages,
        layerwise_num_heads=[_checks.positive_int("num_heads", h) for h in num_heads],
        layerwise_sr_ratios=[2 ** (stages - 1 - i) for i in range(stages)],
        max_drop_path_rate=0.1,
        layerwise_patch_sizes=[7] + [3] * (stages - 1),
        layerwise_strides=[4] + [2] * (stages - 1),
        image_shape=input_shape,
        hidden_dims=[_checks.positive_int("hidden_dims", h) for h in hidden_dims],
    )
