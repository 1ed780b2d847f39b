"""Model rate-map files (HDF5): one (nx, ny, n_units) map per layer, with the bin edges and
the recipe they were made with, and optionally the samples per bin. Re-exported from
mec.ratemaps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec.ratemap_recipes import PAPER, get_recipe

#: Name of the optional (nx, ny) samples-per-bin dataset in a model rate-map file.
SAMPLE_COUNTS = "sample_counts"


def save_model_ratemaps(path: str | os.PathLike, maps: Mapping[str, np.ndarray],
                        x_edges: np.ndarray, y_edges: np.ndarray, attrs: Mapping, *,
                        counts: np.ndarray | None = None, recipe=None) -> Path:
    """Write model rate maps to HDF5, atomically.

    Layout: ``/x_edges``, ``/y_edges`` (metres); ``/{layer}/resp`` (nx, ny, n_units), mean
    unit activity per bin (arbitrary units); optional ``/sample_counts`` (nx, ny), the
    samples averaged in each bin (``counts``; what :func:`smooth_model_maps` weighs bins
    by); root attributes from ``attrs`` (model, arena, seeds, n_batches, mec version, ...),
    lists stored as arrays, and ``recipe``: the :class:`Recipe` the maps were made with (JSON;
    default :data:`PAPER`, whose model maps are the plain bin means).
    """
    from mec import __version__
    from mec.io import atomic_hdf5

    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    with atomic_hdf5(path) as f:  # built in memory: a full disk is a clean error (mec.io)
        f.create_dataset("x_edges", data=np.asarray(x_edges, dtype=float))
        f.create_dataset("y_edges", data=np.asarray(y_edges, dtype=float))
        for layer, resp in maps.items():
            resp = np.asarray(resp)
            if resp.ndim != 3 or resp.shape[:2] != (nx, ny):
                raise ValueError(f"layer {layer!r}: maps of shape {resp.shape} do not match "
                                 f"the ({nx}, {ny}) bins of the edges")
            f.create_dataset(f"{layer}/resp", data=resp.astype(np.float32),
                             compression="gzip", compression_opts=4)
        if counts is not None:
            counts = np.asarray(counts, dtype=np.float64)
            if counts.shape != (nx, ny):
                raise ValueError(f"sample counts of shape {counts.shape} do not match the "
                                 f"({nx}, {ny}) bins of the edges")
            f.create_dataset(SAMPLE_COUNTS, data=counts)
        f.attrs["mec_version"] = __version__
        f.attrs["recipe"] = (PAPER if recipe is None else get_recipe(recipe)).to_json()
        f.attrs["layers"] = np.array(list(maps), dtype="S")
        for k, v in attrs.items():
            f.attrs[k] = np.asarray(v, dtype="S") if _is_str_list(v) else v
    return Path(path)


def _is_str_list(v) -> bool:
    return isinstance(v, (list, tuple)) and any(isinstance(x, str) for x in v)


#: What to do about a model rate-map file of the workflow that cannot be read.
_REMAKE_MAPS = ("if the workflow made it, delete it and run the workflow again to remake it "
                "(rule export_ratemaps or export_baseline)")


def load_model_ratemaps(path: str | os.PathLike, layers: Sequence[str] | None = None):
    """Read a file written by :func:`save_model_ratemaps`.

    Returns ``(maps, (x_edges, y_edges), attrs)`` with ``maps[layer]`` (nx, ny, n_units)
    float64. Raises ``FileNotFoundError``/``ValueError`` naming the file and the problem.
    """
    from mec.io import UnreadableFileError, open_hdf5

    path = Path(path)
    with open_hdf5(path, "model rate-map file", _REMAKE_MAPS) as f:
        if "x_edges" not in f or "y_edges" not in f:
            raise ValueError(f"{path}: no x_edges/y_edges; not a mec rate-map file")
        try:
            edges = (f["x_edges"][()], f["y_edges"][()])
            attrs = {k: _decode(v) for k, v in f.attrs.items()}
            available = [k for k in f if k not in ("x_edges", "y_edges", SAMPLE_COUNTS)]
            wanted = list(layers) if layers is not None else available
            missing = [layer for layer in wanted if layer not in available]
            if missing:
                raise ValueError(f"{path}: layer(s) {missing} not in file (has {available})")
            no_resp = [layer for layer in wanted if "resp" not in f[layer]]
            if no_resp:
                raise ValueError(f"{path}: layer(s) {no_resp} have no 'resp' maps; not a mec "
                                 f"rate-map file, or an incomplete one ({_REMAKE_MAPS})")
            maps = {layer: f[f"{layer}/resp"][()].astype(np.float64) for layer in wanted}
        except OSError as err:  # opens, but the data cannot be read (truncated, corrupt)
            raise UnreadableFileError(f"model rate-map file {path} cannot be read ({err}); "
                                      f"{_REMAKE_MAPS}") from None
    return maps, edges, attrs


def read_sample_counts(path: str | os.PathLike) -> np.ndarray | None:
    """The (nx, ny) samples per bin of a model rate-map file, or None if it has none."""
    from mec.io import open_hdf5

    with open_hdf5(path, "model rate-map file", _REMAKE_MAPS) as f:
        return f[SAMPLE_COUNTS][()] if SAMPLE_COUNTS in f else None


def _decode(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind == "S":
        return [x.decode() for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
