"""The export and quantization matrix of docs/export.md, measured on this machine.

    python benchmarks/export_matrix.py             # ~10 minutes on 2 CPU cores
    python benchmarks/export_matrix.py --domains   # the newer tasks' models (export only)

Every family's quick model is trained briefly on its synthetic data (`zoo train`), then
exported to each format with `zoo.deploy.export` and checked in that format's own runtime
(outputs against the Keras model, task metric, size, batch-1 latency and batch throughput,
interleaved); five of them are also quantized to int8 (`zoo.deploy.evaluate_quantized`,
and exported quantized). Each case runs in its own process: a failed OpenVINO conversion
leaves OpenBLAS's worker threads hung in the process that tried it.

Writes benchmarks/results/export-cpu.jsonl (one record per case) and export-cpu.md;
with --domains, export-domains-cpu.jsonl and .md: the detection, speech and summarization
models, each trained for DOMAIN_EPOCHS epochs (the export is what is measured: a metric
beside it says the artifact scores as the Keras model does, not that the model is good).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODELS = [
    "linear_regression",
    "mlp",
    "seed_cnn",
    "lstm_classifier",
    "transformer_classifier",
    "matrix_factorization",
]
QUANTIZED = ["mlp", "seed_cnn", "lstm_classifier", "transformer_classifier", "matrix_factorization"]
FORMATS = ["saved_model", "onnx", "litert", "openvino"]
SUFFIX = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite", "openvino": ".xml"}
SAMPLES = 2048  # training examples per model: enough for a metric that is not chance
DOMAINS = [
    "centernet_tiny",
    "centernet_resnet",
    "ctc_speech",
    "whisper_ctc",
    "transformer_summarizer",
    "bart_summarizer",
]
DOMAIN_EPOCHS = 2


def cases(domains: bool = False) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, model, format, quantize) in the order of the tables."""
    if domains:
        return [("export", m, f, None) for m in DOMAINS for f in FORMATS]
    out = [("export", m, f, None) for m in MODELS for f in FORMATS]
    out += [("evaluate", m, None, "int8") for m in QUANTIZED]
    out += [("export", m, f, "int8") for m in QUANTIZED for f in FORMATS]
    return out


def train_runs(root: Path, domains: bool = False) -> None:
    import zoo

    for model in DOMAINS if domains else MODELS:
        if not (root / model / "result.json").exists():
            epochs = DOMAIN_EPOCHS if domains else None
            zoo.train(model, samples=SAMPLES, epochs=epochs, output=root / model)


def run_case(kind: str, model: str, fmt: str, quantize: str, runs: str) -> dict:
    """One case, in this process: the record to write, stamped with the schema and the
    provenance (command line, git commit, machine with its ISA flags, versions)."""
    from zoo import record

    return record.stamp(_measure(kind, model, fmt, quantize, runs), kind)


def _measure(kind: str, model: str, fmt: str, quantize: str, runs: str) -> dict:
    from zoo import deploy, io
    from zoo.errors import ParityError, ZooError

    quantize = None if quantize == "-" else quantize
    record = {"kind": kind, "model": model, "format": None if fmt == "-" else fmt}
    record.update(quantize=quantize, env=io.environment())
    try:
        if kind == "evaluate":
            return {
                **record,
                "status": "ok",
                **deploy.evaluate_quantized(Path(runs) / model, quantize).to_dict(),
            }
        out = Path(runs) / "artifacts" / f"{model}_{quantize or 'float32'}{SUFFIX[fmt]}"
        result = deploy.export(Path(runs) / model, fmt, quantize=quantize, output=out)
        record.update(result.to_dict(), status="ok")
        result.check()
    except ParityError as e:
        record.update(status="parity_failed", reason=str(e))
    except ZooError as e:
        record.update(status="unsupported", reason=str(e), exit_code=e.exit_code)
    return record


def _fmt(values: list, kind: str) -> list[str]:
    from zoo.formatting import format_column

    return format_column(values, kind)


def _pair(a, b, kind: str) -> str:
    x, y = _fmt([a, b], kind)
    return f"{x} -> {y}"


def _speeds(r: dict) -> list[str]:
    """The second version's speed over the first's at batch 1 and at the batch size, with
    the interval and verdict of their interleaved turns (`zoo.deploy.verify.speedup`)."""
    from zoo.formatting import ratio_text

    s = r.get("speedup")
    return [ratio_text(s[k], "turns") if s else "-" for k in ("latency", "throughput")]


