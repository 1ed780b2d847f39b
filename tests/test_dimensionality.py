"""Participation ratio (methods §6): known answers and invariances."""

import numpy as np
import pytest

from mec.dimensionality import participation_ratio, ratemap_participation_ratios


def _with_covariance_eigs(eigs, n_bins=64, seed=0):
    """(n_bins, n) data whose sample covariance has exactly the eigenvalues ``eigs``."""
    rng = np.random.default_rng(seed)
    n = len(eigs)
    z = rng.standard_normal((n_bins, n))
    z -= z.mean(0)
    # whiten exactly, then scale and rotate
    u, _, vt = np.linalg.svd(z, full_matrices=False)
    white = u * np.sqrt(n_bins - 1)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (white * np.sqrt(eigs)) @ q.T + 3.0


@pytest.mark.parametrize("eigs, expected", [
    ([1.0] * 10, 10.0),          # isotropic: every dimension counts
    ([5.0, 0, 0, 0], 1.0),       # rank one
    ([1.0, 1.0, 0, 0, 0], 2.0),  # two equal directions
    ([3.0, 1.0], 16.0 / 10.0),   # (3 + 1)^2 / (9 + 1)
])
def test_known_answers(eigs, expected):
    assert participation_ratio(_with_covariance_eigs(eigs)) == pytest.approx(expected, rel=1e-9)


def test_isotropic_gaussian_samples_near_n():
    x = np.random.default_rng(1).standard_normal((20000, 12))
    assert participation_ratio(x) == pytest.approx(12, rel=0.02)


def test_rank_one_maps_and_grid_input():
    rng = np.random.default_rng(2)
    field = rng.random((10, 8))
    maps = field[:, :, None] * rng.random(7)  # every unit a scaled copy of one map
    assert participation_ratio(maps) == pytest.approx(1.0, rel=1e-9)


def test_invariant_to_global_scale_and_rotation_and_ignores_nan_bins():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 6)) * np.arange(1, 7)
    pr = participation_ratio(x)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert participation_ratio(5.0 * x @ q) == pytest.approx(pr, rel=1e-9)
    with_nan = np.vstack([x, np.full((4, 6), np.nan)])
    with_nan[:4, 2] = np.nan  # partly unvisited bins are dropped too
    assert participation_ratio(with_nan) == pytest.approx(participation_ratio(x[4:]), rel=1e-12)


def test_degenerate_and_bad_input():
    assert np.isnan(participation_ratio(np.ones((10, 3))))       # no variance
    assert np.isnan(participation_ratio(np.zeros((1, 3))))       # one bin
    with pytest.raises(ValueError, match="n_units"):
        participation_ratio(np.zeros(5))


def test_from_ratemap_file(tmp_path):
    from mec.ratemaps import make_edges, save_model_ratemaps

    e = make_edges(-0.5, 0.5)
    x = _with_covariance_eigs([1.0, 1.0, 1.0, 0.0], n_bins=400).reshape(20, 20, 4)
    save_model_ratemaps(tmp_path / "m_1.0.h5", {"g": x, "dc": x[..., :1]}, e, e, {"model": "m"})
    pr = ratemap_participation_ratios(tmp_path / "m_1.0.h5")
    assert pr["g"] == pytest.approx(3.0, rel=1e-5)  # float32 storage
    assert pr["dc"] == pytest.approx(1.0)
