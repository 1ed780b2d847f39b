"""The embedded simulated MEC dataset (mec.data.synthetic): determinism, ground truth, noise.

Small sizes throughout (one small arena, a few animals, minutes of simulated time) so the
whole file runs in well under a minute on one CPU core.
"""

import json

import numpy as np
import pytest
from scipy import ndimage, signal

from mec.data import load_dataset
from mec.data.synthetic import (CELL_TYPES, grid_rate, make_synthetic_dataset,
                                simulate_dataset, simulate_trajectories)

SMALL = dict(arenas={1.0: {"shape": "square"}}, n_animals=3, cells_per_animal=(12, 16),
             session_min=4.0, progress=False)


@pytest.fixture(scope="module")
def small():
    return simulate_dataset(seed=3, **SMALL)


# ----------------------------------------------------------------------------- helpers
def _autocorr(m):
    """Spatial autocorrelogram of a map (mean removed), normalised to 1 at zero lag."""
    m = np.nan_to_num(m - np.nanmean(m))
    ac = signal.fftconvolve(m, m[::-1, ::-1], mode="full")
    return ac / ac.max()


def _grid_score(m):
    """Sixfold rotational symmetry of the autocorrelogram (methods §5 scorer, best ring)."""
    ac = _autocorr(m)
    c = np.array(ac.shape) // 2
    yy, xx = np.indices(ac.shape)
    r = np.hypot(yy - c[0], xx - c[1])
    best = -np.inf
    for r_out in np.linspace(0.4, 1.0, 10) * min(m.shape):
        ring = (r > 0.2 * min(m.shape)) & (r < r_out)
        cs = {a: np.corrcoef(ac[ring], ndimage.rotate(ac, a, reshape=False, order=1)[ring])[0, 1]
              for a in (30, 60, 90, 120, 150)}
        best = max(best, min(cs[60], cs[120]) - max(cs[30], cs[90], cs[150]))
    return best


def _corr(a, b):
    keep = np.isfinite(a) & np.isfinite(b)
    return np.corrcoef(a[keep], b[keep])[0, 1]


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_data_and_other_seed_differs(small):
    again = simulate_dataset(seed=3, **SMALL)
    other = simulate_dataset(seed=4, **SMALL)
    for animal, rec in small[1.0].items():
        np.testing.assert_array_equal(rec["resp"], again[1.0][animal]["resp"])
        np.testing.assert_array_equal(rec["cell_ids"], again[1.0][animal]["cell_ids"])
        np.testing.assert_array_equal(rec["cell_types"], again[1.0][animal]["cell_types"])
        np.testing.assert_array_equal(small.truth[1.0][animal], again.truth[1.0][animal])
    np.testing.assert_array_equal(small.edges[1.0][0], again.edges[1.0][0])
    first = next(iter(small[1.0]))
    a, b = small[1.0][first]["resp"], other[1.0][first]["resp"]
    assert a.shape != b.shape or not np.allclose(a, b, equal_nan=True)


def test_an_arena_does_not_depend_on_the_other_arenas():
    alone = simulate_dataset(seed=5, arenas={0.6: {}}, n_animals=2, cells_per_animal=(5, 6),
                             session_min=1.0, progress=False)
    both = simulate_dataset(seed=5, arenas={0.6: {}, 0.4: {}}, n_animals=2,
                            cells_per_animal=(5, 6), session_min=1.0, progress=False)
    # animals are numbered on across arenas (0.4 m comes first), the data stay the same
    for (_, rec_a), (_, rec_b) in zip(alone[0.6].items(), both[0.6].items()):
        np.testing.assert_array_equal(rec_a["resp"], rec_b["resp"])
    assert list(both[0.4]) == ["m01", "m02"] and list(both[0.6]) == ["m03", "m04"]


