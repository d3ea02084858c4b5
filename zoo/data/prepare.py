"""Building TFDS datasets from files the user already has, with no network.

`prepare("fashion_mnist", "/usr/share/datasets/fashion-mnist")` runs TFDS's own builder
for the dataset, so the result is exactly what `tfds.load(name, download=False)` and
`zoo train --dataset NAME` read, but its download step is pointed at local files:

- mnist, fashion_mnist: the four IDX files (``train-images-idx3-ubyte`` and so on),
  gzipped or not. Their checksums are not checked against TFDS's: a re-compressed copy
  (a Debian package, a mirror) holds the same data in a different .gz.
- cifar10: ``cifar-10-binary.tar.gz``, or the python version ``cifar-10-python.tar.gz``
  (converted to the binary layout TFDS reads), or either one unpacked.

Only TFDS's `DownloadManager.download_and_extract` is replaced, for the duration of the
call; everything else is TFDS's code. This module needs TensorFlow.
"""

from __future__ import annotations

import contextlib
import gzip
import pickle
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from zoo.errors import DataError, InvalidArgumentError

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
PREPARABLE = {
    "mnist": IDX_FILES,
    "fashion_mnist": IDX_FILES,
    "cifar10": ("cifar-10-binary.tar.gz", "cifar-10-python.tar.gz"),
}


def _find_idx(source: Path, name: str, work: Path) -> Path:
    """The raw IDX file `name` from `source`, un-gzipped into `work` if needed."""
    for candidate in (source / name, source / f"{name}.gz"):
        if candidate.is_file():
            if candidate.suffix != ".gz":
                return candidate
            raw = work / name
            try:
                with gzip.open(candidate, "rb") as f, open(raw, "wb") as out:
                    shutil.copyfileobj(f, out)
            except (OSError, EOFError) as e:
                raise DataError(f"{candidate}: not a readable gzip file ({e}).") from None
            return raw
    raise DataError(
        f"{source}: no {name} or {name}.gz.",
        f"The folder must hold the four IDX files: {', '.join(IDX_FILES)}.",
    )


def _check_idx(path: Path, kind: str, count: int) -> None:
    """Checks an IDX header: magic number and item count, so bad files fail here."""
    with open(path, "rb") as f:
        header = f.read(8)
    magic = {"images": 2051, "labels": 2049}[kind]
    if len(header) < 8 or int.from_bytes(header[:4], "big") != magic:
        raise DataError(f"{path}: not an IDX {kind} file (bad magic number).")
    found = int.from_bytes(header[4:8], "big")
    if found != count:
        raise DataError(f"{path}: holds {found} {kind}, TFDS expects {count}.")


def _cifar_binary_dir(source: Path, work: Path) -> Path:
    """A folder holding cifar-10-batches-bin/, made from whatever form `source` has."""
    if (source / "cifar-10-batches-bin").is_dir():
        return source
    py_dir = source / "cifar-10-batches-py"
    for tarball in ("cifar-10-binary.tar.gz", "cifar-10-python.tar.gz"):
        if (source / tarball).is_file() and not py_dir.is_dir():
            try:
                with tarfile.open(source / tarball) as tar:
                    tar.extractall(work, filter="data")
            except (tarfile.TarError, OSError) as e:
                raise DataError(f"{source / tarball}: not a readable tar.gz ({e}).") from None
            if (work / "cifar-10-batches-bin").is_dir():
                return work
            py_dir = work / "cifar-10-batches-py"
            break
    if not py_dir.is_dir():
        raise DataError(
            f"{source}: no CIFAR-10 files.",
            "Give the folder holding cifar-10-binary.tar.gz or cifar-10-python.tar.gz.",
        )
    # The python version: pickled dicts of uint8 rows -> the binary records TFDS reads
    # (one label byte, then 3072 bytes of red, green and blue planes).
    out = work / "cifar-10-batches-bin"
    out.mkdir(exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        try:
            with open(py_dir / name, "rb") as f:
                batch = pickle.load(f, encoding="bytes")  # the official CIFAR-10 format
        except (OSError, pickle.UnpicklingError, EOFError) as e:
            raise DataError(f"{py_dir / name}: cannot read it ({e}).") from None
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)[:, None]
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        (out / f"{name}.bin").write_bytes(np.concatenate([labels, data], axis=1).tobytes())
    with open(py_dir / "batches.meta", "rb") as f:
        meta = pickle.load(f, encoding="bytes")
    names = [n.decode() for n in meta[b"label_names"]]
    (out / "batches.meta.txt").write_text("\n".join(names) + "\n")
    return work


def _local_files(name: str, source: Path, work: Path):
    """A replacement for DownloadManager.download_and_extract that serves local files."""

    def resolve(url: str) -> Path:
        base = url.rstrip("/").rsplit("/", 1)[-1]
        if name in ("mnist", "fashion_mnist"):
            return _find_idx(source, base.removesuffix(".gz"), work)
        return _cifar_binary_dir(source, work)

    def download_and_extract(self, url_or_urls: Any):
        if isinstance(url_or_urls, dict):
            return {k: resolve(v) for k, v in url_or_urls.items()}
        if isinstance(url_or_urls, (list, tuple)):
            return [resolve(v) for v in url_or_urls]
        return resolve(url_or_urls)

    return download_and_extract


def prepare(
    name: str,
    source: str | Path,
    data_dir: str | None = None,
    on_stage: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Builds the TFDS dataset `name` from local files in `source`; `on_stage(n, total,
    what)` hears of its two stages (checking the files, building the dataset).

    Returns:
        The folder TFDS wrote (under `data_dir`, or TFDS's default).

    Raises:
        InvalidArgumentError: the dataset cannot be prepared from files.
        DataError: the files are missing or malformed.
    """
    if name not in PREPARABLE:
        raise InvalidArgumentError(
            f"zoo data prepare knows {', '.join(PREPARABLE)}; received {name!r}.",
            "Other datasets: `zoo train ... --download` on a machine with a network.",
        )
    source = Path(source).expanduser()
    if not source.is_dir():
        raise DataError(f"--from {source} is not a folder.")
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    with tempfile.TemporaryDirectory(prefix="zoo-prepare-") as tmp:
        work = Path(tmp)
        if on_stage:
            on_stage(1, 2, "checking the files")
        if name in ("mnist", "fashion_mnist"):
            for base, count in zip(IDX_FILES, (60000, 60000, 10000, 10000), strict=True):
                _check_idx(_find_idx(source, base, work), base.split("-")[1], count)
        patch = mock.patch.object(
            tfds.download.DownloadManager, "download_and_extract", _local_files(name, source, work)
        )
        if on_stage:
            on_stage(2, 2, "building the TFDS dataset")
        with patch, contextlib.suppress(FileExistsError):
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(try_download_gcs=False)
            )
    return Path(builder.data_dir)


def status(name: str, data_dir: str | None = None) -> dict[str, Any]:
    """Whether a TFDS dataset is prepared locally, where, and its size on disk in bytes."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir)
    path = Path(builder.data_dir)
    prepared = (path / "dataset_info.json").is_file()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if prepared else 0
    return {"prepared": prepared, "path": str(path), "bytes": size}
