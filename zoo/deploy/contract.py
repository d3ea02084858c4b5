"""The input contract of an exported model: what each input takes (shape, dtype, range)
and the scaling the zoo's pipeline applied in training, so a caller feeds the artifact what
the model learned from.

The zoo's image pipeline (zoo/data/tfds.py, zoo/data/local.py) turns uint8 pixels into
float32 in [0, 1] (x / 255). An image model exported with the preprocessing takes the
uint8 pixels themselves: a small wrapper model (uint8 -> Rescaling(1/255) -> the model) is
exported instead of the bare model. Text models take int32 token ids of the run's
vocabulary (0 is padding) and recommenders int32 user and item ids: nothing to include.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo import io

PIXEL_SCALE = 255.0  # the zoo's pipeline divides uint8 pixels by this


@dataclass
class Contract:
    """What an artifact takes and returns; written as JSON beside it."""

    model: str
    task: str
    format: str
    preprocessing_included: bool
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    quantize: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return io.to_jsonable(self)


def takes_pixels(task: str, dataset: str, x: Any) -> bool:
    """Whether the model's inputs are pixels scaled to [0, 1] by the zoo's pipeline (real
    image datasets and image folders; synthetic images are templates plus Gaussian noise,
    not pixels)."""
    if task != "image_classification" or dataset == "synthetic" or isinstance(x, dict):
        return False
    return bool(np.min(x) >= 0.0 and np.max(x) <= 1.0)


def to_pixels(x: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] back to the uint8 pixels they were scaled from (exact for
    x = k / 255)."""
    return np.clip(np.rint(np.asarray(x) * PIXEL_SCALE), 0, 255).astype("uint8")


def with_preprocessing(net):
    """The model behind a uint8 input that is scaled as the pipeline does: the artifact
    then takes raw pixels. Built from keras.layers only, so it exports like the model."""
    import keras

    spec = net.inputs[0]
    pixels = keras.Input(shape=tuple(spec.shape[1:]), dtype="uint8", name=spec.name)
    scaled = keras.layers.Rescaling(1.0 / PIXEL_SCALE, dtype="float32", name="pixels_to_unit")(
        pixels
    )
    return keras.Model(pixels, net(scaled), name=net.name)


def describe(
    net, task, *, fmt: str, preprocessing: bool, vocab_size: int | None, quantize: str | None
) -> Contract:
    """The contract of `net` (the model as exported: wrapped or not)."""
    inputs = [_input(t, task.name, preprocessing, vocab_size) for t in net.inputs]
    outputs = [
        {
            "name": f"output_{i}",
            "shape": list(t.shape),
            "dtype": str(t.dtype),
            "meaning": task.outputs,
        }
        for i, t in enumerate(net.outputs)
    ]
    return Contract(
        model=net.name,
        task=task.name,
        format=fmt,
        preprocessing_included=preprocessing,
        inputs=inputs,
        outputs=outputs,
        quantize=quantize,
    )


def _input(t, task: str, preprocessing: bool, vocab_size: int | None) -> dict[str, Any]:
    entry = {"name": t.name, "shape": list(t.shape), "dtype": str(t.dtype)}
    if task == "image_classification" and preprocessing:
        entry.update(range=[0, 255], scaling="included: the artifact computes x / 255")
    elif task == "image_classification":
        entry.update(
            scaling="none included: pass what the model was trained on (the zoo's "
            "pipeline feeds real images as uint8 pixels / 255, in [0, 1])"
        )
    elif "int" in str(t.dtype):
        high = vocab_size if vocab_size else None
        entry.update(
            range=[0, high],
            scaling="none: integer ids of the run's vocabulary"
            + (", 0 is padding" if task in ("text_classification",) else ""),
        )
    else:
        entry.update(scaling="none: the float32 features the model was trained on")
    return entry


def path_beside(artifact: Path) -> Path:
    """Where the contract of `artifact` goes: NAME.contract.json beside it."""
    return artifact.parent / f"{artifact.stem}.contract.json"


def write(contract: Contract, artifact: Path) -> Path:
    return io.write_json(path_beside(artifact), contract.to_dict())
