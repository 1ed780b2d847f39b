"""A dataset described in words: what rule make_dataset writes to its log.

:func:`describe_dataset` lists, per arena, its geometry, bins and bin size in cm, the
sessions placed in it (extent, shift, coverage, spikes outside the tracking window; for
ingested recordings), the animals and cells per type, the bins without data, and every
warning kept in the file (``attrs["warnings"]``).
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from mec.data.arenas import arena_key, arena_sort_key

__all__ = ["describe_dataset", "check_animals"]


def _json_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return []
    return out if isinstance(out, list) else []


def _cm(metres: float) -> float:
    """Centimetres to 0.1 cm, without "-0.0"."""
    return round(100 * metres, 1) + 0.0


def check_animals(dataset, min_animals: int = 2, where: str = "dataset") -> None:
    """ValueError naming the arena and its animal(s) when an arena has fewer than
    ``min_animals`` animals: the noise ceiling predicts each animal from the others."""
    for arena in sorted(dataset, key=arena_sort_key):
        animals = sorted(dataset[arena])
        if len(animals) < min_animals:
            raise ValueError(
                f"{where}: arena {arena_key(arena)!r} has {len(animals)} animal(s) "
                f"({', '.join(map(str, animals)) or 'none'}); the noise ceiling (inter-animal "
                f"consistency) predicts each animal's cells from the other animals', so every "
                f"arena needs at least {min_animals} animals")


def describe_dataset(dataset, path=None) -> list[str]:
    """Lines describing ``dataset`` (a :class:`mec.data.Dataset`) for a log."""
    lines = [f"dataset {dataset.attrs.get('name', '?')} (source {dataset.attrs.get('source', '?')})"
             + (f" -> {path}" if path is not None else "")]
    sessions = _json_list(dataset.attrs.get("sessions"))
    try:
        coverage = json.loads(dataset.attrs.get("coverage") or "{}")
    except (TypeError, ValueError):
        coverage = {}
    for arena in sorted(dataset, key=arena_sort_key):
        key = arena_key(arena)
        geom = dataset.geometry(arena)
        xe, ye = (np.asarray(e, float) for e in dataset.edges[arena])
        bx, by = 100 * np.diff(xe), 100 * np.diff(ye)
        # square within 1 %: the synthetic edges run from the walkers' extremes (9.996 cm)
        square = np.allclose(np.r_[bx, by], bx[0], rtol=0.01)
        lines.append(
            f"arena {key}: {geom.describe()}; {len(bx)} x {len(by)} bins of {bx.mean():.4g} x "
            f"{by.mean():.4g} cm{'' if square else ' (NOT square)'}; edges x {100 * xe[0]:.4g}.."
            f"{100 * xe[-1]:.4g} cm, y {100 * ye[0]:.4g}..{100 * ye[-1]:.4g} cm"
            + (f"; {100 * coverage[key]:.0f}% of its bins visited by some session"
               if key in coverage else ""))
        for s in (r for r in sessions if arena_key(r.get("arena", "")) == key):
            lines.append(
                f"  session {s['session']} (animal {s['animal']}, read in {s.get('units', '?')}): "
                f"extent {100 * s['extent_m'][0]:.1f} x {100 * s['extent_m'][1]:.1f} cm, shift "
                f"({_cm(s['shift_m'][0])}, {_cm(s['shift_m'][1])}) cm into the "
                f"arena's frame, coverage "
                f"{100 * s['coverage']:.0f}%, {s['nan_bins']} NaN bins, "
                f"{100 * s['lost_tracking']:.1f}% untracked, {100 * s['beyond_edges']:.1f}% "
                f"beyond the edges, {s['cells']} cells, {s['spikes_outside']}/{s['spikes']} "
                f"spikes outside the tracking window"
                + (f", dropped {s['dropped_cells']}" if s.get("dropped_cells") else ""))
        types: Counter = Counter()
        n_cells = 0
        nan_bins = []
        for animal in sorted(dataset[arena]):
            rec = dataset[arena][animal]
            resp = np.asarray(rec["resp"])
            n_cells += resp.shape[2]
            ct = rec.get("cell_types")
            types.update(map(str, ct) if ct is not None else ["unknown"] * resp.shape[2])
            nan_bins.append(float(np.isnan(resp).mean()))
        lines.append(f"  {len(dataset[arena])} animals, {n_cells} cells; per type "
                     f"{dict(sorted(types.items()))}; bins without data (NaN) "
                     f"{100 * np.mean(nan_bins):.1f}% on average (max "
                     f"{100 * np.max(nan_bins):.1f}% in one animal)")
    warnings_ = _json_list(dataset.attrs.get("warnings"))
    lines.append(f"warnings: {len(warnings_)}")
    lines += [f"  WARNING {w}" for w in warnings_]
    return lines
