"""zoo.record: the schema version, provenance (argv, versions, git, machine) and the
machine fingerprint that keys the per-machine caches."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from zoo import io, record

ROOT = Path(__file__).resolve().parents[1]


def test_stamp_puts_schema_kind_and_provenance_around_the_record():
    out = record.stamp({"case": "a", "schema": 1, "num_params": 5}, "bench")
    assert list(out)[:2] == ["schema", "kind"] and list(out)[-1] == "provenance"
    assert out["schema"] == record.SCHEMA_VERSION == 2 and out["kind"] == "bench"
    assert out["case"] == "a" and out["num_params"] == 5
    assert record.stamp({"kind": "target"}, "bench")["kind"] == "target"  # its own wins
    theirs = {"argv": ["elsewhere"]}
    assert record.stamp({"provenance": theirs}, "bench")["provenance"] == theirs
    assert record.schema_of({"case": "a"}) == 1 and record.schema_of(out) == 2


def test_provenance_names_the_command_versions_and_machine():
    p = record.provenance()
    assert p["argv"] == sys.argv and p["zoo"]
    assert set(record.LIBRARIES) | {"python"} == set(p["versions"])
    assert p["versions"]["numpy"] == __import__("numpy").__version__
    m = p["machine"]
    assert m["cpu_flags"] == io.cpu_info()["flags"] and m["cores"] >= 1
    assert m["cpu"] == io.cpu_info()["model"]


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not run from a git checkout")
def test_provenance_holds_the_commit_of_this_checkout():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    git = record.provenance()["git"]
    assert git["commit"] == head.stdout.decode().strip() and isinstance(git["dirty"], bool)


def test_git_state_says_dirty_and_none_outside_a_checkout(tmp_path):
    assert record.git_state(tmp_path) is None
    git = ["git", "-C", str(tmp_path), "-c", "user.name=z", "-c", "user.email=z@z"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "a.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    clean = record.git_state(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "a.py").write_text("x = 2\n")
    assert record.git_state(tmp_path)["dirty"] is True


def test_provenance_imports_no_framework():
    code = (
        "import sys, zoo.record as r; r.provenance(); "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gpus_and_driver_come_from_the_driver_files(tmp_path):
    assert io.nvidia_gpus(tmp_path / "none") == (None, None)
    gpu = tmp_path / "gpus" / "0000:00:04.0"
    gpu.mkdir(parents=True)
    (gpu / "information").write_text("Model: \t\t NVIDIA H200\nIRQ: 10\n")
    (tmp_path / "version").write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
    )
    assert io.nvidia_gpus(tmp_path) == (["NVIDIA H200"], "550.54.15")


def test_cache_keys_are_the_fingerprint_not_the_hostname(monkeypatch):
    import platform

    monkeypatch.setattr(platform, "node", lambda: "some-host")
    fake = types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: "jax"))
    monkeypatch.setitem(sys.modules, "keras", fake)
    key = io.machine_key("cpu", "float32")
    assert "some-host" not in key
    assert key == f"{record.machine_fingerprint()}|jax|cpu|float32"
    flags = io.cpu_info()["flags"]
    assert " ".join(flags) in key and f"{io.machine()['cores']} cores" in key


def test_a_wheel_without_a_checkout_reports_the_commit_it_was_built_from(tmp_path, monkeypatch):
    built = tmp_path / "_git.json"
    monkeypatch.setattr(record, "BUILT_FROM", built)
    assert record.built_from() is None
    built.write_text('{"commit": "abc123", "dirty": false}')
    assert record.built_from() == {"commit": "abc123", "dirty": False, "source": "wheel"}
