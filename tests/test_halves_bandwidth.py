"""benchmarks/halves_bandwidth.py: the leave-one-half-out bandwidth score on known answers -
noise-free halves score about 1 with little smoothing and less with more blur, independent
noise halves score about 0 at any width."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def bw():
    return benchmark_module("halves_bandwidth")


class _Data(SimpleNamespace):
    def __getitem__(self, arena):
        return self.records[arena]


def _dataset(counts_a, counts_b, occupancy):
    """One arena (1.0), one animal: half counts (2, nx, ny, cells) and occupancy (2, nx, ny)."""
    hc = np.stack([counts_a, counts_b])
    ho = np.stack([occupancy, occupancy])
    resp = np.ones(counts_a.shape)
    return _Data(records={1.0: {"m1": {"resp": resp}}}, half_counts={1.0: {"m1": hc}},
                 half_occupancy={1.0: {"m1": ho}})


def test_noise_free_halves_prefer_little_smoothing(bw):
    nx = ny = 20
    x, y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    # fine-grained tuning (period 4 bins): blur can only lose it
    rates = np.stack([5 + 4 * np.cos(2 * np.pi * (x + k) / 4) * np.cos(2 * np.pi * y / 4)
                      for k in range(3)], axis=-1)
    occ = np.full((nx, ny), 2.0)
    ds = _dataset(rates * occ[..., None], rates * occ[..., None], occ)
    cv_small, half_small = bw.bandwidth_scores(ds, 1.0, 0.3)
    cv_wide, _ = bw.bandwidth_scores(ds, 1.0, 2.0)
    assert cv_small.shape == half_small.shape == (3,)
    assert np.all(cv_small > 0.95) and np.all(half_small > 0.999)  # identical halves
    assert np.all(cv_wide < cv_small - 0.3)


def test_independent_noise_halves_score_about_zero(bw):
    rng = np.random.default_rng(0)
    occ = np.full((20, 20), 1.0)
    a, b = (rng.poisson(3.0, size=(20, 20, 40)).astype(float) for _ in range(2))
    ds = _dataset(a, b, occ)
    for sigma in (0.5, 1.0, 2.0):
        cv, _ = bw.bandwidth_scores(ds, 1.0, sigma)
        assert abs(np.nanmedian(cv)) < 0.05, sigma
