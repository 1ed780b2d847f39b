"""Every ``mec.<name>`` the README (and docs/) names in backticks exists.

A user copies these names into code; a module split or a rename must not leave the prose
pointing at nothing (the README once named ``mec.data.loaders.save_generic`` while the function
was importable only from ``mec.data.loaders.generic``).
"""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"`(mec(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _doc_texts():
    """The text of README.md and of every docs/*.md."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [f.read_text() for f in files if f.exists()]


def documented_names():
    return sorted({m.group(1).rstrip(".") for t in _doc_texts() for m in NAME.finditer(t)})


def resolve(dotted: str):
    """Import the longest importable module prefix of ``dotted``, then getattr the rest."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)  # AttributeError names the missing part
        return obj
    raise ModuleNotFoundError(dotted)


def test_resolver_fails_on_a_missing_name():
    with pytest.raises(AttributeError):
        resolve("mec.data.loaders.no_such_function")


def test_readme_names_at_least_the_loaders():
    assert "mec.data.loaders.save_generic" in documented_names()


@pytest.mark.parametrize("dotted", documented_names())
def test_documented_name_exists(dotted):
    resolve(dotted)


PATH = re.compile(r"`((?:mec|workflow|tools|benchmarks|tests|profiles|envs|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_])`")


def documented_paths():
    return sorted({m.group(1) for t in _doc_texts() for m in PATH.finditer(t)})


def test_documented_paths_exist():
    paths = documented_paths()
    assert "workflow/rules/common.smk" in paths or len(paths) > 10  # the search finds paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"README/docs name files that do not exist: {missing}"
