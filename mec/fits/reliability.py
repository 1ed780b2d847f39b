"""Noise correction by each cell's split-half reliability: the one convention (methods §7.9).

A cell's map is measured with noise, so even a perfect model of its tuning scores below 1.
The **split-half correlation** ``r_half`` of a cell is the Pearson r over bins between its
two recording-half maps (:func:`mec.fits.halves.half_maps`, occupancy-normalised smoothing,
bins finite in both). It is the reliability of a half-session map; the Spearman-Brown
prophecy gives that of the whole-session map, ``r_full = 2 r_half / (1 + r_half)``
(:func:`spearman_brown`).

The convention, exactly one correction per score, for the target's noise only:

    score_corrected = score / sqrt(reliability of the map the score was tested against)

* paper and robust settings test against the whole-session map: divide by sqrt(r_full);
* the halves setting tests against a half map: divide by sqrt(r_half) (no Spearman-Brown:
  the map scored is a half);
* undefined (NaN) where the reliability is not > 0 (a cell whose halves do not agree has
  no tuning to recover; dividing by a tiny reliability would make a number out of noise).

Why sqrt: a source that were the cell's true tuning would correlate with a noisy map of
reliability R by sqrt(R) (the correlation of the truth with a measurement is the square root
of the measurement's reliability), so the corrected score of a perfect model is 1 on
average. Never correct twice: the ceiling (inter-animal consistency) is corrected by the same
rule, per cell, and is never squared or divided by itself; a normalised score (score over
ceiling) already cancels the target's noise and is never corrected again. The source's own
noise is not corrected (a regression from many units averages much of it out, and the
correction would need the source's reliability, which a model does not have).
"""

from __future__ import annotations

import numpy as np

from mec.fits.settings import HALVES_SETTING, PAPER_SETTING

__all__ = ["spearman_brown", "half_correlation", "reliability_table", "dataset_reliability",
           "corrected_scores", "corrected_ceiling", "RELIABILITY_COLUMNS", "HALF_SETTINGS"]

#: Columns of :func:`reliability_table`.
RELIABILITY_COLUMNS = ["arena", "animal", "cell_id", "r_half", "r_full"]
#: Settings whose scores are tested against a half map (corrected by r_half, not r_full).
HALF_SETTINGS = (HALVES_SETTING,)


def spearman_brown(r, factor: float = 2.0):
    """Reliability of a measurement ``factor`` times as long: ``k r / (1 + (k - 1) r)``;
    for two halves (k = 2) ``2 r / (1 + r)``. NaN where the denominator is not > 0."""
    r = np.asarray(r, dtype=np.float64)
    den = 1.0 + (float(factor) - 1.0) * r
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, float(factor) * r / den, np.nan)


def half_correlation(map_a, map_b) -> np.ndarray:
    """(n_cells,) Pearson r between the two half maps (nx, ny, n_cells) of each cell over the
    bins finite in both; NaN for a cell with fewer than 3 such bins or a constant map."""
    a = np.asarray(map_a, dtype=np.float64)
    b = np.asarray(map_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"half maps of different shapes: {a.shape} and {b.shape}")
    a = a.reshape(-1, a.shape[-1])
    b = b.reshape(-1, b.shape[-1])
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=0)
    a0, b0 = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = a0.sum(axis=0) / n, b0.sum(axis=0) / n
        da, db = np.where(ok, a0 - ma, 0.0), np.where(ok, b0 - mb, 0.0)
        den = np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
        r = (da * db).sum(axis=0) / den
    return np.where((n >= 3) & (den > 0), r, np.nan)


def reliability_table(dataset, arena, recipe=None):
    """Per-cell split-half reliability of one arena: a DataFrame with
    :data:`RELIABILITY_COLUMNS` (``r_half`` = :func:`half_correlation` of the halves under
    ``recipe``, default ROBUST; ``r_full`` = its Spearman-Brown value). HalvesMissingError
    for a dataset without halves (mec.fits.halves.half_maps)."""
    import pandas as pd

    from mec.data.arenas import arena_id
    from mec.fits.halves import half_maps

    rows = []
    for animal, (a, b) in half_maps(dataset, arena, recipe).items():
        r = half_correlation(a, b)
        ids = [str(c) for c in np.asarray(dataset[arena][animal]["cell_ids"]).ravel()]
        rows.append(pd.DataFrame({"arena": arena_id(arena), "animal": str(animal),
                                  "cell_id": ids, "r_half": r, "r_full": spearman_brown(r)}))
    if not rows:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    return pd.concat(rows, ignore_index=True)[RELIABILITY_COLUMNS]


