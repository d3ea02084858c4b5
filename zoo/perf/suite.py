"""Benchmark suites: TOML files of cases (model x mode x precision x batch x device x backend
x quantize): the suite file of every kind, and the parse of the profile kind.

`load_suite` reads a suite shipped with the zoo (`zoo/perf/suites/*.toml`, package data) or
any path, checks every field against the zoo's vocabulary (`zoo.choices`) and the registry,
and expands its axes into `Case`s, which `zoo.perf.runner` runs. The other kinds take the
file as read here: a parity suite's cases become `zoo parity` requests
(`zoo.perf.parity.suite_requests`); a target suite's [[case]] entries are parsed by
`zoo.perf.target.parse_case`, which is all of that kind.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from zoo import registry
from zoo.choices import (
    BACKENDS,
    FIT_MODES,
    MODES,
    PRECISIONS,
    QUANTIZE_MODES,
    REFERENCE_MODES,
    SUITE_KINDS,
    check_positive,
)
from zoo.errors import InvalidArgumentError, SuiteError
from zoo.perf import target
from zoo.spec import ModelSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The suites shipped with the zoo: package data of `zoo.perf`, so they work from a wheel.
SUITES_DIR = Path(__file__).resolve().parent / "suites"
SUITE_KEYS = {
    "name",
    "description",
    "baseline",
    "baseline_precision",
    "steps",
    "timeout_s",
    "repeat",
    "kind",
}
AXES = {"modes", "precisions", "devices", "batch_sizes", "backends", "quantize", "replicas"}
DEFAULT_KEYS = AXES | {"models", "exclude", "steps_per_execution", "dataset"}
CASE_KEYS = AXES | {"model", "params", "steps_per_execution", "dataset"}
# [suite] numbers and their defaults.
SUITE_NUMBERS = {"steps": 10, "timeout_s": 600, "repeat": 1}


def case_key(
    model: str,
    mode: str,
    precision: str,
    batch_size: int,
    device: str,
    params: dict | tuple | None = None,
    steps_per_execution: int = 1,
    dataset: str | None = None,
    backend: str = "tensorflow",
    quantize: str = "none",
    replicas: int = 1,
) -> str:
    """The one spelling of a case's identity: the `case` field of a results file (a
    setting at its default adds nothing, so older files keep their keys)."""
    extra = json.dumps(dict(params), sort_keys=True) if params else ""
    parts = [model, mode, precision, str(batch_size), device, extra]
    if steps_per_execution != 1:
        parts.append(f"spe={steps_per_execution}")
    if dataset:
        parts.append(f"data={dataset}")
    if backend != "tensorflow":
        parts.append(backend)
    if quantize != "none":
        parts.append(f"q={quantize}")
    if replicas != 1:
        parts.append(f"x{replicas}")
    return "|".join(parts)


@dataclasses.dataclass(frozen=True)
class Case:
    model: str
    mode: str
    precision: str
    batch_size: int
    device: str
    params: tuple = ()  # sorted (key, value) pairs of model hyper-parameters
    steps_per_execution: int = 1  # modes fit and pipeline
    dataset: str | None = None  # mode pipeline: the prepared real dataset it reads
    backend: str = "tensorflow"  # the Keras backend the case's process runs
    # "none", or a Keras quantization mode: the case then times inference only, the
    # quantized model against the float32 one (zoo.perf.inference.quantized_case)
    quantize: str = "none"
    # Devices the global batch is split over (keras.distribution's data_parallel, JAX):
    # 1 is one device; on a CPU, N splits it into N (XLA's host platform device count).
    replicas: int = 1

    @property
    def key(self) -> str:
        return case_key(**dataclasses.asdict(self))

    def label(self) -> str:
        spe = f" spe{self.steps_per_execution}" if self.steps_per_execution != 1 else ""
        backend = f" {self.backend}" if self.backend != "tensorflow" else ""
        quantized = f" {self.quantize} inference" if self.quantize != "none" else ""
        replicas = f" x{self.replicas}" if self.replicas != 1 else ""
        return (
            f"{self.model} {self.mode}{spe} {self.precision}{quantized} b{self.batch_size} "
            f"{self.device}{replicas}{backend}"
        )


@dataclasses.dataclass
class Suite:
    name: str
    description: str
    baseline: str
    baseline_precision: str | None
    steps: int
    timeout_s: float
    repeat: int
    cases: list  # of Case; of zoo.perf.target.TargetCase in a suite of kind "target"
    source: str
    # "parity": each model runs `zoo parity` (zoo.perf.parity); "target": zoo.perf.target
    kind: str = "profile"

    def select(self, models: str | None) -> list:
        """The cases whose model matches `models` (`filter_cases`; None: every case).

        Raises:
            InvalidArgumentError: no case matches.
        """
        cases = filter_cases(self.cases, models)
        if not cases:
            raise InvalidArgumentError(f"No case of suite {self.name!r} matches models={models!r}.")
        return cases


@dataclasses.dataclass
class _Source:
    """A suite file being read: its name in messages and its text, to point at lines."""

    name: str
    text: str
    kind: str | None = None  # the suite's kind, once its [suite] table is read

    def at(self, key: str, model: str | None = None) -> str:
        """'<source>, line N' of the first `key = ...` line (and the model, if given)."""
        line = "the file"
        for n, text in enumerate(self.text.splitlines(), 1):
            if re.match(rf"\s*{re.escape(key)}\s*=", text):
                line = f"line {n}"
                break
        return f"{self.name}, {line}" + (f" ({model})" if model else "")

    def error(self, key: str, message: str, model: str | None = None) -> SuiteError:
        return SuiteError(f"{self.at(key, model)}: {message}")

    def positive(self, key: str, value, message: str, kind: type = int) -> None:
        """The shared positive-number check, its error pointing at the suite's line."""
        try:
            check_positive(key, value, kind)
        except InvalidArgumentError:
            raise self.error(key, f"{message}; received {value!r}.") from None


