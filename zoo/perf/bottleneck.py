"""What limits a profiled training step, from the numbers of its record: the verdict.

`verdict(record)` reads a profile record (`ProfileResult.to_dict()`, or a bench line) and
returns the first of these rules that holds, in this order, with the figures that decided
it and the one setting most likely to help:

1. compile: the first step's trace and compile (`compile_s`) takes longer than training
   does for TYPICAL_RUN_STEPS steps at the measured step time (a typical short run: about
   two epochs of a 60,000-example dataset at batch 128). A profile's own timed steps are
   too few to compare with: every model would be compile-bound.
2. input: mode "pipeline" times the same model fed from memory too, interleaved
   (`memory_fit`); the pipeline's step is slower by more than INPUT_MARGIN. Where only one
   of the two was measured, input-bound is never claimed.
3. dispatch: the fixed cost of a step (`overhead`: the step of linear_regression, a model
   with next to no arithmetic, in the same mode, device and steps per execution, measured
   once per machine) is at least DISPATCH_SHARE of the step. Where that overhead was not
   measured (the hand-written references), a step of fewer than SMALL_STEP_FLOPS FLOPs.
4. compute: MFU (training FLOP/s over the `zoo peak` matmul peak) >= COMPUTE_MFU. Without
   a peak, MFU is unknown: the verdict says so and decides by intensity alone (5 and 6).
5. memory: the step's arithmetic intensity (FLOPs per byte moved, estimated below) is
   under the device's ridge point (peak FLOP/s over copy bandwidth, from `zoo peak`;
   DEFAULT_RIDGE without one) and MFU is low or unknown.
6. otherwise compute when MFU is unknown (high intensity), else unknown: the step does
   enough arithmetic per byte but reaches a low MFU, which these numbers cannot explain.

The bytes a step moves are estimated, not measured: the weights (float32) WEIGHT_PASSES
times, and the layers' outputs (in the compute dtype) ACTIVATION_PASSES times, at the
record's batch size. Caches make real traffic lower, so the estimate errs towards
"compute". Pure functions: no framework is imported.
"""

from __future__ import annotations

from typing import Any

from zoo.choices import FIT_MODES

TYPICAL_RUN_STEPS = 1000  # compile-bound: compile_s > this many steps of training
INPUT_MARGIN = 0.15  # input-bound: the pipeline's step > (1 + this) x the in-memory step
DISPATCH_SHARE = 0.5  # dispatch-bound: the fixed per-step overhead >= this share of a step
SMALL_STEP_FLOPS = 1e7  # without a measured overhead: a step of fewer FLOPs is dispatch
COMPUTE_MFU = 0.5  # compute-bound: MFU at least this
DEFAULT_RIDGE = 5.0  # FLOP/byte without `zoo peak` (a 2-core EPYC: 104 GFLOP/s, 21 GB/s)
# Weight traffic per step: read in the forward and backward passes (2), the gradient
# written (1), Adam reading the gradient, weight and two moments and writing three (7).
WEIGHT_PASSES = 10
# Activation traffic: each layer's output written forward, read backward, gradient written.
ACTIVATION_PASSES = 3


def verdict(
    record: dict, *, peak: dict | None = None, memory_record: dict | None = None
) -> dict[str, Any]:
    """The bottleneck of a profile record (see the module docstring for the rules).

    Args:
        record: a profile record: `ProfileResult.to_dict()` or a bench line.
        peak: the device's `zoo peak` entry (matmul_flops_per_s, copy_bytes_per_s) for the
            ridge point; None: DEFAULT_RIDGE.
        memory_record: for a pipeline record without `memory_fit`, the record of the same
            model and batch fed from memory (a bench's fit case) to compare with.

    Returns:
        ``{"kind": one of zoo.choices.BOTTLENECKS, "evidence": text, "figures": {name: number},
        "advice": the setting most likely to help}``.
    """
    figures = _figures(record, peak, memory_record)
    for rule in (_compile, _input, _dispatch, _compute, _memory):
        found = rule(record, figures)
        if found:
            kind, evidence, advice = found
            break
    else:
        kind, evidence, advice = _rest(record, figures)
    if figures["mfu"] is None and kind in ("compute", "memory", "unknown"):
        evidence += "; MFU unknown (run `zoo peak`): judged by intensity alone"
    return {"kind": kind, "evidence": evidence, "figures": figures, "advice": advice}


