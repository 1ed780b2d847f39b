"""The base of the maps (mec.mappers): input checks, output shape, Pearson r by columns.

Shared by the maps of :mod:`mec.mappers` and :mod:`mec.ridge_loo`; :mod:`mec.mappers`
re-exports ``pearson_columns`` and ``MapParamError``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["pearson_columns", "MapParamError"]


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns: a, b (n_samples, n_cols) -> (n_cols,).

    NaN where either column is constant (as scipy.stats.pearsonr) or has a non-finite value.
    Scores are clipped to [-1, 1] (rounding).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.shape != b.shape:
        raise ValueError(f"pearson_columns: shapes differ, {a.shape} vs {b.shape}")
    # a constant column has no correlation (NaN, as scipy.stats.pearsonr); test it exactly,
    # because centring a constant column can leave rounding noise that would score as r != 0
    constant = (a == a[:1]).all(axis=0) | (b == b[:1]).all(axis=0)
    ac = a - a.mean(axis=0)
    bc = b - b.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # normalise first, as scipy does, to keep the result within [-1, 1] up to rounding
        an = ac / np.linalg.norm(ac, axis=0)
        bn = bc / np.linalg.norm(bc, axis=0)
        r = np.einsum("ij,ij->j", an, bn)
    r[constant] = np.nan
    return np.clip(r, -1.0, 1.0)


class MapParamError(ValueError):
    """A map argument that cannot work. ``param`` names it, as a dotted path below the map's
    keyword arguments (``"percentile"``, ``"regression_kwargs.max_iter"``); the message gives
    the value."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def _as_2d_target(y):
    y = np.asarray(y)
    return y[:, None] if y.ndim == 1 else y


class _MapBase(RegressorMixin, BaseEstimator):
    """Shared input handling: X (n_samples, n_features), y (n_samples,) or (n_samples, n_targets)."""

    #: Whether a target's prediction depends on its own column only, so that a fit may solve
    #: targets together or apart and get the same scores (mec.fits.fitting); a map that fits
    #: its targets jointly says False.
    targets_independent = True

    def _validate_fit(self, X, y):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        self._y_was_1d = y.ndim == 1
        return X, _as_2d_target(y).astype(np.float64, copy=False)

    def _validate_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _format_output(self, pred):
        # predict() returns (n_samples,) when fitted on a 1-D y (sklearn convention), else 2-D
        return pred[:, 0] if self._y_was_1d else pred

    def predict2d(self, X) -> np.ndarray:
        """predict, always (n_samples, n_targets)."""
        return _as_2d_target(self.predict(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
