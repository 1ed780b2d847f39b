"""Ridge choosing its alpha at every fit by exact leave-one-out (map type "ridge_loo",
methods §7.8): the halves setting's Ridge, so that sources of different sizes (a 128-unit
model layer, some 330 recorded cells) each get the shrinkage that suits them.
"""

from __future__ import annotations

import numpy as np

from mec.map_base import MapParamError, _MapBase, pearson_columns

__all__ = ["LOO_ALPHAS", "RidgeLOOMap"]


#: Default alpha grid of :class:`RidgeLOOMap`: decades from 1 to 1e5. On the default run the
#: fits chose 10-1,000 at 1.0 m and 1-1,000 at 2.2 m (methods §7.8); where the untrained
#: twin's layers choose 1, smaller alphas move the criterion by < 1e-4 (0.11325 at 1,
#: 0.11335 at 0.01 on one 2.2 m fit): no shrinkage at all, in effect.
LOO_ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)


class RidgeLOOMap(_MapBase):
    """Ridge (intercept not penalised) whose alpha is chosen at every fit (map type
    "ridge_loo"): for each alpha of ``alphas`` the exact leave-one-out prediction of every
    training bin (the fit without that bin), scored by the Pearson r with the target over
    the training bins, averaged over the targets; the alpha with the highest mean (ties: the
    smallest) is used for all targets of the fit.

    Why (methods §7.8): a fixed alpha suits sources of one size: on the default run alpha
    100 suits a 128-unit model layer and 1000 the ~330 recorded cells of the ceiling, so a
    fixed value tilts every normalised score. The choice uses only the data the map is
    fitted to (never the test bins, never another recording half) and one alpha for all the
    fit's targets, so it cannot follow any one cell's noise; Pearson r is the statistic the
    fits report (scikit-learn's default, the squared error, prefers shrunken predictions
    that r does not reward).

    This is scikit-learn's ``RidgeCV(alphas, scoring=<mean Pearson r>)`` (its efficient
    leave-one-out), written out here because it decomposes the smaller Gram matrix (Xᵀ X or
    X Xᵀ) instead of taking the SVD of X: 1.3-2.5x faster, 2.5x for 968 bins x 512 units (a
    2.2 m model fit; benchmarks/ridge_loo.py); tests/test_mappers.py checks both against
    each other and against refits without each bin.

    alphas: the grid, each finite and > 0, in any order. Learned state: ``alpha_``;
    ``loo_scores_`` (n_alphas,), the mean leave-one-out r of each alpha in ascending order of
    alpha (-inf where no target has one); ``coef_`` (n_features, n_targets), ``intercept_``
    (n_targets,).
    """

    #: one alpha is chosen on all the fit's targets (_MapBase)
    targets_independent = False

    def __init__(self, alphas=LOO_ALPHAS):
        self.alphas = alphas

    def check_params(self):
        """Check every argument without data (MapParamError naming it); returns self."""
        a = self.alphas
        ok = isinstance(a, (list, tuple, np.ndarray)) and len(a) > 0 and all(
            isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_)) and np.isfinite(v) and v > 0 for v in a)
        if not ok:
            raise MapParamError("alphas", f"ridge_loo alphas must be a non-empty list of finite "
                                          f"numbers > 0, got {a!r}")
        return self

    def fit(self, X, y):
        self.check_params()
        X, Y = self._validate_fit(X, y)
        alphas = np.sort(np.asarray(self.alphas, dtype=np.float64))
        n, p = X.shape
        x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = X - x_mean, Y - y_mean
        # hat matrix of the centred problem: H = Xc (XcᵀXc + a I)^-1 Xcᵀ (+ 1/n for the
        # intercept), from one eigendecomposition of the smaller Gram matrix
        if n > p:
            lam, Q = np.linalg.eigh(Xc.T @ Xc)
            B = Xc @ Q                                 # (n, p): H = B diag(1/(lam + a)) Bᵀ

            def gains(a):
                return 1.0 / (np.clip(lam, 0.0, None) + a)
        else:
            lam, B = np.linalg.eigh(Xc @ Xc.T)         # (n, n): H = B diag(lam/(lam + a)) Bᵀ
            lam = np.clip(lam, 0.0, None)

            def gains(a):
                return lam / (lam + a)
        BtY, B2 = B.T @ Yc, B * B
        scores = np.full(alphas.size, -np.inf)
        for k, a in enumerate(alphas):
            g = gains(a)
            fitted = B @ (g[:, None] * BtY)            # centred fitted values (n, n_targets)
            h = 1.0 / n + B2 @ g                       # leverage of each bin
            with np.errstate(divide="ignore", invalid="ignore"):  # n = 1: no leave-one-out
                loo = Yc - (Yc - fitted) / (1.0 - h)[:, None]
            r = pearson_columns(Yc, loo)
            if np.isfinite(r).any():
                scores[k] = np.nanmean(r)
        k = int(np.argmax(scores))
        self.alpha_, self.loo_scores_ = float(alphas[k]), scores
        if n > p:
            self.coef_ = Q @ (gains(self.alpha_)[:, None] * BtY)
        else:
            self.coef_ = Xc.T @ (B @ (BtY / (lam + self.alpha_)[:, None]))
        self.intercept_ = y_mean - x_mean @ self.coef_
        self.n_targets_ = Y.shape[1]
        return self

    def predict(self, X):
        X = self._validate_predict(X)
        return self._format_output(X @ self.coef_ + self.intercept_)
