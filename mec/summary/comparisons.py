"""Paired comparisons of models on the cells they share (methods §7.7).

Two medians with overlapping intervals can still differ reliably when both are measured on
the same cells, and two medians whose intervals do not overlap can come from different
cells. So models are compared in pairs, per arena, map and setting (any value of the
``setting`` column: "paper", "robust", ...), each at its best layer as the summary picks it
(``mec.summary.tables.best_layer_table``), on the cells both scored:

* ``difference`` = median_a - median_b over the shared cells;
* ``ci_low`` / ``ci_high``: its 95 % interval from the *paired* hierarchical bootstrap
  (mec.stats): each replicate draws animals, then cells within them, once, and both models'
  medians are taken over that same draw; identical scores give exactly 0 and [0, 0];
* ``resolved``: the interval excludes 0 (mec.stats.is_resolved). An unresolved difference
  is not a ranking: the headline writes such pairs with "~", never ">";
* ``p_bootstrap``: the bootstrap p-value of the same replicates (mec.stats.bootstrap_p),
  the test to read, since it keeps cells of one animal together as the interval does;
  ``p_wilcoxon``: the Wilcoxon signed-rank p of the per-cell differences, for reference
  only (it treats cells as independent, which within an animal they are not, so it is
  too small when animals differ).

Kinds of pairs (``kind``): ``trained_vs_untrained`` (a trained network, a, against its
untrained twin, b: mec.summary.health.untrained_twins), ``model_vs_model`` (every other pair,
a before b by name) and ``model_vs_floor`` (each model, a, against the noise floor's control,
b: the control with the highest median of the arena, map and setting,
mec.summary.tables.floor_summary, scored on the same target cells).

:func:`ranking_table` and :func:`resolved_adjacent_pairs` read the table back: models ranked
by median, and which adjacent pairs of that ranking are resolved.
"""

from __future__ import annotations

import zlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["COMPARISON_COLUMNS", "COMPARISON_KINDS", "RANKING_COLUMNS", "ADJACENT_COLUMNS",
           "comparisons_table", "ranking_table", "resolved_adjacent_pairs", "ranking_text",
           "comparison_notes"]

COMPARISON_KINDS = ("trained_vs_untrained", "model_vs_floor", "model_vs_model")
COMPARISON_COLUMNS = ["arena", "map", "setting", "kind", "model_a", "layer_a", "model_b",
                      "layer_b", "n_cells", "n_animals", "median_a", "median_b", "difference",
                      "ci_low", "ci_high", "resolved", "p_bootstrap", "p_wilcoxon"]
RANKING_COLUMNS = ["arena", "map", "setting", "rank", "higher", "lower", "median_higher",
                   "median_lower", "difference", "ci_low", "ci_high", "resolved"]
ADJACENT_COLUMNS = ["arena", "map", "setting", "n_models", "n_adjacent", "n_resolved", "ranking"]

_GROUP = ["arena", "map", "setting"]
_CELL = ["animal", "cell_id"]


def _keyed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``arena_key_``: the arena's canonical key (numeric names compare as sizes)."""
    from mec.data.arenas import arena_key

    keys = {a: arena_key(a) for a in pd.unique(df["arena"])}  # once per arena, not per row
    return df.assign(arena_key_=df["arena"].map(keys))


def _cell_scores(rows: pd.DataFrame, what: str) -> pd.Series:
    """Scores indexed by (animal, cell_id); a cell twice is an error naming ``what``."""
    dup = rows.duplicated(_CELL, keep=False)
    if dup.any():
        first = rows.loc[dup, _CELL].iloc[0].tolist()
        raise ValueError(f"paired comparisons: {what} has {int(dup.sum())} rows for repeated "
                         f"cells (e.g. animal, cell_id = {first}); one row per cell expected")
    return rows.set_index(_CELL)["score"].astype(float)


