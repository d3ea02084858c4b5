"""The views of `zoo parity` (and `zoo bench --suite parity`): a row per backend, every
difference in multiples of the compute dtype's eps, and a line as each one finishes."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from zoo.cli.render import Col, err, fmt, table

PARITY_COLUMNS = (
    Col("backend"),
    Col("fwd max|Δ| ε", "number"),
    Col("fwd rel ε", "number"),
    Col("loss₁ rel ε", "number"),
    Col("worst grad rel ε", "number"),
    Col("its tensor"),
    Col("curve max ε", "number"),
    Col("final ε", "number"),
    Col("metric", "value"),
    Col("samples/s", "throughput"),
    Col("verdict", "text"),
)


def parity_table(report: dict) -> RenderableType:
    """`zoo parity`: a row per backend (`zoo.perf.parity.summarize`), every difference in
    multiples of the compute dtype's eps, against the first backend."""
    from zoo.perf import parity

    body = []
    for r in parity.summarize(report):
        verdict = r["verdict"] + (f": {r['detail']}" if r.get("detail") else "")
        if r["status"] != "ok":
            verdict = f"{r['status']}: {r.get('reason', '')}"
        cells = [r[f"{k}_eps"] for k in ("forward_max_abs", "forward_max_rel")]
        cells += [r[f"{k}_eps"] for k in ("loss_step1_rel", "gradient_worst_rel")]
        cells += [r.get("gradient_worst")]
        cells += [r[f"{k}_eps"] for k in ("curve_max_rel", "curve_final_rel")]
        body.append([r["backend"], *cells, r.get("metric"), r.get("samples_per_s"), verdict])
    title = (
        f"{report['model']}: {report['steps']} steps of {report['optimizer']} "
        f"(lr {report['learning_rate']}), batch {report['batch_size']}, {report['precision']}"
    )
    return table(title, PARITY_COLUMNS, body)


def parity_notes(report: dict) -> str:
    """The lines under `zoo parity`'s table: eps, tolerances, metric, what was changed."""
    from zoo.perf.parity import COMPUTE_EPS

    eps, tol = COMPUTE_EPS[report["precision"]], report["tolerance"]
    lines = [
        f"ε = {eps:.3g} ({report['precision']}); differences relative to the largest value of "
        f"the first backend. Tolerances: forward and loss₁ {tol['forward'] / eps:,.0f}ε, "
        f"gradients {tol['gradient'] / eps:,.0f}ε (+ the SGD-trick floor), loss at step t "
        f"{tol['forward'] / eps:,.0f}ε + t·{tol['curve_per_step'] / eps:,.0f}ε (docs/parity.md).",
        f"metric: {report['metric']} on the evaluation batch after {report['steps']} steps; "
        f"the data's optimum: {fmt(report['optimum'])}.",
    ]
    if report["dropout_off"]:
        lines.append(f"set to 0.0 for parity: {', '.join(report['dropout_off'])}.")
    return "\n".join(escape(line) for line in lines)


def parity_backend_done(backend: str, result: dict) -> None:
    """`zoo parity`'s line on stderr as each backend's process finishes."""
    status = result.get("status")
    what = "done" if status == "ok" else f"[yellow]{status}[/]: {escape(str(result.get('reason')))}"
    wall = f" ({result['wall_s']:.0f} s)" if result.get("wall_s") else ""
    err.print(f"{escape(backend)}: {what}{wall}", soft_wrap=True)


def parity_model_done(n: int, total: int, req: Any, record: dict) -> None:
    """`zoo bench --suite parity`'s line on stderr as each model finishes."""
    if record.get("status") != "ok":
        what = f"[yellow]{record.get('status')}[/]: {escape(str(record.get('reason')))}"
    else:
        what = ", ".join(f"{r['backend']} {r['verdict']}" for r in record["rows"])
    err.print(f"[{n}/{total}] {escape(req.model)}: {what}", soft_wrap=True)
