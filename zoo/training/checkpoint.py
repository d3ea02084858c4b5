"""The run folder: its files (each written atomically), the training state that --resume
continues from, and loading a saved model back in Keras safe mode.

A run folder holds recipe.toml (what the run was asked: `zoo train --recipe FOLDER` runs
it again), model.keras (the best epoch), last.keras, history.csv, result.json and, while
the run lasts, backup/ (state.json naming a complete weights file).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import warnings
import zipfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from zoo import io, runtime
from zoo import recipe as zrecipe
from zoo.errors import InvalidArgumentError, ModelFileError
from zoo.runtime.imports import tensorflow_left_alone

MODEL_FILE = "model.keras"  # the best epoch by the validation loss (else the last)
LAST_FILE = "last.keras"  # the last completed epoch
RESULT_FILE = "result.json"
HISTORY_FILE = "history.csv"
BACKUP_DIR = "backup"  # the training state for --resume, removed when the run finishes
STATE_FILE = "state.json"
TENSORBOARD_DIR = "tensorboard"
RECIPE_FILE = zrecipe.FILE  # the settings the run was asked, as a recipe file


@dataclass(frozen=True)
class RunFolder:
    """Where one process of a run writes. Over several processes (multi-worker, or a
    keras.distribution over several hosts) every process saves the same checkpoints
    (saving reads distributed variables collectively): the chief (the first) in
    `output`, the others in a folder of their own that they delete at the end."""

    output: Path | None  # what the caller asked for (None: nothing is written)
    path: Path | None  # where this process writes: `output`, or a worker's own folder
    chief: bool = True

    @property
    def backup(self) -> Path | None:
        return self.path / BACKUP_DIR if self.path is not None else None


def run_folder(output: Path | None, run: runtime.RunConfig) -> RunFolder:
    """The folder this process writes in (created when the first file is due)."""
    from zoo.runtime import distribute

    if output is None or not distribute.several_processes(run):
        return RunFolder(output, output)
    if distribute.is_chief(run):
        return RunFolder(output, output)
    return RunFolder(output, output / f".worker-{distribute.task_index(run)}", chief=False)


def check_resume(folder: RunFolder, resume: bool, fingerprint: dict) -> dict[str, Any] | None:
    """The saved training state to resume from (None: start afresh).

    Raises:
        InvalidArgumentError: an interrupted run is in the way without --resume, --resume
            names a finished run, or the settings differ from the interrupted run's.
    """
    backup_dir, out_dir = folder.backup, folder.path
    if backup_dir is None:
        return None
    state = read_state(backup_dir)
    if state is None:
        if resume and (out_dir / RESULT_FILE).is_file():
            raise InvalidArgumentError(
                f"The run in {out_dir} already finished; there is nothing to resume.",
                "Drop --resume and choose a new --output to train again.",
            )
        return None
    if not resume:
        raise InvalidArgumentError(
            f"{out_dir} holds an interrupted run (epoch {state['epoch']} of "
            f"{state['config']['epochs']} done).",
            f"Add --resume to continue it, or choose another --output (or delete {backup_dir}).",
        )
    differ = _differences(state, fingerprint)
    if differ:
        raise InvalidArgumentError(
            f"--resume needs the interrupted run's settings; these differ: {', '.join(differ)}.",
            "Repeat the original command with --resume.",
        )
    return state


def read_state(backup_dir: Path) -> dict[str, Any] | None:
    """The training state in `backup_dir` (None when there is none).

    Raises:
        ModelFileError: state.json is unreadable or names a missing weights file.
    """
    path = backup_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not (backup_dir / state["weights"]).is_file():
            raise ValueError("its weights file is missing")
        int(state["epoch"])
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise ModelFileError(
            f"The training state in {path} is unreadable ({e}).",
            f"Delete {backup_dir} to start the run over.",
        ) from None
    return state


def _differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(saved) | set(now)):
        if key in ("history", "best", "best_epoch", "epoch", "weights", "threads"):
            continue
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} (was {a!r}, now {b!r})")
    return out


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    """history.csv: one row per epoch, a column per metric."""
    buf = StringIO()
    columns = list(dict.fromkeys(k for row in history for k in row))
    writer = csv.DictWriter(buf, columns)
    writer.writeheader()
    writer.writerows(history)
    with io.atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def write_recipe(folder: RunFolder, asked: zrecipe.RecipeFile) -> None:
    """The chief writes recipe.toml as the run starts (an interrupted run has one too)."""
    if folder.output is None or not folder.chief:
        return
    folder.output.mkdir(parents=True, exist_ok=True)
    comment = (
        f"The recipe of the {asked.model} run in this folder. Run it again with:\n"
        f"  zoo train --recipe {folder.output}\n"
        "(options given on the command line go on top)."
    )
    zrecipe.write(folder.output / RECIPE_FILE, asked, comment)


def write_run(folder: RunFolder, result, net, tensorboard: bool) -> None:
    """The chief writes result.json and history.csv (and model.keras where no epoch ran
    here, as when resuming a finished run) and records the paths in `result`."""
    if folder.output is None or not folder.chief:
        return
    out_dir = folder.output
    paths = {
        "model": out_dir / MODEL_FILE,
        "last": out_dir / LAST_FILE,
        "result": out_dir / RESULT_FILE,
        "history": out_dir / HISTORY_FILE,
        "recipe": out_dir / RECIPE_FILE,
    }
    if tensorboard:
        paths["tensorboard"] = out_dir / TENSORBOARD_DIR
    result.paths = {k: str(v) for k, v in paths.items()}
    if not paths["model"].is_file():
        with io.atomic_path(paths["model"], suffix=".keras") as tmp, tensorflow_left_alone():
            net.save(tmp)
    write_history(paths["history"], result.history)
    io.write_json(paths["result"], result)


def finish(folder: RunFolder) -> None:
    """The run is complete: drop its training state (a worker, its whole folder)."""
    if folder.backup is not None:
        _discard(folder.backup if folder.chief else folder.path)


def _discard(path: Path) -> None:
    """Removes a folder so that a kill midway never leaves half of it: it is first renamed
    (atomically) out of the way, then deleted."""
    if not path.exists():
        return
    trash = path.with_name(f".discarded-{path.name}")
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def load_model(path: str | Path):
    """Loads a `.keras` file in Keras safe mode, without its optimizer.

    Raises:
        ModelFileError: the file is missing, not a Keras archive, corrupt, or unsafe
            (a Lambda layer or a class that is not registered).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"No model file at {path}.",
            "Pass a run folder written by `zoo train --output` or a .keras file.",
        )
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a .keras file (it is not a zip archive).",
            "Pass a file saved by `zoo train --output` or model.save().",
        )
    import keras

    import zoo.layers  # noqa: F401  (registers the zoo's custom layers)

    if _names_keras_hub(path):  # registers its classes (bert, gpt2); it imports TensorFlow
        with contextlib.suppress(ImportError):
            import keras_hub  # noqa: F401

    try:
        with warnings.catch_warnings(), tensorflow_left_alone():
            warnings.simplefilter("ignore", UserWarning)  # Keras' notes on nested compile configs
            return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for bad archives
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(
            f"Cannot load {path}: {first[:300]}",
            "The file is corrupt, unsafe or not a Keras 3 model.",
        ) from None


def _names_keras_hub(path: Path) -> bool:
    """Whether a .keras archive's config names a keras-hub class (True where it cannot be
    read: the load then says what is wrong)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return b"keras_hub" in archive.read("config.json")
    except (OSError, KeyError, zipfile.BadZipFile):
        return True


def load_run(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Loads the model of a run folder (with its result.json) or of a `.keras` file.

    Returns:
        The model, and the run record ({} for a bare `.keras` file).

    Raises:
        ModelFileError: no loadable model there, or an unreadable result.json.
    """
    path = Path(path)
    run: dict[str, Any] = {}
    if path.is_dir():
        if (path / RESULT_FILE).is_file():
            try:
                run = json.loads((path / RESULT_FILE).read_text(encoding="utf-8"))
            except (ValueError, OSError) as e:
                raise ModelFileError(f"Cannot read {path / RESULT_FILE}: {e}.") from None
        path = path / MODEL_FILE
    return load_model(path), run
