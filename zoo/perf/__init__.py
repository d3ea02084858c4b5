"""Performance: profiling one model, FLOPs, the device peak, and benchmark suites.

    from zoo.perf import profile, suite, runner, summary

The suite API (`load_suite`, `run_suite`, `summarize`, ...) is also re-exported here,
lazily, so `from zoo import perf` imports no framework until a name is used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Case": "zoo.perf.suite",
    "Suite": "zoo.perf.suite",
    "load_suite": "zoo.perf.suite",
    "with_backends": "zoo.perf.suite",
    "filter_cases": "zoo.perf.suite",
    "case_key": "zoo.perf.suite",
    "check_output": "zoo.perf.runner",
    "read_records": "zoo.perf.runner",
    "run_case": "zoo.perf.runner",
    "run_suite": "zoo.perf.runner",
    "summarize": "zoo.perf.summary",
    "by_backend": "zoo.perf.summary",
    "reference_ratios": "zoo.perf.summary",
    "compare_runs": "zoo.perf.compare",
    "write_tables": "zoo.perf.summary",
    "format_column": "zoo.perf.summary",
    "InvalidArgumentError": "zoo.errors",
    "SuiteError": "zoo.errors",
    "OutputError": "zoo.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'zoo.perf' has no attribute {name!r}")
    return getattr(importlib.import_module(target), name)
