"""Importing Keras (and TensorFlow) without its start-up log lines reaching the user.

TensorFlow >= 2.20 logs through absl before TF_CPP_MIN_LOG_LEVEL is read, so the only
reliable silencer is to point file descriptor 2 elsewhere during the import. What it
wrote is kept and shown if the import fails.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from zoo.errors import ZooError


def select_backend(backend: str | None) -> None:
    """Chooses the Keras backend for this process (Keras reads KERAS_BACKEND on import).

    Raises:
        InvalidArgumentError: an unknown backend, one that is not installed, or Keras was
            already imported with another.
    """
    if backend is None:
        return
    import importlib.util

    from zoo.choices import BACKEND_EXTRA, BACKENDS, check_choice
    from zoo.errors import InvalidArgumentError

    check_choice("backend", backend, BACKENDS)
    if importlib.util.find_spec(backend) is None:
        extra = BACKEND_EXTRA[backend]
        raise InvalidArgumentError(
            f"The {backend} backend is not installed.",
            f"pip install 'keras-zoo[{extra}]'" if extra else f"pip install {backend}",
        )
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            from zoo import daemon

            if daemon.served():  # the daemon imported another: the client runs it cold
                raise daemon.RunCold(backend)
            raise InvalidArgumentError(
                f"Keras already runs on {keras.backend.backend()} in this process.",
                f"Set KERAS_BACKEND={backend} before starting it.",
            )
        return
    os.environ["KERAS_BACKEND"] = backend


def native_stdout_to_stderr() -> None:
    """What native libraries write to the process's stdout goes to stderr from now on
    (Gloo, the CPU collectives of a multi-process JAX job, announces its peers there),
    while Python's stdout, the command's results (--json), keeps the real one."""
    sys.stdout.flush()
    kept = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(kept, "w", buffering=1, encoding=sys.stdout.encoding or "utf-8")


# A run forked from the zoo daemon has Keras imported but its runtime not started: the
# first import_quietly still prepares and starts it, quietly (`fresh_runtime`).
_fresh = False


def fresh_runtime() -> None:
    """Marks Keras as imported with its runtime not started yet (a run the daemon forked)."""
    global _fresh
    _fresh = True


def import_quietly(run=None) -> None:
    """Imports Keras and its backend once, with their stderr start-up chatter captured.

    A `zoo.runtime.RunConfig` gets its `prepare` first (threads, logical CPU devices, a
    multi-worker strategy): that is only possible before the runtime starts, which this
    function then does (the start logs as well).
    """
    global _fresh
    if "keras" in sys.modules and not _fresh:
        return
    _fresh = False
    if run is not None:
        from zoo.runtime import distribute

        if distribute.processes_asked(run) > 1:  # before the processes join
            native_stdout_to_stderr()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            from zoo.runtime.imports import import_keras

            import_keras()  # without the JAX and matplotlib TensorFlow would pull in
            import keras

            if run is not None:  # before the backend starts (JAX: its CPU split)
                from zoo import runtime

                runtime.prepare(run)
            if keras.backend.backend() == "tensorflow":  # start the runtime, which logs too
                import tensorflow as tf

                tf.config.list_logical_devices()
        except ZooError:
            raise
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    # TensorFlow, TFDS and absl also warn through Python logging (deprecations, retracing).
    for name in ("absl", "tensorflow", "tensorflow_datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
