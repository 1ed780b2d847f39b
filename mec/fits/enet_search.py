"""The ElasticNet grid search on arrays: inner folds, grid scores, choice, refit and test score
(methods §4.4). The procedure, the alpha convention and how it is exact and fast are described in
the docstring of :mod:`mec.fits.elasticnet`, which re-exports these functions; the compiled
kernels are in :mod:`mec.fits.enet_kernels` and :mod:`mec.fits.lasso_kernel`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from mec.fits.enet_kernels import enet_paths, pearson
from mec.fits.lasso_kernel import lasso_paths


def _kernels():
    return {"enet_paths": enet_paths, "pearson": pearson, "lasso_paths": lasso_paths}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def grid_constants(grid: str = "short") -> tuple[np.ndarray, np.ndarray]:
    """(alphas, l1_ratios) of the "short" or "full" grid of mec.constants (methods §4.4)."""
    from mec import constants

    if grid == "short":
        return np.asarray(constants.ALPHA_RNG_SHORT), np.asarray(constants.L1_RATIO_RNG_SHORT)
    if grid == "full":
        return np.asarray(constants.ALPHA_RNG), np.asarray(constants.L1_RATIO_RNG)
    raise ValueError(f"ElasticNet grid must be 'short' or 'full', got {grid!r}")


def inner_folds(train: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two inner folds of an outer split: [(fit_bins, validation_bins), ...].

    ``KFold(n_splits=2, shuffle=False)`` over ``train`` in the given order (methods §4.4 "two
    halves of 10% each"): validation = train[:ceil(n/2)], then train[ceil(n/2):].
    """
    from sklearn.model_selection import KFold

    train = np.asarray(train)
    return [(train[f], train[v]) for f, v in KFold(n_splits=2, shuffle=False).split(train)]


def _centred_basis(n: int) -> np.ndarray:
    """(n, n-1) orthonormal basis of the vectors summing to zero (Householder reflection)."""
    u = np.full(n, 1.0 / math.sqrt(n))
    v = -u.copy()
    v[0] += 1.0
    vv = float(v @ v)
    if vv == 0.0:  # n == 1
        return np.zeros((1, 0))
    H = np.eye(n) - 2.0 * np.outer(v, v) / vv  # H e1 = u; columns 1.. span u-perp
    return H[:, 1:]


