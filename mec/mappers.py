# Long because: five scikit-learn estimators that share a base class, the parameter checks and the
# alpha convention (methods §4.4).
"""Maps from source units to target cells, as scikit-learn estimators (methods §4.2).

Three maps, as the paper defines them, an exact ElasticNet and a Ridge that chooses its alpha:

- ``OneToOneMap`` ("corr"): on the training bins, pick for every target the source unit with
  the highest Pearson r (ties: the first), and predict the target with that unit's values as
  they are (no rescaling). Variant: keep the sources at or above the ``percentile``-th
  percentile of r and regress the target on them with a linear model.
- ``SKLinearMap`` ("sklinear"): any scikit-learn linear model by name, default Ridge with
  alpha = 1. Multi-output: one solve for all targets.
- ``PLSMap`` ("pls"): PLSRegression with ``n_components`` (required), optionally one fit per
  target.
- ``ExactElasticNetMap`` ("enet"): ElasticNet solved to its exact minimiser by the per-cell
  grid's solver (mec.fits.elasticnet); the workflow refits each cell's grid choice with it.
- ``RidgeLOOMap`` ("ridge_loo"): Ridge whose alpha is chosen at every fit, from a grid, by
  exact leave-one-out over the training bins, scored by the mean Pearson r over the targets
  (the halves setting's Ridge, methods §7.8).

Alpha convention (methods §4.4): the top-level ``alpha`` parameter is in the paper's ("user")
convention. For models whose loss averages the squared error over samples (Lasso, ElasticNet,
their multi-task versions, LassoLars, SGDRegressor, QuantileRegressor) scikit-learn receives
``alpha / n_train`` so that it has the scale of Ridge's alpha (Ridge sums the squared error);
for the others (Ridge, ...) it receives ``alpha`` as is. ``regression_kwargs`` are handed to
scikit-learn untouched (its own convention), as in the original code.

Fitted maps all expose ``predict(X) -> (n_samples, n_targets)`` (always 2-D).
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import sklearn.linear_model as sklm
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from mec.errors import did_you_mean as _did_you_mean  # one wording of the hint (mec.errors)

__all__ = [
    "OneToOneMap",
    "SKLinearMap",
    "PLSMap",
    "ExactElasticNetMap",
    "RidgeLOOMap",
    "LOO_ALPHAS",
    "make_map",
    "MAP_TYPES",
    "ALPHA_PER_SAMPLE_MODELS",
    "pearson_columns",
    "MapParamError",
]

# scikit-learn linear models whose data term is (1 / (2 n_samples)) ||y - Xw||^2 (or another
# per-sample mean): the user alpha is divided by n_train for them (methods §4.4).
ALPHA_PER_SAMPLE_MODELS = frozenset(
    {
        "Lasso",
        "ElasticNet",
        "MultiTaskLasso",
        "MultiTaskElasticNet",
        "LassoLars",
        "SGDRegressor",
        "QuantileRegressor",
    }
)


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


def _init_params(cls) -> list[str]:
    """Constructor arguments of an estimator class (scikit-learn: no *args, no **kwargs)."""
    return [n for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _sklearn_param_check(est, own_params: dict) -> None:
    """scikit-learn's own check of an estimator's constructor arguments (what fit would run
    first), as a MapParamError naming the argument. ``own_params`` maps the estimator's
    argument names to their path in the map's kwargs."""
    validate = getattr(est, "_validate_params", None)  # scikit-learn >= 1.2
    if validate is None:  # pragma: no cover - older scikit-learn checks at fit time
        return
    try:
        validate()
    except (ValueError, TypeError) as err:
        m = re.search(r"The '(\w+)' parameter", str(err))
        name = m.group(1) if m else ""
        raise MapParamError(own_params.get(name, name or "?"), str(err)) from None


