"""What limits a profiled training step, from the measurements in its record: the verdict.

`verdict(record)` reads a profile record (`ProfileResult.to_dict()`, or a bench line) and
returns a kind, the figures and thresholds that decided it, a short `summary` of them (the
bench table's column) and the one setting most likely to help. A kind is claimed only from
the measurements it rests on; where one it needs is missing, the kind is `unknown` and
`missing` names it. In this order, the first that holds wins:

1. compile: the first step's trace and compile (`compile_s`) takes longer than training
   does for TYPICAL_RUN_STEPS steps at the measured step time (a typical short run: about
   two epochs of a 60,000-example dataset at batch 128). A profile's own timed steps are
   too few to compare with: every model would be compile-bound.
2. input (mode "pipeline" only: every other mode feeds one batch from memory): the
   pipeline's step is slower than the same model fed from memory, timed interleaved
   (`memory_fit`), by more than INPUT_MARGIN. Needs that in-memory step.
3. dispatch: the fixed cost of a step (`overhead`: the step of linear_regression, a model
   with next to no arithmetic, in the same mode, device and steps per execution, measured
   once per machine) is at least DISPATCH_SHARE of the step. Needs that overhead (the
   hand-written references have none).
4. compute: MFU (training FLOP/s over the matmul peak measured on the same machine, dtype
   and matmul precision) is at least COMPUTE_MFU. Needs the peak. A low MFU is never
   compute-bound, whatever the intensity.
5. memory: the step's arithmetic intensity (FLOPs per byte moved, estimated below) is under
   the device's ridge point (peak FLOP/s over the measured copy bandwidth) and MFU is
   under COMPUTE_MFU. Claimed only where rules 2-4 could be decided: it is what is left.
6. otherwise unknown: MFU is low and the intensity high. The time goes to something these
   figures do not measure: ops that never run at the matmul peak (element-wise, softmax,
   layout changes, gathers), dispatch between ops inside the step, or matmuls too small
   to fill the device.

The bytes a step moves are estimated, not measured: the weights (float32) WEIGHT_PASSES
times, and the layers' outputs (in the compute dtype) ACTIVATION_PASSES times, at the
record's batch size. Caches make real traffic lower, so the estimate errs towards
"not memory". Pure functions: no framework is imported.
"""

from __future__ import annotations

from typing import Any

from zoo.choices import FIT_MODES

TYPICAL_RUN_STEPS = 1000  # compile-bound: compile_s > this many steps of training
INPUT_MARGIN = 0.15  # input-bound: the pipeline's step > (1 + this) x the in-memory step
DISPATCH_SHARE = 0.5  # dispatch-bound: the fixed per-step overhead >= this share of a step
COMPUTE_MFU = 0.5  # compute-bound: a measured MFU at least this
# Weight traffic per step: read in the forward and backward passes (2), the gradient
# written (1), Adam reading the gradient, weight and two moments and writing three (7).
WEIGHT_PASSES = 10
# Activation traffic: each layer's output written forward, read backward, gradient written.
ACTIVATION_PASSES = 3

# What each figure a rule needs is, named where it is missing: (short, with how to get it).
MISSING = {
    "memory_step_ms": (
        "in-memory step",
        "the same model's step fed from memory (`zoo profile --mode pipeline` times it "
        "interleaved)",
    ),
    "overhead_ms": (
        "step overhead",
        "the fixed per-step overhead (a linear_regression step in the same mode: the zoo's "
        "own steps measure it, the hand-written references do not)",
    ),
    "mfu": ("device peak", "MFU: the device's matmul peak for this dtype and matmul precision"),
    "ridge": ("copy bandwidth", "the device's copy bandwidth, for the ridge point"),
    "activation_bytes": ("activation sizes", "the layers' output sizes (activations_per_sample)"),
}


