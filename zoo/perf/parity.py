"""Cross-backend parity: one model, the same weights and batches, one process per backend.

`run_parity` draws the batches here (NumPy only, no framework), runs
`python -m zoo.perf.parity_worker` once per backend (through `zoo.proc`) with
`KERAS_BACKEND` set (the first also saves the initial weights every other one loads), and
compares each backend's outputs, gradients, loss curve, metric and throughput with the
first's. The tolerances come from the compute dtype's machine epsilon; docs/parity.md
derives them. A parity suite appends one record per model (`zoo.results`, kind "parity").

The parity suite kind is this module: its parse (`suite_requests`: the suite file's cases,
read by `zoo.perf.suite`, as requests), run (`run_suite`), summary (`summarize`: a row per
backend in eps) and the Markdown table beside its results (`write_markdown`); the rich
table of `zoo parity` is its view (`zoo.cli.views.parity`), laid out from `summarize`.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zoo import io, proc, registry
from zoo.choices import BACKENDS, PRECISIONS, check_choice, check_positive, not_installed
from zoo.errors import InvalidArgumentError
from zoo.record import stamp
from zoo.results import ResultsFile
from zoo.spec import ModelSpec

EPS32 = 2.0**-23
# Machine epsilon of the compute dtype of each precision policy.
COMPUTE_EPS = {"float32": 2.0**-23, "mixed_bfloat16": 2.0**-7, "mixed_float16": 2.0**-10}
# Tolerance = A * eps32 (float32 accumulation) + B * eps_c (rounding to the compute dtype);
# docs/parity.md derives each number. Decided before any result; never tuned.
FORWARD_A, GRADIENT_A, ROUNDING_B = 1024, 2048, 8
ADAM_FACTOR = 2  # m / sqrt(v) doubles a relative gradient error
TINY = float(np.finfo(np.float32).tiny)
DEFAULT_STEPS, DEFAULT_BATCH = 20, 32


def tolerances(precision: str) -> dict[str, float]:
    """The relative tolerances of a precision: forward (and step-1 loss), gradient, and
    the loss curve's growth per step (the tolerance at step t is forward + t * growth)."""
    eps_c = COMPUTE_EPS[precision]
    forward = FORWARD_A * EPS32 + ROUNDING_B * eps_c
    gradient = GRADIENT_A * EPS32 + ROUNDING_B * eps_c
    return {"forward": forward, "gradient": gradient, "curve_per_step": ADAM_FACTOR * gradient}


# An entry of a parity run is a backend, or BACKEND:DEVICE to place it (`jax:gpu` against
# `jax:cpu`: the same backend on two devices).
ENTRY_DEVICES = ("cpu", "gpu")


def split_entry(entry: str) -> tuple[str, str | None]:
    """("jax", "gpu") of "jax:gpu"; ("jax", None) of "jax" (the backend's own choice)."""
    backend, _, device = entry.partition(":")
    return backend, device or None


def entry_file(entry: str) -> str:
    """The stem of an entry's arrays in the run's folder ("jax-gpu")."""
    return entry.replace(":", "-")


def installed(backend: str) -> bool:
    """Whether the backend's package can be imported (checked without importing it); an
    entry's device is left aside."""
    import importlib.util

    return importlib.util.find_spec(split_entry(backend)[0]) is not None


def default_backends() -> list[str]:
    """The installed backends among tensorflow, jax and torch, in that order."""
    return [b for b in BACKENDS if installed(b)]


def not_installed_reason(backend: str) -> str:
    return not_installed(backend)


@dataclasses.dataclass(frozen=True)
class Request:
    """A checked parity request."""

    model: str
    backends: tuple[str, ...]
    steps: int = DEFAULT_STEPS
    precision: str = "float32"
    batch_size: int = DEFAULT_BATCH
    params: tuple = ()  # sorted (name, value) hyper-parameters, dropout overrides included
    dropout_off: tuple[str, ...] = ()  # the hyper-parameters set to 0.0


