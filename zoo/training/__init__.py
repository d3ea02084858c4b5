"""Training and evaluation of zoo models: `train` and `evaluate` return result records.

The library never prints: progress reaches the caller through a `Progress` object whose
methods are called at the start, after each batch and after each epoch.

    config.py      TrainRequest (the arguments) -> Recipe, RunConfig and TrainConfig
                   (resolved, checked)
    compile.py     build and compile a model (shared with zoo.perf)
    feed.py        the validation split; arrays or tf.data into fit and evaluate
    callbacks.py   the Keras callbacks (imports Keras; imported only to train)
    checkpoint.py  the run folder (recipe.toml first), the resume state, load_model /
                   load_run
    loop.py        train: prepare -> fit -> write
    evaluation.py  evaluate
    results.py     Progress, TrainResult, EvalResult

Importing this package imports no framework.
"""

from zoo.training.checkpoint import (
    BACKUP_DIR,
    HISTORY_FILE,
    LAST_FILE,
    MODEL_FILE,
    RECIPE_FILE,
    RESULT_FILE,
    STATE_FILE,
    TENSORBOARD_DIR,
    load_model,
    load_run,
)
from zoo.training.compile import build_model, build_optimizer, compile_model
from zoo.training.config import TrainConfig, TrainRequest
from zoo.training.evaluation import evaluate
from zoo.training.loop import train
from zoo.training.results import EvalResult, Progress, TrainResult

__all__ = [
    "BACKUP_DIR",
    "HISTORY_FILE",
    "LAST_FILE",
    "MODEL_FILE",
    "RECIPE_FILE",
    "RESULT_FILE",
    "STATE_FILE",
    "TENSORBOARD_DIR",
    "EvalResult",
    "Progress",
    "TrainConfig",
    "TrainRequest",
    "TrainResult",
    "build_model",
    "build_optimizer",
    "compile_model",
    "evaluate",
    "load_model",
    "load_run",
    "train",
]
