"""keras-hub architectures for summarization, speech recognition and object detection,
built from their published configurations (at small sizes where the zoo's synthetic
tasks train on a CPU) with random weights, offline; `preset=` loads a keras-hub preset's
weights instead (needs a network). Each is wrapped into its zoo task's interface.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.errors import InvalidArgumentError
from zoo.layers import PaddingMask
from zoo.models import _checks
from zoo.models.detection import centernet_head, check_image
from zoo.models.hub import _backbone, _hub


def bart_summarizer(
    vocab_size: int = 32,
    source_length: int = 24,
    target_length: int = 8,
    num_layers: int = 2,
    num_heads: int = 4,
    hidden_dim: int = 64,
    intermediate_dim: int = 256,
    dropout: float = 0.0,
    preset: str | None = None,
) -> keras.Model:
    """BART (Lewis et al. 2019) through keras-hub's BartBackbone: a bidirectional encoder
    over the source and a causal decoder with cross-attention over the target so far
    (teacher-forced), then a Dense layer to next-token logits. BART-base is 6+6 layers,
    12 heads, 768 wide, 3072 intermediate; the defaults are a 2+2-layer, 64-wide
    instance of the same architecture for the synthetic task.

    Args:
        vocab_size: tokens (0 padding, 1 start, 2 end).
        source_length, target_length: tokens of the source and of the summary.
        num_layers, num_heads, hidden_dim, intermediate_dim, dropout: the backbone's
            configuration (encoder and decoder layers each).
        preset: a keras-hub BART preset to load pretrained weights (needs a network),
            e.g. ``bart_base_en``.

    Returns:
        A Functional `keras.Model` taking {"source", "target"} token ids and returning
        (batch, target_length, vocab_size) logits.
    """
    hub = _hub()
    source_length = _checks.positive_int("source_length", source_length)
    target_length = _checks.positive_int("target_length", target_length)
    backbone = _backbone(
        hub.models.BartBackbone,
        preset,
        vocabulary_size=vocab_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        max_sequence_length=max(source_length, target_length),
    )
    source = keras.Input(shape=(source_length,), dtype="int32", name="source")
    target = keras.Input(shape=(target_length,), dtype="int32", name="target")
    out = backbone(
        {
            "encoder_token_ids": source,
            "encoder_padding_mask": PaddingMask(name="source_mask")(source),
            "decoder_token_ids": target,
            # the start token is 1 and padding 0: the mask keeps the decoder's own steps
            "decoder_padding_mask": PaddingMask(name="target_mask")(target),
        }
    )
    logits = layers.Dense(backbone.vocabulary_size, name="logits", dtype="float32")(
        out["decoder_sequence_output"]
    )
    return keras.Model({"source": source, "target": target}, logits, name="bart_summarizer")


def whisper_ctc(
    input_shape: tuple[int, int, int] = (74, 40, 1),
    vocab_size: int = 10,
    num_layers: int = 4,
    num_heads: int = 6,
    hidden_dim: int = 384,
    intermediate_dim: int = 1536,
    dropout: float = 0.0,
    preset: str | None = None,
) -> keras.Model:
    """Whisper's encoder (Radford et al. 2022) with a CTC head: keras-hub's WhisperBackbone
    supplies the layers (and a preset's weights), wired as the backbone wires its encoder:
    two 1D convolutions with GELU over the spectrogram's frames (the second halves them),
    fixed sinusoidal positions and pre-norm transformer layers with a final LayerNorm;
    then a Dense layer to vocab_size + 1 logits a frame (0 is the blank). The backbone's
    decoder is left out. The defaults are Whisper tiny's published configuration (4
    layers, 6 heads, 384 wide, 1536 intermediate) over 40 mel bins (Whisper's own front
    end has 80).

    Args:
        input_shape: (frames, mel_bins, 1) of one log-mel spectrogram.
        vocab_size: tokens (the blank is added as class 0).
        num_layers, num_heads, hidden_dim, intermediate_dim, dropout: the backbone's.
        preset: a keras-hub Whisper preset (needs a network and 80 mel bins), e.g.
            ``whisper_tiny_en``.

    Returns:
        A Functional `keras.Model` returning (batch, ceil(frames / 2), vocab_size + 1).
    """
    hub = _hub()
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    vocab_size = _checks.positive_int("vocab_size", vocab_size)
    frames, bins = input_shape[0], input_shape[1]
    whisper = _backbone(
        hub.models.WhisperBackbone,
        preset,
        vocabulary_size=vocab_size + 1,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        num_mels=bins,
        dropout=dropout,
        max_encoder_sequence_length=2 * frames + 2,
        max_decoder_sequence_length=1,
    )
    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = layers.Reshape((frames, bins), name="frames")(inputs)
    x = layers.Activation("gelu", name="conv1_gelu")(whisper.encoder_conv_layer_1(x))
    x = layers.ZeroPadding1D(1, name="conv2_pad")(x)  # the backbone's Padder
    x = layers.Activation("gelu", name="conv2_gelu")(whisper.encoder_conv_layer_2(x))
    x = layers.Add(name="add_positions")([x, whisper.encoder_position_embedding(x)])
    x = whisper.encoder_embeddings_dropout(x)
    for block in whisper.encoder_transformer_layers:
        x = block(x)
    x = whisper.encoder_layer_norm(x)
    logits = layers.Dense(vocab_size + 1, name="logits", dtype="float32")(x)
    return keras.Model(inputs, logits, name="whisper_ctc")


def centernet_resnet(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 3,
    stage_filters: tuple[int, ...] = (64, 128),
    stage_blocks: tuple[int, ...] = (2, 2),
    preset: str | None = None,
) -> keras.Model:
    """CenterNet (Zhou et al. 2019) on keras-hub's ResNetBackbone: ResNet-18's stem
    (a 7x7 convolution at stride 2, max pooling) and its first two stages of basic blocks
    (64 and 128 filters, 2 blocks each; stride 8 out), one transposed convolution back to
    stride 4 (CenterNet's ResNet up-convolutions), then CenterNet's heads.

    Args:
        input_shape: (height, width, channels) of one image; height and width multiples
            of 8.
        num_classes: object classes.
        stage_filters, stage_blocks: the backbone's stages (ResNet-18's first two); the
            first has 64 filters, as keras-hub's ResNet requires, and so has the stem.
        preset: a keras-hub ResNet preset (needs a network; its own stages), e.g.
            ``resnet_18_imagenet``.

    Returns:
        A Functional `keras.Model` returning (batch, height/4, width/4, num_classes + 4).
    """
    hub = _hub()
    input_shape = check_image(input_shape, 2 ** (len(stage_filters) + 1))
    num_classes = _checks.positive_int("num_classes", num_classes)
    if not preset and (not stage_filters or stage_filters[0] != 64):
        raise InvalidArgumentError(
            "keras-hub's ResNet needs 64 filters in its first stage; received "
            f"stage_filters={tuple(stage_filters)}.",
            "Change the later stages only, e.g. stage_filters=(64, 32).",
        )
    if preset:
        backbone = hub.models.ResNetBackbone.from_preset(preset)
    else:
        backbone = hub.models.ResNetBackbone(
            input_conv_filters=[64],
            input_conv_kernel_sizes=[7],
            stackwise_num_filters=[_checks.positive_int("stage_filters", f) for f in stage_filters],
            stackwise_num_blocks=[_checks.positive_int("stage_blocks", b) for b in stage_blocks],
            stackwise_num_strides=[1] + [2] * (len(stage_filters) - 1),
            block_type="basic_block",
            image_shape=input_shape,
        )
    inputs = keras.Input(shape=input_shape, name="image")
    x = backbone(inputs)
    width = int(stage_filters[0])
    steps = len(stage_filters) - 1
    for i in range(steps):  # back to stride 4
        x = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False,
                                   name=f"up{i + 1}")(x)  # fmt: skip
        x = layers.BatchNormalization(name=f"up{i + 1}_bn")(x)
        x = layers.ReLU(name=f"up{i + 1}_relu")(x)
    return keras.Model(inputs, centernet_head(x, num_classes, width), name="centernet_resnet")
