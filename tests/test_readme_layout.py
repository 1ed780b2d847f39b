"""The README is the first screen, not the manual: at most 320 lines, every docs/*.md page
reachable from it (directly or through docs/README.md), every Snakemake rule named in its
Pipeline section, and every relative link and section reference of the documentation
resolving (a page moved or renamed must not leave the prose pointing at nothing)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from doctext import ROOT, doc_files

README = ROOT / "README.md"
MAX_README_LINES = 320
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def section(text: str, title: str) -> str:
    """The text of the `## title` section (up to the next `## `)."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def relative_links(path: Path) -> list[str]:
    """Targets of the markdown links of a file that are not web addresses."""
    return [t for t in LINK.findall(path.read_text()) if not re.match(r"[a-z]+://", t)]


def rules() -> list[str]:
    """Every rule and checkpoint the Snakefile and workflow/rules/*.smk define."""
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    return sorted({m.group(1) for f in files
                   for m in re.finditer(r"^(?:rule|checkpoint)\s+(\w+)\s*:", f.read_text(), re.M)})


def test_readme_fits_on_a_few_screens():
    n = len(README.read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; move detail to docs/ (<= {MAX_README_LINES})"


def test_every_docs_page_is_linked_from_the_readme_or_docs_readme():
    linked = set()
    for index in (README, ROOT / "docs" / "README.md"):
        linked |= {(index.parent / t).resolve() for t in relative_links(index)}
    pages = sorted((ROOT / "docs").glob("*.md"))
    assert len(pages) >= 10  # the manual moved out of the README
    orphans = [p.relative_to(ROOT).as_posix() for p in pages
               if p.name != "README.md" and p.resolve() not in linked]
    assert not orphans, f"docs pages linked from neither README.md nor docs/README.md: {orphans}"


def test_the_first_screen_links_the_package_by_stage_and_shows_the_headline():
    lines = README.read_text().splitlines()
    assert "(docs/README.md)" in "\n".join(lines[:30])  # the package map, before the commands
    first = "\n".join(lines[:70])  # a screen and a bit: the headline table is 12 lines
    assert "(docs/metric.md)" in first  # how to read it
    assert "<!-- readme-tables:headline -->" in first
    assert "python -m pytest" in first and "snakemake --cores 2" in first
    figure = re.search(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text())
    assert figure and (ROOT / figure.group(1)).is_file()


def test_rule_parser_finds_the_workflow():
    found = rules()
    assert {"all", "make_dataset", "train_model", "summarize"} <= set(found) and len(found) >= 13


@pytest.mark.parametrize("rule", rules())
def test_every_rule_is_named_in_the_pipeline_section(rule):
    assert f"`{rule}`" in section(README.read_text(), "Pipeline"), rule


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(doc):
    missing = [t for t in relative_links(doc) if not (doc.parent / t).exists()]
    assert not missing, f"{doc.relative_to(ROOT)} links to files that do not exist: {missing}"


#: `README "Section"` or `docs/page.md "Section"` in prose, comments and docstrings.
SECTION_REF = re.compile(r"(README|docs/[a-z_]+\.md)(?:'s)?,? [\"']([A-Z][^\"'\n]*)[\"']")
#: Where such references are looked for. mec/ is left out until its references are updated
#: to the pages the README's sections moved to (the modules are being split; see the report).
SEARCHED = ["workflow", "configs", "tests", "benchmarks", "tools", "docs", "envs", "profiles",
            "README.md", "config.yaml", "Snakefile", "pyproject.toml"]


def headings(path: Path) -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#{1,4} (.+)$", path.read_text(), re.M)}


def test_section_references_name_a_section_that_exists():
    bad, n = [], 0
    for name in SEARCHED:
        root = ROOT / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if f.suffix not in {".py", ".smk", ".yaml", ".yml", ".md", ".toml", ".sh", ".rst", ""} \
                    or f.name == "test_readme_layout.py" or "__pycache__" in f.parts:
                continue
            try:
                text = f.read_text()
            except UnicodeDecodeError:
                continue
            for m in SECTION_REF.finditer(text):
                page, title = m.groups()
                target = README if page == "README" else ROOT / page
                if page == "README" and "original" in text[max(0, m.start() - 30):m.start()]:
                    continue  # the original's README (neuroailab/mec), not this one
                n += 1
                if not target.is_file() or title not in headings(target):
                    bad.append(f"{f.relative_to(ROOT)}: {m.group(0)!r}")
    assert n > 0, "no section reference found: the search is broken"
    assert not bad, "references to sections that do not exist:\n" + "\n".join(bad)


def test_the_html_reports_workflow_text_says_what_the_summary_says():
    """workflow/report/workflow.rst opens `snakemake --report`: it names every rule and reads
    the results as the summary does (floor, settings, intervals, the headline), not as a
    fraction of the ceiling."""
    text = (ROOT / "workflow" / "report" / "workflow.rst").read_text()
    flat = " ".join(text.split())
    missing = [r for r in rules() if r != "all" and f"**{r}**" not in text]
    assert not missing, f"rules the report's workflow text does not name: {missing}"
    for said in ("floor", '"paper"', '"robust"', '"halves"', "95 % interval", "headline",
                 "(score - floor) / (ceiling - floor)"):
        assert said in flat, said
    assert "fraction of ceiling\" divides" not in flat
    headline = " ".join((ROOT / "workflow" / "report" / "headline.rst").read_text().split())
    assert all(s in headline for s in ("floor", "95 % intervals", '"halves"', "normalized"))
