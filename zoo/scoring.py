"""Scores of decoded outputs: what a task's users judge a model by when its output is a
sequence or a set of boxes, computed on the test split by the field's standard
implementations, not ours:

- summarization: ROUGE-1, ROUGE-2 and ROUGE-L F-measures (Google's `rouge-score`, the
  implementation of the ROUGE paper's definitions used by the summarization literature)
  of greedy-decoded summaries against the references, averaged over examples.
- speech_recognition: word and character error rates (`jiwer`, corpus level) of greedy
  CTC transcripts (`keras.ops.ctc_decode`).
- object_detection: COCO mAP@[.5:.95] and mAP@.5 (`pycocotools`, the COCO evaluation
  code) of the boxes decoded from the model's heat maps.

Keras metrics run inside the training step and report every epoch; these run once, after
training and in `zoo evaluate`, on NumPy outputs (so a `--target` cannot name them: the
CLI says which metrics it can). The libraries are dependencies of the zoo, imported only
here, when a model of their task is scored; a missing one is one line that names its
install command.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from zoo.errors import InvalidArgumentError

START, END = 1, 2  # a decoder's start and end tokens (0 is padding)


def need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidArgumentError(
            f"Scoring this task needs {package}, which is not installed.",
            f"pip install {package}",
        ) from None


def words(ids: Sequence[int], vocabulary: Sequence[str] | None) -> str:
    """Token ids as a string of words: the vocabulary's, else `t<ID>` (padding, the start
    and end tokens left out)."""
    kept = [int(t) for t in ids if int(t) > END]
    return " ".join(vocabulary[t] if vocabulary is not None else f"t{t}" for t in kept)


def until_end(ids: Sequence[int]) -> list[int]:
    """A decoded sequence up to (not including) its first end or padding token."""
    out = []
    for t in ids:
        if int(t) in (0, END):
            break
        out.append(int(t))
    return out


def greedy_decode(net, source: np.ndarray, target_length: int, batch_size: int) -> np.ndarray:
    """Greedy decoding of a teacher-forced encoder-decoder: the decoder input starts as
    [START, 0, ...] and position t+1 takes the argmax at position t, one model call per
    position (the model sees the whole decoder input; a causal mask hides the rest)."""
    decoder = np.zeros((len(source), target_length), "int32")
    decoder[:, 0] = START
    out = np.zeros_like(decoder)
    for t in range(target_length):
        x = {"source": source, "target": decoder}
        logits = net.predict(x, batch_size=batch_size, verbose=0)
        out[:, t] = np.asarray(logits[:, t]).argmax(-1)
        if t + 1 < target_length:
            decoder[:, t + 1] = out[:, t]
    return out


def summaries(net, x, batch_size: int, vocabulary=None) -> list[str]:
    """The model's greedy summaries of `x["source"]`, as text."""
    ids = greedy_decode(net, x["source"], int(x["target"].shape[1]), batch_size)
    return [words(until_end(row), vocabulary) for row in ids]