def verdict(
    record: dict, *, peak: dict | None = None, memory_record: dict | None = None
) -> dict[str, Any]:
    """The bottleneck of a profile record (see the module docstring for the rules).

    Args:
        record: a profile record: `ProfileResult.to_dict()` or a bench line.
        peak: the device's peak entry (matmul_flops_per_s, copy_bytes_per_s) for the ridge
            point; default: the record's `peak`.
        memory_record: for a pipeline record without `memory_fit`, the record of the same
            model and batch fed from memory (a bench's fit case) to compare with.

    Returns:
        ``{"kind": one of zoo.choices.BOTTLENECKS, "evidence": text, "summary": short text,
        "figures": {name: number}, "thresholds": {name: number}, "missing": [what was not
        measured], "advice": the setting most likely to help, or how to measure}``.
    """
    f = _figures(record, peak if peak is not None else record.get("peak"), memory_record)
    missing: list[str] = []
    for rule, needs in _RULES:
        lacking = [n for n in needs(record) if f[n] is None]
        missing += lacking
        found = None if lacking else rule(record, f)
        if found:
            return _result(found, f)
    # What rule 5 reads besides (the copy bandwidth comes with the peak MFU needs).
    missing += [n for n in ("activation_bytes", "ridge") if f[n] is None]
    if "mfu" in missing and "ridge" in missing:
        missing.remove("ridge")
    if missing:
        return _result(_unmeasured(record, f, missing), f, missing)
    return _result(_memory(record, f) or _rest(record, f), f)


def _result(found: tuple, f: dict, missing: list[str] | None = None) -> dict[str, Any]:
    kind, evidence, summary, advice = found
    if f["uncounted"] and kind != "compile":
        evidence += f"; FLOPs leave out {', '.join(f['uncounted'])}: MFU is a lower bound"
    return {
        "kind": kind,
        "evidence": evidence,
        "summary": summary,
        "figures": {k: v for k, v in f.items() if k != "uncounted"},
        "thresholds": THRESHOLDS,
        "missing": [MISSING[m][1] for m in missing or []],
        "advice": advice,
    }


THRESHOLDS = {
    "typical_run_steps": TYPICAL_RUN_STEPS,
    "input_margin": INPUT_MARGIN,
    "dispatch_share": DISPATCH_SHARE,
    "compute_mfu": COMPUTE_MFU,
}


def _get(record: dict, *keys: str) -> Any:
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _figures(record: dict, peak: dict | None, memory_record: dict | None) -> dict[str, Any]:
    """The numbers the rules read, named with their units (None: not measured)."""
    step_ms = record["train"]["step_ms_median"]
    flops_per_step = record["flops"]["train_per_sample"] * record["batch_size"]
    memory = record.get("memory_fit") or (memory_record or {}).get("train")
    weight_b, activation_b = _bytes_moved(record)
    peak = peak or {}
    ridge = None
    if peak.get("matmul_flops_per_s") and peak.get("copy_bytes_per_s"):
        ridge = peak["matmul_flops_per_s"] / peak["copy_bytes_per_s"]
    moved = weight_b + (activation_b or 0)
    return {
        "step_ms": step_ms,
        "compile_s": record["compile_s"],
        "typical_run_s": TYPICAL_RUN_STEPS * step_ms / 1e3,
        "memory_step_ms": memory["step_ms_median"] if memory else None,
        "overhead_ms": _get(record, "overhead", "step_ms"),
        "flops_per_step": flops_per_step,
        "mfu": record.get("mfu"),
        "peak_flops_per_s": peak.get("matmul_flops_per_s"),
        "weight_bytes": weight_b,
        "activation_bytes": activation_b,
        "intensity": flops_per_step / max(moved, 1) if activation_b is not None else None,
        "ridge": ridge,
        "uncounted": _get(record, "resolved", "uncounted_layers") or [],
    }


def _bytes_moved(record: dict) -> tuple[float, float | None]:
    """(weight bytes, activation bytes or None) a training step moves, as estimated above."""
    weights = 4 * _num_params(record) * WEIGHT_PASSES
    per_sample = record.get("activations_per_sample")
    if per_sample is None:
        return weights, None
    act_bytes = 4 if record.get("precision", "float32") == "float32" else 2
    return weights, act_bytes * per_sample * record["batch_size"] * ACTIVATION_PASSES


