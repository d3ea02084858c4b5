"""Tasks: one per problem kind, saying what a model of that kind takes, predicts and is
judged by. Plain data; the Keras loss and metrics are built only when training starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zoo.choices import check_choice


@dataclass(frozen=True)
class Task:
    """A problem kind: its inputs and outputs, loss, metrics and datasets."""

    name: str
    summary: str
    inputs: str  # what the model takes, in words (shapes come from the dataset)
    outputs: str  # what the model returns
    loss: str  # a key of _LOSSES
    metrics: tuple[str, ...]  # keys of _METRICS; the first is the headline metric
    higher_is_better: bool  # for the headline metric
    datasets: tuple[str, ...] = ("synthetic",)
    eval_batch_size: int | None = None  # fixed where a metric depends on the batch

    @property
    def headline(self) -> str:
        return self.metrics[0]

    @property
    def scores(self) -> tuple[str, ...]:
        """The metrics of decoded outputs (`zoo.scoring`), computed once after training."""
        return tuple(m for m in self.metrics if m in SCORED)

    @property
    def epoch_metrics(self) -> tuple[str, ...]:
        """The metrics Keras computes every epoch (a `--target` can name these)."""
        return tuple(m for m in self.metrics if m not in SCORED)

    @property
    def epoch_headline(self) -> str:
        """The first metric reported every epoch, else the loss."""
        return (self.epoch_metrics or ("loss",))[0]

    def build_loss(self, label_smoothing: float | None = None):
        """The Keras loss object (imports Keras); `label_smoothing` where the loss takes it
        (cross-entropy over classes)."""
        import keras

        if label_smoothing:
            check_label_smoothing(self, label_smoothing)
            return _zoo_metrics().SmoothedSparseCrossentropy(label_smoothing)
        return _LOSSES[self.loss](keras)

    def build_metrics(self, num_classes: int | None = None) -> list:
        """Fresh Keras metric objects (imports Keras); `num_classes`, the model's output
        width, sizes the metrics that count per class (mean IoU)."""
        import keras

        out = []
        for m in self.epoch_metrics:
            if m in _PER_CLASS:
                if not num_classes:
                    raise ValueError(f"The {m} metric needs the number of classes.")
                out.append(_PER_CLASS[m](keras, int(num_classes)))
            else:
                out.append(_METRICS[m](keras))
        return out


# Classifiers in the zoo return logits (like the PyTorch models they port), so the losses
# take from_logits=True; this also keeps the softmax inside the loss, in float32.
_LOSSES = {
    "mse": lambda k: k.losses.MeanSquaredError(name="mse"),
    "sparse_categorical_crossentropy": lambda k: k.losses.SparseCategoricalCrossentropy(
        from_logits=True, name="sparse_categorical_crossentropy"
    ),
    "in_batch_softmax": lambda k: _zoo_metrics().InBatchSoftmax(),
    "ctc": lambda k: k.losses.CTC(name="ctc"),
    "centernet": lambda k: _zoo_metrics().CenterNetLoss(),
}


def _zoo_metrics():
    from zoo import metrics

    return metrics


_METRICS = {
    "accuracy": lambda k: k.metrics.SparseCategoricalAccuracy(name="accuracy"),
    "mse": lambda k: k.metrics.MeanSquaredError(name="mse"),
    "mae": lambda k: k.metrics.MeanAbsoluteError(name="mae"),
    "rmse": lambda k: k.metrics.RootMeanSquaredError(name="rmse"),
    "perplexity": lambda k: _zoo_metrics().Perplexity(name="perplexity"),
    "recall_at_10": lambda k: _zoo_metrics().InBatchRecallAtK(k=10, name="recall_at_10"),
    "recall_at_50": lambda k: _zoo_metrics().InBatchRecallAtK(k=50, name="recall_at_50"),
}
# Metrics sized by the number of classes: Keras' own mean IoU over the argmax of the
# logits (classes absent from both labels and predictions are left out of the mean).
_PER_CLASS = {
    "mean_iou": lambda k, n: k.metrics.MeanIoU(
        num_classes=n, sparse_y_true=True, sparse_y_pred=False, name="mean_iou"
    ),
}
# Metrics of decoded outputs, computed by zoo.scoring after training (not Keras metrics).
SCORED = frozenset({"rouge1", "rouge2", "rougeL", "wer", "cer", "map", "map_50"})
# The metrics where a larger value is better; the others (and the loss) are minimised.
HIGHER_IS_BETTER = frozenset(
    {"accuracy", "recall_at_10", "recall_at_50", "mean_iou", "rouge1", "rouge2", "rougeL"}
    | {"map", "map_50"}
)

# The values a metric can take (closed ranges): a target outside one is never reached.
# The loss is left out (a model's loss may be of any sign).
RANGES = {
    **dict.fromkeys(("accuracy", "recall_at_10", "recall_at_50", "mean_iou"), (0.0, 1.0)),
    **dict.fromkeys(("mse", "mae", "rmse"), (0.0, math.inf)),
    "perplexity": (1.0, math.inf),
}

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            name="regression",
            summary="real-valued features -> one real value",
            inputs="float32 (num_features,)",
            outputs="float32 (1,)",
            loss="mse",
            metrics=("mse", "mae"),
            higher_is_better=False,
        ),
        Task(
            name="image_classification",
            summary="an image -> one of num_classes classes",
            inputs="float32 (height, width, channels)",
            outputs="float32 logits (num_classes,)",
            loss="sparse_categorical_crossentropy",
            metrics=("accuracy",),
            higher_is_better=True,
            datasets=("synthetic", "mnist", "fashion_mnist", "cifar10"),
        ),
        Task(
            name="text_classification",
            summary="a sequence of token ids -> one of num_classes classes",
            inputs="int32 (sequence_length,), 0 is padding",
            outputs="float32 logits (num_classes,)",
            loss="sparse_categorical_crossentropy",
            metrics=("accuracy",),
            higher_is_better=True,
            datasets=("synthetic", "imdb_reviews"),
        ),
        Task(
            name="rating_prediction",
            summary="a (user, item) pair -> the user's rating of the item",
            inputs='{"user": int32 (), "item": int32 ()}',
            outputs="float32 (1,)",
            loss="mse",
            metrics=("rmse", "mae"),
            higher_is_better=False,
            datasets=("synthetic", "movielens/100k-ratings"),
        ),
        Task(
            name="audio_classification",
            summary="a log-mel spectrogram of 1 s of audio -> one of num_classes keywords",
            inputs="float32 (frames, mel_bins, 1)",
            outputs="float32 logits (num_classes,)",
            loss="sparse_categorical_crossentropy",
            metrics=("accuracy",),
            higher_is_better=True,
            datasets=("synthetic", "speech_commands"),
        ),
        Task(
            name="forecasting",
            summary="a window of a time series -> its next `horizon` values",
            inputs="float32 (window, num_series)",
            outputs="float32 (horizon,)",
            loss="mse",
            metrics=("mse", "mae"),
            higher_is_better=False,
        ),
        Task(
            name="language_modeling",
            summary="a sequence of tokens -> the next token at every position",
            inputs="int32 (sequence_length,)",
            outputs="float32 logits (sequence_length, vocab_size)",
            loss="sparse_categorical_crossentropy",
            metrics=("perplexity", "accuracy"),
            higher_is_better=False,
            datasets=("synthetic", "tiny_shakespeare"),
        ),
        Task(
            name="translation",
            summary="a source sequence -> a target sequence (teacher-forced decoder)",
            inputs='{"source": int32 (source_length,), "target": int32 (target_length,)}',
            outputs="float32 logits (target_length, vocab_size)",
            loss="sparse_categorical_crossentropy",
            metrics=("accuracy",),
            higher_is_better=True,
        ),
        Task(
            name="retrieval",
            summary="a user -> the items they interact with, ranked among in-batch candidates",
            inputs='{"user": int32 (), "item": int32 ()}',
            outputs="float32 (batch, batch) scores",
            loss="in_batch_softmax",
            metrics=("recall_at_10", "recall_at_50"),
            higher_is_better=True,
            datasets=("synthetic", "movielens/100k-ratings"),
            eval_batch_size=256,
        ),
        Task(
            name="semantic_segmentation",
            summary="an image -> one of num_classes classes for every pixel",
            inputs="float32 (height, width, channels)",
            outputs="float32 logits (height, width, num_classes)",
            loss="sparse_categorical_crossentropy",
            metrics=("mean_iou", "accuracy"),
            higher_is_better=True,
            datasets=("synthetic", "oxford_iiit_pet"),
        ),
        Task(
            name="video_classification",
            summary="a clip of frames -> one of num_classes classes",
            inputs="float32 (frames, height, width, channels)",
            outputs="float32 logits (num_classes,)",
            loss="sparse_categorical_crossentropy",
            metrics=("accuracy",),
            higher_is_better=True,
            datasets=("synthetic", "ucf101"),
        ),
        Task(
            name="summarization",
            summary="a source text -> its summary (teacher-forced decoder, greedy decoding)",
            inputs='{"source": int32 (source_length,), "target": int32 (target_length,)}',
            outputs="float32 logits (target_length, vocab_size)",
            loss="sparse_categorical_crossentropy",
            metrics=("rouge1", "rouge2", "rougeL", "accuracy"),
            higher_is_better=True,
            datasets=("synthetic", "cnn_dailymail"),
        ),
        Task(
            name="speech_recognition",
            summary="a log-mel spectrogram of speech -> its transcript (CTC, greedy decoding)",
            inputs="float32 (frames, mel_bins, 1)",
            outputs="float32 logits (output_frames, vocab_size + 1), 0 is the CTC blank",
            loss="ctc",
            metrics=("wer", "cer"),
            higher_is_better=False,
            datasets=("synthetic", "speech_commands"),
        ),
        Task(
            name="object_detection",
            summary="an image -> boxes and classes (CenterNet-style heat maps, decoded)",
            inputs="float32 (height, width, channels)",
            outputs="float32 (height/4, width/4, num_classes + 4): class heat-map logits, "
            "box size and centre offset per cell",
            loss="centernet",
            metrics=("map", "map_50"),
            higher_is_better=True,
            datasets=("synthetic", "voc"),
        ),
    ]
}


def check_label_smoothing(task: Task, value: float | None) -> None:
    """Label smoothing needs a cross-entropy over classes and a value in [0, 1).

    Raises:
        InvalidArgumentError: naming what does not fit.
    """
    from zoo.errors import InvalidArgumentError

    if value is None:
        return
    if task.loss != "sparse_categorical_crossentropy":
        raise InvalidArgumentError(
            f"label smoothing needs a classification loss; {task.name} models train on "
            f"{task.loss}.",
            "Drop --label-smoothing for this model.",
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise InvalidArgumentError(
            f"label_smoothing must be in [0, 1); received: label_smoothing={value!r}.",
            "Try 0.1.",
        )


def get(name: str) -> Task:
    """The task called `name`.

    Raises:
        InvalidArgumentError: no such task.
    """
    check_choice("task", name, tuple(sorted(TASKS)))
    return TASKS[name]
