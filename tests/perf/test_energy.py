"""GPU energy through NVML (zoo.perf.energy), against a fake `pynvml` module: the real
binding needs an NVIDIA driver, which this machine has not."""

import sys
import time
import types

import pytest

from zoo.perf import energy, summary, tables


class FakeNVML(types.ModuleType):
    """The part of `pynvml` the meter calls: an energy counter that advances `mj_per_s`
    millijoules per second of wall time (None: the board has none) and a constant power."""

    class NVMLError(Exception):
        pass

    def __init__(self, mj_per_s: float | None = 300_000.0, milliwatts: float = 250_000.0):
        super().__init__("pynvml")
        self.mj_per_s, self.milliwatts, self.t0 = mj_per_s, milliwatts, time.perf_counter()
        self.handles: list[int] = []

    def nvmlInit(self):
        pass

    def nvmlDeviceGetHandleByIndex(self, index):
        if index > 0:
            raise self.NVMLError("Invalid Argument")
        self.handles.append(index)
        return f"handle{index}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if self.mj_per_s is None:
            raise self.NVMLError("Not Supported")
        return int(1_000_000 + (time.perf_counter() - self.t0) * self.mj_per_s)

    def nvmlDeviceGetPowerUsage(self, handle):
        return self.milliwatts


@pytest.fixture
def nvml(monkeypatch):
    def install(**kwargs):
        fake = FakeNVML(**kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", fake)
        return fake

    return install


def test_the_energy_counter_gives_joules_watts_and_joules_per_sample(nvml):
    fake = nvml(mj_per_s=300_000.0)  # a 300 W board
    with energy.meter("gpu") as reading:
        time.sleep(0.2)
    e = energy.per_sample(reading, samples=1000)
    assert e["source"] == "nvml energy counter" and fake.handles == [0]
    assert e["mean_watts"] == pytest.approx(300, rel=0.05)
    assert e["joules"] == pytest.approx(300 * e["seconds"], rel=0.05)
    assert e["joules_per_sample"] == pytest.approx(e["joules"] / 1000)


def test_a_board_without_the_counter_is_sampled_and_integrated(nvml):
    nvml(mj_per_s=None, milliwatts=150_000.0)  # 150 W, constant
    with energy.meter("gpu:0") as reading:
        time.sleep(0.3)
    e = energy.per_sample(reading, samples=10)
    assert e["source"].startswith("nvml power samples")
    assert e["power_samples"] >= 2
    assert e["mean_watts"] == pytest.approx(150, rel=0.02)


@pytest.mark.parametrize(
    ("device", "reason"),
    [("cpu", "NVIDIA GPU only"), ("gpu:3", "NVML has no GPU 3")],
)
def test_no_figure_where_nvml_cannot_read_one_and_the_reason(nvml, device, reason):
    nvml()
    with energy.meter(device) as reading:
        pass
    e = energy.per_sample(reading, samples=10)
    assert e["source"] is None and reason in e["reason"]
    assert "joules" not in e


def test_without_the_binding_the_record_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    with energy.meter("gpu") as reading:
        pass
    assert energy.per_sample(reading, 1) == {
        "source": None,
        "reason": "NVML is not installed (pip install nvidia-ml-py)",
    }


def _record(joules_per_sample=None, watts=None):
    rec = {
        "suite": "gpu", "case": "mlp|xla|float32|64|gpu|", "model": "mlp", "mode": "xla",
        "precision": "float32", "batch_size": 64, "device": "gpu", "status": "ok",
        "backend": "jax", "flops": {"forward_per_sample": 10, "train_per_sample": 30},
        "train": {"samples_per_s": 1000.0, "step_ms_median": 64.0}, "num_params": 5,
    }  # fmt: skip
    if watts is not None:
        rec["energy"] = {"source": "nvml energy counter", "mean_watts": watts,
                         "joules_per_sample": joules_per_sample}  # fmt: skip
    return rec


def test_the_bench_table_shows_power_and_energy_only_where_nvml_read_them():
    rows = summary.summarize([_record(0.0123, 412.0)], "xla")
    assert rows[0]["power_w"] == 412.0
    assert rows[0]["energy_mj_per_sample"] == pytest.approx(12.3)
    headers = [c.header for c in tables.bench_table(rows, "xla").columns]
    assert "GPU W" in headers and "mJ/sample" in headers
    cpu_rows = summary.summarize([_record()], "xla")
    assert cpu_rows[0]["power_w"] is None
    assert "GPU W" not in [c.header for c in tables.bench_table(cpu_rows, "xla").columns]
