"""The README's result tables, made from a run's ``results/summary/``.

The tables under "What the default run gives" are not typed by hand: each sits in README.md
between two marker comments,

    <!-- readme-tables:NAME -->
    ...
    <!-- /readme-tables:NAME -->

and this script makes it from the summary tables that ``summarize`` writes (every number in
them is the CSV's value, rounded as printed here):

* ``health``: ``model_health.csv`` (each trained network beside its untrained twin);
* ``predictivity``: ``ceiling.csv`` and ``best_layer.csv``, paper setting (the noise ceiling
  and each model's best layer, per arena and map);
* ``headline``: ``headline.csv`` (ceiling, floor, score and normalized score per arena and
  setting).

Where the summary has them (mec.summary since methods §7.7), each median is followed by its
95 % interval, "0.834 [0.801, 0.862]" (hierarchical bootstrap over animals and cells).

Usage, from the repository root after a default run::

    python tools/readme_tables.py                         # print the tables (markdown)
    python tools/readme_tables.py --write README.md       # replace them between the markers
    python tools/readme_tables.py --check README.md       # exit 1 when the README differs

``--summary DIR`` reads another run's summary (default ``results/summary``). The script
needs pandas only (no Snakemake, no Keras).
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
from pathlib import Path

import pandas as pd

__all__ = ["TABLES", "check_tables", "main", "make_tables", "replace_tables"]


class ReadmeTablesError(ValueError):
    """A summary file or a README marker that the tables cannot be made from or put into."""


def _read(summary: Path, name: str, columns: list[str]) -> pd.DataFrame:
    path = summary / name
    if not path.is_file():
        raise ReadmeTablesError(f"{path}: no such summary table; run the workflow (rule "
                                f"summarize) or pass --summary DIR")
    table = pd.read_csv(path, dtype={"arena": str})
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ReadmeTablesError(f"{path}: missing column(s) {missing}; it was written by "
                                f"another version of mec.summary")
    return table


def _num(value, digits: int = 3) -> str:
    """A number as the README prints it: `digits` decimals; blank for NaN/None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, str)):
        return str(value)
    return f"{float(value):.{digits}f}"


def _ci(row, low: str, high: str, digits: int = 3) -> str:
    """" [low, high]" from the row's interval columns; "" when absent or not finite."""
    if low not in row.index or high not in row.index:
        return ""
    lo, hi = _num(row[low], digits), _num(row[high], digits)
    return f" [{lo}, {hi}]" if lo and hi else ""


def _p(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.2g}"


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _markdown(header: list[str], rows: list[list], source: str) -> str:
    lines = [_row(header), "|" + "---|" * len(header)]
    lines += [_row(r) for r in rows]
    lines.append("")
    lines.append(f"*Made by `tools/readme_tables.py` from {source}.*")
    return "\n".join(lines)


#: measure (model_health.csv) -> how the README names it and how many decimals it gets
_HEALTH_LABELS = {
    "decoding_error_cm": ("decoding error (cm)", 2),
    "dead_g_units": ("dead g units", 0),
    "recurrent_rms": ("recurrent weight RMS", 3),
    "recurrent_norm": ("recurrent weight norm (Frobenius)", 1),
    "grid_fraction_adaptive": ("grid fraction, adaptive rings (live g units > 0.3)", 3),
    "grid_fraction_mean_form": ("grid fraction, mean form (fixed rings)", 3),
    "knockout_grid_minus_heterogeneous_cm": ("knockouts: grid − heterogeneous (cm)", 2),
}


def health_table(summary: Path) -> str:
    cols = ["model", "untrained_twin", "arena", "measure", "trained", "untrained", "p_value",
            "expected", "agrees"]
    t = _read(summary, "model_health.csv", cols)
    rows = []
    for _, r in t.iterrows():
        label, digits = _HEALTH_LABELS.get(r["measure"], (r["measure"], 3))
        p = _p(r["p_value"])
        trained = _num(r["trained"], digits) + (f" (p = {p})" if p else "")
        agrees = "" if pd.isna(r["agrees"]) else ("yes" if str(r["agrees"]) == "True" else "no")
        rows.append([r["model"], r["untrained_twin"], r["arena"], label, trained,
                     _num(r["untrained"], digits), "" if pd.isna(r["expected"]) else r["expected"],
                     agrees])
    header = ["model", "untrained twin", "arena", "measure", "trained", "untrained twin",
              "paper's direction", "agrees"]
    return _markdown(header, rows, "`model_health.csv`")


