"""Bar charts of benchmark results (`--plot FILE.png` on bench and compare); matplotlib is
an optional extra: `pip install 'keras-zoo[plot]'`."""

from __future__ import annotations

from pathlib import Path

from zoo.errors import UsageError


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib, which is not installed.",
            "Install it with: pip install 'keras-zoo[plot]'",
        ) from None
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    from zoo import io

    path = Path(path)
    with io.atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def bench_chart(rows: list[dict], path: Path, title: str) -> Path:
    """Training throughput per model (and batch), one bar per mode and precision, on a log
    scale (the models span orders of magnitude); whiskers span the repeats."""
    plt = _pyplot()
    ok = [r for r in rows if r["train_samples_per_s"]]
    groups = sorted({(r["model"], r["batch_size"], r["device"]) for r in ok})
    settings = sorted({(r["mode"], r["precision"]) for r in ok})
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(groups) * max(len(settings), 1) + 2), 4))
    width = 0.8 / max(len(settings), 1)
    for k, setting in enumerate(settings):
        heights, low, high = [], [], []
        for group in groups:
            r = next(
                (
                    r
                    for r in ok
                    if (r["model"], r["batch_size"], r["device"]) == group
                    and (r["mode"], r["precision"]) == setting
                ),
                None,
            )
            value = r["train_samples_per_s"] if r else 0
            heights.append(value)
            low.append(value - r["train_samples_per_s_min"] if r else 0)
            high.append(r["train_samples_per_s_max"] - value if r else 0)
        ax.bar(
            [i + k * width for i in range(len(groups))],
            heights,
            width,
            yerr=[low, high],
            capsize=2,
            label=" ".join(setting),
        )
    labels = [f"{m} b{b}" + ("" if d == "cpu" else f" {d}") for m, b, d in groups]
    ax.set_xticks(
        [i + width * (len(settings) - 1) / 2 for i in range(len(groups))],
        labels,
        rotation=30,
        ha="right",
    )
    ax.set_yscale("log")
    ax.set_ylabel("training samples/s")
    ax.set_title(f"{title} (median of repeats; whiskers: min-max)")
    ax.legend(fontsize="small")
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def compare_chart(rows: list[dict], path: Path, title: str) -> Path:
    """NEW / BASE training throughput per case, with the noise band of each."""
    plt = _pyplot()
    labels = [f"{r['model']} {r['mode']} {r['precision']} b{r['batch_size']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(rows)), 4))
    colors = [
        "tab:red" if r["regressed"] else "tab:gray" if r["noisy"] else "tab:blue" for r in rows
    ]
    ax.bar(
        range(len(rows)),
        [r["ratio"] for r in rows],
        yerr=[r["spread"] for r in rows],
        color=colors,
        capsize=2,
    )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(rows)), labels, rotation=30, ha="right")
    ax.set_ylabel("new / base training samples/s")
    ax.set_title(title)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def inference_chart(rows: dict[str, list[dict]], path: Path, title: str) -> Path:
    """Latency (p50, with p99 dashed) and throughput per batch size, one line per model
    or artifact, on log-log axes."""
    plt = _pyplot()
    fig, (lat, thr) = plt.subplots(1, 2, figsize=(10, 4))
    for k, (name, side) in enumerate(rows.items()):
        color = f"C{k}"
        batches = [r["batch_size"] for r in side]
        lat.plot(batches, [r["p50_ms"] for r in side], "o-", color=color, label=f"{name} p50")
        lat.plot(batches, [r["p99_ms"] for r in side], "--", color=color, label=f"{name} p99")
        thr.plot(batches, [r["samples_per_s"] for r in side], "o-", color=color, label=name)
    batches = sorted({r["batch_size"] for side in rows.values() for r in side})
    for ax, label in ((lat, "latency (ms)"), (thr, "samples/s")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)