def _check_linear(regression_type, alpha, extra: dict, regression_kwargs) -> None:
    """Every argument of the linear model a map would build (_build_linear_model), checked
    without data: the class name, unknown or doubled arguments, then scikit-learn's checks."""
    try:
        cls = _linear_model_class(regression_type)
    except ValueError as err:
        names = [n for n in dir(sklm) if isinstance(getattr(sklm, n), type)]
        raise MapParamError("regression_type", f"{err}{_did_you_mean(regression_type, names)}") from None
    if regression_kwargs is not None and not isinstance(regression_kwargs, dict):
        raise MapParamError("regression_kwargs", f"regression_kwargs must be a dict of "
                            f"{regression_type} arguments, got {regression_kwargs!r}")
    accepted = _init_params(cls)
    for key, val in dict(regression_kwargs or {}).items():
        if key not in accepted:
            raise MapParamError(f"regression_kwargs.{key}", f"{regression_type} has no argument "
                                f"{key!r} (got {key}={val!r}){_did_you_mean(key, accepted)}")
    for key, val in dict(extra, alpha=alpha).items():
        if val is not None and key not in accepted:
            raise MapParamError(key, f"{key}={val!r} is not an argument of {regression_type}")
    try:
        est = _build_linear_model(regression_type, alpha, extra, regression_kwargs, n_train=1)
    except ValueError as err:
        raise MapParamError("alpha" if "alpha" in str(err) else "regression_kwargs", str(err)) from None
    paths = {k: f"regression_kwargs.{k}" for k in (regression_kwargs or {})}
    paths.update({k: k for k, v in dict(extra, alpha=alpha).items() if v is not None})
    _sklearn_param_check(est, paths)


