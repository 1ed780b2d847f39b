"""Blocked splits, fit settings, noise floors and their validation on the embedded data
(methods §7.2, §7.3)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from mec.data import Dataset, save_dataset
from mec.data.synthetic import simulate_dataset
from mec.fits.core import model_fit_table
from mec.fits.floors import CONTROLS, control_counts, floor_scores, floor_table
from mec.fits.pipeline import fit_model, floors, interanimal
from mec.fits.settings import (
    check_fit_settings,
    dataset_for,
    make_settings,
    model_maps_for,
    resolve_split,
)
from mec.fits.splits import blocks_split, generate_train_test_splits, parse_blocks
from mec.ratemaps import (
    PAPER,
    ROBUST,
    RecipeMismatchError,
    rates_from_counts,
    save_model_ratemaps,
    smooth_model_maps,
)

RIDGE = {"map_type": "sklinear", "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}}


# ----------------------------------------------------------------------------- blocked splits
@pytest.mark.parametrize("nx,ny,k,g", [(9, 7, 2, 1), (20, 20, 3, 3), (12, 17, 4, 0)])
def test_blocks_match_rectangles_and_guard_band(nx, ny, k, g):
    """Independent reference: blocks from the cut points round(linspace(0, n, k + 1)), test =
    kept bins of the block, train = kept bins farther than g (Chebyshev) from the block."""
    rng = np.random.default_rng(0)
    valid = rng.random(nx * ny) > 0.15
    kept = np.flatnonzero(valid)
    ix, iy = np.divmod(kept, ny)                      # grid coordinates of the kept bins
    xb = np.round(np.linspace(0, nx, k + 1)).astype(int)
    yb = np.round(np.linspace(0, ny, k + 1)).astype(int)
    ref = []
    for i in range(k):
        for j in range(k):
            dx = np.maximum(np.maximum(xb[i] - ix, ix - (xb[i + 1] - 1)), 0)
            dy = np.maximum(np.maximum(yb[j] - iy, iy - (yb[j + 1] - 1)), 0)
            dist = np.maximum(dx, dy)
            test, train = np.flatnonzero(dist == 0), np.flatnonzero(dist > g)
            if test.size and train.size:
                ref.append((train, test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a fold may lose all its train bins
        sp = generate_train_test_splits(nx * ny, blocks_split(k, g), grid_shape=(nx, ny),
                                        valid=valid)
    assert len(sp) == len(ref) > 0
    for d, (train, test) in zip(sp, ref):
        np.testing.assert_array_equal(np.sort(d["test"]), test)
        np.testing.assert_array_equal(np.sort(d["train"]), train)


def test_blocks_cover_every_bin_once_without_nan():
    sp = generate_train_test_splits(20 * 20, blocks_split(3, 3), grid_shape=(20, 20))
    assert len(sp) == 9
    np.testing.assert_array_equal(np.sort(np.concatenate([d["test"] for d in sp])), np.arange(400))
    assert parse_blocks("blocks") == (3, 4)
    assert generate_train_test_splits(400, "blocks", grid_shape=(20, 20))[0]["train"].size == \
        generate_train_test_splits(400, blocks_split(3, 4), grid_shape=(20, 20))[0]["train"].size


@pytest.mark.parametrize("bad,match", [("blocks:k=1,g=2", "k=1"), ("blocks:k=3", "blocks:k=3"),
                                       ("blocksy", "blocksy"), ("blocks:k=3,g=-1", "guard_bins=-1")])
def test_bad_block_specs_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        generate_train_test_splits(400, bad, grid_shape=(20, 20))
    with pytest.raises(ValueError, match="k=5 blocks per axis do not fit a grid of 4 x 9"):
        generate_train_test_splits(36, blocks_split(5, 0), grid_shape=(4, 9))


# ----------------------------------------------------------------------------- settings
def test_settings_resolve_the_guard_band_and_refuse_a_narrow_one():
    s = make_settings(0.2, robust=True, blocks={"k": 4, "guard_bins": None})
    assert s["paper"].recipe == PAPER and s["paper"].train_frac == 0.2
    assert s["robust"].recipe == ROBUST and s["robust"].train_frac == "blocks:k=4,g=3"
    assert resolve_split("blocks", PAPER, {}) == "blocks:k=3,g=4"
    with pytest.raises(ValueError, match=r"guard band of 2 bin\(s\).*radius.*3 bins.*"
                                         r"fits.blocks.guard_bins >= 3"):
        check_fit_settings({"train_frac": 0.2, "robust": True, "blocks": {"k": 3, "guard_bins": 2}})
    with pytest.raises(ValueError, match="fits.train_frac.*guard band of 3"):
        check_fit_settings({"train_frac": "blocks", "robust": False, "blocks": {"guard_bins": 3}})
    with pytest.raises(ValueError, match="unknown key.*'size'"):
        make_settings(0.2, blocks={"size": 2})


def _small_dataset(seed=3, n_animals=3):
    return simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=n_animals,
                            cells_per_animal=(6, 8), session_min=4.0, bin_cm=10.0, seed=seed,
                            progress=False)


def test_dataset_for_rebuilds_maps_and_refuses_without_counts():
    ds = _small_dataset()
    same = dataset_for(ds, 1.0, PAPER)
    assert all(same[1.0][a]["resp"] is ds[1.0][a]["resp"] for a in ds[1.0])
    rob = dataset_for(ds, 1.0, ROBUST)
    assert rob.recipes[1.0] == ROBUST
    for a, rec in ds[1.0].items():
        want = rates_from_counts(ds.spike_counts[1.0][a], ds.occupancy[1.0][a], ROBUST,
                                 mask=np.isfinite(rec["resp"]))
        assert np.array_equal(rob[1.0][a]["resp"], want, equal_nan=True)
        assert list(rob[1.0][a]["cell_ids"]) == list(rec["cell_ids"])
    bare = Dataset({1.0: ds[1.0]}, edges=ds.edges)   # an old file: no counts, no recipe
    assert dataset_for(bare, 1.0, PAPER)[1.0]["m01"]["resp"] is ds[1.0]["m01"]["resp"]
    with pytest.raises(ValueError, match=r"old\.h5 arena 1\.0 animal m01.*fits\.robust: false"):
        dataset_for(bare, 1.0, ROBUST, where="old.h5")


def test_model_maps_for_and_recipe_mismatch_refused():
    rng = np.random.default_rng(1)
    maps = {"g": rng.random((10, 10, 5))}
    counts = rng.integers(1, 9, (10, 10)).astype(float)
    assert model_maps_for(maps, counts, None, PAPER)["g"] is maps["g"]
    np.testing.assert_array_equal(model_maps_for(maps, counts, PAPER, ROBUST)["g"],
                                  smooth_model_maps(maps["g"], counts, ROBUST))
    with pytest.raises(RecipeMismatchError, match="smoothed with recipe 'robust'"):
        model_maps_for(maps, counts, ROBUST, PAPER, where="x.h5")
    ds = _small_dataset()
    with pytest.raises(RecipeMismatchError, match=r"model m rate maps vs dataset arena 1\.0"):
        model_fit_table({"g": maps["g"]}, ds, 1.0, "m", {"ridge": RIDGE}, model_recipe=ROBUST)


# ----------------------------------------------------------------------------- controls
def test_controls_keep_rates_and_path_but_not_places():
    rng = np.random.default_rng(2)
    occ = np.stack([rng.uniform(0, 2, (6, 5))] * 2 + [rng.uniform(0, 2, (6, 5))], axis=-1)
    occ[0, 0, :2] = 0.0
    counts = rng.poisson(4.0 * occ).astype(float)
    mask = np.ones(occ.shape, bool)
    # poisson: expected counts = the cell's mean rate x time, whatever the bin
    draws = np.stack([control_counts("poisson", counts, occ, mask, np.random.default_rng(s))[0]
                      for s in range(400)])
    rate = counts.sum((0, 1)) / occ.sum((0, 1))
    np.testing.assert_allclose(draws.mean(0), rate * occ, atol=0.5)
    # permuted: each session's visited (counts, time) pairs moved together
    c, o, m = control_counts("permuted", counts, occ, mask, np.random.default_rng(0))
    assert not np.array_equal(c, counts)
    for cell in range(3):
        pairs = sorted(zip(counts[..., cell].ravel(), occ[..., cell].ravel()))
        assert sorted(zip(c[..., cell].ravel(), o[..., cell].ravel())) == pairs
    assert np.array_equal(o[..., 0], o[..., 1])       # one permutation per session
    assert o[0, 0, 0] == 0.0                          # unvisited bins stay unvisited
    c, o, m = control_counts("rotated", counts, occ, mask, np.random.default_rng(0))
    np.testing.assert_array_equal(c, counts[::-1, ::-1])
    with pytest.raises(ValueError, match="'shuffled'"):
        control_counts("shuffled", counts, occ, mask, rng)


def test_floor_table_is_tidy_and_needs_counts():
    ds = _small_dataset()
    settings = make_settings(0.5, robust=True, blocks={"k": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = floor_table(ds, 1.0, {"paper": {"ridge": RIDGE}, "robust": {"ridge": RIDGE}},
                        settings, controls=("poisson", "rotated"), num_splits=2, progress=False)
    n = sum(len(r["cell_ids"]) for r in ds[1.0].values())
    assert len(t) == n * 2 * 2 and set(t["source"]) == {"control_poisson", "control_rotated"}
    assert set(t["setting"]) == {"paper", "robust"} and (t["layer"] == "-").all()
    again = floor_table(ds, 1.0, {"paper": {"ridge": RIDGE}}, {"paper": settings["paper"]},
                        controls=("poisson",), num_splits=2, progress=False)
    first = t[(t["source"] == "control_poisson") & (t["setting"] == "paper")]["score"].to_numpy()
    np.testing.assert_array_equal(again["score"].to_numpy(), first)   # seeded per control
    with pytest.raises(ValueError, match=r"arena 1\.0 animal m01.*fits\.floors\.controls: \[\]"):
        floor_table(Dataset({1.0: ds[1.0]}, edges=ds.edges), 1.0, {"paper": {"ridge": RIDGE}},
                    {"paper": settings["paper"]}, progress=False)
    with pytest.raises(ValueError, match="'white'"):
        floor_table(ds, 1.0, {}, {}, controls=("white",))
    # Several draws: each cell's score is the mean over independent draws (the first is draw 0).
    two = floor_table(ds, 1.0, {"paper": {"ridge": RIDGE}}, {"paper": settings["paper"]},
                      controls=("poisson",), num_splits=2, draws=2, progress=False)
    from mec.fits.floors import control_source
    second = control_source(ds, 1.0, "poisson", 0, draw=1)
    maps2 = {a: rates_from_counts(c, o, PAPER, mask=m) for a, (c, o, m) in second.items()}
    sc2 = floor_scores(ds[1.0], maps2, map_kwargs=RIDGE["map_kwargs"], train_frac=0.5,
                       num_splits=2)
    np.testing.assert_allclose(two["score"], (first + np.concatenate(list(sc2.values()))) / 2)
    with pytest.raises(ValueError, match="draws must be >= 1, got 0"):
        floor_table(ds, 1.0, {}, {}, controls=("poisson",), draws=0)
    assert set(CONTROLS) == {"poisson", "permuted", "rotated"}


def test_pipeline_writes_both_settings_and_floors(tmp_path):
    ds = _small_dataset()
    ds_path = save_dataset(tmp_path / "d.h5", ds)
    e = ds.edges[1.0]
    rng = np.random.default_rng(0)
    m = ds.truth[1.0]["m02"] + 0.1 * rng.random(ds.truth[1.0]["m02"].shape)
    counts = np.full(m.shape[:2], 7.0)
    mp = save_model_ratemaps(tmp_path / "m_1.0.h5", {"g": m}, *e, {"model": "m"}, counts=counts)
    kw = dict(num_splits=2, robust=True, blocks={"k": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cons = pd.read_csv(interanimal(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "c.csv", **kw))
        fit = pd.read_csv(fit_model(ds_path, mp, "m", 1.0, {"ridge": RIDGE}, tmp_path / "f.csv",
                                    layers=["g"], **kw))
        flo = pd.read_csv(floors(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "fl.csv",
                                 controls=["poisson"], **kw))
    n = sum(len(r["cell_ids"]) for r in ds[1.0].values())
    for table in (cons, fit, flo):
        assert table.groupby("setting").size().to_dict() == {"paper": n, "robust": n}
    # The paper rows are exactly the fits without settings (the reproduction is untouched).
    old = pd.read_csv(interanimal(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "c0.csv",
                                  num_splits=2))
    np.testing.assert_array_equal(old["score"], cons[cons["setting"] == "paper"]["score"])
    empty = pd.read_csv(floors(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "e.csv", controls=[]))
    assert empty.empty and "setting" in empty.columns


# ----------------------------------------------------------------------------- validation
@pytest.fixture(scope="module")
def embedded():
    """A reduced copy of the embedded dataset: the default population and noise in the 1.0 m
    arena, 8 animals of 30-45 cells, 20 minutes each."""
    return simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=8,
                            cells_per_animal=(30, 45), session_min=20.0, seed=0, progress=False)


def _holdout(target, sources, setting):
    sc = floor_scores(target, sources, map_type=RIDGE["map_type"], map_kwargs=RIDGE["map_kwargs"],
                      train_frac=setting.train_frac)
    return np.concatenate(list(sc.values()))


def test_robust_setting_tells_structure_from_noise(embedded):
    """Issue 13, validation: under the robust setting pure noise scores near zero while the
    ceiling stays clearly above it; other animals' ground truth, used as a model, scores above
    noise. Under the paper setting noise scores nearly what the data scores."""
    from scipy.stats import mannwhitneyu

    from mec.fits.floors import control_source

    settings = make_settings(0.2, robust=True, blocks={})
    noise = control_source(embedded, 1.0, "poisson", seed=0)
    out = {}
    for name, setting in settings.items():
        data = dataset_for(embedded, 1.0, setting.recipe)[1.0]
        real = {a: r["resp"] for a, r in data.items()}
        fake = {a: rates_from_counts(c, o, setting.recipe, mask=m) for a, (c, o, m) in noise.items()}
        truth = {a: smooth_model_maps(embedded.truth[1.0][a], None, setting.recipe)
                 for a in data}
        out[name] = {k: _holdout(data, src, setting)
                     for k, src in (("ceiling", real), ("noise", fake), ("truth", truth))}
    med = {s: {k: float(np.nanmedian(v)) for k, v in d.items()} for s, d in out.items()}
    rob = out["robust"]
    assert abs(med["robust"]["noise"]) < 0.1
    assert med["robust"]["ceiling"] > med["robust"]["noise"] + 0.03
    assert mannwhitneyu(rob["ceiling"][np.isfinite(rob["ceiling"])],
                        rob["noise"][np.isfinite(rob["noise"])], alternative="greater").pvalue < 1e-4
    assert med["robust"]["truth"] > med["robust"]["noise"] + 0.03
    # The paper setting: noise within 0.1 of the data, far above zero.
    assert med["paper"]["noise"] > 0.6 and med["paper"]["ceiling"] - med["paper"]["noise"] < 0.1
