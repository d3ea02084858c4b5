"""Synthetic datasets, one per task: seeded, NumPy only, generated from a known rule.

They are not noise. Each is drawn from a rule a model of its task can learn, and each
reports the best value a model can expect on its test split (`optimum`), so a test can
compare what a model reached with what was reachable:

- regression: y = x.w + b + N(0, noise_std^2); the optimum MSE is noise_std^2.
- image_classification: one smooth template per class plus isotropic Gaussian noise;
  the Bayes classifier is "nearest template", and its accuracy on the test split is the
  optimum.
- text_classification: filler tokens with a few marker tokens that belong to the class;
  the markers decide the class, so the optimum accuracy is 1.
- rating_prediction: global mean + user and item biases + a rank-r dot product, plus
  N(0, noise_std^2); the optimum RMSE is noise_std.
- audio_classification: each class is a pair of tones at its own frequencies, sounding
  over a random part of one second, in white noise; as log-mel spectrograms. The classes'
  bands are apart and the tones 10 dB or more above the noise, so the optimum accuracy is
  1 (a rule reading the band energies reaches it; a test checks that).
- forecasting: sums of sines with fixed periods and random phases, plus N(0, noise_std^2)
  per step; the future is determined by the phases up to the noise, so the optimum MSE is
  noise_std^2.
- language_modeling: a first-order Markov chain over the vocabulary with a few likely
  successors per token; the optimum perplexity is exp(entropy rate).
- translation: the target is the source reversed; the optimum token accuracy is 1.
- retrieval: users pick items with probability proportional to exp(u . v_i + b_i); the
  optimum is the in-batch recall@10 of ranking by the true log-odds, log p(i | u) - log p(i).
- semantic_segmentation: two shapes on noise, one in each half of the image, each a
  filled square, a filled disk or a square frame 2 pixels wide (classes 1-3; background
  0) of random size, position and brightness; every pixel's class is the shape it lies
  in. The labels are a function of the noise-free image and the shapes stand 6 noise
  deviations or more above the background, so the optimum mean IoU and pixel accuracy
  are 1 (a test checks that a rule reaches it: a frame's centre is empty, a square's
  corners are full, a disk's are not).
- video_classification: a bright square moving in a straight line through noisy frames,
  one pixel a frame; its direction is the class (right, left, down, up), so no single
  frame decides it. The square stands 3 noise deviations above the background, so the
  optimum accuracy is 1 (a rule tracking the brightest block reaches it; a test checks
  that).

The rule is drawn from one random stream and the train and test examples from two
others, so the test split depends only on the seed and its own size.
"""

from __future__ import annotations

import math

import numpy as np

from zoo.data.dataset import Dataset
from zoo.tasks import TASKS


def _synthetic(task: str, train: tuple, test: tuple, **fields) -> Dataset:
    return Dataset("synthetic", task, *train, *test, **fields)


def _streams(seed: int):
    return (np.random.default_rng([seed, k]) for k in range(3))


def regression(
    seed: int = 0, samples: int = 4096, num_features: int = 4, noise_std: float = 0.1
) -> Dataset:
    rule, train, test = _streams(seed)
    w = rule.uniform(-2.0, 2.0, size=num_features).astype("float32")
    b = float(rule.uniform(-1.0, 1.0))

    def draw(rng, n):
        x = rng.normal(size=(n, num_features)).astype("float32")
        y = x @ w + b + rng.normal(scale=noise_std, size=n).astype("float32")
        return x, y.astype("float32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return _synthetic(
        "regression",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"num_features": num_features},
        optimum={"mse": noise_std**2, "mae": noise_std * math.sqrt(2 / math.pi)},
        params={
            "seed": seed,
            "samples": samples,
            "num_features": num_features,
            "noise_std": noise_std,
        },
        truth={"w": w, "b": b},
    )


def _smooth_templates(rng, num_classes, size, channels):
    """Smooth random images in [0, 1]: 7x7 noise upsampled and blurred."""
    coarse = rng.uniform(size=(num_classes, 7, 7, channels))
    reps = math.ceil(size / 7)
    fine = coarse.repeat(reps, axis=1).repeat(reps, axis=2)[:, :size, :size]
    kernel = np.ones(3) / 3  # separable box blur, twice
    for _ in range(2):
        for axis in (1, 2):
            fine = np.apply_along_axis(lambda v: np.convolve(v, kernel, "same"), axis, fine)
    lo = fine.min(axis=(1, 2, 3), keepdims=True)
    hi = fine.max(axis=(1, 2, 3), keepdims=True)
    return ((fine - lo) / (hi - lo)).astype("float32")


