"""The distribution installs one import package, `zoo`, with every subpackage listed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONFIG = PYPROJECT["tool"]["setuptools"]


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
    assert PYPROJECT["project"]["scripts"] == {"zoo": "zoo.cli.entry:main"}
    assert (ROOT / "zoo" / "__main__.py").is_file()  # python -m zoo


def test_the_version_is_the_distributions():
    import zoo

    assert zoo.__version__ == PYPROJECT["project"]["version"]


def test_every_suggested_extra_exists():
    from zoo.choices import BACKEND_EXTRA

    extras = set(PYPROJECT["project"]["optional-dependencies"])
    assert {e for e in BACKEND_EXTRA.values() if e is not None} <= extras
    # Every `pip install 'keras-zoo[NAME]'` written out in the source names an extra.
    named = {
        (path.relative_to(ROOT).as_posix(), name)
        for top in ("zoo", "cli")
        for path in (ROOT / top).rglob("*.py")
        for name in re.findall(r"keras-zoo\[(\w+)\]", path.read_text(encoding="utf-8"))
    }
    assert named and {(path, name) for path, name in named if name not in extras} == set()


def test_every_missing_backend_hint_is_a_command_that_exists():
    from zoo.choices import BACKENDS, not_installed
    from zoo.perf.parity import not_installed_reason

    assert not_installed("tensorflow").endswith("pip install tensorflow")
    assert not_installed("jax").endswith("pip install 'keras-zoo[jax]'")
    for backend in BACKENDS:
        assert "[None]" not in not_installed_reason(backend)
