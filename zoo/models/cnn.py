"""Convolutional networks for images."""

from __future__ import annotations

import keras
from keras import layers

from zoo.models import _checks


def seed_cnn(input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10) -> keras.Model:
    """A faithful Keras port of the seed's PyTorch MNIST convnet `CNN`.

    conv1 = Conv2d(1, 32, 3, padding=1), conv2 = Conv2d(32, 64, 3, padding=1), one
    MaxPool2d(2), fc1 = Linear(?, 128), fc2 = Linear(128, 10); ReLU after conv1, conv2 and
    fc1; the output is logits (the seed trains it with CrossEntropyLoss).

    The seed sizes fc1 as 64 * 7 * 7, which is wrong: a single 2x2 pool of a 28x28 input
    leaves 14x14, so fc1 takes 64 * 14 * 14 = 12544 features and the seed's model fails on
    its first batch. Here Flatten infers the size from the shapes, and at the default
    input the model has exactly 1,625,866 parameters.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of classes; the model returns logits.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="fc1")(x)
    outputs = layers.Dense(num_classes, name="fc2")(x)
    return keras.Model(inputs, outputs, name="seed_cnn")


def keras_convnet(
    input_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10, dropout: float = 0.5
) -> keras.Model:
    """The keras-io "Simple MNIST convnet": conv-pool-conv-pool-dropout-dense.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of classes; the model returns logits.
        dropout: dropout rate before the classifier.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=input_shape, name="image")
    # Block 1
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    # Block 2
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    # Classifier
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="keras_convnet")


def fast_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    widths: tuple[int, ...] = (32, 64),
    hidden: int = 128,
    pool_first: bool = True,
) -> keras.Model:
    """A small-image convnet designed for time to target on a CPU, not for the last tenth
    of a point (after the DAWNBench and airbench entries: a small net built for the task,
    BatchNorm with a high learning rate).

    What makes it fast:
      - it is cheap: each stage halves the image before the next, wider convolution, so
        a forward pass at 28x28 costs about 8.5 MFLOPs, a quarter of seed_cnn's 33 (whose
        second convolution runs at full resolution), with 0.42 M parameters to its 1.6 M;
      - BatchNorm after every convolution lets it train at a high peak learning rate
        under the one-cycle schedule of its recipe, so it reaches its accuracy in under
        two epochs. Its momentum is 0.9, not Keras' 0.99: at a few hundred steps per
        epoch the slower moving statistics still lag the weights when the target is
        checked, and a net that trains well then scores far below its training accuracy
        on held-out data;
      - the spatial layout is kept to the classifier (Flatten, then a Dense layer): on
        28x28 garments, global pooling over the last stage trained slower to the same
        accuracy in the measurements behind docs/tuning.md.

      - each stage pools right after its convolution, before BatchNorm and ReLU (the order
        of airbench's conv groups), so normalization and activation run on a quarter of
        the pixels: the step does the same convolutions with far less memory traffic
        (docs/tuning.md has what it did to the time to target).

    Each stage is conv 3x3 - 2x2 max-pool - BatchNorm - ReLU (`pool_first=False`: conv -
    BatchNorm - ReLU - pool, the usual order); then Flatten, a Dense ReLU layer of
    `hidden` units and the Dense classifier.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of classes; the model returns logits.
        widths: filters of each stage (each halves the resolution).
        hidden: units of the Dense layer before the classifier.
        pool_first: pool each stage before its BatchNorm and ReLU (the default, cheaper),
            or after them.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    widths = _checks.shape("widths", widths)
    hidden = _checks.positive_int("hidden", hidden)
    pool_first = _checks.boolean("pool_first", pool_first)

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, filters in enumerate(widths):
        x = _fast_stage(x, filters, i + 1, pool_first)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="fast_cnn")


def _fast_stage(x, filters: int, n: int, pool_first: bool):
    """conv 3x3, then BatchNorm and ReLU, with a 2x2 max-pool first or last (none below 2
    pixels)."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{n}")(x)
    pool = min(x.shape[1], x.shape[2]) >= 2
    if pool and pool_first:
        x = layers.MaxPooling2D(2, name=f"pool{n}")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"bn{n}")(x)
    x = layers.Activation("relu", name=f"relu{n}")(x)
    if pool and not pool_first:
        x = layers.MaxPooling2D(2, name=f"pool{n}")(x)
    return x


def _conv_bn(x, filters, kernel_size, strides, name, activation=True):
    x = layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=keras.regularizers.L2(1e-4),
        name=f"{name}_conv",
    )(x)
    # momentum 0.9 is the torch default the reference implementations trained with; it
    # also settles the moving statistics within the few hundred steps of a short run.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x) if activation else x


def basic_block(x, filters: int, strides: int, name: str):
    """The two-conv residual block of He et al. 2015, with a 1x1 projection when the shape
    changes (their option B)."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, strides, f"{name}_proj", activation=False)
    x = _conv_bn(x, filters, 3, strides, f"{name}_1")
    x = _conv_bn(x, filters, 3, 1, f"{name}_2", activation=False)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def resnet20(input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 10) -> keras.Model:
    """ResNet-20 for CIFAR-10 (He et al. 2015, section 4.2): 6n + 2 layers with n = 3.

    A 3x3 convolution with 16 filters, three stages of three basic blocks with 16, 32 and
    64 filters (the first block of stages 2 and 3 halves the resolution), global average
    pooling and a Dense classifier: about 0.27 M parameters.

    Args:
        input_shape: (height, width, channels) of one image.
        num_classes: number of classes; the model returns logits.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)

    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, 16, 3, 1, "stem")
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage > 0 and block == 0 else 1
            x = basic_block(x, filters, strides, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="resnet20")


def kws_cnn(
    input_shape: tuple[int, int, int] = (49, 40, 1), num_classes: int = 12, dropout: float = 0.2
) -> keras.Model:
    """A small keyword-spotting CNN over log-mel spectrograms (time x mel bins x 1).

    Three conv blocks with batch normalization, the first two pooled, then an average over
    time that keeps the frequency axis (which bands sound is what tells keywords apart),
    in the spirit of the compact CNN baselines of Sainath and Parada 2015 and of the
    TensorFlow speech-commands tutorial.

    Args:
        input_shape: (frames, mel bins, 1) of one spectrogram.
        num_classes: number of keywords; the model returns logits.
        dropout: dropout rate before the classifier.

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    dropout = _checks.fraction("dropout", dropout)

    inputs = keras.Input(shape=input_shape, name="spectrogram")
    x = _conv_bn(inputs, 32, 3, 1, "block1")
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = _conv_bn(x, 64, 3, 1, "block2")
    x = layers.MaxPooling2D(2, name="block2_pool")(x)
    x = _conv_bn(x, 64, 3, 1, "block3")
    # Average over time only: which mel bands are active is what tells keywords apart.
    x = layers.AveragePooling2D(pool_size=(x.shape[1], 1), name="time_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="kws_cnn")
