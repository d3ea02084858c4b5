"""Detection, speech recognition and summarization through the command line: train,
their decoded scores in `zoo evaluate`, what `zoo predict` shows (the boxes' picture
read back), and the mistakes only these tasks can make, each one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner
from zoo.cli.main import app
from zoo.cli.predict import MIN_SIDE

import zoo
from zoo import scoring
from zoo.prediction import PALETTE

runner = CliRunner()
# Each module fixture trains a model (8-10 s here) before the commands it serves: the
# slow tier, with the other end-to-end runs (the fast tier stays under 3 minutes).
pytestmark = pytest.mark.slow


def _small_run(tmp_path_factory, name: str, samples: int = 96):
    out = tmp_path_factory.mktemp(name)
    spec = zoo.get_spec(name)
    zoo.train(name, samples=samples, recipe=zoo.Recipe(epochs=1, batch_size=32,
              learning_rate=1e-3, model_kwargs=dict(spec.small)), output=out)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    return _small_run(tmp_path_factory, "centernet_tiny")


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    return _small_run(tmp_path_factory, "ctc_speech", samples=64)


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def test_evaluate_scores_each_task_with_its_standard_metric(detector, recognizer):
    said = _json(runner.invoke(app, ["evaluate", str(detector), "--json"]))
    assert set(said["metrics"]) == {"loss", "map", "map_50"}
    assert 0 <= said["metrics"]["map"] <= said["metrics"]["map_50"] <= 1
    assert said["optimum"] == {"map": 1.0, "map_50": 1.0}
    said = _json(runner.invoke(app, ["evaluate", str(recognizer), "--json"]))
    assert set(said["metrics"]) == {"loss", "wer", "cer"} and said["metrics"]["wer"] >= 0
    r = runner.invoke(app, ["evaluate", str(recognizer)])  # the table names them too
    assert r.exit_code == 0 and "wer" in r.output and "cer" in r.output


def test_the_boxes_are_drawn_on_the_image_in_their_class_colours(detector, tmp_path):
    png = tmp_path / "boxes.png"
    said = _json(runner.invoke(app, ["predict", str(detector), "--example", "1", "--output",
                                     str(png), "--json"]))  # fmt: skip
    assert said["task"] == "object_detection" and said["picture"] == str(png)
    found = zoo.predict(detector, index=1)
    assert len(said["boxes"]) == len(found.boxes) >= 1  # untrained heat maps still peak
    assert said["truth_boxes"] and all(b["class"] in (0, 1, 2) for b in said["truth_boxes"])
    picture = np.asarray(Image.open(png).convert("RGB"))
    scale = MIN_SIDE // 32
    assert picture.shape == (32 * scale, 32 * scale, 3)
    assert (picture == zoo.prediction.draw_boxes(found.input, found.boxes, scale)).all()
    c, x, y, w, h = found.boxes[0][:5]  # the best box's top edge, in its class's colour
    row, col = int(round(y * scale)), int(round((x + w / 2) * scale))
    row, col = min(max(row, 0), 32 * scale - 1), min(max(col, 0), 32 * scale - 1)
    assert (picture[row, col] == PALETTE[c + 1]).all()


def test_a_transcript_and_a_summary_are_printed_beside_the_truth(recognizer, tmp_path_factory):
    r = runner.invoke(app, ["predict", str(recognizer), "--example", "3"])
    assert r.exit_code == 0, r.output
    data = zoo.load_dataset("speech_recognition", samples=64)
    truth = scoring.label_text(data.y_test[3], data.vocabulary)
    assert "ctc_speech on test example 3: '" in r.output and f"truth: '{truth}'" in r.output
    assert truth and set(truth.split()) <= set(data.vocabulary[1:])
    summarizer = _small_run(tmp_path_factory, "transformer_summarizer")
    said = _json(runner.invoke(app, ["predict", str(summarizer), "--example", "0", "--json"]))
    data = zoo.load_dataset("summarization", samples=96)
    assert said["truth_text"] == scoring.words(scoring.until_end(data.y_test[0]), None)
    assert isinstance(said["text"], str) and "<" not in said["text"]
    # a summarizer reads no file: one line
    ids = tmp_path_factory.mktemp("f") / "x.npy"
    np.save(ids, data.x_test["source"][0])
    r = runner.invoke(app, ["predict", str(summarizer), str(ids)])
    assert r.exit_code == 2 and "reads no file" in r.output and "Traceback" not in r.output


def test_a_png_and_a_wav_file_are_predicted_on(detector, recognizer, tmp_path):
    import wave

    from zoo.data import audio

    image = zoo.load_dataset("object_detection", samples=8).x_test[0]
    Image.fromarray((np.clip(image, 0, 1) * 255).astype("uint8")).save(tmp_path / "in.png")
    said = _json(runner.invoke(app, ["predict", str(detector), str(tmp_path / "in.png"),
                                     "--json"]))  # fmt: skip
    assert said["source"] == str(tmp_path / "in.png") and "truth_boxes" not in said
    assert len(said["boxes"]) >= 1
    for name, seconds in (("short.wav", 0.4), ("long.wav", 2.0)):
        with wave.open(str(tmp_path / name), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(audio.SAMPLE_RATE)
            n = int(seconds * audio.SAMPLE_RATE)
            w.writeframes((0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / audio.SAMPLE_RATE)
                           * 32767).astype("<i2").tobytes())  # fmt: skip
    said = _json(runner.invoke(app, ["predict", str(recognizer), str(tmp_path / "short.wav"),
                                     "--json"]))  # fmt: skip
    assert isinstance(said["text"], str) and said["task"] == "speech_recognition"
    r = runner.invoke(app, ["predict", str(recognizer), str(tmp_path / "long.wav")])
    assert r.exit_code != 0
    assert "long.wav lasts 2.00 s; the model hears 1.49 s (74 frames)" in r.output
    assert "Traceback" not in r.output


def test_a_target_on_a_decoded_score_is_one_line_before_training(tmp_path):
    r = runner.invoke(app, ["train", "centernet_tiny", "--target", "map=0.5", "--samples", "64",
                            "--output", str(tmp_path / "run")])  # fmt: skip
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "map is scored once, on decoded outputs after training" in r.output
    assert "a target can name loss" in r.output
    assert not (tmp_path / "run").exists()
