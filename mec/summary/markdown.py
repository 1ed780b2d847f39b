"""Markdown rendering of the summary tables (without ``tabulate``)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------
def _fmt(v, floatfmt: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return ""
        return format(float(v), floatfmt)
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).replace("|", "\\|")


#: Per-column number formats of ``to_markdown`` (p-values keep 3 significant digits, so a
#: small p is not shown as 0.000).
MARKDOWN_FORMATS = {"p_value": ".3g", "p_welch": ".3g", "p_paired": ".3g"}


def to_markdown(df: pd.DataFrame, floatfmt: str = ".3f", formats: Mapping[str, str] | None = None) -> str:
    """Render ``df`` as a GitHub-flavoured Markdown table (no index; floats with
    ``floatfmt``, or ``formats[column]`` for the columns it names (default
    ``MARKDOWN_FORMATS``), NaN / NA as an empty cell, numbers right-aligned). Written here
    rather than with ``DataFrame.to_markdown`` so the package does not depend on
    ``tabulate``. The ``arena`` column is shown with one decimal, as in file names
    (contract)."""
    formats = {**MARKDOWN_FORMATS, **(formats or {})}
    if df.shape[1] == 0:
        return "_(empty table)_\n"
    header = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            if c == "arena" and isinstance(v, (float, np.floating)) and np.isfinite(v):
                cells.append(f"{float(v):.1f}")
            else:
                cells.append(_fmt(v, formats.get(c, floatfmt)))
        rows.append(cells)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if not rows:
        lines.append("| " + " | ".join("" for _ in header) + " |")
    return "\n".join(lines) + "\n"
