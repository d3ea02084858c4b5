"""Shared fixtures. Trained models are made once per session and shared."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory):
    """A small mlp trained for one epoch, saved as a run folder."""
    import zoo

    out = tmp_path_factory.mktemp("mlp_run")
    result = zoo.train("mlp", epochs=1, samples=512, output=out)
    return out, result
