"""The project's documentation as the tests read it: README.md and every docs/*.md.

Text moved from the README into docs/ stays checked: the tests that run a documented code
block, look up a documented name or compare a documented table read the files listed here,
not README.md alone.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def doc_files() -> list[Path]:
    """README.md, then every docs/*.md in name order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def doc_text() -> str:
    """All of them, one after another (a code block never spans two files)."""
    return "\n\n".join(f.read_text() for f in doc_files())