def corrected_scores(table, reliability):
    """``table`` (mec.fits.core.TABLE_COLUMNS rows) with a ``score_corrected`` column: the
    score over sqrt of the reliability of the map it was tested against (module docstring:
    r_half in :data:`HALF_SETTINGS`, r_full otherwise), NaN where that reliability is not
    > 0 or unknown. ``reliability``: :func:`reliability_table` rows (any arenas). A table
    that already has ``score_corrected`` is refused (ValueError): never correct twice."""
    import pandas as pd

    if "score_corrected" in table.columns:
        raise ValueError("table already has score_corrected; the noise correction is applied "
                         "once (methods §7.9)")
    rel = reliability[["arena", "animal", "cell_id", "r_half", "r_full"]]
    t = table.copy()
    key = ["arena", "animal", "cell_id"]
    for k in key:
        t[k] = t[k].astype(str) if k != "arena" else t[k]
    rel = rel.assign(animal=rel["animal"].astype(str), cell_id=rel["cell_id"].astype(str))
    t["_arena"] = t["arena"].astype(str)
    rel = rel.assign(_arena=rel["arena"].astype(str)).drop(columns="arena")
    m = t.merge(rel, on=["_arena", "animal", "cell_id"], how="left", validate="many_to_one")
    setting = m["setting"] if "setting" in m.columns else pd.Series(PAPER_SETTING, index=m.index)
    r = np.where(setting.isin(HALF_SETTINGS), m["r_half"], m["r_full"]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(r > 0, m["score"].to_numpy(np.float64) / np.sqrt(r), np.nan)
    out = table.copy()
    out["score_corrected"] = corr
    return out


def dataset_reliability(dataset):
    """:func:`reliability_table` rows of every arena of ``dataset`` that stores recording
    halves, concatenated; None when no arena does (or no dataset): nothing can be corrected."""
    import pandas as pd

    from mec.fits.halves import HalvesMissingError

    if dataset is None:
        return None
    rel = []
    for arena in dataset:
        try:
            rel.append(reliability_table(dataset, arena))
        except HalvesMissingError:
            continue
    return pd.concat(rel, ignore_index=True) if rel else None


def corrected_ceiling(ceiling, consistency, reliability, floors=None):
    """``ceiling`` (mec.summary.tables.ceiling_table) with ``ceiling_corrected``: the median
    over cells of each group's :func:`corrected_scores` (arena, map, setting, source), and,
    with ``floors`` (the per-cell floor tables), ``floor_corrected``: the highest corrected
    median of the controls of the same arena, map and setting, as the raw floor is the
    highest raw median. ``reliability``: :func:`dataset_reliability` of the run's dataset;
    None (no recording halves) or nothing to correct leaves the ceiling unchanged."""
    if reliability is None or ceiling.empty or consistency.empty:
        return ceiling

    def medians(table):  # corrected median per arena, map, setting and source; arena as text
        t = table if "setting" in table.columns else table.assign(setting=PAPER_SETTING)
        med = (corrected_scores(t, reliability)
               .groupby(["arena", "map", "setting", "source"], dropna=False)["score_corrected"]
               .median())
        med = med.rename("corrected").reset_index()
        return med.assign(_a=med["arena"].astype(str)).drop(columns="arena")

    out = ceiling.assign(_a=ceiling["arena"].astype(str)).merge(
        medians(consistency).rename(columns={"corrected": "ceiling_corrected"}),
        on=["_a", "map", "setting", "source"], how="left")
    if floors is not None and not floors.empty:
        fmed = (medians(floors).groupby(["_a", "map", "setting"], dropna=False)["corrected"]
                .max().rename("floor_corrected").reset_index())
        out = out.merge(fmed, on=["_a", "map", "setting"], how="left")
    return out.drop(columns="_a")
