"""Baselines of Figure 2 (mec.baselines): shapes on the data's bins, place cells against an
independent DoG formula, NMF, the two-stage map (target animal never in stage one), export and
fit round trip."""

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter

from mec.baselines import (BASELINE_LAYERS, baseline_ratemaps, bin_centres, export_baseline,
                           nmf_ratemaps, place_cell_ratemaps, velocity_ratemaps)
from mec.fits.core import TABLE_COLUMNS, interanimal_scores
from mec.fits.two_stage import TWO_STAGE_LAYER, fit_two_stage, two_stage_fit_table, two_stage_maps
from mec.ratemaps import load_model_ratemaps, make_edges

# the data's edges come from the animals' extreme positions: a few mm inside the 1 m box and
# not the same on both axes (methods §3.2)
X_EDGES = make_edges(-0.49, 0.495)
Y_EDGES = make_edges(-0.48, 0.47)
NX, NY = len(X_EDGES) - 1, len(Y_EDGES) - 1


def ref_place_cells(points, n, box, sigma=0.12, surround=2.0):
    """methods §1.2 written out: centres uniform (x then y, seed 0), DoG of softmaxes, shifted by
    |min| and renormalised."""
    rng = np.random.default_rng(0)
    cx = rng.uniform(box[0], box[1], n)
    cy = rng.uniform(box[0], box[1], n)
    c = np.stack([cx, cy], -1)
    d2 = ((points[..., None, :] - c) ** 2).sum(-1)

    def sm(z):
        z = z - z.max(-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(-1, keepdims=True)

    a = sm(-d2 / (2 * sigma**2)) - sm(-d2 / (2 * surround * sigma**2))
    a = a + np.abs(a.min(-1, keepdims=True))
    return a / a.sum(-1, keepdims=True)


def test_bin_centres_follow_the_edges():
    c = bin_centres(X_EDGES, Y_EDGES)
    assert c.shape == (NX, NY, 2)
    np.testing.assert_allclose(c[3, 5], [(X_EDGES[3] + X_EDGES[4]) / 2, (Y_EDGES[5] + Y_EDGES[6]) / 2])


def test_place_cells_match_spec_formula_and_sum_to_one():
    maps = place_cell_ratemaps(X_EDGES, Y_EDGES, 1.0)[BASELINE_LAYERS["place_cells"]]
    assert maps.shape == (NX, NY, 512)
    assert np.all(maps >= 0)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-12)
    ref = ref_place_cells(bin_centres(X_EDGES, Y_EDGES), 512, (-0.5, 0.5))
    np.testing.assert_allclose(maps, ref, rtol=1e-9, atol=1e-12)
    # centres in the 2.2 m training box: same formula, other box; still probability vectors
    big = place_cell_ratemaps(X_EDGES, Y_EDGES, 1.0, baseline_arena=2.2, n_place_cells=64)["place_cells"]
    np.testing.assert_allclose(big, ref_place_cells(bin_centres(X_EDGES, Y_EDGES), 64, (-1.1, 1.1)),
                               rtol=1e-9, atol=1e-12)


def test_velocity_maps_shape_and_independent_binning():
    from mec.task import PlaceCells, TrajectoryGenerator

    v = velocity_ratemaps(X_EDGES, Y_EDGES, 1.0, n_batches=6, batch_size=100, sequence_length=20,
                          seeds=[3])["velocity"]
    assert v.shape == (NX, NY, 2)
    # independent: same batches, binned with np.histogram2d (positions clipped into the edges)
    pc = PlaceCells(n_cells=2, identity=True, min_x=-0.5, max_x=0.5, min_y=-0.5, max_y=0.5)
    gen = TrajectoryGenerator(pc, batch_size=100, sequence_length=20, min_x=-0.5, max_x=0.5,
                              min_y=-0.5, max_y=0.5, seed=3, dtype=np.float64)
    bs = [gen.batch(i, place_targets=False) for i in range(6)]
    pos = np.concatenate([b.positions.reshape(-1, 2) for b in bs])
    vel = np.concatenate([b.velocity.reshape(-1, 2) for b in bs])
    px = np.clip(pos[:, 0], X_EDGES[0], X_EDGES[-1] - 1e-12)
    py = np.clip(pos[:, 1], Y_EDGES[0], Y_EDGES[-1] - 1e-12)
    n, _, _ = np.histogram2d(px, py, [X_EDGES, Y_EDGES])
    for k in range(2):
        s, _, _ = np.histogram2d(px, py, [X_EDGES, Y_EDGES], weights=vel[:, k])
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(v[..., k], np.where(n > 0, s / n, np.nan), atol=1e-12)
    # the step that reached the east wall moved east, the west wall west (wall avoidance turns
    # the walker away only afterwards)
    assert np.nanmean(v[-1, :, 0]) > 0 > np.nanmean(v[0, :, 0])


