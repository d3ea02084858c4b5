"""benchmarks/convergence.py: each model's line carries the zoo's schema and provenance
(the command, the git commit and whether the tree was dirty, the machine's ISA flags), as
every other committed results file does, and --resume trains only the missing models. No
model trains here: the `zoo train` process is faked."""

import json
import subprocess

from benchmarks import convergence
from zoo import record

TRAINED = {
    "num_params": 2,
    "history": [{"epoch": 1, "seconds": 0.5}, {"epoch": 2, "seconds": 1.5}],
    "best_epoch": 2,
    "test_metrics": {"loss": 0.011},
    "optimum": {"loss": 0.01},
    "env": {"keras": "3"},
}


def fake_train(calls, fail=()):
    real = subprocess.run  # git, for the provenance, still runs

    def run(argv, **kwargs):
        if "train" not in argv:
            return real(argv, **kwargs)
        name = argv[argv.index("train") + 1]
        calls.append(name)
        if name in fail:
            return subprocess.CompletedProcess(argv, 2, "", "Error: no such thing\n")
        return subprocess.CompletedProcess(argv, 0, json.dumps(TRAINED), "")

    return run


def test_each_line_carries_schema_and_provenance(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(convergence.subprocess, "run", fake_train(calls, fail=("mlp",)))
    out = tmp_path / "synthetic.jsonl"
    assert convergence.main(["--models", "linear_regression,mlp", "--output", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["model"] for r in lines] == ["linear_regression", "mlp"] == calls
    ok, failed = lines
    assert (ok["status"], failed["status"]) == ("ok", "error")
    assert ok["seconds_per_epoch"] == 1.0 and ok["params"] == 2 and ok["epochs"] == 2
    assert "no such thing" in failed["reason"]
    for r in lines:
        assert r["schema"] == record.SCHEMA_VERSION and r["kind"] == "convergence"
        prov = r["provenance"]
        assert prov["git"] == record.git_state()
        assert prov["machine"]["cpu_flags"] == record.machine()["cpu_flags"]
        assert prov["versions"]["keras"]


def test_resume_trains_only_the_missing_models(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(convergence.subprocess, "run", fake_train(calls))
    out = tmp_path / "synthetic.jsonl"
    convergence.main(["--models", "linear_regression", "--output", str(out)])
    convergence.main(["--models", "linear_regression,mlp", "--output", str(out), "--resume"])
    assert calls == ["linear_regression", "mlp"]
    assert [json.loads(line)["model"] for line in out.read_text().splitlines()] == calls


def test_the_families_left_out_by_default_run_when_named():
    from benchmarks import convergence

    default = convergence.models(None)
    assert "whisper_ctc" not in default and "resnet50" not in default and "unet" in default
    assert convergence.models("whisper_ctc,unet") == ["unet", "whisper_ctc"]
