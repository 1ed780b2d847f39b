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
interval (percentile interval). A draw is stored as a count matrix (n_cells, n_boot): how
many times each cell enters each replicate. The median of a replicate is then a weighted
median of the sorted scores, so one matrix serves every score vector on the same cells;
applying the same matrix to two models' scores is the *paired* bootstrap (the same animals
and cells for both), and the difference of identical scores is exactly 0 in every replicate.

Seeds: the draws of a set of cells are seeded by the configured seed and the cells'
identities (animal, cell id; :class:`Replicates`), so a group's interval does not depend on
which other groups a run has, nor on their order, and every median taken over the same cells
(each model and layer, the ceiling, the floors of one arena, map and setting) uses the same
replicates: intervals and paired differences come from one set of draws, and the count
matrix is drawn once per set of cells, not once per median.

numpy only; the paired Wilcoxon test imports scipy inside :func:`wilcoxon_p`.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Bootstrap", "DEFAULT_BOOTSTRAP", "CI_LEVEL", "Replicates", "cell_identities",
           "key_rng", "resample_counts",
           "weighted_medians", "median_ci", "percentile_interval", "projected_width", "bootstrap_p",
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
                    hierarchical: bool = True, n_animals: int | None = None) -> np.ndarray:
    """(n_cells, n_boot) int32 counts: how often each cell enters each bootstrap replicate
    (cells along the first axis, so that one cell's counts are contiguous: the weighted
    median sums down the cells).

    animals: (n_cells,) the animal of each cell (any labels). hierarchical: draw n_animals
    animals with replacement, then, within each drawn animal, as many cells as it has with
    replacement; False: draw n_cells cells with replacement, ignoring animals. A replicate's
    total is the sum of the drawn animals' sizes (it varies when animals differ in size).
    n_animals: animals drawn per replicate (hierarchical only; None: as many as there are):
    a study of that many animals like these (:func:`projected_width`).
    """
    n = len(animals)
    out = np.empty((n, n_boot), dtype=np.int32)
    if n == 0:
        return out
    if not hierarchical:
        flat = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
        out[:] = np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n).T
        return out
    order, sizes = _animal_codes(animals)
    n_anim, n_max = sizes.size, int(sizes.max())
    n_draw = n_anim if n_animals is None else int(n_animals)
    if n_draw < 1:
        raise ValueError(f"bootstrap draws: n_animals={n_animals!r} must be >= 1")
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    chunk = max(1, _MAX_DRAW_ELEMENTS // (n_draw * n_max))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        drawn = rng.integers(0, n_anim, size=(b, n_draw))           # animals of each replicate
        size = sizes[drawn]                                          # (b, n_draw)
        u = rng.random((b, n_draw, n_max))
        cell = offsets[drawn][..., None] + np.floor(u * size[..., None]).astype(np.int64)
        valid = np.arange(n_max) < size[..., None]                   # n_a draws per animal
        flat = (np.arange(b)[:, None, None] * n + cell)[valid]
        # rows were in animal-grouped order; put them back in the caller's cell order
        out[order, start:start + b] = np.bincount(flat, minlength=b * n).reshape(b, n).T
    return out


def weighted_medians(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(n_boot,) the median of each replicate: ``values`` (n,) repeated ``counts[:, r]``
    times (``counts``: (n, n_boot), :func:`resample_counts`).

    Equals ``np.median(np.repeat(values, counts[:, r]))`` (the mean of the two middle
    values for an even total); NaN for a replicate with no cell. ``values`` must be finite.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.full(counts.shape[1], np.nan)
    order = np.argsort(values, kind="stable")
    v = values[order]
    # int32 sums are twice as fast; the totals fit unless cells x largest count reaches 2^31
    wide = counts.shape[0] * int(counts.max(initial=0)) >= 2 ** 31 - 1
    cum = np.cumsum(counts[order], axis=0, dtype=np.int64 if wide else np.int32)  # (n, n_boot)
    total = cum[-1]
    lo, hi = (total - 1) // 2, total // 2
    # position p of the expanded sorted sample holds v[j], j = the number of cum <= p
    i_lo = np.minimum(np.count_nonzero(cum <= lo, axis=0), v.size - 1)
    i_hi = np.minimum(np.count_nonzero(cum <= hi, axis=0), v.size - 1)
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


class Replicates:
    """The bootstrap draws of sets of cells, drawn once per set and kept.

    ``counts(animals, cells)`` gives the (n_cells, n_boot) count matrix of those cells, in
    the caller's order. It is seeded by ``bootstrap.seed``, ``key`` and the cells'
    identities in a canonical order (sorted by a 64-bit hash of animal and cell id,
    pandas.util.hash_array), so the same cells get
    the same replicates whatever their order and whichever groups came before; one
    instance shares them between all the medians taken over the same cells.
    """

    def __init__(self, bootstrap: Bootstrap | None = None):
        self.bootstrap = Bootstrap.from_config(bootstrap)
        self._drawn: dict = {}

    def counts(self, animals: Sequence, cells: Sequence | None = None, key="") -> np.ndarray:
        """(n, n_boot) counts of the cells (``cells``: their ids; None: their positions)."""
        a = np.asarray(animals)
        c = np.arange(a.size) if cells is None else np.asarray(cells)
        if a.shape != c.shape:
            raise ValueError(f"bootstrap draws: {a.size} animals but {c.size} cell ids")
        return self.counts_of(cell_identities(a, c), a, key)

    def counts_of(self, ident: np.ndarray, animals: Sequence, key="") -> np.ndarray:
        """:meth:`counts` from precomputed :func:`cell_identities` (the summary hashes a
        whole table once rather than each group)."""
        order = np.argsort(ident, kind="stable")
        digest = hashlib.blake2b(f"{key}\x1d".encode("utf-8") + ident[order].tobytes(),
                                 digest_size=16).hexdigest()
        if digest not in self._drawn:
            b = self.bootstrap
            self._drawn[digest] = resample_counts(np.asarray(animals)[order], b.n_boot,
                                                  key_rng(b.seed, digest), b.hierarchical)
        drawn = self._drawn[digest]
        out = np.empty_like(drawn)
        out[order] = drawn
        return out


def cell_identities(animals: Sequence, cells: Sequence) -> np.ndarray:
    """(n,) uint64: a hash of each (animal, cell id) pair as text (pandas.util.hash_array),
    the cells' identity that seeds their draws (:class:`Replicates`)."""
    from pandas.util import hash_array

    a = np.asarray(animals).astype(str).astype(object)
    c = np.asarray(cells).astype(str).astype(object)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps by design
        return hash_array(a) * np.uint64(0x9E3779B97F4A7C15) + hash_array(c)


def median_ci(values: Sequence[float], animals: Sequence, bootstrap: Bootstrap | None = None,
              key="", cells: Sequence | None = None, replicates: Replicates | None = None,
              identities: np.ndarray | None = None) -> tuple[float, float, float]:
    """(median, ci_low, ci_high) of the finite ``values`` (one per cell, ``animals`` its
    animal, ``cells`` its id or None) with the hierarchical bootstrap's 95 % percentile
    interval. The draws are seeded by the seed, ``key`` and the cells' identities
    (:class:`Replicates`; pass one to share draws between calls; ``identities``: the
    cells' precomputed :func:`cell_identities`). No finite value: NaN, NaN, NaN."""
    values = np.asarray(values, dtype=float)
    animals = np.asarray(animals)
    if values.shape != animals.shape:
        raise ValueError(f"median_ci: {values.shape[0]} values but {animals.shape[0]} animals")
    replicates = replicates if replicates is not None else Replicates(bootstrap)
    fin = np.isfinite(values)
    v, a = values[fin], animals[fin]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    if identities is not None:
        counts = replicates.counts_of(np.asarray(identities)[fin], a, key)
    else:
        counts = replicates.counts(a, None if cells is None else np.asarray(cells)[fin], key)
    lo, hi = percentile_interval(weighted_medians(v, counts))
    return float(np.median(v)), lo, hi


def projected_width(values: Sequence[float], animals: Sequence, n_animals: int,
                    bootstrap: Bootstrap | None = None, key="") -> float:
    """Width (ci_high - ci_low) of the 95 % interval of the median had the study recorded
    ``n_animals`` animals like these: each replicate draws ``n_animals`` of the observed
    animals with replacement, then each drawn animal's cells with replacement
    (:func:`resample_counts`). At the observed number of animals this is the interval of
    :func:`median_ci` (up to the draws). A power analysis, not a promise: more animals also
    change the ceiling, and animals not yet recorded may differ from these. NaN without a
    finite value."""
    values = np.asarray(values, dtype=float)
    animals = np.asarray(animals)
    fin = np.isfinite(values)
    if not fin.any():
        return np.nan
    b = Bootstrap.from_config(bootstrap)
    counts = resample_counts(animals[fin], b.n_boot, key_rng(b.seed, f"{key}/n={n_animals}"),
                             True, n_animals)
    lo, hi = percentile_interval(weighted_medians(values[fin], counts))
    return hi - lo


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


def wilcoxon_p(differences: np.ndarray):
    """Wilcoxon signed-rank p (two-sided, zero differences dropped) of per-cell paired
    differences (normal approximation with the tie correction, as scipy uses for more than
    50 cells; the same for one row or many); 1.0 when every difference is 0 (nothing to
    test), NaN for no finite one. It treats cells as independent, which they are not within an animal (methods §7.7).

    differences: (n,) -> a float; (n_pairs, n) finite rows -> (n_pairs,) p-values in one
    vectorised call (scipy.stats.wilcoxon along axis 1).
    """
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    if d.ndim == 2:
        if d.shape[0] == 0:
            return np.zeros(0)
        if not np.isfinite(d).all():
            raise ValueError("wilcoxon_p: rows of differences must be finite (shared cells)")
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.asarray(stats.wilcoxon(d, axis=1, zero_method="wilcox",
                                          method="approx").pvalue, dtype=float)
        zero = ~np.any(d != 0, axis=1)
        p[zero] = 1.0 if d.shape[1] else np.nan
        return p
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox", method="approx").pvalue)


def is_resolved(ci_low: float, ci_high: float) -> bool:
    """True when the interval excludes 0 (both ends finite and on the same side of 0)."""
    return bool(np.isfinite(ci_low) and np.isfinite(ci_high) and (ci_low > 0 or ci_high < 0))