# ----------------------------------------------------------------------------- trajectories
def test_trajectories_stay_inside_and_move_like_rats():
    rngs = [np.random.default_rng(i) for i in range(4)]
    tr = simulate_trajectories(1.0, 15000, rngs, dt=0.02)            # 5 min at 50 Hz
    pos = tr["positions"]
    assert pos.shape == (4, 15000, 2) and tr["speed"].shape == (4, 15000)
    assert np.all(np.abs(pos) <= 0.5)
    mean_speed_cm = 100 * tr["speed"].mean(axis=1)
    assert np.all((mean_speed_cm > 5) & (mean_speed_cm < 15)), mean_speed_cm
    # the speed recomputed from positions agrees with the returned one
    step = np.hypot(*np.diff(pos, axis=1).transpose(2, 0, 1)) / 0.02
    np.testing.assert_allclose(step, tr["speed"][:, 1:], rtol=1e-9)
    # thigmotaxis: more time within 10 cm of a wall than the 36 % of the floor there
    near_wall = (np.abs(pos) > 0.4).any(axis=2).mean()
    assert near_wall > 0.36
    # turning: heading changes of real rats are mostly small at 50 Hz
    dtheta = np.abs(np.angle(np.exp(1j * np.diff(tr["head_direction"], axis=1))))
    assert np.median(dtheta) < np.radians(10)


def test_circular_arena_trajectories_stay_in_the_circle():
    tr = simulate_trajectories(0.8, 5000, [np.random.default_rng(0)], shape="circle")
    assert np.all(np.hypot(*tr["positions"][0].T) <= 0.4 + 1e-12)


# ----------------------------------------------------------------------------- ground truth
def test_grid_rate_lattice_has_six_peaks_at_the_spacing():
    centres = np.arange(-1.0, 1.0, 0.02) + 0.01
    pts = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    spacing, orient = 0.4, np.radians(10.0)
    m = grid_rate(pts, spacing, orient, phase=np.array([0.05, -0.1])).reshape(100, 100)
    ac = _autocorr(m)
    peaks = (ac == ndimage.maximum_filter(ac, size=5)) & (ac > 0.2)
    ij = np.argwhere(peaks) - np.array(ac.shape) // 2
    dist = np.hypot(*ij.T) * 0.02
    ring = np.sort(dist[dist > 0.01])[:6]
    np.testing.assert_allclose(ring, spacing, rtol=0.06)
    inner = ij[(dist > 0.01) & (dist < 1.3 * spacing)]
    assert len(inner) == 6
    # the six neighbours sit 60 degrees apart, starting at the lattice orientation
    off = (np.degrees(np.arctan2(inner[:, 1], inner[:, 0])) - 10.0 + 30.0) % 60.0 - 30.0
    assert np.all(np.abs(off) < 3.0), off
    assert _grid_score(m) > 0.8


def test_noise_free_grid_maps_are_hexagonal(small):
    scores = []
    for animal, rec in small[1.0].items():
        info = small.cell_info[1.0][animal]
        for c in np.flatnonzero(rec["cell_types"] == "grid"):
            if info["spacing_m"][c] < 0.5:          # at least two periods in the 1 m box
                scores.append(_grid_score(small.truth[1.0][animal][..., c]))
    assert len(scores) >= 3
    assert np.min(scores) > 0.3 and np.median(scores) > 0.8, scores


def test_border_cells_fire_along_their_walls(small):
    x_edges, y_edges = small.edges[1.0]
    xc, yc = (x_edges[:-1] + x_edges[1:]) / 2, (y_edges[:-1] + y_edges[1:]) / 2
    X, Y = np.meshgrid(xc, yc, indexing="ij")
    band = {"W": X < -0.4, "E": X > 0.4, "S": Y < -0.4, "N": Y > 0.4}
    centre = (np.abs(X) < 0.3) & (np.abs(Y) < 0.3)
    ratios = []
    for animal, rec in small[1.0].items():
        info = small.cell_info[1.0][animal]
        for c in np.flatnonzero(rec["cell_types"] == "border"):
            walls = str(info["walls"][c]).split("+")
            assert 1 <= len(walls) == info["n_walls"][c] <= 3
            truth = small.truth[1.0][animal][..., c]
            in_band = np.any([band[w] for w in walls], axis=0)
            ratios.append(truth[in_band].mean() / truth[centre].mean())
    assert len(ratios) >= 1
    assert min(ratios) > 3.0, ratios


