# Long because: four scikit-learn estimators that share a base class, the parameter checks and the
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
  (the halves setting's Ridge, methods §7.8; in mec.ridge_loo, on the base of mec.map_base).

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
from sklearn.base import BaseEstimator, clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.utils.validation import check_is_fitted

from mec.errors import did_you_mean as _did_you_mean  # one wording of the hint (mec.errors)
from mec.map_base import MapParamError, _as_2d_target, _MapBase, pearson_columns
from mec.ridge_loo import LOO_ALPHAS, RidgeLOOMap

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

    @property
    def targets_independent(self) -> bool:
        """Only one PLS per target makes a target's prediction its own (_MapBase)."""
        return bool(self.fit_per_target_unit)

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