def test_nmf_shapes_nonnegative_seeded_and_error_falls_with_components():
    errs = []
    for k in (2, 8, 32):
        maps, model = nmf_ratemaps(X_EDGES, Y_EDGES, 1.0, k, n_place_cells=64, seed=1, return_model=True)
        m = maps[BASELINE_LAYERS["nmf"]]
        assert m.shape == (NX, NY, k) and np.all(m >= 0)
        errs.append(model.reconstruction_err_)
    assert errs[0] > errs[1] > errs[2]
    again = nmf_ratemaps(X_EDGES, Y_EDGES, 1.0, 8, n_place_cells=64, seed=1)["nmf"]
    np.testing.assert_array_equal(again, nmf_ratemaps(X_EDGES, Y_EDGES, 1.0, 8, n_place_cells=64, seed=1)["nmf"])
    # fitted in the 2.2 m box, applied to the data's bins: W_data reconstructs the data arena's
    # place cells through the 2.2 m components
    m22, model22 = nmf_ratemaps(X_EDGES, Y_EDGES, 1.0, 32, baseline_arena=2.2, n_place_cells=64,
                                return_model=True)
    W = m22["nmf"]
    assert W.shape == (NX, NY, 32) and np.all(W >= 0)
    P = place_cell_ratemaps(X_EDGES, Y_EDGES, 1.0, baseline_arena=2.2, n_place_cells=64)["place_cells"]
    P = P.reshape(-1, 64)
    rec = W.reshape(-1, 32) @ model22.components_
    assert np.linalg.norm(rec - P) < 0.5 * np.linalg.norm(P - P.mean(0))


def test_baseline_dispatch_and_bad_input():
    m = baseline_ratemaps("nmf", {"n_components": 3, "n_place_cells": 16}, X_EDGES, Y_EDGES, 1.0)
    assert m["nmf"].shape == (NX, NY, 3)
    with pytest.raises(ValueError, match="n_components"):
        baseline_ratemaps("nmf", {}, X_EDGES, Y_EDGES, 1.0)
    with pytest.raises(ValueError, match="baseline kind"):
        baseline_ratemaps("pca", {}, X_EDGES, Y_EDGES, 1.0)
    with pytest.raises(ValueError, match="baseline_arena"):
        baseline_ratemaps("place_cells", {"baseline_arena": "big"}, X_EDGES, Y_EDGES, 1.0)


# ---------------------------------------------------------------------------------------------
# two-stage map
# ---------------------------------------------------------------------------------------------
def _animals(rng, shared: bool, n_animals=3, n_cells=6, nx=12, ny=10):
    """Animals whose cells mix shared smooth fields (shared=True) or are independent noise."""
    fields = np.stack([gaussian_filter(rng.standard_normal((nx, ny)), 2) for _ in range(5)], -1)
    data = {}
    for a in range(n_animals):
        if shared:
            resp = fields @ rng.standard_normal((5, n_cells)) + 0.05 * rng.standard_normal((nx, ny, n_cells))
        else:
            resp = rng.standard_normal((nx, ny, n_cells))
        data[f"m{a}"] = {"resp": resp, "cell_ids": np.array([f"m{a}_c{i}" for i in range(n_cells)]),
                         "cell_types": np.array(["heterogeneous"] * n_cells)}
    return data


