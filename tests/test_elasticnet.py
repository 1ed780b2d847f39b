"""The fast ElasticNet grid (mec.fits.elasticnet) against a brute-force scikit-learn search.

Reference convention (module docstring of mec.fits.elasticnet): scikit-learn's ElasticNet with
alpha / n_fit (n_fit = bins of that fit), fit_intercept=True, the same inner KFold(2) folds,
solved to convergence (tol=0, many iterations) on well-conditioned cases so that its scores
are exact to ~1e-12; predictions are scored through coef_ (the intercept does not change r).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mec.fits import elasticnet as en
from mec.fits.core import elasticnet_kwargs_per_cell
from mec.fits.splits import generate_train_test_splits

sklearn_lm = pytest.importorskip("sklearn.linear_model")

SHORT_A, SHORT_L = en.grid_constants("short")


def _data(n=60, p=8, T=3, seed=0, offset=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + offset
    W = rng.normal(size=(p, T)) * (rng.random((p, T)) < 0.5)
    Y = X @ W + rng.normal(size=(n, T)) + 5.0
    return X, Y


def _r(pred, y):
    if np.std(pred) == 0:
        return np.nan
    return float(np.corrcoef(pred, y)[0, 1])


def _ref_fit(X, Y, fit, alpha, l1):
    m = sklearn_lm.ElasticNet(alpha=alpha / len(fit), l1_ratio=l1, tol=0.0, max_iter=20000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X[fit], Y[fit])
    return np.atleast_2d(m.coef_)  # (T, p)


def _ref_cv(X, Y, train, alphas, l1s):
    """Brute force: (2, T, na, nl) validation r of every combination on the two inner folds."""
    T = Y.shape[1]
    out = np.full((2, T, len(alphas), len(l1s)), np.nan)
    for f, (fit, val) in enumerate(en.inner_folds(train)):
        for ai, a in enumerate(alphas):
            for li, l1 in enumerate(l1s):
                coef = _ref_fit(X, Y, fit, a, l1)
                for t in range(T):
                    out[f, t, ai, li] = _r(X[val] @ coef[t], Y[val, t])
    return out


def _ref_search(X, Y, splits, alphas, l1s):
    rows = []
    for s, sp in enumerate(splits):
        folds = _ref_cv(X, Y, sp["train"], alphas, l1s)
        cv = folds.mean(axis=0)
        for t in range(Y.shape[1]):
            rows.append((t, s, cv[t]))
    return rows


def test_inner_folds_are_kfold_halves_in_given_order():
    train = np.array([7, 3, 9, 1, 4])
    (fit0, val0), (fit1, val1) = en.inner_folds(train)
    np.testing.assert_array_equal(val0, [7, 3, 9])
    np.testing.assert_array_equal(fit0, [1, 4])
    np.testing.assert_array_equal(val1, [1, 4])
    np.testing.assert_array_equal(fit1, [7, 3, 9])


def test_every_grid_score_equals_sklearn_bruteforce():
    X, Y = _data()
    train = np.random.RandomState(3).permutation(60)[:40]
    mean, folds = en.elasticnet_cv_grid(X, Y, train, SHORT_A, SHORT_L, return_folds=True)
    ref = _ref_cv(X, Y, train, SHORT_A, SHORT_L)
    assert np.array_equal(np.isnan(folds), np.isnan(ref))
    assert np.isnan(ref).any() and (~np.isnan(ref)).sum() > 100  # both regimes exercised
    np.testing.assert_allclose(folds[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.isnan(mean), np.isnan(folds).any(axis=0))


@pytest.mark.parametrize("n,p,train_frac", [(60, 6, 0.8), (60, 30, 0.5), (160, 75, 0.9)])
def test_choices_and_scores_equal_bruteforce(n, p, train_frac):
    """Chosen combination is a reference optimum (ties within 1e-9), test r to 1e-6.

    p=30 with 15-bin folds has more sources than fit bins; there the sub-grid keeps alphas
    where the reference's coordinate descent converges (at tiny alphas it does not, which is
    why the engine, not scikit-learn, defines the exact answer there). n=160, p=75: systems
    larger than 64 (LAPACK Cholesky path).
    """
    X, Y = _data(n=n, p=p, T=3, seed=p)
    if p > 20:
        alphas, l1s = np.geomspace(10.0, 1e5, 5), np.array([1e-16, 0.3, 0.9, 1.0])
    else:
        alphas, l1s = SHORT_A, SHORT_L
    splits = generate_train_test_splits(n, train_frac=train_frac, num_splits=2,
                                        split_start_seed=5)
    df = en.elasticnet_grid_search(X, Y, splits, alphas, l1s, progress=False)
    assert len(df) == 2 * 3
    ref = {(t, s): cv for t, s, cv in _ref_search(X, Y, splits, alphas, l1s)}
    for row in df.itertuples():
        cv = ref[(row.target, row.split)]
        ai = int(np.flatnonzero(alphas == row.alpha)[0])
        li = int(np.flatnonzero(l1s == row.l1_ratio)[0])
        best = np.nanmax(cv)
        assert cv[ai, li] >= best - 1e-9, (row, best)
        assert row.cv_score == pytest.approx(cv[ai, li], abs=1e-9)
        sp = splits[row.split]
        coef = _ref_fit(X, Y, sp["train"], row.alpha, row.l1_ratio)[row.target]
        ref_test = _r(X[sp["test"]] @ coef, Y[sp["test"], row.target])
        assert row.test_score == pytest.approx(ref_test, abs=1e-6)


def test_large_alpha_gives_exact_zero_and_nan_score():
    X, Y = _data(n=40, p=5, T=1)
    train = np.arange(40)
    fit, val = en.inner_folds(train)[0]
    Xc = X[fit] - X[fit].mean(0)
    yc = Y[fit, 0] - Y[fit, 0].mean()
    for l1 in (0.5, 1.0):
        a_max = np.abs(Xc.T @ yc).max() / l1  # KKT: w = 0 iff alpha * l1 >= max |X^T y|
        alphas = np.array([a_max * 1.001, a_max * 0.999])
        folds = en.elasticnet_cv_grid(X, Y, train, alphas, [l1], return_folds=True)[1]
        assert np.isnan(folds[0, 0, 0, 0])
        assert np.isfinite(folds[0, 0, 1, 0])
        assert not _ref_fit(X, Y, fit, alphas[0], l1).any()
        assert _ref_fit(X, Y, fit, alphas[1], l1).any()
    # the whole grid zero -> every score NaN, choice still made, test score NaN
    df = en.elasticnet_grid_search(X, Y, [{"train": train[:20], "test": train[20:]}],
                                   [1e9, 1e8], [0.5, 1.0], progress=False)
    assert np.isnan(df["cv_score"]).all() and np.isnan(df["test_score"]).all()
    assert df["alpha"].iloc[0] == 1e9 and df["l1_ratio"].iloc[0] == 0.5  # first in grid order


def test_nan_scores_rank_worst():
    cv = np.array([[[np.nan, -0.9], [np.nan, np.nan]], [[0.1, 0.3], [0.3, np.nan]]])
    np.testing.assert_array_equal(en._choose(cv), [1, 1])  # NaN loses to -0.9; first tie
    # end to end: huge alpha (constant predictions) loses to a poorly predicting small one
    X, Y = _data(n=40, p=4, T=2, seed=7)
    Y[:, 1] = -X[:, 0] + np.random.default_rng(0).normal(size=40) * 5
    df = en.elasticnet_grid_search(X, Y, [{"train": np.arange(24), "test": np.arange(24, 40)}],
                                   [1e9, 1e-3], [0.5], progress=False)
    assert (df["alpha"] == 1e-3).all() and np.isfinite(df["cv_score"]).all()


def test_constant_target_is_nan_not_error():
    X, Y = _data(n=30, p=4, T=2)
    Y[:, 1] = 3.0
    df = en.elasticnet_grid_search(X, Y, generate_train_test_splits(30, 0.5, 1), SHORT_A,
                                   SHORT_L, progress=False)
    assert np.isnan(df.loc[df.target == 1, ["cv_score", "test_score"]].to_numpy()).all()
    assert np.isfinite(df.loc[df.target == 0, "test_score"]).all()


def test_deterministic_and_order_of_targets_irrelevant():
    X, Y = _data(n=50, p=20, T=4, seed=11)
    splits = generate_train_test_splits(50, 0.4, 2)
    a = en.elasticnet_grid_search(X, Y, splits, SHORT_A, SHORT_L, progress=False)
    b = en.elasticnet_grid_search(X, Y, splits, SHORT_A, SHORT_L, progress=False)
    pd.testing.assert_frame_equal(a, b)
    c = en.elasticnet_grid_search(X, Y[:, ::-1], splits, SHORT_A, SHORT_L, progress=False)
    c = c.assign(target=3 - c["target"]).sort_values(["split", "target"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a.sort_values(["split", "target"]).reset_index(drop=True), c)


def test_grid_validation():
    X, Y = _data(n=20, p=3, T=1)
    sp = [{"train": np.arange(10), "test": np.arange(10, 20)}]
    for alphas, l1s in (([0.0, 1.0], [0.5]), ([1.0], [0.0]), ([1.0], [1.5]), ([1.0, 1.0], [0.5])):
        with pytest.raises(ValueError):
            en.elasticnet_grid_search(X, Y, sp, alphas, l1s, progress=False)
    Xn = X.copy()
    Xn[3, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        en.elasticnet_grid_search(Xn, Y, sp, [1.0], [0.5], progress=False)


def _toy_dataset():
    rng = np.random.default_rng(2)
    ds = {1.0: {}}
    for k, n in enumerate((3, 4, 2)):
        resp = rng.gamma(2.0, 1.0, size=(6, 6, n))
        resp[0, 0, :] = np.nan  # unvisited bin
        ds[1.0][f"m{k}"] = {"resp": resp, "cell_ids": np.array([f"m{k}_c{i}" for i in range(n)])}
    return ds


def test_animal_table_layout_chunks_and_kwargs():
    ds = _toy_dataset()
    alphas, l1s = np.array([1e3, 1.0, 1e-3]), np.array([1e-16, 0.5, 1.0])
    full = en.elasticnet_animal_table(ds, 1.0, "m1", alphas, l1s, train_frac=0.5, num_splits=3,
                                      progress=False)
    assert list(full.columns) == ["arena", "animal", "cell_id", "split", "alpha", "l1_ratio",
                                  "cv_score", "test_score"]
    assert len(full) == 4 * 3 and set(full["cell_id"]) == {f"m1_c{i}" for i in range(4)}
    # same numbers as the engine on the kept bins and splits of mec.fits.splits
    src = np.concatenate([ds[1.0]["m0"]["resp"], ds[1.0]["m2"]["resp"]], axis=-1).reshape(36, -1)
    tgt = ds[1.0]["m1"]["resp"].reshape(36, -1)
    valid = np.isfinite(src).all(1) & np.isfinite(tgt).all(1)
    splits = generate_train_test_splits(36, 0.5, 3, 0, grid_shape=(6, 6), valid=valid)
    eng = en.elasticnet_grid_search(src[valid], tgt[valid], splits, alphas, l1s, progress=False)
    eng = eng.sort_values(["target", "split"], kind="stable")
    np.testing.assert_array_equal(full["test_score"].to_numpy(), eng["test_score"].to_numpy())
    assert full["cell_id"].tolist() == [f"m1_c{i}" for i in range(4) for _ in range(3)]
    # chunks (i of k) concatenated equal the full table
    parts = [en.elasticnet_animal_table(ds, 1.0, "m1", alphas, l1s, train_frac=0.5,
                                        num_splits=3, cells=(i, 3), progress=False)
             for i in range(3)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), full)
    kw = elasticnet_kwargs_per_cell(full)  # how the fits read the choices (mec.fits.core)
    first = full[full.cell_id == "m1_c2"].sort_values("split")
    assert [d["alpha"] for d in kw["m1_c2"]] == first["alpha"].tolist()  # raw (user) alpha
    assert kw["m1_c2"][0]["regression_type"] == "ElasticNet"
    with pytest.raises(ValueError):
        en.elasticnet_animal_table(ds, 1.0, "nope", alphas, l1s)


def test_pipeline_job_and_gather_round_trip(tmp_path):
    from mec.data import save_dataset

    ds = _toy_dataset()
    edges = {1.0: (np.linspace(0, 1, 7), np.linspace(0, 1, 7))}
    path = save_dataset(tmp_path / "toy.h5", ds, edges=edges,
                        arenas={1.0: {"size": 1.0, "shape": "square"}})
    outs = []
    for i in range(2):
        out = tmp_path / "elasticnet" / "1.0" / "chunks" / f"m1_{i}.csv"
        en.run_elasticnet_grid(path, 1.0, "m1", grid="short", train_frac=0.5, num_splits=2,
                               chunk=[i, 2], out_path=out, progress=False)
        outs.append(out)
    table = en.gather_elasticnet(outs, out_path=tmp_path / "elasticnet" / "1.0" / "m1.csv")
    direct = en.elasticnet_animal_table(ds, 1.0, "m1", *en.grid_constants("short"),
                                        train_frac=0.5, num_splits=2, progress=False)
    back = pd.read_csv(tmp_path / "elasticnet" / "1.0" / "m1.csv", dtype={"cell_id": str})
    assert len(table) == len(direct) == len(back) == 8
    np.testing.assert_allclose(back["test_score"].to_numpy(), direct["test_score"].to_numpy(),
                               rtol=1e-12)
    assert back["cell_id"].tolist() == direct["cell_id"].tolist()
    with pytest.raises(ValueError, match="more than one chunk"):
        en.gather_elasticnet(outs + outs[:1])


@pytest.mark.parametrize("alpha,l1", [(1e-6, 0.3), (1e-2, 0.9), (10.0, 0.01)])
def test_exact_where_coordinate_descent_cannot_converge(alpha, l1):
    """More sources than bins, small alpha: the solution satisfies the KKT conditions and its
    objective is below scikit-learn's coordinate descent (which stops far from the optimum)."""
    X, Y = _data(n=20, p=60, T=1, seed=4)
    y = Y[:, 0]
    w, b = en.elasticnet_coef(X, y, alpha, l1)
    Xc, yc = X - X.mean(0), y - y.mean()
    lam1, lam2 = alpha * l1, alpha * (1 - l1)
    g = Xc.T @ (yc - Xc @ w) - lam2 * w
    nz = w != 0
    assert nz.any()
    np.testing.assert_allclose(g[nz], lam1 * np.sign(w[nz]), rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(g[~nz]) <= lam1 * (1 + 1e-6) + 1e-9)
    assert b == pytest.approx(y.mean() - X.mean(0) @ w)

    def obj(v):
        res = yc - Xc @ v
        return 0.5 * res @ res + lam1 * np.abs(v).sum() + 0.5 * lam2 * v @ v

    cd = _ref_fit(X, Y, np.arange(20), alpha, l1)[0]
    assert obj(w) <= obj(cd) * (1 + 1e-12)


