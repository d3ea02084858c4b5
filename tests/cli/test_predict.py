"""`zoo predict`: a segmenter's mask drawn over its image as a PNG (read back here), a
classifier's class, and mistakes in one line, through the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from zoo.cli.main import app
from zoo.cli.predict import MIN_SIDE

import zoo
from zoo.prediction import PALETTE

runner = CliRunner()


@pytest.fixture(scope="module")
def unet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("unet")
    zoo.train("unet", samples=96, recipe=zoo.Recipe(epochs=1, batch_size=32,
              learning_rate=3e-3, model_kwargs={"widths": (8, 16)}), output=out)  # fmt: skip
    return out


def test_the_mask_is_drawn_over_the_image_in_the_class_colours(unet_run, tmp_path):
    png = tmp_path / "mask.png"
    r = runner.invoke(app, ["predict", str(unet_run), "--example", "2", "--output", str(png),
                            "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    said = json.loads(r.output[r.output.index("{") :])
    assert said["task"] == "semantic_segmentation" and said["picture"] == str(png)
    assert sum(said["pixels"].values()) == 32 * 32 and 0 <= said["pixel_accuracy"] <= 1
    picture = np.asarray(Image.open(png).convert("RGB"))
    scale = MIN_SIDE // 32
    assert picture.shape == (32 * scale, 32 * scale, 3)
    # each model pixel is a block; a pixel of a predicted class is tinted its colour
    found = zoo.predict(unet_run, index=2)
    small = picture[::scale, ::scale].astype(int)
    assert (small == zoo.prediction.overlay(found.input, found.mask)).all()
    for cls in (c for c in map(int, said["pixels"]) if c > 0):
        tinted = small[found.mask == cls].mean(0) - small[found.mask == 0].mean(0)
        assert np.dot(tinted, PALETTE[cls] - 128) > 0, cls


def test_a_classifier_says_its_class_and_a_file_example_is_read(tmp_path):
    out = tmp_path / "run"
    zoo.train("conv2plus1d_video", samples=64, recipe=zoo.Recipe(epochs=1, batch_size=32,
              learning_rate=3e-3, model_kwargs={"widths": (4, 8)}), output=out)  # fmt: skip
    r = runner.invoke(app, ["predict", str(out), "--example", "1"])
    assert r.exit_code == 0, r.output
    assert "conv2plus1d_video on test example 1: class " in r.output and "truth: class" in r.output
    clip = zoo.load_dataset("video_classification", samples=10).x_test[0]
    np.save(tmp_path / "clip.npy", clip)
    r = runner.invoke(app, ["predict", str(out), str(tmp_path / "clip.npy"), "--json"])
    assert r.exit_code == 0, r.output
    said = json.loads(r.output[r.output.index("{") :])
    assert said["label"] in range(4) and abs(sum(said["probabilities"]) - 1) < 1e-6
    np.save(tmp_path / "frame.npy", clip[0])  # one frame is not a clip
    r = runner.invoke(app, ["predict", str(out), str(tmp_path / "frame.npy")])
    assert r.exit_code != 0 and "holds an example of shape (16, 16, 1)" in r.output
    r = runner.invoke(app, ["predict", str(out), "--output", str(tmp_path / "x.png")])
    assert r.exit_code == 2 and "draws a segmenter's mask" in r.output
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["predict", "no/such/run"], "does not exist"),
        (["predict", "RUN", "--example", "9999"], "is not in the test split"),
        (["predict", "RUN", "--output", "mask.jpg"], "the picture is a PNG"),
    ],
)
def test_predict_mistakes_are_one_line(args, says, unet_run):
    r = runner.invoke(app, [str(unet_run) if a == "RUN" else a for a in args])
    assert r.exit_code != 0 and says in r.output and "Traceback" not in r.output
