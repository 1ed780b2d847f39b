"""Rate maps: binning model activity and recorded spikes on the same grid.

Two recipes live here, one per side of the comparison:

* :func:`bin_activity` - model units (SPEC §3.1): the mean activity of each unit over the
  samples that fall in each spatial bin; unvisited bins are NaN.
* :func:`spikes_to_ratemap` - recorded (or simulated) cells (SPEC §3.2): spike count per
  bin divided by time spent in the bin, unvisited bins set to 0, then Gaussian smoothing
  with sigma = 1 bin (``scipy.ndimage.gaussian_filter`` with ``mode="constant"``).

Both take explicit bin edges, and every rate-map file stores the edges it was made with
(:func:`save_model_ratemaps`), so that :func:`check_same_edges` can refuse a comparison of
maps made on different grids. The original code printed its edges and asked the user to
check them by eye.

Conventions: positions in metres, times in seconds, maps indexed ``resp[ix, iy, unit]``
with ``ix`` along x, edges of shape ``(nx + 1,)`` and ``(ny + 1,)``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "EdgeMismatchError",
    "make_edges",
    "bin_index",
    "bin_activity",
    "occupancy",
    "spikes_to_ratemap",
    "check_same_edges",
    "save_model_ratemaps",
    "load_model_ratemaps",
]

#: Bin size of every rate map in the paper, in cm (SPEC §3.1, §3.2).
BIN_CM = 5.0
#: Gaussian smoothing width of data rate maps, in bins (SPEC §3.2).
SMOOTH_SIGMA_BINS = 1.0


class EdgeMismatchError(ValueError):
    """Two rate maps (or a map and a dataset) were made on different spatial bins."""


def make_edges(lo: float, hi: float, bin_cm: float = BIN_CM) -> np.ndarray:
    """Bin edges ``linspace(lo, hi, nbins + 1)`` in metres, ``nbins = (hi - lo) / bin_cm``.

    ``nbins`` is rounded to the nearest integer (at least 1), as the original computes it
    from the box width in cm (SPEC §3.1): a 1 m box gives 20 bins of 5 cm.
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"bin range must be finite and increasing, got lo={lo!r}, hi={hi!r}")
    if not bin_cm > 0:
        raise ValueError(f"bin_cm must be positive, got {bin_cm!r}")
    nbins = max(1, int(round((hi - lo) * 100.0 / bin_cm)))
    return np.linspace(lo, hi, nbins + 1)


