"""Which precisions the hardware runs natively, and the warning for an emulated one."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner
from zoo.cli.main import app

from zoo import io
from zoo.runtime import hardware

# The two kinds of machine this project runs on, as /proc/cpuinfo lists their flags.
AVX2_EPYC = ["sse4_2", "avx", "avx2", "fma", "f16c"]
AVX512_EPYC = [*AVX2_EPYC, "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]
SAPPHIRE_RAPIDS = [*AVX512_EPYC, "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"]


@pytest.fixture(autouse=True)
def _empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


@pytest.mark.parametrize("flags", [AVX2_EPYC, AVX512_EPYC, SAPPHIRE_RAPIDS, None])
def test_float32_is_always_native(flags):
    assert hardware.precision_support("float32", cpu_flags=flags)["native"] is True


def test_an_avx2_cpu_emulates_both_half_precisions_with_the_measured_slowdowns():
    bf16 = hardware.precision_support("mixed_bfloat16", cpu_flags=AVX2_EPYC)
    fp16 = hardware.precision_support("mixed_float16", cpu_flags=AVX2_EPYC)
    assert bf16["native"] is False and "lacks avx512_bf16 and amx_bf16" in bf16["reason"]
    assert (bf16["slowdown"], fp16["slowdown"]) == (0.12, 0.35)
    assert "measured on an AVX2 AMD EPYC" in bf16["source"] == fp16["source"]


def test_avx512_bf16_runs_bf16_natively_but_not_fp16():
    bf16 = hardware.precision_support("mixed_bfloat16", cpu_flags=AVX512_EPYC)
    assert bf16 == {
        "native": True,
        "reason": "this CPU has avx512_bf16",
        "slowdown": None,
        "source": None,
    }
    fp16 = hardware.precision_support("mixed_float16", cpu_flags=AVX512_EPYC)
    assert fp16["native"] is False and "avx512_fp16" in fp16["reason"]
    assert fp16["slowdown"] == 0.20 and "avx512_bf16" in fp16["source"]


def test_an_avx512_cpu_without_bf16_gets_the_avx2_figure_labelled_as_such():
    skylake = [f for f in AVX512_EPYC if f != "avx512_bf16"]
    fp16 = hardware.precision_support("mixed_float16", cpu_flags=skylake)
    assert fp16["slowdown"] == 0.35 and "AVX2 AMD EPYC" in fp16["source"]


def test_amx_and_avx512_fp16_run_both_natively():
    for precision in ("mixed_bfloat16", "mixed_float16"):
        assert hardware.precision_support(precision, cpu_flags=SAPPHIRE_RAPIDS)["native"]
    amx_only = [*AVX2_EPYC, "amx_fp16"]
    assert "amx_fp16" in hardware.precision_support("mixed_float16", cpu_flags=amx_only)["reason"]


def test_unknown_flags_or_gpu_capability_are_unknown_not_emulated(monkeypatch):
    monkeypatch.setattr(io, "cpu_info", lambda: {"model": "Apple M2", "flags": None})
    assert hardware.precision_support("mixed_bfloat16")["native"] is None
    assert hardware.emulation_warning("mixed_bfloat16") is None
    gpu = hardware.precision_support("mixed_float16", "gpu", gpu_capability=None)
    assert gpu["native"] is None and "unknown" in gpu["reason"]


@pytest.mark.parametrize(
    "precision, capability, native",
    [
        ("mixed_float16", (6, 1), False),
        ("mixed_float16", (7, 0), True),
        ("mixed_bfloat16", (7, 5), False),
        ("mixed_bfloat16", (8, 0), True),
        ("mixed_bfloat16", (9, 0), True),
    ],
)
def test_gpu_precisions_by_compute_capability(precision, capability, native):
    support = hardware.precision_support(precision, "gpu:0", gpu_capability=capability)
    assert support["native"] is native
    assert ".".join(map(str, capability)) in support["reason"]


def test_the_warning_is_one_line_with_the_slowdown_and_the_fix(monkeypatch):
    monkeypatch.setattr(io, "cpu_info", lambda: {"model": "AMD EPYC", "flags": AVX2_EPYC})
    line = hardware.emulation_warning("mixed_bfloat16")
    assert line == (
        "mixed_bfloat16 is emulated on this CPU (no avx512_bf16 or amx_bf16): expect about "
        "0.12x the float32 speed (seed_cnn, measured on an AVX2 AMD EPYC). "
        "Use --precision float32."
    )
    assert hardware.emulation_warning("float32") is None
    monkeypatch.setattr(io, "cpu_info", lambda: {"model": "AMD EPYC", "flags": AVX512_EPYC})
    assert hardware.emulation_warning("mixed_bfloat16") is None
    line = hardware.emulation_warning("mixed_float16")
    assert "0.20x" in line and line.endswith("(or mixed_bfloat16, native here).")


def _row(precision, speedup, model="seed_cnn"):
    return {
        "status": "ok",
        "model": model,
        "mode": "graph",
        "precision": precision,
        "batch_size": 64,
        "device": "cpu",
        "backend": "tensorflow",
        "speedup": speedup,
    }


def test_a_precision_bench_on_this_machine_is_remembered_and_preferred(monkeypatch):
    monkeypatch.setattr(io, "cpu_info", lambda: {"model": "AMD EPYC", "flags": AVX2_EPYC})
    records = [{"status": "ok", "env": {"cpu": "AMD EPYC", "cpu_flags": AVX2_EPYC}}]
    rows = [_row("float32", 1.0), _row("mixed_bfloat16", 0.5, "mlp"), _row("mixed_bfloat16", 0.2)]
    assert hardware.remember_precision_speeds(rows, records, "graph", None) == 0  # not vs f32
    assert hardware.remember_precision_speeds(rows, records, "graph", "float32") == 2
    bf16 = hardware.precision_support("mixed_bfloat16")
    assert (
        bf16["slowdown"] == 0.2
        and "seed_cnn, measured by zoo bench on this machine" in (bf16["source"])
    )
    other_cpu = [{"status": "ok", "env": {"cpu": "Intel Xeon", "cpu_flags": AVX2_EPYC}}]
    assert hardware.remember_precision_speeds(rows, other_cpu, "graph", "float32") == 0
    # Another machine of the same model name but other flags does not see it.
    assert hardware.precision_support("mixed_bfloat16", cpu_flags=AVX2_EPYC[:3])["slowdown"] != 0.2


def test_zoo_profile_warns_in_one_line_when_the_precision_is_emulated_here():
    flags = io.cpu_info()["flags"] or []
    if "avx512_fp16" in flags or "amx_fp16" in flags:
        pytest.skip("this CPU runs float16 natively")
    r = CliRunner().invoke(
        app, ["profile", "linear_regression", "--steps", "2", "--precision", "mixed_float16"]
    )
    assert r.exit_code == 0, r.output
    warnings = [line for line in r.output.splitlines() if "is emulated on this CPU" in line]
    assert len(warnings) == 1 and "Use --precision float32" in warnings[0]
