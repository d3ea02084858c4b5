"""zoo.data.decoded: prepared image datasets cached decoded, keyed by their files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from zoo.data import decoded


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _arrays(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (6, 4, 4, 1), dtype=np.uint8),
        "y_train": rng.integers(0, 3, 6),
        "x_test": rng.integers(0, 256, (2, 4, 4, 1), dtype=np.uint8),
        "y_test": rng.integers(0, 3, 2),
    }


def test_a_folder_without_tfrecords_has_no_key(tmp_path):
    assert decoded.fingerprint(tmp_path) is None
    (tmp_path / "dataset_info.json").write_text("{}")  # mock_data's metadata folder is so
    assert decoded.fingerprint(tmp_path) is None


def test_the_key_changes_when_the_prepared_files_do(tmp_path):
    record = tmp_path / "mnist-train.tfrecord-00000-of-00001"
    record.write_bytes(b"a" * 10)
    first = decoded.fingerprint(tmp_path)
    assert first is not None and decoded.fingerprint(tmp_path) == first
    record.write_bytes(b"b" * 11)  # prepared again
    assert decoded.fingerprint(tmp_path) != first
    second = decoded.fingerprint(tmp_path)
    os.utime(record, ns=(1, 1))  # same size, another time
    assert decoded.fingerprint(tmp_path) != second


def test_save_then_load_gives_the_arrays_back_and_drops_older_keys(cache_home):
    assert decoded.load("mnist", "k1") is None
    a, b = _arrays(0), _arrays(1)
    first = decoded.save("mnist", "k1", a)
    assert first is not None and first.parent == cache_home / "keras-zoo" / "decoded"
    got = decoded.load("mnist", "k1")
    assert got is not None and all(np.array_equal(got[k], a[k]) for k in decoded.ARRAYS)
    decoded.save("mnist", "k2", b)
    assert not first.exists()  # the stale entry is gone
    assert decoded.load("mnist", "k2")["x_test"].tobytes() == b["x_test"].tobytes()
    decoded.save("cifar10", "k9", a)  # another dataset's entry stays beside it
    assert decoded.load("mnist", "k2") is not None


def test_a_torn_cache_file_is_ignored(cache_home):
    target = decoded.path("mnist", "k1")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"PK\x03\x04 not a whole npz")
    assert decoded.load("mnist", "k1") is None
    assert decoded.save("mnist", "k1", _arrays(0)) == target
    assert decoded.load("mnist", "k1") is not None


def test_an_unwritable_cache_leaves_the_load_alone(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder would be
    assert decoded.save("mnist", "k1", _arrays(0)) is None


def test_the_folder_tfds_named_is_remembered_per_tfds_data_dir(cache_home, monkeypatch):
    assert decoded.remembered_folder("mnist", None) is None
    decoded.remember_folder("mnist", None, "/data/mnist/3.0.1")
    assert decoded.remembered_folder("mnist", None) == "/data/mnist/3.0.1"
    assert decoded.remembered_folder("mnist", "/elsewhere") is None  # another data_dir
    monkeypatch.setenv("TFDS_DATA_DIR", "/other")
    assert decoded.remembered_folder("mnist", None) is None  # TFDS would look elsewhere


def test_a_cached_dataset_loads_without_tfds_until_its_files_change(
    cache_home, tmp_path, monkeypatch
):
    from zoo.data import tfds as ztfds

    folder = tmp_path / "mnist" / "3.0.1"
    folder.mkdir(parents=True)
    record = folder / "mnist-train.tfrecord-00000-of-00001"
    record.write_bytes(b"a" * 10)
    asked = []

    class FakeTfds:
        def builder(self, name, data_dir=None):
            asked.append(name)
            return type("Builder", (), {"data_dir": str(folder)})()

    monkeypatch.setattr(ztfds, "_tfds", FakeTfds)
    arrays = _arrays(0)
    decoded.save("mnist", decoded.fingerprint(folder), arrays)
    got, key = ztfds._cached_images("mnist", None)  # the first time TFDS names the folder
    assert asked == ["mnist"] and np.array_equal(got["x_train"], arrays["x_train"])
    got, again = ztfds._cached_images("mnist", None)  # then the remembered folder does
    assert asked == ["mnist"] and again == key and got is not None
    record.write_bytes(b"b" * 11)  # prepared again: a new key, no arrays, TFDS asked
    got, new_key = ztfds._cached_images("mnist", None)
    assert asked == ["mnist", "mnist"] and got is None and new_key not in (None, key)
