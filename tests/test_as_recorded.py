"""A model scored as one more recorded animal in the halves setting (mec.fits.as_recorded,
methods §7.8): rates on the recorded cells' scale, the recorded dispersion, seeded draws, and
the invariant that makes the ceiling a bound - a model whose units are the animals' noise-free
tuning, recorded so, scores about the inter-animal ceiling, not above it."""

import numpy as np
import pytest

from mec.fits.as_recorded import record_units, recorded_cells, seed_for
from mec.fits.halves import halves_model_fit_table, setting_scores
from mec.fits.settings import HALVES_SETTING, halves_options, make_settings

from test_halves import N, RIDGE, _others, _toy


def _occ():
    return np.random.default_rng(3).uniform(1.0, 4.0, (N, N))


def test_rates_follow_the_recorded_distribution_by_rank():
    """Known answer: unit k of n by mean activity gets the recorded rate of rank
    floor((k + 0.5) / n * n_cells); a map with negative values is shifted to 0 at its minimum,
    a non-negative one only scaled. Checked on the mean of many draws (the rate itself)."""
    rng = np.random.default_rng(0)
    maps = rng.random((N, N, 4)) * np.array([1.0, 3.0, 2.0, 1.0])
    maps[..., 3] -= 0.5                                     # a unit with negative values
    occ = _occ()
    rates = np.array([8.0, 1.0, 4.0, 2.0, 16.0, 0.5, 32.0, 64.0])
    draws = record_units(maps, occ, rates, seed=1, n_draws=400)
    mean_map = np.mean(draws, axis=0)
    got = (mean_map * occ[..., None]).sum((0, 1)) / occ.sum()
    # activity ranks: unit 3 (mean ~0.5 after the shift) < 0 (0.5) ... ties broken by index
    shifted = maps - np.minimum(maps.min((0, 1)), 0)
    mean = (shifted * occ[..., None]).sum((0, 1)) / occ.sum()
    ranks = np.argsort(np.argsort(mean, kind="stable"), kind="stable")
    want = np.sort(rates)[((ranks + 0.5) / 4 * rates.size).astype(int)]
    np.testing.assert_allclose(got, want, rtol=0.03)
    # the shape is kept: each mean map is an affine function of the unit's map
    for u in range(4):
        assert np.corrcoef(mean_map[..., u].ravel(), maps[..., u].ravel())[0, 1] > 0.95


def test_noise_is_the_recorded_dispersion_times_poisson():
    """Known answer: per bin, the map's variance over draws is phi x rate / time."""
    flat = np.ones((N, N, 2))
    occ = _occ()
    rates, phi = np.array([5.0, 5.0]), np.array([1.0, 3.0])
    d = np.asarray(record_units(flat, occ, rates, seed=2, n_draws=600, dispersion=phi))
    var = d.var(axis=0)                                       # (N, N, 2)
    ratio = (var / (5.0 / occ[..., None])).mean((0, 1))
    np.testing.assert_allclose(ratio, [1.0, 3.0], rtol=0.08)
    np.testing.assert_allclose(d.mean(axis=(0, 1, 2)), 5.0, rtol=0.02)


def test_unvisited_and_missing_bins_are_nan_and_silent_units_stay_silent():
    maps = np.random.default_rng(1).random((N, N, 3))
    maps[..., 2] = 0.0
    maps[0, 0, :] = np.nan
    occ = _occ()
    occ[5, 5] = 0.0
    (m,) = record_units(maps, occ, np.array([1.0, 2.0]), seed=0)
    assert np.isnan(m[0, 0]).all() and np.isnan(m[5, 5]).all()
    assert np.isfinite(m).sum() == 3 * (N * N - 2)
    assert np.nanmax(m[..., 2]) == 0.0


def test_draws_are_seeded_by_names():
    maps = np.random.default_rng(1).random((N, N, 5))
    a = record_units(maps, _occ(), np.array([1.0, 2.0, 3.0]), seed_for("m", "g", 1.0, "a1"))
    b = record_units(maps, _occ(), np.array([1.0, 2.0, 3.0]), seed_for("m", "g", 1.0, "a1"))
    c = record_units(maps, _occ(), np.array([1.0, 2.0, 3.0]), seed_for("m", "g", 1.0, "a2"))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0], equal_nan=True)