def _linear_model_class(regression_type):
    if not isinstance(regression_type, str):
        raise ValueError(
            f"regression_type must be the name of a sklearn.linear_model class, got "
            f"{regression_type!r}"
        )
    cls = getattr(sklm, regression_type, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise ValueError(
            f"regression_type={regression_type!r} is not a scikit-learn linear model "
            "(sklearn.linear_model)"
        )
    return cls


def _build_linear_model(regression_type, alpha, extra: dict, regression_kwargs, n_train):
    """Instantiate sklearn.linear_model.<regression_type> with the alpha convention above."""
    cls = _linear_model_class(regression_type)
    kwargs = dict(regression_kwargs or {})
    if alpha is not None:
        if "alpha" in kwargs:
            raise ValueError(
                f"alpha given twice: alpha={alpha!r} and regression_kwargs['alpha']="
                f"{kwargs['alpha']!r}; use one"
            )
        alpha = float(alpha)
        if regression_type in ALPHA_PER_SAMPLE_MODELS:
            alpha = alpha / n_train  # methods §4.4: sklearn alpha = alpha / n_train
        kwargs["alpha"] = alpha
    for key, val in extra.items():
        if val is None:
            continue
        if key in kwargs:
            raise ValueError(f"{key} given twice (top level and regression_kwargs)")
        kwargs[key] = val
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for {regression_type}: {kwargs!r} ({err})") from None


def _supports_multi_output(est) -> bool:
    try:
        return bool(est.__sklearn_tags__().target_tags.multi_output)
    except AttributeError:  # pragma: no cover - older scikit-learn
        return True


def _as_2d_target(y):
    y = np.asarray(y)
    return y[:, None] if y.ndim == 1 else y


class _MapBase(RegressorMixin, BaseEstimator):
    """Shared input handling: X (n_samples, n_features), y (n_samples,) or (n_samples, n_targets)."""

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


class SKLinearMap(_MapBase):
    """Any scikit-learn linear model by name (methods §4.2 "sklinear"); default Ridge(alpha=1).

    regression_type: name in sklearn.linear_model ("Ridge", "ElasticNet", "Lasso", ...).
    alpha: regularisation in the user convention (module docstring); None = model default.
    l1_ratio: for ElasticNet-like models; None = model default.
    regression_kwargs: other constructor arguments, handed to scikit-learn as they are.

    Multi-output targets are solved in one fit for all targets (models that do not support
    several targets are fitted once per target).
    """

    def __init__(self, regression_type="Ridge", alpha=None, l1_ratio=None, regression_kwargs=None):
        self.regression_type = regression_type
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.regression_kwargs = regression_kwargs

    def check_params(self):
        """Check every argument without data (MapParamError naming it); returns self."""
        _check_linear(self.regression_type, self.alpha, {"l1_ratio": self.l1_ratio},
                      self.regression_kwargs)
        return self

    def fit(self, X, y):
        X, Y = self._validate_fit(X, y)
        est = _build_linear_model(
            self.regression_type,
            self.alpha,
            {"l1_ratio": self.l1_ratio},
            self.regression_kwargs,
            n_train=X.shape[0],
        )
        if Y.shape[1] == 1:
            est.fit(X, Y[:, 0])
            self.estimators_ = [est]
        elif _supports_multi_output(est):
            est.fit(X, Y)
            self.estimators_ = [est]
        else:
            self.estimators_ = [clone(est).fit(X, Y[:, j]) for j in range(Y.shape[1])]
        self.n_targets_ = Y.shape[1]
        return self

    @property
    def estimator_(self):
        """The fitted scikit-learn model (the first one if fitted per target)."""
        check_is_fitted(self)
        return self.estimators_[0]

    def predict(self, X):
        X = self._validate_predict(X)
        if len(self.estimators_) == 1:
            pred = _as_2d_target(self.estimators_[0].predict(X))
        else:
            pred = np.column_stack([e.predict(X) for e in self.estimators_])
        return self._format_output(pred.astype(np.float64, copy=False))


class OneToOneMap(_MapBase):
    """One-to-one map (methods §4.2 "corr") and its top-percentile variant.

    percentile: keep the sources whose training Pearson r with the target is at or above this
        percentile of the r over sources (100 = only the best one).
    identity: predict with the best source's values as they are (no fit). None means
        ``percentile == 100``. Requires percentile == 100.
    regression_type, alpha, regression_kwargs: the linear model regressing a target on its kept
        sources when ``identity`` is False (default Ridge(alpha=1)); alpha as in SKLinearMap.

    Learned state: ``corrs_`` (n_sources, n_targets) training Pearson r; ``source_mask_``
    (n_sources, n_targets) kept sources; ``source_idx_`` (n_targets,) best source (identity).
    A target whose r is NaN for every source (constant on the training bins) keeps the last
    source(s) in index order, as the original does.
    """

    def __init__(
        self,
        percentile=100,
        identity=None,
        regression_type="Ridge",
        alpha=None,
        regression_kwargs=None,
    ):
        self.percentile = percentile
        self.identity = identity
        self.regression_type = regression_type
        self.alpha = alpha
        self.regression_kwargs = regression_kwargs

    def _identity(self):
        return (self.percentile == 100) if self.identity is None else bool(self.identity)

    @staticmethod
    def _train_corrs(X, Y):
        # centre, normalise, dot: the original's arithmetic, so ties are resolved alike
        with np.errstate(invalid="ignore", divide="ignore"):
            Xn = X - X.mean(axis=0)
            Xn = Xn / np.linalg.norm(Xn, axis=0)
            Yn = Y - Y.mean(axis=0)
            Yn = Yn / np.linalg.norm(Yn, axis=0)
            return Xn.T @ Yn  # (n_sources, n_targets)

    def check_params(self):
        """Check every argument without data (MapParamError naming it); returns self."""
        p = self.percentile
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)) \
                or not 0 <= float(p) <= 100:
            raise MapParamError("percentile", f"percentile must be in [0, 100], got {p!r}")
        if self.identity is not None and not isinstance(self.identity, (bool, np.bool_)):
            raise MapParamError("identity", f"identity must be true, false or null, got {self.identity!r}")
        if self._identity():
            if p != 100:
                raise MapParamError(
                    "identity", f"identity=True needs percentile=100, got percentile={p!r}")
        else:
            _check_linear(self.regression_type, self.alpha, {}, self.regression_kwargs)
        return self

    def fit(self, X, y):
        self.check_params()
        identity = self._identity()
        X, Y = self._validate_fit(X, y)
        n_src, n_tgt = X.shape[1], Y.shape[1]
        corrs = self._train_corrs(X, Y)
        all_nan = np.isnan(corrs).all(axis=0)
        if identity:
            filled = np.where(np.isnan(corrs), -np.inf, corrs)
            best = np.argmax(filled, axis=0)  # first of ties
            best[all_nan] = n_src - 1  # original: rank-order fallback keeps the last source
            mask = np.zeros((n_src, n_tgt), dtype=bool)
            mask[best, np.arange(n_tgt)] = True
            self.source_idx_ = best
            self.estimators_ = None
        else:
            mask = np.empty((n_src, n_tgt), dtype=bool)
            estimators = []
            ranks = np.arange(n_src, dtype=np.float64)
            for j in range(n_tgt):
                c = ranks if all_nan[j] else corrs[:, j]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    thr = np.nanpercentile(c, self.percentile)
                mask[:, j] = c >= thr
                est = _build_linear_model(
                    self.regression_type, self.alpha, {}, self.regression_kwargs, X.shape[0]
                )
                estimators.append(est.fit(X[:, mask[:, j]], Y[:, j]))
            self.estimators_ = estimators
            self.source_idx_ = None
        self.corrs_ = corrs
        self.source_mask_ = mask
        self.n_targets_ = n_tgt
        return self

    def predict(self, X):
        X = self._validate_predict(X)
        if self.estimators_ is None:
            pred = X[:, self.source_idx_]
        else:
            pred = np.column_stack(
                [e.predict(X[:, self.source_mask_[:, j]]) for j, e in enumerate(self.estimators_)]
            )
        return self._format_output(np.asarray(pred, dtype=np.float64))


