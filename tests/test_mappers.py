"""Maps as scikit-learn estimators (mec.mappers, methods §4.2): known answers and estimator checks."""

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import ElasticNet, Lasso, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from mec.mappers import (LOO_ALPHAS, MapParamError, OneToOneMap, PLSMap, RidgeLOOMap,
                         SKLinearMap, make_map, pearson_columns)


def _data(n=60, n_src=7, n_tgt=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_src))
    Y = X[:, :n_tgt] @ rng.standard_normal((n_tgt, n_tgt)) + 0.3 * rng.standard_normal((n, n_tgt))
    return X, Y


@parametrize_with_checks(
    [SKLinearMap(), SKLinearMap("ElasticNet", alpha=0.5, l1_ratio=0.3), OneToOneMap(),
     OneToOneMap(percentile=50), PLSMap(n_components=1), RidgeLOOMap()]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_pearson_columns_matches_scipy_and_nan_for_constant():
    X, Y = _data()
    r = pearson_columns(X[:, :4], Y)
    ref = [pearsonr(X[:, j], Y[:, j])[0] for j in range(4)]
    np.testing.assert_allclose(r, ref, atol=1e-12)
    const = np.column_stack([np.ones(10), np.arange(10.0)])
    assert np.isnan(pearson_columns(const, np.arange(20.0).reshape(10, 2))[0])


def test_sklinear_default_is_ridge_alpha_1_multi_output():
    X, Y = _data()
    ours = SKLinearMap().fit(X, Y)
    ref = Ridge(alpha=1.0).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-12)
    assert len(ours.estimators_) == 1  # one solve for all targets


def test_sklinear_elasticnet_alpha_is_divided_by_n_train():
    X, Y = _data()
    ours = SKLinearMap("ElasticNet", alpha=3.0, l1_ratio=0.4).fit(X, Y[:, 0])
    ref = ElasticNet(alpha=3.0 / X.shape[0], l1_ratio=0.4).fit(X, Y[:, 0])
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-12)
    # Ridge alpha is not rescaled (its loss sums over samples already)
    ridge = SKLinearMap("Ridge", alpha=3.0).fit(X, Y)
    np.testing.assert_allclose(ridge.predict(X), Ridge(alpha=3.0).fit(X, Y).predict(X), atol=1e-12)
    # regression_kwargs go to scikit-learn untouched (the original's form)
    raw = SKLinearMap("Lasso", regression_kwargs={"alpha": 0.1}).fit(X, Y)
    np.testing.assert_allclose(raw.predict(X), Lasso(alpha=0.1).fit(X, Y).predict(X), atol=1e-12)


def test_sklinear_bad_names_and_double_alpha_raise():
    X, Y = _data()
    with pytest.raises(ValueError, match="NoSuchModel"):
        SKLinearMap("NoSuchModel").fit(X, Y)
    with pytest.raises(ValueError, match="alpha given twice"):
        SKLinearMap(alpha=1.0, regression_kwargs={"alpha": 2.0}).fit(X, Y)
    with pytest.raises(ValueError, match="map_type"):
        make_map("nope")
    with pytest.raises(ValueError, match="regression_type"):
        make_map("sklinear", regression_type="Nope")
    with pytest.raises(ValueError, match="not valid"):
        make_map("pls", alpha=3)


def test_one_to_one_picks_best_source_and_copies_it():
    X, Y = _data()
    m = OneToOneMap().fit(X, Y)
    for j in range(Y.shape[1]):
        rs = [np.corrcoef(X[:, i], Y[:, j])[0, 1] for i in range(X.shape[1])]
        assert m.source_idx_[j] == int(np.argmax(rs))
    Xt = np.random.default_rng(1).standard_normal((5, X.shape[1]))
    np.testing.assert_array_equal(m.predict(Xt), Xt[:, m.source_idx_])  # values as they are