class _Fold:
    """Everything the kernels need about one (fit bins, evaluation bins) pair."""

    def __init__(self, X, Y, fit, ev):
        Xf = X[fit]
        Yf = Y[fit]
        xm = Xf.mean(axis=0)
        ym = Yf.mean(axis=0)
        Q = _centred_basis(len(fit))  # Q^T 1 = 0, so Q^T X_fit = Q^T (X_fit - mean)
        self.ZT = np.ascontiguousarray((Q.T @ (Xf - xm)).T)  # (p, m)
        self.G = self.ZT @ self.ZT.T  # (p, p) Gram of the centred fit bins
        self.Ytil = np.ascontiguousarray((Q.T @ (Yf - ym)).T)  # (T, m)
        self.C = self.Ytil @ self.ZT.T  # (T, p) = X_c^T y_c
        self.n_fit = len(fit)
        self.XvT = np.ascontiguousarray((X[ev] - xm).T)  # (p, nv)
        yv = Y[ev] - Y[ev].mean(axis=0)
        nrm = np.sqrt((yv * yv).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.Yvn = np.ascontiguousarray(np.where(nrm > 0, yv / nrm, 0.0).T)  # (T, nv)


def _lasso_scores(fold: _Fold, alphas_desc: np.ndarray, targets) -> np.ndarray:
    """(len(targets), na) evaluation r of the exact Lasso (l1_ratio = 1) at each alpha."""
    out = np.full((len(targets), len(alphas_desc)), np.nan)
    st = np.zeros(1, np.int64)
    _kernels()["lasso_paths"](fold.ZT, fold.G, np.ascontiguousarray(fold.C[targets]), fold.XvT,
                              np.ascontiguousarray(fold.Yvn[targets]),
                              np.ascontiguousarray(alphas_desc, float), out, st, np.zeros((0, 0)))
    return out


def _fold_scores(fold: _Fold, alphas_desc, l1s, targets=None, stats=None) -> np.ndarray:
    """(T', nl, na) evaluation r of every grid point (alphas decreasing) on one fold."""
    kern = _kernels()["enet_paths"]
    T = fold.Ytil.shape[0]
    targets = np.arange(T) if targets is None else np.asarray(targets)
    na, nl = len(alphas_desc), len(l1s)
    out = np.full((len(targets), nl, na), np.nan)
    if stats is None:
        stats = np.zeros(5, np.int64)
    enet = np.flatnonzero(l1s < 1.0)
    if enet.size:
        sub = np.full((len(targets), enet.size, na), np.nan)
        kern(fold.ZT, fold.G, np.ascontiguousarray(fold.Ytil[targets]),
             np.ascontiguousarray(fold.C[targets]), fold.XvT,
             np.ascontiguousarray(fold.Yvn[targets]), np.ascontiguousarray(alphas_desc, float),
             np.ascontiguousarray(l1s[enet], float), sub, stats, np.zeros((0, 0, 0)))
        out[:, enet, :] = sub
    for li in np.flatnonzero(l1s == 1.0):
        out[:, li, :] = _lasso_scores(fold, alphas_desc, targets)
    return out


def elasticnet_coef(X, y, alpha, l1_ratio):
    """Exact ElasticNet coefficients of one fit (one target; :func:`elasticnet_fit` for many).

    X: (n, p), y: (n,); alpha in the user convention over these n bins (sklearn alpha / n),
    0 < l1_ratio < 1. Minimises 0.5 ||y_c - X_c w||^2 + alpha (l1 |w|_1 + (1 - l1) |w|^2 / 2)
    on centred data by the grid's kernel (:func:`elasticnet_fit`). Returns (coef (p,),
    intercept).
    """
    if not 0 < l1_ratio < 1:
        raise ValueError(f"elasticnet_coef needs 0 < l1_ratio < 1, got {l1_ratio!r}")
    coef, intercept = elasticnet_fit(X, np.asarray(y, float).reshape(-1, 1), alpha, l1_ratio)
    return coef[:, 0], float(intercept[0])


def elasticnet_fit(X, Y, alpha, l1_ratio):
    """Exact ElasticNet coefficients of every target at one (alpha, l1_ratio).

    X: (n, p) sources, Y: (n, T) targets, the same n bins (rows); alpha > 0 in the user
    convention over these n bins (scikit-learn's ``alpha / n``, module docstring of
    :mod:`mec.fits.elasticnet`); 0 < l1_ratio <= 1 (1: the Lasso). Each target's problem is
    solved to its exact minimiser by the grid's kernels, walking the short alpha grid down to
    ``alpha`` with warm starts (l1_ratio < 1), or along the exact Lasso path (l1_ratio = 1).
    Returns (coef (p, T), intercept (T,)): predictions are ``X @ coef + intercept``.
    """
    from mec import constants

    X = np.asarray(X, float)
    Y = np.asarray(Y, float)
    if Y.ndim == 1:
        Y = Y[:, None]
    alpha = float(alpha)
    l1_ratio = float(l1_ratio)
    if not 0 < l1_ratio <= 1:
        raise ValueError(f"ElasticNet l1_ratio must be in (0, 1], got {l1_ratio!r}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"ElasticNet alpha must be finite and > 0, got {alpha!r}")
    n, p = X.shape
    T = Y.shape[1]
    rows = np.arange(n)
    # the kernels score every path point on evaluation bins; two rows keep that work negligible
    fold = _Fold(X, Y, rows, rows[: min(n, 2)])
    # the path's points only warm-start the next one (the solution at alpha is exact whatever
    # the path); the short grid's nine decades are what the grid's own refits walk
    grid = np.asarray(constants.ALPHA_RNG_SHORT)
    path = np.concatenate([np.sort(grid[grid > alpha])[::-1], [alpha]])
    if l1_ratio < 1:
        wout = np.zeros((T, 1, p))
        enet_paths(fold.ZT, fold.G, fold.Ytil, fold.C, fold.XvT, fold.Yvn, path,
                   np.array([l1_ratio]), np.full((T, 1, len(path)), np.nan),
                   np.zeros(5, np.int64), wout)
        coef = wout[:, 0, :].T
    else:
        wout = np.zeros((T, p))
        lasso_paths(fold.ZT, fold.G, fold.C, fold.XvT, fold.Yvn, path,
                    np.full((T, len(path)), np.nan), np.zeros(1, np.int64), wout)
        coef = wout.T
    # a point the Newton iteration could not solve leaves its coefficients at zero, which is
    # the exact solution only when alpha * l1_ratio >= max_j |x_j^T y| (the KKT bound)
    unsolved = ~coef.any(axis=0) & (alpha * l1_ratio < np.abs(fold.C).max(axis=1, initial=0.0))
    if unsolved.any():
        warnings.warn(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}) did not converge for "
                      f"{int(unsolved.sum())} of {T} targets; predicting NaN for them",
                      RuntimeWarning)
        coef[:, unsolved] = np.nan
    intercept = Y.mean(axis=0) - X.mean(axis=0) @ coef
    return np.ascontiguousarray(coef), intercept


def _check_grid(alphas, l1_ratios):
    alphas = np.asarray(alphas, dtype=float).ravel()
    l1s = np.asarray(l1_ratios, dtype=float).ravel()
    if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"ElasticNet alphas must be finite and > 0, got {alphas!r}")
    if l1s.size == 0 or np.any(~(l1s > 0)) or np.any(l1s > 1):
        raise ValueError(f"ElasticNet l1_ratios must be in (0, 1], got {l1s!r}")
    if len(np.unique(alphas)) != alphas.size or len(np.unique(l1s)) != l1s.size:
        raise ValueError("ElasticNet alphas and l1_ratios must not repeat a value")
    return alphas, l1s


