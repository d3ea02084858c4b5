"""Errors the zoo raises for problems a user can fix.

The CLI turns a `ZooError` into one line (what was wrong, what is allowed, how to fix it)
and its `exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ZooError(Exception):
    """A problem with the user's input, files or environment, not a bug in the zoo."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class UsageError(ZooError):
    """The request itself is wrong: an unknown name or a value out of range (exit code 2)."""

    exit_code = 2


class UnknownModelError(UsageError, KeyError):
    """No model is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return ZooError.__str__(self)


class InvalidArgumentError(UsageError, ValueError):
    """A hyper-parameter or option has a name or value that is not allowed."""


class RegistryError(ZooError):
    """A model was registered twice, or a plugin's registration is broken."""


class DataError(ZooError):
    """A dataset is missing, unreadable, or does not fit the model."""


class ModelFileError(ZooError):
    """A saved model cannot be read (missing, corrupt, not a zoo model, or unsafe)."""


class OutputError(ZooError):
    """Results or checkpoints cannot be written where the user asked."""


class DeviceError(ZooError):
    """The requested device is not there."""


class SuiteError(ZooError):
    """A suite file that cannot be read or names something that does not exist."""


class TrainingDivergedError(ZooError):
    """The loss became NaN or infinite."""


class UnfairComparisonError(UsageError):
    """Two benchmark runs differ in a setting that changes speed (exit code 2)."""


class UnsupportedExportError(UsageError):
    """A format, model, quantization and backend that do not go together (exit code 2)."""


class MissingRuntimeError(ZooError):
    """The runtime that loads an exported artifact is not installed."""


class ParityError(ZooError):
    """An exported artifact's outputs differ from the Keras model's beyond tolerance."""
