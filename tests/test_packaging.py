"""The distribution installs one import package, `zoo`, with every subpackage listed."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    found = set()
    for top, name in (("zoo", "zoo"), ("cli", "zoo.cli")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_folder_is_listed_and_only_zoo_is_installed():
    listed = set(CONFIG["packages"])
    assert listed == _packages_on_disk()
    assert {p.split(".")[0] for p in listed} == {"zoo"}  # no top-level `cli`, `benchmarks`
    assert CONFIG["package-dir"] == {"zoo.cli": "cli"}


def test_the_console_script_is_in_the_zoo_package():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"zoo": "zoo.cli.main:app"}