def _num_params(record: dict) -> int | None:
    """The model's size: `num_params` in a bench record, `params` in a profile's."""
    count = record.get("num_params", record.get("params"))
    return count if isinstance(count, int) else None


def _compile(record: dict, f: dict):
    if f["compile_s"] <= f["typical_run_s"]:
        return None
    evidence = (
        f"compile {f['compile_s']:.2f} s > {TYPICAL_RUN_STEPS} training steps at "
        f"{f['step_ms']:.2f} ms ({f['typical_run_s']:.2f} s)"
    )
    summary = f"compile {f['compile_s']:.2f} s > {TYPICAL_RUN_STEPS} steps"
    if _get(record, "resolved", "jit_compile"):
        advice = "--no-jit-compile (zoo train: --jit-compile off): XLA's compile is the cost"
    elif _get(record, "resolved", "steps_per_execution") not in (None, 1):
        advice = "--steps-per-execution 1: tracing grows with the steps fused"
    else:
        advice = "longer runs: compile is paid once per process, not per step"
    return "compile", evidence, summary, advice


def _input(record: dict, f: dict):
    if record.get("mode") != "pipeline":
        return None  # one batch from memory: no input to wait for
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
    return "input", evidence, f"tf.data {ratio:.2f}x memory > {1 + INPUT_MARGIN:.2f}x", advice


def _dispatch(record: dict, f: dict):
    overhead = f["overhead_ms"]
    share = overhead / f["step_ms"]
    f["overhead_share"] = share
    if share < DISPATCH_SHARE:
        return None
    part = "all of it" if share >= 1 else f"{share:.0%} of it"
    evidence = (
        f"step {f['step_ms']:.2f} ms; the fixed per-step overhead (a linear_regression "
        f"step, same mode) is {overhead:.2f} ms, {part} (>= {DISPATCH_SHARE:.0%})"
    )
    summary = f"overhead {min(share, 1):.0%} of step >= {DISPATCH_SHARE:.0%}"
    return "dispatch", evidence, summary, _dispatch_advice(record)


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
    if mfu < COMPUTE_MFU:
        return None
    evidence = f"MFU {_pct(mfu)} of the measured matmul peak{_peak_text(f)} (>= {COMPUTE_MFU:.0%})"
    return "compute", evidence, f"MFU {_pct(mfu)} >= {COMPUTE_MFU:.0%}", _compute_advice(record)


def _pct(fraction: float) -> str:
    """A share with two significant digits: 64%, 1.9%."""
    return f"{fraction:.0%}" if fraction >= 0.1 else f"{fraction:.1%}"


def _peak_text(f: dict) -> str:
    peak = f["peak_flops_per_s"]
    return f" ({peak / 1e9:,.1f} GFLOP/s)" if peak else ""


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
    if precision != "float32":
        return "--device gpu: the step runs near this device's peak in a native precision"
    return "--precision mixed_bfloat16 on a GPU or a CPU with native bf16 (avx512_bf16, amx)"


_RULES = (
    (_compile, lambda r: ()),
    (_input, lambda r: ("memory_step_ms",) if r.get("mode") == "pipeline" else ()),
    (_dispatch, lambda r: ("overhead_ms",)),
    (_compute, lambda r: ("mfu",)),
)


def _unmeasured(record: dict, f: dict, missing: list[str]):
    """Unknown: a rule could not be decided. What was measured, and how to measure the rest."""
    measured = [f"compile {f['compile_s']:.2f} s <= {f['typical_run_s']:.2f} s"]
    if f.get("overhead_share") is not None:
        measured.append(f"overhead {f['overhead_share']:.0%} of the step")
    if f["mfu"] is not None:
        measured.append(f"MFU {_pct(f['mfu'])} < {COMPUTE_MFU:.0%}")
    names = ", ".join(MISSING[m][0] for m in missing)
    evidence = f"not measured: {'; '.join(MISSING[m][1] for m in missing)}"
    failed = _get(record, "peak", "error")
    if failed:
        evidence += f" (the peak's measurement failed: {failed})"
    evidence += f". Measured: {', '.join(measured)}"
    if "mfu" in missing or "ridge" in missing:
        dtype = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(
            record.get("precision", "float32"), record.get("precision", "float32")
        )
        advice = f"zoo peak --dtype {dtype}, then profile again"
    elif "overhead_ms" in missing:
        advice = f"zoo profile {record.get('model', 'NAME')}: the zoo's step measures its overhead"
    else:
        advice = f"zoo profile {record.get('model', 'NAME')} --mode pipeline --dataset DATASET"
    return "unknown", evidence, "not measured: " + names, advice