def bin_index(positions: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """Flat bin index ``ix * ny + iy`` of each position.

    positions: (n, 2) metres. Positions outside the edges are clipped into the outermost
    bins (a model walker may touch the wall while the data's edges come from the extremes
    the animals reached, a few mm inside). Returns (n,) int64.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (n, 2), got {positions.shape}")
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    ix = np.clip(np.searchsorted(x_edges, positions[:, 0], side="right") - 1, 0, nx - 1)
    iy = np.clip(np.searchsorted(y_edges, positions[:, 1], side="right") - 1, 0, ny - 1)
    return ix * ny + iy


def bin_activity(positions: np.ndarray, activity: np.ndarray, x_edges: np.ndarray,
                 y_edges: np.ndarray) -> np.ndarray:
    """Mean activity per spatial bin (SPEC §3.1).

    positions: (n, 2) metres; activity: (n, n_units). Returns (nx, ny, n_units) with NaN in
    bins no sample visited. Samples with non-finite positions are ignored.
    """
    positions = np.asarray(positions, dtype=float)
    activity = np.asarray(activity)
    if activity.ndim == 1:
        activity = activity[:, None]
    if activity.shape[0] != positions.shape[0]:
        raise ValueError(f"positions ({positions.shape[0]} samples) and activity "
                         f"({activity.shape[0]} samples) differ in length")
    keep = np.isfinite(positions).all(axis=1)
    idx = bin_index(positions[keep], x_edges, y_edges)
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    counts = np.bincount(idx, minlength=nx * ny).astype(float)
    sums = np.zeros((nx * ny, activity.shape[1]), dtype=np.float64)
    _sum_by_bin(sums, idx, activity[keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    return means.reshape(nx, ny, -1)


def _sum_by_bin(out: np.ndarray, idx: np.ndarray, values: np.ndarray) -> None:
    """``out[b] += sum of values[idx == b]`` via one sparse product (fast for many units)."""
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(idx)), (idx, np.arange(len(idx)))),
                               shape=(out.shape[0], len(idx)))
    out += onehot @ values.astype(np.float64, copy=False)


def occupancy(positions: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray,
              dt: float | np.ndarray) -> np.ndarray:
    """Time spent per bin in seconds, (nx, ny). ``dt`` is the sample period(s) in s."""
    positions = np.asarray(positions, dtype=float)
    keep = np.isfinite(positions).all(axis=1)
    weights = np.broadcast_to(np.asarray(dt, dtype=float), (len(positions),))[keep]
    idx = bin_index(positions[keep], x_edges, y_edges)
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    return np.bincount(idx, weights=weights, minlength=nx * ny).reshape(nx, ny)


def spikes_to_ratemap(positions: np.ndarray, times: np.ndarray,
                      spike_times: Sequence[np.ndarray], x_edges: np.ndarray,
                      y_edges: np.ndarray, sigma_bins: float = SMOOTH_SIGMA_BINS,
                      speed_range: tuple[float, float] | None = None,
                      min_occupancy_s: float = 0.0,
                      mask: np.ndarray | None = None) -> np.ndarray:
    """Smoothed firing-rate maps from spike times and tracked positions (SPEC §3.2).

    Used for both the synthetic dataset and real recordings, so both go through one recipe.

    positions: (n, 2) metres, tracked at ``times`` (n,) seconds (NaN rows = lost tracking,
    ignored); spike_times: one array of spike times (s) per cell. Each spike is assigned to
    the position sample nearest in time (samples whose position is NaN drop their spikes).
    Rate per bin = spikes in bin / time in bin, where each sample counts for the median
    sample period (0.02 s at 50 Hz). Unvisited bins (and bins below ``min_occupancy_s``) are
    set to 0, then the map is smoothed with a Gaussian of ``sigma_bins`` (mode "constant",
    as the lab did). ``speed_range`` (m/s, optional, off by default per SPEC §3.2) keeps
    only samples whose speed lies in it. ``mask`` (nx, ny) bool marks bins inside the arena;
    bins outside it are NaN in the result (e.g. the corners of a cylinder).

    Returns (nx, ny, n_cells) in Hz.
    """
    from scipy.ndimage import gaussian_filter

    positions = np.asarray(positions, dtype=float)
    times = np.asarray(times, dtype=float).ravel()
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"positions must have shape (n, 2), got {positions.shape}")
    if len(times) != len(positions):
        raise ValueError(f"times ({len(times)}) and positions ({len(positions)}) differ in length")
    if len(times) < 2:
        raise ValueError("need at least two position samples to make a rate map")
    if np.any(np.diff(times) <= 0):
        raise ValueError("position times must be strictly increasing")
    dt = float(np.median(np.diff(times)))
    nx, ny = len(x_edges) - 1, len(y_edges) - 1

    valid = np.isfinite(positions).all(axis=1)
    if speed_range is not None:
        speed = _speed(positions, times)
        lo, hi = speed_range
        valid &= (speed >= lo) & (speed <= hi)
    idx = np.full(len(positions), -1, dtype=np.int64)
    idx[valid] = bin_index(positions[valid], x_edges, y_edges)
    occ = np.bincount(idx[valid], minlength=nx * ny).astype(float) * dt

    # Nearest sample for each spike: halfway points between samples as boundaries.
    mids = (times[1:] + times[:-1]) / 2.0
    maps = np.zeros((nx * ny, len(spike_times)))
    for c, st in enumerate(spike_times):
        st = np.asarray(st, dtype=float).ravel()
        st = st[(st >= times[0] - dt / 2) & (st <= times[-1] + dt / 2)]
        sample = np.searchsorted(mids, st)
        b = idx[sample]
        maps[:, c] = np.bincount(b[b >= 0], minlength=nx * ny)
    visited = occ > max(min_occupancy_s, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(visited[:, None], maps / occ[:, None], 0.0)
    rates = rates.reshape(nx, ny, -1)
    if sigma_bins and sigma_bins > 0:
        rates = gaussian_filter(rates, sigma=(sigma_bins, sigma_bins, 0), mode="constant")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (nx, ny):
            raise ValueError(f"mask shape {mask.shape} does not match the bins ({nx}, {ny})")
        rates[~mask] = np.nan
    return rates


def _speed(positions: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Speed in m/s per sample (central differences), NaN where tracking is lost."""
    v = np.gradient(positions, times, axis=0)
    return np.hypot(v[:, 0], v[:, 1])


def check_same_edges(edges_a: tuple[np.ndarray, np.ndarray], edges_b: tuple[np.ndarray, np.ndarray],
                     what: str, atol: float = 1e-9) -> None:
    """Refuse to compare maps made on different bins.

    edges_*: (x_edges, y_edges) in metres. ``what`` names the two things being compared
    (e.g. ``"model ratemaps results/ratemaps/x_1.0.h5 vs dataset arena 1.0"``) and appears
    in the error.
    """
    for axis, a, b in zip("xy", edges_a, edges_b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=atol):
            raise EdgeMismatchError(
                f"{what}: {axis} bin edges differ: {len(a) - 1} bins over "
                f"[{a[0]:.4f}, {a[-1]:.4f}] m vs {len(b) - 1} bins over "
                f"[{b[0]:.4f}, {b[-1]:.4f}] m; maps must be made on the same bins")


def save_model_ratemaps(path: str | os.PathLike, maps: Mapping[str, np.ndarray],
                        x_edges: np.ndarray, y_edges: np.ndarray, attrs: Mapping) -> Path:
    """Write model rate maps to HDF5, atomically.

    Layout: ``/x_edges``, ``/y_edges`` (metres); ``/{layer}/resp`` (nx, ny, n_units), mean
    unit activity per bin (arbitrary units); root attributes from ``attrs`` (model, arena,
    seeds, n_batches, mec version, ...), lists stored as arrays.
    """
    import h5py

    from mec import __version__
    from mec.io import atomic_path

    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("x_edges", data=np.asarray(x_edges, dtype=float))
            f.create_dataset("y_edges", data=np.asarray(y_edges, dtype=float))
            for layer, resp in maps.items():
                resp = np.asarray(resp)
                if resp.ndim != 3 or resp.shape[:2] != (nx, ny):
                    raise ValueError(f"layer {layer!r}: maps of shape {resp.shape} do not match "
                                     f"the ({nx}, {ny}) bins of the edges")
                f.create_dataset(f"{layer}/resp", data=resp.astype(np.float32),
                                 compression="gzip", compression_opts=4)
            f.attrs["mec_version"] = __version__
            f.attrs["layers"] = np.array(list(maps), dtype="S")
            for k, v in attrs.items():
                f.attrs[k] = np.asarray(v, dtype="S") if _is_str_list(v) else v
    return Path(path)


def _is_str_list(v) -> bool:
    return isinstance(v, (list, tuple)) and any(isinstance(x, str) for x in v)


def load_model_ratemaps(path: str | os.PathLike, layers: Sequence[str] | None = None):
    """Read a file written by :func:`save_model_ratemaps`.

    Returns ``(maps, (x_edges, y_edges), attrs)`` with ``maps[layer]`` (nx, ny, n_units)
    float64. Raises ``FileNotFoundError``/``ValueError`` naming the file and the problem.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model rate-map file {path} does not exist")
    with h5py.File(path, "r") as f:
        if "x_edges" not in f or "y_edges" not in f:
            raise ValueError(f"{path}: no x_edges/y_edges; not a mec rate-map file")
        edges = (f["x_edges"][()], f["y_edges"][()])
        attrs = {k: _decode(v) for k, v in f.attrs.items()}
        available = [k for k in f if k not in ("x_edges", "y_edges")]
        wanted = list(layers) if layers is not None else available
        missing = [layer for layer in wanted if layer not in available]
        if missing:
            raise ValueError(f"{path}: layer(s) {missing} not in file (has {available})")
        maps = {layer: f[f"{layer}/resp"][()].astype(np.float64) for layer in wanted}
    return maps, edges, attrs


def _decode(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.dtype.kind == "S":
        return [x.decode() for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
