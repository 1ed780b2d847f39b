"""Helpers of the original API: ``unit_concat`` and ``generate_train_test_splits``."""

from __future__ import annotations

import numpy as np

from mec.fits.splits import generate_train_test_splits as _splits

__all__ = ["unit_concat", "generate_train_test_splits"]


def generate_train_test_splits(
    num_states, train_frac=0.2, num_splits=10, split_start_seed=0, grid_shape=None, valid=None,
    shape_2d=None,
):
    """mec.fits.splits.generate_train_test_splits; ``shape_2d`` is the original's name of
    ``grid_shape``. Pass arguments by keyword (the original ordered them differently)."""
    if shape_2d is not None:
        if grid_shape is not None and tuple(grid_shape) != tuple(shape_2d):
            raise ValueError(f"grid_shape={grid_shape!r} and shape_2d={shape_2d!r} disagree")
        grid_shape = shape_2d
    return _splits(
        num_states,
        train_frac=train_frac,
        num_splits=num_splits,
        split_start_seed=split_start_seed,
        grid_shape=grid_shape,
        valid=valid,
    )


def unit_concat(results, arena_size, inner_key="corr"):
    """Concatenate per-cell values of every animal of one arena.

    results: ``results[arena][animal][inner_key]`` (as get_fits returns), or, with
        ``inner_key=None``, ``results[arena][animal]`` per-cell values (e.g. grid scores).
    Returns a pandas Series indexed by cell id ("units") when the values are labelled Series,
    else a 1-D numpy array. ``np.median(unit_concat(...))`` gives the SPEC 4.3 summary.
    """
    import pandas as pd

    if arena_size not in results:
        raise ValueError(f"arena {arena_size!r} not in results (arenas: {list(results)})")
    per_animal = results[arena_size]
    if inner_key is None:
        parts = [per_animal[a] for a in per_animal]
    else:
        parts = [per_animal[a][inner_key] for a in per_animal if inner_key in per_animal[a]]
    if not parts:
        return np.array([], dtype=np.float64)
    if all(isinstance(p, pd.Series) for p in parts):
        out = pd.concat(parts)
        out.index.name = "units"
        return out
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])