def predictivity_table(summary: Path) -> str:
    ceiling = _read(summary, "ceiling.csv", ["arena", "map", "setting", "ceiling"])
    best = _read(summary, "best_layer.csv", ["model", "arena", "map", "setting", "best_layer",
                                             "median", "fraction_of_ceiling"])
    ceiling = ceiling[ceiling["setting"] == "paper"]
    best = best[best["setting"] == "paper"]
    models = list(dict.fromkeys(best["model"]))
    header = ["arena", "map", "ceiling"]
    for m in models:
        header += [f"{m}: median (layer)", "fraction"]
    rows = []
    for _, c in ceiling.iterrows():
        row = [c["arena"], c["map"], _num(c["ceiling"]) + _ci(c, "ceiling_ci_low", "ceiling_ci_high")]
        for m in models:
            b = best[(best["model"] == m) & (best["arena"] == c["arena"]) & (best["map"] == c["map"])]
            if len(b) == 0:
                row += ["", ""]
            else:
                b = b.iloc[0]
                row += [f"{_num(b['median'])}{_ci(b, 'ci_low', 'ci_high')} ({b['best_layer']})",
                        _num(b["fraction_of_ceiling"], 2)]
        rows.append(row)
    return _markdown(header, rows, "`ceiling.csv` and `best_layer.csv`, paper setting")


def headline_table(summary: Path) -> str:
    cols = ["arena", "setting", "map", "ceiling", "floor", "floor_source", "model", "layer",
            "score", "normalized"]
    t = _read(summary, "headline.csv", cols)
    rows = [[r["arena"], r["setting"], r["map"],
             _num(r["ceiling"]) + _ci(r, "ceiling_ci_low", "ceiling_ci_high"), _num(r["floor"]),
             "" if pd.isna(r["floor_source"]) else r["floor_source"], r["model"], r["layer"],
             _num(r["score"]) + _ci(r, "score_ci_low", "score_ci_high"), _num(r["normalized"], 2)]
            for _, r in t.iterrows()]
    header = ["arena", "setting", "map", "ceiling", "floor", "floor from", "model", "best layer",
              "score", "normalized"]
    return _markdown(header, rows, "`headline.csv`")


#: table name (the README marker's NAME) -> function of the summary folder
TABLES = {"health": health_table, "predictivity": predictivity_table, "headline": headline_table}


def make_tables(summary: str | Path, names=None) -> dict[str, str]:
    """name -> markdown of each table (all of TABLES, or `names`), from the summary folder."""
    summary = Path(summary)
    names = list(TABLES) if names is None else list(names)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise ReadmeTablesError(f"unknown table(s) {unknown}; known: {list(TABLES)}")
    return {n: TABLES[n](summary) for n in names}


def _block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- readme-tables:{re.escape(name)} -->\n)(.*?)(\n<!-- /readme-tables:"
                      rf"{re.escape(name)} -->)", re.DOTALL)


def _one_block(text: str, name: str, where: str) -> str:
    """The content of the one block of table `name` in `text` (an error names the file)."""
    found = _block(name).findall(text)
    if len(found) != 1:
        raise ReadmeTablesError(
            f"{where}: expected one block '<!-- readme-tables:{name} -->' ... "
            f"'<!-- /readme-tables:{name} -->', found {len(found)}")
    return found[0][1]


def replace_tables(text: str, tables: dict[str, str], where: str = "README") -> str:
    """`text` with the content between each table's markers replaced by the table."""
    for name, table in tables.items():
        _one_block(text, name, where)
        text = _block(name).sub(lambda m, t=table: m.group(1) + t + m.group(3), text)
    return text


def check_tables(text: str, tables: dict[str, str], where: str = "README") -> list[str]:
    """A unified diff per table whose README block differs from `tables` (empty: all equal)."""
    diffs = []
    for name, table in tables.items():
        current = _one_block(text, name, where)
        if current != table:
            diffs.append("".join(difflib.unified_diff(
                (current + "\n").splitlines(True), (table + "\n").splitlines(True),
                f"{where} ({name})", f"summary ({name})")))
    return diffs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summary", default="results/summary",
                        help="the run's summary folder (default: results/summary)")
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=None,
                        help="only these tables (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="README", help="replace the tables in this file")
    group.add_argument("--check", metavar="README",
                       help="exit 1 (printing the differences) when this file's tables differ")
    args = parser.parse_args(argv)
    try:
        tables = make_tables(args.summary, args.tables)
        if args.write:
            path = Path(args.write)
            path.write_text(replace_tables(path.read_text(), tables, str(path)))
            print(f"{path}: wrote tables {list(tables)} from {args.summary}")
            return 0
        if args.check:
            path = Path(args.check)
            diffs = check_tables(path.read_text(), tables, str(path))
            for d in diffs:
                print(d)
            if diffs:
                print(f"{path}: {len(diffs)} table(s) differ from {args.summary}; rerun with "
                      f"--write {path}", file=sys.stderr)
                return 1
            print(f"{path}: tables {list(tables)} match {args.summary}")
            return 0
    except ReadmeTablesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, table in tables.items():
        print(f"<!-- readme-tables:{name} -->\n{table}\n<!-- /readme-tables:{name} -->\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
