"""The package's shape: an acyclic import graph (imports inside functions included), modules of
a readable size, no Snakemake.

Static checks on the source (``ast``), so they see every module, imported by a test or not.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mec"
#: A module longer than this states why at its top, in a line starting "Long because:".
MAX_LINES = 500
REASON = "Long because:"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name, importer, level):
    """Absolute name of ``from <level dots><name>`` inside module ``importer``."""
    if not level:
        return name
    base = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        base.pop()  # a module's package; a package's __init__ is its own package
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _target(name):
    """The most specific mec module that importing ``name`` runs (None outside mec)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def module_imports(tree, importer):
    """Modules imported anywhere in the module: at module level and inside functions and
    classes too (a function's import runs when it is called; a circle through it is a circle
    all the same: each module needs the other, and neither can be read or moved alone)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, importer, node.level)
            # `from pkg import sub` imports the submodule pkg.sub (pkg's __init__ runs
            # first, as for `import pkg.sub`, which is not counted as an edge to it); a
            # name that is not a submodule is read from pkg itself
            subs = {f"{base}.{a.name}" for a in node.names} & set(MODULES)
            found.update(subs)
            if not subs or len(subs) < len(node.names):
                found.add(base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)  # importlib.import_module("mec.x"): an import too
    return found


def import_graph():
    """module -> the mec modules it imports. Imports of the root package ``mec`` itself (its
    ``__version__``) are no edge: its ``__init__`` runs before any mec module can (the first
    step of every ``import mec.x``), so reading from it never waits on a module below; its one
    lazy import, ``mec.score`` (mec.scoring), is its own edge."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = {_target(n) for n in module_imports(tree, name)}
        graph[name] = sorted(t for t in targets if t and t not in (name, "mec"))
    return graph


def find_cycle(graph):
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state = {}  # node -> 1 on the stack, 2 done
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_is_acyclic():
    graph = import_graph()
    assert len(graph) > 50 and sum(map(len, graph.values())) > 60  # the parse saw the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_find_cycle_names_a_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_relative_imports_resolve_inside_mec():
    assert _resolve("core", "mec.fits.elasticnet", 1) == "mec.fits.core"
    assert _resolve("core", "mec.fits", 1) == "mec.fits.core"  # from a package's __init__
    assert _resolve(None, "mec.fits.elasticnet", 2) == "mec"
    tree = ast.parse("from . import core\nimport numpy\ndef f():\n    import mec.io\n")
    assert module_imports(tree, "mec.fits.elasticnet") == {"mec.fits.core", "numpy", "mec.io"}
    # inside a class's method and a nested block, too
    tree = ast.parse("class A:\n    def f(self):\n        if x:\n            from mec import stats\n")
    assert module_imports(tree, "mec.io") == {"mec.stats"}
    tree = ast.parse("import importlib\ndef f():\n    return importlib.import_module('mec.stats')\n")
    assert module_imports(tree, "mec.io") == {"importlib", "mec.stats"}
    tree = ast.parse("from mec.fits import core, pipeline, MIN_SCORE\n")
    assert module_imports(tree, "mec.io") == {"mec.fits", "mec.fits.core", "mec.fits.pipeline"}


def test_no_module_imports_snakemake():
    """The core never imports Snakemake (DESIGN.md): scripts hand it plain arguments."""
    offenders = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):  # anywhere, in functions too
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] == "snakemake"]
    assert not offenders, offenders


@pytest.mark.parametrize("name", sorted(MODULES))
def test_long_modules_state_why(name):
    lines = MODULES[name].read_text().splitlines()
    if len(lines) > MAX_LINES:
        head = "\n".join(lines[:30])
        assert REASON in head, (f"{MODULES[name].relative_to(ROOT)} has {len(lines)} lines "
                                f"(over {MAX_LINES}): split it along a seam or say at its top "
                                f"'{REASON} ...'")
