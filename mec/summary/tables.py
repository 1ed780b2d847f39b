"""Summary tables derived from the tidy per-cell score tables (never hand-edited).

Inputs are the tidy CSVs of the contract: ``results/consistency/{arena}.csv`` (inter-animal
consistency, the noise ceiling, SPEC 4.3) and ``results/fits/{model}_{arena}.csv`` (model
predictivity, SPEC 4.5), both with columns
``arena, animal, cell_id, cell_type, source, layer, map, score`` and one row per cell.

Every summary statistic is a median over cells of ``score`` (finite scores only; NaN scores
are counted in ``n_nan``), as the paper does (``unit_concat`` then median, SPEC 4.3), plus the
spread across animals (statistics of the per-animal medians). "Fraction of the ceiling" is a
ratio of medians, model median / ceiling median of the same arena and map (brain-score's
``ceiled`` score, DESIGN example 5).

Only pandas and numpy are imported here: the workflow's dry run imports nothing heavy.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

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
    "model_descriptor",
    "aggregate_scores",
    "ceiling_table",
    "reference_ceiling",
    "predictivity_table",
    "best_layer_table",
    "by_cell_type_table",
    "choose_map",
    "figure2_long_table",
    "figure2_table",
    "to_markdown",
    "write_csv",
]

#: Columns every tidy score table must have (contract: consistency and fit tables).
REQUIRED_COLUMNS = ("arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "score")

#: Ceiling sources in order of preference: holdout is the paper's noise ceiling (SPEC 4.3);
#: pairwise (lower) is used only where holdout was not computed.
CEILING_SOURCES = ("interanimal_holdout", "interanimal_pairwise")

#: The paper's Figure 2 conditions, in its column order (SPEC 2.3, 4.6). Baselines that have
#: no training arena (e.g. the velocity input) get the extra column ``"any"``.
CONDITIONS = ("untrained", "trained", "generalization", "position_loss")
NO_CONDITION = "any"

#: Cell-type groups of the per-type summary (SPEC 5). Head-direction, weakly spatial and
#: untyped cells are all "other".
CELL_TYPE_GROUPS = ("grid", "border", "heterogeneous", "other")

#: Display order of model layers (SPEC 2.1: RNN -> dense -> decoder).
LAYER_ORDER = ("pre_g", "g", "dc")

#: Map used for the Figure 2 pivot, in order of preference (the paper's Figure 2 uses the
#: per-cell ElasticNet, SPEC 4.6).
MAP_PREFERENCE = ("elasticnet", "ridge")

_STAT_COLUMNS = ["median", "n_cells", "n_nan", "n_animals", "animal_median", "animal_q25",
                 "animal_q75", "animal_min", "animal_max"]


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
    # Arena keys are sizes in metres written with one decimal (contract); rounding removes
    # float noise so 2.2 read from two files joins as the same key.
    return np.round(np.asarray(values, dtype=float), 6)


def load_scores(paths: Sequence[str | os.PathLike], what: str) -> pd.DataFrame:
    """Concatenate tidy score CSVs into one DataFrame.

    ``what`` names the kind of table in error messages ("consistency", "fit").
    Returns the contract columns with ``arena`` float (metres), ``score`` float and the id
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
                             for c in REQUIRED_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    df["arena"] = _round_arena(df["arena"])
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    df["cell_type"] = df["cell_type"].fillna("unknown").replace("", "unknown")
    df["layer"] = df["layer"].fillna("-")
    return df


def cell_type_group(cell_types: Iterable) -> np.ndarray:
    """Map raw cell types (SPEC 5, contract) onto ``CELL_TYPE_GROUPS``.

    ``grid``, ``border`` and ``heterogeneous`` keep their name (case-insensitive); every other
    value (``head_direction``, ``weakly_spatial``, missing) becomes ``"other"``.
    """
    out = []
    for t in cell_types:
        t = str(t).strip().lower() if isinstance(t, str) else ""
        out.append(t if t in ("grid", "border", "heterogeneous") else "other")
    return np.asarray(out, dtype=object)


def training_condition(cfg: Mapping, eval_arena: float) -> str:
    """The Figure 2 condition of a model evaluated in ``eval_arena`` metres (SPEC 2.3).

    "untrained" if ``cfg["untrained"]``; else "position_loss" if ``cfg["loss"] ==
    "position"``; else "trained" if ``cfg["train_arena"]`` equals the evaluation arena; else
    "generalization". A config without ``train_arena`` (a baseline that is not trained, e.g.
    the velocity input) gets ``"any"``.
    """
    if cfg.get("untrained", False):
        return "untrained"
    if cfg.get("loss") == "position":
        return "position_loss"
    train_arena = cfg.get("train_arena")
    if train_arena is None:
        return NO_CONDITION
    try:
        same = math.isclose(float(train_arena), float(eval_arena), abs_tol=1e-6)
    except (TypeError, ValueError):
        raise ValueError(f"model config train_arena={train_arena!r} is not a size in metres")
    return "trained" if same else "generalization"