def comparisons_table(fits: pd.DataFrame, best_layer: pd.DataFrame,
                      floors: pd.DataFrame | None = None,
                      model_configs: Mapping[str, Mapping] | None = None,
                      bootstrap=None) -> pd.DataFrame:
    """Every pair of models, and each model against the floor, per arena, map and setting
    (module docstring). Columns :data:`COMPARISON_COLUMNS`.

    Long because: per arena, map and setting it gathers the shared cells, lists the pairs and
    compares them, with per-group caches (bootstrap counts and medians per set of shared cells)
    that the steps share.

    fits: the tidy fit tables (``mec.summary.tables.load_scores``; ``source`` = model, one
    row per cell and layer). best_layer: ``best_layer_table``, whose ``best_layer`` says
    which layer of each model is compared. floors: the tidy floor tables (or None: no
    ``model_vs_floor`` rows). model_configs: the config's models (the untrained twins; None:
    every pair is ``model_vs_model``). bootstrap: mec.stats.Bootstrap or its config mapping
    (None: the defaults). A pair without a shared finite cell gets n_cells 0 and NaN
    statistics.
    """
    from mec.stats import Replicates, bootstrap_p, is_resolved, percentile_interval, \
        weighted_medians, wilcoxon_p
    from mec.summary.health import untrained_twins
    from mec.summary.frames import _with_setting
    from mec.summary.tables import floor_summary

    replicates = Replicates(bootstrap)
    if best_layer is None or best_layer.empty or fits is None or fits.empty:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    twin_pairs = {(m, t) for m, t in untrained_twins(model_configs or {}).items() if t}
    fits = _keyed(_with_setting(fits))
    best = _keyed(_with_setting(best_layer))
    fit_groups = dict(tuple(fits.groupby(["source", "arena_key_", "map", "setting", "layer"],
                                         sort=False)))
    floor_of, floor_groups = {}, {}
    if floors is not None and not floors.empty:
        floors = _keyed(_with_setting(floors))
        for r in _keyed(floor_summary(floors)).itertuples(index=False):
            floor_of[(r.arena_key_, r.map, r.setting)] = r.floor_source
        floor_groups = dict(tuple(floors.groupby(["source", "arena_key_", "map", "setting"],
                                                 sort=False)))

    rows = []
    for (arena_k, map_name, setting), b in best.groupby(["arena_key_", "map", "setting"], sort=True):
        arena = b["arena"].iloc[0]
        names, layers, series = [], {}, []
        for r in b.sort_values("model").itertuples(index=False):
            f = fit_groups.get((r.model, arena_k, map_name, setting, r.best_layer))
            if f is None:
                continue
            names.append(r.model)
            layers[r.model] = r.best_layer
            series.append(_cell_scores(f, f"model {r.model}, arena {arena}, map {map_name}, "
                                          f"setting {setting}, layer {r.best_layer}"))
        floor_name = floor_of.get((arena_k, map_name, setting))
        fl = floor_groups.get((floor_name, arena_k, map_name, setting)) if floor_name else None
        if fl is not None:
            layers[floor_name] = "-"
            series.append(_cell_scores(fl, f"floor {floor_name}, arena {arena}, map {map_name}, "
                                           f"setting {setting}"))
        if not names:
            continue
        table = pd.concat(series, axis=1, keys=names + ([floor_name] if fl is not None else []))
        scores = table.to_numpy(dtype=float).T                      # (n_sources, n_cells)
        animals = table.index.get_level_values("animal").astype(str).to_numpy()
        cell_ids = table.index.get_level_values("cell_id").astype(str).to_numpy()
        finite = np.isfinite(scores)
        index = {n: i for i, n in enumerate(table.columns)}

        pairs = []
        for i, a in enumerate(names):
            for other in names[i + 1:]:
                if (other, a) in twin_pairs:
                    pairs.append(("trained_vs_untrained", other, a))
                else:
                    pairs.append(("trained_vs_untrained" if (a, other) in twin_pairs
                                  else "model_vs_model", a, other))
        if fl is not None:
            pairs += [("model_vs_floor", a, floor_name) for a in names]

        counts_of, medians_of, n_animals_of, point_of = {}, {}, {}, {}

        def median_of(name, values, mkey):
            if (name, mkey) not in point_of:
                point_of[(name, mkey)] = float(np.median(values))
            return point_of[(name, mkey)]

        def replicate_medians(name, mask, mkey):
            # one draw of animals and cells per set of shared cells, seeded by the cells
            # (mec.stats.Replicates): every pair on the same cells is paired on the same
            # replicates, those of the summary tables' intervals on these cells
            if mkey not in counts_of:
                counts_of[mkey] = replicates.counts(animals[mask], cell_ids[mask])
            if (name, mkey) not in medians_of:
                medians_of[(name, mkey)] = weighted_medians(scores[index[name]][mask],
                                                            counts_of[mkey])
            return medians_of[(name, mkey)]

        pending: dict = {}  # mask key -> [(row index, per-cell differences)]: one Wilcoxon call
        for kind, a, bname in pairs:
            mask = finite[index[a]] & finite[index[bname]]
            mkey = zlib.crc32(np.packbits(mask).tobytes()) ^ int(mask.size)
            if mkey not in n_animals_of:
                n_animals_of[mkey] = int(np.unique(animals[mask]).size)
            row = {"arena": arena, "map": map_name, "setting": setting, "kind": kind,
                   "model_a": a, "layer_a": layers[a], "model_b": bname,
                   "layer_b": layers[bname], "n_cells": int(mask.sum()),
                   "n_animals": n_animals_of[mkey]}
            if not mask.any():
                rows.append({**row, "median_a": np.nan, "median_b": np.nan, "difference": np.nan,
                             "ci_low": np.nan, "ci_high": np.nan, "resolved": False,
                             "p_bootstrap": np.nan, "p_wilcoxon": np.nan})
                continue
            sa, sb = scores[index[a]][mask], scores[index[bname]][mask]
            diffs = replicate_medians(a, mask, mkey) - replicate_medians(bname, mask, mkey)
            lo, hi = percentile_interval(diffs)
            ma, mb = median_of(a, sa, mkey), median_of(bname, sb, mkey)
            pending.setdefault(mkey, []).append((len(rows), sa - sb))
            rows.append({**row, "median_a": ma, "median_b": mb, "difference": ma - mb,
                         "ci_low": lo, "ci_high": hi, "resolved": is_resolved(lo, hi),
                         "p_bootstrap": bootstrap_p(diffs), "p_wilcoxon": np.nan})
        for items in pending.values():  # pairs on the same cells: one vectorised test
            ps = wilcoxon_p(np.stack([d for _, d in items]))
            for (i, _), p in zip(items, ps):
                rows[i]["p_wilcoxon"] = float(p)
    out = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    out["resolved"] = out["resolved"].astype(bool)
    return out


