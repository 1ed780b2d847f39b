"""Neural fits (methods §4.2-4.5): exactness against a plain per-cell implementation, sanity, splits.

The reference below is written independently of mec.fits: plain loops, one scikit-learn model
per target cell and split, splits built from bin coordinates, np.corrcoef for the score.
"""

import math
import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import pearsonr
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import ElasticNet, Ridge

from mec.fits.core import (
    TABLE_COLUMNS,
    elasticnet_kwargs_per_cell,
    fit_scores,
    interanimal_scores,
    interanimal_table,
    model_fit_table,
    model_scores,
)
from mec.fits.splits import generate_train_test_splits
from mec.neural_fits.comparisons import get_fits
from mec.neural_fits.utils import unit_concat

NX, NY = 9, 8  # not square, so x and y cannot be confused


# --------------------------------------------------------------------------------------------
# independent reference
# --------------------------------------------------------------------------------------------
def ref_folds(kind, nx, ny):
    """(train mask, test mask) over the full grid, from bin coordinates."""
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    if kind == "quad":
        q = 2 * (ix >= nx // 2) + (iy >= ny // 2)
        return [(q != k, q == k) for k in range(4)]
    half = {
        "topbottom": ix < nx // 2,
        "leftright": iy < ny // 2,
        "diag1": iy >= ix,  # upper triangle incl. the diagonal
        "diag2": (ny - 1 - iy) >= ix,  # the same on the left-right mirror
    }[kind]
    return [(half, ~half), (~half, half)]


def ref_splits(n_bins, keep, train_frac, num_splits, seed, grid):
    """List of (train, test) index arrays into the kept bins."""
    kept = np.flatnonzero(keep)
    if isinstance(train_frac, str):
        out = []
        for tr, te in ref_folds(train_frac, *grid):
            a = [i for i, b in enumerate(kept) if tr[b]]
            c = [i for i, b in enumerate(kept) if te[b]]
            if a and c:
                out.append((np.array(a), np.array(c)))
        return out
    out = []
    for s in range(num_splits):
        perm = np.random.RandomState(seed + s).permutation(len(kept))
        k = math.ceil(train_frac * len(kept))
        out.append((perm[:k], perm[k:]))
    return out


def ref_predict(map_type, X_tr, y_tr, X_te, kw):
    """One target: fit on train, predict test, with plain scikit-learn / numpy."""
    if map_type == "corr":
        rs = [np.corrcoef(X_tr[:, i], y_tr)[0, 1] for i in range(X_tr.shape[1])]
        best = max(range(len(rs)), key=lambda i: (rs[i], -i))  # highest r, first of ties
        return X_te[:, best]
    if map_type == "ridge":
        return Ridge(alpha=kw.get("alpha", 1.0)).fit(X_tr, y_tr).predict(X_te)
    if map_type == "elasticnet":
        est = ElasticNet(alpha=kw["alpha"] / X_tr.shape[0], l1_ratio=kw["l1_ratio"])
        return est.fit(X_tr, y_tr).predict(X_te)
    if map_type == "pls_per_target":
        return PLSRegression(n_components=kw["n_components"], scale=False).fit(X_tr, y_tr).predict(X_te).ravel()
    raise AssertionError(map_type)


def pearson_r(a, b):
    """scipy's Pearson r, NaN for a constant input (the original's score)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pearsonr(a, b)[0]


def ref_scores(source, target, map_type, train_frac=0.2, num_splits=3, seed=0, kw_per_cell=None, kw=None):
    """Per-cell mean Pearson r over splits; kw_per_cell[j][s] overrides kw."""
    nx, ny = target.shape[:2]
    X = source.reshape(nx * ny, -1)
    Y = target.reshape(nx * ny, -1)
    keep = np.array([np.all(np.isfinite(X[b])) and np.all(np.isfinite(Y[b])) for b in range(nx * ny)])
    Xk, Yk = X[keep], Y[keep]
    splits = ref_splits(nx * ny, keep, train_frac, num_splits, seed, (nx, ny))
    out = []
    for j in range(Y.shape[1]):
        rs = []
        for s, (tr, te) in enumerate(splits):
            if map_type == "pls_joint":  # PLS on all targets at once is the defined algorithm
                pred = PLSRegression(n_components=kw["n_components"], scale=False).fit(Xk[tr], Yk[tr]).predict(Xk[te])[:, j]
            else:
                pred = ref_predict(map_type, Xk[tr], Yk[tr, j], Xk[te], kw_per_cell[j][s] if kw_per_cell else (kw or {}))
            rs.append(pearson_r(pred, Yk[te, j]))
        out.append(np.nanmean(rs))
    return np.array(out)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def smooth_maps(rng, n, nx=NX, ny=NY, sigma=1.5):
    return gaussian_filter(rng.standard_normal((nx, ny, n)), (sigma, sigma, 0))


def make_dataset(seed=0, n_animals=3, n_cells=4, nan_bins=True, noise_animal=None):
    """Animals sharing a latent population (so they predict each other), dict contract form."""
    rng = np.random.default_rng(seed)
    latent = smooth_maps(rng, 6)
    ds = {}
    for a in range(n_animals):
        if a == noise_animal:
            resp = rng.standard_normal((NX, NY, n_cells))  # unique noise: no other animal has it
        else:
            w = rng.standard_normal((6, n_cells))
            resp = latent @ w + 0.1 * rng.standard_normal((NX, NY, n_cells))
        if nan_bins:
            resp[0, 0, :] = np.nan  # a corner outside the arena, in every animal
            resp[rng.integers(NX), rng.integers(NY), :] = np.nan  # an unvisited bin
        ds[f"m{a}"] = {
            "resp": resp,
            "cell_ids": np.array([f"m{a}_cell{j}" for j in range(n_cells)]),
            "cell_types": np.array(["grid", "border", "heterogeneous", "grid"][:n_cells] + ["grid"] * (n_cells - 4)),
        }
    return {1.0: ds}


def holdout_source(arena, animal):
    return np.concatenate([arena[a]["resp"] for a in arena if a != animal], axis=-1)


# --------------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,frac", [(400, 0.2), (71, 0.2), (10, 0.5), (7, 0.7)])  # 1.0: refused (no bin left to test)
def test_random_splits_invariants(n, frac):
    sp = generate_train_test_splits(n, train_frac=frac, num_splits=4, split_start_seed=3)
    assert len(sp) == 4
    for s, d in enumerate(sp):
        assert len(d["train"]) == math.ceil(frac * n)
        assert np.intersect1d(d["train"], d["test"]).size == 0
        np.testing.assert_array_equal(np.sort(np.concatenate([d["train"], d["test"]])), np.arange(n))
        # exactly the original's recipe (methods §4.2)
        perm = np.random.RandomState(3 + s).permutation(n)
        np.testing.assert_array_equal(d["train"], perm[: math.ceil(frac * n)])
    again = generate_train_test_splits(n, train_frac=frac, num_splits=4, split_start_seed=3)
    for a, b in zip(sp, again):
        np.testing.assert_array_equal(a["train"], b["train"])
    other = generate_train_test_splits(n, train_frac=frac, num_splits=1, split_start_seed=4)
    np.testing.assert_array_equal(other[0]["train"], sp[1]["train"])


def test_random_splits_over_kept_bins():
    valid = np.ones(50, bool)
    valid[[3, 7, 30]] = False
    sp = generate_train_test_splits(50, train_frac=0.2, num_splits=2, valid=valid)
    for d in sp:
        assert len(d["train"]) == math.ceil(0.2 * 47)
        np.testing.assert_array_equal(np.sort(np.concatenate([d["train"], d["test"]])), np.arange(47))


@pytest.mark.parametrize("kind", ["topbottom", "leftright", "diag1", "diag2", "quad"])
def test_structured_splits_match_coordinates_with_and_without_nan(kind):
    rng = np.random.default_rng(0)
    valid = rng.random(NX * NY) > 0.2
    for v in (None, valid):
        sp = generate_train_test_splits(NX * NY, train_frac=kind, grid_shape=(NX, NY), valid=v)
        keep = np.ones(NX * NY, bool) if v is None else v
        ref = ref_splits(NX * NY, keep, kind, 0, 0, (NX, NY))
        assert len(sp) == len(ref) == (4 if kind == "quad" else 2)
        for d, (tr, te) in zip(sp, ref):
            np.testing.assert_array_equal(np.sort(d["train"]), tr)
            np.testing.assert_array_equal(np.sort(d["test"]), te)
            assert np.intersect1d(d["train"], d["test"]).size == 0
            assert len(d["train"]) + len(d["test"]) == keep.sum()


def test_structured_split_with_empty_fold_is_skipped_with_warning():
    valid = np.zeros((NX, NY), bool)
    valid[NX // 2 :, :] = True  # only the bottom half has data: the top half is empty
    with pytest.warns(UserWarning, match="skipping"):
        sp = generate_train_test_splits(NX * NY, "quad", grid_shape=(NX, NY), valid=valid.ravel())
    assert len(sp) == 2  # the two bottom quadrants can still be held out
    with pytest.warns(UserWarning):
        with pytest.raises(ValueError, match="every fold has fewer than 2 train or test bins"):
            generate_train_test_splits(NX * NY, "topbottom", grid_shape=(NX, NY), valid=valid.ravel())


def test_split_input_errors():
    with pytest.raises(ValueError, match="train_frac"):
        generate_train_test_splits(10, train_frac=0.0)
    with pytest.raises(ValueError, match="structured split"):
        generate_train_test_splits(16, train_frac="nope")
    with pytest.raises(ValueError, match="perfect square"):
        generate_train_test_splits(10, train_frac="quad")
    with pytest.raises(ValueError, match="valid"):
        generate_train_test_splits(10, valid=np.ones(9, bool))


# --------------------------------------------------------------------------------------------
# exactness
# --------------------------------------------------------------------------------------------
CASES = [
    ("sklinear", {}, "ridge", None),
    ("sklinear", {"alpha": 10.0}, "ridge", {"alpha": 10.0}),
    ("corr", {}, "corr", None),
    ("pls", {"n_components": 2}, "pls_joint", {"n_components": 2}),
    ("pls", {"n_components": 2, "fit_per_target_unit": True}, "pls_per_target", {"n_components": 2}),
]


@pytest.mark.parametrize("map_type,map_kwargs,ref_type,ref_kw", CASES)
@pytest.mark.parametrize("train_frac", [0.3, "quad", "diag2"])
def test_holdout_exact(map_type, map_kwargs, ref_type, ref_kw, train_frac):
    arena = make_dataset(seed=1)[1.0]
    ours = interanimal_scores(arena, map_type, map_kwargs, mode="holdout", train_frac=train_frac,
                              num_splits=3, split_start_seed=5)
    for animal in arena:
        ref = ref_scores(holdout_source(arena, animal), arena[animal]["resp"], ref_type,
                         train_frac=train_frac, num_splits=3, seed=5, kw=ref_kw)
        np.testing.assert_allclose(ours[animal], ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("map_type,map_kwargs,ref_type,ref_kw", CASES[::2])
def test_pairwise_exact(map_type, map_kwargs, ref_type, ref_kw):
    arena = make_dataset(seed=2)[1.0]
    ours = interanimal_scores(arena, map_type, map_kwargs, mode="pairwise", num_splits=3)
    for animal in arena:
        per = [ref_scores(arena[a]["resp"], arena[animal]["resp"], ref_type, kw=ref_kw)
               for a in arena if a != animal]
        np.testing.assert_allclose(ours[animal], np.nanmean(per, axis=0), atol=1e-6, rtol=0)


@pytest.mark.parametrize("train_frac", [0.25, "leftright"])
def test_elasticnet_per_cell_per_split_exact(train_frac):
    arena = make_dataset(seed=3)[1.0]
    rng = np.random.default_rng(0)
    n_splits = 3 if not isinstance(train_frac, str) else 2
    per_cell, ref_kw = {}, {}
    for animal, rec in arena.items():
        ref_kw[animal] = []
        for cid in rec["cell_ids"]:
            # a few repeated choices, so that grouping cells by kwargs is exercised
            kws = [{"regression_type": "ElasticNet", "alpha": float(rng.choice([0.1, 1.0, 10.0])),
                    "l1_ratio": float(rng.choice([0.1, 0.9]))} for _ in range(n_splits)]
            per_cell[str(cid)] = kws
            ref_kw[animal].append(kws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ElasticNet convergence warnings on tiny data
        ours = interanimal_scores(arena, "sklinear", {}, train_frac=train_frac, num_splits=3,
                                  map_kwargs_per_cell=per_cell)
        for animal in arena:
            ref = ref_scores(holdout_source(arena, animal), arena[animal]["resp"], "elasticnet",
                             train_frac=train_frac, num_splits=3, kw_per_cell=ref_kw[animal])
            np.testing.assert_allclose(ours[animal], ref, atol=1e-6, rtol=0)
        # one dict per cell (all splits alike) and the original's {"map_kwargs": ...} form
        one = {c: v[0] for c, v in per_cell.items()}
        wrapped = {c: {"map_kwargs": v[0]} for c, v in per_cell.items()}
        a = interanimal_scores(arena, "sklinear", {}, train_frac=train_frac, num_splits=3, map_kwargs_per_cell=one)
        b = interanimal_scores(arena, "sklinear", {}, train_frac=train_frac, num_splits=3, map_kwargs_per_cell=wrapped)
        animal = "m0"
        ref = ref_scores(holdout_source(arena, animal), arena[animal]["resp"], "elasticnet",
                         train_frac=train_frac, num_splits=3,
                         kw_per_cell=[[one[str(c)]] * n_splits for c in arena[animal]["cell_ids"]])
        np.testing.assert_allclose(a[animal], ref, atol=1e-6, rtol=0)
        np.testing.assert_allclose(b[animal], ref, atol=1e-6, rtol=0)


def test_elasticnet_choices_table_to_per_cell():
    table = pd.DataFrame({"cell_id": ["a", "a", "b", "b"], "split": [1, 0, 0, 1],
                          "alpha": [2.0, 1.0, 3.0, 4.0], "l1_ratio": [0.5, 0.1, 0.2, 0.3]})
    out = elasticnet_kwargs_per_cell(table)
    assert out["a"] == [{"regression_type": "ElasticNet", "alpha": 1.0, "l1_ratio": 0.1},
                        {"regression_type": "ElasticNet", "alpha": 2.0, "l1_ratio": 0.5}]
    with pytest.raises(ValueError, match="splits"):
        elasticnet_kwargs_per_cell(table[table.split == 1])


def test_missing_per_cell_entry_raises():
    arena = make_dataset()[1.0]
    with pytest.raises(ValueError, match="no entry"):
        interanimal_scores(arena, "sklinear", map_kwargs_per_cell={"m0_cell0": {}}, num_splits=2)


def test_model_fit_exact_grouped_and_seed_copies():
    data = make_dataset(seed=4)
    arena = data[1.0]
    rng = np.random.default_rng(9)
    model = smooth_maps(rng, 12)
    model[2, 3, :] = np.nan  # a bin the model never visited
    ours = model_scores(model, arena, "sklinear", {}, num_splits=3)
    for animal in arena:
        ref = ref_scores(model, arena[animal]["resp"], "ridge", num_splits=3)
        np.testing.assert_allclose(ours[animal], ref, atol=1e-6, rtol=0)
    # two seeds stacked along bins: splits over grid bins, both copies of a bin on one side
    other = smooth_maps(rng, 12)
    stacked = model_scores([model, other], arena, "sklinear", {}, num_splits=2)
    target = arena["m1"]["resp"]
    nb = NX * NY
    X = np.stack([model.reshape(nb, -1), other.reshape(nb, -1)])
    Y = target.reshape(nb, -1)
    keep = np.isfinite(X).all(axis=(0, 2)) & np.isfinite(Y).all(axis=1)
    Xk, Yk = X[:, keep], Y[keep]
    for j in range(Y.shape[1]):
        rs = []
        for tr, te in ref_splits(nb, keep, 0.2, 2, 0, (NX, NY)):
            fit = Ridge(alpha=1.0).fit(np.concatenate([Xk[0, tr], Xk[1, tr]]), np.concatenate([Yk[tr, j]] * 2))
            pred = fit.predict(np.concatenate([Xk[0, te], Xk[1, te]]))
            rs.append(pearson_r(pred, np.concatenate([Yk[te, j]] * 2)))
        assert abs(stacked["m1"][j] - np.mean(rs)) < 1e-6


# --------------------------------------------------------------------------------------------
# sanity
# --------------------------------------------------------------------------------------------
def test_data_fitted_to_itself_gives_one():
    rec = make_dataset(seed=5)[1.0]["m0"]
    assert np.allclose(fit_scores(rec["resp"], rec["resp"], "corr", num_splits=3), 1.0)
    maps = 10 * smooth_maps(np.random.default_rng(5), 10, nx=20, ny=20)  # rates of a few Hz
    assert np.all(fit_scores(maps, maps, "sklinear", num_splits=3) > 0.99)


def test_permuted_bins_give_about_zero():
    rng = np.random.default_rng(6)
    target = rng.standard_normal((20, 20, 30))
    source = target.reshape(400, 30)[rng.permutation(400)]
    for mt in ("sklinear", "corr"):
        sc = fit_scores(source, target, mt, num_splits=3)
        assert abs(np.median(sc)) < 0.1, (mt, np.median(sc))


def test_holdout_never_uses_the_target_animal():
    # m2's cells are noise that no other animal shares: if m2 were among its own sources it
    # would score ~1 (see test above); held out, it scores ~0 while the others score high.
    rng = np.random.default_rng(7)
    shared = smooth_maps(rng, 5, nx=20, ny=20)
    arena = {}
    for a in range(4):
        resp = rng.standard_normal((20, 20, 5))  # unique noise
        if a != 2:  # every other animal records the same 5 cells, plus a little noise
            resp = shared + 0.05 * resp
        arena[f"m{a}"] = {"resp": resp, "cell_ids": np.array([f"m{a}_{j}" for j in range(5)])}
    for mt in ("sklinear", "corr"):
        sc = interanimal_scores(arena, mt, num_splits=3)
        assert abs(np.median(sc["m2"])) < 0.2, np.median(sc["m2"])
        for a in ("m0", "m1", "m3"):
            assert np.median(sc[a]) > 0.9, (a, np.median(sc[a]))


def test_edge_mismatch_refused():
    from mec.data import Dataset
    from mec.ratemaps import EdgeMismatchError

    data = make_dataset()
    edges = (np.linspace(-0.5, 0.5, NX + 1), np.linspace(-0.5, 0.5, NY + 1))
    ds = Dataset(data, edges={1.0: edges})
    maps = {"ridge": {"map_type": "sklinear", "map_kwargs": {}}}
    model = {"g": smooth_maps(np.random.default_rng(0), 5)}
    bad = (np.linspace(-0.55, 0.55, NX + 1), edges[1])
    with pytest.raises(EdgeMismatchError):
        model_fit_table(model, ds, 1.0, "toy", maps, model_edges=bad, num_splits=2, progress=False)
    with pytest.raises(EdgeMismatchError):
        get_fits(ds, arena_sizes=[1.0], model_resp=model["g"], model_edges=bad, num_splits=2)
    ok = model_fit_table(model, ds, 1.0, "toy", maps, model_edges=edges, num_splits=2, progress=False)
    assert len(ok) == 12


# --------------------------------------------------------------------------------------------
# tables and the original API
# --------------------------------------------------------------------------------------------
def test_tables_are_tidy_and_match_scores():
    data = make_dataset(seed=8)
    maps = {"ridge": {"map_type": "sklinear", "map_kwargs": {}}, "corr": {"map_type": "corr"}}
    for mode in ("holdout", "pairwise"):
        t = interanimal_table(data, 1.0, maps, mode=mode, num_splits=2, progress=False)
        assert list(t.columns) == TABLE_COLUMNS
        assert len(t) == 3 * 4 * 2
        assert set(t["source"]) == {f"interanimal_{mode}"} and set(t["layer"]) == {"-"}
        ref = interanimal_scores(data[1.0], "corr", mode=mode, num_splits=2)
        sub = t[(t["map"] == "corr") & (t["animal"] == "m1")]
        np.testing.assert_allclose(sub["score"], ref["m1"], atol=1e-12)
        assert list(sub["cell_id"]) == list(data[1.0]["m1"]["cell_ids"])
        assert list(sub["cell_type"]) == list(data[1.0]["m1"]["cell_types"])
    rng = np.random.default_rng(1)
    layers = {"pre_g": smooth_maps(rng, 6), "g": smooth_maps(rng, 6), "dc": smooth_maps(rng, 6)}
    f = model_fit_table(layers, data, 1.0, "toy", maps, layers=["g", "dc"], num_splits=2, progress=False)
    assert list(f.columns) == TABLE_COLUMNS and len(f) == 2 * 2 * 12
    assert set(f["layer"]) == {"g", "dc"} and set(f["source"]) == {"toy"}
    ref = model_scores(layers["g"], data[1.0], "sklinear", num_splits=2)
    sub = f[(f["layer"] == "g") & (f["map"] == "ridge") & (f["animal"] == "m2")]
    np.testing.assert_allclose(sub["score"], ref["m2"], atol=1e-12)


def test_readme_snippets_run():
    dataset = make_dataset(seed=9)
    results = get_fits(
        dataset=dataset,
        arena_sizes=list(dataset.keys()),
        interanimal_mode="holdout",
        map_type="sklinear",
        map_kwargs={},
        train_frac=0.2,
    )
    ARENA_SIZE = 1.0
    med = np.median(unit_concat(results, arena_size=ARENA_SIZE, inner_key="corr"))
    ref = np.median(np.concatenate(list(interanimal_scores(dataset[1.0]).values())))
    assert abs(med - ref) < 1e-12
    corr = results[1.0]["m0"]["corr"]
    assert list(corr["units"].values) == list(dataset[1.0]["m0"]["cell_ids"])  # xarray, as the original
    model_resp = smooth_maps(np.random.default_rng(2), 8)
    model_results = get_fits(dataset=dataset, model_resp=model_resp, arena_sizes=[1.0],
                             map_type="sklinear", map_kwargs={}, train_frac=0.2)
    np.testing.assert_allclose(model_results[1.0]["m2"]["corr"].to_numpy(),
                               ref_scores(model_resp, dataset[1.0]["m2"]["resp"], "ridge", num_splits=10),
                               atol=1e-6)


def test_get_fits_with_model_uses_data_edges_and_each_seed(monkeypatch):
    from mec.data import Dataset

    calls = []
    rng = np.random.default_rng(3)
    layer_maps = {s: smooth_maps(rng, 5) for s in (0, 1)}

    def fake_model_ratemaps(model, cfg, x_edges, y_edges, n_batches, seeds, **kw):
        calls.append((np.asarray(x_edges), np.asarray(y_edges), n_batches, list(seeds)))
        return {"pre_g": None, "g": layer_maps[seeds[0]], "dc": None}

    fake = types.ModuleType("mec.models.export")
    fake.model_ratemaps = fake_model_ratemaps
    monkeypatch.setitem(sys.modules, "mec.models.export", fake)
    edges = (np.linspace(-0.5, 0.5, NX + 1), np.linspace(-0.45, 0.45, NY + 1))
    ds = Dataset(make_dataset(seed=10), edges={1.0: edges})
    cfg = types.SimpleNamespace(box_width=1.0, box_height=1.0)
    res = get_fits(ds, arena_sizes=[1.0], model=object(), cfg=cfg, trajectory_seed=[0, 1],
                   n_eval_seq=3, num_splits=2)
    assert [c[3] for c in calls] == [[0], [1]] and all(c[2] == 3 for c in calls)
    np.testing.assert_array_equal(calls[0][0], edges[0])
    np.testing.assert_array_equal(calls[0][1], edges[1])
    ref = model_scores([layer_maps[0], layer_maps[1]], ds[1.0], num_splits=2)
    np.testing.assert_allclose(res[1.0]["m0"]["corr"].to_numpy(), ref["m0"], atol=1e-12)
    with pytest.raises(ValueError, match="box_width"):
        get_fits(ds, arena_sizes=[1.0], model=object(), cfg=types.SimpleNamespace(box_width=2.2, box_height=2.2))


def test_get_fits_with_a_model_in_a_word_named_arena(monkeypatch):
    """get_fits(model=...) goes through model_ratemaps and model_fit_table (one path for both): a
    word-named rectangle works (it used to fail on float("wide")), a cfg box of another size
    is refused naming the arena's sides, and a plain dict cannot tell a word's shape."""
    from mec.data import Dataset

    rng = np.random.default_rng(5)
    maps = smooth_maps(rng, 6)

    def fake_model_ratemaps(model, cfg, x_edges, y_edges, n_batches, seeds, **kw):
        assert (len(x_edges) - 1, len(y_edges) - 1) == (NX, NY)
        return {"pre_g": None, "g": maps, "dc": None}

    fake = types.ModuleType("mec.models.export")
    fake.model_ratemaps = fake_model_ratemaps
    monkeypatch.setitem(sys.modules, "mec.models.export", fake)
    data = make_dataset(seed=12)
    edges = (np.linspace(-0.45, 0.45, NX + 1), np.linspace(-0.4, 0.4, NY + 1))
    ds = Dataset({"wide": data[1.0]}, edges={"wide": edges},
                 arenas={"wide": {"shape": "rectangle", "width": 0.9, "height": 0.8}})
    cfg = types.SimpleNamespace(box_width=0.9, box_height=0.8)
    res = get_fits(ds, model=object(), cfg=cfg, n_eval_seq=2, num_splits=2)
    assert list(res) == ["wide"]
    ref = model_fit_table({"g": [maps]}, ds, "wide", "m", {"r": {"map_type": "sklinear"}},
                          num_splits=2, progress=False)
    got = np.concatenate([res["wide"][a]["corr"].to_numpy() for a in data[1.0]])
    np.testing.assert_array_equal(got, ref["score"].to_numpy())
    with pytest.raises(ValueError, match=r"cfg.box_height=0.9 m but the data's arena 'wide' is "
                                         r"0.9 x 0.8 m"):
        get_fits(ds, model=object(), cfg=types.SimpleNamespace(box_width=0.9, box_height=0.9))
    with pytest.raises(ValueError, match=r"arena 'wide' of a plain dict dataset has no geometry"):
        get_fits({"wide": data[1.0]}, model=object(), cfg=cfg, nbins=(NX,))


def test_per_cell_kwargs_joint_pls_fits_each_cell_alone_and_model_elasticnet_exact():
    data = make_dataset(seed=11)
    arena = data[1.0]
    rng = np.random.default_rng(1)
    per_cell = {str(c): {"n_components": int(rng.integers(1, 3))} for r in arena.values() for c in r["cell_ids"]}
    ours = interanimal_scores(arena, "pls", {}, num_splits=2, map_kwargs_per_cell=per_cell)
    ref = ref_scores(holdout_source(arena, "m1"), arena["m1"]["resp"], "pls_per_target", num_splits=2,
                     kw_per_cell=[[per_cell[str(c)]] * 2 for c in arena["m1"]["cell_ids"]])
    np.testing.assert_allclose(ours["m1"], ref, atol=1e-6, rtol=0)
    # model fit with per-cell ElasticNet choices (animals fitted together when bins agree)
    en = {str(c): {"regression_type": "ElasticNet", "alpha": float(rng.choice([0.5, 5.0])), "l1_ratio": 0.5}
          for r in arena.values() for c in r["cell_ids"]}
    model = smooth_maps(rng, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = model_scores(model, arena, "sklinear", {}, num_splits=2, map_kwargs_per_cell=en)
        for animal in arena:
            ref = ref_scores(model, arena[animal]["resp"], "elasticnet", num_splits=2,
                             kw_per_cell=[[en[str(c)]] * 2 for c in arena[animal]["cell_ids"]])
            np.testing.assert_allclose(got[animal], ref, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="dict"):
        model_scores(model, arena, map_kwargs_per_cell=[{}] * 4)
