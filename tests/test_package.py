"""The package's shape: an acyclic import graph (imports inside functions included), modules of
a readable size, no Snakemake.

Static checks on the source (``ast``), so they see every module, imported by a test or not.
"""

import ast
import re
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


#: No module is longer than this, reason or not (split it along a seam).
HARD_MAX_LINES = 600
#: A function longer than this (from ``def`` to its end, its docstring not counted) states why
#: in the first lines of its docstring, in a line starting "Long because:".
MAX_FUNCTION_LINES = 80
#: Lines of a docstring searched for the reason.
REASON_WITHIN = 8


def long_functions(tree):
    """(name, first line, length) of every function of ``tree`` (methods and nested ones too)
    longer than MAX_FUNCTION_LINES, the docstring not counted, without a reason."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        n = node.end_lineno - node.lineno + 1
        doc = ast.get_docstring(node, clean=False)
        if doc is not None:
            first = node.body[0]
            n -= first.end_lineno - first.lineno + 1
        head = "\n".join((doc or "").splitlines()[:REASON_WITHIN])
        if n > MAX_FUNCTION_LINES and REASON not in head:
            found.append((node.name, node.lineno, n))
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_the_hard_limit(name):
    n = len(MODULES[name].read_text().splitlines())
    assert n <= HARD_MAX_LINES, (f"{MODULES[name].relative_to(ROOT)} has {n} lines (over "
                                 f"{HARD_MAX_LINES}): split it along a seam")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_long_functions_state_why(name):
    found = long_functions(ast.parse(MODULES[name].read_text()))
    assert not found, [f"{MODULES[name].relative_to(ROOT)}:{line} {fn} has {n} lines (over "
                       f"{MAX_FUNCTION_LINES}): split it or say at the top of its docstring "
                       f"'{REASON} ...'" for fn, line, n in found]


def test_long_functions_counts_code_not_docstrings():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    doc = '    """Summary.\n\n' + "    text\n" * 30 + '    """\n'
    short = ast.parse("def f():\n" + doc + body + "\n")  # 81 lines with its def, none of doc
    assert [(fn, n) for fn, _, n in long_functions(short)] == [("f", MAX_FUNCTION_LINES + 1)]
    why = ast.parse('def f():\n    """Summary.\n\n    Long because: a reason.\n    """\n' + body)
    assert long_functions(why) == []
    late = ast.parse('def f():\n    """Summary.\n' + "\n" * REASON_WITHIN
                     + '    Long because: too late.\n    """\n' + body)
    assert len(long_functions(late)) == 1


#: Where code and its comments live (docs/ cites methods sections; its own checks are in
#: tests/test_docs.py).
CODE_DIRS = ("mec", "workflow", "tests", "benchmarks", "tools", "configs")
ISSUE = re.compile(r"\bissues? \d+")


def test_no_code_cites_an_issue_number():
    """Comments and docstrings give the reason itself or a docs/methods.md section: an issue
    number means nothing to a reader of the repository."""
    found = []
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".smk", ".yaml", ".yml", ".sh",
                                                          ".rst", "") or "__pycache__" in path.parts:
                continue
            text = path.read_text(errors="replace")
            found += [f"{path.relative_to(ROOT)}:{i}" for i, line in enumerate(text.splitlines(), 1)
                      if ISSUE.search(line) and path != Path(__file__)]
    for name in ("config.yaml", "Snakefile", "workflow/Snakefile"):
        if (ROOT / name).is_file():
            text = (ROOT / name).read_text()
            found += [f"{name}:{i}" for i, line in enumerate(text.splitlines(), 1) if ISSUE.search(line)]
    assert not found, found