def _get(record: dict, *keys: str) -> Any:
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _figures(record: dict, peak: dict | None, memory_record: dict | None) -> dict[str, Any]:
    """The numbers the rules read, named with their units."""
    step_ms = record["train"]["step_ms_median"]
    flops_per_step = record["flops"]["train_per_sample"] * record["batch_size"]
    memory = record.get("memory_fit") or (memory_record or {}).get("train")
    weight_b, activation_b = _bytes_moved(record)
    ridge = DEFAULT_RIDGE
    if peak and peak.get("copy_bytes_per_s"):
        ridge = peak["matmul_flops_per_s"] / peak["copy_bytes_per_s"]
    return {
        "step_ms": step_ms,
        "compile_s": record["compile_s"],
        "typical_run_s": TYPICAL_RUN_STEPS * step_ms / 1e3,
        "memory_step_ms": memory["step_ms_median"] if memory else None,
        "overhead_ms": _get(record, "overhead", "step_ms"),
        "flops_per_step": flops_per_step,
        "mfu": record.get("mfu"),
        "weight_bytes": weight_b,
        "activation_bytes": activation_b,
        "intensity": flops_per_step / max(weight_b + activation_b, 1),
        "ridge": ridge,
    }


def _bytes_moved(record: dict) -> tuple[float, float]:
    """(weight bytes, activation bytes) one training step moves, as estimated above."""
    weights = 4 * record["params"] * WEIGHT_PASSES
    per_sample = record.get("activations_per_sample") or 0
    act_bytes = 4 if record.get("precision", "float32") == "float32" else 2
    return weights, act_bytes * per_sample * record["batch_size"] * ACTIVATION_PASSES


def _compile(record: dict, f: dict):
    if f["compile_s"] <= f["typical_run_s"]:
        return None
    evidence = (
        f"compile {f['compile_s']:.2f} s > {TYPICAL_RUN_STEPS} training steps at "
        f"{f['step_ms']:.2f} ms ({f['typical_run_s']:.2f} s)"
    )
    if _get(record, "resolved", "jit_compile"):
        advice = "--no-jit-compile (zoo train: --jit-compile off): XLA's compile is the cost"
    elif _get(record, "resolved", "steps_per_execution") not in (None, 1):
        advice = "--steps-per-execution 1: tracing grows with the steps fused"
    else:
        advice = "longer runs: compile is paid once per process, not per step"
    return "compile", evidence, advice


def _input(record: dict, f: dict):
    if record.get("mode") != "pipeline" or not f["memory_step_ms"]:
        return None
    ratio = f["step_ms"] / f["memory_step_ms"]
    f["input_ratio"] = ratio
    if ratio <= 1 + INPUT_MARGIN:
        return None
    evidence = (
        f"tf.data step {f['step_ms']:.2f} ms vs {f['memory_step_ms']:.2f} ms from memory "
        f"({ratio:.2f}x, > {1 + INPUT_MARGIN:.2f}x)"
    )
    # Not --batch-size: the pipeline's cost is per example (mlp on Fashion-MNIST: 1.08x at
    # batch 32, 1.23x at 512), and cache and prefetch are on already.
    extra = f["step_ms"] - f["memory_step_ms"]
    advice = (
        f"feed the batches from memory: tf.data's per-example shuffle and batch cost "
        f"{extra:.2f} ms a step here (cache and prefetch are on already)"
    )
    return "input", evidence, advice


def _dispatch(record: dict, f: dict):
    overhead = f["overhead_ms"]
    if overhead is not None:
        share = overhead / f["step_ms"]
        f["overhead_share"] = share
        if share < DISPATCH_SHARE:
            return None
        part = "all of it" if share >= 1 else f"{share:.0%} of it"
        evidence = (
            f"step {f['step_ms']:.2f} ms; the fixed per-step overhead (a linear_regression "
            f"step, same mode) is {overhead:.2f} ms, {part}"
        )
    elif f["flops_per_step"] < SMALL_STEP_FLOPS:
        evidence = (
            f"{f['flops_per_step']:,.0f} FLOPs per step (< {SMALL_STEP_FLOPS:,.0f}): "
            f"{f['step_ms']:.2f} ms is mostly per-step overhead"
        )
    else:
        return None
    return "dispatch", evidence, _dispatch_advice(record)