def test_one_to_one_ties_pick_first_and_constant_target_picks_last():
    X = np.random.default_rng(2).standard_normal((30, 5))
    X[:, 3] = X[:, 1]  # exact tie between sources 1 and 3
    Y = np.column_stack([X[:, 1] * 2 + 1, np.ones(30)])  # second target constant: r all NaN
    m = OneToOneMap().fit(X, Y)
    assert m.source_idx_[0] == 1
    assert m.source_idx_[1] == 4  # the original's rank-order fallback keeps the last source


def test_one_to_one_percentile_variant_regresses_on_top_sources():
    X, Y = _data(n_src=10)
    m = OneToOneMap(percentile=80, alpha=2.0).fit(X, Y)
    for j in range(Y.shape[1]):
        rs = np.array([np.corrcoef(X[:, i], Y[:, j])[0, 1] for i in range(X.shape[1])])
        keep = rs >= np.percentile(rs, 80)
        np.testing.assert_array_equal(m.source_mask_[:, j], keep)
        ref = Ridge(alpha=2.0).fit(X[:, keep], Y[:, j])
        np.testing.assert_allclose(m.predict(X)[:, j], ref.predict(X[:, keep]), atol=1e-12)
    with pytest.raises(ValueError, match="identity"):
        OneToOneMap(percentile=80, identity=True).fit(X, Y)


def test_pls_matches_sklearn_joint_and_per_target():
    X, Y = _data()
    joint = PLSMap(n_components=2).fit(X, Y)
    ref = PLSRegression(n_components=2, scale=False).fit(X, Y)
    np.testing.assert_allclose(joint.predict(X), ref.predict(X), atol=1e-10)
    per = PLSMap(n_components=2, fit_per_target_unit=True).fit(X, Y)
    for j in range(Y.shape[1]):
        r = PLSRegression(n_components=2, scale=False).fit(X, Y[:, j])
        np.testing.assert_allclose(per.predict(X)[:, j], r.predict(X).ravel(), atol=1e-10)
    with pytest.raises(ValueError, match="n_components"):
        PLSMap().fit(X, Y)


def test_pls_svd_is_the_limit_of_nipals():
    """algorithm="svd" gives the predictions NIPALS converges to (run here to a tolerance far
    below the default's), and differs from the default-tolerance NIPALS by no more than that
    tolerance allows; the default stays the original's NIPALS, bit for bit."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40))
    Y = X[:, :5] @ rng.normal(size=(5, 6)) + rng.normal(size=(300, 6)) * 3
    exact = PLSMap(n_components=6, algorithm="svd").fit(X, Y)
    tight = PLSMap(n_components=6, tol=1e-30, max_iter=100000).fit(X, Y)
    scale = np.abs(Y - Y.mean(0)).max()
    np.testing.assert_allclose(exact.predict(X), tight.predict(X), atol=1e-8 * scale)
    default = PLSMap(n_components=6).fit(X, Y)
    ref = PLSRegression(n_components=6, scale=False).fit(X, Y)
    np.testing.assert_array_equal(default.predict(X), ref.predict(X))
    assert np.abs(default.predict(X) - exact.predict(X)).max() > 0  # not the same computation
    with pytest.raises(MapParamError, match="algorithm") as err:
        PLSMap(n_components=2, algorithm="lanczos").fit(X, Y)
    assert err.value.param == "algorithm"


def test_pls_with_more_components_than_sources_is_cut_with_a_warning():
    import warnings as _w

    from mec.mappers import PLSMap

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    Y = X @ rng.normal(size=(4, 3))
    with pytest.warns(UserWarning, match="exceeds the 4 source units"):
        m = PLSMap(n_components=10).fit(X, Y)
    assert m.n_components_ == 4
    np.testing.assert_allclose(m.predict(X), Y, atol=1e-6)  # 4 components span the sources
    with _w.catch_warnings():
        _w.simplefilter("error")
        assert PLSMap(n_components=2).fit(X, Y).n_components_ == 2


# ---------------------------------------------------------------------------------------------
# ridge_loo: Ridge choosing its alpha by leave-one-out (methods §7.8)
# ---------------------------------------------------------------------------------------------
def _loo_data(n, p, seed):
    """Sources with an offset and targets with an offset, so the intercept matters."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 3.0
    Y = 0.2 * (X @ rng.standard_normal((p, 4))) + 2.0 * rng.standard_normal((n, 4)) + 7.0
    return X, Y


