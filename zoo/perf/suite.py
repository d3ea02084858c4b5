"""Benchmark suites: TOML files of cases (model x mode x precision x batch x device x backend).

`load_suite` reads a suite shipped with the zoo (`zoo/perf/suites/*.toml`, package data) or
any path, checks every field against the zoo's vocabulary (`zoo.choices`) and the registry,
and expands its axes into `Case`s; `zoo.perf.runner` runs them.
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
from zoo.choices import BACKENDS, MODES, PRECISIONS
from zoo.errors import InvalidArgumentError, SuiteError

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
}
AXES = {"modes", "precisions", "devices", "batch_sizes", "backends"}
DEFAULT_KEYS = AXES | {"models", "exclude", "steps_per_execution", "dataset"}
CASE_KEYS = AXES | {"model", "params", "steps_per_execution", "dataset"}


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

    @property
    def key(self) -> str:
        extra = json.dumps(dict(self.params), sort_keys=True) if self.params else ""
        parts = [self.model, self.mode, self.precision, str(self.batch_size), self.device, extra]
        if self.steps_per_execution != 1:
            parts.append(f"spe={self.steps_per_execution}")
        if self.dataset:
            parts.append(f"data={self.dataset}")
        if self.backend != "tensorflow":
            parts.append(self.backend)
        return "|".join(parts)

    def label(self) -> str:
        spe = f" spe{self.steps_per_execution}" if self.steps_per_execution != 1 else ""
        backend = f" {self.backend}" if self.backend != "tensorflow" else ""
        return (
            f"{self.model} {self.mode}{spe} {self.precision} b{self.batch_size} "
            f"{self.device}{backend}"
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
    cases: list[Case]
    source: str


def _line_of(text: str, key: str) -> str:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return f"line {n}"
    return "the file"


def _list(value, kind: str, where: str, source: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SuiteError(f"{source}, {where}: `{kind}` is empty.")
    return values


def load_suite(ref: str | Path) -> Suite:
    """Reads a suite: a name shipped with the zoo (quick, full, xla, precision) or a path.

    Raises:
        SuiteError: the file is missing or not TOML, or has an unknown field, model, mode,
            precision or device (the message names the line).
    """
    path = Path(ref)
    if not path.suffix and not path.exists():
        path = SUITES_DIR / f"{ref}.toml"
        if not path.is_file():
            names = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
            raise SuiteError(
                f"Unknown suite {str(ref)!r}. Shipped: {', '.join(names)}; "
                "or pass the path of a .toml file."
            )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SuiteError(f"Cannot read suite {path}: {e.strerror}.") from None
    source = str(ref) if path.parent == SUITES_DIR else str(path)
    try:
        data = tomllib.loads(text)  # data, never executed
    except tomllib.TOMLDecodeError as e:
        raise SuiteError(f"{source}: not valid TOML: {e}.") from None

    def unknown(table: dict, allowed: set, where: str):
        extra = sorted(set(table) - allowed)
        if extra:
            raise SuiteError(
                f"{source}, {_line_of(text, extra[0])}: unknown field "
                f"{extra[0]!r} in {where}. Allowed: {', '.join(sorted(allowed))}."
            )

    extra_tables = sorted(set(data) - {"suite", "defaults", "case"})
    if extra_tables:
        raise SuiteError(
            f"{source}: unknown table [{extra_tables[0]}]. Allowed: [suite], [defaults], [[case]]."
        )
    head = data.get("suite", {})
    defaults = data.get("defaults", {})
    unknown(head, SUITE_KEYS, "[suite]")
    unknown(defaults, DEFAULT_KEYS, "[defaults]")
    entries = list(data.get("case", []))
    for entry in entries:
        unknown(entry, CASE_KEYS, "[[case]]")
        if "model" not in entry:
            raise SuiteError(f"{source}: a [[case]] has no `model`.")
    if "models" in defaults:  # every registry model matching the pattern(s), minus excludes
        names = registry.list_models(defaults["models"], exclude=defaults.get("exclude", ()))
        entries = [{"model": n} for n in names] + entries
    if not entries:
        raise SuiteError(f"{source}: no cases: add [[case]] tables or `models` in [defaults].")

    cases: list[Case] = []
    for entry in entries:
        name = entry["model"]
        try:
            spec = registry.get_spec(name)
        except registry.UnknownModelError as e:
            raise SuiteError(f"{source}, {_line_of(text, 'model')} ({name!r}): {e}") from None
        axes = {
            k: _list(entry.get(k, defaults.get(k, d)), k, name, source)
            for k, d in (
                ("modes", ["graph"]),
                ("precisions", ["float32"]),
                ("devices", ["cpu"]),
                ("batch_sizes", [spec.recipe.batch_size]),
                ("backends", ["tensorflow"]),
            )
        }
        for b in axes["backends"]:
            if b not in BACKENDS:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'backends')}: unknown backend {b!r}. "
                    f"Allowed: {', '.join(BACKENDS)}."
                )
        for mode in axes["modes"]:
            if mode not in MODES:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'modes')}: unknown mode {mode!r}. "
                    f"Allowed: {', '.join(MODES)}."
                )
        for p in axes["precisions"]:
            if p not in PRECISIONS:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'precisions')}: unknown precision "
                    f"{p!r}. Allowed: {', '.join(PRECISIONS)}."
                )
        for d in axes["devices"]:
            if not re.fullmatch(r"cpu|gpu(:\d+)?|auto", str(d)):
                raise SuiteError(
                    f"{source}, {_line_of(text, 'devices')}: unknown device {d!r}. "
                    "Allowed: cpu, gpu, gpu:N, auto."
                )
        for b in axes["batch_sizes"]:
            if isinstance(b, bool) or not isinstance(b, int) or b < 1:
                raise SuiteError(
                    f"{source}, {_line_of(text, 'batch_sizes')}: batch sizes are "
                    f"positive integers; received {b!r}."
                )
        params = entry.get("params", {})
        try:
            registry.check_overrides(spec, params)
        except InvalidArgumentError as e:
            raise SuiteError(f"{source}, {_line_of(text, 'params')}: {e}") from None
        spe = entry.get("steps_per_execution", defaults.get("steps_per_execution", 1))
        if isinstance(spe, bool) or not isinstance(spe, int) or spe < 1:
            raise SuiteError(
                f"{source}, {_line_of(text, 'steps_per_execution')}: steps_per_execution is a "
                f"positive integer; received {spe!r}."
            )
        dataset = entry.get("dataset", defaults.get("dataset"))
        if "pipeline" in axes["modes"] and not dataset:
            raise SuiteError(
                f"{source}, {_line_of(text, 'modes')} ({name}): mode pipeline needs a "
                "`dataset` (a prepared real dataset, e.g. fashion_mnist)."
            )
        if dataset is not None and dataset not in spec_datasets(spec):
            raise SuiteError(
                f"{source}, {_line_of(text, 'dataset')} ({name}): unknown dataset "
                f"{dataset!r}. Allowed: {', '.join(spec_datasets(spec))}."
            )
        if "ref_torch" in axes["modes"] and name != "seed_cnn":
            raise SuiteError(
                f"{source}, {_line_of(text, 'modes')} ({name}): the PyTorch reference "
                "(ref_torch) is the seed's CNN: use it with model seed_cnn."
            )
        for mode, precision, batch, device, backend in itertools.product(
            axes["modes"],
            axes["precisions"],
            axes["batch_sizes"],
            axes["devices"],
            axes["backends"],
        ):
            cases.append(
                Case(
                    name,
                    mode,
                    precision,
                    batch,
                    device,
                    tuple(sorted(params.items())),
                    spe if mode in ("fit", "pipeline") else 1,
                    dataset if mode == "pipeline" else None,
                    backend,
                )
            )
    baseline = head.get("baseline", "graph")
    if baseline not in MODES:
        raise SuiteError(
            f"{source}, {_line_of(text, 'baseline')}: unknown baseline mode "
            f"{baseline!r}. Allowed: {', '.join(MODES)}."
        )
    steps, timeout_s, repeat = (
        head.get("steps", 10),
        head.get("timeout_s", 600),
        head.get("repeat", 1),
    )
    for label, value in (("steps", steps), ("timeout_s", timeout_s), ("repeat", repeat)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SuiteError(
                f"{source}, {_line_of(text, label)}: `{label}` must be a positive "
                f"number; received {value!r}."
            )
    return Suite(
        name=head.get("name", path.stem),
        description=head.get("description", ""),
        baseline=baseline,
        baseline_precision=head.get("baseline_precision"),
        steps=int(steps),
        timeout_s=float(timeout_s),
        repeat=int(repeat),
        cases=cases,
        source=source,
    )


def spec_datasets(spec: registry.ModelSpec) -> tuple[str, ...]:
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
