"""Decoded-output scores (zoo.scoring) and the box encoding behind detection."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo import scoring
from zoo.data import boxes
from zoo.errors import InvalidArgumentError


class Oracle:
    """A stand-in model whose output is given: `predict` returns `fn(x)`."""

    def __init__(self, fn, inputs=()):
        self.fn, self.inputs = fn, list(inputs)

    def predict(self, x, batch_size=None, verbose=0):
        return self.fn(x)


def _one_hot(ids: np.ndarray, width: int, scale: float = 10.0) -> np.ndarray:
    return np.eye(width, dtype="float32")[ids] * scale


def test_greedy_decoding_feeds_each_step_its_own_argmax_and_rouge_is_1_on_the_truth():
    d = zoo.load_dataset("summarization", samples=40)
    source, summary = d.x_test["source"], d.y_test
    seen = []

    def teacher(x):  # right only where the decoder input so far is the true summary's
        seen.append(x["target"].copy())
        shifted = np.concatenate([np.full((len(summary), 1), scoring.START), summary[:, :-1]], 1)
        so_far = x["target"]  # filled up to the current step, zeros after it
        right = ((so_far == shifted) | (so_far == 0)).all(1)[:, None]
        return _one_hot(np.where(right, summary, 3), 32)

    net = Oracle(teacher)
    result = scoring.score(zoo.tasks.get("summarization"), net, d.x_test, summary,
                           vocabulary=None)  # fmt: skip
    assert result == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert len(seen) == summary.shape[1]  # one call per position
    assert (seen[-1][:, 0] == scoring.START).all()
    assert (seen[-1][:, 1:] == summary[:, :-1]).all()
    # a model that always says token 3 shares no word with any summary
    wrong = scoring.score(zoo.tasks.get("summarization"), Oracle(lambda x: _one_hot(
        np.full(x["target"].shape, 3), 32)), {"source": source, "target": d.x_test["target"]},
        summary)  # fmt: skip
    assert wrong == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_ctc_transcripts_merge_repeats_drop_blanks_and_jiwer_counts_the_errors():
    # frames: 3 3 blank 3 0 7 7 -> labels 3, 3, 7 (a blank between the two 3s keeps both)
    frames = np.array([[3, 3, 0, 3, 0, 7, 7]])
    net = Oracle(lambda x: _one_hot(frames, 11))
    vocab = zoo.data.synthetic_domains.SPEECH_VOCABULARY
    assert scoring.transcripts(net, np.zeros((1, 7, 4, 1)), 8, vocab) == ["two two six"]
    task = zoo.tasks.get("speech_recognition")
    exact = scoring.score(task, net, np.zeros((1, 7, 4, 1)), np.array([[3, 3, 7, 0, 0]]))
    assert exact == {"wer": 0.0, "cer": 0.0}
    one_wrong = scoring.score(task, net, np.zeros((1, 7, 4, 1)), np.array([[3, 3, 8, 0, 0]]),
                              vocabulary=vocab)  # fmt: skip
    assert one_wrong["wer"] == pytest.approx(1 / 3)  # "two two seven" -> one substitution
    assert 0 < one_wrong["cer"] < one_wrong["wer"]


def test_boxes_round_trip_through_the_target_map():
    found = [(0, 3.0, 4.0, 9.0, 7.0), (2, 18.0, 17.0, 11.0, 13.0)]
    target = boxes.encode(found, (32, 32), 3)
    assert target.shape == (8, 8, 3 + boxes.EXTRA)
    assert (target[..., :3] == 1.0).sum() == 2  # one peak of 1 per object
    back = sorted(boxes.decode_truth(target, (32, 32)))
    assert [b[0] for b in back] == [0, 2]
    np.testing.assert_allclose([b[1:] for b in back], [b[1:] for b in found], atol=1e-5)
    # a model whose logits are the labels' (peaks high, elsewhere low) decodes the boxes
    logits = target.copy()
    logits[..., :3] = np.where(target[..., :3] == 1.0, 5.0, -5.0)
    detected = boxes.decode(logits, (32, 32))
    assert sorted((b[0], *np.round(b[1:5], 4)) for b in detected) == [
        (c, *np.round(r, 4)) for c, *r in back
    ]


def test_coco_map_is_1_for_the_truth_and_falls_with_shifted_or_missing_boxes():
    truth = [[(0, 2, 2, 10, 10), (1, 16, 16, 8, 8)], [(2, 4, 20, 6, 6)]]
    exact = [[(*b, 0.9) for b in image] for image in truth]
    assert scoring.coco_map(truth, exact, (32, 32)) == pytest.approx({"map": 1.0, "map_50": 1.0})
    # shifted by 2 pixels: IoU 0.67 for the 10x10 box, so it counts at .5 but not above .65
    shifted = [[(c, x + 2, y, w, h, s) for c, x, y, w, h, s in image] for image in exact]
    scores = scoring.coco_map(truth, shifted, (32, 32))
    assert scores["map"] < 0.7 and scores["map_50"] == pytest.approx(1.0)
    assert scoring.coco_map(truth, [[], []], (32, 32)) == {"map": 0.0, "map_50": 0.0}
    wrong_class = [[(c + 1, x, y, w, h, s) for c, x, y, w, h, s in image] for image in exact]
    assert scoring.coco_map(truth, wrong_class, (32, 32))["map_50"] < 0.5


def test_a_target_cannot_name_a_decoded_score():
    from zoo.training import target

    task = zoo.tasks.get("speech_recognition")
    with pytest.raises(InvalidArgumentError, match="wer is scored once, on decoded outputs"):
        target.parse("wer=0.1", task)
    assert target.parse("loss=0.5", task).metric == "loss"
    assert task.scores == ("wer", "cer") and task.epoch_metrics == ()
    assert zoo.tasks.get("summarization").epoch_headline == "accuracy"


def test_scores_from_outputs_already_computed_match_the_models_own():
    frames = np.array([[3, 0, 5, 5, 0, 0, 9]])
    logits = _one_hot(frames, 11)
    speech = zoo.tasks.get("speech_recognition")
    labels = np.array([[3, 5, 8, 0, 0]])
    by_model = scoring.score(speech, Oracle(lambda x: logits), np.zeros((1, 7, 4, 1)), labels)
    assert scoring.from_outputs(speech, logits, labels) == by_model
    assert by_model["wer"] == pytest.approx(1 / 3)
    detection = zoo.tasks.get("object_detection")
    target = boxes.encode([(1, 4.0, 4.0, 8.0, 8.0)], (32, 32), 3)[None]
    maps = target.copy()
    maps[..., :3] = np.where(target[..., :3] == 1.0, 5.0, -5.0)
    found = scoring.from_outputs(detection, maps, target)
    assert found == pytest.approx({"map": 1.0, "map_50": 1.0})
    assert scoring.from_outputs(zoo.tasks.get("summarization"), maps, target) == {}
