"""Helpers of the original API (neuroailab/mec ``mec.neural_fits.utils``): ``unit_concat``,
``generate_train_test_splits`` and ``package_scores``, with the original's argument order and
defaults.

Result type: the original returns per-cell scores as an xarray ``DataArray`` with one dimension
``"units"`` whose coordinate is the cell ids. So does this module when xarray is installed
(``pip install "mec[compat]"``; ``[test]`` has it too). Without xarray the same values come as a
pandas ``Series`` whose index is named ``"units"``; ``xarray.DataArray(series)`` and
``data_array.to_series()`` convert one into the other.
"""

from __future__ import annotations

import numpy as np

from mec.data.arenas import find_arena
from mec.fits.splits import generate_train_test_splits as _splits

__all__ = ["unit_concat", "generate_train_test_splits", "package_scores", "has_xarray"]


def has_xarray() -> bool:
    """True when xarray can be imported (results are then DataArrays, as in the original)."""
    try:
        import xarray  # noqa: F401
    except ImportError:
        return False
    return True


def package_scores(scores, cell_ids):
    """Per-cell scores (n_cells,) labelled by cell id along ``"units"``.

    An xarray DataArray (dims ``("units",)``, coordinate ``units`` = cell_ids as given) when
    xarray is installed, else a pandas Series with index name ``"units"``. Scores that are not
    1-D are returned unchanged, as in the original.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        return scores
    ids = np.asarray(cell_ids).ravel()
    if ids.shape[0] != scores.shape[0]:
        raise ValueError(f"package_scores: {scores.shape[0]} scores for {ids.shape[0]} cell_ids")
    if has_xarray():
        import xarray as xr

        return xr.DataArray(scores, coords={"units": ids}, dims=["units"])
    import pandas as pd

    return pd.Series(scores, index=pd.Index(ids, name="units"))


def generate_train_test_splits(num_states, split_start_seed=0, num_splits=10, train_frac=0.2,
                               shape_2d=None, *, grid_shape=None, valid=None):
    """Train/test splits of ``num_states`` bins (methods §4.2), the original's argument order.

    Split s of a random split permutes the bins with ``RandomState(split_start_seed + s)`` and
    trains on the first ``ceil(train_frac * n)``. ``train_frac`` may name a structured split
    ("topbottom", "leftright", "diag1", "diag2", "quad") of the ``shape_2d`` = (nx, ny) grid.
    Keyword-only additions of this project: ``grid_shape`` (the same as ``shape_2d``) and
    ``valid`` (bins kept; see :func:`mec.fits.splits.generate_train_test_splits`).

    A negative ``split_start_seed`` is refused naming it. Unlike the original, ``train_frac=0``
    (no training bins) and ``train_frac=1`` (no test bins) are refused too, as is a split
    left with fewer than 2 bins on either side (mec.fits.splits.SplitError).
    """
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


def unit_concat(d, arena_size, inner_key=None):
    """Concatenate the per-cell values of every animal of one arena (the original's function).

    d: ``d[arena_size][animal]`` per-cell values (grid scores, say: DataArrays, Series or
        arrays), or, with ``inner_key``, ``d[arena_size][animal][inner_key]`` (as ``get_fits``
        returns: ``inner_key="corr"``). Animals that lack ``inner_key`` are left out, as in the
        original.
    Returns one DataArray along ``"units"`` (xarray installed and labelled parts), a Series with
    index ``"units"`` (Series parts), else a 1-D float array. ``np.median(...)`` of it is the
    methods §4.3 summary.
    """
    # 1.0, "1.0" and "1" name one arena, as in the dataset (mec.data.arenas.find_arena)
    try:
        arena_size = find_arena(d, arena_size, "the results")
    except ValueError as err:
        raise ValueError(f"unit_concat: {err}") from None
    per_animal = d[arena_size]
    if inner_key is None:
        parts = []
        for animal, value in per_animal.items():
            if isinstance(value, dict):
                raise ValueError(
                    f"unit_concat: d[{arena_size!r}][{animal!r}] is a dict with keys {sorted(value)}; "
                    f"pass inner_key (e.g. inner_key='corr' for get_fits results)"
                )
            parts.append(value)
    else:
        parts = [per_animal[a][inner_key] for a in per_animal if inner_key in per_animal[a]]
    if not parts:
        what = "no animals" if not per_animal else f"no animal with inner_key={inner_key!r}"
        raise ValueError(f"unit_concat: arena {arena_size!r} has {what}")
    if has_xarray():
        import xarray as xr

        if all(isinstance(p, xr.DataArray) for p in parts):
            return xr.concat(parts, dim="units")
    import pandas as pd

    if all(isinstance(p, pd.Series) for p in parts):
        out = pd.concat(parts)
        out.index.name = "units"
        return out
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])