# Axis -> (what one value is called, the allowed values); devices are checked by pattern.
CHOICES = {
    "backends": ("backend", BACKENDS),
    "modes": ("mode", MODES),
    "precisions": ("precision", PRECISIONS),
    "quantize": ("quantization", ("none", *QUANTIZE_MODES)),
}
DEVICE_PATTERN = r"cpu|gpu(:\d+)?|auto"


def load_suite(ref: str | Path) -> Suite:
    """Reads a suite: a name shipped with the zoo (quick, full, xla, precision) or a path.

    Raises:
        SuiteError: the file is missing or not TOML, or has an unknown field, model, mode,
            precision or device (the message names the line).
    """
    path = suite_path(ref)
    src, data = _parse(path, str(ref) if path.parent == SUITES_DIR else str(path))
    head, defaults, entries = _tables(data, src)
    src.kind = head.get("kind")
    if head.get("kind") == "target":
        cases = [target.parse_case(entry, defaults, src) for entry in entries]
    else:
        cases = [case for entry in entries for case in _expand(entry, defaults, src)]
    return _suite(head, path.stem, cases, src)


def suite_path(ref: str | Path) -> Path:
    """The file of a suite: `ref` itself, or the shipped suite of that name."""
    path = Path(ref)
    if path.suffix or path.exists():
        return path
    path = SUITES_DIR / f"{ref}.toml"
    if not path.is_file():
        names = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
        raise SuiteError(
            f"Unknown suite {str(ref)!r}. Shipped: {', '.join(names)}; "
            "or pass the path of a .toml file."
        )
    return path