@pytest.mark.parametrize("n,p", [(40, 12), (25, 60)])  # more bins than units, and fewer
def test_ridge_loo_scores_equal_refits_without_each_bin(n, p):
    """Each alpha's score is the mean over targets of the Pearson r between the targets and
    the predictions of Ridge refitted without each bin in turn (scikit-learn, one by one)."""
    X, Y = _loo_data(n, p, seed=n)
    alphas = [0.3, 3.0, 30.0, 300.0]
    m = RidgeLOOMap(alphas=alphas).fit(X, Y)
    for a, got in zip(alphas, m.loo_scores_):
        loo = np.array([Ridge(alpha=a).fit(np.delete(X, i, 0), np.delete(Y, i, 0))
                        .predict(X[i:i + 1])[0] for i in range(n)])
        want = np.mean([pearsonr(Y[:, j], loo[:, j])[0] for j in range(Y.shape[1])])
        assert got == pytest.approx(want, abs=1e-9)
    assert m.alpha_ == alphas[int(np.argmax(m.loo_scores_))]
    np.testing.assert_allclose(m.predict(X), Ridge(alpha=m.alpha_).fit(X, Y).predict(X),
                               atol=1e-9)


@pytest.mark.parametrize("n,p", [(120, 30), (30, 90)])
def test_ridge_loo_equals_sklearn_ridgecv_with_a_pearson_scorer(n, p):
    """The same choice and predictions as scikit-learn's own efficient leave-one-out."""
    from sklearn.linear_model import RidgeCV

    def mean_r(est, X, y):
        return float(np.nanmean(pearson_columns(y, est.predict(X))))

    for seed in range(3):
        X, Y = _loo_data(n, p, seed)
        mine = RidgeLOOMap().fit(X, Y)
        theirs = RidgeCV(alphas=list(LOO_ALPHAS), scoring=mean_r).fit(X, Y)
        assert mine.alpha_ == theirs.alpha_
        np.testing.assert_allclose(mine.predict(X), theirs.predict(X), atol=1e-8)


def test_ridge_loo_shrinks_more_for_noisier_targets_and_one_alpha_serves_all_targets():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 40))
    signal = X[:, :3] @ np.ones((3, 3))
    clean = RidgeLOOMap().fit(X, signal + 0.1 * rng.standard_normal((80, 3)))
    Y = signal + 20.0 * rng.standard_normal((80, 3))
    noisy = RidgeLOOMap().fit(X, Y)
    assert clean.alpha_ < noisy.alpha_
    # every target is fitted with the one chosen alpha
    np.testing.assert_allclose(noisy.coef_, Ridge(alpha=noisy.alpha_).fit(X, Y).coef_.T,
                               atol=1e-9)
    assert noisy.coef_.shape == (40, 3) and noisy.intercept_.shape == (3,)
    assert np.isfinite(noisy.loo_scores_).all() and noisy.loo_scores_.shape == (len(LOO_ALPHAS),)


@pytest.mark.parametrize("bad", [[], [0.0, 1.0], [1.0, -2.0], [np.inf], [True], "100", 5.0])
def test_ridge_loo_bad_alphas_are_named(bad):
    from mec.checks import map_problems

    with pytest.raises(MapParamError, match="alphas"):
        RidgeLOOMap(alphas=bad).fit(*_data())
    problems = map_problems("ridge_loo", {"alphas": bad})
    assert problems and problems[0].startswith("map_kwargs.alphas")
