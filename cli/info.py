"""`zoo info NAME`: a model's spec, defaults, recipe, parameter count and layers;
`zoo info NAME --recipe`: its default recipe as a recipe file (TOML) to edit and run
with `zoo train --recipe FILE`."""

from __future__ import annotations

from typing import Annotated

import typer
from zoo.cli import _keras, render
from zoo.cli.list import spec_dict
from zoo.cli.views import tune as tune_view

Name = Annotated[str, typer.Argument(metavar="NAME", help="A model name from `zoo list`.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AsRecipe = Annotated[
    bool,
    typer.Option(
        "--recipe",
        help="Print the default recipe as a recipe file (TOML), ready to edit and run with "
        "`zoo train --recipe FILE`.",
    ),
]


def info(name: Name, as_json: AsJson = False, as_recipe: AsRecipe = False) -> None:
    """Describe a model: its spec, default hyper-parameters and recipe, and its layers."""
    import zoo

    with render.errors():
        spec = zoo.get_spec(name)
        if as_recipe:
            return _print_recipe(spec)
        _keras.import_quietly()
        model = zoo.create_model(name)
    layers = [
        (layer.name, type(layer).__name__, str(tuple(layer.output.shape)), layer.count_params())
        for layer in model.layers
    ]
    from zoo import presets
    from zoo.tuning import cache

    tuned = cache.entries(name)  # this machine's, beside (never instead of) the recipe
    shipped = presets.list_presets(name)
    if as_json:
        render.print_json(
            {
                **spec_dict(spec),
                "tuned": tuned,
                "presets": shipped,
                "num_params": model.count_params(),
                "layers": [
                    dict(zip(("name", "type", "output_shape", "params"), row, strict=True))
                    for row in layers
                ],
            }
        )
        return
    _show(spec, model.count_params(), layers)
    if shipped:
        render.out.print()
        render.out.print(
            render.key_values(
                "shipped recipes (zoo train --recipe NAME)",
                [(p["name"], f"{p['summary']} ({p['dataset']}, {p['target']})") for p in shipped],
            )
        )
    if tuned:
        render.out.print()
        render.show(tune_view.tuned_table(tuned))


def _print_recipe(spec) -> None:
    """The model's default recipe file on stdout (no framework is imported)."""
    from zoo import recipe

    comment = (
        f"The default recipe of {spec.name}. Edit it, then: zoo train --recipe FILE\n"
        "(keys left out take these defaults; options given on the command line go on top)."
    )
    typer.echo(
        recipe.dumps(recipe.RecipeFile(spec.name, spec.recipe), comment, explain=True), nl=False
    )


def _show(spec, num_params: int, layers: list[tuple]) -> None:
    """The spec, the default hyper-parameters, then one line per layer."""
    recipe = spec.recipe
    about = [
        ("family", spec.family),
        ("task", spec.task),
        ("summary", spec.summary),
        ("reference", spec.reference),
        ("tags", ", ".join(spec.tags) or "-"),
        ("factory", spec.factory),
        ("parameters", num_params),
        (
            "recipe",
            f"{recipe.epochs} epochs, batch {recipe.batch_size}, "
            f"{recipe.optimizer} lr {recipe.learning_rate}",
        ),
    ]
    defaults = [(k, str(v)) for k, v in spec.defaults.items()]
    Col = render.Col
    render.out.print(render.key_values(spec.name, about))
    render.out.print()
    render.out.print(render.key_values("hyper-parameters (defaults)", defaults))
    render.out.print()
    render.show(
        render.table(
            "layers",
            [Col("layer"), Col("type"), Col("output shape"), Col("params", "count")],
            layers,
        )
    )