class PLSMap(_MapBase):
    """Partial least squares map (methods §4.2 "pls").

    n_components: number of PLS components (required).
    scale: scale X and Y to unit variance (the original's default is False).
    fit_per_target_unit: one PLSRegression per target instead of one for all targets.
    max_iter, tol: handed to PLSRegression.
    algorithm: how each component's weights, the first singular vectors of X_k^T Y_k, are
        found: "nipals" (PLSRegression's power iteration, stopped when the weights' squared
        change is below ``tol``: the original's) or "svd" (scikit-learn's exact SVD of the
        p x n_targets cross-product, as PLSCanonical(algorithm="svd"); the limit NIPALS
        approaches, about 3x faster on a 512-unit layer; the halves setting's, methods §7.8).

    A fit whose SVD does not converge predicts NaN for its targets (with a warning), as the
    original; a bad ``n_components`` raises. More components than source units (e.g. 10
    components from an animal with 4 cells) are cut to the number of sources, with a warning,
    where the original stopped with scikit-learn's error; ``n_components_`` is what was used.
    """

    def __init__(
        self, n_components=None, scale=False, fit_per_target_unit=False, max_iter=500, tol=1e-6,
        algorithm="nipals",
    ):
        self.n_components = n_components
        self.scale = scale
        self.fit_per_target_unit = fit_per_target_unit
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm

    def _fit_one(self, X, Y):
        pls = PLSRegression(
            n_components=self.n_components_,
            scale=self.scale,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        # PLSRegression fixes the algorithm of its base class (_PLS) at "nipals" and reads the
        # attribute in fit; "svd" is that base class's other, exact option (PLSCanonical's
        # `algorithm`), tests/test_mappers.py checks it is NIPALS's converged limit
        pls.algorithm = self.algorithm
        try:
            return pls.fit(X, Y)
        except np.linalg.LinAlgError as err:
            warnings.warn(f"PLS fit failed ({err}); predicting NaN", RuntimeWarning)
            return None

    def check_params(self):
        """Check every argument without data (MapParamError naming it); returns self."""
        k = self.n_components
        if k is None:
            raise MapParamError("n_components", "PLSMap needs n_components (map_kwargs={'n_components': k})")
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise MapParamError("n_components", f"n_components must be an integer >= 1, got {k!r}")
        for name in ("scale", "fit_per_target_unit"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise MapParamError(name, f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.algorithm not in ("nipals", "svd"):
            raise MapParamError("algorithm", f"PLS algorithm must be 'nipals' or 'svd', got "
                                f"{self.algorithm!r}")
        pls = PLSRegression(n_components=int(k), scale=self.scale, max_iter=self.max_iter, tol=self.tol)
        _sklearn_param_check(pls, {"max_iter": "max_iter", "tol": "tol"})
        return self

    def fit(self, X, y):
        self.check_params()
        X, Y = self._validate_fit(X, y)
        self.n_components_ = min(int(self.n_components), X.shape[1])
        if self.n_components_ < int(self.n_components):
            warnings.warn(f"PLS n_components={self.n_components} exceeds the {X.shape[1]} source "
                          f"units; using {self.n_components_}", UserWarning)
        if self.fit_per_target_unit:
            self.estimators_ = [self._fit_one(X, Y[:, j]) for j in range(Y.shape[1])]
        else:
            self.estimators_ = [self._fit_one(X, Y if Y.shape[1] > 1 else Y[:, 0])]
        self.n_targets_ = Y.shape[1]
        # most NIPALS iterations of any component of any fit (sklearn convention, >= 1)
        iters = [max(e.n_iter_, default=1) for e in self.estimators_ if e is not None]
        self.n_iter_ = max(iters + [1])
        return self

    def predict(self, X):
        X = self._validate_predict(X)
        n = X.shape[0]
        if self.fit_per_target_unit:
            cols = [
                np.full(n, np.nan) if e is None else np.asarray(e.predict(X)).reshape(n)
                for e in self.estimators_
            ]
            pred = np.column_stack(cols)
        else:
            e = self.estimators_[0]
            if e is None:
                pred = np.full((n, self.n_targets_), np.nan)
            else:
                pred = np.asarray(e.predict(X)).reshape(n, self.n_targets_)
        return self._format_output(pred.astype(np.float64, copy=False))


class ExactElasticNetMap(_MapBase):
    """ElasticNet solved to its exact minimiser (map type "enet"), by the ElasticNet grid's own
    solver (mec.fits.elasticnet, methods §4.4).

    alpha: > 0, in the user convention (module docstring; the penalty of the summed squared
        error over the training bins); l1_ratio: in (0, 1], 1 being the Lasso.

    The problem is scikit-learn's ElasticNet(alpha / n_train, l1_ratio), but solved exactly
    rather than to coordinate descent's tolerance, which with more sources than bins and a
    small alpha stops far from the minimiser. The workflow's "elasticnet" map refits each
    cell's grid choice with it, so that model fits solve the very problems the inter-animal
    grid solved (methods §4.4). Learned state: ``coef_`` (n_features, n_targets),
    ``intercept_`` (n_targets,).
    """

    def __init__(self, alpha=1.0, l1_ratio=0.5):
        self.alpha = alpha
        self.l1_ratio = l1_ratio

    def check_params(self):
        """Check every argument without data (MapParamError naming it); returns self."""
        for name, ok, rule in (("alpha", lambda v: np.isfinite(v) and v > 0, "finite and > 0"),
                               ("l1_ratio", lambda v: 0 < v <= 1, "in (0, 1]")):
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)) or not isinstance(
                    v, (int, float, np.integer, np.floating)) or not ok(float(v)):
                raise MapParamError(name, f"ElasticNet {name} must be {rule}, got {v!r}")
        return self

    def fit(self, X, y):
        from mec.fits.enet_search import elasticnet_fit  # compiled kernels: load on first use

        self.check_params()
        X, Y = self._validate_fit(X, y)
        self.coef_, self.intercept_ = elasticnet_fit(X, Y, self.alpha, self.l1_ratio)
        self.n_targets_ = Y.shape[1]
        return self

    def predict(self, X):
        X = self._validate_predict(X)
        return self._format_output(X @ self.coef_ + self.intercept_)


#: Default alpha grid of :class:`RidgeLOOMap`: decades from 1 to 1e5, wide enough that the
#: choices on the default run (methods §7.8: 100-10,000) stay inside it.
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
    X Xᵀ) instead of taking the SVD of X: about 3x faster for 968 bins x 512 units (a 2.2 m
    model fit); tests/test_mappers.py checks both against each other and against refits
    without each bin.

    alphas: the grid, each finite and > 0. Learned state: ``alpha_``; ``loo_scores_``
    (n_alphas,), the mean leave-one-out r of each alpha; ``coef_`` (n_features, n_targets),
    ``intercept_`` (n_targets,).
    """

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
            BtY = B.T @ Yc

            def gains(a):
                return 1.0 / (np.clip(lam, 0.0, None) + a)
        else:
            lam, B = np.linalg.eigh(Xc @ Xc.T)         # (n, n): H = B diag(lam/(lam + a)) Bᵀ
            lam = np.clip(lam, 0.0, None)
            BtY = B.T @ Yc

            def gains(a):
                return lam / (lam + a)
        B2 = B * B
        scores = np.full(alphas.size, -np.inf)
        for k, a in enumerate(alphas):
            g = gains(a)
            fitted = B @ (g[:, None] * BtY)            # centred fitted values (n, n_targets)
            h = 1.0 / n + B2 @ g                       # leverage of each bin
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


MAP_TYPES = {"corr": OneToOneMap, "sklinear": SKLinearMap, "pls": PLSMap,
             "enet": ExactElasticNetMap, "ridge_loo": RidgeLOOMap}


def make_map(map_type: str, **map_kwargs) -> _MapBase:
    """Map estimator by its methods §4.2 name ("corr", "sklinear", "pls", "enet"), unfitted.

    map_kwargs: constructor arguments of that map (see the classes). The original's form
        ``{"regression_type": ..., "regression_kwargs": {...}}`` works unchanged.
    """
    key = str(map_type).lower()
    if key not in MAP_TYPES:
        raise ValueError(f"map_type={map_type!r} is not one of {sorted(MAP_TYPES)}")
    cls = MAP_TYPES[key]
    try:
        est = cls(**map_kwargs)
    except TypeError:
        valid = sorted(cls().get_params())
        raise ValueError(
            f"map_kwargs {sorted(map_kwargs)} not valid for map_type={map_type!r}; "
            f"accepted: {valid}"
        ) from None
    if key in ("sklinear", "corr"):
        _linear_model_class(est.regression_type)  # fail early on a bad name
    return est
