"""benchmarks/ab_train.py: one `zoo train --target` command under two checkouts."""

from __future__ import annotations

import pytest

from benchmarks import ab_train, report


def _record(arm: str, seed: int, total: float | None, checks: float = 0.5) -> dict:
    run = {"status": "ok", "reached": total is not None, "time_to_target_s": total}
    run.update(phases={"checks_s": checks, "train_s": 1.0} if total else None, test_metric=0.33)
    checkout = {"tree": f"/{arm}", "commit": ("a" if arm == "A" else "b") * 40, "dirty": False}
    return {"kind": "ab_train", "arm": arm, "seed": seed, "train_args": ["mlp", "--target",
            "accuracy=0.9"], "checkout": checkout, "run": run}  # fmt: skip


def test_the_summary_pairs_seeds_where_both_sides_reached_and_gives_a_over_b():
    records = [
        _record("A", 1, 6.0, 2.0), _record("B", 1, 4.0, 0.5),
        _record("B", 2, 4.2, 0.4), _record("A", 2, 6.1, 2.1),
        _record("A", 3, 5.9, 1.9), _record("B", 3, 3.9, 0.5),
        _record("A", 4, 6.0), _record("B", 4, None),  # B missed: no pair
    ]  # fmt: skip
    rows = {r["time"]: r for r in ab_train.summarize(records)}
    total = rows["time_to_target_s"]
    assert total["pairs"] == 3 and total["a_s"] == 6.0 and total["b_s"] == 4.0
    assert total["ratio"] == pytest.approx((6.0 / 4.0 * 6.1 / 4.2 * 5.9 / 3.9) ** (1 / 3))
    assert total["ratio_verdict"] == "faster" and total["ratio_low"] > 1
    assert rows["checks_s"]["ratio"] > 3 and rows["compile_s"]["pairs"] == 0
    section = report.ab_train_section("ab-x", records)
    line = next(x for x in section.splitlines() if x.startswith("| time_to_target_s"))
    assert "| faster |" in line and "1.4" in line  # B faster, A about 1.46x B's time
    assert "A 4/4, B 3/4" in section and "A at aaaaaaa, B at bbbbbbb" in section
    other = [dict(r, train_args=["mlp"]) for r in records[:2]]
    assert report.ab_train_section("ab-x", records + other).count("| time_to_target_s") == 2


def test_without_the_training_command_it_says_how_to_give_one(tmp_path, capsys):
    with pytest.raises(SystemExit) as refused:
        ab_train.main(["--a", "python", "--b", "python", "--output", str(tmp_path / "x")])
    assert refused.value.code == 2 and "after --" in capsys.readouterr().err


def test_a_side_that_fails_is_recorded_with_its_reason():
    import sys

    run = ab_train.run_side(sys.executable, ["no_such_model"], seed=0)
    assert run["status"] == "failed" and "no_such_model" in run["reason"]
