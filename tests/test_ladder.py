"""The validation ladder (benchmarks/metric.py, methods §7.10): graded degradations of the
ground truth are ranked in order by the halves setting, and pure noise scores about 0."""

import numpy as np
import pytest
from conftest import benchmark_module


def _ladder():
    return benchmark_module("metric")


def test_degrade_endpoints_and_nesting():
    ladder = _ladder()
    rng = np.random.default_rng(0)
    maps = rng.random((8, 9, 5))
    maps[0, 0] = np.nan                                       # a bin outside the arena
    np.testing.assert_allclose(ladder.degrade(maps, 0.0, 3), maps, equal_nan=True)
    noise = ladder.degrade(maps, 1.0, 3)
    assert np.isnan(noise[0, 0]).all() and np.isfinite(noise[1:]).all()
    inside = np.isfinite(maps).all(axis=-1)
    # correlation with the truth falls along the ladder; pure noise is unrelated to it
    corr = []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        d = ladder.degrade(maps, t, 3)
        corr.append(np.mean([np.corrcoef(maps[inside][:, u], d[inside][:, u])[0, 1]
                             for u in range(5)]))
    assert np.all(np.diff(corr) < 0) and corr[0] == pytest.approx(1.0)
    assert abs(corr[-1]) < 0.3
    with pytest.raises(ValueError, match="1.5"):
        ladder.degrade(maps, 1.5, 0)


def test_halves_setting_ranks_the_ladder():
    from mec.data.synthetic import simulate_dataset
    from mec.fits.core import TABLE_COLUMNS
    from mec.fits.settings import make_settings

    ladder = _ladder()
    ds = simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=3,
                          cells_per_animal=(12, 12), session_min=10.0, seed=2, progress=False)
    settings = {k: v for k, v in make_settings(0.2, robust=True, halves=True).items()
                if k == "halves"}
    fits = ladder.ladder_fits(ds, "1.0", settings, n_rungs=5, num_splits=1, seed=0)
    assert list(fits.columns) == TABLE_COLUMNS
    assert sorted(fits["source"].unique()) == [f"rung{k}" for k in range(5)]
    assert len(fits) == 5 * 36
    summary = ladder.ladder_summary(fits, 5, bootstrap={"n_boot": 200})
    row = summary.set_index("setting").loc["halves"]
    assert row["spearman"] > 0.8
    assert row["medians"][0] > 0.1                            # the truth predicts the cells
    assert abs(row["medians"][-1]) < 0.05                     # pure noise scores about 0
    assert 0 <= row["resolved"] <= row["n_adjacent"] == 4
