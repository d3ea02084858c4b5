"""Importing Keras on TensorFlow without what TensorFlow's import pulls in for nothing.

TensorFlow's import imports JAX, for TFLite's from-JAX converter
(`tensorflow.lite.python.util`), and Keras' import imports matplotlib, for its plotting
helpers (`keras.visualization`), whenever they are installed; both guard the import and
carry on without it. The zoo's own processes (the CLI, a tuning trial) use neither, and
together they were 1.2-1.3 s of a 4 s TensorFlow import on a 2-core Xeon: a twentieth of
a Fashion-MNIST time to target. Importing this module imports no framework.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

UNUSED = ("jax", "matplotlib")


@contextlib.contextmanager
def without_unused() -> Iterator[None]:
    """Inside the block, importing UNUSED fails (ImportError) for the modules not imported
    yet, on the TensorFlow backend only (JAX's backend needs JAX); afterwards they import
    as usual, while the modules that tried keep their fallback. For a zoo process, not a
    user's: in that process `keras.visualization` says matplotlib is missing."""
    if "keras" in sys.modules or keras_backend() != "tensorflow":
        yield
        return
    blocked = [m for m in UNUSED if m not in sys.modules]
    for m in blocked:
        sys.modules[m] = None  # type: ignore[assignment]  # the import system's "not found"
    try:
        yield
    finally:
        for m in blocked:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]


@contextlib.contextmanager
def tensorflow_left_alone() -> Iterator[None]:
    """Inside the block, on a backend other than TensorFlow, Keras' "is TensorFlow
    installed?" (`keras.src.utils.module_utils.tensorflow.available`, which imports it to
    find out) answers no while TensorFlow is not imported yet; afterwards Keras asks again.
    Keras asks it to seed TensorFlow (`keras.utils.set_random_seed`) and, saving a model,
    whether each value is a tf.TensorShape: no value of TensorFlow's exists before its
    import, and the import was 2-3 s of every zoo run on JAX here. Another Keras' layout
    (no such module) leaves the block to Keras."""
    import keras

    try:
        from keras.src.utils import module_utils

        lazy = module_utils.tensorflow
        unasked = lazy._available is None and lazy.module is None
    except (ImportError, AttributeError):
        unasked = False
    if not unasked or "tensorflow" in sys.modules or keras.backend.backend() == "tensorflow":
        yield
        return
    lazy._available = False
    try:
        yield
    finally:
        if lazy._available is False and lazy.module is None:
            lazy._available = None  # asked afresh next time


def keras_json() -> str:
    """Keras' config file as `keras.src.backend.config` finds it: keras.json in KERAS_HOME
    (default ~/.keras, or /tmp/.keras where home is not writable)."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return os.path.join(os.path.expanduser(home), "keras.json")


def keras_backend() -> str:
    """The backend Keras will pick when imported, read as `keras.src.backend.config` reads
    it: KERAS_BACKEND when set and not empty, else keras.json's "backend" (`keras_json`),
    else "tensorflow"."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    try:
        with open(keras_json()) as f:
            backend = json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"
    return backend if isinstance(backend, str) else "tensorflow"


def import_keras() -> None:
    """Imports Keras (and its backend) as `without_unused` allows."""
    with without_unused():
        import keras  # noqa: F401