def test_bad_rates_and_dispersion_are_refused():
    maps = np.ones((N, N, 2))
    with pytest.raises(ValueError, match="rates"):
        record_units(maps, _occ(), np.array([]), seed=0)
    with pytest.raises(ValueError, match="dispersion"):
        record_units(maps, _occ(), np.array([1.0, 2.0]), seed=0, dispersion=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="occupancy"):
        record_units(maps, np.ones((3, 3)), np.array([1.0]), seed=0)


def test_recorded_cells_measure_poisson_dispersion_as_one_and_gain_noise_above():
    """Known answer: the toy's counts are Poisson in each half (phi about 1) with the cells'
    mean rates; counts with an extra gamma gain per bin and half (variance of the gain g2)
    have phi = 1 + g2 x rate x time on average."""
    ds = _toy(tuned=True, n_animals=2, n_cells=30)
    rates, phi = recorded_cells(ds, 1.0)
    c, t = ds.spike_counts[1.0], ds.occupancy[1.0]
    want = np.concatenate([c[a].sum((0, 1)) / t[a].sum((0, 1)) for a in ds[1.0]])
    np.testing.assert_allclose(rates, want, rtol=1e-12)
    assert abs(np.median(phi) - 1.0) < 0.1
    rng = np.random.default_rng(4)
    for a in ds[1.0]:
        ho = ds.half_occupancy[1.0][a]
        lam = np.full(ho.shape, 2.0)
        gain = rng.gamma(4.0, 1 / 4.0, ho.shape)                 # mean 1, variance 0.25
        ds.half_counts[1.0][a] = rng.poisson(lam * gain * ho).astype(float)
    _, phi_g = recorded_cells(ds, 1.0)
    mean_lt = np.mean(2.0 * ds.half_occupancy[1.0]["m0"])
    assert abs(np.median(phi_g) - (1 + 0.25 * mean_lt)) < 0.15 * (1 + 0.25 * mean_lt)


def test_noise_free_tuning_recorded_scores_the_ceiling_not_above():
    """The invariant that makes the halves ceiling a bound (methods §7.8): a "model" whose
    units are the other animals' noise-free tuning scores far above the inter-animal ceiling
    as plain bin means, and about the ceiling once recorded as one more animal."""
    ds = _toy(tuned=True, n_animals=4, n_cells=25, seed=1, rate_scale=0.03)
    st = make_settings(0.2, robust=False, halves=True)[HALVES_SETTING]
    rng = np.random.default_rng(1)
    from test_halves import _fields

    truth = 0.03 * _fields(rng, 25)                            # the toy's shared tuning
    model = np.concatenate([truth] * 3, axis=-1)              # as many units as 3 animals

    def med(scores):
        return np.median(np.concatenate(list(scores.values())))
    ceiling = med(setting_scores(ds, 1.0, st, _others(ds, st.source_recipe), num_splits=4,
                                 **RIDGE))
    plain = med(setting_scores(ds, 1.0, st, model, num_splits=4, **RIDGE))
    recorded = med(setting_scores(ds, 1.0, st, model, as_model=True, num_splits=4,
                                  model_draws=2, **RIDGE))
    assert plain > ceiling + 0.1, (plain, ceiling)
    assert abs(recorded - ceiling) < 0.03, (recorded, ceiling)


def test_fit_table_draws_as_setting_scores_with_the_same_key():
    ds = _toy(tuned=True, n_animals=3, n_cells=8)
    st = make_settings(0.2, robust=False, halves=True)[HALVES_SETTING]
    model = np.random.default_rng(5).random((N, N, 10))
    maps = {"ridge": RIDGE}
    table = halves_model_fit_table({"g": model}, ds, 1.0, "net", maps, st, num_splits=2)
    want = setting_scores(ds, 1.0, st, model, as_model=True, model_key=("net", "g"),
                          num_splits=2, **RIDGE)
    for a, sc in want.items():
        got = table.loc[table["animal"] == a, "score"].to_numpy()
        np.testing.assert_allclose(got, sc, rtol=1e-12, equal_nan=True)
    # one draw differs from two (the draws are averaged), and the option is checked
    one = halves_model_fit_table({"g": model}, ds, 1.0, "net", maps, st, num_splits=2,
                                 model_draws=1)
    assert not np.allclose(one["score"], table["score"])
    assert halves_options({"enabled": True})["model_draws"] == 2
    with pytest.raises(ValueError, match="model_draws"):
        halves_options({"enabled": True, "model_draws": 0})