def check_request(
    model: str,
    backends: list[str] | None = None,
    steps: int = DEFAULT_STEPS,
    precision: str = "float32",
    batch_size: int | None = None,
    params: dict[str, Any] | None = None,
    small: bool = False,
) -> Request:
    """Checks a request before anything runs.

    Raises:
        UnknownModelError: no such model.
        InvalidArgumentError: an unknown backend or precision, steps or batch not positive,
            an unknown hyper-parameter or a value the factory rejects, or no backend at all.
    """
    spec = registry.get_spec(model)
    backends = list(dict.fromkeys(backends if backends is not None else default_backends()))
    if not backends:
        raise InvalidArgumentError(
            "No Keras backend is installed.",
            "pip install tensorflow (a dependency of keras-zoo), or pip install 'keras-zoo[jax]'.",
        )
    for b in backends:
        backend, device = split_entry(b)
        check_choice("backend", backend, BACKENDS)
        if device is not None and device not in ENTRY_DEVICES:
            raise InvalidArgumentError(
                f"Unknown device {device!r} in {b!r}. Allowed: cpu, gpu.",
                "Write BACKEND:DEVICE, e.g. --backends jax:cpu,jax:gpu.",
            )
    check_choice("precision", precision, PRECISIONS)
    check_positive("steps", steps)
    batch_size = batch_size if batch_size is not None else min(spec.recipe.batch_size, 32)
    check_positive("batch_size", batch_size)
    kwargs = {**(dict(spec.small) if small else {}), **(params or {})}
    registry.check_overrides(spec, kwargs)
    dropout_off = tuple(k for k in spec.defaults if "dropout" in k and kwargs.get(k, 1) != 0.0)
    kwargs.update({k: 0.0 for k in dropout_off})
    if params:  # built once here, so a value the factory rejects fails before any backend
        registry.create_model(model, **kwargs)
    return Request(
        model, tuple(backends), steps, precision, batch_size, tuple(sorted(kwargs.items())),
        dropout_off,
    )  # fmt: skip


def write_batches(req: Request, folder: Path) -> dict[str, Any]:
    """Draws `steps` training batches and one evaluation batch of the task's synthetic
    data into folder/batches.npz; returns the model's keyword arguments (completed with
    the sizes the data implies) and the data's optimum."""
    from zoo import data as zdata

    spec = registry.get_spec(req.model)
    kwargs, b, n = dict(req.params), req.batch_size, req.steps
    data = zdata.load(spec.task, samples=max(n * b, 256), hints={**spec.defaults, **kwargs})
    kwargs = {**{k: v for k, v in data.model_kwargs.items() if k in spec.defaults}, **kwargs}
    train = np.arange(n * b) % len(data.y_train)
    test = np.arange(b) % len(data.y_test)
    arrays = {"train_y": data.y_train[train].reshape(n, b, *data.y_train.shape[1:])}
    arrays["eval_y"] = data.y_test[test]
    for key, x_train, x_test in _inputs(data):
        arrays[f"train_x{key}"] = x_train[train].reshape(n, b, *x_train.shape[1:])
        arrays[f"eval_x{key}"] = x_test[test]
    np.savez(folder / "batches.npz", **arrays)
    return {"model_kwargs": kwargs, "optimum": dict(data.optimum or {})}


