"""Rate-map recipes, spike counts in the dataset, within-animal reliability (methods §7.2, §7.3)."""

import json

import h5py
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mec.data import Dataset, DatasetError, load_dataset, save_dataset
from mec.ratemaps import (
    PAPER,
    ROBUST,
    Recipe,
    RecipeMismatchError,
    bin_spikes,
    check_same_recipe,
    get_recipe,
    load_model_ratemaps,
    make_edges,
    rates_from_counts,
    read_sample_counts,
    recipe_from_attrs,
    recipe_from_json,
    save_model_ratemaps,
    smooth_model_maps,
    spikes_to_ratemap,
    split_half_reliability,
)


def _walk(seed, seconds=1200.0, dt=0.02, half=0.5):
    """A reflected random walk in [-half, half]^2, (t, positions)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, dt)
    pos = np.cumsum(rng.normal(0, 0.02, (len(t), 2)), axis=0)
    pos = np.abs((pos + half) % (4 * half) - 2 * half) - half   # fold into the box
    return t, pos


def _spikes_from_rate(rng, t, pos, rate_fn):
    """Poisson spikes with rate rate_fn(pos) (Hz) at each 20 ms sample, placed at the sample."""
    dt = t[1] - t[0]
    n = rng.poisson(rate_fn(pos) * dt)
    return np.repeat(t, n)


# ----------------------------------------------------------------------------- recipes
def test_recipe_names_radius_json_and_errors():
    assert (PAPER.radius_bins, ROBUST.radius_bins) == (4, 3)
    assert Recipe("x", sigma_bins=0).radius_bins == 0
    # The radius is the support of scipy's kernel: an impulse spreads exactly that far.
    for r in (PAPER, ROBUST):
        imp = np.zeros((21, 21))
        imp[10, 10] = 1.0
        out = gaussian_filter(imp, r.sigma_bins, mode="constant", truncate=r.truncate)
        assert np.flatnonzero(out[10] > 0).tolist() == list(range(10 - r.radius_bins,
                                                                   11 + r.radius_bins))
    assert recipe_from_json(ROBUST.to_json()) == ROBUST
    assert get_recipe("paper") is PAPER and get_recipe(ROBUST.as_dict()) == ROBUST
    with pytest.raises(ValueError, match="'fancy'"):
        get_recipe("fancy")
    with pytest.raises(ValueError, match="bogus"):
        get_recipe({"name": "x", "bogus": 1})
    with pytest.raises(ValueError, match="smoothing 'median'"):
        Recipe("x", smoothing="median")
    with pytest.raises(ValueError, match="my file"):
        recipe_from_json("{not json", "my file")
    check_same_recipe(PAPER, None, "a vs b")          # unknown: nothing to check
    with pytest.raises(RecipeMismatchError, match="model m vs data.*'paper'.*'robust'"):
        check_same_recipe(PAPER, ROBUST, "model m vs data")


def test_paper_recipe_from_counts_is_spikes_to_ratemap_bit_for_bit():
    rng = np.random.default_rng(0)
    t, pos = _walk(0, seconds=300)
    spikes = [np.sort(rng.uniform(0, 300, 900)), np.sort(rng.uniform(0, 300, 60))]
    e = make_edges(-0.5, 0.5, 10.0)
    counts, occ = bin_spikes(pos, t, spikes, e, e, min_occupancy_s=0.05)
    mask = np.ones((10, 10), bool)
    mask[0, :3] = False
    a = spikes_to_ratemap(pos, t, spikes, e, e, min_occupancy_s=0.05, mask=mask)
    b = rates_from_counts(counts, occ, PAPER, mask=mask)
    assert np.array_equal(a, b, equal_nan=True)
    assert counts.sum() == sum(len(s) for s in spikes)  # every spike lands in a visited bin
    # A per-cell occupancy equal to the session's gives the same maps.
    assert np.array_equal(b, rates_from_counts(counts, np.repeat(occ[..., None], 2, 2), PAPER,
                                               mask=mask), equal_nan=True)
    robust = spikes_to_ratemap(pos, t, spikes, e, e, recipe="robust")
    assert np.array_equal(robust, rates_from_counts(*bin_spikes(pos, t, spikes, e, e), ROBUST),
                          equal_nan=True)
    with pytest.raises(ValueError, match="sigma_bins=2.0 contradicts"):
        spikes_to_ratemap(pos, t, spikes, e, e, sigma_bins=2.0, recipe="robust")


def test_normalized_smoothing_does_not_dim_the_walls():
    # A cell firing at exactly 5 Hz everywhere, uneven occupancy, one unvisited corner.
    occ = np.random.default_rng(1).uniform(0.5, 3.0, (12, 9))
    occ[:2, :2] = 0.0
    counts = (5.0 * occ)[..., None]
    robust = rates_from_counts(counts, occ, ROBUST)[..., 0]
    np.testing.assert_allclose(robust[occ > 0], 5.0, rtol=1e-12)
    assert np.isnan(robust[occ == 0]).all()           # unvisited bins stay unknown
    paper = rates_from_counts(counts, occ, PAPER)[..., 0]
    assert paper[5, 0] < 0.8 * 5.0 and paper[5, 4] > 0.99 * 5.0   # zero padding dims the wall
    # Independent computation of one bin: weighted mean of the neighbours' rates.
    rng = np.random.default_rng(2)
    counts = rng.poisson(2.0 * occ[..., None]).astype(float)
    got = rates_from_counts(counts, occ, ROBUST)[6, 4, 0]
    w = np.exp(-0.5 * np.arange(-3, 4) ** 2)
    k = np.outer(w, w)
    num = (k * counts[3:10, 1:8, 0]).sum()
    den = (k * occ[3:10, 1:8]).sum()
    assert np.isclose(got, num / den, rtol=1e-12)
    # A mask removes bins from the average and from the result.
    mask = np.ones((12, 9), bool)
    mask[6, 5] = False
    m = rates_from_counts(counts, occ, ROBUST, mask=mask)[..., 0]
    assert np.isnan(m[6, 5])
    c2, o2 = counts[..., 0].copy(), occ.copy()
    c2[6, 5] = o2[6, 5] = 0.0
    assert np.isclose(m[6, 4], (k * c2[3:10, 1:8]).sum() / (k * o2[3:10, 1:8]).sum())
    with pytest.raises(ValueError, match="occupancy shape"):
        rates_from_counts(counts, occ[:5], ROBUST)


def test_model_maps_smoothed_like_data_maps():
    rng = np.random.default_rng(3)
    resp = rng.normal(size=(8, 7, 3))
    counts = rng.integers(1, 20, (8, 7)).astype(float)
    resp[0, 0] = np.nan
    counts[0, 0] = 0
    assert np.array_equal(smooth_model_maps(resp, counts, PAPER), resp, equal_nan=True)
    out = smooth_model_maps(resp, counts, ROBUST)
    # the model's summed activity and sample counts through the data-side recipe
    sums = np.where(counts[..., None] > 0, np.nan_to_num(resp) * counts[..., None], 0.0)
    occ = np.repeat(counts[..., None], 3, 2)
    assert np.allclose(out, rates_from_counts(sums, occ, ROBUST), equal_nan=True)
    assert np.isnan(out[0, 0]).all() and np.isfinite(out[1:]).all()
    const = smooth_model_maps(np.full((8, 7, 1), 2.5), None, ROBUST)
    np.testing.assert_allclose(const, 2.5)


def test_model_file_records_recipe_and_counts(tmp_path):
    e = make_edges(-0.5, 0.5, 10.0)
    maps = {"g": np.random.default_rng(0).random((10, 10, 4))}
    counts = np.arange(100.0).reshape(10, 10)
    p = save_model_ratemaps(tmp_path / "m.h5", maps, e, e, {"model": "m"}, counts=counts)
    back, _, attrs = load_model_ratemaps(p)
    assert list(back) == ["g"]                         # the counts are not a layer
    assert recipe_from_attrs(attrs) == PAPER
    np.testing.assert_array_equal(read_sample_counts(p), counts)
    with h5py.File(p, "a") as f:                       # a file from before recipes
        del f.attrs["recipe"]
        del f["sample_counts"]
    _, _, attrs = load_model_ratemaps(p)
    assert recipe_from_attrs(attrs) is None and read_sample_counts(p) is None
    with pytest.raises(ValueError, match=r"sample counts of shape \(3, 3\)"):
        save_model_ratemaps(tmp_path / "x.h5", maps, e, e, {}, counts=np.ones((3, 3)))


# ----------------------------------------------------------------------------- reliability
def test_split_half_reliability_tuned_vs_untuned():
    rng = np.random.default_rng(4)
    t, pos = _walk(5, seconds=1200)
    e = make_edges(-0.5, 0.5)
    tuned = _spikes_from_rate(rng, t, pos, lambda p: 20.0 * np.exp(-np.sum((p - 0.15) ** 2, 1) / 0.02))
    flat = _spikes_from_rate(rng, t, pos, lambda p: np.full(len(p), 3.0))
    rel = split_half_reliability(pos, t, [tuned, flat, np.array([])], e, e)
    assert rel[0] > 0.9
    assert abs(rel[1]) < 0.35
    assert np.isnan(rel[2])                           # no spikes: constant maps
    # Spearman-Brown of the odd / even minute maps, computed independently.
    odd = (np.floor(t / 60.0) % 2).astype(bool)
    halves = [spikes_to_ratemap(pos[m], t[m] if m.all() else t[m], [tuned[np.isin(
        np.searchsorted((t[1:] + t[:-1]) / 2, tuned), np.flatnonzero(m))]], e, e, recipe=ROBUST)
        for m in (~odd, odd)]
    a, b = (h[..., 0].ravel() for h in halves)
    ok = np.isfinite(a) & np.isfinite(b)
    r = np.corrcoef(a[ok], b[ok])[0, 1]
    assert np.isclose(rel[0], 2 * r / (1 + r), atol=0.02)


# ----------------------------------------------------------------------------- contract
def _ds_with_counts(rng, two_sessions=True):
    e = make_edges(-0.5, 0.5, 10.0)
    occ1 = rng.uniform(0.1, 2.0, (10, 10))
    occ2 = rng.uniform(0.1, 2.0, (10, 10))
    occ = np.stack([occ1, occ2 if two_sessions else occ1, occ1], axis=-1)
    counts = rng.poisson(3.0 * occ).astype(float)
    resp = rates_from_counts(counts, occ, PAPER)
    data = {1.0: {"m1": {"resp": resp, "cell_ids": np.array(["a", "b", "c"])}}}
    return Dataset(data, edges={1.0: (e, e)}, recipes={1.0: PAPER},
                   spike_counts={1.0: {"m1": counts}}, occupancy={1.0: {"m1": occ}})


def test_dataset_round_trip_of_counts_occupancy_and_recipe(tmp_path):
    ds = _ds_with_counts(np.random.default_rng(5))
    path = save_dataset(tmp_path / "d.h5", ds)
    with h5py.File(path, "r") as f:   # one occupancy map per session, an index per cell
        assert f["arenas/1.0/animals/m1/occupancy"].shape == (10, 10, 2)
        assert json.loads(f["arenas/1.0"].attrs["recipe"])["name"] == "paper"
    back = load_dataset(path)
    assert back.recipes[1.0] == PAPER
    np.testing.assert_array_equal(back.spike_counts[1.0]["m1"], ds.spike_counts[1.0]["m1"])
    np.testing.assert_array_equal(back.occupancy[1.0]["m1"], ds.occupancy[1.0]["m1"])
    # The maps are remade bit for bit from what is stored.
    assert np.array_equal(rates_from_counts(back.spike_counts[1.0]["m1"],
                                            back.occupancy[1.0]["m1"], back.recipes[1.0]),
                          back[1.0]["m1"]["resp"])
    # A file without the optional parts loads with nothing recorded.
    plain = Dataset({1.0: ds[1.0]}, edges=ds.edges)
    back = load_dataset(save_dataset(tmp_path / "p.h5", plain))
    assert back.recipes == {} and back.spike_counts == {}


@pytest.mark.parametrize("problem,change", [
    ("spike_counts has shape (10, 10, 2)", lambda ds: ds.spike_counts[1.0].update(
        m1=ds.spike_counts[1.0]["m1"][..., :2])),
    ("only spike_counts is given", lambda ds: ds.occupancy.clear()),
    ("occupancy must be finite and >= 0", lambda ds: ds.occupancy[1.0]["m1"].__setitem__(
        (0, 0, 0), -1.0)),
])
def test_bad_counts_are_refused_naming_arena_and_animal(tmp_path, problem, change):
    ds = _ds_with_counts(np.random.default_rng(6))
    change(ds)
    with pytest.raises(DatasetError) as err:
        save_dataset(tmp_path / "d.h5", ds)
    assert problem in str(err.value) and "arena 1.0" in str(err.value) and "animal m1" in str(err.value)
    assert not (tmp_path / "d.h5").exists()


def test_bad_stored_recipe_and_index_name_the_file(tmp_path):
    path = save_dataset(tmp_path / "d.h5", _ds_with_counts(np.random.default_rng(7)))
    with h5py.File(path, "a") as f:
        f["arenas/1.0"].attrs["recipe"] = '{"name": "x", "smoothing": "median"}'
    with pytest.raises(DatasetError, match=r"d\.h5.*arena 1\.0.*smoothing 'median'"):
        load_dataset(path)
    path = save_dataset(tmp_path / "e.h5", _ds_with_counts(np.random.default_rng(7)))
    with h5py.File(path, "a") as f:
        del f["arenas/1.0/animals/m1/occupancy_index"]
        f["arenas/1.0/animals/m1/occupancy_index"] = np.array([0, 5, 1])
    with pytest.raises(DatasetError, match=r"e\.h5.*animal m1.*one session per cell"):
        load_dataset(path)


def test_synthetic_dataset_stores_what_its_maps_were_made_from():
    from mec.data.synthetic import simulate_dataset

    ds = simulate_dataset(arenas={"1.0": {"shape": "circle"}}, n_animals=2,
                          cells_per_animal=(4, 5), session_min=3.0, bin_cm=10.0, seed=2,
                          progress=False)
    assert ds.recipes[1.0] == PAPER
    for animal, rec in ds[1.0].items():
        resp = rec["resp"]
        remade = rates_from_counts(ds.spike_counts[1.0][animal], ds.occupancy[1.0][animal],
                                   PAPER, mask=np.isfinite(resp))
        assert np.array_equal(remade, resp, equal_nan=True)
        rel = ds.cell_info[1.0][animal]["reliability"]
        assert rel.shape == (resp.shape[-1],) and np.all((rel <= 1) | np.isnan(rel))


def test_ingested_recordings_store_counts_per_session_and_reliability(tmp_path):
    """Two sessions of one animal (different paths, different time per bin): each cell keeps
    its own session's occupancy, the file holds one map per session, and the paper's maps are
    remade from the stored counts bit for bit, the speed filter and minimum occupancy included."""
    from mec.data.loaders import Session
    from mec.data.loaders.ingest import build_dataset

    def session(name, seed):
        t, pos = _walk(seed, seconds=600, half=0.45)
        rng = np.random.default_rng(seed)
        spikes = [_spikes_from_rate(rng, t, pos, lambda p: 15.0 * np.exp(
            -np.sum((p + 0.1) ** 2, 1) / 0.03)), np.sort(rng.uniform(0, t[-1], 200))]
        return Session(name=name, animal="ratA", times=t, positions=pos,
                       cell_ids=[f"{name}_c0", f"{name}_c1"], spike_times=spikes)

    cfg = {"source": "generic", "bin_cm": 10.0, "arenas": {"1.0": {"shape": "square"}},
           "recordings": {"speed_range": [0.0, 2.0], "min_occupancy_s": 0.1}}
    ds = build_dataset([session("s1", 1), session("s2", 2)], cfg, min_animals=1)
    back = load_dataset(save_dataset(tmp_path / "d.h5", ds))
    assert back.recipes[1.0] == PAPER
    occ = back.occupancy[1.0]["ratA"]
    assert np.array_equal(occ[..., 0], occ[..., 1]) and not np.array_equal(occ[..., 0], occ[..., 2])
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert f["arenas/1.0/animals/ratA/occupancy"].shape[-1] == 2
    resp = back[1.0]["ratA"]["resp"]
    assert np.array_equal(rates_from_counts(back.spike_counts[1.0]["ratA"], occ, PAPER,
                                            mask=np.isfinite(resp)), resp, equal_nan=True)
    rel = back.cell_info[1.0]["ratA"]["reliability"]
    assert rel[0] > 0.8 and rel[2] > 0.8             # the place-field cells
    assert abs(rel[1]) < 0.5 and abs(rel[3]) < 0.5  # the untuned ones
