"""`evaluate`: a saved model's metrics on the test split of a dataset of its task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo import data as zdata
from zoo import registry, scoring, tasks
from zoo.choices import check_positive, check_seed
from zoo.errors import DataError, ModelFileError
from zoo.training.checkpoint import MODEL_FILE, load_run
from zoo.training.feed import feed
from zoo.training.results import EvalResult, dataset_record


def evaluate(
    path: str | Path,
    dataset: str | None = None,
    *,
    seed: int | None = None,
    samples: int | None = None,
    data_dir: str | None = None,
    batch_size: int = 256,
) -> EvalResult:
    """Evaluates a saved model on the test split of a dataset of its task.

    Args:
        path: a run folder written by `train(output=...)`, or a `.keras` file saved from a
            zoo model.
        dataset: the dataset (default: the one the run was trained on, else synthetic).
        seed, samples: regenerate synthetic data with these (default: the run's).
        data_dir: where TFDS keeps prepared datasets (default: the run's).
        batch_size: evaluation batch size.

    Raises:
        ModelFileError: the path holds no loadable zoo model.
        DataError: the dataset does not fit the model.
    """
    check_positive("batch_size", batch_size)
    net, spec, data = load_with_test_data(path, dataset, seed, samples, data_dir)
    task = tasks.get(spec.task)
    model_path = Path(path) / MODEL_FILE if Path(path).is_dir() else Path(path)
    net.compile(loss=task.build_loss(), metrics=task.build_metrics(net.outputs[0].shape[-1]))
    eval_batch = task.eval_batch_size or batch_size
    test = feed(data.x_test, data.y_test, eval_batch)
    metrics = net.evaluate(**test, return_dict=True, verbose=0)
    metrics.update(
        scoring.score(task, net, data.x_test, data.y_test, batch_size=eval_batch,
                      vocabulary=data.vocabulary)
    )  # fmt: skip
    return EvalResult(
        model=spec.name,
        path=str(model_path),
        dataset=dataset_record(data),
        metrics={k: float(v) for k, v in metrics.items()},
        optimum=data.optimum,
        num_examples=data.num_test,
    )


def load_with_test_data(
    path: str | Path,
    dataset: str | None = None,
    seed: int | None = None,
    samples: int | None = None,
    data_dir: str | None = None,
) -> tuple[Any, registry.ModelSpec, zdata.Dataset]:
    """A saved model, its registry entry and the dataset `evaluate` scores it on (the
    run's own by default), checked to fit the model. Export and quantization use it too.

    Raises:
        ModelFileError: the path holds no loadable zoo model.
        DataError: the dataset does not fit the model.
    """
    net, run = load_run(path)
    model_path = Path(path) / MODEL_FILE if Path(path).is_dir() else Path(path)
    spec = spec_of(net, run, model_path)
    task = tasks.get(spec.task)
    params, dataset = _data_params(run, dataset, seed, samples, data_dir)
    hints = {**spec.defaults, **_shape_hints(task, net)}
    data = zdata.load(task.name, dataset, hints=hints, **params)
    _check_inputs(net, data.x_test)
    _check_labels(task, net, data.y_test)
    return net, spec, data


def spec_of(net, run: dict[str, Any], model_path: Path) -> registry.ModelSpec:
    """The registry entry of the saved model (its task says what data it takes)."""
    name = run.get("model") or net.name
    try:
        return registry.get_spec(name)
    except registry.UnknownModelError:
        raise ModelFileError(
            f"{model_path} holds a model named {name!r}, which is not in the zoo, so its "
            "task is unknown.",
            "Evaluate a model saved by `zoo train --output`.",
        ) from None


def _data_params(run: dict[str, Any], dataset, seed, samples, data_dir) -> tuple[dict, str]:
    """The dataset's name and the parameters that load it: the run's own, where the
    dataset is the run's, with the caller's seed, samples and data_dir on top."""
    run_data = run.get("dataset", {})
    params = dict(run_data.get("params", {}))
    dataset = dataset or run_data.get("name", "synthetic")
    if dataset != run_data.get("name"):
        params = {}
    params["seed"] = check_seed(seed) if seed is not None else params.get("seed", 0)
    if samples is not None:
        params["samples"] = samples
    if data_dir is not None and dataset != "synthetic":
        params["data_dir"] = data_dir
    return params, dataset


def _shape_hints(task: tasks.Task, net) -> dict[str, Any]:
    """What a bare model file tells about the data it takes (for synthetic data)."""
    shape, out = tuple(net.inputs[0].shape[1:]), net.outputs[0].shape
    if task.name == "image_classification":
        return {"input_shape": shape, "num_classes": out[-1]}
    if task.name == "text_classification":
        return {"sequence_length": shape[0], "num_classes": out[-1]}
    if task.name == "language_modeling":
        return {"sequence_length": shape[0], "vocab_size": out[-1]}
    return {}


def _check_inputs(net, x) -> None:
    """Raises DataError when the data's shapes do not fit the model's inputs."""
    expected = {t.name: tuple(t.shape[1:]) for t in net.inputs}
    if isinstance(x, dict):
        given = {k: tuple(v.shape[1:]) for k, v in x.items()}
    else:
        given = {t.name: tuple(x.shape[1:]) for t in net.inputs[:1]}

    def fits(e, g):
        return len(e) == len(g) and all(a is None or a == b for a, b in zip(e, g, strict=True))

    if expected.keys() != given.keys() or not all(fits(expected[k], given[k]) for k in given):
        raise DataError(
            f"The dataset does not fit the model: the model takes inputs {expected}, "
            f"the data has {given}.",
            "Evaluate on the dataset the model was trained on.",
        )


def _check_labels(task: tasks.Task, net, y) -> None:
    """Raises DataError when a class label is outside the model's classes."""
    if task.loss != "sparse_categorical_crossentropy":
        return
    num_classes = net.outputs[0].shape[-1]
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(
            f"Labels range over {int(y.min())}..{int(y.max())} but the model has "
            f"{num_classes} classes.",
            "Evaluate on the dataset the model was trained on.",
        )
