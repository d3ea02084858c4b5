"""Synthetic data: seeded, learnable, with the optimum it claims."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.errors import DataError, InvalidArgumentError

TASKS = ["regression", "image_classification", "text_classification", "rating_prediction"]


def _arrays(x):
    return list(x.values()) if isinstance(x, dict) else [x]


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_data_other_seed_other_data(task):
    a = zoo.load_dataset(task, samples=300, seed=1)
    b = zoo.load_dataset(task, samples=300, seed=1)
    c = zoo.load_dataset(task, samples=300, seed=2)
    for xa, xb, xc in zip(_arrays(a.x_train), _arrays(b.x_train), _arrays(c.x_train), strict=True):
        np.testing.assert_array_equal(xa, xb)
        assert not np.array_equal(xa, xc)
    np.testing.assert_array_equal(a.y_test, b.y_test)


@pytest.mark.parametrize("task", TASKS)
def test_splits_are_disjoint_draws_and_finite(task):
    d = zoo.load_dataset(task, samples=400)
    assert d.num_train == 400 and d.num_test >= 1
    for x in _arrays(d.x_train) + _arrays(d.x_test) + [d.y_train, d.y_test]:
        assert np.isfinite(x).all()
    assert d.optimum and all(v > 0 for v in d.optimum.values())


def test_regression_follows_its_rule():
    d = zoo.load_dataset("regression", samples=2000, noise_std=0.1)
    residual = d.y_train - (d.x_train @ d.truth["w"] + d.truth["b"])
    assert abs(residual.std() - 0.1) < 0.01
    assert d.optimum["mse"] == pytest.approx(0.01)


def test_image_bayes_accuracy_is_near_one_and_falls_with_noise():
    clean = zoo.load_dataset("image_classification", samples=1000)
    noisy = zoo.load_dataset("image_classification", samples=1000, noise_std=3.0)
    assert clean.optimum["accuracy"] > 0.99
    assert noisy.optimum["accuracy"] < 0.8
    assert clean.x_train.shape[1:] == (28, 28, 1)
    assert set(np.unique(clean.y_train)) == set(range(10))


def test_text_labels_are_set_by_marker_tokens():
    d = zoo.load_dataset("text_classification", samples=200)
    markers = d.truth["markers"]
    for x, y in zip(d.x_train, d.y_train, strict=True):
        present = {c for c in range(len(markers)) if np.isin(markers[c], x).any()}
        assert present == {y}
    assert d.x_train.min() >= 1 and d.x_train.max() < 1000


def test_ratings_are_distinct_pairs_with_the_stated_noise():
    d = zoo.load_dataset("rating_prediction", samples=5000)
    pairs = set(zip(d.x_train["user"], d.x_train["item"], strict=True))
    test_pairs = set(zip(d.x_test["user"], d.x_test["item"], strict=True))
    assert len(pairs) == 5000 and not pairs & test_pairs
    t = d.truth
    u, i = d.x_train["user"], d.x_train["item"]
    clean = d.y_train - (t["user_factors"][u] * t["item_factors"][i]).sum(1)
    assert clean.mean() == pytest.approx(t["mean"], abs=0.05)


def test_unknown_dataset_and_bad_sizes_are_clear_errors():
    with pytest.raises(DataError, match="Available: synthetic"):
        zoo.load_dataset("image_classification", "imagenet")
    with pytest.raises(InvalidArgumentError, match="samples=0"):
        zoo.load_dataset("regression", samples=0)
    with pytest.raises(InvalidArgumentError, match="must fit"):
        zoo.load_dataset("rating_prediction", samples=10**6)
    with pytest.raises(InvalidArgumentError, match="unexpected keyword"):
        zoo.load_dataset("regression", colour="blue")


def test_audio_classes_are_separable_by_their_bands():
    """Supports the claimed optimum of 1: nearest class-mean of each clip's loudest frame
    per band already classifies nearly every test clip."""
    d = zoo.load_dataset("audio_classification", samples=600)
    feats = lambda x: x[..., 0].max(axis=1)  # noqa: E731
    means = np.stack([feats(d.x_train[d.y_train == c]).mean(0) for c in range(12)])
    f = feats(d.x_test)
    pred = ((f[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert (pred == d.y_test).mean() >= 0.97


def test_language_model_floor_is_the_chain_entropy_rate():
    d = zoo.load_dataset("language_modeling", samples=200)
    p = d.truth["transitions"]
    assert np.allclose(p.sum(1), 1)
    empirical = -np.log(p[d.x_test, d.y_test]).mean()
    assert abs(np.exp(empirical) - d.optimum["perplexity"]) / d.optimum["perplexity"] < 0.05


def test_translation_targets_are_reversed_sources_with_a_start_token():
    d = zoo.load_dataset("translation", samples=10)
    np.testing.assert_array_equal(d.y_train, d.x_train["source"][:, ::-1])
    assert (d.x_train["target"][:, 0] == 1).all()
    np.testing.assert_array_equal(d.x_train["target"][:, 1:], d.y_train[:, :-1])


def test_retrieval_test_split_is_whole_batches_and_optimum_beats_popularity():
    d = zoo.load_dataset("retrieval", samples=3000)
    assert len(d.y_test) % 256 == 0
    np.testing.assert_array_equal(d.y_train, d.x_train["item"])
    assert 0.05 < d.optimum["recall_at_10"] < 1


def _segment_by_rule(x: np.ndarray, size: int) -> np.ndarray:
    """Each half's one shape: its pixels above the background; a frame if the centre of
    its bounding box is empty, else a square if a corner is full, else a disk."""
    g, half = x.mean(-1), size // 2
    out = np.zeros(g.shape, "int32")
    for i in range(len(g)):
        for left in (0, half):
            mask = g[i][:, left : left + half] > 0.3
            rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
            box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            h, w = box.shape
            kind = 3 if not box[h // 2, w // 2] else 1 if box[0, 0] else 2
            out[i][:, left : left + half][mask] = kind
    return out


def test_segmentation_shapes_are_told_apart_by_a_rule_so_the_optimum_is_1():
    d = zoo.load_dataset("semantic_segmentation", samples=1000, seed=3)
    assert d.optimum == {"mean_iou": 1.0, "accuracy": 1.0}
    assert d.x_test.shape == (200, 32, 32, 3) and d.y_test.shape == (200, 32, 32)
    assert set(np.unique(d.y_test)) == {0, 1, 2, 3}
    assert (_segment_by_rule(d.x_test, 32) == d.y_test).all()


@pytest.mark.parametrize(
    "task,params,said",
    [
        ("semantic_segmentation", {"image_size": 16}, "a side of 30 pixels or more"),
        ("video_classification", {"image_size": 8, "frames": 8}, "cannot hold a 3-pixel"),
    ],
)
def test_synthetic_images_too_small_for_their_shapes_are_one_line(task, params, said):
    with pytest.raises(InvalidArgumentError, match=said):
        zoo.load_dataset(task, samples=8, **params)


def test_video_direction_is_read_by_tracking_the_square_and_no_frame_alone_decides():
    d = zoo.load_dataset("video_classification", samples=1000, seed=3)
    x, y = d.x_test[..., 0], d.y_test
    n, frames = x.shape[:2]
    # the 3x3 block of largest sum in each frame, then the sign of its mean step
    c = np.pad(x, ((0, 0), (0, 0), (1, 0), (1, 0))).cumsum(2).cumsum(3)
    box = c[:, :, 3:, 3:] - c[:, :, :-3, 3:] - c[:, :, 3:, :-3] + c[:, :, :-3, :-3]
    r, col = np.divmod(box.reshape(n, frames, -1).argmax(-1), box.shape[-1])
    dy, dx = np.diff(r, axis=1).mean(1), np.diff(col, axis=1).mean(1)
    rule = np.where(np.abs(dx) > np.abs(dy), np.where(dx > 0, 0, 1), np.where(dy > 0, 2, 3))
    assert (rule == y).all() and d.optimum == {"accuracy": 1.0}
    # every class starts anywhere: a frame's position alone is a poor guess of the class
    first = np.stack([r[:, 0], col[:, 0]], 1)
    means = np.stack([first[y == k].mean(0) for k in range(4)])
    nearest = ((first[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert (nearest == y).mean() < 0.7


def test_a_summary_is_the_sources_content_tokens_in_order_so_the_optimum_is_1():
    from zoo.scoring import END, START

    d = zoo.load_dataset("summarization", samples=500, seed=3)
    content = (END + 1 + 32) // 2
    for source, summary, decoder in zip(
        d.x_test["source"], d.y_test, d.x_test["target"], strict=True
    ):
        kept = [int(t) for t in source if t >= content]
        assert 2 <= len(kept) < len(summary)
        assert list(summary) == kept + [END] + [0] * (len(summary) - len(kept) - 1)
        assert list(decoder) == [START, *summary[:-1]]  # teacher forcing
    assert d.optimum == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "accuracy": 1.0}


def test_spoken_digits_are_read_by_a_rule_on_their_tone_bands_so_the_optimum_wer_is_0():
    from zoo.data import audio

    d = zoo.load_dataset("speech_recognition", samples=500, seed=3)
    x, y = d.x_test[..., 0], d.y_test
    assert x.shape == (100, 74, 40) and y.shape == (100, 5) and d.optimum["wer"] == 0.0
    # each digit's two tones in their mel bands; a frame is that digit if both are loud
    fft_bins = np.round(d.truth["tones_hz"] / (audio.SAMPLE_RATE / audio.FFT_LENGTH))
    bands = audio.mel_matrix()[fft_bins.astype(int)].argmax(-1)
    energy = x[:, :, bands].min(-1)  # (examples, frames, digits)
    level = energy.max(-1)
    quiet, loud = np.percentile(level, 5, axis=1), np.percentile(level, 95, axis=1)
    said = np.where(level > ((quiet + loud) / 2)[:, None], energy.argmax(-1) + 1, 0)
    for frames, label in zip(said, y, strict=True):
        digits = [int(k) for t, k in enumerate(frames) if k and (t == 0 or frames[t - 1] != k)]
        assert digits == [int(v) for v in label if v]
    assert d.vocabulary[1:] == ["zero", "one", "two", "three", "four", "five", "six", "seven",
                                "eight", "nine"]  # fmt: skip


def test_detection_boxes_are_the_tight_boxes_of_the_bright_shapes_so_the_optimum_is_1():
    from zoo.data import boxes

    d = zoo.load_dataset("object_detection", samples=500, seed=3)
    assert d.x_test.shape == (100, 32, 32, 3) and d.y_test.shape == (100, 8, 8, 7)
    bright = d.x_test.mean(-1) > 0.3  # the shapes stand 6 noise deviations above it
    counts = []
    for image, target in zip(bright, d.y_test, strict=True):
        found = boxes.decode_truth(target, (32, 32))
        counts.append(len(found))
        covered = np.zeros_like(image)
        for _, x, y, w, h in found:
            x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
            inside = image[y0:y1, x0:x1]
            covered[y0:y1, x0:x1] = True
            # tight: every edge row and column of the box holds a pixel of the shape
            assert inside[0].any() and inside[-1].any()
            assert inside[:, 0].any() and inside[:, -1].any()
        assert not (image & ~covered).any()  # and no shape pixel outside the boxes
    assert set(counts) == {1, 2, 3}
    assert d.optimum == {"map": 1.0, "map_50": 1.0}


def test_tfds_images_scale_every_byte_value_as_tensorflow_does():
    import tensorflow as tf

    from zoo.data import tfds

    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    scaled = tfds._scaled(pixels)
    expected = (tf.cast(pixels, tf.float32) / 255.0).numpy()
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, expected)
    assert scaled[0, 0, 0, 0] == 0.0 and scaled[0, -1, -1, 0] == 1.0
