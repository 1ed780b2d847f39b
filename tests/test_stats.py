"""mec.stats: the hierarchical bootstrap of medians (methods §7.7), against independent
computations and known answers: the weighted median equals the median of the repeated
sample, the draws keep animals whole, the interval covers a known median about 95 % of the
time, shrinks with more cells, and widens when animals differ (where a flat cell bootstrap
does not)."""

from __future__ import annotations

import numpy as np
import pytest

from mec.stats import (
    Bootstrap,
    bootstrap_p,
    is_resolved,
    key_rng,
    median_ci,
    percentile_interval,
    projected_width,
    resample_counts,
    weighted_medians,
    wilcoxon_p,
)


def _population(rng, n_animals, n_cells, sd_animal, sd_cell=1.0):
    """Scores of a two-level population: an animal offset N(0, sd_animal) plus a cell term
    N(0, sd_cell); the population median is 0 (symmetric about 0)."""
    offsets = rng.normal(0, sd_animal, n_animals)
    values = (offsets[:, None] + rng.normal(0, sd_cell, (n_animals, n_cells))).ravel()
    animals = np.repeat([f"m{i}" for i in range(n_animals)], n_cells)
    return values, animals


def test_weighted_median_equals_the_median_of_the_repeated_sample():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 40):
        values = rng.normal(size=n)
        values[: n // 3] = 0.25  # ties
        counts = rng.integers(0, 4, size=(50, n))
        counts[0] = 0
        counts[0, -1] = 1  # a replicate of one cell
        counts[1] = 1      # the original sample
        got = weighted_medians(values, np.ascontiguousarray(counts.T))  # (cells, replicates)
        for r in range(50):
            sample = np.repeat(values, counts[r])
            want = np.median(sample) if sample.size else np.nan
            np.testing.assert_allclose(got[r], want, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(weighted_medians(np.array([]), np.zeros((0, 3), dtype=int))).all()


def test_hierarchical_draws_keep_animals_whole_and_flat_draws_keep_the_size():
    rng = np.random.default_rng(1)
    sizes = {"a": 3, "b": 5, "c": 1, "d": 8}
    animals = np.array([a for a, n in sizes.items() for _ in range(n)])
    animals = animals[rng.permutation(animals.size)]  # cells of an animal need not be adjacent
    counts = resample_counts(animals, 400, np.random.default_rng(2))
    assert counts.shape == (animals.size, 400) and (counts >= 0).all()
    counts = counts.T  # one replicate per row below
    for r in range(400):
        # each animal enters k times (k drawn animals), each time with as many cells as it has
        per_animal = {a: counts[r, animals == a].sum() for a in sizes}
        k = {a: per_animal[a] / n for a, n in sizes.items()}
        assert all(float(v).is_integer() for v in k.values()), per_animal
        assert sum(k.values()) == len(sizes)
    # every animal is drawn in some replicate and missed in another
    missed = np.array([[counts[r, animals == a].sum() == 0 for a in sizes] for r in range(400)])
    assert missed.any(axis=0).all() and (~missed).any(axis=0).all()
    flat = resample_counts(animals, 300, np.random.default_rng(3), hierarchical=False).T
    assert (flat.sum(axis=1) == animals.size).all()
    # cells are equally likely: mean count 1 each (tolerance ~5 standard errors)
    np.testing.assert_allclose(flat.mean(axis=0), 1.0, atol=0.3)
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.35)


def test_median_ci_point_estimate_nan_handling_and_seeding():
    rng = np.random.default_rng(4)
    values, animals = _population(rng, 6, 20, 0.3)
    values[[0, 5]] = np.nan
    med, lo, hi = median_ci(values, animals, Bootstrap(200, 0), key="g")
    assert med == pytest.approx(np.nanmedian(values), abs=0)
    assert lo < med < hi
    # same key and seed -> the same interval; another key or seed -> other draws
    assert median_ci(values, animals, Bootstrap(200, 0), key="g") == (med, lo, hi)
    assert median_ci(values, animals, Bootstrap(200, 0), key="h")[1:] != (lo, hi)
    assert median_ci(values, animals, Bootstrap(200, 1), key="g")[1:] != (lo, hi)
    assert median_ci([0.4], ["x"], Bootstrap(100, 0)) == (0.4, 0.4, 0.4)
    assert all(np.isnan(median_ci([np.nan], ["x"], Bootstrap(100, 0))))
    with pytest.raises(ValueError, match="3 values but 2 animals"):
        median_ci([1.0, 2.0, 3.0], ["a", "b"])


def test_interval_covers_the_true_median_about_95_percent():
    # 200 simulated experiments of 12 animals x 30 cells with between-animal spread; the
    # population median is 0. With 12 animals the percentile interval undercovers a little
    # (a few %); the flat cell bootstrap, which ignores animals, undercovers badly.
    rng = np.random.default_rng(5)
    n_exp, boot = 200, Bootstrap(n_boot=400, seed=0)
    flat = Bootstrap(n_boot=400, seed=0, hierarchical=False)
    hits_h = hits_f = 0
    for e in range(n_exp):
        values, animals = _population(rng, 12, 30, sd_animal=0.5)
        _, lo, hi = median_ci(values, animals, boot, key=e)
        hits_h += lo <= 0.0 <= hi
        _, lo, hi = median_ci(values, animals, flat, key=e)
        hits_f += lo <= 0.0 <= hi
    # binomial sd at 200 draws ~ 1.5 %; the tolerances allow the small-sample undercoverage
    assert 0.86 <= hits_h / n_exp <= 0.995, hits_h
    assert hits_f / n_exp < 0.75, hits_f


def test_interval_shrinks_with_more_cells_and_widens_with_animal_variance():
    rng = np.random.default_rng(6)
    boot = Bootstrap(n_boot=1000, seed=0)

    def width(values, animals, b=boot):
        _, lo, hi = median_ci(values, animals, b)
        return hi - lo

    # no animal effect: 16x the cells -> about a quarter of the width (1/sqrt(n))
    few = width(*_population(rng, 10, 10, sd_animal=0.0))
    many = width(*_population(rng, 10, 160, sd_animal=0.0))
    assert 0.15 < many / few < 0.4
    # same cells, strong animal effect: the hierarchical interval is wider than the flat one
    values, animals = _population(rng, 10, 60, sd_animal=1.0)
    h = width(values, animals)
    f = width(values, animals, Bootstrap(n_boot=1000, seed=0, hierarchical=False))
    assert h > 2.0 * f
    # without an animal effect both agree (within the replicates' noise)
    values, animals = _population(rng, 10, 60, sd_animal=0.0)
    ratio = width(values, animals) / width(values, animals, Bootstrap(1000, 0, False))
    assert 0.75 < ratio < 1.35


def test_paired_replicates_of_identical_scores_differ_by_exactly_zero():
    rng = np.random.default_rng(7)
    values, animals = _population(rng, 8, 25, 0.4)
    counts = resample_counts(animals, 500, key_rng(0, "pair"))
    d = weighted_medians(values, counts) - weighted_medians(values.copy(), counts)
    assert (d == 0).all()
    assert percentile_interval(d) == (0.0, 0.0) and not is_resolved(0.0, 0.0)
    assert bootstrap_p(d) == 1.0 and wilcoxon_p(values - values) == 1.0
    # a shift of every cell moves every replicate by the shift: resolved, smallest p
    d = weighted_medians(values + 0.2, counts) - weighted_medians(values, counts)
    np.testing.assert_allclose(d, 0.2, atol=1e-12)
    lo, hi = percentile_interval(d)
    assert is_resolved(lo, hi) and bootstrap_p(d) == pytest.approx(2 / 501)


def test_bootstrap_p_and_percentiles_known_answers():
    d = np.arange(-10, 90) / 100.0  # 100 replicates, 11 of them <= 0
    assert bootstrap_p(d) == pytest.approx(2 * 12 / 101)
    assert bootstrap_p(-d) == pytest.approx(2 * 12 / 101)
    assert np.isnan(bootstrap_p([np.nan]))
    lo, hi = percentile_interval(np.arange(1001.0))
    assert (lo, hi) == pytest.approx((25.0, 975.0), abs=1e-9)
    assert is_resolved(0.01, 0.2) and is_resolved(-0.3, -0.1) and not is_resolved(-0.1, 0.1)
    assert not is_resolved(np.nan, 0.5)
    p = wilcoxon_p(np.r_[np.full(30, 0.1), 0.0])
    assert 0 < p < 1e-5
    # rows at once: the same p-values as one at a time, 1.0 for all-zero rows
    rng = np.random.default_rng(8)
    d = rng.normal(0.02, 0.1, (5, 40))
    d[1] = 0.0
    d[2, :10] = 0.0
    np.testing.assert_allclose(wilcoxon_p(d), [wilcoxon_p(row) for row in d], rtol=1e-12)
    assert wilcoxon_p(d)[1] == 1.0


def test_bootstrap_settings_are_checked():
    assert Bootstrap.from_config(None) == Bootstrap(1000, 0)
    assert Bootstrap.from_config({"n_boot": 200, "seed": 3}) == Bootstrap(200, 3)
    with pytest.raises(ValueError, match="n_boot=0"):
        Bootstrap(0)
    with pytest.raises(ValueError, match="seed=-1"):
        Bootstrap(100, -1)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['nboot'\]"):
        Bootstrap.from_config({"nboot": 10})


def test_projected_width_draws_n_animals_and_scales_with_them():
    """The power analysis: n_animals animals per replicate (whole animals: each replicate's
    total is n_animals x the equal size), the observed count gives median_ci's interval, and
    when animals differ far more than cells the width falls as 1/sqrt(animals)."""
    rng = np.random.default_rng(11)
    values, animals = _population(rng, 8, 30, sd_animal=1.0, sd_cell=0.1)
    counts = resample_counts(animals, 200, np.random.default_rng(12), n_animals=20)
    assert (counts.sum(axis=0) == 20 * 30).all()
    per_animal = np.array([[counts[animals == a, r].sum() for a in np.unique(animals)]
                           for r in range(200)])
    assert (per_animal % 30 == 0).all()  # animals stay whole
    # the same generator state gives the same draws with n_animals = the observed count
    np.testing.assert_array_equal(resample_counts(animals, 50, np.random.default_rng(5)),
                                  resample_counts(animals, 50, np.random.default_rng(5),
                                                  n_animals=8))
    boot = Bootstrap(4000, 0)
    _, lo, hi = median_ci(values, animals, boot, key="w")
    w8 = projected_width(values, animals, 8, boot, key="w")
    assert w8 == pytest.approx(hi - lo, rel=0.15)
    w32 = projected_width(values, animals, 32, boot, key="w")
    assert w32 == pytest.approx(w8 / 2, rel=0.2)  # 4x the animals, half the width
    assert projected_width(values, animals, 128, boot) < w32
    assert np.isnan(projected_width(np.full(4, np.nan), ["a", "a", "b", "b"], 4))
    with pytest.raises(ValueError, match="n_animals=0"):
        resample_counts(animals, 10, np.random.default_rng(0), n_animals=0)