def test_weakly_spatial_maps_are_nearly_flat(small):
    for animal, rec in small[1.0].items():
        for c in np.flatnonzero(np.isin(rec["cell_types"], ["head_direction", "weakly_spatial"])):
            t = small.truth[1.0][animal][..., c]
            assert t.std() / t.mean() < 0.25
        for c in np.flatnonzero(rec["cell_types"] == "heterogeneous"):
            t = small.truth[1.0][animal][..., c]
            assert t.std() / t.mean() > 0.5


def test_ratemaps_approach_the_noise_free_maps_as_sessions_lengthen():
    medians = []
    for minutes in (1.0, 4.0, 16.0):
        ds = simulate_dataset(arenas={0.6: {}}, n_animals=1, cells_per_animal=(30, 30),
                              session_min=minutes, seed=11, progress=False)
        (animal, rec), = ds[0.6].items()
        # the noise-free maps through the same smoothing as the data (methods §3.2)
        truth = ndimage.gaussian_filter(ds.truth[0.6][animal], sigma=(1, 1, 0), mode="constant")
        medians.append(np.median([_corr(rec["resp"][..., c], truth[..., c])
                                  for c in range(rec["resp"].shape[2])]))
    assert medians[0] < medians[1] < medians[2], medians
    assert medians[2] > 0.8, medians


# ----------------------------------------------------------------------------- the saved file
def test_saved_file_has_the_contract_layout(tmp_path):
    path = make_synthetic_dataset(tmp_path / "syn.h5", seed=2, arenas={1.0: {}, 0.5: {}},
                                  n_animals=2, cells_min=6, cells_max=9, session_min=2.0,
                                  progress=False)
    ds = load_dataset(path)
    assert sorted(ds) == [0.5, 1.0]
    assert ds.attrs["name"] == "synthetic" and ds.attrs["source"] == "synthetic"
    prov = json.loads(ds.attrs["provenance"])
    assert prov["seed"] == 2 and prov["cells_per_animal"] == [6, 9]
    assert prov["arenas"]["1.0"]["session_min"] == 2.0
    assert set(prov["population"]["fractions"]) == set(CELL_TYPES)
    all_ids = []
    for arena, nbins in ((1.0, 20), (0.5, 10)):
        x_edges, y_edges = ds.edges[arena]
        assert len(x_edges) == len(y_edges) == nbins + 1
        # methods §3.2 edges: the extremes of the positions, inside the (centred) walls
        assert -arena / 2 <= x_edges[0] < -arena / 2 + 0.01
        assert arena / 2 - 0.01 < x_edges[-1] <= arena / 2
        assert ds.arenas[arena] == {"size": arena, "shape": "square", "width": arena,
                                    "height": arena}
        assert len(ds[arena]) == 2
        for animal, rec in ds[arena].items():
            n = rec["resp"].shape[2]
            assert rec["resp"].shape == (nbins, nbins, n) and 6 <= n <= 9
            assert ds.truth[arena][animal].shape == rec["resp"].shape
            assert set(rec["cell_types"]) <= set(CELL_TYPES)
            assert all(cid.startswith(f"{arena:.1f}_{animal}_c") for cid in rec["cell_ids"])
            info = ds.cell_info[arena][animal]
            assert all(len(v) == n for v in info.values())
            grid = rec["cell_types"] == "grid"
            assert np.all(info["module"][grid] >= 0) and np.all(info["module"][~grid] == -1)
            assert np.all(np.isfinite(info["spacing_m"][grid]))
            assert np.all(np.nanmax(rec["resp"], axis=(0, 1)) >= 0)
            all_ids += list(rec["cell_ids"])
    assert len(all_ids) == len(set(all_ids))


@pytest.mark.parametrize("kwargs, match", [
    (dict(population={"fractions": {"grid": 0.9}}), "sum to 1"),
    (dict(population={"gird": {}}), "unknown key 'gird'"),
    (dict(arenas={1.0: {"shape": "hexagon"}}), "hexagon"),
    (dict(arenas={"big": {}}), "big"),
    (dict(session_min=-1), "session_min"),
    (dict(cells_per_animal=(10, 5)), "cells_per_animal"),
    (dict(motion={"speed": 1.0}), "unknown key 'speed'"),
])
def test_bad_parameters_are_refused(kwargs, match):
    args = dict(SMALL, **kwargs)
    with pytest.raises(ValueError, match=match):
        simulate_dataset(**args)
