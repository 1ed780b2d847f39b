"""Summary tables derived from the tidy per-cell score tables (never hand-edited).

Inputs are the tidy CSVs of the contract: ``results/consistency/{arena}.csv`` (inter-animal
consistency, the noise ceiling, methods §4.3) and ``results/fits/{model}_{arena}.csv`` (model
predictivity, methods §4.5), both with columns
``arena, animal, cell_id, cell_type, source, layer, map, score`` and one row per cell.

Every summary statistic is a median over cells of ``score`` (finite scores only; NaN scores
are counted in ``n_nan``), as the paper does (``unit_concat`` then median, methods §4.3), plus the
spread across animals (statistics of the per-animal medians) and its 95 % interval (ci_low,
ci_high: hierarchical bootstrap over animals, then cells, mec.stats, methods §7.7). "Fraction
of the ceiling" is a
ratio of medians, model median / ceiling median of the same arena and map (brain-score's
``ceiled`` score, DESIGN example 5).

Settings and floors (methods §7.2, §7.3): tables may carry a ``setting`` column (mec.fits.settings:
"paper", "robust"; a table without it is the paper's) and every statistic is kept apart per
setting. The noise floors (``results/floors/{arena}.csv``, mec.fits.floors; sources
``control_<kind>``) give each arena, map and setting a ``floor``: the highest median over the
controls (``floor_source`` names it), and every row that has a ceiling gets the floor beside
it and ``normalized = (median - floor) / (ceiling - floor)``: 0 is what a source without
spatial tuning scores through the same recipe and splits, 1 is the ceiling. The Figure 2
pivot and the dimensionality control are the paper's (setting "paper" only).

Baselines (config ``baseline: kind``, mec.baselines, methods §4.6) are summarised like models:
their condition is "baseline" and their row label names the kind, the NMF components and the
box the baseline was built in (``baseline_label``). The dimensionality control (methods §6) puts
the participation ratio of each layer's rate maps next to its predictivity; the knockout
table summarises the in-silico experiment (mec.models.knockouts).

Only pandas and numpy are imported at module level (scipy inside the functions that need
it): the workflow's dry run imports nothing heavy.

This module holds the aggregation (ceilings, floors, predictivity, best layer, per cell type)
and the Figure 2 pivot; its parts live beside it and are re-exported here:
mec.summary.frames (reading score tables, the setting column, CSV writing),
mec.summary.descriptors (row labels and order), mec.summary.controls (the dimensionality
and knockout tables) and mec.summary.markdown (``to_markdown``).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mec.models.conditions import CONDITIONS, training_condition  # noqa: F401
# The tables' parts live in their own modules; their public names are re-exported here, the
# module users and scripts import them from.
from mec.summary.controls import (  # noqa: F401
    DIMENSIONALITY_COLUMNS,
    KNOCKOUT_DIFFERENCE,
    KNOCKOUT_GROUPS,
    KNOCKOUT_INPUT_COLUMNS,
    KNOCKOUT_TABLE_COLUMNS,
    dimensionality_correlation,
    dimensionality_table,
    knockouts_table,
    load_knockouts,
)
from mec.summary.descriptors import (  # noqa: F401
    ACTIVATION_ORDER,
    ARCHITECTURE_ORDER,
    BASELINE_ARCHITECTURE,
    BASELINE_ORDER,
    CELL_TYPE_GROUPS,
    EXTERNAL_CONDITION,
    LAYER_ORDER,
    UNKNOWN_CONDITION,
    _add_model_columns,
    _layer_key,
    _sort_rows,
    baseline_label,
    cell_type_group,
    model_descriptor,
)
from mec.summary.frames import (  # noqa: F401
    DEFAULT_SETTING,
    REQUIRED_COLUMNS,
    _arena_order,
    _normalized,
    _paper_rows,
    _round_arena,
    _with_setting,
    load_scores,
    write_csv,
)
from mec.summary.markdown import MARKDOWN_FORMATS, to_markdown  # noqa: F401

__all__ = [
    "REQUIRED_COLUMNS",
    "CORRECTED_COLUMNS",
    "CEILING_SOURCES",
    "CONDITIONS",
    "CELL_TYPE_GROUPS",
    "LAYER_ORDER",
    "MAP_PREFERENCE",
    "load_scores",
    "cell_type_group",
    "training_condition",
    "baseline_label",
    "model_descriptor",
    "aggregate_scores",
    "floor_summary",
    "floors_table",
    "ceiling_table",
    "reference_ceiling",
    "predictivity_table",
    "best_layer_table",
    "by_cell_type_table",
    "choose_map",
    "figure2_long_table",
    "figure2_table",
    "DIMENSIONALITY_COLUMNS",
    "dimensionality_table",
    "dimensionality_correlation",
    "KNOCKOUT_TABLE_COLUMNS",
    "KNOCKOUT_INPUT_COLUMNS",
    "load_knockouts",
    "knockouts_table",
    "to_markdown",
    "write_csv",
]

#: Ceiling sources in order of preference: holdout is the paper's noise ceiling (methods §4.3);
#: pairwise (lower) is used only where holdout was not computed.
CEILING_SOURCES = ("interanimal_holdout", "interanimal_pairwise")

#: Map used for the Figure 2 pivot, in order of preference (the paper's Figure 2 uses the
#: per-cell ElasticNet, methods §4.6).
MAP_PREFERENCE = ("elasticnet", "ridge")

_STAT_COLUMNS = ["median", "ci_low", "ci_high", "n_cells", "n_nan", "n_animals", "animal_median",
                 "animal_q25", "animal_q75", "animal_min", "animal_max"]
#: The per-animal statistics of ``_STAT_COLUMNS`` (NaN for a group without a finite score).
_ANIMAL_COLUMNS = _STAT_COLUMNS[6:]


# ---------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------
def aggregate_scores(df: pd.DataFrame, keys: Sequence[str], bootstrap=None) -> pd.DataFrame:
    """Median over cells of ``score`` per group of ``keys``, with the spread across animals.

    Columns added: median (over finite cell scores), ci_low / ci_high (its 95 % interval
    from the hierarchical bootstrap over animals, then cells within them: mec.stats,
    methods §7.7), n_cells (finite scores), n_nan, n_animals (animals with a finite score),
    and animal_median / animal_q25 / animal_q75 / animal_min / animal_max: statistics of the
    per-animal medians (linear-interpolated quartiles). A group with no finite score has NaN
    statistics. ``bootstrap``: mec.stats.Bootstrap or its config mapping (None: the
    defaults, 1000 replicates, seed 0); False skips the intervals (NaN), for tables that
    only need the medians.
    """
    from mec.stats import Replicates, cell_identities, median_ci

    # one draw per set of cells, shared by every group on those cells (mec.stats.Replicates)
    replicates = None if bootstrap is False else Replicates(bootstrap)
    keys = list(keys)
    if df.empty:
        return pd.DataFrame(columns=keys + _STAT_COLUMNS)
    if replicates is not None:  # the cells' identities, hashed once for the whole table
        ids = df["cell_id"] if "cell_id" in df.columns else pd.Series(np.arange(len(df)))
        df = df.assign(_cell_ident=cell_identities(df["animal"].to_numpy(), ids.to_numpy()))
    rows = []
    for key, g in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = g["score"].to_numpy(dtype=float)
        fin = np.isfinite(s)
        per_animal = g.loc[fin].groupby("animal")["score"].median().to_numpy(dtype=float)
        row = dict(zip(keys, key))
        row["median"] = float(np.median(s[fin])) if fin.any() else np.nan
        row["ci_low"] = row["ci_high"] = np.nan
        if replicates is not None and fin.any():
            # the cells seed the draws: an interval does not depend on the other groups
            _, row["ci_low"], row["ci_high"] = median_ci(
                s[fin], g["animal"].to_numpy()[fin], replicates=replicates,
                identities=g["_cell_ident"].to_numpy()[fin])
        row["n_cells"] = int(fin.sum())
        row["n_nan"] = int((~fin).sum())
        row["n_animals"] = int(per_animal.size)
        if per_animal.size:
            row["animal_median"] = float(np.median(per_animal))
            row["animal_q25"], row["animal_q75"] = (float(v) for v in np.percentile(per_animal, [25, 75]))
            row["animal_min"], row["animal_max"] = float(per_animal.min()), float(per_animal.max())
        else:
            for c in _ANIMAL_COLUMNS:
                row[c] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=keys + _STAT_COLUMNS)


_FLOOR_KEYS = ["arena", "map", "setting"]


def floors_table(floors: pd.DataFrame, bootstrap=None) -> pd.DataFrame:
    """Median score of each noise control per arena, map and setting (mec.fits.floors):
    ``aggregate_scores`` columns (with the median's interval, ``bootstrap``), one row per
    control (``source`` = ``control_<kind>``)."""
    if floors is None or floors.empty:
        return pd.DataFrame(columns=_FLOOR_KEYS + ["source"] + _STAT_COLUMNS)
    return aggregate_scores(_with_setting(floors), _FLOOR_KEYS + ["source"], bootstrap)


def floor_summary(floors: pd.DataFrame | None, keys: Sequence[str] = _FLOOR_KEYS,
                  bootstrap=False) -> pd.DataFrame:
    """The floor of each group of ``keys`` (default arena, map, setting): the highest median
    over the controls, and ``floor_source``, the control that gave it. Columns: keys, floor,
    floor_source; with ``bootstrap`` (not False: mec.stats.Bootstrap, its config mapping or
    None for the defaults) also floor_ci_low / floor_ci_high, the interval of that
    control's median (``aggregate_scores``)."""
    keys = list(keys)
    ci = [] if bootstrap is False else ["floor_ci_low", "floor_ci_high"]
    if floors is None or floors.empty:
        return pd.DataFrame(columns=keys + ["floor", "floor_source"] + ci)
    floors = _with_setting(floors)
    agg = aggregate_scores(floors, keys + ["source"], bootstrap=False)
    agg = agg[np.isfinite(agg["median"].to_numpy(dtype=float))]
    agg = agg.sort_values(keys + ["median", "source"], ascending=[True] * len(keys) + [False, True],
                          kind="stable").groupby(keys, sort=True, dropna=False).head(1)
    out = (agg[keys + ["median", "source"]]
           .rename(columns={"median": "floor", "source": "floor_source"}).reset_index(drop=True))
    if ci:  # the interval of the chosen control only (the others' are in floors_table)
        chosen = floors.merge(out[keys + ["floor_source"]].rename(columns={"floor_source": "source"}),
                              on=keys + ["source"], how="inner")
        cis = aggregate_scores(chosen, keys + ["source"], bootstrap)
        out = out.merge(cis[keys + ["ci_low", "ci_high"]]
                        .rename(columns={"ci_low": "floor_ci_low", "ci_high": "floor_ci_high"}),
                        on=keys, how="left")
    return out


def ceiling_table(consistency: pd.DataFrame, floors: pd.DataFrame | None = None,
                  bootstrap=None) -> pd.DataFrame:
    """Noise ceiling per arena, map, setting and source (methods §4.3): ``aggregate_scores``
    columns, ``median`` being the ceiling (median inter-animal consistency over all cells),
    with the floor of the same arena, map and setting (``floor_summary`` of ``floors``; NaN
    without floors). Intervals (hierarchical bootstrap, ``bootstrap`` as in
    ``aggregate_scores``; False: none): ceiling_ci_low / ceiling_ci_high and floor_ci_low /
    floor_ci_high."""
    out = aggregate_scores(_with_setting(consistency), ["arena", "map", "setting", "source"],
                           bootstrap)
    out = out.rename(columns={"median": "ceiling", "ci_low": "ceiling_ci_low",
                              "ci_high": "ceiling_ci_high"})
    fl = floor_summary(floors, bootstrap=bootstrap)
    out = out.merge(fl, on=_FLOOR_KEYS, how="left")
    cols = ["arena", "map", "setting", "source", "ceiling", "ceiling_ci_low", "ceiling_ci_high",
            "floor", "floor_ci_low", "floor_ci_high", "floor_source"]
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols + [c for c in out.columns if c not in cols]]


