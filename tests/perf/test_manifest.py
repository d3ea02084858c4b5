"""The fairness manifest: what it records, and `zoo compare` refusing unfair pairs."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from tests.perf.test_bench import profile_fields
from zoo import io
from zoo.choices import SPEED_SETTINGS
from zoo.errors import InvalidArgumentError, UnfairComparisonError
from zoo.perf import compare as perf_compare
from zoo.perf import manifest

runner = CliRunner()

# The first processor of an AVX2-only EPYC (Zen 2) and of an AVX-512 one (Zen 4): the
# same model name, other ISA flags.
AVX2_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 49
model name\t: AMD EPYC
stepping\t: 0
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni

processor\t: 1
flags\t\t: fpu avx512f
"""
AVX512_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse4_2 avx fma f16c avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
"""
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp sve i8mm bf16
CPU implementer\t: 0x41
"""


def test_isa_flags_are_parsed_from_the_given_cpuinfo():
    zen2, zen4 = io.cpu_info(AVX2_CPUINFO), io.cpu_info(AVX512_CPUINFO)
    assert zen2["model"] == zen4["model"] == "AMD EPYC"
    assert zen2["flags"] == ["sse4_2", "avx", "avx2", "fma", "f16c"]  # ISA_FLAGS' order
    assert zen4["flags"] == [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512_vnni",
        "avx512_bf16",
    ]
    assert zen2["id"] == "AuthenticAMD family 23 model 49 stepping 0"
    assert zen4["id"] == "AuthenticAMD family 25 model 17 stepping 1"
    arm = io.cpu_info(ARM_CPUINFO)
    assert arm["flags"] == ["asimd", "asimdhp", "sve", "bf16", "i8mm"] and arm["id"] is None
    assert io.cpu_info("")["flags"] is None  # no flags listed: unknown, not "none"


def test_the_environment_keeps_cpu_and_adds_its_flags():
    env = io.environment()
    assert {"cpu", "cpu_id", "cpu_flags"} <= set(env)
    assert env["cpu_flags"] == io.cpu_info()["flags"]


