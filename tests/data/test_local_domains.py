"""The user's own detection data (COCO JSON and images) and speech data (WAV files and
transcripts): read with the standard readers, and their mistakes in one line."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner
from zoo.cli.main import app

import zoo
from zoo.data import audio, boxes
from zoo.errors import DataError

runner = CliRunner()


def _coco(folder, n=10):
    """n 64x48 images with one or two filled rectangles each, and their COCO JSON."""
    (folder / "images").mkdir()
    images, annotations = [], []
    rng = np.random.default_rng(0)
    for i in range(n):
        image = Image.new("RGB", (64, 48))
        draw = ImageDraw.Draw(image)
        for k in range(1 + i % 2):
            x, y = int(rng.integers(0, 40)), int(rng.integers(0, 24))
            w, h = int(rng.integers(8, 20)), int(rng.integers(8, 20))
            draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(255, 255, 255))
            annotations.append({"id": len(annotations) + 1, "image_id": i + 7,
                                "category_id": [3, 9][k], "bbox": [x, y, w, h],
                                "area": w * h, "iscrowd": 0})  # fmt: skip
        image.save(folder / "images" / f"im{i}.png")
        images.append({"id": i + 7, "file_name": f"im{i}.png", "width": 64, "height": 48})
    cats = [{"id": 3, "name": "first"}, {"id": 9, "name": "second"}]
    path = folder / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": cats}))
    return path, annotations


def test_coco_annotations_become_target_maps_of_the_resized_boxes(tmp_path):
    path, annotations = _coco(tmp_path)
    d = zoo.load_dataset("object_detection", str(path), hints={"input_shape": (32, 32, 3)},
                         test_fraction=0.2)  # fmt: skip
    assert d.x_train.shape == (8, 32, 32, 3) and d.y_test.shape == (2, 8, 8, 2 + boxes.EXTRA)
    assert d.model_kwargs == {"input_shape": (32, 32, 3), "num_classes": 2}
    assert d.vocabulary == ["first", "second"]
    decoded = [
        b for y in np.concatenate([d.y_train, d.y_test]) for b in boxes.decode_truth(y, (32, 32))
    ]
    want = [([3, 9].index(a["category_id"]), a["bbox"][0] / 2, a["bbox"][1] * 32 / 48,
             a["bbox"][2] / 2, a["bbox"][3] * 32 / 48) for a in annotations]  # fmt: skip
    assert sorted(np.round(decoded, 3).tolist()) == sorted(np.round(want, 3).tolist())


def test_a_missing_image_and_a_wrong_task_are_one_line(tmp_path):
    path, _ = _coco(tmp_path, n=3)
    (tmp_path / "images" / "im1.png").unlink()
    with pytest.raises(DataError, match="names the image im1.png, which is neither beside"):
        zoo.load_dataset("object_detection", str(path))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="Cannot read .*bad.json as COCO JSON"):
        zoo.load_dataset("object_detection", str(tmp_path / "bad.json"))
    (tmp_path / "part.json").write_text('{"images": []}')
    with pytest.raises(DataError, match="no annotations, categories"):
        zoo.load_dataset("object_detection", str(tmp_path / "part.json"))
    r = runner.invoke(app, ["train", "unet", "--dataset", str(path), "--epochs", "1"])
    assert r.exit_code != 0 and "COCO annotations serve object_detection" in r.output
    assert "Traceback" not in r.output


def _wav(path, samples, rate=audio.SAMPLE_RATE):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_wav_files_and_transcripts_become_spectrograms_and_word_ids(tmp_path):
    t = np.arange(20000) / audio.SAMPLE_RATE
    said = {"a": "Red blue", "b": "blue", "c": "green red blue", "d": "red", "e": "green"}
    for i, stem in enumerate(said):
        _wav(
            tmp_path / f"{stem}.wav",
            0.5 * np.sin(2 * np.pi * (300 + 100 * i) * t[: 4000 * (i + 1)]),
        )
    (tmp_path / "transcripts.txt").write_text("".join(f"{k} {v}\n" for k, v in said.items()))
    d = zoo.load_dataset("speech_recognition", str(tmp_path), test_fraction=0.4)
    assert d.vocabulary == ["<blank>", "blue", "green", "red"]
    frames = 1 + (20000 - audio.FRAME_LENGTH) // audio.FRAME_STEP  # the longest clip: e
    assert d.model_kwargs == {"input_shape": (frames, audio.MEL_BINS, 1), "vocab_size": 3}
    labels = {tuple(int(v) for v in row if v) for row in np.concatenate([d.y_train, d.y_test])}
    assert labels == {(3, 1), (1,), (2, 3, 1), (3,), (2,)}
    assert len(d.y_train) == 3 and len(d.y_test) == 2


def test_a_wav_at_another_rate_is_one_line_naming_the_conversion(tmp_path):
    _wav(tmp_path / "a.wav", np.zeros(800), rate=8000)
    _wav(tmp_path / "b.wav", np.zeros(1600))
    (tmp_path / "transcripts.txt").write_text("a one\nb two\n")
    r = runner.invoke(app, ["train", "ctc_speech", "--dataset", str(tmp_path), "--epochs", "1"])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "a.wav is 8000 Hz, 1 channel(s), 16-bit" in r.output and "sox" in r.output


def test_image_and_mask_folders_become_images_and_per_pixel_classes(tmp_path):
    (tmp_path / "images").mkdir(), (tmp_path / "masks").mkdir()
    for i in range(5):
        mask = np.zeros((64, 64), "uint8")
        mask[8 * i : 8 * i + 16, 10:40] = 1 + i % 2
        Image.fromarray(mask * 100).convert("RGB").save(tmp_path / "images" / f"p{i}.jpg")
        Image.fromarray(mask).save(tmp_path / "masks" / f"p{i}.png")
    d = zoo.load_dataset("semantic_segmentation", str(tmp_path), test_fraction=0.4,
                         hints={"input_shape": (32, 32, 3)})  # fmt: skip
    assert d.x_train.shape == (3, 32, 32, 3) and d.y_test.shape == (2, 32, 32)
    assert d.model_kwargs == {"input_shape": (32, 32, 3), "num_classes": 3}
    masks = np.concatenate([d.y_train, d.y_test])
    assert set(np.unique(masks)) == {0, 1, 2}  # nearest: no blended class values
    (tmp_path / "masks" / "p3.png").unlink()
    with pytest.raises(DataError, match="p3.jpg has no mask"):
        zoo.load_dataset("semantic_segmentation", str(tmp_path))


def test_frame_folders_become_clips_of_evenly_spread_frames(tmp_path):
    for label, step in (("left", -1), ("right", 1)):
        for c in range(3):
            clip = tmp_path / label / f"clip{c}"
            clip.mkdir(parents=True)
            for t in range(6):
                frame = np.zeros((16, 16), "uint8")
                col = 7 + step * t
                frame[6:9, col : col + 2] = 255
                Image.fromarray(frame).save(clip / f"{t:03d}.png")
    d = zoo.load_dataset("video_classification", str(tmp_path), test_fraction=0.34,
                         hints={"input_shape": (4, 8, 8, 1)})  # fmt: skip
    assert d.x_train.shape == (4, 4, 8, 8, 1) and d.x_test.shape == (2, 4, 8, 8, 1)
    assert d.model_kwargs["num_classes"] == 2 and d.vocabulary == ["left", "right"]
    assert set(np.concatenate([d.y_train, d.y_test])) == {0, 1}
    short = tmp_path / "left" / "clip0"
    for f in sorted(short.iterdir())[3:]:
        f.unlink()
    r = runner.invoke(app, ["train", "convlstm_video", "--dataset", str(tmp_path),
                            "--epochs", "1"])  # fmt: skip
    assert r.exit_code != 0 and "clip0 has 3 frames; the model takes 8" in r.output
    assert "Traceback" not in r.output