def image_classification(
    seed: int = 0,
    samples: int | None = None,
    image_size: int = 28,
    channels: int = 1,
    num_classes: int = 10,
    noise_std: float = 1.25,
) -> Dataset:
    if samples is None:  # 10,000 images, fewer where they are large (about 800 MB at most)
        samples = max(min(10000, 200_000_000 // (image_size * image_size * channels)), 64)
    rule, train, test = _streams(seed)
    templates = _smooth_templates(rule, num_classes, image_size, channels)

    def draw(rng, n):
        y = rng.integers(0, num_classes, size=n)
        noise = rng.normal(scale=noise_std, size=(n, image_size, image_size, channels))
        return (templates[y] + noise).astype("float32"), y.astype("int32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    # With equal priors and isotropic Gaussian noise, the Bayes classifier is the nearest
    # template; its accuracy on this test split is the best any model can expect.
    flat, t = x_test.reshape(len(x_test), -1), templates.reshape(num_classes, -1)
    dists = (t * t).sum(1)[None, :] - 2 * flat @ t.T  # squared distance, less |x|^2
    bayes = float((dists.argmin(1) == y_test).mean())
    return _synthetic(
        "image_classification",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "input_shape": (image_size, image_size, channels),
            "num_classes": num_classes,
        },
        optimum={"accuracy": bayes},
        params={
            "seed": seed,
            "samples": samples,
            "image_size": image_size,
            "channels": channels,
            "num_classes": num_classes,
            "noise_std": noise_std,
        },
        truth={"templates": templates},
    )


def text_classification(
    seed: int = 0,
    samples: int = 4000,
    vocab_size: int = 1000,
    sequence_length: int = 64,
    num_classes: int = 4,
    markers_per_sequence: int = 3,
) -> Dataset:
    markers_per_class = 4
    first_filler = 1 + num_classes * markers_per_class  # 0 is padding
    if vocab_size <= first_filler + 1:
        raise ValueError(f"vocab_size must exceed {first_filler + 1}; received: {vocab_size}")
    rule, train, test = _streams(seed)
    markers = 1 + rule.permutation(num_classes * markers_per_class).reshape(
        num_classes, markers_per_class
    )

    def draw(rng, n):
        y = rng.integers(0, num_classes, size=n)
        x = rng.integers(first_filler, vocab_size, size=(n, sequence_length))
        for i in range(n):
            pos = rng.choice(sequence_length, size=markers_per_sequence, replace=False)
            x[i, pos] = rng.choice(markers[y[i]], size=markers_per_sequence)
        return x.astype("int32"), y.astype("int32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return _synthetic(
        "text_classification",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
            "num_classes": num_classes,
        },
        optimum={"accuracy": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
            "num_classes": num_classes,
            "markers_per_sequence": markers_per_sequence,
        },
        truth={"markers": markers},
    )


def rating_prediction(
    seed: int = 0,
    samples: int = 40000,
    num_users: int = 300,
    num_items: int = 200,
    rank: int = 4,
    noise_std: float = 0.3,
) -> Dataset:
    if samples + samples // 5 > num_users * num_items:
        raise ValueError(
            f"samples plus the 20% test split must fit in num_users * num_items = "
            f"{num_users * num_items} distinct pairs; received: samples={samples}"
        )
    rule, train, test = _streams(seed)
    user_f = rule.normal(scale=rank**-0.25, size=(num_users, rank))
    item_f = rule.normal(scale=rank**-0.25, size=(num_items, rank))
    user_b = rule.normal(scale=0.3, size=num_users)
    item_b = rule.normal(scale=0.3, size=num_items)
    mean = 3.5
    num_test = max(samples // 5, 1)
    # Distinct (user, item) pairs, shuffled once; the test split takes the first ones.
    pairs = rule.permutation(num_users * num_items)[: samples + num_test]

    def draw(rng, flat):
        u, i = flat // num_items, flat % num_items
        r = mean + user_b[u] + item_b[i] + (user_f[u] * item_f[i]).sum(1)
        r = r + rng.normal(scale=noise_std, size=len(flat))
        x = {"user": u.astype("int32"), "item": i.astype("int32")}
        return x, r.astype("float32")

    x_test, y_test = draw(test, pairs[:num_test])
    x_train, y_train = draw(train, pairs[num_test:])
    return _synthetic(
        "rating_prediction",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"num_users": num_users, "num_items": num_items},
        optimum={"rmse": noise_std, "mae": noise_std * math.sqrt(2 / math.pi)},
        params={
            "seed": seed,
            "samples": samples,
            "num_users": num_users,
            "num_items": num_items,
            "rank": rank,
            "noise_std": noise_std,
        },
        truth={"mean": mean, "user_factors": user_f, "item_factors": item_f},
    )


def audio_classification(
    seed: int = 0, samples: int = 3000, num_classes: int = 12, snr_db: float = 10.0
) -> Dataset:
    from zoo.data import audio

    rule, train, test = _streams(seed)
    # Two tones per class, on a grid of frequencies spaced evenly in mel from 300 to 6000 Hz.
    grid = 700.0 * np.expm1(
        np.linspace(*audio._hertz_to_mel([300.0, 6000.0]), 2 * num_classes) / 1127.0
    )
    tones = rule.permutation(grid).reshape(num_classes, 2)
    t = np.arange(audio.SAMPLE_RATE) / audio.SAMPLE_RATE

    def draw(rng, n):
        y = rng.integers(0, num_classes, size=n)
        phase = rng.uniform(0, 2 * np.pi, size=(n, 2, 1))
        wave = np.sin(2 * np.pi * tones[y][:, :, None] * t + phase).sum(1)
        start = rng.uniform(0.0, 0.5, size=(n, 1))
        length = rng.uniform(0.3, 0.5, size=(n, 1))
        wave *= (t >= start) & (t < start + length)
        noise_std = np.sqrt(1.0 / 10 ** (snr_db / 10))  # each tone has power 1/2
        wave += rng.normal(scale=noise_std, size=wave.shape)
        return audio.log_mel_spectrogram(wave.astype("float32")), y.astype("int32")

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    return _synthetic(
        "audio_classification",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"input_shape": x_train.shape[1:], "num_classes": num_classes},
        optimum={"accuracy": 1.0},
        params={"seed": seed, "samples": samples, "num_classes": num_classes, "snr_db": snr_db},
        truth={"tones_hz": tones},
    )