def _parse(path: Path, name: str) -> tuple[_Source, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SuiteError(f"Cannot read suite {path}: {e.strerror}.") from None
    try:
        return _Source(name, text), tomllib.loads(text)  # data, never executed
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{name}: not valid TOML: {e}.") from None


def _tables(data: dict, src: _Source) -> tuple[dict, dict, list[dict]]:
    """[suite], [defaults] and the [[case]] entries (plus the `models` of [defaults])."""
    extra_tables = sorted(set(data) - {"suite", "defaults", "case"})
    if extra_tables:
        raise SuiteError(
            f"{src.name}: unknown table [{extra_tables[0]}]. "
            "Allowed: [suite], [defaults], [[case]]."
        )
    head, defaults = data.get("suite", {}), data.get("defaults", {})
    _known(head, SUITE_KEYS, "[suite]", src)
    kind = head.get("kind", "profile")
    if kind not in SUITE_KINDS:
        raise src.error("kind", f"unknown kind {kind!r}. Allowed: {', '.join(SUITE_KINDS)}.")
    case_keys = target.CASE_KEYS if kind == "target" else CASE_KEYS
    default_keys = case_keys - {"model"} if kind == "target" else DEFAULT_KEYS
    _known(defaults, default_keys, "[defaults]", src)
    entries = list(data.get("case", []))
    for entry in entries:
        _known(entry, case_keys, "[[case]]", src)
        if "model" not in entry and not (kind == "target" and "preset" in entry):
            raise SuiteError(f"{src.name}: a [[case]] has no `model`.")
    if "models" in defaults:  # every registry model matching the pattern(s), minus excludes
        names = registry.list_models(defaults["models"], exclude=defaults.get("exclude", ()))
        entries = [{"model": n} for n in names] + entries
    if not entries:
        raise SuiteError(f"{src.name}: no cases: add [[case]] tables or `models` in [defaults].")
    return head, defaults, entries


def _known(table: dict, allowed: set, where: str, src: _Source) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        allowed_text = ", ".join(sorted(allowed))
        message = f"unknown field {extra[0]!r} in {where}. Allowed: {allowed_text}."
        raise src.error(extra[0], message)


def _axes(entry: dict, defaults: dict, spec: ModelSpec, src: _Source) -> dict[str, list]:
    """The entry's value lists per axis (its own, else [defaults], else the default)."""
    fallback = {
        "modes": ["graph"],
        "precisions": ["float32"],
        "devices": ["cpu"],
        "batch_sizes": [spec.recipe.batch_size],
        "backends": ["tensorflow"],
        "quantize": ["none"],
        "replicas": [1],
    }
    axes = {}
    for axis, default in fallback.items():
        value = entry.get(axis, defaults.get(axis, default))
        axes[axis] = value if isinstance(value, list) else [value]
        if not axes[axis]:
            raise SuiteError(f"{src.name}, {entry['model']}: `{axis}` is empty.")
    for axis, (kind, allowed) in CHOICES.items():
        for value in axes[axis]:
            if axis == "backends" and src.kind == "parity" and ":" in str(value):
                backend, _, device = str(value).partition(":")  # BACKEND:DEVICE (zoo parity)
                if backend in allowed and device in ("cpu", "gpu"):
                    continue
            if value not in allowed:
                message = f"unknown {kind} {value!r}. Allowed: {', '.join(allowed)}."
                raise src.error(axis, message)
    for d in axes["devices"]:
        if not re.fullmatch(DEVICE_PATTERN, str(d)):
            raise src.error("devices", f"unknown device {d!r}. Allowed: cpu, gpu, gpu:N, auto.")
    for b in axes["batch_sizes"]:
        src.positive("batch_sizes", b, "batch sizes are positive integers")
    for n in axes["replicas"]:
        src.positive("replicas", n, "replicas are positive integers (devices per case)")
    if any(n != 1 for n in axes["replicas"]) and axes["backends"] != ["jax"]:
        message = 'replicas over 1 run keras.distribution\'s data_parallel: backends = ["jax"].'
        raise src.error("replicas", message, entry["model"])
    refs = [m for m in axes["modes"] if m in REFERENCE_MODES]
    if refs and any(q != "none" for q in axes["quantize"]):
        message = f"the references ({refs[0]}) are not quantized: keep them to quantize = none."
        raise src.error("quantize", message, entry["model"])
    return axes


def _entry_settings(entry: dict, defaults: dict, spec: ModelSpec, modes: list, src: _Source):
    """The entry's checked params, steps_per_execution and dataset."""
    name = entry["model"]
    params = entry.get("params", {})
    try:
        registry.check_overrides(spec, params)
    except InvalidArgumentError as e:
        raise src.error("params", str(e)) from None
    spe = entry.get("steps_per_execution", defaults.get("steps_per_execution", 1))
    src.positive("steps_per_execution", spe, "steps_per_execution is a positive integer")
    dataset = entry.get("dataset", defaults.get("dataset"))
    if "pipeline" in modes and not dataset:
        message = "mode pipeline needs a `dataset` (a prepared real dataset, e.g. fashion_mnist)."
        raise src.error("modes", message, name)
    if dataset is not None and dataset not in spec_datasets(spec):
        allowed = ", ".join(spec_datasets(spec))
        raise src.error("dataset", f"unknown dataset {dataset!r}. Allowed: {allowed}.", name)
    if "ref_torch" in modes and name != "seed_cnn":
        message = "the PyTorch reference (ref_torch) is the seed's CNN: use it with model seed_cnn."
        raise src.error("modes", message, name)
    return tuple(sorted(params.items())), spe, dataset


def _expand(entry: dict, defaults: dict, src: _Source) -> list[Case]:
    """One [[case]] entry checked and expanded over its axes."""
    try:
        spec = registry.get_spec(entry["model"])
    except registry.UnknownModelError as e:
        raise src.error("model", str(e), repr(entry["model"])) from None
    axes = _axes(entry, defaults, spec, src)
    params, spe, dataset = _entry_settings(entry, defaults, spec, axes["modes"], src)
    return [
        Case(
            entry["model"],
            mode,
            precision,
            batch,
            device,
            params,
            spe if mode in FIT_MODES else 1,
            dataset if mode == "pipeline" else None,
            backend,
            quantize,
            replicas,
        )
        for mode, precision, batch, device, backend, quantize, replicas in itertools.product(
            *(axes[a] for a in PRODUCT_AXES)
        )
    ]


# The order of the axes in a suite's expansion (the last varies fastest).
PRODUCT_AXES = (
    "modes", "precisions", "batch_sizes", "devices", "backends", "quantize", "replicas",
)  # fmt: skip


def _suite(head: dict, stem: str, cases: list[Case], src: _Source) -> Suite:
    """The [suite] table checked, with the expanded cases."""
    baseline = head.get("baseline", "graph")
    if baseline not in MODES:
        message = f"unknown baseline mode {baseline!r}. Allowed: {', '.join(MODES)}."
        raise src.error("baseline", message)
    kind = head.get("kind", "profile")  # checked by _tables
    steps, timeout_s, repeat = (head.get(k, d) for k, d in SUITE_NUMBERS.items())
    for key, value in zip(SUITE_NUMBERS, (steps, timeout_s, repeat), strict=True):
        src.positive(key, value, f"`{key}` must be a positive number", float)
    return Suite(
        name=head.get("name", stem),
        description=head.get("description", ""),
        baseline=baseline,
        baseline_precision=head.get("baseline_precision"),
        steps=int(steps),
        timeout_s=float(timeout_s),
        repeat=int(repeat),
        cases=cases,
        source=src.name,
        kind=kind,
    )


def spec_datasets(spec: ModelSpec) -> tuple[str, ...]:
    """The real datasets of a model's task."""
    from zoo import tasks

    return tuple(d for d in tasks.get(spec.task).datasets if d != "synthetic")


def with_backends(cases: list[Case], backends: Iterable[str]) -> list[Case]:
    """Every case once per backend (replacing the suite's own backends).

    Raises:
        InvalidArgumentError: an unknown backend name.
    """
    backends = list(dict.fromkeys(backends))
    for b in backends:
        if b not in BACKENDS:
            raise InvalidArgumentError(
                f"Unknown backend {b!r}. Allowed: {', '.join(BACKENDS)} (comma-separated)."
            )
    unique = list(dict.fromkeys(dataclasses.replace(c, backend="tensorflow") for c in cases))
    return [dataclasses.replace(c, backend=b) for c in unique for b in backends]


def filter_cases(cases: list[Case], pattern: str | None) -> list[Case]:
    """Cases whose model matches an fnmatch pattern (comma-separated patterns allowed)."""
    if not pattern:
        return cases
    patterns = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.model, p) for p in patterns)]