def _dispatch_advice(record: dict) -> str:
    mode = record.get("mode")
    spe = _get(record, "resolved", "steps_per_execution") or 1
    if mode == "eager":
        return "--mode graph: eager runs every op from Python"
    if mode not in FIT_MODES:
        return "--steps-per-execution 8 (zoo train; zoo profile --mode fit)"
    if spe < 8:
        return f"--steps-per-execution {max(8, 4 * spe)}"
    return f"--batch-size {4 * record['batch_size']}: more work per dispatched step"


def _compute(record: dict, f: dict):
    mfu = f["mfu"]
    if mfu is None or mfu < COMPUTE_MFU:
        return None
    evidence = f"MFU {mfu:.0%} of the measured peak (>= {COMPUTE_MFU:.0%})"
    return "compute", evidence, _compute_advice(record)


def _compute_advice(record: dict) -> str:
    from zoo.runtime.hardware import precision_support

    precision = record.get("precision", "float32")
    flags = _get(record, "env", "cpu_flags")
    if record.get("device", "cpu") == "cpu" and flags:
        bf16 = precision_support("mixed_bfloat16", "cpu", cpu_flags=flags)
        if bf16["native"] and precision != "mixed_bfloat16":
            return f"--precision mixed_bfloat16 ({bf16['reason']})"
        if not precision_support(precision, "cpu", cpu_flags=flags)["native"]:
            return f"--precision float32 ({precision} is emulated on this CPU)"
    if record.get("mfu") is None:
        dtype = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(precision, precision)
        return f"zoo peak --dtype {dtype}, then profile again: MFU says how near the peak it is"
    if precision != "float32":
        return "--device gpu: the step runs near this device's peak in a native precision"
    return "--precision mixed_bfloat16 on a GPU or a CPU with native bf16 (avx512_bf16, amx)"


def _memory(record: dict, f: dict):
    if f["intensity"] >= f["ridge"] or (f["mfu"] is not None and f["mfu"] >= COMPUTE_MFU):
        return None
    evidence = (
        f"about {f['intensity']:.1f} FLOPs per byte moved (estimated: weights "
        f"{f['weight_bytes'] / 1e6:,.1f} MB, activations {f['activation_bytes'] / 1e6:,.1f} MB "
        f"per step) < the ridge point {f['ridge']:.1f}"
    )
    evidence += _mfu_text(f)
    if f["weight_bytes"] >= f["activation_bytes"]:
        advice = f"--batch-size {4 * record['batch_size']}: the weights are read once per step"
    elif not _get(record, "resolved", "jit_compile"):
        advice = "--jit-compile: XLA fuses element-wise ops, fewer activations go to memory"
    else:
        advice = "--precision mixed_bfloat16 where it is native: half the activation bytes"
    return "memory", evidence, advice


def _mfu_text(f: dict) -> str:
    return f", MFU {f['mfu']:.0%}" if f["mfu"] is not None else ""


def _rest(record: dict, f: dict) -> tuple[str, str, str]:
    """No rule held: compute by intensity when MFU is unknown, else unknown."""
    intensity = f"about {f['intensity']:.0f} FLOPs per byte moved (>= ridge {f['ridge']:.1f})"
    if f["mfu"] is None:
        return "compute", intensity, _compute_advice(record)
    evidence = f"MFU {f['mfu']:.0%} (< {COMPUTE_MFU:.0%}) at {intensity}"
    if _get(record, "resolved", "jit_compile"):
        return "unknown", evidence, f"--batch-size {2 * record['batch_size']}"
    return "unknown", evidence, "--jit-compile: XLA fuses the ops between the matmuls"


def annotate_rows(rows: list[dict], records: list[dict]) -> None:
    """Gives each bench summary row `bottleneck`: the kind most of its successful repeats
    got (None where its records carry no verdict: written before verdicts existed)."""
    kinds: dict[str, list[str]] = {}
    for r in records:
        kind = _get(r, "bottleneck", "kind")
        if r.get("status") == "ok" and kind:
            kinds.setdefault(r["case"], []).append(kind)
    for row in rows:
        found = kinds.get(row["case"])
        row["bottleneck"] = max(sorted(set(found)), key=found.count) if found else None
