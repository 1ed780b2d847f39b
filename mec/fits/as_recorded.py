"""A model scored as one more recorded animal: its units resampled as Poisson cells (methods §7.8).

Why. In the halves setting (:mod:`mec.fits.halves`) the ceiling's sources are the other
animals' *unsmoothed recorded* maps: each bin's value is counts / time, so it carries the
Poisson noise of that bin. A model's maps are noise-free bin means. A model as good as an
animal would therefore score above the ceiling, and a ceiling that a model can pass is not a
bound (on the default run's files the demo network scored 0.490 against a ceiling of 0.298
at 1.0 m). Here each model unit is *recorded* as a recorded cell is: its map is made a rate
map on the recorded cells' scale, spike counts are drawn from a Poisson distribution with that
rate times the time a recorded animal spent in each bin, and its map is counts / time,
exactly as an animal's unsmoothed map (:data:`mec.fits.settings.UNSMOOTHED`). A model whose
units were the other animals' noise-free tuning then scores about the ceiling (measured in
methods §7.8), so model and ceiling are on one scale.

Choices, each for a reason:

* **Occupancy**: the target animal's own whole-session time per bin (s per bin, (nx, ny)).
  The model is then a population recorded in the target's session, with the target's visited
  bins; its counts are drawn afresh, so none of the target's spike noise enters the source.
* **Rates**: a unit's map is made non-negative (shifted by its minimum when it has negative
  values: a tanh or linear layer; a non-negative map is only scaled) and scaled so that its
  occupancy-weighted mean rate is the recorded cells' mean rate of the same rank: the units,
  ranked by mean activity, get the quantiles of the recorded cells' mean-rate distribution
  of the arena (counts / time over the session, every animal). This keeps the units' order
  of activity and the recorded population's spread of rates (half the recorded cells fire
  below the median rate and their maps are mostly noise); a single common rate would give
  every unit the same signal-to-noise. A silent unit (mean 0) stays silent.
* **Seeds**: the draws of one (model, layer, arena, target animal, copy, draw) come from a
  :class:`numpy.random.SeedSequence` of a CRC-32 of those names, so a score is reproducible
  and does not depend on the order of the run.
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

__all__ = ["recorded_mean_rates", "recorded_cells", "record_units",
           "record_model", "seed_for"]


def recorded_mean_rates(dataset, arena, where: str = "dataset") -> np.ndarray:
    """(n_cells,) mean rate of every recorded cell of an arena: its session's spike count
    over its session's time (the dataset's units, spikes per s); cells of every animal.
    ValueError (naming ``where`` and the arena) when the dataset stores no spike counts."""
    return recorded_cells(dataset, arena, where)[0]


def recorded_cells(dataset, arena, where: str = "dataset") -> tuple:
    """``(rates, dispersion)``, each (n_cells,), of every recorded cell of an arena (every
    animal): the mean rate (session's spike count / session's time) and the dispersion
    ``phi``, the cell's noise variance per bin over the Poisson variance, measured from the
    two recording halves (module docstring): with d = c_A / t_A - c_B / t_B and
    lam = (c_A + c_B) / (t_A + t_B) per bin visited in both halves,
    phi = sum d**2 / sum lam (1 / t_A + 1 / t_B) (1 for pure Poisson spiking; 1 where the
    cell has no spike). ValueError (naming ``where`` and the arena) without spike counts or
    halves."""
    counts = getattr(dataset, "half_counts", {}).get(arena, {})
    occ = getattr(dataset, "half_occupancy", {}).get(arena, {})
    rates, phis = [], []
    for animal in dataset[arena]:
        if animal not in counts or animal not in occ:
            raise ValueError(f"{where} arena {arena} animal {animal}: no recording halves "
                             f"stored (half_counts/half_occupancy), which recording a model "
                             f"as an animal needs (methods §7.8); remake the dataset (rule "
                             f"make_dataset)")
        c = np.asarray(counts[animal], dtype=np.float64)           # (2, nx, ny, n_cells)
        t = np.nan_to_num(np.asarray(occ[animal], dtype=np.float64), nan=0.0)
        if t.ndim == 3:
            t = np.broadcast_to(t[..., None], c.shape)
        ta, tb = t[0], t[1]
        both = (ta > 0) & (tb > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(both, c[0] / ta - c[1] / tb, 0.0)
            lam = np.where(both, (c[0] + c[1]) / (ta + tb), 0.0)
            var = np.where(both, lam * (1.0 / ta + 1.0 / tb), 0.0)
            tot = t.sum(axis=(0, 1, 2))
            rates.append(np.where(tot > 0, np.nansum(c, axis=(0, 1, 2)) / tot, 0.0))
            phi = (d ** 2).sum(axis=(0, 1)) / var.sum(axis=(0, 1))
        phis.append(np.where(np.isfinite(phi) & (phi > 0), phi, 1.0))
    rates = np.concatenate(rates) if rates else np.zeros(0)
    if rates.size == 0 or not np.all(np.isfinite(rates)):
        raise ValueError(f"{where} arena {arena}: no finite recorded mean rates")
    return rates, np.concatenate(phis)


def seed_for(*names) -> np.random.SeedSequence:
    """A SeedSequence from names (str/int/float): CRC-32 of each name's text, so equal
    names give equal draws in any process and order."""
    return np.random.SeedSequence([zlib.crc32(str(n).encode()) for n in names])


def record_units(maps, occupancy, rates: np.ndarray, seed, n_draws: int = 1,
                 dispersion: np.ndarray | None = None) -> list:
    """Model units recorded as Poisson cells: a list of ``n_draws`` maps (nx, ny, n_units).

    maps: (nx, ny, n_units) plain bin means of the model (NaN: no sample in the bin);
    occupancy: (nx, ny) time per bin of a recorded session (s; 0 or NaN: unvisited), or
    (nx, ny, n_cells) per cell as a dataset stores it (averaged over its cells);
    rates: (n_cells,) the recorded cells' mean rates (:func:`recorded_cells`); the unit of
    rank k among n (by mean activity) is given the rate of the recorded cell of rank
    floor((k + 0.5) / n * n_cells) and that cell's ``dispersion`` (n_cells,) (None: 1,
    Poisson): its counts are Poisson with mean rate x time / phi, multiplied by phi, so the
    noise variance per bin is phi times the Poisson variance, as measured for that cell;
    seed: a SeedSequence (:func:`seed_for`) or int; draw d uses its d-th spawned child.
    Each map is counts / time where the session visited the bin and the model is finite,
    NaN elsewhere (the :data:`mec.fits.settings.UNSMOOTHED` map of a recorded cell).
    """
    x = np.asarray(maps, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"model maps must be (nx, ny, n_units), got shape {x.shape}")
    t = np.nan_to_num(np.asarray(occupancy, dtype=np.float64), nan=0.0)
    if t.ndim == 3:                     # per cell (the dataset's layout): the session's time
        t = t.mean(axis=-1)
    if t.shape != x.shape[:2]:
        raise ValueError(f"occupancy of shape {t.shape} does not match the maps {x.shape[:2]}")
    rates = np.asarray(rates, dtype=np.float64).ravel()
    if rates.size == 0 or np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise ValueError("recorded mean rates must be finite, non-negative and not empty")
    phi = np.ones_like(rates) if dispersion is None else \
        np.asarray(dispersion, dtype=np.float64).ravel()
    if phi.shape != rates.shape or np.any(~np.isfinite(phi) | (phi <= 0)):
        raise ValueError(f"dispersion must be ({rates.size},) finite and positive, got "
                         f"shape {phi.shape}")
    use = (t > 0)[..., None] & np.isfinite(x)
    lo = np.min(np.where(use, x, np.inf), axis=(0, 1))
    lo = np.where(np.isfinite(lo) & (lo < 0), lo, 0.0)        # shift only negative units
    pos = np.where(use, x - lo, 0.0)
    w = np.where(use, t[..., None], 0.0)
    tot = w.sum(axis=(0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(tot > 0, (pos * w).sum(axis=(0, 1)) / tot, 0.0)
    n = x.shape[-1]
    order = np.argsort(mean, kind="stable")
    by_rate = np.argsort(rates, kind="stable")
    pick = by_rate[np.minimum(((np.arange(n) + 0.5) / n * rates.size).astype(int),
                              rates.size - 1)]
    want, phi_u = np.empty(n), np.empty(n)
    want[order], phi_u[order] = rates[pick], phi[pick]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(mean > 0, want / mean, 0.0)
    lam = pos * scale                                          # rate per bin, spikes / s
    w_eff = w / phi_u                                          # phi x Poisson variance
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    out = []
    for child in ss.spawn(int(n_draws)):
        counts = np.random.default_rng(child).poisson(lam * w_eff)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where(use, counts / np.where(w_eff > 0, w_eff, 1.0), np.nan))
    return out


def record_model(model_maps, dataset, arena, animal, key: Sequence, cells=None,
                 n_draws: int = 1) -> list:
    """A model's maps for one target animal, recorded along its session (module docstring):
    a list of ``n_draws`` draws, each (nx, ny, n_units), or, for a list of copies (several
    trajectory seeds), a list of draws each a list of recorded copies."""
    occ = dataset.occupancy[arena][animal]
    rates, phi = recorded_cells(dataset, arena) if cells is None else cells
    if isinstance(model_maps, (list, tuple)):
        per = [record_units(m, occ, rates, seed_for(*key, arena, animal, f"copy{k}"), n_draws,
                            phi) for k, m in enumerate(model_maps)]
        return [[p[d] for p in per] for d in range(n_draws)]
    return record_units(model_maps, occ, rates, seed_for(*key, arena, animal), n_draws, phi)

