"""One benchmark case in its own process: `python -m zoo.perf.worker '<case JSON>'`.

Prints one JSON line: the profile with status "ok", or status "skipped" (a GPU that is not
there), "oom" or "error" with a reason. Used by `zoo.perf.runner`; not an interface for users.

Before anything runs, the float32 matmul precision that `zoo bench` asked for (the variable
`zoo.perf.manifest.MATMUL_PRECISION_ENV`: "highest" or "default") is pinned on the backend
that runs the step; the record's manifest reads back what was in force.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    case = json.loads(argv[0])
    from zoo.errors import DeviceError, ZooError
    from zoo.perf import manifest
    from zoo.perf import profile as profiling
    from zoo.runtime.device import set_matmul_precision

    pin = os.environ.get(manifest.MATMUL_PRECISION_ENV, "default")
    try:
        set_matmul_precision(pin)
        if case["mode"].startswith("ref_"):
            record = {"status": "ok", **_reference(case, pin)}
        elif case.get("quantize", "none") != "none":  # inference only, against float32
            from zoo.perf.inference import quantized_case

            record = {"status": "ok", **quantized_case(case)}
        else:
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
            )
            record = {"status": "ok", **result.to_dict()}
    except _Skip as e:
        record = {"status": "skipped", "reason": str(e)}
    except DeviceError as e:
        record = {"status": "skipped", "reason": str(e)}
    except ZooError as e:
        record = {"status": "error", "reason": str(e)}
    except Exception as e:  # the runner records it; the suite goes on
        text = f"{type(e).__name__}: {e}"
        oom = "ResourceExhausted" in text or "out of memory" in text.lower()
        record = {"status": "oom" if oom else "error", "reason": text.splitlines()[0][:300]}
    print(json.dumps(record))
    return 0


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
    sys.exit(main(sys.argv[1:]))
