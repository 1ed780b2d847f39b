"""Dimensionality of rate maps: the participation ratio (methods §6).

Schaeffer, Khona & Fiete (NeurIPS 2022) argue that the neural predictivity of the paper's
models tracks the dimensionality of their rate maps, measured by the participation ratio

    PR = (sum_i lambda_i)^2 / sum_i lambda_i^2,

where lambda_i are the eigenvalues of the units' covariance across spatial bins. PR runs from
1 (one direction carries all variance) to n_units (variance spread evenly). The Figure 2
summary puts it beside each model's predictivity.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

__all__ = ["participation_ratio", "ratemap_participation_ratios"]


def participation_ratio(maps) -> float:
    """Participation ratio of a population's rate maps.

    maps: (nx, ny, n_units) or (n_bins, n_units); NaN = unusable bin. Only the bins where
    every unit is finite enter the covariance (units x units, over bins, each unit centred).
    Returns a float in [1, n_units]; NaN when fewer than 2 bins are usable or no unit varies.
    Units that are constant contribute zero eigenvalues (they add no dimension).
    """
    a = np.asarray(maps, dtype=np.float64)
    if a.ndim == 3:
        a = a.reshape(-1, a.shape[-1])
    elif a.ndim != 2:
        raise ValueError(f"maps must be (nx, ny, n_units) or (n_bins, n_units), got shape {a.shape}")
    a = a[np.isfinite(a).all(axis=1)]
    if a.shape[0] < 2 or a.shape[1] < 1:
        return float("nan")
    a = a - a.mean(axis=0)
    # eigenvalues of the covariance = squared singular values of the centred data / (n - 1);
    # the SVD is cheaper and stabler than forming an n_units x n_units matrix for wide layers
    s2 = np.linalg.svd(a, compute_uv=False) ** 2
    total = s2.sum()
    if not total > 0:
        return float("nan")
    return float(total**2 / np.sum(s2**2))


def ratemap_participation_ratios(path: str | os.PathLike,
                                 layers: Sequence[str] | None = None) -> dict:
    """{layer: participation ratio} of a model rate-map file (mec.ratemaps.save_model_ratemaps)."""
    from mec.ratemaps import load_model_ratemaps

    maps, _, _ = load_model_ratemaps(path, layers=layers)
    return {layer: participation_ratio(m) for layer, m in maps.items()}