def model_descriptor(model: str, cfg: Mapping | None) -> dict:
    """Row labels of a model in the Figure 2 pivot: architecture, activation, variant.

    Baselines (``cfg["baseline"] = kind``) get architecture "baseline" and activation =
    kind. ``variant`` lists the options that make a model differ from the paper's plain
    models ("cues", "reward_zone"), "" for none.
    """
    cfg = cfg or {}
    if cfg.get("baseline"):
        arch, act = "baseline", str(cfg["baseline"])
    else:
        arch = str(cfg.get("architecture", model))
        act = str(cfg.get("activation", "-"))
    variant = [name for name in ("cues", "reward_zone") if cfg.get(name, False)]
    return {"architecture": arch, "activation": act, "variant": "+".join(variant)}


def _layer_key(layers: pd.Series) -> pd.Series:
    order = {name: i for i, name in enumerate(LAYER_ORDER)}
    return layers.map(lambda x: order.get(x, len(order)))


# ---------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------
def aggregate_scores(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Median over cells of ``score`` per group of ``keys``, with the spread across animals.

    Columns added: median (over finite cell scores), n_cells (finite scores), n_nan,
    n_animals (animals with a finite score), and animal_median / animal_q25 / animal_q75 /
    animal_min / animal_max: statistics of the per-animal medians (linear-interpolated
    quartiles). A group with no finite score has NaN statistics.
    """
    keys = list(keys)
    if df.empty:
        return pd.DataFrame(columns=keys + _STAT_COLUMNS)
    rows = []
    for key, g in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = g["score"].to_numpy(dtype=float)
        fin = np.isfinite(s)
        per_animal = g.loc[fin].groupby("animal")["score"].median().to_numpy(dtype=float)
        row = dict(zip(keys, key))
        row["median"] = float(np.median(s[fin])) if fin.any() else np.nan
        row["n_cells"] = int(fin.sum())
        row["n_nan"] = int((~fin).sum())
        row["n_animals"] = int(per_animal.size)
        if per_animal.size:
            row["animal_median"] = float(np.median(per_animal))
            row["animal_q25"], row["animal_q75"] = (float(v) for v in np.percentile(per_animal, [25, 75]))
            row["animal_min"], row["animal_max"] = float(per_animal.min()), float(per_animal.max())
        else:
            for c in _STAT_COLUMNS[4:]:
                row[c] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=keys + _STAT_COLUMNS)


def ceiling_table(consistency: pd.DataFrame) -> pd.DataFrame:
    """Noise ceiling per arena, map and source (SPEC 4.3): ``aggregate_scores`` columns,
    ``median`` being the ceiling (median inter-animal consistency over all cells)."""
    out = aggregate_scores(consistency, ["arena", "map", "source"])
    return out.rename(columns={"median": "ceiling"})


def reference_ceiling(ceiling: pd.DataFrame, keys: Sequence[str] = ("arena", "map")) -> pd.DataFrame:
    """One ceiling per group of ``keys``: the first source of ``CEILING_SOURCES`` present
    (holdout before pairwise), else the alphabetically first source. Columns: keys, ceiling,
    ceiling_source."""
    keys = list(keys)
    if ceiling.empty:
        return pd.DataFrame(columns=keys + ["ceiling", "ceiling_source"])
    rank = {s: i for i, s in enumerate(CEILING_SOURCES)}
    c = ceiling.assign(_rank=ceiling["source"].map(lambda s: rank.get(s, len(rank))))
    c = c.sort_values(keys + ["_rank", "source"], kind="stable")
    c = c.groupby(keys, sort=True, dropna=False).head(1)
    return c[keys + ["ceiling", "source"]].rename(columns={"source": "ceiling_source"}).reset_index(drop=True)


def _add_model_columns(df: pd.DataFrame, model_configs: Mapping[str, Mapping] | None) -> pd.DataFrame:
    model_configs = model_configs or {}
    arch, act, var, cond = [], [], [], []
    for model, arena in zip(df["model"], df["arena"]):
        cfg = model_configs.get(model)
        d = model_descriptor(model, cfg)
        arch.append(d["architecture"])
        act.append(d["activation"])
        var.append(d["variant"])
        cond.append(training_condition(cfg, arena) if cfg is not None else "unknown")
    return df.assign(architecture=arch, activation=act, variant=var, condition=cond)


def predictivity_table(fits: pd.DataFrame, ceiling: pd.DataFrame,
                       model_configs: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """Median predictivity per model x arena x layer x map (SPEC 4.5), its fraction of the
    ceiling of the same arena and map (``reference_ceiling``), and the model's labels
    (architecture, activation, variant, condition; "unknown" condition without a config).

    ``fits``: concatenated fit tables (``source`` = model name).
    """
    agg = aggregate_scores(fits.rename(columns={"source": "model"}), ["model", "arena", "layer", "map"])
    ref = reference_ceiling(ceiling)
    out = agg.merge(ref, on=["arena", "map"], how="left")
    out["fraction_of_ceiling"] = out["median"] / out["ceiling"]
    out = _add_model_columns(out, model_configs)
    out = out.assign(_l=_layer_key(out["layer"])).sort_values(["model", "arena", "map", "_l", "layer"])
    cols = ["model", "arena", "layer", "map", "median", "fraction_of_ceiling", "ceiling",
            "ceiling_source", "n_cells", "n_nan", "n_animals", "animal_median", "animal_q25",
            "animal_q75", "animal_min", "animal_max", "architecture", "activation", "variant",
            "condition"]
    return out[cols].reset_index(drop=True)


def best_layer_table(predictivity: pd.DataFrame) -> pd.DataFrame:
    """The layer with the highest median per model x arena x map (SPEC 4.5). Ties go to the
    earlier layer in ``LAYER_ORDER``; a group whose medians are all NaN is dropped."""
    cols = ["model", "arena", "map", "best_layer", "median", "fraction_of_ceiling", "ceiling",
            "n_cells", "architecture", "activation", "variant", "condition"]
    p = predictivity[np.isfinite(predictivity["median"].to_numpy(dtype=float))]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p = p.assign(_l=_layer_key(p["layer"]))
    # Highest median first; among equal medians the earlier layer (stable sort on _l).
    p = p.sort_values(["model", "arena", "map", "median", "_l"],
                      ascending=[True, True, True, False, True], kind="stable")
    best = p.groupby(["model", "arena", "map"], sort=True).head(1)
    best = best.rename(columns={"layer": "best_layer"})
    return best[cols].sort_values(["model", "arena", "map"]).reset_index(drop=True)


def by_cell_type_table(consistency: pd.DataFrame, fits: pd.DataFrame,
                       best_layer: pd.DataFrame | None = None) -> pd.DataFrame:
    """Ceiling and model numbers per cell-type group (SPEC 5, ``CELL_TYPE_GROUPS``).

    One row per (kind, source, arena, layer, map, cell_type): kind "ceiling" for the
    inter-animal rows (source = interanimal_*; layer "-") and "model" for fits (source =
    model). Columns: ``aggregate_scores`` statistics, ``type_ceiling`` = the reference ceiling
    (holdout preferred) of the same arena, map and cell type, ``fraction_of_type_ceiling`` =
    median / type_ceiling, ``ceiling`` and ``fraction_of_ceiling`` against the all-cell
    ceiling, and ``is_best_layer`` (the model's best layer over all cells, ``best_layer``).
    """
    parts = []
    for kind, df in (("ceiling", consistency), ("model", fits)):
        if df.empty:
            continue
        df = df.assign(cell_type=cell_type_group(df["cell_type"]))
        agg = aggregate_scores(df, ["source", "arena", "layer", "map", "cell_type"])
        parts.append(agg.assign(kind=kind))
    cols = ["kind", "source", "arena", "layer", "map", "cell_type", "median", "type_ceiling",
            "fraction_of_type_ceiling", "ceiling", "fraction_of_ceiling", "n_cells", "n_nan",
            "n_animals", "animal_median", "animal_q25", "animal_q75", "animal_min",
            "animal_max", "is_best_layer"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    ceil_rows = out[out["kind"] == "ceiling"].rename(columns={"median": "ceiling"})
    type_ref = reference_ceiling(ceil_rows, ["arena", "map", "cell_type"])
    out = out.merge(type_ref.rename(columns={"ceiling": "type_ceiling"})
                    .drop(columns="ceiling_source"), on=["arena", "map", "cell_type"], how="left")
    all_ref = reference_ceiling(ceiling_table(consistency)) if not consistency.empty else \
        pd.DataFrame(columns=["arena", "map", "ceiling", "ceiling_source"])
    out = out.merge(all_ref.drop(columns="ceiling_source"), on=["arena", "map"], how="left")
    out["fraction_of_type_ceiling"] = out["median"].astype(float) / out["type_ceiling"].astype(float)
    out["fraction_of_ceiling"] = out["median"].astype(float) / out["ceiling"].astype(float)
    best = set()
    if best_layer is not None and not best_layer.empty:
        best = set(zip(best_layer["model"], best_layer["arena"], best_layer["map"], best_layer["best_layer"]))
    out["is_best_layer"] = [
        (k == "model") and ((s, a, m, l) in best)
        for k, s, a, m, l in zip(out["kind"], out["source"], out["arena"], out["map"], out["layer"])
    ]
    t_order = {t: i for i, t in enumerate(CELL_TYPE_GROUPS)}
    out = out.assign(_k=out["kind"].map({"ceiling": 0, "model": 1}), _l=_layer_key(out["layer"]),
                     _t=out["cell_type"].map(t_order))
    out = out.sort_values(["_k", "source", "arena", "map", "_l", "_t"])
    return out[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------
# The Figure 2 pivot (SPEC 4.6)
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
    """One row per model and arena at its best layer for the Figure 2 map (``choose_map``):
    arena, map, architecture, activation, variant, condition, model, best_layer, median,
    fraction_of_ceiling, ceiling. Models that would share a pivot cell (same architecture,
    activation, variant, condition and arena, e.g. two seeds) get their model name appended
    to ``variant`` so no number is silently averaged away."""
    cols = ["arena", "map", "architecture", "activation", "variant", "condition", "model",
            "best_layer", "median", "fraction_of_ceiling", "ceiling"]
    chosen = choose_map(best_layer["map"], map_name) if not best_layer.empty else None
    if chosen is None:
        return pd.DataFrame(columns=cols)
    df = best_layer[best_layer["map"] == chosen].copy()
    cell = ["arena", "architecture", "activation", "variant", "condition"]
    dup = df.duplicated(cell, keep=False)
    df.loc[dup, "variant"] = [f"{v}+{m}" if v else m
                              for v, m in zip(df.loc[dup, "variant"], df.loc[dup, "model"])]
    df = df[cols].sort_values(["arena", "architecture", "activation", "variant", "condition"])
    return df.reset_index(drop=True)


def figure2_table(long: pd.DataFrame, value: str = "median") -> pd.DataFrame:
    """Pivot of ``figure2_long_table``: rows (arena, map, architecture, activation, variant),
    columns the conditions (``CONDITIONS`` in the paper's order, then any other, e.g.
    "any" for untrained baselines), cells ``value`` ("median" or "fraction_of_ceiling"), plus
    the arena's ``ceiling``. Baselines sort after the networks. Columns appear only for the
    conditions present, so the table grows with the models."""
    if value not in ("median", "fraction_of_ceiling"):
        raise ValueError(f"figure 2 value {value!r} must be 'median' or 'fraction_of_ceiling'")
    index = ["arena", "map", "architecture", "activation", "variant"]
    if long.empty:
        return pd.DataFrame(columns=index + ["ceiling"])
    wide = long.pivot(index=index, columns="condition", values=value)
    present = list(wide.columns)
    conds = [c for c in CONDITIONS if c in present] + sorted(c for c in present if c not in CONDITIONS)
    wide = wide[conds].reset_index()
    wide.columns.name = None
    ceil = long.groupby(["arena", "map"], sort=True)["ceiling"].first().reset_index()
    wide = wide.merge(ceil, on=["arena", "map"], how="left")
    wide = wide.assign(_b=(wide["architecture"] == "baseline").astype(int))
    wide = wide.sort_values(["arena", "map", "_b", "architecture", "activation", "variant"])
    return wide[index + conds + ["ceiling"]].reset_index(drop=True)


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
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).replace("|", "\\|")


def to_markdown(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """Render ``df`` as a GitHub-flavoured Markdown table (no index; floats with
    ``floatfmt``, NaN as an empty cell, numbers right-aligned). Written here rather than
    with ``DataFrame.to_markdown`` so the package does not depend on ``tabulate``. The
    ``arena`` column is shown with one decimal, as in file names (contract)."""
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
                cells.append(_fmt(v, floatfmt))
        rows.append(cells)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if not rows:
        lines.append("| " + " | ".join("" for _ in header) + " |")
    return "\n".join(lines) + "\n"