def _one_hot(nx=12, ny=10):
    return np.eye(nx * ny).reshape(nx, ny, nx * ny)


MAPS = {"ridge": {"map_type": "sklinear", "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}}}


def test_two_stage_with_interpolating_stage_one_equals_holdout_interanimal():
    # one place cell per bin and a negligible penalty: stage one reproduces the other animals'
    # maps exactly, so the two-stage fit must equal the holdout inter-animal fit
    rng = np.random.default_rng(0)
    data = _animals(rng, shared=True)
    table = two_stage_fit_table(_one_hot(), {1.0: data}, 1.0, "pc_mec", MAPS, num_splits=3,
                                stage1_alphas=[1e-9], stage1_bins="all")
    assert list(table.columns) == TABLE_COLUMNS
    assert set(table["layer"]) == {TWO_STAGE_LAYER} and set(table["source"]) == {"pc_mec"}
    ref = interanimal_scores(data, map_type="sklinear", map_kwargs=MAPS["ridge"]["map_kwargs"],
                             mode="holdout", num_splits=3)
    for animal, sc in ref.items():
        got = table[table["animal"] == animal]["score"].to_numpy()
        np.testing.assert_allclose(got, sc, atol=1e-5)
    assert table["score"].median() > 0.8


def test_two_stage_never_uses_the_target_animal_in_stage_one():
    # independent noise per animal: only a leak of the target's own cells through stage one
    # (which interpolates every bin here) could predict them
    rng = np.random.default_rng(1)
    data = _animals(rng, shared=False)
    table = two_stage_fit_table(_one_hot(), {1.0: data}, 1.0, "pc_mec", MAPS, num_splits=3,
                                stage1_alphas=[1e-9], stage1_bins="all")
    assert abs(table["score"].mean()) < 0.15
    # the same pipeline with the target included in stage one would score ~1: check the
    # construction can detect a leak
    animal = "m0"
    src = np.concatenate([data[a]["resp"] for a in data], -1)  # includes m0
    leaked = two_stage_maps(_one_hot(), src, alphas=[1e-9])
    from mec.fits.core import fit_scores
    assert np.mean(fit_scores(leaked, data[animal]["resp"], num_splits=3)) > 0.9


def test_two_stage_train_mode_ignores_activity_at_test_bins():
    # stage one fitted per split on its training bins: changing the other animals' activity at
    # the test bins leaves a target's scores unchanged, while the "all" mode sees the change
    from mec.fits.splits import generate_train_test_splits

    rng = np.random.default_rng(4)
    data = _animals(rng, shared=True)
    place = place_cell_ratemaps(make_edges(-0.3, 0.3), make_edges(-0.25, 0.25), 0.6,
                                n_place_cells=40)["place_cells"]
    assert place.shape[:2] == (12, 10)
    test = generate_train_test_splits(120, num_splits=1, split_start_seed=0)[0]["test"]
    changed = {}
    for a, rec in data.items():
        resp = rec["resp"].reshape(120, -1).copy()
        resp[test] += 5.0 * rng.standard_normal((len(test), resp.shape[1]))
        changed[a] = dict(rec, resp=resp.reshape(rec["resp"].shape))

    def scores(d, target, mode):
        t = two_stage_fit_table(place, {1.0: d}, 1.0, "m", MAPS, num_splits=1, stage1_bins=mode)
        return t.loc[t["animal"] == target, "score"].to_numpy()

    for target in data:
        others_changed = {a: (data[a] if a == target else changed[a]) for a in data}
        np.testing.assert_allclose(scores(others_changed, target, "train"),
                                   scores(data, target, "train"), atol=1e-12)
        assert np.abs(scores(others_changed, target, "all") - scores(data, target, "all")).max() > 1e-3
    with pytest.raises(ValueError, match="stage1_bins"):
        two_stage_fit_table(place, {1.0: data}, 1.0, "m", MAPS, stage1_bins="test")


def test_two_stage_maps_fit_only_finite_bins():
    rng = np.random.default_rng(2)
    P = rng.random((6, 5, 4))
    W = rng.standard_normal((4, 3))
    S = P @ W
    S_nan = S.copy()
    S_nan[0, 0, 1] = np.nan  # an unvisited bin of one source cell
    out = two_stage_maps(P, S_nan, alphas=[1e-10])
    assert out.shape == (6, 5, 3) and np.isfinite(out).all()  # predicted everywhere
    np.testing.assert_allclose(out, S, atol=1e-5)  # exact linear relation recovered


# ---------------------------------------------------------------------------------------------
# export and fit round trip
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset_file(tmp_path_factory):
    from mec.data import save_dataset

    rng = np.random.default_rng(3)
    data = _animals(rng, shared=True, nx=NX, ny=NY)
    for rec in data.values():  # rates in Hz are never negative (the contract refuses them);
        rec["resp"] = rec["resp"] - rec["resp"].min()  # a constant shift leaves every fit alone
    path = tmp_path_factory.mktemp("ds") / "tiny.h5"
    save_dataset(path, {1.0: data}, edges={1.0: (X_EDGES, Y_EDGES)},
                 arenas={1.0: {"size": 1.0, "shape": "square"}}, attrs={"name": "tiny"})
    return path


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # tiny ElasticNet fits
def test_export_baseline_round_trip_and_fit(dataset_file, tmp_path):
    from mec.fits.pipeline import fit_model

    out = tmp_path / "vel_1.0.h5"
    export_baseline("velocity", {"name": "vel", "n_eval_batches": 3, "batch_size": 50,
                                 "sequence_length": 10}, dataset_file, 1.0, out, seed=[0, 1])
    maps, edges, attrs = load_model_ratemaps(out)
    assert list(maps) == ["velocity"] and maps["velocity"].shape == (NX, NY, 2)
    np.testing.assert_array_equal(edges[0], X_EDGES)
    np.testing.assert_array_equal(edges[1], Y_EDGES)
    assert attrs["baseline"] == "velocity" and attrs["model"] == "vel" and float(attrs["arena"]) == 1.0
    # the same fit stage as a trained model, using every layer of the file
    table = pd.read_csv(fit_model(dataset_file, out, "vel", 1.0, MAPS, tmp_path / "vel_1.0.csv",
                                  layers=None, num_splits=2))
    assert set(table["layer"]) == {"velocity"} and len(table) == 18

    pc_out = tmp_path / "pcmec_1.0.h5"
    export_baseline("place_cells_mec", {"name": "pcmec", "n_place_cells": 64}, dataset_file, 1.0, pc_out)
    maps, _, attrs = load_model_ratemaps(pc_out)
    np.testing.assert_allclose(maps["place_cells"].sum(-1), 1.0, atol=1e-6)  # stored as float32
    # per-cell ElasticNet choices of the inter-animal grid (methods §4.4) become map "elasticnet"
    from mec.data import load_dataset
    ds = load_dataset(dataset_file)
    en = pd.DataFrame([{"arena": 1.0, "animal": a, "cell_id": c, "split": sp, "alpha": 1e-3,
                        "l1_ratio": 0.5, "cv_score": 0.5, "test_score": 0.5}
                       for a, c, _ in ds.cells(1.0) for sp in range(2)])
    en.to_csv(tmp_path / "en.csv", index=False)
    t2 = pd.read_csv(fit_two_stage(dataset_file, pc_out, "pcmec", 1.0, MAPS, tmp_path / "pcmec.csv",
                                   num_splits=2, elasticnet_tables=[tmp_path / "en.csv"]))
    assert list(t2.columns) == TABLE_COLUMNS and len(t2) == 36
    assert set(t2["map"]) == {"ridge", "elasticnet"}
    assert set(t2["layer"]) == {TWO_STAGE_LAYER} and t2["score"].notna().all()
    assert t2.groupby("map")["score"].median().min() > 0.5  # shared fields: well predicted
