"""Well-known image architectures from `keras.applications`, as zoo factories.

Built with random weights by default (`weights=None`), which needs no network and is what
benchmarking needs; `weights="imagenet"` downloads the published weights (then the input
must have 3 channels and, with the classifier, 1000 classes). The classifier returns
logits like every zoo classifier.
"""

from __future__ import annotations

import keras

from zoo.models import _checks

_WEIGHTS = (None, "imagenet")


def _application(builder, name, input_shape, num_classes, weights, min_size):
    input_shape = _checks.shape("input_shape", input_shape, rank=3)
    num_classes = _checks.positive_int("num_classes", num_classes)
    _checks.one_of("weights", weights, _WEIGHTS)
    if min(input_shape[:2]) < min_size:
        raise _checks.InvalidArgumentError(
            f"`input_shape` must be at least {min_size}x{min_size} for {name}. "
            f"Received: input_shape={input_shape}"
        )
    inputs = keras.Input(shape=input_shape, name="image")
    backbone = builder(
        include_top=True,
        weights=weights,
        input_tensor=inputs,
        classes=num_classes,
        classifier_activation=None,
    )
    return keras.Model(inputs, backbone.outputs, name=name)


def resnet50(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    weights: str | None = None,
) -> keras.Model:
    """ResNet-50 v1 (He et al. 2015) from keras.applications: about 25.6 M parameters.

    Args:
        input_shape: (height, width, channels); at least 32x32.
        num_classes: number of classes; the model returns logits.
        weights: None (random) or "imagenet" (downloads the published weights).

    Returns:
        A Functional `keras.Model` returning (batch, num_classes) logits.
    """
    return _application(
        keras.applications.ResNet50, "resnet50", input_shape, num_classes, weights, 32
    )


def mobilenet_v2(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    weights: str | None = None,
) -> keras.Model:
    """MobileNetV2 (Sandler et al. 2018), width 1.0, from keras.applications: about 3.5 M
    parameters. Arguments as `resnet50`."""
    return _application(
        keras.applications.MobileNetV2, "mobilenet_v2", input_shape, num_classes, weights, 32
    )


def efficientnet_b0(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    weights: str | None = None,
) -> keras.Model:
    """EfficientNet-B0 (Tan and Le 2019) from keras.applications: about 5.3 M parameters.
    Its first layers rescale 0..255 pixels and normalize them, as the published weights
    expect. Arguments as `resnet50`."""
    return _application(
        keras.applications.EfficientNetB0, "efficientnet_b0", input_shape, num_classes, weights, 32
    )