def reference_ceiling(ceiling: pd.DataFrame, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """One ceiling per group of ``keys`` (default: arena, map and, where present, setting):
    the first source of ``CEILING_SOURCES`` present (holdout before pairwise), else the
    alphabetically first source. Columns: keys, ceiling, ceiling_source, and floor /
    floor_source, the intervals (ceiling_ci_low, ceiling_ci_high, floor_ci_low,
    floor_ci_high), ceiling_corrected and floor_corrected when ``ceiling`` has them
    (``ceiling_table``, mec.fits.reliability.corrected_ceiling)."""
    if keys is None:
        keys = ["arena", "map"] + (["setting"] if "setting" in ceiling.columns else [])
    keys = list(keys)
    extra = [c for c in ("floor", "floor_source", "ceiling_ci_low", "ceiling_ci_high",
                         "floor_ci_low", "floor_ci_high", "ceiling_corrected",
                         "floor_corrected")
             if c in ceiling.columns]
    if ceiling.empty:
        return pd.DataFrame(columns=keys + ["ceiling", "ceiling_source"] + extra)
    rank = {s: i for i, s in enumerate(CEILING_SOURCES)}
    c = ceiling.assign(_rank=ceiling["source"].map(lambda s: rank.get(s, len(rank))))
    c = c.sort_values(keys + ["_rank", "source"], kind="stable")
    c = c.groupby(keys, sort=True, dropna=False).head(1)
    return (c[keys + ["ceiling", "source"] + extra].rename(columns={"source": "ceiling_source"})
            .reset_index(drop=True))


#: The groups of the predictivity table: one median per model, arena, layer, map and setting.
PREDICTIVITY_KEYS = ["model", "arena", "layer", "map", "setting"]

#: Columns of the noise-corrected medians (methods §7.9) in predictivity and best_layer
#: (mec.summary.corrected).
CORRECTED_COLUMNS = ["median_corrected", "ci_low_corrected", "ci_high_corrected",
                     "ceiling_corrected"]


def predictivity_table(fits: pd.DataFrame, ceiling: pd.DataFrame,
                       model_configs: Mapping[str, Mapping] | None = None,
                       arenas: Mapping | None = None, bootstrap=None) -> pd.DataFrame:
    """Median predictivity per model x arena x layer x map x setting (methods §4.5), its fraction
    of the ceiling of the same arena, map and setting (``reference_ceiling``), the floor
    there and the normalized score (module docstring; NaN without floors), and the model's
    labels (architecture, activation, variant, condition; "unknown" condition without a
    config). ``arenas``: arena name -> mec.data.arenas.ArenaGeometry (e.g. the dataset's),
    which the condition is read from (mec.models.conditions.training_condition); without it
    a numeric name is the square of that side and a word name gets "unknown".

    ``fits``: concatenated fit tables (``source`` = model name). ci_low / ci_high: the
    median's 95 % interval (``aggregate_scores``, ``bootstrap``); ``ceiling_corrected`` where
    the ceiling table has it (NaN otherwise). The models' own corrected medians are added by
    :func:`mec.summary.corrected.with_corrected_medians`.
    """
    agg = aggregate_scores(_with_setting(fits).rename(columns={"source": "model"}),
                           PREDICTIVITY_KEYS, bootstrap)
    ref = reference_ceiling(_with_setting(ceiling), ["arena", "map", "setting"])
    if "floor" not in ref.columns:
        ref = ref.assign(floor=np.nan, floor_source=np.nan)
    if "ceiling_corrected" not in ref.columns:
        ref = ref.assign(ceiling_corrected=np.nan)
    out = agg.merge(ref, on=["arena", "map", "setting"], how="left")
    out["fraction_of_ceiling"] = out["median"] / out["ceiling"]
    out["normalized"] = _normalized(out["median"], out["floor"], out["ceiling"])
    out = _add_model_columns(out, model_configs, arenas)
    out = out.assign(_l=_layer_key(out["layer"])).sort_values(["model", "arena", "map", "setting",
                                                                "_l", "layer"])
    cols = ["model", "arena", "layer", "map", "setting", "median", "ci_low", "ci_high",
            "fraction_of_ceiling",
            "ceiling", "floor", "normalized", "ceiling_source", "floor_source", "n_cells",
            "n_nan", "n_animals", "animal_median", "animal_q25", "animal_q75", "animal_min",
            "animal_max", "architecture", "activation", "variant", "condition",
            "ceiling_corrected"]
    return out[cols].reset_index(drop=True)


def best_layer_table(predictivity: pd.DataFrame) -> pd.DataFrame:
    """The layer with the highest median per model x arena x map x setting (methods §4.5). Ties
    go to the earlier layer in ``LAYER_ORDER``; a group whose medians are all NaN is dropped.
    The median's interval (ci_low, ci_high), the floor and normalized score of that layer
    and its noise-corrected median (:data:`CORRECTED_COLUMNS`, NaN where absent) come along.
    The best layer is chosen by the raw median alone (the interval says how sure)."""
    cols = ["model", "arena", "map", "setting", "best_layer", "median", "ci_low", "ci_high",
            "fraction_of_ceiling",
            "ceiling", "floor", "normalized", "n_cells", "architecture", "activation", "variant",
            "condition"] + CORRECTED_COLUMNS
    p = _with_setting(predictivity)
    for c in ("floor", "normalized", "ci_low", "ci_high", *CORRECTED_COLUMNS):
        if c not in p.columns:
            p = p.assign(**{c: np.nan})
    p = p[np.isfinite(p["median"].to_numpy(dtype=float))]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p = p.assign(_l=_layer_key(p["layer"]))
    # Highest median first; among equal medians the earlier layer (stable sort on _l).
    keys = ["model", "arena", "map", "setting"]
    p = p.sort_values(keys + ["median", "_l"], ascending=[True] * len(keys) + [False, True],
                      kind="stable")
    best = p.groupby(keys, sort=True).head(1)
    best = best.rename(columns={"layer": "best_layer"})
    return best[cols].sort_values(keys).reset_index(drop=True)


def by_cell_type_table(consistency: pd.DataFrame, fits: pd.DataFrame,
                       best_layer: pd.DataFrame | None = None,
                       floors: pd.DataFrame | None = None, bootstrap=None) -> pd.DataFrame:
    """Ceiling and model numbers per cell-type group (methods §5, ``CELL_TYPE_GROUPS``).

    One row per (kind, source, arena, layer, map, setting, cell_type): kind "ceiling" for the
    inter-animal rows (source = interanimal_*; layer "-") and "model" for fits (source =
    model). Columns: ``aggregate_scores`` statistics, ``type_ceiling`` = the reference ceiling
    (holdout preferred) of the same arena, map, setting and cell type, ``type_floor`` the
    floor of those cells (``floor_summary`` of ``floors``), ``fraction_of_type_ceiling`` =
    median / type_ceiling, ``type_normalized`` = (median - type_floor) / (type_ceiling -
    type_floor), ``ceiling``, ``floor`` and ``fraction_of_ceiling`` against all cells, and
    ``is_best_layer`` (the model's best layer over all cells, ``best_layer``). ci_low /
    ci_high: the interval of ``median`` (``aggregate_scores``, ``bootstrap``).
    """
    parts = []
    for kind, df in (("ceiling", consistency), ("model", fits)):
        if df.empty:
            continue
        df = _with_setting(df).assign(cell_type=cell_type_group(df["cell_type"]))
        agg = aggregate_scores(df, ["source", "arena", "layer", "map", "setting", "cell_type"],
                               bootstrap)
        parts.append(agg.assign(kind=kind))
    cols = ["kind", "source", "arena", "layer", "map", "setting", "cell_type", "median",
            "ci_low", "ci_high", "type_ceiling", "type_floor", "fraction_of_type_ceiling", "type_normalized",
            "ceiling", "floor", "fraction_of_ceiling", "n_cells", "n_nan", "n_animals",
            "animal_median", "animal_q25", "animal_q75", "animal_min", "animal_max",
            "is_best_layer"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    keys = ["arena", "map", "setting"]
    ceil_rows = out[out["kind"] == "ceiling"].rename(columns={"median": "ceiling"})
    type_ref = reference_ceiling(ceil_rows, keys + ["cell_type"])
    out = out.merge(type_ref.rename(columns={"ceiling": "type_ceiling"})
                    .drop(columns="ceiling_source"), on=keys + ["cell_type"], how="left")
    typed_floors = None if floors is None or floors.empty else \
        floors.assign(cell_type=cell_type_group(floors["cell_type"]))
    out = out.merge(floor_summary(typed_floors, keys + ["cell_type"])
                    .rename(columns={"floor": "type_floor"}).drop(columns="floor_source"),
                    on=keys + ["cell_type"], how="left")
    all_ref = reference_ceiling(ceiling_table(consistency, floors, bootstrap=False), keys) \
        if not consistency.empty else pd.DataFrame(columns=keys + ["ceiling", "ceiling_source",
                                                                   "floor", "floor_source"])
    out = out.merge(all_ref[keys + ["ceiling", "floor"]], on=keys, how="left")
    out["fraction_of_type_ceiling"] = out["median"].astype(float) / out["type_ceiling"].astype(float)
    out["type_normalized"] = _normalized(out["median"], out["type_floor"], out["type_ceiling"])
    out["fraction_of_ceiling"] = out["median"].astype(float) / out["ceiling"].astype(float)
    best = set()
    if best_layer is not None and not best_layer.empty:
        b = _with_setting(best_layer)
        best = set(zip(b["model"], b["arena"], b["map"], b["setting"], b["best_layer"]))
    out["is_best_layer"] = [
        (k == "model") and ((s, a, m, st, l) in best)
        for k, s, a, m, st, l in zip(out["kind"], out["source"], out["arena"], out["map"],
                                     out["setting"], out["layer"])
    ]
    t_order = {t: i for i, t in enumerate(CELL_TYPE_GROUPS)}
    out = out.assign(_k=out["kind"].map({"ceiling": 0, "model": 1}), _l=_layer_key(out["layer"]),
                     _t=out["cell_type"].map(t_order))
    out = out.sort_values(["_k", "source", "arena", "map", "setting", "_l", "_t"])
    return out[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------
# The Figure 2 pivot (methods §4.6)
# ---------------------------------------------------------------------------
def choose_map(maps: Iterable[str], preferred: str | None = None) -> str | None:
    """The map of the Figure 2 pivot: ``preferred`` if given (ValueError if absent), else
    "elasticnet", else "ridge", else the alphabetically first; None if there is none."""
    maps = sorted({str(m) for m in maps})
    if preferred is not None:
        if preferred not in maps:
            raise ValueError(f"figure 2 map {preferred!r} not among the fitted maps {maps}")
        return preferred
    for m in MAP_PREFERENCE:
        if m in maps:
            return m
    return maps[0] if maps else None




def figure2_long_table(best_layer: pd.DataFrame, map_name: str | None = None) -> pd.DataFrame:
    """One row per model and arena at its best layer for the Figure 2 map (``choose_map``), in
    the paper's setting: arena, map, architecture, activation, variant, condition, model,
    best_layer, median, ci_low, ci_high (its 95 % interval), fraction_of_ceiling, ceiling,
    floor, normalized. Models that would
    share a pivot cell (same architecture, activation, variant, condition and arena, e.g. two
    seeds) get their model name appended to ``variant`` so no number is silently averaged
    away."""
    cols = ["arena", "map", "architecture", "activation", "variant", "condition", "model",
            "best_layer", "median", "ci_low", "ci_high", "fraction_of_ceiling", "ceiling",
            "floor", "normalized"]
    best_layer = _paper_rows(best_layer)
    chosen = choose_map(best_layer["map"], map_name) if not best_layer.empty else None
    if chosen is None:
        return pd.DataFrame(columns=cols)
    df = best_layer[best_layer["map"] == chosen].copy()
    for c in ("floor", "normalized", "ci_low", "ci_high"):
        if c not in df.columns:
            df[c] = np.nan
    cell = ["arena", "architecture", "activation", "variant", "condition"]
    dup = df.duplicated(cell, keep=False)
    df.loc[dup, "variant"] = [f"{v}+{m}" if v else m
                              for v, m in zip(df.loc[dup, "variant"], df.loc[dup, "model"])]
    df = _sort_rows(df[cols], ["arena"], ["variant", "condition"])
    return df.reset_index(drop=True)


def figure2_table(long: pd.DataFrame, value: str = "median") -> pd.DataFrame:
    """Pivot of ``figure2_long_table``: rows (arena, map, architecture, activation, variant),
    columns the conditions (``CONDITIONS`` in the paper's order, then any other, e.g.
    "baseline"), cells ``value`` ("median" or "fraction_of_ceiling"), plus the arena's
    ``ceiling`` and ``floor``. Rows follow the paper (``ARCHITECTURE_ORDER``, ``ACTIVATION_ORDER``), the
    baselines after the networks (``BASELINE_ORDER``; one row each, ``baseline_label``).
    Columns appear only for the conditions present, so the table grows with the models."""
    if value not in ("median", "fraction_of_ceiling"):
        raise ValueError(f"figure 2 value {value!r} must be 'median' or 'fraction_of_ceiling'")
    index = ["arena", "map", "architecture", "activation", "variant"]
    if long.empty:
        return pd.DataFrame(columns=index + ["ceiling", "floor"])
    wide = long.pivot(index=index, columns="condition", values=value)
    present = list(wide.columns)
    conds = [c for c in CONDITIONS if c in present] + sorted(c for c in present if c not in CONDITIONS)
    wide = wide[conds].reset_index()
    wide.columns.name = None
    refs = [c for c in ("ceiling", "floor") if c in long.columns]
    ceil = long.groupby(["arena", "map"], sort=True)[refs].first().reset_index()
    wide = wide.merge(ceil, on=["arena", "map"], how="left")
    if "floor" not in wide.columns:
        wide["floor"] = np.nan
    wide = _sort_rows(wide, ["arena", "map"], ["variant"])
    return wide[index + conds + ["ceiling", "floor"]].reset_index(drop=True)
