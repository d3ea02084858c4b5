"""The views of `zoo tune` (and the tuned recipe `zoo train` and `zoo info` quote): a
trial's settings in a few words, a line per trial, the trials and the cached winners."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from zoo.cli.render import Col, err, plural, table


def flat_settings(s: dict[str, Any]) -> dict[str, Any]:
    """The recipe and run settings of `s` as one flat dict, from any layout the zoo
    writes: a recipe file (`zoo.recipe`: a [recipe] and a [run] table, as a tuned-cache
    entry's `recipe` holds), a training record (`config` and `run`, as result.json and a
    time-to-target record hold), or the flat settings of a tuning trial (and of a cache
    entry written before entries held recipe files). Unset fields are left out."""
    tables = [s.get(k) for k in ("config", "recipe", "run")]
    if not any(isinstance(t, dict) for t in tables):
        return s
    flat: dict[str, Any] = {}
    for t in tables:
        flat.update(t if isinstance(t, dict) else {})
    return {k: v for k, v in flat.items() if v is not None}


def _execution(s: dict[str, Any]) -> list[str]:
    backend = s.get("backend") or "tensorflow"
    parts = [] if backend == "tensorflow" else [backend]
    jit = s.get("jit_compile")
    parts.append("jit auto" if jit == "auto" else "xla" if jit else "graph")
    if s.get("steps_per_execution", 1) != 1:
        parts.append(f"spe {s['steps_per_execution']}")
    if s.get("precision", "float32") != "float32":
        parts.append(s["precision"])
    if s.get("threads"):
        parts.append(f"{s['threads']} threads")
    return parts


def settings_text(s: dict[str, Any]) -> str:
    """Settings in a few words, execution then the recipe, from any layout of
    `flat_settings` (a recipe file, a record's config and run, a trial's flat settings)."""
    s = flat_settings(s)
    parts = _execution(s)
    if "batch_size" in s:
        parts.append(f"batch {s['batch_size']}")
    if "learning_rate" in s:
        parts.append(f"{s.get('optimizer', '')} lr {s['learning_rate']:g}".strip())
    if s.get("schedule", "constant") != "constant":
        parts.append(s["schedule"])
    for key, label in (("weight_decay", "wd"), ("label_smoothing", "ls"), ("clip_norm", "clip")):
        if s.get(key):
            parts.append(f"{label} {s[key]:g}")
    for k, v in (s.get("model_kwargs") or {}).items():
        parts.append(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}")
    if "epochs" in s and "learning_rate" in s:
        parts.append(f"<= {plural(s['epochs'], 'epoch')}")
    return ", ".join(parts)


def tuned_settings(entry: dict[str, Any]) -> dict[str, Any]:
    """What a tuned-cache entry ran: the recipe file it holds, else (an entry cached
    before entries held recipe files) its flat settings."""
    return entry.get("recipe") or entry.get("settings") or {}


def _trial_outcome(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['status']}: {row.get('reason') or ''}"
    if "reached" not in row:
        speed = row.get("samples_per_s")
        return "-" if speed is None else f"{speed:,.0f} samples/s"
    if not row["reached"]:
        best = row.get("best_validation")
        return "target not reached" + ("" if best is None else f" (best {best:.4g})")
    return f"reached in {row['time_to_target_s']:.1f} s ({row['epochs_to_target']:g} epochs)"


def tune_trial_done(stage: str, row: dict[str, Any], model: str = "") -> None:
    """`zoo tune`'s line on stderr as each trial finishes (in a race: the model's first)."""
    lead = f"{model:22} " if model else ""
    err.print(
        escape(f"{lead}{stage:9} {settings_text(row['settings'])}: {_trial_outcome(row)}")
        + f" ({row.get('wall_s') or 0:.0f} s)",
        soft_wrap=True,
        highlight=False,
    )


def tune_table(result: dict[str, Any]) -> RenderableType:
    """The recipe trials, fastest to target first; the default route is marked."""
    trials = result["trials"]
    order = sorted(trials, key=lambda t: (not t.get("reached"), t.get("time_to_target_s") or 0))
    rows = []
    for t in order:
        role = "default" if t is result["default"] else ("winner" if t is result["winner"] else "")
        reached = t.get("reached")
        rows.append(
            [
                role,
                t.get("time_to_target_s") if reached else None,
                t.get("steps_to_target") if reached else None,
                t.get("epochs_to_target") if reached else None,
                t.get("test_metric") if reached else None,
                settings_text(t["settings"])
                if t["status"] == "ok"
                else _trial_outcome(t) + "; " + settings_text(t["settings"]),
            ]
        )
    metric = result["target"].partition("=")[0]
    return table(
        f"{result['model']} on {result['dataset']}: time to {result['target']} (validation)",
        [
            Col(""),
            Col("time s", "s"),
            Col("steps", "count"),
            Col("epochs", "number"),
            Col(f"test {metric}", "value"),
            Col("settings", "text"),
        ],
        rows,
    )


def tune_notes(result: dict[str, Any]) -> list[str]:
    """Where the search spent its time, what it left out, and the speed-up it measured."""
    left_out = [e for e in result["execution"] if e["status"] == "left out"]
    notes = [
        f"Searched for {result['spent_s']:.0f} s of a {result['budget_s']:.0f} s budget: "
        f"{len(result['execution']) - len(left_out)} execution trials, "
        f"{len(result['trials'])} recipe trials, "
        + (
            "each forked from the search's zoo daemon (times without the framework's import)"
            if result.get("start") == "warm"
            else "each in its own process"
        )
        + ". Fastest execution: "
        f"{settings_text(result['fastest_execution'])}."
    ]
    notes += [f"Left out {e['precision']}: {e['reason']}" for e in left_out]
    if result["winner"] is None:
        notes.append(
            "No trial reached the target: nothing was cached. Raise --budget or lower the target."
        )
    elif result["speedup"] is not None:
        notes.append(
            f"The winner reached the target {result['speedup']:.2f}x faster than the "
            "default route (one run each; `zoo bench --suite time-to-target` repeats)."
        )
    else:
        d = result["default"] or {}
        why = (
            "did not reach the target in its epochs"
            if d.get("status") == "ok"
            else f"did not finish ({d.get('status', 'not run')}: {d.get('reason') or '-'})"
        )
        notes.append(f"The default route {why}: no speed-up to report.")
    return notes


def tuned_table(entries: Sequence[dict[str, Any]]) -> RenderableType:
    """`zoo tune --show`: the cached winners of this machine."""
    rows = [
        [
            e["model"],
            e["dataset"],
            e["backend"],
            e["target"],
            e["time_to_target_s"],
            e.get("default_time_to_target_s"),
            e.get("test_metric"),
            e["created"][:10],
            settings_text(tuned_settings(e)),
        ]
        for e in entries
    ]
    return table(
        "tuned on this machine",
        [
            Col("model"),
            Col("dataset"),
            Col("backend"),
            Col("target"),
            Col("time s", "s"),
            Col("default s", "s"),
            Col("test", "value"),
            Col("date"),
            Col("settings", "text"),
        ],
        rows,
    )


def race_trial_done(model: str, stage: str, row: dict[str, Any]) -> None:
    """`zoo tune --task/--models`' line on stderr as each trial finishes."""
    tune_trial_done(stage, row, model)


def race_table(result: dict[str, Any]) -> RenderableType:
    """The race: each model's fastest time to target (its winner) beside its default
    route's, fastest first; the models that could not run say why."""
    rows = sorted(
        result["models"],
        key=lambda r: (r.get("time_to_target_s") is None, r.get("time_to_target_s") or 0),
    )
    winner = (result.get("winner") or {}).get("model")
    metric = result["target"].partition("=")[0]
    return table(
        f"race on {result['dataset']}: time to {result['target']} (validation)",
        [
            Col(""),
            Col("model"),
            Col("time s", "s"),
            Col("default route s", "s"),
            Col(f"test {metric}", "value"),
            Col("trials", "count"),
            Col("status", "text"),
        ],
        [
            [
                "winner" if r["model"] == winner else "",
                r["model"],
                r.get("time_to_target_s"),
                r.get("default_time_to_target_s"),
                r.get("test_metric"),
                r.get("trials"),
                r["status"] if r["status"] != "skipped" else f"skipped: {r['reason']}",
            ]
            for r in rows
        ],
    )