# ---------------------------------------------------------------------------------------------
# map "enet": the grid's exact solver as a map (mec.mappers.ExactElasticNetMap)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,p", [(60, 8), (50, 120)])
def test_enet_map_reproduces_the_grids_refit_test_scores(n, p):
    """Refitting each grid choice with map "enet" on a split's training bins gives the grid's own
    test score: the workflow's model fits and the inter-animal ceiling solve the same problems
    (Lasso choices included; p > n is where coordinate descent stops short)."""
    from mec.mappers import make_map, pearson_columns

    X, Y = _data(n=n, p=p, T=6, seed=7)
    splits = generate_train_test_splits(n, train_frac=0.5, num_splits=3, split_start_seed=0)
    table = en.elasticnet_grid_search(X, Y, splits, SHORT_A, SHORT_L, progress=False)
    kinds = set()
    for row in table.itertuples():
        sp = splits[row.split]
        m = make_map("enet", alpha=row.alpha, l1_ratio=row.l1_ratio)
        m.fit(X[sp["train"]], Y[sp["train"], row.target])
        r = pearson_columns(Y[sp["test"], row.target], m.predict2d(X[sp["test"]])[:, 0])[0]
        if np.isnan(row.test_score):
            assert np.isnan(r)
        else:
            assert r == pytest.approx(row.test_score, abs=1e-8)
        kinds.add("lasso" if row.l1_ratio == 1 else "enet")
    assert kinds == {"lasso", "enet"}  # both kernels were exercised


