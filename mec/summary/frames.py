"""The tidy per-cell score tables in and out: reading them, their ``setting`` column, and
writing CSVs atomically.

Inputs are the tidy CSVs of the contract (``results/consistency/{arena}.csv``,
``results/fits/{model}_{arena}.csv``), one row per cell with ``REQUIRED_COLUMNS``. Tables may
carry a ``setting`` column (mec.fits.settings); a table without it is the paper's
(``DEFAULT_SETTING``). Only pandas and numpy at module level (the dry run imports nothing heavy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

#: Columns every tidy score table must have (contract: consistency and fit tables).
REQUIRED_COLUMNS = ("arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "score")

#: The setting of score tables that carry no ``setting`` column (mec.fits.settings).
DEFAULT_SETTING = "paper"


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as CSV (no index) atomically (temporary name, then rename)."""
    try:
        from mec.io import write_table
    except ImportError:  # pragma: no cover - mec.io is part of the package
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
        return path
    return Path(write_table(df, path))


def _round_arena(values) -> np.ndarray:
    # Numeric arena names are sizes in metres written with one decimal (contract); rounding
    # removes float noise so 2.2 read from two files joins as the same key. Word names
    # (mec.data.arenas) make the whole column their canonical text ("1.0", "wide"), so it
    # sorts and joins with one type.
    values = list(values)
    try:
        return np.round(np.asarray(values, dtype=float), 6)
    except (TypeError, ValueError):
        from mec.data.arenas import arena_key

        return np.asarray([arena_key(v) for v in values], dtype=object)


def _arena_order(arena):
    from mec.data.arenas import arena_sort_key

    return arena_sort_key(arena)


def load_scores(paths: Sequence[str | os.PathLike], what: str) -> pd.DataFrame:
    """Concatenate tidy score CSVs into one DataFrame.

    ``what`` names the kind of table in error messages ("consistency", "fit").
    Returns the contract columns with ``arena`` float (metres; the canonical names as text
    when an arena is named by a word), ``score`` float and the id
    columns as strings; a missing or empty ``cell_type`` becomes ``"unknown"``.
    Raises FileNotFoundError for a missing path and ValueError for missing columns.
    """
    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"{what} table {p} does not exist")
        df = pd.read_csv(p, dtype={c: str for c in ("animal", "cell_id", "cell_type", "source",
                                                      "layer", "map")})
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{what} table {p} lacks column(s) {missing}; "
                             f"expected {list(REQUIRED_COLUMNS)}")
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("arena", "score") else object)
                             for c in REQUIRED_COLUMNS + ("setting",)})
    df = _with_setting(pd.concat(frames, ignore_index=True))
    df["arena"] = _round_arena(df["arena"])
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    df["cell_type"] = df["cell_type"].fillna("unknown").replace("", "unknown")
    df["layer"] = df["layer"].fillna("-")
    return df


def _with_setting(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a ``setting`` column: tables written before settings existed, and rows
    without one, are the paper's (``DEFAULT_SETTING``)."""
    if "setting" not in df.columns:
        return df.assign(setting=DEFAULT_SETTING)
    return df.assign(setting=df["setting"].fillna(DEFAULT_SETTING).astype(str))


def _normalized(median, floor, ceiling) -> np.ndarray:
    """(median - floor) / (ceiling - floor); NaN where the ceiling is not above the floor."""
    median, floor, ceiling = (pd.to_numeric(pd.Series(np.asarray(v, dtype=object)),
                                            errors="coerce").to_numpy(dtype=float)
                              for v in (median, floor, ceiling))
    span = ceiling - floor
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, (median - floor) / span, np.nan)


def _paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the paper's setting (all rows of a table without a setting column)."""
    if "setting" not in df.columns:
        return df
    return df[_with_setting(df)["setting"] == DEFAULT_SETTING]