def export_table(records: list[dict]) -> str:
    head = [
        "model",
        "format",
        "quantize",
        "status",
        "max abs diff (tolerance)",
        "metric",
        "Keras -> artifact",
        "size MB",
        "p50 ms, batch 1",
        "samples/s, batch 128",
        "artifact/Keras speed, batch 1 [95% interval]",
        "the same, batch 128",
        "weights in artifact",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r["kind"] != "export":
            continue
        cells = [r["model"], r["format"], r["quantize"] or "float32", r["status"]]
        if "metrics" not in r:
            reason = r["reason"].replace("|", "/")
            lines.append("| " + " | ".join(cells + [reason] + [""] * 8) + " |")
            continue
        p = r["parity"]
        tol = "not checked" if p["tolerance"] is None else f"{p['tolerance']:.2g}"
        metric = next(iter(r["metrics"]["keras"]))
        t = r["timing"]
        sizes = _fmt([n / 1e6 for n in r["weight_bytes"].values()], "MB")
        weights = ", ".join(f"{d} {s}" for d, s in zip(r["weight_bytes"], sizes, strict=True))
        cells += [
            f"{max(p['max_abs_diff']):.2g} ({tol})",
            metric,
            _pair(r["metrics"]["keras"][metric], r["metrics"]["artifact"][metric], "number"),
            _pair(r["size_bytes"]["keras"] / 1e6, r["size_bytes"]["artifact"] / 1e6, "MB"),
            _pair(t["keras"]["p50_ms"], t["artifact"]["p50_ms"], "ms"),
            _pair(t["keras"]["samples_per_s"], t["artifact"]["samples_per_s"], "throughput"),
            *_speeds(r),
            weights,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def quantize_table(records: list[dict]) -> str:
    head = [
        "model",
        "metric",
        "float32",
        "int8",
        "delta",
        "size MB",
        "p50 ms, batch 1",
        "samples/s, batch 256",
        "int8/float32 speed, batch 1 [95% interval]",
        "the same, batch 256",
        "quantized layers",
        "kept float32",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        if r["kind"] != "evaluate":
            continue
        if r["status"] != "ok":
            lines.append(f"| {r['model']} | {r['reason']} |" + " |" * 10)
            continue
        m, t = r["headline"], r["timing"]
        f32, q = r["metrics"]["float32"][m], r["metrics"]["int8"][m]
        a, b = _fmt([f32, q], "number")
        cells = [
            r["model"],
            f"{m} ({'higher' if r['higher_is_better'] else 'lower'} is better)",
            a,
            b,
            _fmt([q - f32], "number")[0],
            _pair(r["size_bytes"]["float32"] / 1e6, r["size_bytes"]["int8"] / 1e6, "MB"),
            _pair(t["float32"]["p50_ms"], t["int8"]["p50_ms"], "ms"),
            _pair(t["float32"]["samples_per_s"], t["int8"]["samples_per_s"], "throughput"),
            *_speeds(r),
            str(len(r["report"]["quantized"])),
            ", ".join(r["report"]["kept_float"]) or "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(records: list[dict], domains: bool = False) -> None:
    env = records[0]["env"]
    stem = "export-domains-cpu" if domains else "export-cpu"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{stem}.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    what = (
        f"the detection, speech and summarization models trained for {DOMAIN_EPOCHS} epochs on"
        if domains
        else "every family's quick model trained on"
    )
    text = (
        f"`python benchmarks/export_matrix.py{' --domains' if domains else ''}`: {what} "
        f"{SAMPLES:,} synthetic examples, on {env.get('cpu')} ({env.get('cpu_count')} "
        f"cores), TensorFlow {env.get('tensorflow')}, Keras {env.get('keras')}.\n\n"
        "### Exported, run in the format's own runtime, against Keras\n\n" + export_table(records)
    )
    if not domains:
        text += "\n### int8 (Keras `model.quantize`) against float32, in Keras\n\n"
        text += quantize_table(records)
    (RESULTS / f"{stem}.md").write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--case"]:
        sys.stdout.write(json.dumps(run_case(*argv[1:6])) + "\n")
        return 0
    domains = argv[:1] == ["--domains"]
    records = []
    with tempfile.TemporaryDirectory() as runs:
        train_runs(Path(runs), domains)
        for kind, model, fmt, quantize in cases(domains):
            args = [kind, model, fmt or "-", quantize or "-", runs]
            done = subprocess.run(
                [sys.executable, __file__, "--case", *args],
                capture_output=True,
                text=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:  # a crashed case is a status, not the end
                from zoo import record

                sys.stderr.write(done.stderr[-2000:])
                reason = (done.stderr.strip().splitlines() or ["no output"])[-1][-300:]
                failed = {"kind": kind, "model": model, "format": fmt, "quantize": quantize}
                failed.update(status="error", reason=f"exit {done.returncode}: {reason}")
                records.append(record.stamp(failed, kind))
            else:
                records.append(json.loads(lines[-1]))
            print(kind, model, fmt, quantize, records[-1]["status"], flush=True)
    write(records, domains)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
