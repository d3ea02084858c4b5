"""Decoded real data, cached: a prepared TFDS image dataset (or a user's folder of texts)
read once, then as arrays.

TFDS keeps images as PNG inside TFRecord files, so every `zoo train --dataset mnist`
(fashion_mnist, cifar10) used to decode all of them again: about 5 s of the time to
target of every Fashion-MNIST run on a 2-core CPU. The first full read writes the decoded
uint8 arrays to the zoo's cache (``$XDG_CACHE_HOME/keras-zoo/decoded/NAME-KEY.npz``,
atomically); later reads load them in a fraction of a second.

The key is a fingerprint of the prepared TFRecord files (names, sizes, modification
times), so preparing or downloading the dataset again makes a new entry (the old one is
removed). A folder without TFRecord files (a dataset that is not prepared, or
`tfds.testing.mock_data`'s metadata folder) has no key and is never cached. The cache is
an optimization: a file that cannot be read is ignored and rewritten, one that cannot be
written leaves the load as it was. Delete the folder to free the space (Fashion-MNIST:
55 MB, CIFAR-10: 184 MB).

A user's folder of class sub-folders of texts (`zoo.data.local`) is cached the same way,
tokenized: the entry's name hashes the folder's path and the read's settings (seed,
test fraction, samples, vocabulary and length), so runs on several seeds keep one each;
its key hashes every file's path, size and modification time.
Reading and tokenizing 3,098 fortune cookies took about 1.1 s of every run's 4.9 s time
to target on a 2-core CPU; their cached arrays load in about 0.06 s, most of it the
look at each file's size and time.

Finding the prepared folder takes TFDS (its import and the dataset's builder, about 0.3 s
of every run on a 2-core CPU), so the folder it named is remembered (``folders.json``
beside the arrays), keyed by the dataset, the data_dir asked for, ``$TFDS_DATA_DIR`` and
the TFDS release: a later run whose remembered folder still has the cached arrays' key
loads them without TFDS. A folder prepared again changes the key, and a new TFDS
release, data_dir or ``$TFDS_DATA_DIR`` asks TFDS again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from zoo import io
from zoo.errors import OutputError

VERSION = 1  # of the cached arrays' layout: a change makes new keys
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def fingerprint(folder: str | Path) -> str | None:
    """The key of a prepared dataset folder: a hash of its TFRecord files' names, sizes
    and modification times; None where it holds none."""
    files = sorted(Path(folder).glob("*.tfrecord*"))
    if not files:
        return None
    h = hashlib.sha256(f"v{VERSION}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


FOLDERS = "decoded/folders.json"  # (dataset, data_dir, $TFDS_DATA_DIR, TFDS) -> folder


def _folder_key(name: str, data_dir: str | None) -> str:
    from importlib import metadata

    try:
        release = metadata.version("tensorflow-datasets")
    except metadata.PackageNotFoundError:
        release = "none"
    env = os.environ.get("TFDS_DATA_DIR", "")
    return "\0".join((name, str(data_dir or ""), env, release))


def remembered_folder(name: str, data_dir: str | None) -> str | None:
    """The prepared folder TFDS named for this dataset and data_dir last time (None:
    never asked, or asked under another TFDS release or $TFDS_DATA_DIR)."""
    found = io.read_cache(FOLDERS).get(_folder_key(name, data_dir))
    return found if isinstance(found, str) else None


def remember_folder(name: str, data_dir: str | None, folder: str | Path) -> None:
    """Remembers the folder TFDS named (where the cache cannot be written, nothing is)."""
    with contextlib.suppress(OSError, OutputError):
        io.write_cache(FOLDERS, _folder_key(name, data_dir), str(folder))


def path(name: str, key: str) -> Path:
    return io.cache_path(f"decoded/{name}-{key}.npz")


def tree_fingerprint(folder: str | Path) -> str:
    """The key of a user's folder: a hash of every file's path under it, size and
    modification time, so adding, removing or editing a file makes a new key (what else
    the arrays depend on is in the entry's name, `folder_name`)."""
    root = Path(folder)
    h = hashlib.sha256(f"v{VERSION}\n".encode())
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def folder_name(kind: str, folder: str | Path, settings: str) -> str:
    """The cache entry's name for a user's folder read with `settings`: one entry per
    folder and settings (runs on other seeds keep theirs), whose new key (the folder's
    files changed) replaces the old one."""
    where = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:12]
    how = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return f"{kind}-{where}-{how}"


def load(name: str, key: str, keys: tuple[str, ...] = ARRAYS) -> dict[str, np.ndarray] | None:
    """The cached arrays of dataset `name` at `key`, or None (missing or unreadable)."""
    try:
        with np.load(path(name, key), allow_pickle=False) as f:
            return {k: f[k] for k in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def save(
    name: str, key: str, arrays: dict[str, np.ndarray], keys: tuple[str, ...] = ARRAYS
) -> Path | None:
    """Writes the arrays atomically and removes the dataset's entries of other keys;
    None where the cache cannot be written (the load goes on without it)."""
    target = path(name, key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with io.atomic_path(target, suffix=".npz") as tmp:
            np.savez(tmp, **{k: arrays[k] for k in keys})
    except (OSError, OutputError):
        return None
    for old in target.parent.glob(f"{name}-*.npz"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target
