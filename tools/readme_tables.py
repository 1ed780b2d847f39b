"""The result tables of README.md and docs/results.md, made from a run's ``results/summary/``.

The tables of the default run are not typed by hand: each sits between two marker comments,

    <!-- readme-tables:NAME -->
    ...
    <!-- /readme-tables:NAME -->

in README.md (the headline) or docs/results.md (the others), and this script makes it from
the summary tables that ``summarize`` writes (every number in them is the CSV's value, rounded
as printed here):

* ``health``: ``model_health.csv`` (each trained network beside its untrained twin);
* ``predictivity``: ``ceiling.csv`` and ``best_layer.csv``, paper setting (the noise ceiling
  and each model's best layer, per arena and map);
* ``headline``: ``headline.csv`` (ceiling, floor, score and normalized score per arena and
  setting);
* ``seeds``: ``seed_values.csv`` and ``seeds.csv`` (each seed's number beside the mean and
  interval over seeds, for the models with seeds).

Where the summary has them (mec.summary since methods §7.7), each median is followed by its
95 % interval, "0.834 [0.801, 0.862]" (hierarchical bootstrap over animals and cells).

A model with seeds (``seeds`` or ``n_seeds`` in its config) has one network per seed, each a
row ``{model}/seed{k}`` of the summary's tables. The health, predictivity and headline tables
give it one row, "ugrnn_relu (3 seeds)": each number the mean over its seeds with the 95 %
t-interval over seeds from ``seeds.csv`` (methods §7.11), and the best layer of each seed;
the ``seeds`` table keeps the seeds' own numbers. Which member is which model and seed is read from ``seed_values.csv``.

Usage, from the repository root after a default run::

    python tools/readme_tables.py                                        # print the tables
    python tools/readme_tables.py --write README.md docs/results.md      # replace them
    python tools/readme_tables.py --check README.md docs/results.md      # exit 1 on a difference

Each table has exactly one block among the files given.
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

__all__ = ["TABLES", "check_tables", "locate_tables", "main", "make_tables", "replace_tables"]

#: the columns of seed_values.csv and seeds.csv read here (mec.summary.seeds)
_VALUE_COLUMNS = ["model", "seed", "member", "arena", "map", "setting", "measure", "layer",
                  "value"]
_SPREAD_COLUMNS = ["model", "arena", "map", "setting", "measure", "n_seeds", "mean", "ci_low",
                   "ci_high"]


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


def _markdown(header: list[str], rows: list[list], source: str, seeded: bool = False) -> str:
    lines = [_row(header), "|" + "---|" * len(header)]
    lines += [_row(r) for r in rows]
    lines.append("")
    note = ("; a model with seeds: the mean over its seeds and the 95 % t-interval over seeds "
            "(`seeds.csv`), and each seed's best layer" if seeded else "")
    lines.append(f"*Made by `tools/readme_tables.py` from {source}{note}.*")
    return "\n".join(lines)


class _Seeds:
    """Which summary rows are seeds of one model, and their spread over seeds.

    members: member (a row's ``model``: "ugrnn_relu/seed1") -> (model, seed), for the members
    of models with seeds only (seed_values.csv; a model without seeds is its own member);
    spread: seeds.csv, indexed by (model, arena, map, setting, measure)."""

    def __init__(self, summary: Path):
        self.summary = summary
        self.members: dict[str, tuple[str, int]] = {}
        self._spread = None
        self.values = None  # seed_values.csv, None for a summary written before seeds
        if (summary / "seed_values.csv").is_file():
            values = self.values = _read(summary, "seed_values.csv", _VALUE_COLUMNS)
            for r in values.itertuples(index=False):
                if str(r.member) != str(r.model):
                    self.members[str(r.member)] = (str(r.model), int(r.seed))
        self.models = {model for model, _ in self.members.values()}  # the models with seeds

    def model(self, member) -> str:
        """The model a row belongs to (the row's own name when it is not a seed)."""
        return self.members.get(str(member), (str(member), None))[0]

    def seed(self, member):
        return self.members.get(str(member), (None, None))[1]

    def seeded(self, model) -> bool:
        return model in self.models

    def ordered(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (their ``model`` column: members) in seed order; as they are without seeds."""
        order = [self.seed(m) for m in rows["model"]]
        if all(k is None for k in order):
            return rows
        return rows.assign(_seed=order).sort_values("_seed", kind="stable")

    def label(self, model, members) -> str:
        n = len(members)
        return f"{model} ({n} seed{'s' if n != 1 else ''})" if self.seeded(model) else str(model)

    def _table(self) -> pd.DataFrame:
        """seeds.csv indexed by (model, arena, map, setting, measure), read once."""
        if self._spread is None:
            t = _read(self.summary, "seeds.csv", _SPREAD_COLUMNS)
            t["arena"] = t["arena"].astype(str)
            self._spread = t.set_index(["model", "arena", "map", "setting", "measure"])
        return self._spread

    def has(self, *key) -> bool:
        """Whether seeds.csv has a row for (model, arena, map, setting, measure)."""
        return tuple(str(k) for k in key) in self._table().index

    def spread(self, model, arena, map_, setting, measure):
        """seeds.csv's row (mean, ci_low, ci_high, n_seeds) of a model's number; an error
        naming the file and the number when it is missing."""
        if not self.has(model, arena, map_, setting, measure):
            raise ReadmeTablesError(
                f"{self.summary / 'seeds.csv'}: no row for model {model}, arena {arena}, map "
                f"{map_}, setting {setting}, measure {measure}; it was written by another run "
                f"than seed_values.csv")
        return self._table().loc[[tuple(str(k) for k in (model, arena, map_, setting,
                                                          measure))]].iloc[0]

    def mean_ci(self, model, arena, map_, setting, measure, digits: int = 3) -> str:
        """"mean [low, high]" over the model's seeds."""
        row = self.spread(model, arena, map_, setting, measure)
        return _num(row["mean"], digits) + _ci(row, "ci_low", "ci_high", digits)


def _groups(table: pd.DataFrame, seeds: _Seeds, keys: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """Rows of `table` grouped by `keys` with its ``model`` column read as the model (a
    seed's row joins its model's group), in the table's order; each group's rows in seed
    order."""
    t = table.assign(_model=[seeds.model(m) for m in table["model"]])
    cols = [("_model" if k == "model" else k) for k in keys]
    return [(key, seeds.ordered(g)) for key, g in t.groupby(cols, sort=False, dropna=False)]


def _layers(layers) -> str:
    """Each seed's best layer, once when they agree: "dc", or "g, dc, g" in seed order."""
    layers = [str(x) for x in layers]
    return layers[0] if len(set(layers)) == 1 else ", ".join(layers)


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


def _agrees(values) -> str:
    """"yes"/"no" (blank: no reading); over seeds "yes (3 of 3 seeds)"."""
    read = [str(v) == "True" for v in values if not pd.isna(v)]
    if not read:
        return ""
    if len(values) == 1:
        return "yes" if read[0] else "no"
    k = sum(read)
    return f"{'yes' if k == len(read) else 'no'} ({k} of {len(read)} seeds)"


def _p_range(values) -> str:
    """"p = 0.015" for one p-value, "p = 4e-05–0.015" (lowest–highest) for several seeds'."""
    ps = sorted(float(v) for v in values if _p(v))
    if not ps:
        return ""
    low, high = _p(ps[0]), _p(ps[-1])
    return f"p = {low}" if low == high else f"p = {low}–{high}"


def health_table(summary: Path) -> str:
    cols = ["model", "untrained_twin", "arena", "measure", "trained", "untrained", "p_value",
            "expected", "agrees"]
    t = _read(summary, "model_health.csv", cols)
    seeds = _Seeds(summary)
    rows = []
    for (model, arena, measure), g in _groups(t, seeds, ["model", "arena", "measure"]):
        r = g.iloc[0]
        label, digits = _HEALTH_LABELS.get(measure, (measure, 3))
        twin = "" if pd.isna(r["untrained_twin"]) else seeds.model(r["untrained_twin"])
        p = _p_range(g["p_value"])
        if seeds.seeded(model):
            trained = seeds.mean_ci(model, arena, "-", "-", measure, digits)
            untrained = (seeds.mean_ci(twin, arena, "-", "-", measure, digits)
                         if twin and seeds.has(twin, arena, "-", "-", measure) else "")
        else:
            trained, untrained = _num(r["trained"], digits), _num(r["untrained"], digits)
        trained += f" ({p})" if p else ""
        rows.append([seeds.label(model, g["model"]),
                     seeds.label(twin, g["untrained_twin"]) if twin else "", arena, label,
                     trained, untrained, "" if pd.isna(r["expected"]) else r["expected"],
                     _agrees(list(g["agrees"]))])
    header = ["model", "untrained twin", "arena", "measure", "trained", "untrained twin",
              "paper's direction", "agrees"]
    return _markdown(header, rows, "`model_health.csv`", bool(seeds.members))


def predictivity_table(summary: Path) -> str:
    ceiling = _read(summary, "ceiling.csv", ["arena", "map", "setting", "ceiling"])
    best = _read(summary, "best_layer.csv", ["model", "arena", "map", "setting", "best_layer",
                                             "median", "fraction_of_ceiling"])
    seeds = _Seeds(summary)
    ceiling = ceiling[ceiling["setting"] == "paper"]
    best = best[best["setting"] == "paper"]
    best = best.assign(_model=[seeds.model(m) for m in best["model"]])
    models = list(dict.fromkeys(best["_model"]))
    header = ["arena", "map", "ceiling"]
    for m in models:
        header += [f"{seeds.label(m, best.loc[best['_model'] == m, 'model'].unique())}: "
                   f"median (layer)", "fraction"]
    rows = []
    for _, c in ceiling.iterrows():
        row = [c["arena"], c["map"], _num(c["ceiling"]) + _ci(c, "ceiling_ci_low", "ceiling_ci_high")]
        for m in models:
            b = best[(best["_model"] == m) & (best["arena"] == c["arena"])
                     & (best["map"] == c["map"])]
            if len(b) == 0:
                row += ["", ""]
            elif seeds.seeded(m):
                b = seeds.ordered(b)
                frac = seeds.spread(m, c["arena"], c["map"], "paper", "fraction_of_ceiling")
                row += [f"{seeds.mean_ci(m, c['arena'], c['map'], 'paper', 'score')} "
                        f"({_layers(b['best_layer'])})", _num(frac["mean"], 2)]
            else:
                b = b.iloc[0]
                row += [f"{_num(b['median'])}{_ci(b, 'ci_low', 'ci_high')} ({b['best_layer']})",
                        _num(b["fraction_of_ceiling"], 2)]
        rows.append(row)
    return _markdown(header, rows, "`ceiling.csv` and `best_layer.csv`, paper setting",
                     bool(seeds.members))


def headline_table(summary: Path) -> str:
    cols = ["arena", "setting", "map", "ceiling", "floor", "floor_source", "model", "layer",
            "score", "normalized"]
    t = _read(summary, "headline.csv", cols)
    seeds = _Seeds(summary)
    rows = []
    for (arena, setting, map_, model), g in _groups(t, seeds, ["arena", "setting", "map",
                                                              "model"]):
        r = g.iloc[0]
        if seeds.seeded(model):
            score = seeds.mean_ci(model, arena, map_, setting, "score")
            normalized = _num(seeds.spread(model, arena, map_, setting, "normalized")["mean"], 2)
            layer = _layers(g["layer"])
        else:
            score = _num(r["score"]) + _ci(r, "score_ci_low", "score_ci_high")
            normalized, layer = _num(r["normalized"], 2), r["layer"]
        rows.append([arena, setting, map_,
                     _num(r["ceiling"]) + _ci(r, "ceiling_ci_low", "ceiling_ci_high"),
                     _num(r["floor"]), "" if pd.isna(r["floor_source"]) else r["floor_source"],
                     seeds.label(model, g["model"]), layer, score, normalized])
    header = ["arena", "setting", "map", "ceiling", "floor", "floor from", "model", "best layer",
              "score", "normalized"]
    return _markdown(header, rows, "`headline.csv`", bool(seeds.members))


#: (setting, map, measure) of the seeds table, in its order: the scores of the headline's
#: settings (Ridge, best layer), then the model-health measures
_SEED_ROWS = [("halves", "ridge", "score"), ("paper", "ridge", "score"),
              ("-", "-", "decoding_error_cm"), ("-", "-", "grid_fraction_adaptive"),
              ("-", "-", "knockout_grid_minus_heterogeneous_cm")]


def seeds_table(summary: Path) -> str:
    """Each model with seeds: every seed's number beside the mean and interval over seeds."""
    seeds = _Seeds(summary)
    if not seeds.members:
        return ("No model of this run has seeds.\n\n*Made by `tools/readme_tables.py` from "
                "`seed_values.csv`.*")
    values = seeds.values[seeds.values["member"].astype(str).isin(seeds.members)]
    values = values.assign(arena=values["arena"].astype(str))
    all_seeds = sorted({int(s) for s in values["seed"]})
    rows = []
    for model in dict.fromkeys(values["model"]):
        for setting, map_, measure in _SEED_ROWS:
            sel = values[(values["model"] == model) & (values["setting"] == setting)
                         & (values["map"] == map_) & (values["measure"] == measure)]
            for arena in dict.fromkeys(sorted(sel["arena"])):
                a = sel[sel["arena"] == arena]
                label, digits = _HEALTH_LABELS.get(measure, (measure, 3))
                if setting != "-":
                    label = f"score, {setting} setting, {map_} (best layer)"
                per_seed = {int(r.seed): _num(r.value, digits) for r in a.itertuples()}
                rows.append([model, arena, label]
                            + [per_seed.get(k, "") for k in all_seeds]
                            + [seeds.mean_ci(model, arena, map_, setting, measure, digits)])
    header = (["model", "arena", "number"] + [f"seed {k}" for k in all_seeds]
              + ["mean [95 % t-interval over seeds]"])
    return _markdown(header, rows, "`seed_values.csv` and `seeds.csv`")


#: table name (the README marker's NAME) -> function of the summary folder
TABLES = {"health": health_table, "predictivity": predictivity_table, "headline": headline_table,
          "seeds": seeds_table}


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


def locate_tables(texts: dict[str, str], names) -> dict[str, str]:
    """table name -> the one file of `texts` (file -> text) whose block holds it.

    The tables may be spread over several files (the headline in README.md, the rest in
    docs/results.md), but each has exactly one block among them all: none, or one in two
    files, is an error naming the files searched."""
    where = {}
    for name in names:
        found = {w: len(_block(name).findall(t)) for w, t in texts.items()}
        holders = [w for w, n in found.items() if n]
        if sum(found.values()) != 1:
            counts = ", ".join(f"{w}: {n}" for w, n in found.items())
            raise ReadmeTablesError(
                f"{', '.join(texts)}: expected one block '<!-- readme-tables:{name} -->' ... "
                f"'<!-- /readme-tables:{name} -->' in all, found {counts}")
        where[name] = holders[0]
    return where


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summary", default="results/summary",
                        help="the run's summary folder (default: results/summary)")
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=None,
                        help="only these tables (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", metavar="FILE", nargs="+",
                       help="replace the tables in these files (each table's block in one of "
                            "them)")
    group.add_argument("--check", metavar="FILE", nargs="+",
                       help="exit 1 (printing the differences) when these files' tables differ")
    args = parser.parse_args(argv)
    try:
        tables = make_tables(args.summary, args.tables)
        files = args.write or args.check
        if files:
            paths = [Path(f) for f in files]
            texts = {str(p): p.read_text() for p in paths}
            where = locate_tables(texts, tables)
            mine = {w: {n: t for n, t in tables.items() if where[n] == w} for w in texts}
        if args.write:
            new = {w: replace_tables(texts[w], mine[w], w) for w in texts}  # all, then write
            for path in paths:
                path.write_text(new[str(path)])
            print(f"{', '.join(texts)}: wrote tables {list(tables)} from {args.summary}")
            return 0
        if args.check:
            diffs = [d for w in texts for d in check_tables(texts[w], mine[w], w)]
            for d in diffs:
                print(d)
            if diffs:
                print(f"{', '.join(texts)}: {len(diffs)} table(s) differ from {args.summary}; "
                      f"rerun with --write {' '.join(texts)}", file=sys.stderr)
                return 1
            print(f"{', '.join(texts)}: tables {list(tables)} match {args.summary}")
            return 0
    except ReadmeTablesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, table in tables.items():
        print(f"<!-- readme-tables:{name} -->\n{table}\n<!-- /readme-tables:{name} -->\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