def forecasting(
    seed: int = 0,
    samples: int = 4000,
    window: int = 48,
    horizon: int = 8,
    num_sines: int = 3,
    noise_std: float = 0.1,
) -> Dataset:
    rule, train, test = _streams(seed)
    periods = rule.uniform(6.0, 40.0, size=num_sines)
    amplitudes = rule.uniform(0.3, 1.0, size=num_sines)
    t = np.arange(window + horizon)

    def draw(rng, n):
        phase = rng.uniform(0, 2 * np.pi, size=(n, num_sines, 1))
        series = (amplitudes[:, None] * np.sin(2 * np.pi * t / periods[:, None] + phase)).sum(1)
        series += rng.normal(scale=noise_std, size=series.shape)
        series = series.astype("float32")
        return series[:, :window, None], series[:, window:]

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return _synthetic(
        "forecasting",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"window": window, "horizon": horizon, "num_series": 1},
        optimum={"mse": noise_std**2, "mae": noise_std * math.sqrt(2 / math.pi)},
        params={
            "seed": seed,
            "samples": samples,
            "window": window,
            "horizon": horizon,
            "num_sines": num_sines,
            "noise_std": noise_std,
        },
        truth={"periods": periods, "amplitudes": amplitudes},
    )


def markov_chain(rule, vocab_size: int, branching: int, smoothing: float = 0.01):
    """A transition matrix with `branching` likely successors per token, its stationary
    distribution and its entropy rate in nats."""
    probs = np.full((vocab_size, vocab_size), smoothing / vocab_size)
    for i in range(vocab_size):
        successors = rule.choice(vocab_size, size=branching, replace=False)
        probs[i, successors] += (1 - smoothing) * rule.dirichlet(np.ones(branching))
    stationary = np.full(vocab_size, 1.0 / vocab_size)
    for _ in range(1000):
        stationary = stationary @ probs
    entropy_rate = float(-(stationary[:, None] * probs * np.log(probs)).sum())
    return probs, stationary, entropy_rate


MAX_MARKOV_VOCAB = 4096


