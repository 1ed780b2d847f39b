"""Tables of the two controls beside the scores: the dimensionality control (participation
ratio beside predictivity, methods §6) and the in-silico knockouts (mec.models.knockouts).

Only pandas and numpy at module level (the knockout statistics are imported inside
``knockouts_table``, without Keras).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mec.summary.descriptors import BASELINE_ARCHITECTURE, _add_model_columns, _layer_key
from mec.summary.frames import _arena_order, _paper_rows, _round_arena

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
