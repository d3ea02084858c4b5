"""Video classifiers: a clip of frames to a class, from motion as well as appearance."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def convlstm_video(
    input_shape: tuple[int, int, int, int] = (8, 16, 16, 1),
    num_classes: int = 4,
    filters: int = 16,
) -> keras.Model:
    """A ConvLSTM video classifier, in the manner of keras-io's next-frame prediction
    example: a strided convolution per frame, a ConvLSTM2D over the frames (a recurrent
    state that is a feature map, so motion is seen where it happens), global pooling and
    a Dense classifier.

    Args:
        input_shape: (frames, height, width, channels) of one clip.
        num_classes: number of classes; the model returns logits.
        filters: channels of the convolutions and of the ConvLSTM state.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=4)
    num_classes = _checks.positive_int("num_classes", num_classes)
    filters = _checks.positive_int("filters", filters)

    inputs = keras.Input(shape=input_shape, name="clip")
    frame_conv = layers.Conv2D(filters, 3, padding="same", activation="relu")
    x = layers.TimeDistributed(frame_conv, name="frame_conv")(inputs)
    x = layers.ConvLSTM2D(filters, 3, padding="same", name="conv_lstm")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="convlstm_video")


def conv2plus1d_video(
    input_shape: tuple[int, int, int, int] = (8, 16, 16, 1),
    num_classes: int = 4,
    widths: tuple[int, ...] = (16, 32),
) -> keras.Model:
    """A (2+1)D convnet (Tran et al. 2018, R(2+1)D; the TensorFlow video classification
    tutorial): each block a spatial Conv3D of kernel (1, 3, 3) then a temporal one of
    kernel (3, 1, 1), with batch normalization and ReLU, and spatial pooling between
    blocks; then global pooling over time and space, and a Dense classifier.

    Args:
        input_shape: (frames, height, width, channels) of one clip.
        num_classes: number of classes; the model returns logits.
        widths: channels of each (2+1)D block.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=4)
    num_classes = _checks.positive_int("num_classes", num_classes)
    widths = tuple(_checks.positive_int("widths", w) for w in widths)

    inputs = keras.Input(shape=input_shape, name="clip")
    x = inputs
    for i, width in enumerate(widths, start=1):
        x = layers.Conv3D(width, (1, 3, 3), padding="same", name=f"block{i}_spatial")(x)
        x = layers.Conv3D(width, (3, 1, 1), padding="same", name=f"block{i}_temporal")(x)
        x = layers.BatchNormalization(name=f"block{i}_norm")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        if i < len(widths):
            x = layers.MaxPooling3D((1, 2, 2), name=f"block{i}_pool")(x)
    x = layers.GlobalAveragePooling3D(name="pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="conv2plus1d_video")