def language_modeling(
    seed: int = 0,
    samples: int = 6000,
    vocab_size: int = 64,
    sequence_length: int = 64,
    branching: int = 4,
) -> Dataset:
    if vocab_size > MAX_MARKOV_VOCAB:
        raise ValueError(
            f"the Markov chain keeps a {vocab_size} x {vocab_size} transition table; use "
            f"vocab_size <= {MAX_MARKOV_VOCAB} (e.g. --param vocab_size=64) or a real text "
            "dataset"
        )
    rule, train, test = _streams(seed)
    probs, stationary, entropy_rate = markov_chain(rule, vocab_size, branching)
    cumulative = probs.cumsum(1)

    def draw(rng, n):
        seq = np.empty((n, sequence_length + 1), dtype="int32")
        seq[:, 0] = rng.choice(vocab_size, size=n, p=stationary)
        for step in range(1, sequence_length + 1):
            u = rng.uniform(size=(n, 1))
            seq[:, step] = np.minimum((u > cumulative[seq[:, step - 1]]).sum(1), vocab_size - 1)
        return seq[:, :-1], seq[:, 1:]

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 4, 1))
    return _synthetic(
        "language_modeling",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"vocab_size": vocab_size, "sequence_length": sequence_length},
        optimum={"perplexity": math.exp(entropy_rate)},
        params={
            "seed": seed,
            "samples": samples,
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
            "branching": branching,
        },
        truth={"transitions": probs, "stationary": stationary, "entropy_rate": entropy_rate},
    )


START = 1  # the decoder's start token; 0 is padding


def translation(
    seed: int = 0, samples: int = 5000, vocab_size: int = 32, sequence_length: int = 16
) -> Dataset:
    rule, train, test = _streams(seed)

    def draw(rng, n):
        source = rng.integers(2, vocab_size, size=(n, sequence_length)).astype("int32")
        target = source[:, ::-1].copy()
        decoder_in = np.concatenate([np.full((n, 1), START, "int32"), target[:, :-1]], axis=1)
        return {"source": source, "target": decoder_in}, target

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    return _synthetic(
        "translation",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "vocab_size": vocab_size,
            "source_length": sequence_length,
            "target_length": sequence_length,
        },
        optimum={"accuracy": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "vocab_size": vocab_size,
            "sequence_length": sequence_length,
        },
    )


# In-batch metrics depend on the batch size: the optimum is computed for the task's one.
RETRIEVAL_BATCH = TASKS["retrieval"].eval_batch_size


def retrieval(
    seed: int = 0,
    samples: int = 60000,
    num_users: int = 300,
    num_items: int = 200,
    rank: int = 8,
    sharpness: float = 3.0,
) -> Dataset:
    rule, train, test = _streams(seed)
    users = rule.normal(size=(num_users, rank)) / math.sqrt(rank)
    items = rule.normal(size=(num_items, rank)) / math.sqrt(rank)
    popularity = rule.normal(scale=0.5, size=num_items)
    logits = sharpness * users @ items.T + popularity
    p_item_given_user = np.exp(logits - logits.max(1, keepdims=True))
    p_item_given_user /= p_item_given_user.sum(1, keepdims=True)
    p_item = p_item_given_user.mean(0)  # users are drawn uniformly
    cumulative = p_item_given_user.cumsum(1)

    def draw(rng, n):
        u = rng.integers(0, num_users, size=n)
        i = np.minimum((rng.uniform(size=(n, 1)) > cumulative[u]).sum(1), num_items - 1)
        return {"user": u.astype("int32"), "item": i.astype("int32")}, i.astype("int32")

    num_test = max(samples // 5 // RETRIEVAL_BATCH, 1) * RETRIEVAL_BATCH
    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, num_test)
    # The optimum: rank each batch's candidates by log p(i | u) - log p(i).
    pmi = np.log(p_item_given_user) - np.log(p_item)
    hits = []
    for start in range(0, num_test, RETRIEVAL_BATCH):
        u = x_test["user"][start : start + RETRIEVAL_BATCH]
        i = x_test["item"][start : start + RETRIEVAL_BATCH]
        scores = pmi[u][:, i]
        relevant = i[:, None] == i[None, :]
        top = np.argsort(-scores, axis=1)[:, :10]
        hits.append(np.take_along_axis(relevant, top, 1).sum(1) / relevant.sum(1).clip(max=10))
    return _synthetic(
        "retrieval",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={"num_users": num_users, "num_items": num_items},
        optimum={"recall_at_10": float(np.concatenate(hits).mean())},
        params={
            "seed": seed,
            "samples": samples,
            "num_users": num_users,
            "num_items": num_items,
            "rank": rank,
            "sharpness": sharpness,
        },
        truth={"p_item_given_user": p_item_given_user},
    )


SHAPES = ("square", "disk", "frame")  # classes 1, 2, 3 of semantic_segmentation