def _memory(record: dict, f: dict):
    if f["intensity"] >= f["ridge"]:
        return None
    evidence = (
        f"about {f['intensity']:.1f} FLOPs per byte moved (estimated: weights "
        f"{f['weight_bytes'] / 1e6:,.1f} MB, activations {f['activation_bytes'] / 1e6:,.1f} MB "
        f"per step) < the ridge point {f['ridge']:.1f}, MFU {_pct(f['mfu'])}"
    )
    summary = f"{f['intensity']:.1f} FLOP/B < ridge {f['ridge']:.1f}, MFU {_pct(f['mfu'])}"
    if f["weight_bytes"] >= f["activation_bytes"]:
        advice = f"--batch-size {4 * record['batch_size']}: the weights are read once per step"
    elif not _get(record, "resolved", "jit_compile"):
        advice = "--jit-compile: XLA fuses element-wise ops, fewer activations go to memory"
    else:
        advice = "--precision mixed_bfloat16 where it is native: half the activation bytes"
    return "memory", evidence, summary, advice


def _rest(record: dict, f: dict) -> tuple[str, str, str, str]:
    """MFU low, intensity high: neither compute nor memory; what else it could be."""
    evidence = (
        f"MFU {_pct(f['mfu'])} (< {COMPUTE_MFU:.0%}) at about {f['intensity']:.0f} FLOPs per "
        f"byte moved (>= the ridge {f['ridge']:.1f}), overhead {f['overhead_share']:.0%} of the "
        "step: the time goes to what these figures do not measure: ops that never run at the "
        "matmul peak (element-wise, softmax, layout changes, gathers), dispatch between ops "
        "inside the step, or matmuls too small to fill the device"
    )
    summary = f"MFU {_pct(f['mfu'])} < {COMPUTE_MFU:.0%}, {f['intensity']:.0f} FLOP/B >= ridge"
    if _get(record, "resolved", "jit_compile"):
        return "unknown", evidence, summary, f"--batch-size {2 * record['batch_size']}"
    return "unknown", evidence, summary, "--jit-compile: XLA fuses the ops between the matmuls"


def annotate_rows(rows: list[dict], records: list[dict]) -> None:
    """Gives each bench summary row `bottleneck` (the kind most of its successful repeats
    got, from today's rules: a record with training figures is judged again) and
    `bottleneck_evidence` (that kind's summary in the middle repeat by step time, with
    "k of n repeats" where they disagree); None where no record can be judged."""
    found: dict[str, list[tuple[float, dict]]] = {}
    for r in records:
        v = _judged(r)
        if r.get("status") == "ok" and v:
            found.setdefault(r["case"], []).append((_get(r, "train", "step_ms_median") or 0, v))
    for row in rows:
        verdicts = found.get(row["case"], [])
        kinds = [v["kind"] for _, v in verdicts]
        kind = max(sorted(set(kinds)), key=kinds.count) if kinds else None
        mine = sorted((t, v.get("summary")) for t, v in verdicts if v["kind"] == kind)
        summary = mine[len(mine) // 2][1] if mine else None
        if summary and len(mine) < len(kinds):
            summary += f" ({len(mine)} of {len(kinds)} repeats)"
        row["bottleneck"], row["bottleneck_evidence"] = kind, summary


def _judged(record: dict) -> dict | None:
    """The verdict of a record by today's rules (its stored one where it has no training
    figures to judge again: a quantized case times inference only)."""
    needed = ("train.step_ms_median", "flops.train_per_sample", "compile_s", "batch_size")
    figures = [_get(record, *k.split(".")) for k in needed] + [_num_params(record)]
    if None not in figures:
        return verdict(record)
    return record.get("bottleneck") or None