def _inputs(data) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(key suffix, train, test) per input: "" for one array, "/name" per dict entry."""
    if isinstance(data.x_train, dict):
        return [(f"/{k}", data.x_train[k], data.x_test[k]) for k in data.x_train]
    return [("", data.x_train, data.x_test)]


def _spawn(entry: str, job: dict, timeout_s: float) -> dict[str, Any]:
    """One entry's worker: its record, or why there is none. A `cpu` entry hides the GPUs
    from every backend (CUDA_VISIBLE_DEVICES, and JAX_PLATFORMS for JAX); a `gpu` entry
    is refused by the worker where its backend sees none."""
    backend, device = split_entry(entry)
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": backend}
    if device == "cpu":
        env.update(CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    job = {**job, "backend": entry, "file": entry_file(entry), "device": device}
    return proc.run_module("zoo.perf.parity_worker", job, timeout_s=timeout_s, env=env)


def run_parity(
    req: Request,
    *,
    timeout_s: float = 600,
    perturb: str | None = None,
    on_backend: Callable[[str, dict], None] | None = None,
) -> dict[str, Any]:
    """Runs every backend of a checked request and compares it with the first.

    Args:
        perturb: a test hook: the path of one trainable tensor (`layer/variable`) that
            every backend after the first perturbs after loading the shared weights.
        on_backend: called with each backend's raw result as it finishes.

    Returns:
        The report: the request, the tolerances, and one row per backend.
    """
    spec = registry.get_spec(req.model)
    with tempfile.TemporaryDirectory(prefix="zoo-parity-") as tmp:
        folder = Path(tmp)
        setup = write_batches(req, folder)
        job = {
            "folder": str(folder), "model": req.model, "model_kwargs": setup["model_kwargs"],
            "precision": req.precision, "optimizer": spec.recipe.optimizer,
            "learning_rate": spec.recipe.learning_rate,
        }  # fmt: skip
        results = _run_backends(req, job, timeout_s, perturb, on_backend)
        rows = compare_results(req, results, folder)
    return _report(req, spec, setup, rows)


def _run_backends(req, job, timeout_s, perturb, on_backend) -> dict[str, dict]:
    """Each backend in turn; the first that runs saves the initial weights."""
    results: dict[str, dict] = {}
    setup_done = False
    for backend in req.backends:
        if not installed(backend):
            result = {"status": "skipped", "reason": not_installed_reason(backend)}
        else:
            hook = perturb if setup_done else None
            result = _spawn(backend, {**job, "setup": not setup_done, "perturb": hook}, timeout_s)
            setup_done = setup_done or (Path(job["folder"]) / "init.weights.h5").is_file()
        results[backend] = result
        if on_backend:
            on_backend(backend, result)
    return results


def _report(req: Request, spec: ModelSpec, setup: dict, rows: list[dict]) -> dict[str, Any]:
    from zoo import tasks

    headline = tasks.get(spec.task).epoch_headline
    # Equal only where something was compared: a reference alone proves nothing.
    verdicts = [r["verdict"] for r in rows if r["status"] == "ok" and r["verdict"] != "reference"]
    return {
        "model": req.model, "family": spec.family, "task": spec.task,
        "backends": list(req.backends), "steps": req.steps, "precision": req.precision,
        "batch_size": req.batch_size, "model_kwargs": dict(req.params),
        "dropout_off": list(req.dropout_off), "optimizer": spec.recipe.optimizer,
        "learning_rate": spec.recipe.learning_rate, "metric": headline,
        "optimum": setup["optimum"].get(headline), "tolerance": tolerances(req.precision),
        "equal": bool(verdicts) and all(v == "equal" for v in verdicts),
        "env": next((r["env"] for r in rows if r.get("env")), {}),
        "rows": rows,
    }  # fmt: skip


# ---- the comparison ----


def compare_results(req: Request, results: dict[str, dict], folder: Path) -> list[dict]:
    """One row per backend: the first that ran is the reference, the others are compared
    with it (a failed or skipped backend keeps its status and reason)."""
    tol = tolerances(req.precision)
    ok = [b for b in req.backends if results[b].get("status") == "ok"]
    ref = ok[0] if ok else None
    arrays = {b: dict(np.load(folder / f"{entry_file(b)}.npz")) for b in ok}
    rows = []
    for backend in req.backends:
        result = results[backend]
        row = {"backend": backend, "status": result.get("status", "failed")}
        if row["status"] != "ok":
            rows.append({**row, "reason": result.get("reason"), "verdict": row["status"]})
            continue
        row.update(_own(result))
        if backend == ref:
            row["verdict"], row["detail"] = "reference", ""
        else:
            try:
                row.update(_differences(results[ref], result, arrays[ref], arrays[backend], tol))
            except ValueError as e:  # not comparable: another set of weights
                row.update(status="failed", verdict="failed", reason=str(e))
        rows.append(row)
    return rows


def _own(result: dict) -> dict[str, Any]:
    """What a backend measured on its own: metric, throughput and what really ran."""
    keys = ("metric", "samples_per_s", "loss_first", "loss_final", "jit", "env")
    return {k: result.get(k) for k in keys}


def _rel(diff: float, scale: float) -> float:
    return float(diff) / max(float(scale), TINY)


def _differences(ref: dict, new: dict, a: dict, b: dict, tol: dict) -> dict[str, Any]:
    """The differences of one backend from the reference, and its verdict."""
    fwd_abs = float(np.max(np.abs(a["forward"] - b["forward"]))) if a["forward"].size else 0.0
    fwd_rel = _rel(fwd_abs, np.max(np.abs(a["forward"]), initial=0.0))
    loss_abs = abs(ref["losses_sgd"][0] - new["losses_sgd"][0])
    grads = _gradients(
        ref["weights"], a, by_path(ref["weights"], new["weights"], b), tol["gradient"]
    )
    curve = _curve(ref["losses"], new["losses"], tol)
    row = {
        "forward_max_abs": fwd_abs, "forward_max_rel": fwd_rel,
        "loss_step1_abs": loss_abs, "loss_step1_rel": _rel(loss_abs, abs(ref["losses_sgd"][0])),
        **grads, **curve,
    }  # fmt: skip
    return {**row, **_verdict(row, tol)}


def by_path(ref_paths: list[str], paths: list[str], arrays: dict) -> dict:
    """A backend's weight and gradient arrays in the reference's order of trainable
    weights, matched by path (keras-hub models list them in another order on another
    backend; the weights themselves are shared through a weights file, by layer).

    Raises:
        ValueError: the backends name different sets of trainable weights.
    """
    if paths == ref_paths:
        return arrays
    index = {p: i for i, p in enumerate(paths)}
    if sorted(index) != sorted(ref_paths) or len(index) != len(paths):
        missing = sorted(set(ref_paths) ^ set(index))[:3]
        raise ValueError(f"the backends' trainable weights differ: {missing}")
    out = dict(arrays)
    for i, path in enumerate(ref_paths):
        out[f"grad_{i}"], out[f"weight_{i}"] = (
            arrays[f"{k}_{index[path]}"] for k in ("grad", "weight")
        )
    return out


def _gradients(paths: list[str], a: dict, b: dict, tolerance: float) -> dict[str, Any]:
    """Per trainable tensor: max |Δg|, relative to its layer's largest gradient, and the
    first and worst tensor beyond the tolerance (plus the SGD trick's quantisation floor)."""
    per, first, worst, worst_ratio = [], None, None, -1.0
    scales = _layer_scales(paths, a)
    for i, path in enumerate(paths):
        ga, gb, w = a[f"grad_{i}"], b[f"grad_{i}"], a[f"weight_{i}"]
        scale = scales[path.rpartition("/")[0]]
        diff = float(np.max(np.abs(ga - gb), initial=0.0))
        w_max = float(np.max(np.abs(w), initial=0.0))
        tol = tolerance + _rel(EPS32 * (w_max + scale), scale)
        rel = _rel(diff, scale)
        per.append({"weight": path, "max_abs": diff, "max_rel": rel, "tolerance": tol})
        if rel > tol and first is None:
            first = path
        if rel / tol > worst_ratio:
            worst, worst_ratio = i, rel / tol
    top = per[worst] if worst is not None else {}
    return {
        "gradients": per, "gradient_first_exceeding": first,
        "gradient_worst": top.get("weight"), "gradient_worst_abs": top.get("max_abs"),
        "gradient_worst_rel": top.get("max_rel"),
    }  # fmt: skip


def _layer_scales(paths: list[str], a: dict) -> dict[str, float]:
    """The largest reference gradient of each layer: the scale its tensors' differences
    are measured against. Rounding is relative to a reduction's terms, not its result; a
    tensor whose gradient cancels to ~0 (an attention key bias: softmax ignores a shift
    shared by all keys) is measured against its layer's largest gradient instead of its
    own rounding noise."""
    scales: dict[str, float] = {}
    for i, path in enumerate(paths):
        layer = path.rpartition("/")[0]
        top = float(np.max(np.abs(a[f"grad_{i}"]), initial=0.0))
        scales[layer] = max(scales.get(layer, 0.0), top)
    return scales


def _curve(ref: list[float], new: list[float], tol: dict) -> dict[str, Any]:
    """The loss curves' relative difference per step; the first step beyond tolerance."""
    rel = [_rel(abs(x - y), abs(x)) for x, y in zip(ref, new, strict=True)]
    first = next(
        (t for t, r in enumerate(rel, 1) if r > tol["forward"] + t * tol["curve_per_step"]),
        None,
    )
    return {
        "curve_rel": rel, "curve_max_rel": max(rel), "curve_final_rel": rel[-1],
        "curve_first_step": first,
    }  # fmt: skip


def _verdict(row: dict, tol: dict) -> dict[str, str]:
    """'equal', or 'diverges' naming what left its tolerance first."""
    reasons = []
    if not row["forward_max_rel"] <= tol["forward"]:
        reasons.append("forward outputs")
    if not row["loss_step1_rel"] <= tol["forward"]:
        reasons.append("step-1 loss")
    if row["gradient_first_exceeding"]:
        reasons.append(f"gradients from {row['gradient_first_exceeding']}")
    if row["curve_first_step"]:
        reasons.append(f"loss curve from step {row['curve_first_step']}")
    return {"verdict": "diverges" if reasons else "equal", "detail": "; ".join(reasons)}


# ---- the parity suite ----


def suite_requests(suite, models: str | None = None) -> list[Request]:
    """The suite's cases as parity requests: one per model and setting, the cases'
    backends gathered (in order), each model built with its spec's `small` overrides."""
    grouped: dict[tuple, list[str]] = {}
    for c in suite.select(models):  # raises InvalidArgumentError when none matches
        grouped.setdefault((c.model, c.precision, c.batch_size, c.params), []).append(c.backend)
    return [
        check_request(m, b, suite.steps, p, batch, dict(params), small=True)
        for (m, p, batch, params), b in grouped.items()
    ]


def run_suite(
    suite,
    output: str | Path,
    *,
    models: str | None = None,
    resume: bool = False,
    on_result: Callable[[int, int, Request, dict], None] | None = None,
    shard: Any = None,
    on_start: Callable[[int, int, Request], None] | None = None,
) -> list[dict[str, Any]]:
    """Runs `zoo parity` on every model of a parity suite (or of `shard`'s part of its
    models: `zoo.perf.shard`), a record per model appended to
    `output` (JSON lines, kind "parity"; resumable), and writes the Markdown table beside
    it.

    Raises:
        OutputError: `output` exists and `resume` is off.
    """
    output, requests = Path(output), suite_requests(suite, models)
    requests = shard.take(requests) if shard is not None else requests
    results = ResultsFile(output)
    records = results.resume(resume, key=lambda r: r["model"], finished=("ok",))
    todo = [r for r in requests if not results.done(r.model)]
    for n, req in enumerate(todo, 1):
        if on_start:
            on_start(n, len(todo), req)
        record = {"suite": suite.name, **_suite_record(req, suite.timeout_s)}
        if shard is not None:
            record["shard"] = shard.to_dict(len(requests))
        record = stamp(record, "parity")
        results.append(record)
        records.append(record)
        if on_result:
            on_result(n, len(todo), req, record)
    write_markdown(output, records)
    return records


def _suite_record(req: Request, timeout_s: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        report = run_parity(req, timeout_s=timeout_s)
    except InvalidArgumentError as e:  # e.g. data the model's size cannot have
        return {"model": req.model, "status": "failed", "reason": str(e)}
    return {"status": "ok", **report, "wall_s": time.perf_counter() - t0}


# ---- the summary and its tables ----

# The differences of a backend from the reference that the tables read in eps.
EPS_FIELDS = (
    "forward_max_abs", "forward_max_rel", "loss_step1_rel", "gradient_worst_rel",
    "curve_max_rel", "curve_final_rel",
)  # fmt: skip
# What a summary row carries over from the report's row as it is.
SUMMARY_FIELDS = (
    "backend", "status", "reason", "verdict", "detail", "gradient_worst", "metric",
    "samples_per_s",
)  # fmt: skip


def summarize(report: dict) -> list[dict[str, Any]]:
    """One row per backend of a parity report (`run_parity`, or a parity suite's record):
    each difference in multiples of the compute dtype's eps (`{field}_eps`, None where not
    measured), the verdict with what decided it, and what the backend measured; the
    tables of `zoo parity`, of the suite and beside its results are laid out from these."""
    eps = COMPUTE_EPS[report["precision"]]
    rows = []
    for r in report["rows"]:
        row = {k: r[k] for k in SUMMARY_FIELDS if k in r}
        row |= {f"{k}_eps": None if r.get(k) is None else r[k] / eps for k in EPS_FIELDS}
        rows.append(row)
    return rows


def markdown_rows(records: list[dict]) -> list[list[str]]:
    """One row per model and backend: differences in multiples of the precision's eps."""
    out = []
    for rec in records:
        if rec.get("status") != "ok":
            out.append([rec["model"], "-", rec.get("status", "?"), rec.get("reason", "")])
            continue
        for row in summarize(rec):
            out.append([rec["model"], row["backend"], *_cells(row, rec)])
    return out


def _cells(row: dict, rec: dict) -> list[str]:
    from zoo.formatting import format_number

    def e(key):
        value = row[f"{key}_eps"]
        return "-" if value is None else format_number(value, "number", 1)

    if row["status"] != "ok":
        return [row["status"], row.get("reason") or ""]
    metric = format_number(row.get("metric"), "value", 4)
    optimum = format_number(rec.get("optimum"), "value", 4)
    grad = e("gradient_worst_rel") + (
        f" ({row['gradient_worst']})" if row.get("gradient_worst") else ""
    )
    verdict = row["verdict"] + (f": {row['detail']}" if row.get("detail") else "")
    return [
        verdict, e("forward_max_rel"), e("loss_step1_rel"), grad, e("curve_max_rel"),
        e("curve_final_rel"), f"{metric} / {optimum}",
        format_number(row.get("samples_per_s"), "throughput", 0),
    ]  # fmt: skip


MARKDOWN_HEAD = [
    "model", "backend", "verdict", "forward rel (eps)", "step-1 loss rel (eps)",
    "worst gradient rel (eps)", "loss curve max rel (eps)", "final rel (eps)",
    "metric / optimum", "train samples/s",
]  # fmt: skip


def table(records: list[dict], title: str | None = None):
    """The parity suite's table as a `zoo.table.Table` (the report page's): one row per
    model and backend, each difference in multiples of the precision's eps."""
    from zoo.table import Column, Table

    rows = []
    for rec in records:
        if rec.get("status") != "ok":
            rows.append({"model": rec.get("model"), "verdict": rec.get("status", "?")})
            continue
        for row in summarize(rec):
            verdict = row["verdict"] + (f": {row['detail']}" if row.get("detail") else "")
            rows.append({**row, "model": rec["model"], "verdict": verdict})
    eps = [
        ("forward rel (eps)", "forward_max_rel_eps"),
        ("step-1 loss rel (eps)", "loss_step1_rel_eps"),
        ("worst gradient rel (eps)", "gradient_worst_rel_eps"),
        ("loss curve max rel (eps)", "curve_max_rel_eps"),
    ]
    columns = [Column("model"), Column("backend"), Column("verdict", "text")]
    columns += [Column(header, "number", key) for header, key in eps]
    columns += [Column("train samples/s", "throughput", "samples_per_s")]
    return Table(title, columns, rows)


def write_markdown(output: Path, records: list[dict]) -> Path:
    """The suite's table beside its JSON lines (.md), with the environment it ran in."""
    lines = ["| " + " | ".join(MARKDOWN_HEAD) + " |", "|" + "---|" * len(MARKDOWN_HEAD)]
    for cells in markdown_rows(records):
        cells = cells + [""] * (len(MARKDOWN_HEAD) - len(cells))
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += ["", *_environment_lines(records)]
    path = output.with_suffix(".md")
    with io.atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _environment_lines(records: list[dict]) -> list[str]:
    """Versions and machine, from the first record that ran each backend."""
    seen: dict[str, dict] = {}
    for rec in records:
        for row in rec.get("rows", []):
            if row.get("env") and row["backend"] not in seen:
                seen[row["backend"]] = row["env"]
    lines = []
    for backend, env in seen.items():
        fields = ", ".join(f"{k} {v}" for k, v in env.items() if v is not None)
        lines.append(f"- {backend}: {fields}")
    return lines