def _shape_mask(kind: str, size: int, radius: float, cy: float, cx: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype("float32")
    dy, dx = np.abs(yy - cy), np.abs(xx - cx)
    if kind == "square":
        return (dy <= radius) & (dx <= radius)
    if kind == "disk":
        return dy * dy + dx * dx <= radius * radius
    square = (dy <= radius) & (dx <= radius)
    return square & ~((dy <= radius - 2) & (dx <= radius - 2))  # a frame 2 pixels wide


def semantic_segmentation(
    seed: int = 0,
    samples: int = 2000,
    image_size: int = 32,
    channels: int = 3,
    noise_std: float = 0.1,
) -> Dataset:
    """Two shapes a image, one in each half; their pixels are their class (1-3)."""
    if image_size < 30:  # two of the largest shapes (a fifth of the side) side by side
        from zoo.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"Synthetic segmentation images need a side of 30 pixels or more; received "
            f"image_size={image_size}.",
            "Use 32 (the default) or more.",
        )
    rule, train, test = _streams(seed)
    half = image_size // 2

    def draw(rng, n):
        x = rng.normal(scale=noise_std, size=(n, image_size, image_size, channels))
        y = np.zeros((n, image_size, image_size), "int32")
        for i in range(n):
            for left in (0, half):  # one shape in each half, apart
                kind = int(rng.integers(len(SHAPES)))
                radius = float(rng.uniform(image_size / 8, image_size / 5))
                cy = float(rng.uniform(radius + 1, image_size - radius - 2))
                cx = left + float(rng.uniform(radius + 1, half - radius - 2))
                mask = _shape_mask(SHAPES[kind], image_size, radius, cy, cx)
                y[i][mask] = kind + 1
                x[i][mask] += rng.uniform(0.6, 1.0)
        return x.astype("float32"), y

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    return _synthetic(
        "semantic_segmentation",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "input_shape": (image_size, image_size, channels),
            "num_classes": len(SHAPES) + 1,
        },
        optimum={"mean_iou": 1.0, "accuracy": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "image_size": image_size,
            "channels": channels,
            "noise_std": noise_std,
        },
    )


# The directions of video_classification's classes: (dy, dx) a frame.
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def video_classification(
    seed: int = 0,
    samples: int = 2000,
    frames: int = 8,
    image_size: int = 16,
    channels: int = 1,
    noise_std: float = 0.3,
    square: int = 3,
) -> Dataset:
    """A square moving one pixel a frame; its direction is the class."""
    rule, train, test = _streams(seed)
    travel = frames - 1
    if image_size < square + travel + 1:
        from zoo.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"A {image_size}-pixel frame cannot hold a {square}-pixel square moving "
            f"{travel} pixels; received image_size={image_size}, frames={frames}.",
            f"Use image_size >= {square + travel + 1}, or fewer frames.",
        )

    def draw(rng, n):
        y = rng.integers(0, len(DIRECTIONS), size=n).astype("int32")
        x = rng.normal(scale=noise_std, size=(n, frames, image_size, image_size, channels))
        for i in range(n):
            dy, dx = DIRECTIONS[y[i]]
            # a start from which the whole path stays inside the frame
            lo_y, hi_y = max(0, -dy * travel), image_size - square - max(0, dy * travel)
            lo_x, hi_x = max(0, -dx * travel), image_size - square - max(0, dx * travel)
            y0, x0 = int(rng.integers(lo_y, hi_y + 1)), int(rng.integers(lo_x, hi_x + 1))
            for t in range(frames):
                r, c = y0 + dy * t, x0 + dx * t
                x[i, t, r : r + square, c : c + square] += 1.0
        return x.astype("float32"), y

    x_train, y_train = draw(train, samples)
    x_test, y_test = draw(test, max(samples // 5, 1))
    return _synthetic(
        "video_classification",
        (x_train, y_train),
        (x_test, y_test),
        model_kwargs={
            "input_shape": (frames, image_size, image_size, channels),
            "num_classes": len(DIRECTIONS),
        },
        optimum={"accuracy": 1.0},
        params={
            "seed": seed,
            "samples": samples,
            "frames": frames,
            "image_size": image_size,
            "channels": channels,
            "noise_std": noise_std,
            "square": square,
        },
    )


GENERATORS = {
    "regression": regression,
    "image_classification": image_classification,
    "text_classification": text_classification,
    "rating_prediction": rating_prediction,
    "audio_classification": audio_classification,
    "forecasting": forecasting,
    "language_modeling": language_modeling,
    "translation": translation,
    "retrieval": retrieval,
    "semantic_segmentation": semantic_segmentation,
    "video_classification": video_classification,
}
