"""Rate-map recipes (methods §3.1, 3.2) against hand computations."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mec.ratemaps import (EdgeMismatchError, bin_activity, check_same_edges, load_model_ratemaps,
                          make_edges, occupancy, save_model_ratemaps, spikes_to_ratemap)


def test_make_edges_5cm():
    e = make_edges(-0.5, 0.5)
    assert len(e) == 21
    np.testing.assert_allclose(np.diff(e), 0.05)
    assert len(make_edges(-1.1, 1.1)) == 45
    with pytest.raises(ValueError, match="increasing"):
        make_edges(1.0, 0.0)


def test_bin_activity_means_and_nan():
    e = np.array([0.0, 1.0, 2.0])
    pos = np.array([[0.5, 0.5], [0.5, 0.6], [1.5, 0.5], [-3.0, 5.0]])  # last one clipped
    act = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0], [7.0, 70.0]])
    m = bin_activity(pos, act, e, e)
    assert m.shape == (2, 2, 2)
    np.testing.assert_allclose(m[0, 0], [2.0, 20.0])
    np.testing.assert_allclose(m[1, 0], [5.0, 50.0])
    np.testing.assert_allclose(m[0, 1], [7.0, 70.0])  # (-3, 5) clipped into bin (0, 1)
    assert np.isnan(m[1, 1]).all()


def test_bin_activity_matches_loop():
    rng = np.random.default_rng(0)
    e = make_edges(-0.5, 0.5)
    pos = rng.uniform(-0.5, 0.5, (5000, 2))
    act = rng.normal(size=(5000, 7))
    m = bin_activity(pos, act, e, e)
    ix = np.clip(np.digitize(pos[:, 0], e) - 1, 0, 19)
    iy = np.clip(np.digitize(pos[:, 1], e) - 1, 0, 19)
    for i, j in [(0, 0), (3, 17), (19, 19), (10, 4)]:
        sel = (ix == i) & (iy == j)
        np.testing.assert_allclose(m[i, j], act[sel].mean(axis=0))


def test_streamed_binning_is_bin_activity():
    """BinMeans (what model rate maps stream through) is bin_activity batch by batch: the
    same counts exactly, the same means up to the order of the float sums; one batch is
    bin_activity bit for bit."""
    from mec.ratemaps import BinMeans

    rng = np.random.default_rng(4)
    e = make_edges(-0.5, 0.5)
    pos = rng.uniform(-0.6, 0.6, (3000, 2))  # some outside the edges: clipped
    pos[rng.random(3000) < 0.05] = np.nan    # lost samples: left out
    act = {"g": rng.normal(size=(3000, 5)).astype(np.float32), "dc": rng.random((3000, 3))}
    acc = BinMeans(e, e)
    kept = [acc.add(pos[i:i + 700], {k: v[i:i + 700] for k, v in act.items()})
            for i in range(0, 3000, 700)]
    means = acc.means()
    assert np.array_equal(np.concatenate(kept), np.isfinite(pos).all(axis=1))
    assert acc.n_samples == int(np.isfinite(pos).all(axis=1).sum())
    for name, a in act.items():
        ref = bin_activity(pos, a, e, e)
        assert np.array_equal(np.isnan(means[name]), np.isnan(ref))
        np.testing.assert_allclose(means[name], ref, rtol=1e-12, atol=1e-15)
    occ = bin_activity(pos, np.ones(len(pos)), e, e)  # visited bins
    assert acc.sample_counts().sum() == acc.n_samples
    assert np.array_equal(acc.sample_counts() > 0, np.isfinite(occ[..., 0]))
    one = BinMeans(e, e)
    one.add(pos, {"g": act["g"]})
    assert one.means()["g"].tobytes() == bin_activity(pos, act["g"], e, e).tobytes()
    with pytest.raises(ValueError, match=r"positions \(3000 samples\) and activity 'g' \(2 samples\)"):
        one.add(pos, {"g": act["g"][:2]})


def test_spikes_to_ratemap_known_answer_unsmoothed():
    # Two bins along x; the animal sits 1 s in each; 3 spikes in the first, 1 in the second.
    dt = 0.02
    t = np.arange(100) * dt
    pos = np.where(t[:, None] < 1.0, [[0.25, 0.25]], [[0.75, 0.25]])
    spikes = [np.array([0.1, 0.2, 0.5, 1.5])]
    e = np.array([0.0, 0.5, 1.0])
    m = spikes_to_ratemap(pos, t, spikes, e, np.array([0.0, 0.5]), sigma_bins=0)
    np.testing.assert_allclose(m[:, 0, 0], [3.0, 1.0])


def test_spikes_to_ratemap_smoothing_and_unvisited():
    rng = np.random.default_rng(1)
    dt = 0.02
    t = np.arange(0, 600, dt)
    pos = rng.uniform(-0.5, 0.0, (len(t), 2))  # only the lower-left quadrant is visited
    spikes = [np.sort(rng.uniform(0, 600, 6000))]
    e = make_edges(-0.5, 0.5)
    raw = spikes_to_ratemap(pos, t, spikes, e, e, sigma_bins=0)
    assert np.all(raw[10:, 10:, 0] == 0)  # unvisited -> 0 before smoothing (methods §3.2)
    smooth = spikes_to_ratemap(pos, t, spikes, e, e)
    np.testing.assert_allclose(smooth, gaussian_filter(raw, (1, 1, 0), mode="constant"))
    assert abs(np.mean(raw[1:9, 1:9, 0]) - 10.0) < 1.0  # 6000 spikes / 600 s = 10 Hz


def test_spikes_to_ratemap_mask_speed_and_nan_tracking():
    rng = np.random.default_rng(2)
    t = np.arange(0, 100, 0.02)
    pos = rng.uniform(-0.5, 0.5, (len(t), 2))
    pos[100:200] = np.nan  # lost tracking: its spikes are dropped
    pos[2500] = [0.12, 0.12]  # where the spike at t = 50 s happens
    spikes = [np.array([2.5, 3.0, 50.0])]
    e = make_edges(-0.5, 0.5)
    mask = np.ones((20, 20), bool)
    mask[0, 0] = False
    m = spikes_to_ratemap(pos, t, spikes, e, e, sigma_bins=0, mask=mask)
    assert np.isnan(m[0, 0, 0])
    occ = occupancy(pos, e, e, 0.02)
    # Only the spike at 50 s survives: rate x time summed over the bins gives one spike.
    assert np.isclose(np.nansum(m[..., 0] * occ), 1.0)
    assert m[12, 12, 0] > 0
    with pytest.raises(ValueError, match="mask shape"):
        spikes_to_ratemap(pos, t, spikes, e, e, mask=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="differ in length"):
        spikes_to_ratemap(pos[:-1], t, spikes, e, e)
    # A speed filter that excludes everything leaves an all-zero map.
    fast = spikes_to_ratemap(pos, t, spikes, e, e, speed_range=(1e3, 1e4))
    assert np.nansum(fast) == 0


def test_edge_check_and_file_round_trip(tmp_path):
    e = make_edges(-0.5, 0.5)
    check_same_edges((e, e), (e.copy(), e.copy()), "a vs b")
    with pytest.raises(EdgeMismatchError, match="model x vs data"):
        check_same_edges((e, e), (make_edges(-0.5, 0.55), e), "model x vs data")
    maps = {"g": np.random.default_rng(0).random((20, 20, 4))}
    path = save_model_ratemaps(tmp_path / "m.h5", maps, e, e,
                               {"model": "m", "arena": 1.0, "seeds": [0, 1]})
    back, edges, attrs = load_model_ratemaps(path)
    np.testing.assert_allclose(back["g"], maps["g"], rtol=1e-6)
    np.testing.assert_array_equal(edges[0], e)
    assert attrs["model"] == "m" and list(attrs["seeds"]) == [0, 1] and "mec_version" in attrs
    with pytest.raises(ValueError, match="not in file"):
        load_model_ratemaps(path, layers=["dc"])
    with pytest.raises(ValueError, match="do not match"):
        save_model_ratemaps(tmp_path / "x.h5", {"g": np.zeros((3, 3, 1))}, e, e, {})
    assert not (tmp_path / "x.h5").exists()
