"""Noise-corrected medians beside the raw ones in the summary tables (methods §7.9).

A cell's corrected score is its score over the square root of the reliability of the map it
was tested against (:func:`mec.fits.reliability.corrected_scores`, the one convention):
``r_half`` in the halves setting, ``r_full`` in the others. Here the corrected scores get the
same treatment as the raw ones: a median per group with its 95 % hierarchical-bootstrap
interval (:func:`mec.summary.tables.aggregate_scores`, methods §7.7). The ceiling's and the
floor's corrected medians are made by :func:`mec.fits.reliability.corrected_ceiling`.

Why beside and not instead: the raw score is what was measured; the corrected one says how far
a model is from the best any source could do against that cell's noise, and its interval is
narrower relative to the ceiling-floor range because it takes out the spread between cells
and animals that is only their different noise (methods §7.9). A cell whose reliability is not
above 0 has no corrected score and so no part in a corrected median.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from mec.summary.tables import (CORRECTED_COLUMNS, PREDICTIVITY_KEYS, _with_setting,
                                aggregate_scores, ceiling_table, predictivity_table)

__all__ = ["corrected_medians", "with_corrected_medians", "ceiling_with_corrected",
           "predictivity_with_corrected"]


def corrected_medians(fits: pd.DataFrame, keys: Sequence[str], reliability,
                      bootstrap=None) -> pd.DataFrame:
    """Per group of ``keys``: ``median_corrected`` with its 95 % interval
    (``ci_low_corrected``, ``ci_high_corrected``), the median over cells of the corrected
    scores, with the same hierarchical bootstrap as the raw median. ``fits``: per-cell rows
    with ``keys``, animal, cell_id, score (and setting); ``reliability``:
    :func:`mec.fits.reliability.reliability_table` rows. The raw scores are left as they are:
    a table is corrected once."""
    from mec.fits.reliability import corrected_scores

    c = corrected_scores(fits, reliability)
    c = c.drop(columns="score").rename(columns={"score_corrected": "score"})
    agg = aggregate_scores(c, keys, bootstrap)
    return agg[list(keys) + ["median", "ci_low", "ci_high"]].rename(columns={
        "median": "median_corrected", "ci_low": "ci_low_corrected",
        "ci_high": "ci_high_corrected"})


def with_corrected_medians(predictivity: pd.DataFrame, fits: pd.DataFrame, reliability,
                           bootstrap=None) -> pd.DataFrame:
    """``predictivity`` (:func:`mec.summary.tables.predictivity_table`) with the corrected
    median of each row and its interval (:data:`mec.summary.tables.CORRECTED_COLUMNS`),
    computed from the same per-cell ``fits``. ``reliability``: the cells' split-half
    reliability (:func:`mec.fits.reliability.dataset_reliability`); None (a dataset without
    recording halves): the columns are NaN, never the raw values under another name."""
    out = predictivity.copy()
    med = CORRECTED_COLUMNS[:3]
    out = out.drop(columns=[c for c in med if c in out.columns])
    named = _with_setting(fits).rename(columns={"source": "model"})
    if reliability is None or named.empty or out.empty:
        return out.assign(**{c: np.nan for c in med})
    corr = corrected_medians(named, PREDICTIVITY_KEYS, reliability, bootstrap)
    # the arena compared as text: one table may hold 1.0 as a number, the other as "1.0"
    corr = corr.assign(_a=corr["arena"].astype(str)).drop(columns="arena")
    on = ["_a"] + [k for k in PREDICTIVITY_KEYS if k != "arena"]
    out = out.assign(_a=out["arena"].astype(str)).merge(corr, on=on, how="left")
    return out.drop(columns="_a")


def ceiling_with_corrected(consistency: pd.DataFrame, floors: pd.DataFrame, reliability,
                           bootstrap=None) -> pd.DataFrame:
    """The summary's ceiling table: :func:`mec.summary.tables.ceiling_table` with the
    noise-corrected ceiling and floor (:func:`mec.fits.reliability.corrected_ceiling`)."""
    from mec.fits.reliability import corrected_ceiling

    return corrected_ceiling(ceiling_table(consistency, floors, bootstrap=bootstrap),
                             consistency, reliability, floors)


def predictivity_with_corrected(fits: pd.DataFrame, ceiling: pd.DataFrame, model_configs,
                                arenas, reliability, bootstrap=None) -> pd.DataFrame:
    """The summary's predictivity table: :func:`mec.summary.tables.predictivity_table` with
    the models' noise-corrected medians beside the raw ones (:func:`with_corrected_medians`)."""
    raw = predictivity_table(fits, ceiling, model_configs, arenas, bootstrap=bootstrap)
    return with_corrected_medians(raw, fits, reliability, bootstrap=bootstrap)
