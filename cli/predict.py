"""`zoo predict PATH [INPUT]`: a trained model's output on one example, to look at: the
class of a classifier, a segmenter's mask or a detector's boxes drawn over the image as a
PNG, a transcript or a summary.

The command reads: parse the options -> zoo.predict -> print, and write the picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from zoo.cli import _keras, options, render


def predict(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="A run folder or .keras file of a zoo model.")
    ],
    example: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT",
            help="One example: a .npy file, a PNG or JPEG for an image model, a 16 kHz WAV "
            "file for a speech recognizer. Default: an "
            "example of the run's own test split (--example).",
        ),
    ] = None,
    index: Annotated[
        int, typer.Option("--example", min=0, help="Which test example, without INPUT.")
    ] = 0,
    output: Annotated[
        Path | None,
        typer.Option(
            help="A segmenter's mask or a detector's boxes over the image, written here as a PNG."
        ),
    ] = None,
    as_json: options.Json = False,
) -> None:
    """Show what a trained model predicts for one example: a class, a mask, boxes, a
    transcript or a summary."""
    import zoo

    with render.errors():
        options.check_run_path(path)
        if output is not None and output.suffix.lower() != ".png":
            raise zoo.errors.InvalidArgumentError(
                f"--output {output}: the picture is a PNG.", "Name it e.g. mask.png."
            )
        _keras.import_quietly()
        found = zoo.predict(path, example, index)
        if output is not None:
            _write_png(output, _picture(found))
    summary = found.summary()
    if output is not None:
        summary["picture"] = str(output)
    if as_json:
        return render.print_json(summary)
    _show(summary)
    return None


def _picture(found):
    """The mask over the image, or the boxes on it (scaled up, so the lines stay thin)."""
    import zoo

    if found.mask is not None:
        return zoo.prediction.overlay(found.input, found.mask)
    if found.boxes is not None:
        scale = max(1, MIN_SIDE // min(found.input.shape[:2]))
        return zoo.prediction.draw_boxes(found.input, found.boxes, scale)
    raise zoo.errors.InvalidArgumentError(
        f"--output draws a segmenter's mask or a detector's boxes; {found.model} is a "
        f"{found.task} model.",
        "Leave --output out.",
    )


def _show(summary: dict) -> None:
    where = f"{summary['model']} on {summary['source']}"
    if "text" in summary:
        truth = summary.get("truth_text")
        render.out.print(f"{where}: {summary['text']!r}", soft_wrap=True)
        if truth is not None:
            render.out.print(f"truth: {truth!r}", soft_wrap=True)
        return
    if "boxes" in summary:
        found = summary["boxes"]
        render.out.print(f"{where}: {len(found)} boxes", soft_wrap=True)
        for b in found:
            render.out.print(
                f"  class {b['class']} at x={b['x']:.1f} y={b['y']:.1f} "
                f"{b['width']:.1f}x{b['height']:.1f}, score {b['score']:.3f}"
            )
        if "truth_boxes" in summary:
            render.out.print(f"truth: {len(summary['truth_boxes'])} boxes")
        if "picture" in summary:
            render.err.print(f"The boxes on the image: {summary['picture']}", soft_wrap=True)
        return
    if "label" in summary:
        p = summary["probabilities"][summary["label"]]
        truth = "" if summary.get("truth") is None else f" (truth: class {summary['truth']})"
        render.out.print(f"{where}: class {summary['label']}, probability {p:.3f}{truth}")
        return
    pixels = ", ".join(f"class {k}: {v}" for k, v in summary["pixels"].items())
    accuracy = summary.get("pixel_accuracy")
    tail = "" if accuracy is None else f"; pixel accuracy against the truth {accuracy:.4f}"
    render.out.print(f"{where}: pixels per class {pixels}{tail}", soft_wrap=True)
    if "picture" in summary:
        render.err.print(f"The mask over the image: {summary['picture']}", soft_wrap=True)


# A picture at least this many pixels a side: small model inputs are scaled up, each
# pixel a block (nearest), so that a person can see them.
MIN_SIDE = 256


def _write_png(output: Path, rgb) -> None:
    """The picture, scaled up to MIN_SIDE, written whole or not at all."""
    from PIL import Image

    from zoo import io

    image = Image.fromarray(rgb, mode="RGB")
    scale = max(1, MIN_SIDE // min(image.size))
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    output.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(output, ".png") as tmp:
        image.save(tmp, format="PNG")
