"""The commands' views (zoo.cli.views) on the layouts the zoo writes."""

from __future__ import annotations

from zoo.cli.views import tune as tune_view

from zoo import io, recipe

FLAT = {  # a tuning trial's settings, as `zoo tune` writes them (and old cache entries)
    "batch_size": 64,
    "learning_rate": 0.003,
    "optimizer": "adam",
    "epochs": 3,
    "precision": "mixed_bfloat16",
    "jit_compile": True,
    "steps_per_execution": 4,
}
TEXT = "xla, spe 4, mixed_bfloat16, batch 64, adam lr 0.003, <= 3 epochs"


def test_settings_text_reads_flat_settings_a_recipe_file_and_a_record_alike():
    assert tune_view.settings_text(FLAT) == TEXT
    layout = io.to_jsonable(recipe.from_settings("mlp", FLAT, "the test"))  # recipe.toml's
    assert set(layout) >= {"recipe", "run", "data"} and layout["run"]["backend"] is None
    assert tune_view.settings_text(layout) == TEXT
    record = {"config": layout["recipe"], "run": layout["run"]}  # result.json's layout
    assert tune_view.settings_text(record) == TEXT
    auto = {**layout, "run": {**layout["run"], "jit_compile": "auto", "backend": "jax"}}
    assert tune_view.settings_text(auto).startswith("jax, jit auto, spe 4, mixed_bfloat16")
    tuned = {**layout, "recipe": {**layout["recipe"], "weight_decay": 0.0005, "clip_norm": 1.0}}
    assert "adam lr 0.003, wd 0.0005, clip 1, <= 3 epochs" in tune_view.settings_text(tuned)


def test_a_tuned_entry_is_shown_from_its_recipe_file_where_it_holds_one():
    layout = io.to_jsonable(recipe.from_settings("mlp", {**FLAT, "batch_size": 128}, "t"))
    entry = {"settings": FLAT, "recipe": layout}
    assert "batch 128" in tune_view.settings_text(tune_view.tuned_settings(entry))
    old = {"settings": FLAT}  # cached before entries held recipe files
    assert tune_view.settings_text(tune_view.tuned_settings(old)) == TEXT