def test_the_manifest_has_every_field():
    m = manifest.collect(
        backend="tensorflow",
        device="cpu",
        mode="xla",
        precision="mixed_bfloat16",
        batch_size=32,
        xla=True,
        warmup_steps=3,
        timed_steps=20,
        steps_per_execution=4,
        data_placement="tf.data (batch repeated)",
        cpuinfo=AVX2_CPUINFO,
    )
    assert list(m) == list(manifest.FIELDS)
    assert set(SPEED_SETTINGS) <= set(m)
    assert m["cpu"] == "AMD EPYC (AuthenticAMD family 23 model 49 stepping 0)"
    assert m["cpu_flags"] == ["sse4_2", "avx", "avx2", "fma", "f16c"]
    assert (m["gpu"], m["gpu_driver"]) == (None, None)
    assert m["xla"] is True and m["precision"] == "mixed_bfloat16"
    assert (m["batch_size"], m["steps_per_execution"]) == (32, 4)
    assert (m["warmup_steps"], m["timed_steps"]) == (3, 20)
    assert m["matmul_precision"] in ("default", "highest")
    assert set(m["tf32"]) == {"matmul", "conv"}
    assert set(m["threads"]) == {"intra_op", "inter_op", "cpus", "env"}
    assert m["threads"]["cpus"] == len(os.sched_getaffinity(0))
    assert set(m["versions"]) == {"python", "keras", "numpy", "tensorflow"}
    assert m["onednn"]["enabled"] == (os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0")


def test_pool_variables_and_xla_flags_are_recorded(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    assert manifest.threads("jax")["env"] == {"OMP_NUM_THREADS": "1"}
    assert manifest.threads("jax")["intra_op"] is None  # JAX has no setting
    m = manifest.collect(
        backend="jax",
        device="cpu",
        mode="graph",
        precision="float32",
        batch_size=8,
        xla=True,
        warmup_steps=1,
        timed_steps=2,
        cpuinfo=AVX512_CPUINFO,
    )
    assert m["xla_flags"] == {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
    assert set(m["versions"]) == {"python", "keras", "numpy", "jax", "jaxlib"}
    assert m["onednn"] is None


def test_bench_pins_full_float32_when_backends_are_compared(monkeypatch):
    assert manifest.bench_matmul_precision(None, ["tensorflow", "jax", "tensorflow"]) == "highest"
    assert manifest.bench_matmul_precision(None, ["tensorflow"] * 3) == "default"
    assert manifest.bench_matmul_precision("default", ["tensorflow", "jax"]) == "default"
    with pytest.raises(InvalidArgumentError, match="Allowed: highest, default"):
        manifest.bench_matmul_precision("tf32", ["jax"])
    monkeypatch.delenv(manifest.MATMUL_PRECISION_ENV, raising=False)
    with manifest.workers_pin("highest"):
        assert os.environ[manifest.MATMUL_PRECISION_ENV] == "highest"
    assert manifest.MATMUL_PRECISION_ENV not in os.environ


# --- zoo compare on hand-written records ------------------------------------------------

MANIFEST = {
    "backend": "tensorflow",
    "device": "cpu",
    "cpu": "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)",
    "cpu_flags": ["avx", "avx2", "fma", "avx512f", "avx512_bf16"],
    "gpu": None,
    "gpu_driver": None,
    "versions": {"python": "3.11.7", "keras": "3.15.1", "numpy": "2.4.6", "tensorflow": "2.21.0"},
    "precision": "float32",
    "matmul_precision": "default",
    "tf32": {"matmul": True, "conv": True},
    "xla": False,
    "xla_flags": {},
    "threads": {"intra_op": 0, "inter_op": 0, "cpus": 2, "env": {}},
    "onednn": {"enabled": True, "fpmath": None},
    "data_placement": "memory",
    "batch_size": 64,
    "steps_per_execution": 1,
    "warmup_steps": 3,
    "timed_steps": 10,
    "mode": "graph",
    "cpu_count": 2,
}


def _record(mode: str, rate: float, repeat: int = 0, **changes) -> dict:
    """One successful record of linear_regression, batch 64, with its manifest
    (`changes` replace manifest fields; manifest=None leaves it out, as old records do)."""
    record = {
        "suite": "tiny",
        "case": f"linear_regression|{mode}|float32|64|cpu|",
        "repeat": repeat,
        "model": "linear_regression",
        "mode": mode,
        "precision": "float32",
        "batch_size": 64,
        "device": "cpu",
        **profile_fields(rate, mode),
        "env": {"cpu": "AMD EPYC", "cpu_flags": MANIFEST["cpu_flags"]},
        "manifest": {**MANIFEST, "mode": mode, "xla": mode == "xla"},
    }
    if changes.get("manifest", True) is None:
        del record["manifest"], record["env"]["cpu_flags"]
    else:
        record["manifest"].update(changes)
    return record


def _write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def _pair(tmp_path, new_graph: dict | None = None, new_xla: dict | None = None):
    """BASE and NEW files of two cases, NEW's manifests changed as given."""
    base = _write(tmp_path / "base.jsonl", [_record("graph", 100.0), _record("xla", 150.0)])
    new = _write(
        tmp_path / "new.jsonl",
        [_record("graph", 99.0, **(new_graph or {})), _record("xla", 149.0, **(new_xla or {}))],
    )
    return base, new


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_runs_that_differ_only_in_threads_are_refused(tmp_path):
    threads = {**MANIFEST["threads"], "intra_op": 1}
    base, new = _pair(tmp_path, {"threads": threads}, {"threads": threads})
    r = runner.invoke(app, ["compare", base, new])
    assert r.exit_code == 2
    lines = _error_lines(r.output)
    assert len(lines) == 1, r.output
    assert "threads (intra_op=0 in BASE, intra_op=1 in NEW)" in lines[0]
    assert "--allow-different threads" in lines[0] and "also" not in lines[0]


def test_runs_that_differ_in_tf32_are_refused(tmp_path):
    pinned = {"matmul_precision": "highest", "tf32": {"matmul": False, "conv": False}}
    base, new = _pair(tmp_path, pinned, pinned)
    r = runner.invoke(app, ["compare", base, new])
    assert r.exit_code == 2 and len(_error_lines(r.output)) == 1
    assert "matmul_precision (default in BASE, highest in NEW); also in tf32" in r.output
    assert "--allow-different matmul_precision,tf32" in r.output
    r = runner.invoke(app, ["compare", base, new, "--allow-different", "matmul_precision"])
    assert r.exit_code == 2 and "BASE and NEW differ in tf32 (matmul=True, conv=True in BASE" in (
        r.output
    )


def test_a_fair_pair_is_compared(tmp_path):
    base, new = _pair(tmp_path)
    r = runner.invoke(app, ["compare", base, new])
    assert r.exit_code == 0, r.output
    assert "linear_regression" in r.output and "0.990" in r.output
    assert "geometric mean new/base" in r.output
    assert "Note" not in r.output and "≠" not in r.output


def test_allowed_differences_are_compared_and_marked(tmp_path):
    threads = {**MANIFEST["threads"], "intra_op": 1}
    base, new = _pair(tmp_path, new_xla={"threads": threads})  # only one case differs
    r = runner.invoke(app, ["compare", base, new])
    assert r.exit_code == 2
    assert (
        "threads (intra_op=0 in BASE, intra_op=1 in NEW) in 1 of 2 cases "
        "(first: linear_regression|xla|float32|64|cpu|)"
    ) in r.output
    r = runner.invoke(app, ["compare", base, new, "--allow-different", "threads"])
    assert r.exit_code == 0, r.output
    marked = [line for line in r.output.splitlines() if "≠ threads" in line]
    assert len(marked) == 1 and "xla f32 b64" in marked[0]
    assert "settings differ (≠, --allow-different): threads (intra_op=0 in BASE" in r.output
    result = perf_compare.compare_runs(
        [json.loads(x) for x in open(base)],
        [json.loads(x) for x in open(new)],
        allow_different=["threads"],
    )
    rows = {row["mode"]: row for row in result["rows"]}
    assert rows["xla"]["differs"] == ["threads"] and rows["graph"]["differs"] == []
    r = runner.invoke(app, ["compare", base, new, "--allow-different", "thread"])
    assert r.exit_code == 2 and "Unknown setting 'thread'" in r.output


def test_records_without_a_manifest_are_compared_with_a_note(tmp_path):
    base = _write(
        tmp_path / "old.jsonl",
        [_record("graph", 100.0, manifest=None), _record("xla", 150.0, manifest=None)],
    )
    _, new = _pair(tmp_path)
    r = runner.invoke(app, ["compare", base, new])
    assert r.exit_code == 0, r.output
    notes = [line for line in r.output.splitlines() if "Note:" in line]
    assert len(notes) == 1
    assert "the records of BASE carry no fairness manifest" in notes[0]
    assert "BASE recorded no CPU ISA flags (CPU: AMD EPYC in BASE, AMD EPYC in NEW)" in notes[0]
    r = runner.invoke(app, ["compare", base, base])
    assert r.exit_code == 0 and "BASE and NEW carry no fairness manifest" in r.output


def test_the_check_names_only_speed_settings():
    with pytest.raises(UnfairComparisonError, match="cpu_flags"):
        manifest.check({"c": (MANIFEST, {**MANIFEST, "cpu_flags": ["avx2"]})})
    same = {**MANIFEST, "mode": "xla", "cpu_count": 64}  # recorded only
    assert manifest.check({"c": (MANIFEST, same)}) == {}
    assert manifest.check({"c": (None, MANIFEST)}) == {}  # unchecked, not refused