def rouge(references: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measures (rouge-score) of predictions against references."""
    rouge_scorer = need("rouge_score.rouge_scorer", "rouge-score")
    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds), use_stemmer=False)
    totals = dict.fromkeys(kinds, 0.0)
    for ref, pred in zip(references, predictions, strict=True):
        result = scorer.score(ref, pred)
        for k in kinds:
            totals[k] += result[k].fmeasure
    n = max(len(references), 1)
    return {k: v / n for k, v in totals.items()}


def _summarization(net, x, y, batch_size: int, vocabulary) -> dict[str, float]:
    references = [words(until_end(row), vocabulary) for row in y]
    return rouge(references, summaries(net, x, batch_size, vocabulary))


def transcripts(net, x, batch_size: int, vocabulary=None) -> list[str]:
    """Greedy CTC transcripts (blank 0, repeats merged) of the model's frame logits."""
    return decode_ctc(net.predict(x, batch_size=batch_size, verbose=0), vocabulary)


def decode_ctc(logits, vocabulary=None) -> list[str]:
    """Greedy CTC transcripts of (batch, frames, vocab + 1) logits."""
    from keras import ops

    logits = np.asarray(logits, "float32")
    lengths = np.full((len(logits),), logits.shape[1], "int32")
    decoded, _ = ops.ctc_decode(logits, lengths, strategy="greedy", mask_index=0)
    rows = np.asarray(ops.convert_to_numpy(decoded))[0]
    return [label_text(row, vocabulary) for row in rows]


def label_text(ids: Sequence[int], vocabulary) -> str:
    """CTC label ids (1..V; 0 blank or padding, -1 padding) as words."""
    kept = [int(t) for t in ids if int(t) > 0]
    return " ".join(vocabulary[t] if vocabulary is not None else f"t{t}" for t in kept)


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus word and character error rates (jiwer)."""
    jiwer = need("jiwer", "jiwer")
    refs = [r if r else " " for r in references]  # jiwer refuses empty references
    hyps = [h if h else "" for h in hypotheses]
    return {"wer": float(jiwer.wer(refs, hyps)), "cer": float(jiwer.cer(refs, hyps))}


def _speech(net, x, y, batch_size: int, vocabulary) -> dict[str, float]:
    references = [label_text(row, vocabulary) for row in y]
    return error_rates(references, transcripts(net, x, batch_size, vocabulary))


def coco_map(ground_truth: list[list[tuple]], detections: list[list[tuple]], size) -> dict:
    """COCO mAP@[.5:.95] and mAP@.5 (pycocotools) of per-image detections.

    Args:
        ground_truth: per image, (class, x, y, width, height) boxes in pixels.
        detections: per image, (class, x, y, width, height, score) boxes in pixels.
        size: (height, width) of every image.
    """
    coco_mod = need("pycocotools.coco", "pycocotools")
    cocoeval = need("pycocotools.cocoeval", "pycocotools")
    height, width = size
    images, annotations, results, classes = [], [], [], set()
    for i, (truth, found) in enumerate(zip(ground_truth, detections, strict=True)):
        images.append({"id": i + 1, "height": int(height), "width": int(width)})
        for c, bx, by, bw, bh in truth:
            classes.add(int(c))
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                 "bbox": [float(bx), float(by), float(bw), float(bh)],
                 "area": float(bw * bh), "iscrowd": 0}
            )  # fmt: skip
        for c, bx, by, bw, bh, score in found:
            results.append(
                {"image_id": i + 1, "category_id": int(c) + 1, "score": float(score),
                 "bbox": [float(bx), float(by), float(bw), float(bh)]}
            )  # fmt: skip
    if not annotations:
        return {"map": 0.0, "map_50": 0.0}
    truth = coco_mod.COCO()
    truth.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c + 1, "name": str(c)} for c in sorted(classes)],
    }
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth.createIndex()
        if not results:
            return {"map": 0.0, "map_50": 0.0}
        found = truth.loadRes(results)
        evaluation = cocoeval.COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {"map": max(float(stats[0]), 0.0), "map_50": max(float(stats[1]), 0.0)}


def _detection(net, x, y, batch_size: int, vocabulary) -> dict[str, float]:
    return detection_map(net.predict(x, batch_size=batch_size, verbose=0), y, x.shape[1:3])


def detection_map(maps, y, size) -> dict[str, float]:
    """COCO mAP of a detector's output maps against the label maps, images of `size`."""
    from zoo.data import boxes

    truth = [boxes.decode_truth(row, size) for row in y]
    found = [boxes.decode(row, size) for row in np.asarray(maps, "float32")]
    return coco_map(truth, found, size)


def from_outputs(task, outputs, y, vocabulary=None) -> dict[str, float]:
    """The task's scores from outputs already computed (an exported artifact's, say):
    those that need one model call (detection, speech); {} for the others (a summary is
    decoded one model call per token)."""
    if task.name == "speech_recognition":
        references = [label_text(row, vocabulary) for row in y]
        return error_rates(references, decode_ctc(outputs, vocabulary))
    if task.name == "object_detection":
        from zoo.data import boxes

        grid = np.shape(outputs)[1:3]
        return detection_map(outputs, y, tuple(int(g) * boxes.STRIDE for g in grid))
    return {}


SCORERS: dict[str, Callable[..., dict[str, float]]] = {
    "summarization": _summarization,
    "speech_recognition": _speech,
    "object_detection": _detection,
}


def score(task, net, x, y, *, batch_size: int = 256, vocabulary=None) -> dict[str, Any]:
    """The task's decoded-output scores of `net` on (x, y); {} for a task without any."""
    scorer = SCORERS.get(task.name)
    if scorer is None or not len(y):
        return {}
    return scorer(net, x, y, batch_size, vocabulary)
