# Long because: every summary table is built from the same per-cell tidy tables with shared helpers;
# next seams: model descriptors (baseline_label, model_descriptor) and the aggregation.
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

Settings and floors (issue 13): tables may carry a ``setting`` column (mec.fits.settings:
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
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mec.models.architectures import ARCHITECTURES
from mec.models.conditions import CONDITIONS, ArenaShapeError, training_condition
from mec.models.external import is_external, model_source

__all__ = [
    "REQUIRED_COLUMNS",
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

#: Columns every tidy score table must have (contract: consistency and fit tables).
REQUIRED_COLUMNS = ("arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "score")

#: Ceiling sources in order of preference: holdout is the paper's noise ceiling (methods §4.3);
#: pairwise (lower) is used only where holdout was not computed.
CEILING_SOURCES = ("interanimal_holdout", "interanimal_pairwise")

#: The paper's Figure 2 conditions, in its column order (methods §2.3, 4.6), and the rule that
#: gives a model its condition: mec.models.conditions (imported above), the one definition.
#: Baselines get the extra column ``"baseline"``; a network config without a training arena
#: gets ``"any"``; a model without a config, or in a word-named arena whose geometry is not
#: given, ``"unknown"``.
UNKNOWN_CONDITION = "unknown"
#: Condition and architecture label of models the pipeline did not train (mec.models.external).
EXTERNAL_CONDITION = "external"

#: Row order of the Figure 2 pivot: the paper's architectures and activations (methods §4.6
#: table), then its baselines in the order it lists them (velocity, place cells, place cells
#: through MEC, NMF; mec.baselines.BASELINE_KINDS). Unknown names sort after, alphabetically.
ARCHITECTURE_ORDER = tuple(ARCHITECTURES)  # the registry's order (mec.models.architectures)
ACTIVATION_ORDER = ("linear", "tanh", "sigmoid", "relu")
BASELINE_ORDER = ("velocity", "place_cells", "place_cells_mec", "nmf")
BASELINE_ARCHITECTURE = "baseline"

#: Cell-type groups of the per-type summary (methods §5). Head-direction, weakly spatial and
#: untyped cells are all "other".
CELL_TYPE_GROUPS = ("grid", "border", "heterogeneous", "other")

#: Display order of model layers (methods §2.1: RNN -> dense -> decoder).
LAYER_ORDER = ("pre_g", "g", "dc")

#: Map used for the Figure 2 pivot, in order of preference (the paper's Figure 2 uses the
#: per-cell ElasticNet, methods §4.6).
MAP_PREFERENCE = ("elasticnet", "ridge")

#: The setting of score tables that carry no ``setting`` column (mec.fits.settings).
DEFAULT_SETTING = "paper"

_STAT_COLUMNS = ["median", "ci_low", "ci_high", "n_cells", "n_nan", "n_animals", "animal_median",
                 "animal_q25", "animal_q75", "animal_min", "animal_max"]
#: The per-animal statistics of ``_STAT_COLUMNS`` (NaN for a group without a finite score).
_ANIMAL_COLUMNS = _STAT_COLUMNS[6:]


# ---------------------------------------------------------------------------
# Reading and small helpers
# ---------------------------------------------------------------------------
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


def cell_type_group(cell_types: Iterable) -> np.ndarray:
    """Map raw cell types (methods §5, contract) onto ``CELL_TYPE_GROUPS``.

    ``grid``, ``border`` and ``heterogeneous`` keep their name (case-insensitive); every other
    value (``head_direction``, ``weakly_spatial``, missing) becomes ``"other"``.
    """
    out = []
    for t in cell_types:
        t = str(t).strip().lower() if isinstance(t, str) else ""
        out.append(t if t in ("grid", "border", "heterogeneous") else "other")
    return np.asarray(out, dtype=object)


def _is_data_arena(baseline_arena) -> bool:
    return baseline_arena is None or (isinstance(baseline_arena, str) and baseline_arena == "data")


def baseline_label(cfg: Mapping) -> str:
    """Row label of a baseline config (``cfg["baseline"]`` = kind), unique per baseline of
    the paper's Figure 2 (methods §4.6): the kind, then ``k={n_components}`` when set, then the
    box it was built in - "(data arena)" or "({size} m)" - for NMF always (both boxes are
    in the table) and for other kinds only when not the data's arena. Examples:
    "velocity", "place_cells", "place_cells_mec", "nmf k=100 (data arena)",
    "nmf k=512 (2.2 m)", "place_cells (2.2 m)".
    Raises ValueError for a config without ``baseline`` or with a bad ``baseline_arena`` /
    ``n_components``.
    """
    kind = cfg.get("baseline")
    if not kind:
        raise ValueError(f"baseline_label: config has no 'baseline' kind ({dict(cfg)!r})")
    label = str(kind)
    k = cfg.get("n_components")
    if k is not None:
        try:
            label += f" k={int(k)}"
        except (TypeError, ValueError):
            raise ValueError(f"baseline config n_components={k!r} is not an integer") from None
    box = cfg.get("baseline_arena")
    if _is_data_arena(box):
        if str(kind) == "nmf":
            label += " (data arena)"
    else:
        try:
            label += f" ({float(box):g} m)"
        except (TypeError, ValueError):
            raise ValueError(f"baseline config baseline_arena={box!r} is neither 'data' nor a "
                             "size in metres") from None
    return label


def model_descriptor(model: str, cfg: Mapping | None) -> dict:
    """Row labels of a model in the Figure 2 pivot: architecture, activation, variant.

    Baselines (``cfg["baseline"] = kind``, checked first) get architecture "baseline" and
    activation = ``baseline_label(cfg)``, so each baseline has its own row. ``variant``
    lists the options that make a network differ from the paper's plain models ("cues",
    "reward_zone"), "" for none and for baselines.
    """
    cfg = cfg or {}
    if cfg.get("baseline"):
        return {"architecture": BASELINE_ARCHITECTURE, "activation": baseline_label(cfg), "variant": ""}
    if is_external(cfg):  # where it came from: mec.models.external's source (+ population)
        label = model_source(cfg) + (f" {cfg['population']}" if cfg.get("population") else "")
        return {"architecture": EXTERNAL_CONDITION, "activation": label, "variant": ""}
    arch = str(cfg.get("architecture", model))
    act = str(cfg.get("activation", "-"))
    variant = [name for name in ("cues", "reward_zone") if cfg.get(name, False)]
    return {"architecture": arch, "activation": act, "variant": "+".join(variant)}


def _rank(value: str, order: Sequence[str]) -> int:
    return order.index(value) if value in order else len(order)


def _row_sort_columns(architecture: Iterable, activation: Iterable) -> pd.DataFrame:
    """Sort keys (columns _k0.._k6) putting rows in the paper's order (``ARCHITECTURE_ORDER``,
    ``ACTIVATION_ORDER``), baselines last in ``BASELINE_ORDER``, then data-arena before other
    boxes (by size), then by NMF components k (numerically, so k=9 precedes k=100)."""
    pattern = re.compile(r"^(?P<kind>\S+)(?: k=(?P<k>\d+))?(?: \((?P<box>[^)]*)\))?$")
    keys = []
    for arch, act in zip(architecture, activation):
        arch, act = str(arch), str(act)
        if arch != BASELINE_ARCHITECTURE:
            keys.append((0, _rank(arch, ARCHITECTURE_ORDER), arch, _rank(act, ACTIVATION_ORDER),
                         0.0, 0, act))
            continue
        m = pattern.match(act)
        kind = m.group("kind") if m else act
        k = int(m.group("k")) if m and m.group("k") else 0
        box = m.group("box") if m else None
        if box is None or box == "data arena":
            box_rank, box_size = 0, 0.0
        else:
            try:
                box_rank, box_size = 1, float(box.split()[0])
            except (ValueError, IndexError):
                box_rank, box_size = 2, 0.0
        keys.append((1, _rank(kind, BASELINE_ORDER), kind, box_rank, box_size, k, act))
    return pd.DataFrame(keys, columns=[f"_k{i}" for i in range(7)])


def _sort_rows(df: pd.DataFrame, before: Sequence[str], after: Sequence[str]) -> pd.DataFrame:
    """``df`` sorted by ``before``, then the pivot's row order, then ``after``."""
    keys = _row_sort_columns(df["architecture"], df["activation"]).set_index(df.index)
    tmp = pd.concat([df, keys], axis=1)
    tmp = tmp.sort_values(list(before) + list(keys.columns) + list(after), kind="stable")
    return tmp[df.columns]


def _layer_key(layers: pd.Series) -> pd.Series:
    order = {name: i for i, name in enumerate(LAYER_ORDER)}
    return layers.map(lambda x: order.get(x, len(order)))


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
    floor_source and the intervals (ceiling_ci_low, ceiling_ci_high, floor_ci_low,
    floor_ci_high) when ``ceiling`` has them (``ceiling_table``)."""
    if keys is None:
        keys = ["arena", "map"] + (["setting"] if "setting" in ceiling.columns else [])
    keys = list(keys)
    extra = [c for c in ("floor", "floor_source", "ceiling_ci_low", "ceiling_ci_high",
                         "floor_ci_low", "floor_ci_high") if c in ceiling.columns]
    if ceiling.empty:
        return pd.DataFrame(columns=keys + ["ceiling", "ceiling_source"] + extra)
    rank = {s: i for i, s in enumerate(CEILING_SOURCES)}
    c = ceiling.assign(_rank=ceiling["source"].map(lambda s: rank.get(s, len(rank))))
    c = c.sort_values(keys + ["_rank", "source"], kind="stable")
    c = c.groupby(keys, sort=True, dropna=False).head(1)
    return (c[keys + ["ceiling", "source"] + extra].rename(columns={"source": "ceiling_source"})
            .reset_index(drop=True))


def _model_condition(cfg: Mapping | None, arena, arenas: Mapping | None) -> str:
    """training_condition of a table row: the arena's geometry from ``arenas`` (arena key ->
    mec.data.arenas.ArenaGeometry) when given, else its name; "unknown" without a config or
    for a word-named arena whose geometry is not given (its name says nothing of its shape)."""
    from mec.data.arenas import arena_key

    if cfg is None:
        return UNKNOWN_CONDITION
    if is_external(cfg):
        return EXTERNAL_CONDITION
    geometry = dict(arenas or {}).get(arena_key(arena))
    try:
        return training_condition(cfg, arena if geometry is None else geometry)
    except ArenaShapeError:
        return UNKNOWN_CONDITION


def _add_model_columns(df: pd.DataFrame, model_configs: Mapping[str, Mapping] | None,
                       arenas: Mapping | None = None) -> pd.DataFrame:
    model_configs = model_configs or {}
    arch, act, var, cond = [], [], [], []
    for model, arena in zip(df["model"], df["arena"]):
        cfg = model_configs.get(model)
        d = model_descriptor(model, cfg)
        arch.append(d["architecture"])
        act.append(d["activation"])
        var.append(d["variant"])
        cond.append(_model_condition(cfg, arena, arenas))
    return df.assign(architecture=arch, activation=act, variant=var, condition=cond)


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
    median's 95 % interval (``aggregate_scores``, ``bootstrap``).
    """
    agg = aggregate_scores(_with_setting(fits).rename(columns={"source": "model"}),
                           ["model", "arena", "layer", "map", "setting"], bootstrap)
    ref = reference_ceiling(_with_setting(ceiling), ["arena", "map", "setting"])
    if "floor" not in ref.columns:
        ref = ref.assign(floor=np.nan, floor_source=np.nan)
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
            "animal_max", "architecture", "activation", "variant", "condition"]
    return out[cols].reset_index(drop=True)


def best_layer_table(predictivity: pd.DataFrame) -> pd.DataFrame:
    """The layer with the highest median per model x arena x map x setting (methods §4.5). Ties
    go to the earlier layer in ``LAYER_ORDER``; a group whose medians are all NaN is dropped.
    The median's interval (ci_low, ci_high), the floor and normalized score of that layer
    come along. The best layer is chosen by the median alone (the interval says how sure)."""
    cols = ["model", "arena", "map", "setting", "best_layer", "median", "ci_low", "ci_high",
            "fraction_of_ceiling",
            "ceiling", "floor", "normalized", "n_cells", "architecture", "activation", "variant",
            "condition"]
    p = _with_setting(predictivity)
    for c in ("floor", "normalized", "ci_low", "ci_high"):
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


def _paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the paper's setting (all rows of a table without a setting column)."""
    if "setting" not in df.columns:
        return df
    return df[_with_setting(df)["setting"] == DEFAULT_SETTING]


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


# ---------------------------------------------------------------------------
# Dimensionality control (methods §6)
# ---------------------------------------------------------------------------
#: Columns of ``dimensionality_table``.
DIMENSIONALITY_COLUMNS = ["model", "arena", "layer", "n_units", "participation_ratio", "map",
                          "median", "ci_low", "ci_high", "fraction_of_ceiling", "ceiling", "is_best_layer",
                          "architecture", "activation", "variant", "condition"]
_PR_COLUMNS = ["model", "arena", "layer", "n_units", "participation_ratio"]


def dimensionality_table(participation: pd.DataFrame, predictivity: pd.DataFrame,
                         best_layer: pd.DataFrame, map_name: str | None,
                         model_configs: Mapping[str, Mapping] | None = None,
                         arenas: Mapping | None = None) -> pd.DataFrame:
    """Participation ratio beside predictivity, per model x arena x layer (methods §6).

    participation: columns model, arena (m), layer, n_units, participation_ratio (PR of the
    layer's rate maps, ``mec.dimensionality.participation_ratio``; one row per layer of each
    rate-map file). predictivity / best_layer: ``predictivity_table`` / ``best_layer_table``;
    only the rows of ``map_name`` (the Figure 2 map) in the paper's setting are used. A layer with a PR but no fit
    (or a fit but no rate maps, e.g. the two-stage baseline's "mec" layer, whose maps exist
    only inside the fit) keeps NaN for what it lacks. ``is_best_layer``: the model's best
    layer for ``map_name``. Columns ``DIMENSIONALITY_COLUMNS``, sorted by model, arena and
    layer (``LAYER_ORDER``). ``arenas``: as in :func:`predictivity_table` (the conditions).
    """
    pr = participation if participation is not None else pd.DataFrame(columns=_PR_COLUMNS)
    missing = [c for c in _PR_COLUMNS if c not in pr.columns]
    if missing:
        raise ValueError(f"participation ratios lack column(s) {missing}; expected {_PR_COLUMNS}")
    pr = pr[_PR_COLUMNS].copy()
    pr["arena"] = _round_arena(pr["arena"])
    predictivity, best_layer = _paper_rows(predictivity), _paper_rows(best_layer)
    vals = ["median", "ci_low", "ci_high", "fraction_of_ceiling", "ceiling"]
    predictivity = predictivity.assign(**{c: np.nan for c in ("ci_low", "ci_high")
                                          if c not in predictivity.columns})
    if map_name is None or predictivity.empty:
        pred = pd.DataFrame(columns=["model", "arena", "layer"] + vals)
    else:
        pred = predictivity.loc[predictivity["map"] == map_name, ["model", "arena", "layer"] + vals].copy()
    if pr.empty and pred.empty:
        return pd.DataFrame(columns=DIMENSIONALITY_COLUMNS)
    pred["arena"] = _round_arena(pred["arena"])
    out = pr.merge(pred, on=["model", "arena", "layer"], how="outer")
    for c in ["participation_ratio", "n_units"] + vals:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["n_units"] = out["n_units"].astype("Int64")
    out["map"] = map_name if map_name is not None else ""
    best = set()
    if map_name is not None and not best_layer.empty:
        b = best_layer[best_layer["map"] == map_name]
        best = set(zip(b["model"], _round_arena(b["arena"]), b["best_layer"]))
    out["is_best_layer"] = [(m, a, l) in best for m, a, l in zip(out["model"], out["arena"], out["layer"])]
    out = _add_model_columns(out, model_configs, arenas)
    out = out.assign(_l=_layer_key(out["layer"])).sort_values(["model", "arena", "_l", "layer"])
    return out[DIMENSIONALITY_COLUMNS].reset_index(drop=True)


def dimensionality_correlation(dimensionality: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation between participation ratio and median predictivity across
    models at their best layer (Schaeffer et al.'s claim, methods §6), per arena: once over all
    models ("all") and once over the networks only ("networks", baselines excluded).

    Uses the rows of ``dimensionality_table`` with ``is_best_layer`` and a finite PR and
    median. Columns: arena, map, models, n_models, spearman_rho, p_value (NaN for fewer than
    3 models or constant values).
    """
    cols = ["arena", "map", "models", "n_models", "spearman_rho", "p_value"]
    if dimensionality.empty:
        return pd.DataFrame(columns=cols)
    from scipy import stats

    all_keys = _round_arena(dimensionality["arena"])
    keep = (dimensionality["is_best_layer"].astype(bool).to_numpy()
            & np.isfinite(dimensionality["participation_ratio"].to_numpy(dtype=float))
            & np.isfinite(dimensionality["median"].to_numpy(dtype=float)))
    d, keys = dimensionality[keep], all_keys[keep]
    rows = []
    for arena in sorted(set(all_keys), key=_arena_order):
        a = d[keys == arena]
        for which, sel in (("all", a), ("networks", a[a["architecture"] != BASELINE_ARCHITECTURE])):
            x = sel["participation_ratio"].to_numpy(dtype=float)
            y = sel["median"].to_numpy(dtype=float)
            rho = p = np.nan
            if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
                res = stats.spearmanr(x, y)
                rho, p = float(res.statistic), float(res.pvalue)
            rows.append({"arena": arena, "map": dimensionality["map"].iloc[0], "models": which,
                         "n_models": int(len(x)), "spearman_rho": rho, "p_value": p})
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------
# In-silico knockouts (mec.models.knockouts)
# ---------------------------------------------------------------------------
#: Columns of a knockout table results/knockouts/{model}.csv (mec.models.knockouts).
KNOCKOUT_INPUT_COLUMNS = ("model", "group", "resample", "n_units_zeroed", "group_size",
                          "decoding_error_cm")
#: Columns of ``knockouts_table``.
KNOCKOUT_TABLE_COLUMNS = ["model", "group", "n_resamples", "set_size", "group_size", "mean_cm",
                          "sem_cm", "p_welch", "p_paired"]
KNOCKOUT_GROUPS = ("none", "grid", "heterogeneous")
KNOCKOUT_DIFFERENCE = "grid-heterogeneous"


def load_knockouts(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate knockout tables (``KNOCKOUT_INPUT_COLUMNS``, one row per model, group and
    resample). FileNotFoundError for a missing path, ValueError for missing columns or a
    group outside ``KNOCKOUT_GROUPS``. No paths -> an empty frame with those columns."""
    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FileNotFoundError(f"knockout table {p} does not exist")
        df = pd.read_csv(p, dtype={"model": str, "group": str})
        missing = [c for c in KNOCKOUT_INPUT_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"knockout table {p} lacks column(s) {missing}; "
                             f"expected {list(KNOCKOUT_INPUT_COLUMNS)}")
        bad = sorted(set(df["group"]) - set(KNOCKOUT_GROUPS))
        if bad:
            raise ValueError(f"knockout table {p}: unknown group(s) {bad}; expected {KNOCKOUT_GROUPS}")
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "decoding_error_cm" else object)
                             for c in KNOCKOUT_INPUT_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    df["decoding_error_cm"] = pd.to_numeric(df["decoding_error_cm"], errors="coerce").astype(float)
    return df


def knockouts_table(knockouts: pd.DataFrame) -> pd.DataFrame:
    """Per model and group ("none", "grid", "heterogeneous"): the number of resamples with a
    finite error (n_resamples), the units zeroed per set (set_size), the group's size
    (group_size: units of that type in the model), and mean and SEM (ddof 1) of the decoding
    error in cm; then a row "grid-heterogeneous" with the mean and SEM of the per-resample
    differences, Welch's t-test p between the two groups (p_welch, the primary test: the two
    groups' sets are drawn independently) and the Wilcoxon signed-rank p of the paired
    differences (p_paired). The statistics are those of
    ``mec.models.knockouts.knockout_summary`` (imported without Keras). An empty input gives
    a header-only table (``KNOCKOUT_TABLE_COLUMNS``). Models sorted by name.
    """
    if knockouts.empty:
        return pd.DataFrame(columns=KNOCKOUT_TABLE_COLUMNS)
    # mec.models.knockouts imports only numpy at module level (Keras inside its functions).
    from mec.models.knockouts import knockout_summary

    summ = knockout_summary(knockouts).rename(columns={"n": "n_resamples"})
    sizes = (knockouts.groupby(["model", "group"], sort=False)
             .agg(set_size=("n_units_zeroed", "max"), group_size=("group_size", "max")).reset_index())
    summ = summ.merge(sizes, on=["model", "group"], how="left")
    # The difference row zeroes sets of the grid group's size (both groups share set_size).
    grid_size = sizes[sizes["group"] == "grid"].set_index("model")["set_size"]
    is_diff = summ["group"] == KNOCKOUT_DIFFERENCE
    summ.loc[is_diff, "set_size"] = summ.loc[is_diff, "model"].map(grid_size)
    order = {g: i for i, g in enumerate(KNOCKOUT_GROUPS + (KNOCKOUT_DIFFERENCE,))}
    summ = summ.assign(_g=summ["group"].map(order)).sort_values(["model", "_g"], kind="stable")
    summ["n_resamples"] = summ["n_resamples"].astype(int)
    summ["set_size"] = summ["set_size"].astype("Int64")
    summ["group_size"] = summ["group_size"].astype("Int64")
    return summ[KNOCKOUT_TABLE_COLUMNS].reset_index(drop=True)


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
