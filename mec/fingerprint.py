"""Fingerprints of the code a workflow job runs, so that results follow the code.

Snakemake reruns a job when its script (``workflow/scripts/*.py``) changes, but the work is
done in this package, which it does not see: without help, editing ``mec/fits/core.py``
leaves every fit table as it was. Each rule therefore carries, in its ``params``, a
fingerprint of the ``mec`` modules its script can import (:func:`script_fingerprint`); a
changed fingerprint is a changed parameter, and Snakemake reruns the job.

What counts:

* the modules are found by reading the ``import`` statements of the script and, in turn, of
  every ``mec`` module it reaches (those inside functions too, which is where this package
  imports its heavy dependencies), with each module's parent packages (``mec/__init__.py``,
  ``mec/fits/__init__.py``, ...), since importing a module runs them. Only this package is
  followed: other libraries are the environment's business (``conda:``);
* each module's code is its syntax tree without docstrings (:func:`module_digest`): comments,
  docstrings, blank lines and formatting change no fingerprint, any change to code does.

It is computed when the workflow is planned, from the source files alone (no imports run):
parsing the whole package takes about 0.1 s.

The training job carries no fingerprint, on purpose (see ``workflow/rules/models.smk``):
training is the costly step (hours to days at paper scale) and its checkpoints belong to its
training settings; a code change that should retrain is made explicit by deleting the
model's folder (or ``--forcerun train_model`` after removing its checkpoints).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
from pathlib import Path

__all__ = ["PACKAGE", "PACKAGE_DIR", "module_file", "module_imports", "module_closure",
           "module_digest", "fingerprint", "script_fingerprint"]

PACKAGE = "mec"
#: The folder of this package (``.../mec``); modules are looked up below it.
PACKAGE_DIR = Path(__file__).resolve().parent
#: Characters of the hexadecimal SHA-256 kept in a fingerprint (64 bits).
DIGITS = 16


def module_file(name: str, root: Path = PACKAGE_DIR) -> Path | None:
    """The source file of module ``name`` (``"mec.fits.core"``) under ``root`` (the package
    folder), or None when there is none (an attribute, not a module)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.lru_cache(maxsize=None)
def _parse(path: str, mtime_ns: int, size: int) -> ast.Module:
    # cached on (path, mtime, size): a file edited during a session is read again
    return ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)


def module_imports(path: str | os.PathLike, module: str | None = None,
                   root: Path = PACKAGE_DIR) -> set[str]:
    """Names of the ``mec`` modules a source file imports, anywhere in it.

    module: the file's own module name (for relative imports; None for a script).
    ``from mec.fits import core`` gives ``mec.fits.core`` when that is a module, else
    ``mec.fits``; every parent package of a module is added as well.
    """
    path = Path(path)
    st = path.stat()
    return set(_imports(str(path), module, str(root), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=None)
def _imports(path: str, module: str | None, root: str, mtime_ns: int, size: int) -> frozenset:
    root = Path(root)
    tree = _parse(path, mtime_ns, size)
    is_pkg = Path(path).name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if module is None:
                    continue
                pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                pkg = pkg[:len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                base = ".".join(pkg + ([base] if base else []))
            names = [base]
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if module_file(sub, root) is not None:
                    names.append(sub)
        else:
            continue
        for name in names:
            if name.split(".")[0] != PACKAGE:
                continue
            # the longest prefix that is a module (``import mec.fits.core as c``)
            while name and module_file(name, root) is None:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
                found.update(_parents(name))
    return frozenset(found)


def module_closure(entry: str | os.PathLike, root: Path = PACKAGE_DIR) -> list[str]:
    """Every ``mec`` module a script (or a module, given by name) can import, sorted.

    entry: a path to a Python file outside the package (a workflow script), or a module name
    (``"mec.fits.pipeline"``).
    """
    if isinstance(entry, str) and entry.split(".")[0] == PACKAGE and not entry.endswith(".py"):
        todo = [entry] + _parents(entry)
    else:
        todo = sorted(module_imports(entry, None, root))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name, root)
        if path is None:
            raise ValueError(f"module {name!r} has no source file under {root}")
        seen.add(name)
        todo.extend(module_imports(path, name, root) - seen)
    return sorted(seen)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def module_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a source file's syntax tree without docstrings (comments, docstrings and
    formatting do not count; code does)."""
    st = Path(path).stat()
    return _digest(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=None)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    # parsed afresh (not the cached tree of _parse), since the docstrings are cut out in place
    tree = _strip_docstrings(ast.parse(Path(path).read_text(encoding="utf-8"), filename=path))
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def fingerprint(modules, root: Path = PACKAGE_DIR) -> str:
    """One short hex digest of the code of ``modules`` (names, e.g. from module_closure)."""
    h = hashlib.sha256()
    for name in sorted(modules):
        h.update(f"{name}\0{module_digest(module_file(name, root))}\n".encode())
    return h.hexdigest()[:DIGITS]


def script_fingerprint(script: str | os.PathLike, root: Path = PACKAGE_DIR) -> str:
    """Fingerprint of the ``mec`` code a workflow script runs (module docstring): what a
    rule's ``params: code=`` holds."""
    return fingerprint(module_closure(Path(script), root), root)