def _oriented(row, higher: str) -> tuple[float, float, float, bool]:
    """(difference, ci_low, ci_high, resolved) of a comparison row as ``higher`` - other."""
    if row["model_a"] == higher:
        return row["difference"], row["ci_low"], row["ci_high"], bool(row["resolved"])
    return -row["difference"], -row["ci_high"], -row["ci_low"], bool(row["resolved"])


def ranking_table(comparisons: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """The adjacent pairs of the ranking by median, per arena, map and setting: one row per
    pair (rank 1 = the top two), ``difference`` = higher - lower with its paired interval
    and ``resolved`` from ``comparisons`` (:func:`comparisons_table`). Models are those of
    the model-vs-model and trained-vs-untrained rows (or only ``models``); each model's
    median is read from its comparison row with the most shared cells. A pair never
    compared (no shared cell) counts as unresolved. Columns :data:`RANKING_COLUMNS`."""
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=RANKING_COLUMNS)
    c = comparisons[comparisons["kind"] != "model_vs_floor"]
    wanted = None if models is None else set(models)
    rows = []
    for (arena_k, map_name, setting), g in _keyed(c).groupby(["arena_key_", "map", "setting"], sort=True):
        arena = g["arena"].iloc[0]
        long = pd.concat([
            g[["model_a", "median_a", "n_cells"]].set_axis(["model", "median", "n_cells"], axis=1),
            g[["model_b", "median_b", "n_cells"]].set_axis(["model", "median", "n_cells"], axis=1)])
        if wanted is not None:
            long = long[long["model"].isin(wanted)]
        long = long[np.isfinite(long["median"].to_numpy(dtype=float))]
        med = (long.sort_values(["model", "n_cells"], ascending=[True, False], kind="stable")
               .groupby("model", sort=True).head(1).set_index("model")["median"])
        order = sorted(med.index, key=lambda m: (-med[m], m))
        pair_row = {frozenset((r["model_a"], r["model_b"])): r for _, r in g.iterrows()}
        for k, (hi_m, lo_m) in enumerate(zip(order[:-1], order[1:]), start=1):
            r = pair_row.get(frozenset((hi_m, lo_m)))
            d, lo, hi, res = _oriented(r, hi_m) if r is not None else (np.nan, np.nan, np.nan, False)
            rows.append({"arena": arena, "map": map_name, "setting": setting, "rank": k,
                         "higher": hi_m, "lower": lo_m, "median_higher": float(med[hi_m]),
                         "median_lower": float(med[lo_m]), "difference": d, "ci_low": lo,
                         "ci_high": hi, "resolved": res})
    out = pd.DataFrame(rows, columns=RANKING_COLUMNS)
    out["resolved"] = out["resolved"].astype(bool)
    return out


