"""Hierarchical bootstrap of medians over animals and cells (methods §7.7).

Every median of the summary (a ceiling, a floor, a model's score) is a median over cells
that come from a few animals. Cells of one animal share its session, its path and its
recording quality, so they are not independent draws: an interval from resampling cells
alone is too narrow when animals differ. The bootstrap here resamples at both levels, as
the data were drawn:

1. draw as many animals as there are, with replacement;
2. within each drawn animal, draw as many cells as it has, with replacement;
3. take the median of the pooled cells (each drawn copy of an animal counts in full).

Repeated ``n_boot`` times, the 2.5th and 97.5th percentiles of the medians are the 95 %
interval (percentile interval). A draw is stored as a count matrix (n_boot, n_cells): how
many times each cell enters each replicate. The median of a replicate is then a weighted
median of the sorted scores, so one matrix serves every score vector on the same cells;
applying the same matrix to two models' scores is the *paired* bootstrap (the same animals
and cells for both), and the difference of identical scores is exactly 0 in every replicate.

Seeds: :func:`key_rng` derives a generator from the configured seed and a text key (the
group's arena, map, setting, ...), so a group's interval does not depend on which other
groups a run has, nor on their order.

numpy only; the paired Wilcoxon test imports scipy inside :func:`wilcoxon_p`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Bootstrap", "DEFAULT_BOOTSTRAP", "CI_LEVEL", "key_rng", "resample_counts",
           "weighted_medians", "median_ci", "percentile_interval", "bootstrap_p",
           "wilcoxon_p", "is_resolved"]

#: Coverage of every interval: 95 %, the 2.5th and 97.5th percentiles of the replicates.
CI_LEVEL = 0.95

# Largest float array (elements) one chunk of draws may allocate: replicates are drawn in
# chunks so that one animal with thousands of cells beside many small ones stays in memory.
_MAX_DRAW_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Bootstrap:
    """Settings of the hierarchical bootstrap (config ``summary.bootstrap``).

    n_boot: replicates (>= 1; the percentile interval needs a few hundred, 1000 by default).
    seed: base seed; each group's generator is ``key_rng(seed, key)``.
    hierarchical: True resamples animals, then cells within them (the summary's method);
        False resamples cells only, ignoring animals (for comparison, methods §7.7).
    """

    n_boot: int = 1000
    seed: int = 0
    hierarchical: bool = True

    def __post_init__(self):
        if isinstance(self.n_boot, bool) or not isinstance(self.n_boot, (int, np.integer)) \
                or self.n_boot < 1:
            raise ValueError(f"bootstrap n_boot={self.n_boot!r} must be an integer >= 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise ValueError(f"bootstrap seed={self.seed!r} must be an integer >= 0")

    @classmethod
    def from_config(cls, cfg) -> "Bootstrap":
        """From a mapping ``{n_boot, seed}`` (config ``summary.bootstrap``), a Bootstrap (kept)
        or None (the defaults)."""
        if cfg is None:
            return DEFAULT_BOOTSTRAP
        if isinstance(cfg, Bootstrap):
            return cfg
        unknown = sorted(set(cfg) - {"n_boot", "seed", "hierarchical"})
        if unknown:
            raise ValueError(f"bootstrap settings {dict(cfg)!r}: unknown key(s) {unknown}; "
                             "expected n_boot, seed, hierarchical")
        return cls(**dict(cfg))


DEFAULT_BOOTSTRAP = Bootstrap()


def key_rng(seed: int, key) -> np.random.Generator:
    """A generator for one group: seeded by ``seed`` and the CRC-32 of ``str(key)`` (stable
    across runs and machines, unlike ``hash``)."""
    return np.random.default_rng([int(seed), zlib.crc32(str(key).encode("utf-8"))])


def _animal_codes(animals: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(order, sizes): the cells' indices grouped by animal (stable) and each animal's size."""
    codes, inverse = np.unique(np.asarray(animals, dtype=str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return order, np.bincount(inverse, minlength=codes.size)


def resample_counts(animals: Sequence, n_boot: int, rng: np.random.Generator,
                    hierarchical: bool = True) -> np.ndarray:
    """(n_boot, n_cells) int counts: how often each cell enters each bootstrap replicate.

    animals: (n_cells,) the animal of each cell (any labels). hierarchical: draw n_animals
    animals with replacement, then, within each drawn animal, as many cells as it has with
    replacement; False: draw n_cells cells with replacement, ignoring animals. A replicate's
    total is the sum of the drawn animals' sizes (it varies when animals differ in size).
    """
    n = len(animals)
    if n == 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    if not hierarchical:
        flat = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
        return np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n)
    order, sizes = _animal_codes(animals)
    n_anim, n_max = sizes.size, int(sizes.max())
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    counts = np.empty((n_boot, n), dtype=np.int64)
    chunk = max(1, _MAX_DRAW_ELEMENTS // (n_anim * n_max))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        drawn = rng.integers(0, n_anim, size=(b, n_anim))           # animals of each replicate
        size = sizes[drawn]                                          # (b, n_anim)
        u = rng.random((b, n_anim, n_max))
        cell = offsets[drawn][..., None] + np.floor(u * size[..., None]).astype(np.int64)
        valid = np.arange(n_max) < size[..., None]                   # n_a draws per animal
        flat = (np.arange(b)[:, None, None] * n + cell)[valid]
        counts[start:start + b] = np.bincount(flat, minlength=b * n).reshape(b, n)
    # columns were in animal-grouped order; put them back in the caller's cell order
    out = np.empty_like(counts)
    out[:, order] = counts
    return out


def weighted_medians(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n_boot,) the median of each replicate: ``values`` (n,) repeated ``counts[r]`` times.

    Equals ``np.median(np.repeat(values, counts[r]))`` (the mean of the two middle values
    for an even total); NaN for a replicate with no cell. ``values`` must be finite.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.full(counts.shape[0], np.nan)
    order = np.argsort(values, kind="stable")
    v = values[order]
    cum = np.cumsum(counts[:, order], axis=1)
    total = cum[:, -1]
    lo, hi = (total - 1) // 2, total // 2
    # position p of the expanded sorted sample holds v[j], j = the number of cum <= p
    i_lo = np.minimum((cum <= lo[:, None]).sum(axis=1), v.size - 1)
    i_hi = np.minimum((cum <= hi[:, None]).sum(axis=1), v.size - 1)
    out = 0.5 * (v[i_lo] + v[i_hi])
    out[total == 0] = np.nan
    return out


def percentile_interval(replicates: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """(low, high): the (1-level)/2 and (1+level)/2 percentiles of the finite replicates
    (linear interpolation); NaN, NaN when none is finite."""
    r = np.asarray(replicates, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return np.nan, np.nan
    lo, hi = np.percentile(r, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def median_ci(values: Sequence[float], animals: Sequence, bootstrap: Bootstrap | None = None,
              key="") -> tuple[float, float, float]:
    """(median, ci_low, ci_high) of the finite ``values`` (one per cell, ``animals`` its
    animal) with the hierarchical bootstrap's 95 % percentile interval. ``key`` names the
    group (it seeds the draws, :func:`key_rng`). No finite value: NaN, NaN, NaN."""
    bootstrap = Bootstrap.from_config(bootstrap)
    values = np.asarray(values, dtype=float)
    animals = np.asarray(animals)
    if values.shape != animals.shape:
        raise ValueError(f"median_ci: {values.shape[0]} values but {animals.shape[0]} animals")
    fin = np.isfinite(values)
    v, a = values[fin], animals[fin]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    counts = resample_counts(a, bootstrap.n_boot, key_rng(bootstrap.seed, key),
                             bootstrap.hierarchical)
    lo, hi = percentile_interval(weighted_medians(v, counts))
    return float(np.median(v)), lo, hi


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of a difference being 0: twice the smaller share of
    replicates on either side of 0 (each share counting 0 itself, with the +1 correction
    ``(1 + k) / (1 + n)`` so that p is never 0), at most 1. An interval excluding 0 gives
    p < 0.05 (up to the percentiles' interpolation)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan
    n = d.size
    below, above = (1 + np.sum(d <= 0)) / (1 + n), (1 + np.sum(d >= 0)) / (1 + n)
    return float(min(1.0, 2 * min(below, above)))


def wilcoxon_p(differences: np.ndarray) -> float:
    """Wilcoxon signed-rank p (two-sided, zero differences dropped) of per-cell paired
    differences; 1.0 when every difference is 0 (nothing to test), NaN for no finite one.
    It treats cells as independent, which they are not within an animal (methods §7.7)."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan
    if not np.any(d != 0):
        return 1.0
    from scipy import stats

    return float(stats.wilcoxon(d, zero_method="wilcox").pvalue)


def is_resolved(ci_low: float, ci_high: float) -> bool:
    """True when the interval excludes 0 (both ends finite and on the same side of 0)."""
    return bool(np.isfinite(ci_low) and np.isfinite(ci_high) and (ci_low > 0 or ci_high < 0))
