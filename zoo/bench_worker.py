"""One benchmark case in its own process: `python -m zoo.bench_worker '<case JSON>'`.

Prints one JSON line: the profile with status "ok", or status "skipped" (a GPU that is not
there), "oom" or "error" with a reason. Used by `zoo.bench`; not an interface for users.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    case = json.loads(argv[0])
    from zoo import profiling, runtime
    from zoo.errors import ZooError

    try:
        result = profiling.profile(
            case["model"],
            batch_size=case["batch_size"],
            mode=case["mode"],
            precision=case["precision"],
            device=case["device"],
            steps=case["steps"],
            model_kwargs=case.get("params") or None,
        )
        record = {"status": "ok", **result.to_dict()}
    except runtime.DeviceError as e:
        record = {"status": "skipped", "reason": str(e)}
    except ZooError as e:
        record = {"status": "error", "reason": str(e)}
    except Exception as e:  # the runner records it; the suite goes on
        text = f"{type(e).__name__}: {e}"
        oom = "ResourceExhausted" in text or "out of memory" in text.lower()
        record = {"status": "oom" if oom else "error", "reason": text.splitlines()[0][:300]}
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
