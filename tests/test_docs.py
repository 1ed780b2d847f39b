"""Citations of the methods resolve: every "methods §x.y" / "docs/methods.md §x.y" in the
repository names a section that docs/methods.md has.

The code cites the methods by section number: "methods §1.2", "methods §5", ranges
"methods §4.2-4.5", alternatives "methods §2.1/2.2", and a number on the next line in a wrapped
comment. The old form "SPEC x.y" pointed to a document outside the repository; it was
rewritten to "methods §x.y" (same numbers) and must not come back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ROOT / "docs" / "methods.md"

#: Folders and top-level files whose text may cite the methods (results, venvs, caches are not
#: searched).
SEARCHED = ["mec", "workflow", "configs", "tests", "benchmarks", "tools", "docs", "envs",
            "profiles", "README.md", "config.yaml", "Snakefile", "pyproject.toml"]
SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".md", ".toml", ".sh", ".txt", ""}

_NUM = r"\d+(?:\.\d+)?"
# "methods" or "docs/methods.md" (or the old "SPEC", so the test below can name it), then (across a line break and a comment's "#" too) an optional
# "§" and a section number, then optional ranges / alternatives ("-4.5", "/2.2", "–4.3").
CITATION = re.compile(
    rf"(?P<form>\bSPEC\b|docs/methods\.md|\bmethods\b(?=[ \t]*(?:\n[ \t]*#?[ \t]*)?§))"
    rf"(?P<sep>[ \t]*(?:\n[ \t]*#?[ \t]*)?)§?[ \t]*"
    rf"(?P<first>{_NUM})(?P<rest>(?:[ \t]*[-–/][ \t]*§?{_NUM})*)")
#: Any mention of the old document, which is not in the repository.
OLD_SPEC = re.compile(r"\bSPEC\b")


def methods_sections(text: str) -> set[str]:
    """Section numbers of the methods: "1" for "## 1. Title", "1.2" for "### 1.2 Title"."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", line)
        if m:
            found.add(m.group(1))
    return found


def citations(text: str) -> list[tuple[str, list[str]]]:
    """(the citation as written, the section numbers it names) for each citation in `text`."""
    out = []
    for m in CITATION.finditer(text):
        numbers = [m.group("first")] + re.findall(_NUM, m.group("rest"))
        out.append((m.group(0), numbers))
    return out


def _files():
    for name in SEARCHED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix in SUFFIXES and "__pycache__" not in f.parts:
                    yield f


def test_methods_have_the_sections_the_code_was_written_against():
    sections = methods_sections(METHODS.read_text())
    expected = {"1", "1.1", "1.2", "1.3", "1.4", "2", "2.1", "2.2", "2.3", "3", "3.1", "3.2",
                "3.3", "4", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "5", "6", "7"}
    assert expected <= sections, sorted(expected - sections)


def test_citation_parser_reads_every_form_and_refuses_a_missing_section():
    text = ("# (methods §1.2) and SPEC §3.2: methods §5's, methods §4.2-4.5, methods §1-2,\n"
            "# methods §2.1/2.2, wrapped, methods\n# §4.4; docs/methods.md §7.2; methods §9.9\n"
            "# the methods 3 times (no section sign: not a citation)\n")
    got = [numbers for _, numbers in citations(text)]
    assert got == [["1.2"], ["3.2"], ["5"], ["4.2", "4.5"], ["1", "2"], ["2.1", "2.2"],
                   ["4.4"], ["7.2"], ["9.9"]]
    sections = methods_sections(METHODS.read_text())
    assert "9.9" not in sections  # so the check below would fail on that citation
    assert OLD_SPEC.findall("see SPEC for it; SPECTRUM is not it") == ["SPEC"]


def test_every_citation_names_a_section_of_the_methods():
    sections = methods_sections(METHODS.read_text())
    unresolved, bare, n = [], [], 0
    for path in _files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(ROOT).as_posix()
        if rel == "tests/test_docs.py":
            continue  # this file's examples cite missing sections on purpose
        for written, numbers in citations(text):
            n += 1
            missing = [x for x in numbers if x not in sections]
            if missing:
                line = text[:text.find(written)].count("\n") + 1
                unresolved.append(f"{rel}:{line}: {written!r} names {missing}")
        for m in OLD_SPEC.finditer(text):
            line = text[:m.start()].count("\n") + 1
            bare.append(f"{rel}:{line}: {text[m.start():m.start() + 30]!r}")
    assert n > 0, "no citation found: the search is broken"
    assert not unresolved, ("citations of sections docs/methods.md does not have:\n"
                            + "\n".join(unresolved))
    assert not bare, ("'SPEC' names a document outside the repository (cite methods §x.y):\n"
                      + "\n".join(bare))


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