@pytest.mark.parametrize("alpha,l1", [(1e-3, 0.3), (5.0, 1e-16), (0.5, 1.0)])
def test_enet_map_is_the_minimiser_for_every_target(alpha, l1):
    """Several targets in one fit: each column satisfies its KKT conditions, has the intercept
    of centred data, and predicts as X @ coef + intercept; with more bins than sources it is
    scikit-learn's ElasticNet run to convergence."""
    from mec.mappers import ExactElasticNetMap

    X, Y = _data(n=40, p=90, T=4, seed=3)
    m = ExactElasticNetMap(alpha=alpha, l1_ratio=l1).fit(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    lam1, lam2 = alpha * l1, alpha * (1 - l1)
    for t in range(Y.shape[1]):
        w = m.coef_[:, t]
        g = Xc.T @ (Yc[:, t] - Xc @ w) - lam2 * w
        nz = w != 0
        np.testing.assert_allclose(g[nz], lam1 * np.sign(w[nz]), rtol=1e-6, atol=1e-8)
        assert np.all(np.abs(g[~nz]) <= lam1 * (1 + 1e-6) + 1e-8)
    np.testing.assert_allclose(m.intercept_, Y.mean(0) - X.mean(0) @ m.coef_)
    np.testing.assert_allclose(m.predict(X), X @ m.coef_ + m.intercept_)
    Xs, Ys = _data(n=200, p=6, T=2, seed=5)
    mine = ExactElasticNetMap(alpha=alpha, l1_ratio=l1).fit(Xs, Ys)
    ref = _ref_fit(Xs, Ys, np.arange(200), alpha, l1)
    np.testing.assert_allclose(mine.coef_.T, ref, rtol=1e-7, atol=1e-9)


def test_enet_map_zero_above_alpha_max_and_refuses_bad_arguments():
    from mec.mappers import ExactElasticNetMap, MapParamError

    X, Y = _data(n=30, p=5, T=2, seed=2)
    big = ExactElasticNetMap(alpha=1e9, l1_ratio=0.5).fit(X, Y[:, 0])
    assert not big.coef_.any()
    np.testing.assert_allclose(big.predict(X), Y[:, 0].mean())  # 1-D y -> 1-D predictions
    for kwargs, name in (({"alpha": 0.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
                         ({"l1_ratio": 1.5}, "l1_ratio"), ({"l1_ratio": 0}, "l1_ratio")):
        with pytest.raises(MapParamError, match=name) as err:
            ExactElasticNetMap(**kwargs).fit(X, Y)
        assert err.value.param == name


def test_workflow_elasticnet_map_refits_exactly():
    """The workflow's map "elasticnet" (mec.fits.pipeline) is map "enet" with each cell's
    per-split choice, without scikit-learn's regression_type."""
    from mec.fits.pipeline import _elasticnet_map

    choices = pd.DataFrame({"cell_id": ["a", "a", "b", "b"], "split": [0, 1, 0, 1],
                            "alpha": [1.0, 1e-9, 10.0, 1.0], "l1_ratio": [0.5, 1.0, 1e-16, 0.1]})
    spec = _elasticnet_map(choices)
    assert spec["map_type"] == "enet"
    assert spec["map_kwargs_per_cell"]["a"] == [{"alpha": 1.0, "l1_ratio": 0.5},
                                               {"alpha": 1e-9, "l1_ratio": 1.0}]
