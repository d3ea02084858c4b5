"""One benchmark case in its own process: `python -m zoo.perf.worker JOB_FILE RECORD_FILE`,
started by `zoo.perf.runner` through `zoo.proc` (not an interface for users).

The record is the profile with status "ok" (the model's size as `num_params`), or status
"skipped" (a GPU or package that is not there) with the reason; a ZooError or another
exception becomes "failed" or "oom" through `zoo.proc.worker_main`.

Before anything runs, the float32 matmul precision that `zoo bench` asked for (the variable
`zoo.perf.manifest.MATMUL_PRECISION_ENV`: "highest" or "default") is pinned on the backend
that runs the step; the record's manifest reads back what was in force.

`python -m zoo.perf.worker --session` is the same worker kept alive for an A/B run
(`zoo.perf.ab`, through `zoo.proc.Session`): once its training clock has run it replies
{"status": "ready", "step_s", "windowed"}, then times a window of steps for each
{"window": N} ({"status": "window", "step_s": median seconds per step}) until
{"finish": true}, and its final reply is the record, as above.
"""

from __future__ import annotations

import os
import sys

from zoo.proc import Channel, session_main, worker_main


def run(case: dict, serve=None) -> dict:
    """Profiles the case of a job: the record, or why the case cannot run here; `serve`
    as `zoo.perf.profile.profile`'s (the profile modes only)."""
    from zoo.errors import DeviceError
    from zoo.perf import manifest
    from zoo.runtime.device import set_matmul_precision

    pin = os.environ.get(manifest.MATMUL_PRECISION_ENV, "default")
    try:
        set_matmul_precision(pin)
        record = _measure(case, pin, serve)
    except (_Skip, DeviceError) as e:
        return {"status": "skipped", "reason": str(e)}
    if "params" in record:  # the count; `model_kwargs`, in the bench record, are the settings
        record["num_params"] = record.pop("params")
    return {"status": "ok", **record}


def session(case: dict, channel: Channel) -> dict:
    """The session worker (see the module docstring): windows on request, then the record."""

    def serve(window, step_s: float) -> None:
        channel.send({"status": "ready", "step_s": step_s, "windowed": window is not None})
        while "window" in (message := channel.receive()) and window is not None:
            channel.send({"status": "window", "step_s": window(int(message["window"]))})

    return run(case, serve)


def _measure(case: dict, pin: str, serve=None) -> dict:
    if case["mode"].startswith("ref_"):
        return _reference(case, pin)
    if case.get("quantize", "none") != "none":  # inference only, against float32
        from zoo.perf.inference import quantized_case

        return quantized_case(case)
    from zoo.perf import profile as profiling

    result = profiling.profile(
        case["model"],
        batch_size=case["batch_size"],
        mode=case["mode"],
        precision=case["precision"],
        device=case["device"],
        steps=case["steps"],
        model_kwargs=case.get("params") or None,
        steps_per_execution=case.get("steps_per_execution", 1),
        dataset=case.get("dataset"),
        replicas=case.get("replicas", 1),
        serve=serve,
    )
    return result.to_dict()


class _Skip(Exception):
    """The case cannot run here (a missing optional package)."""


def _reference(case: dict, pin: str = "default") -> dict:
    if case["device"] not in ("cpu", "auto") or case.get("params"):
        raise _Skip("references run on the CPU with the model's default hyper-parameters")
    if case["precision"] != "float32":
        raise _Skip("references are measured in float32")
    if case["mode"] == "ref_torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise _Skip("PyTorch is not installed: pip install 'keras-zoo[compare]'") from None
        from zoo.perf.references import torch_cnn as reference
        from zoo.runtime.device import set_matmul_precision

        set_matmul_precision(pin, "torch")  # it runs beside the Keras backend
    else:
        from zoo.perf.references import tf_loop as reference
    return reference.measure(case["model"], case["batch_size"], steps=case["steps"])


if __name__ == "__main__":
    sys.exit(session_main(session) if sys.argv[1:] == ["--session"] else worker_main(run))