def elasticnet_cv_grid(X_src, Y_tgt, train, alphas, l1_ratios, return_folds=False,
                       stats=None):
    """Mean inner-CV validation Pearson r of every grid point for one outer split.

    X_src: (n_bins, n_src), Y_tgt: (n_bins, n_tgt), finite on the bins used.
    train: (n_train,) bin indices of the outer training part (order matters, see module doc).
    Returns (n_tgt, n_alpha, n_l1) mean r over the two folds (NaN where either fold is NaN),
    in the given alpha / l1 order; with return_folds also the (2, n_tgt, n_alpha, n_l1) folds.
    stats: optional (5,) int64 solver counters, incremented (see enet_paths).
    """
    X = np.asarray(X_src, dtype=float)
    Y = np.asarray(Y_tgt, dtype=float)
    alphas, l1s = _check_grid(alphas, l1_ratios)
    order = np.argsort(-alphas, kind="stable")
    folds = []
    for fit, val in inner_folds(train):
        f = _Fold(X, Y, fit, val)
        s = _fold_scores(f, alphas[order], l1s, stats=stats)  # (T, nl, na_desc)
        g = np.empty_like(s)
        g[:, :, order] = s
        folds.append(np.transpose(g, (0, 2, 1)))
    folds = np.stack(folds)
    mean = folds.mean(axis=0)  # NaN if either fold is NaN
    return (mean, folds) if return_folds else mean


def _choose(cv: np.ndarray) -> np.ndarray:
    """Index (alpha-major flat) of the best mean r per target; NaN ranks worst; first on ties."""
    flat = cv.reshape(cv.shape[0], -1)
    filled = np.where(np.isnan(flat), -np.inf, flat)
    return np.argmax(filled, axis=1)


def _refit_test_scores(X, Y, train, test, alphas, l1s, a_idx, l_idx) -> np.ndarray:
    """Test Pearson r of each target refit on all of train with its chosen (alpha, l1)."""
    T = Y.shape[1]
    fold = _Fold(X, Y, np.asarray(train), np.asarray(test))
    out = np.full(T, np.nan)
    for li in np.unique(l_idx):
        tg = np.flatnonzero(l_idx == li)
        # walk the alphas down to the smallest chosen one for these targets (warm starts)
        amin = alphas[a_idx[tg]].min()
        path = np.sort(alphas[alphas >= amin])[::-1]
        s = _fold_scores(fold, path, l1s[li : li + 1], targets=tg)  # (len(tg), 1, len(path))
        for row, ti in enumerate(tg):
            out[ti] = s[row, 0, int(np.flatnonzero(path == alphas[a_idx[ti]])[0])]
    return out


def elasticnet_grid_search(X_src, Y_tgt, splits, alphas, l1_ratios, progress=True,
                           return_stats=False):
    """Per-target ElasticNet hyperparameter choice and test score for every outer split.

    X_src: (n_bins, n_src) source responses (e.g. Hz), finite on every bin used by ``splits``.
    Y_tgt: (n_bins, n_tgt) target cells' responses, same bins.
    splits: list of {"train": idx, "test": idx} (rows of X_src / Y_tgt), e.g. from
        :func:`mec.fits.splits.generate_train_test_splits` on the kept bins.
    alphas: user-convention alphas (sklearn gets alpha / n_fit, module docstring);
    l1_ratios: in (0, 1].
    Returns a DataFrame with one row per target and split: target (column of Y_tgt), split,
    alpha, l1_ratio (the choice), cv_score (its mean inner validation r), test_score (Pearson r
    on the test bins after refitting on the whole training part).
    """
    X = np.asarray(X_src, dtype=float)
    Y = np.asarray(Y_tgt, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X_src {X.shape} and Y_tgt {Y.shape} must be 2-D with the same bins")
    alphas, l1s = _check_grid(alphas, l1_ratios)
    rows = []
    stats = np.zeros(5, np.int64)
    it = range(len(splits))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="elasticnet splits", leave=False)
    for s in it:
        train = np.asarray(splits[s]["train"])
        test = np.asarray(splits[s]["test"])
        used = np.concatenate([train, test])
        if not (np.isfinite(X[used]).all() and np.isfinite(Y[used]).all()):
            raise ValueError(f"split {s}: X_src / Y_tgt have non-finite values on its bins")
        if len(train) < 4:
            raise ValueError(f"split {s}: {len(train)} training bins; inner 2-fold CV needs >= 4")
        cv = elasticnet_cv_grid(X, Y, train, alphas, l1s, stats=stats)  # (T, na, nl)
        best = _choose(cv)
        a_idx, l_idx = np.unravel_index(best, cv.shape[1:])
        test_r = _refit_test_scores(X, Y, train, test, alphas, l1s, a_idx, l_idx)
        for ti in range(Y.shape[1]):
            rows.append((ti, s, alphas[a_idx[ti]], l1s[l_idx[ti]], cv[ti, a_idx[ti], l_idx[ti]],
                         test_r[ti]))
    df = pd.DataFrame(rows, columns=["target", "split", "alpha", "l1_ratio", "cv_score",
                                     "test_score"])
    if stats[2]:
        warnings.warn(f"{stats[2]} ElasticNet grid points did not converge", RuntimeWarning)
    return (df, stats) if return_stats else df
