"""Which bins and which units a fit uses, so that one bad cell never takes down the others.

A fit keeps the bins where every source unit and every target cell is finite (methods §4.2), so
each unit's NaN bins are everyone's. With the paper's data every cell of a session shares one
mask and that rule is the original's. A single broken unit, though, would decide for all: a
cell NaN everywhere leaves no bin at all (and scikit-learn's "Found array with 0 sample(s)",
naming nothing), and a unit NaN in most bins shrinks every other cell's fit to a few bins.
:func:`kept_bins` applies the rule with two exceptions, each announced with a
:class:`FitInputWarning` that names the unit:

1. a unit with no finite bin is left out: a source unit is dropped from the source, a target
   cell is not scored (NaN);
2. a unit that alone removes more than half of the bins all the other units share
   (:data:`MIN_SHARED`) is left out of the joint fit: a source unit is dropped from the
   source; a target cell is fitted on its own, with its own bins (mec.fits.core), so its
   score is still made, on the bins it has.

Rule 2 looks at one unit at a time, so units that share their mask (the cells of a session,
of an animal) are never dropped by it: the original's intersection holds for them, and an
animal whose session covers another part of the arena than the others' is a question for the
data, not for this rule. The last source unit and the last target cell are never dropped.
With no such unit the result is the original rule, bit for bit.

The ElasticNet grid (mec.fits.elasticnet) uses the same function, so its splits line up with
the fits' splits.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

__all__ = ["MIN_SHARED", "FitInputError", "FitInputWarning", "KeptBins", "kept_bins",
           "unit_names"]

#: A unit is left out of a joint fit when it alone would remove more than this fraction of
#: the bins all other units share (module docstring, rule 2): keeping it would leave every
#: other cell less than half of its bins.
MIN_SHARED = 0.5


class FitInputError(ValueError):
    """A fit that cannot be made from its inputs (no finite bin, no usable source unit); the
    message names where (arena, animal, map) and what is missing."""


class FitInputWarning(UserWarning):
    """A unit left out of a fit, or a cell that could not be scored; the message names it."""


@dataclasses.dataclass(frozen=True)
class KeptBins:
    """The bins and units of one fit.

    valid: (n_bins,) bool, the bins of the joint fit; sources: (n_src,) bool, source units
    used; targets: (n_tgt,) bool, target cells of the joint fit; empty_targets: (n_tgt,) bool,
    cells with no finite bin (not scored). Cells in neither are fitted on their own.
    """

    valid: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    empty_targets: np.ndarray

    @property
    def alone(self) -> np.ndarray:
        """Indices of the target cells to fit on their own bins (rule 2)."""
        return np.flatnonzero(~self.targets & ~self.empty_targets)


def unit_names(ids, idx, kind: str, limit: int = 10) -> str:
    """``"cell 'a1', cell 'a2' ..."`` (or ``"unit 3"`` without ids) for the indices ``idx``."""
    idx = list(np.asarray(idx).ravel())
    names = [f"{kind} {str(ids[j])!r}" if ids is not None else f"{kind} {j}" for j in idx[:limit]]
    return ", ".join(names) + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def kept_bins(source_finite: np.ndarray, target_finite: np.ndarray, source_ids=None,
              target_ids=None, where: str = "", warn: bool = True) -> KeptBins:
    """The bins and units of a fit (module docstring).

    source_finite: (n_bins, n_src) bool, where each source unit is finite (with several
        copies of the source: finite in every copy); target_finite: (n_bins, n_tgt) bool.
    source_ids, target_ids: names of the units for the messages (None: their indices).
    where: what the fit is ("arena 1.0, target animal a, map ridge"), starts every message.
    warn: emit a FitInputWarning for each unit left out.
    Raises FitInputError when no source unit has a finite bin, or when no bin is finite in
    both the source and the target cells left.
    """
    S = np.asarray(source_finite, dtype=bool)
    T = np.asarray(target_finite, dtype=bool)
    if S.ndim != 2 or T.ndim != 2 or S.shape[0] != T.shape[0]:
        raise ValueError(f"{_prefix(where)}finite masks must be (n_bins, n_units) with the same "
                         f"bins, got {S.shape} and {T.shape}")
    n_bins, n_src = S.shape
    n_tgt = T.shape[1]
    if S.all() and T.all():  # nothing to decide (model maps on full grids, ...)
        return KeptBins(np.ones(n_bins, bool), np.ones(n_src, bool), np.ones(n_tgt, bool),
                        np.zeros(n_tgt, bool))
    pre = _prefix(where)
    F = np.concatenate([S, T], axis=1)
    is_src = np.arange(F.shape[1]) < n_src
    active = F.any(axis=0)
    empty = ~active
    if not active[:n_src].any():
        raise FitInputError(f"{pre}no source unit has a finite bin (all {n_src} are NaN "
                            f"everywhere); nothing to fit from")
    for idx, ids, kind, fate in ((np.flatnonzero(empty[:n_src]), source_ids, "source unit",
                                  "left out of the source"),
                                 (np.flatnonzero(empty[n_src:]), target_ids, "cell",
                                  "not scored (NaN)")):
        if warn and idx.size:
            warnings.warn(f"{pre}{unit_names(ids, idx, kind)} {'has' if idx.size == 1 else 'have'} "
                          f"no finite bin; {fate}", FitInputWarning, stacklevel=3)
    if not active[n_src:].any():  # no cell to score; the caller returns NaN for all
        return KeptBins(np.zeros(n_bins, bool), active[:n_src].copy(), np.zeros(n_tgt, bool),
                        empty[n_src:].copy())
    while True:
        idx = np.flatnonzero(active)
        miss = ~F[:, idx]
        cnt = miss.sum(axis=1)
        n_all = int((cnt == 0).sum())
        # bins shared by all units but j: those all share, plus those only j misses
        without = n_all + miss[cnt == 1].sum(axis=0)
        # the last source unit and the last target cell stay (the fit needs both)
        for side in (is_src[idx], ~is_src[idx]):
            if side.sum() == 1:
                without[side] = -1
        j = int(np.argmax(without))
        if without[j] <= 0 or n_all >= MIN_SHARED * without[j]:
            break
        unit = idx[j]
        active[unit] = False
        if warn:
            if is_src[unit]:
                name, fate = unit_names(source_ids, [unit], "source unit"), "left out of the source"
            else:
                name, fate = unit_names(target_ids, [unit - n_src], "cell"), "fitted on its own bins"
            warnings.warn(f"{pre}{name} is finite in only {int(F[:, unit].sum())} of the "
                          f"{int(without[j])} bins all other units share (keeping it would leave "
                          f"{n_all}); {fate}", FitInputWarning, stacklevel=3)
    valid = F[:, active].all(axis=1)
    if not valid.any():
        src_bins = int(F[:, active & is_src].all(axis=1).sum())
        tgt_bins = int(F[:, active & ~is_src].all(axis=1).sum())
        raise FitInputError(f"{pre}no bin is finite in both the source and the target: of "
                            f"{n_bins} bins the source units share {src_bins}, the target cells "
                            f"{tgt_bins}, and none of them in common (maps of different "
                            f"places?)")
    return KeptBins(valid, active[:n_src].copy(), active[n_src:].copy(), empty[n_src:].copy())
