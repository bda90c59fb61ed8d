"""Every Python package of the layout ships in the wheel (setuptools lists them by hand)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_directory_is_listed_in_pyproject():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(tool["packages"])
    found = set()
    for package, folder in tool["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    # Directories of data (contracts, examples, the broker's build files) are listed too, so
    # that setuptools ships them without warning that it would ignore them; they hold no code.
    data = listed - found
    assert data <= set(tool["package-data"]), "these listed packages do not exist"
    assert all(_folder(tool["package-dir"], name).is_dir() for name in data), data


def _folder(package_dir: dict[str, str], package: str) -> Path:
    """Where `package` lives, by the longest `package-dir` entry it falls under."""
    base = max((name for name in package_dir if package.startswith(name)), key=len)
    rest = package.removeprefix(base).strip(".")
    return ROOT / package_dir[base] / Path(*rest.split(".")) if rest else ROOT / package_dir[base]