def ranking_text(pairs: pd.DataFrame) -> str:
    """One group's ranking from its :func:`ranking_table` rows: "a > b ~ c", ">" for a
    resolved adjacent pair, "~" for an unresolved one (not a ranking)."""
    if pairs.empty:
        return ""
    pairs = pairs.sort_values("rank")
    text = str(pairs["higher"].iloc[0])
    for r in pairs.itertuples(index=False):
        text += (" > " if r.resolved else " ~ ") + str(r.lower)
    return text


def resolved_adjacent_pairs(comparisons: pd.DataFrame,
                            models: Sequence[str] | None = None) -> pd.DataFrame:
    """How many adjacent pairs of the ranking by median are resolved, per arena, map and
    setting: n_models, n_adjacent (= n_models - 1), n_resolved and the ranking as text
    (:func:`ranking_text`). ``models``: rank only these (e.g. the trained networks of a
    Figure 2 run). Columns :data:`ADJACENT_COLUMNS`."""
    ranks = ranking_table(comparisons, models)
    rows = []
    for _, g in _keyed(ranks).groupby(["arena_key_", "map", "setting"], sort=True):
        rows.append({"arena": g["arena"].iloc[0], "map": g["map"].iloc[0],
                     "setting": g["setting"].iloc[0], "n_models": len(g) + 1,
                     "n_adjacent": len(g), "n_resolved": int(g["resolved"].sum()),
                     "ranking": ranking_text(g)})
    return pd.DataFrame(rows, columns=ADJACENT_COLUMNS)


def _signed(v: float) -> str:
    return f"{v:+.3f}" if np.isfinite(v) else "n/a"


def _pair_line(r) -> str:
    verdict = "resolved" if r.resolved else "not resolved (the interval includes 0)"
    return (f"{r.model_a} - {r.model_b} = {_signed(r.difference)} "
            f"[{_signed(r.ci_low)}, {_signed(r.ci_high)}], {verdict}; "
            f"p_bootstrap = {r.p_bootstrap:.3g}, {r.n_cells} cells of {r.n_animals} animals")


def comparison_notes(comparisons: pd.DataFrame, map_name: str | None,
                     max_ranked: int = 10) -> list[str]:
    """The headline's lines on the paired comparisons of ``map_name`` (methods §7.7): per
    arena and setting, each trained network against its untrained twin and each model
    against the floor (difference, interval, resolved or not), and the ranking of the
    models with "~" between unresolved neighbours (only the count of resolved adjacent pairs
    beyond ``max_ranked`` models)."""
    if comparisons is None or comparisons.empty or map_name is None:
        return []
    from mec.data.arenas import arena_label, arena_sort_key

    c = comparisons[comparisons["map"] == map_name]
    lines = []
    adjacent = resolved_adjacent_pairs(c)
    for (arena_k, setting), g in sorted(_keyed(c).groupby(["arena_key_", "setting"], sort=False),
                                        key=lambda kv: (arena_sort_key(kv[0][0]), str(kv[0][1]))):
        where = f"arena {arena_label(g['arena'].iloc[0])}, {setting}"
        for r in g[g["kind"] == "trained_vs_untrained"].itertuples(index=False):
            lines.append(f"  - {where}, trained vs untrained twin: {_pair_line(r)}.")
        floor = g[g["kind"] == "model_vs_floor"]
        if len(floor):
            res = floor[floor["resolved"] & (floor["difference"] > 0)]
            lines.append(f"  - {where}, above the floor ({floor['model_b'].iloc[0]}): "
                         f"{len(res)} of {len(floor)} models resolved"
                         + (f" ({', '.join(res['model_a'])})" if len(res) else "") + ".")
        adj = adjacent[(adjacent["setting"] == setting)
                       & (_keyed(adjacent)["arena_key_"] == arena_k)] if len(adjacent) else adjacent
        for r in adj.itertuples(index=False):
            text = f": {r.ranking}" if r.n_models <= max_ranked else ""
            lines.append(f"  - {where}, ranking by median: {r.n_resolved} of {r.n_adjacent} "
                         f"adjacent pairs resolved{text}.")
    if not lines:
        return []
    return [f"- **Paired comparisons** (map {map_name}; comparisons.csv, methods §7.7): the "
            "difference of medians on the cells both sources scored, with its 95 % interval "
            "from the paired hierarchical bootstrap (animals, then cells). *Resolved* = the "
            "interval excludes 0; an unresolved difference is no ranking (written \"~\").",
            *lines]
