# Long because: the one binning path every map goes through (edges, binning, spike rates,
# smoothing, reliability); the recipes and the map files are in mec.ratemap_recipes and
# mec.ratemap_files.
"""Rate maps: binning model activity and recorded spikes on the same grid.

Two recipes live here, one per side of the comparison:

* :func:`bin_activity` - model units (methods §3.1): the mean activity of each unit over the
  samples that fall in each spatial bin; unvisited bins are NaN.
* :func:`spikes_to_ratemap` - recorded (or simulated) cells (methods §3.2): spike count per
  bin divided by time spent in the bin, unvisited bins set to 0, then Gaussian smoothing
  with sigma = 1 bin (``scipy.ndimage.gaussian_filter`` with ``mode="constant"``).

Both take explicit bin edges, and every rate-map file stores the edges it was made with
(:func:`save_model_ratemaps`), so that :func:`check_same_edges` can refuse a comparison of
maps made on different grids. The original code printed its edges and asked the user to
check them by eye.

Recipes (methods §7.2). How counts become maps is a named :class:`Recipe`, stored beside the
edges with every dataset arena and model rate-map file, and checked the same way
(:func:`check_same_recipe`):

* :data:`PAPER` - the paper's (methods §3.1, 3.2): data maps zero-filled in unvisited bins, then
  a Gaussian of sigma 1 bin with ``mode="constant"``; model maps are plain bin means. The
  zero padding dims every data map along the walls, a pattern all maps share.
* :data:`ROBUST` - occupancy-normalised smoothing: spike counts and time per bin are smoothed
  separately and divided (a normalised convolution), so bins next to a wall or an unvisited
  bin are averages of visited bins only and nothing is dimmed; unvisited bins stay NaN. Model
  maps are smoothed the same way (activity sums and sample counts).

:func:`bin_spikes` gives the counts and occupancy a recipe sees (the dataset stores them per
cell), :func:`rates_from_counts` applies a recipe to them, :func:`smooth_model_maps` applies
it to model bin means, and :func:`split_half_reliability` is the within-animal reliability of
each cell (odd vs even minutes, Spearman-Brown corrected).

Conventions: positions in metres, times in seconds, maps indexed ``resp[ix, iy, unit]``
with ``ix`` along x, edges of shape ``(nx + 1,)`` and ``(ny + 1,)``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

# The recipes and the model rate-map files live beside this module (mec.ratemap_recipes,
# mec.ratemap_files); re-exported here, where the pipeline, the tests and users import them.
from mec.ratemap_files import (  # noqa: F401
    SAMPLE_COUNTS,
    load_model_ratemaps,
    read_sample_counts,
    save_model_ratemaps,
)
from mec.ratemap_recipes import (  # noqa: F401
    PAPER,
    RECIPES,
    ROBUST,
    SMOOTHING_MODES,
    EdgeMismatchError,
    Recipe,
    RecipeMismatchError,
    check_same_edges,
    check_same_recipe,
    get_recipe,
    recipe_from_attrs,
    recipe_from_json,
)

__all__ = [
    "EdgeMismatchError",
    "RecipeMismatchError",
    "Recipe",
    "PAPER",
    "ROBUST",
    "RECIPES",
    "HALVES_CHUNK_S",
    "time_halves",
    "bin_spikes_halves",
    "SMOOTHING_MODES",
    "get_recipe",
    "recipe_from_json",
    "recipe_from_attrs",
    "check_same_recipe",
    "bin_spikes",
    "rates_from_counts",
    "smooth_model_maps",
    "split_half_reliability",
    "RELIABILITY_THRESHOLD",
    "read_sample_counts",
    "make_edges",
    "bin_index",
    "bin_activity",
    "BinMeans",
    "occupancy",
    "spikes_to_ratemap",
    "check_same_edges",
    "save_model_ratemaps",
    "load_model_ratemaps",
]

#: Bin size of every rate map in the paper, in cm (methods §3.1, §3.2).
BIN_CM = 5.0
#: Gaussian smoothing width of data rate maps, in bins (methods §3.2).
SMOOTH_SIGMA_BINS = 1.0



def make_edges(lo: float, hi: float, bin_cm: float = BIN_CM) -> np.ndarray:
    """Bin edges ``linspace(lo, hi, nbins + 1)`` in metres, ``nbins = (hi - lo) / bin_cm``.

    ``nbins`` is rounded to the nearest integer (at least 1), as the original computes it
    from the box width in cm (methods §3.1): a 1 m box gives 20 bins of 5 cm.
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


class BinMeans:
    """Mean activity per spatial bin, accumulated batch by batch: the one binning of model
    activity (methods §3.1), which :func:`bin_activity` runs on one batch and
    mec.models.export.model_ratemaps streams over many (a paper-scale model's 400,000
    samples x 4096 units never sit in memory at once).

    Each :meth:`add` bins the samples with finite positions (:func:`bin_index`: positions
    outside the edges clipped into the outermost bins) and adds their activity to per-bin
    float64 sums, one per named layer, and their number to the per-bin sample counts.
    :meth:`means` divides: ``{name: (nx, ny, n_units)}``, NaN in bins no sample visited.
    The sums of several batches are added in the order of the batches.
    """

    def __init__(self, x_edges: np.ndarray, y_edges: np.ndarray):
        self.x_edges = np.asarray(x_edges, dtype=float)
        self.y_edges = np.asarray(y_edges, dtype=float)
        self.shape = (len(self.x_edges) - 1, len(self.y_edges) - 1)
        self.counts = np.zeros(self.shape[0] * self.shape[1])  # samples per bin (flat)
        self.sums: dict[str, np.ndarray] = {}
        self.n_samples = 0

    def add(self, positions: np.ndarray, activity: Mapping[str, np.ndarray]) -> np.ndarray:
        """Bin one batch: positions (n, 2) metres; activity {name: (n, n_units)} (or (n,)).
        Samples with a non-finite position are left out. Returns the (n,) bool mask of the
        samples binned."""
        positions = np.asarray(positions, dtype=float)
        if positions.ndim != 2 or positions.shape[1] != 2:
            raise ValueError(f"positions must have shape (n, 2), got {positions.shape}")
        keep = np.isfinite(positions).all(axis=1)
        idx = bin_index(positions[keep], self.x_edges, self.y_edges)
        self.counts += np.bincount(idx, minlength=len(self.counts))
        self.n_samples += len(idx)
        for name, values in activity.items():
            values = np.asarray(values)
            if values.ndim == 1:
                values = values[:, None]
            if values.shape[0] != positions.shape[0]:
                raise ValueError(f"positions ({positions.shape[0]} samples) and activity {name!r} "
                                 f"({values.shape[0]} samples) differ in length")
            if name not in self.sums:
                self.sums[name] = np.zeros((len(self.counts), values.shape[1]), dtype=np.float64)
            _sum_by_bin(self.sums[name], idx, values[keep])
        return keep

    def means(self) -> dict[str, np.ndarray]:
        """``{name: (nx, ny, n_units)}`` float64 bin means, NaN in unvisited bins."""
        out = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, sums in self.sums.items():
                m = sums / self.counts[:, None]
                m[self.counts == 0] = np.nan
                out[name] = m.reshape(*self.shape, -1)
        return out

    def sample_counts(self) -> np.ndarray:
        """(nx, ny) samples per bin."""
        return self.counts.reshape(self.shape)


def bin_activity(positions: np.ndarray, activity: np.ndarray, x_edges: np.ndarray,
                 y_edges: np.ndarray) -> np.ndarray:
    """Mean activity per spatial bin (methods §3.1): one batch of :class:`BinMeans`.

    positions: (n, 2) metres; activity: (n, n_units). Returns (nx, ny, n_units) with NaN in
    bins no sample visited. Samples with non-finite positions are ignored.
    """
    acc = BinMeans(x_edges, y_edges)
    acc.add(positions, {"activity": activity})
    return acc.means()["activity"]


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


def bin_spikes(positions: np.ndarray, times: np.ndarray, spike_times: Sequence[np.ndarray],
               x_edges: np.ndarray, y_edges: np.ndarray,
               speed_range: tuple[float, float] | None = None, min_occupancy_s: float = 0.0,
               samples: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts and time per bin: what a recipe turns into rate maps (methods §3.2).

    positions: (n, 2) metres, tracked at ``times`` (n,) seconds (NaN rows = lost tracking,
    ignored); spike_times: one array of spike times (s) per cell. Each spike is assigned to
    the position sample nearest in time (samples whose position is NaN drop their spikes);
    each sample counts for the median sample period (0.02 s at 50 Hz). ``speed_range`` (m/s)
    keeps only samples whose speed lies in it; ``samples`` (n,) bool keeps only those samples
    (e.g. the odd minutes of a session); spikes at dropped samples are dropped. Bins with no
    more than ``min_occupancy_s`` seconds count as unvisited: their time and counts are 0.

    Returns (counts (nx, ny, n_cells) float64, occupancy (nx, ny) seconds).
    """
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
    if samples is not None:
        samples = np.asarray(samples, dtype=bool).ravel()
        if samples.shape != valid.shape:
            raise ValueError(f"samples has {samples.size} entries for {valid.size} position samples")
        valid &= samples
    idx = np.full(len(positions), -1, dtype=np.int64)
    idx[valid] = bin_index(positions[valid], x_edges, y_edges)
    occ = np.bincount(idx[valid], minlength=nx * ny).astype(float) * dt

    # Nearest sample for each spike: halfway points between samples as boundaries.
    mids = (times[1:] + times[:-1]) / 2.0
    counts = np.zeros((nx * ny, len(spike_times)))
    for c, st in enumerate(spike_times):
        st = np.asarray(st, dtype=float).ravel()
        st = st[(st >= times[0] - dt / 2) & (st <= times[-1] + dt / 2)]
        sample = np.searchsorted(mids, st)
        b = idx[sample]
        counts[:, c] = np.bincount(b[b >= 0], minlength=nx * ny)
    if min_occupancy_s and min_occupancy_s > 0:
        low = occ <= float(min_occupancy_s)
        occ[low] = 0.0
        counts[low] = 0.0
    return counts.reshape(nx, ny, -1), occ.reshape(nx, ny)


#: Default length (s) of the alternating time chunks of the two recording halves: odd and
#: even minutes (methods §7.8), as :func:`split_half_reliability` cuts a session.
HALVES_CHUNK_S = 60.0


def time_halves(times: np.ndarray, chunk_s: float = HALVES_CHUNK_S) -> np.ndarray:
    """(n,) int 0/1: the half of each sample time, alternating ``chunk_s`` pieces from the
    first sample (0 = pieces 0, 2, 4, ...; 1 = pieces 1, 3, ...). ValueError for chunk_s
    that is not > 0."""
    if not (np.isfinite(chunk_s) and chunk_s > 0):
        raise ValueError(f"halves chunk length must be > 0 seconds, got {chunk_s!r}")
    times = np.asarray(times, dtype=float).ravel()
    return (np.floor((times - times[0]) / float(chunk_s)).astype(np.int64) % 2)


def bin_spikes_halves(positions: np.ndarray, times: np.ndarray,
                      spike_times: Sequence[np.ndarray], x_edges: np.ndarray,
                      y_edges: np.ndarray, chunk_s: float = HALVES_CHUNK_S,
                      speed_range: tuple[float, float] | None = None,
                      min_occupancy_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts and time per bin of the two recording halves (methods §7.8).

    The session is cut into alternating ``chunk_s`` pieces (:func:`time_halves`); each half
    is binned as :func:`bin_spikes` bins the whole session (same arguments). A bin the whole
    session leaves unvisited (``min_occupancy_s``) is unvisited in both halves, so the two
    halves add up to the whole session's counts and time.

    Returns (counts (2, nx, ny, n_cells), occupancy (2, nx, ny) seconds).
    """
    half = time_halves(times, chunk_s)
    _, full_occ = bin_spikes(positions, times, [], x_edges, y_edges, speed_range=speed_range,
                             min_occupancy_s=min_occupancy_s)
    counts, occ = [], []
    for h in (0, 1):
        c, o = bin_spikes(positions, times, spike_times, x_edges, y_edges,
                          speed_range=speed_range, samples=half == h)
        low = full_occ <= 0
        c[low] = 0.0
        o[low] = 0.0
        counts.append(c)
        occ.append(o)
    return np.stack(counts), np.stack(occ)

def _gauss(a: np.ndarray, recipe: Recipe) -> np.ndarray:
    """Gaussian of the recipe over the two spatial axes of (nx, ny[, n]), zero outside."""
    from scipy.ndimage import gaussian_filter

    s = recipe.sigma_bins
    sigma = (s, s, 0) if a.ndim == 3 else (s, s)
    return gaussian_filter(a, sigma=sigma, mode="constant", truncate=float(recipe.truncate))


def _check_mask(mask, nx: int, ny: int):
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape[:2] != (nx, ny) or mask.ndim not in (2, 3):
        raise ValueError(f"mask shape {mask.shape} does not match the bins ({nx}, {ny})")
    return mask


def rates_from_counts(counts: np.ndarray, occupancy: np.ndarray, recipe=None,
                      mask: np.ndarray | None = None) -> np.ndarray:
    """Rate maps (Hz) from spike counts and time per bin, made with a recipe.

    counts: (nx, ny, n_cells); occupancy: (nx, ny) seconds, or (nx, ny, n_cells) when the
    cells were recorded in different sessions; a bin is visited where its time is > 0.
    recipe: a :class:`Recipe` or its name (default :data:`PAPER`).
    mask: optional (nx, ny) or (nx, ny, n_cells) bool, bins kept; the others are NaN (e.g.
    outside a cylinder).

    * ``zero_fill`` (the paper, methods §3.2): rate = counts / time in visited bins, 0 in the
      others, then the Gaussian (``mode="constant"``); every bin gets a value.
    * ``normalized``: Gaussian of the counts / Gaussian of the time (both zero outside the
      visited, unmasked bins), kept in visited bins; unvisited bins are NaN. A bin by a wall
      is an average of visited bins only, so no map is dimmed at the walls.

    Returns (nx, ny, n_cells) float64.
    """
    recipe = PAPER if recipe is None else get_recipe(recipe)
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 3:
        raise ValueError(f"counts must be (nx, ny, n_cells), got shape {counts.shape}")
    nx, ny = counts.shape[:2]
    occ = np.asarray(occupancy, dtype=float)
    if occ.shape not in ((nx, ny), counts.shape):
        raise ValueError(f"occupancy shape {occ.shape} does not match the counts {counts.shape}")
    mask = _check_mask(mask, nx, ny)
    if occ.ndim == 2:
        visited = occ > 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = counts / occ[..., None]
        visited3 = np.broadcast_to(visited[..., None], counts.shape)
        occ3 = np.broadcast_to(occ[..., None], counts.shape)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = counts / occ
        visited3 = occ > 0.0
        occ3 = occ
    smooth = recipe.sigma_bins > 0
    if recipe.smoothing == "zero_fill":
        rates = np.where(visited3, raw, 0.0)
        if smooth:
            rates = _gauss(rates, recipe)
    else:
        keep = visited3 if mask is None else visited3 & (mask if mask.ndim == 3 else mask[..., None])
        w = np.where(keep, occ3, 0.0)
        if smooth:
            c = np.where(keep, counts, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                rates = _gauss(c, recipe) / _gauss(w, recipe)
        else:
            rates = raw
        rates = np.where(keep, rates, np.nan)
    if mask is not None:
        rates[~np.broadcast_to(mask if mask.ndim == 3 else mask[..., None], rates.shape)] = np.nan
    return rates


def spikes_to_ratemap(positions: np.ndarray, times: np.ndarray,
                      spike_times: Sequence[np.ndarray], x_edges: np.ndarray,
                      y_edges: np.ndarray, sigma_bins: float = SMOOTH_SIGMA_BINS,
                      speed_range: tuple[float, float] | None = None,
                      min_occupancy_s: float = 0.0,
                      mask: np.ndarray | None = None, *, recipe=None) -> np.ndarray:
    """Smoothed firing-rate maps from spike times and tracked positions (methods §3.2).

    Used for both the synthetic dataset and real recordings, so both go through one recipe.

    positions: (n, 2) metres, tracked at ``times`` (n,) seconds (NaN rows = lost tracking,
    ignored); spike_times: one array of spike times (s) per cell. Each spike is assigned to
    the position sample nearest in time (samples whose position is NaN drop their spikes).
    Rate per bin = spikes in bin / time in bin, where each sample counts for the median
    sample period (0.02 s at 50 Hz). Unvisited bins (and bins below ``min_occupancy_s``) are
    set to 0, then the map is smoothed with a Gaussian of ``sigma_bins`` (mode "constant",
    as the lab did). ``speed_range`` (m/s, optional, off by default per methods §3.2) keeps
    only samples whose speed lies in it. ``mask`` (nx, ny) bool marks bins inside the arena;
    bins outside it are NaN in the result (e.g. the corners of a cylinder).
    ``recipe`` (keyword only): another :class:`Recipe` (or its name, e.g. "robust") instead
    of the paper's zero-filled smoothing of ``sigma_bins``; then ``sigma_bins`` must be left
    at its default. Equals :func:`rates_from_counts` of :func:`bin_spikes`.

    Returns (nx, ny, n_cells) in Hz.
    """
    if recipe is None:
        recipe = PAPER if sigma_bins == PAPER.sigma_bins else dataclasses.replace(
            PAPER, name="custom", sigma_bins=float(sigma_bins or 0.0))
    else:
        recipe = get_recipe(recipe)
        if sigma_bins != SMOOTH_SIGMA_BINS and sigma_bins != recipe.sigma_bins:
            raise ValueError(f"spikes_to_ratemap: sigma_bins={sigma_bins!r} contradicts "
                             f"{recipe.describe()}; give one or the other")
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    if mask is not None and np.asarray(mask).shape != (nx, ny):
        raise ValueError(f"mask shape {np.asarray(mask).shape} does not match the bins ({nx}, {ny})")
    counts, occ = bin_spikes(positions, times, spike_times, x_edges, y_edges,
                             speed_range=speed_range, min_occupancy_s=min_occupancy_s)
    return rates_from_counts(counts, occ, recipe, mask=mask)


def smooth_model_maps(resp: np.ndarray, counts: np.ndarray | None = None, recipe=None) -> np.ndarray:
    """Model maps under a recipe: the bin means unchanged when the recipe does not smooth
    model maps (the paper, methods §3.1), else smoothed as data maps are.

    resp: (nx, ny, n_units) mean activity per bin (NaN: unvisited), as
    :func:`bin_activity` makes it; counts: (nx, ny) samples per bin (None: every finite bin
    weighs the same, e.g. maps evaluated at bin centres). With ``normalized`` smoothing the
    activity sums (resp x counts) and the counts are smoothed separately and divided, in the
    visited bins (others NaN): the model-side twin of :func:`rates_from_counts`.
    """
    recipe = PAPER if recipe is None else get_recipe(recipe)
    resp = np.asarray(resp, dtype=float)
    if resp.ndim != 3:
        raise ValueError(f"model maps must be (nx, ny, n_units), got shape {resp.shape}")
    if not recipe.smooth_model or not recipe.sigma_bins > 0:
        return resp
    finite = np.isfinite(resp)
    if counts is None:
        w = finite.astype(float)
    else:
        counts = np.asarray(counts, dtype=float)
        if counts.shape != resp.shape[:2]:
            raise ValueError(f"sample counts of shape {counts.shape} do not match the maps "
                             f"{resp.shape[:2]}")
        w = np.where(finite, counts[..., None], 0.0)
    keep = w > 0
    if recipe.smoothing == "zero_fill":
        out = _gauss(np.where(finite, resp, 0.0), recipe)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = _gauss(np.where(keep, resp * w, 0.0), recipe) / _gauss(w, recipe)
    return np.where(keep, out, np.nan)


#: Cells whose within-animal reliability (:func:`split_half_reliability`) is below this are
#: flagged as unreliable in the summary: a Spearman-Brown corrected 0.5 is a raw correlation
#: of 1/3 between the two halves.
RELIABILITY_THRESHOLD = 0.5


def split_half_reliability(positions: np.ndarray, times: np.ndarray,
                           spike_times: Sequence[np.ndarray], x_edges: np.ndarray,
                           y_edges: np.ndarray, recipe=None, mask: np.ndarray | None = None,
                           speed_range: tuple[float, float] | None = None,
                           min_occupancy_s: float = 0.0, period_s: float = 60.0) -> np.ndarray:
    """Within-animal reliability of each cell's rate map (methods §7.3).

    The session is cut into ``period_s`` pieces (minutes by default); the odd and the even
    pieces each give a rate map (:func:`bin_spikes` on their samples, then
    :func:`rates_from_counts` with ``recipe``, default :data:`ROBUST`, whose smoothing adds
    no shared wall pattern to the two halves). r = Pearson correlation of the two maps over
    the bins finite in both; the reliability is the Spearman-Brown prediction for the whole
    session, 2 r / (1 + r). Odd/even pieces rather than first/second half, so slow drift
    and an uneven coverage of the arena affect both halves alike.

    Arguments as :func:`spikes_to_ratemap`. Returns (n_cells,) float; NaN for a cell with
    fewer than 3 common bins or a constant half map.
    """
    recipe = ROBUST if recipe is None else get_recipe(recipe)
    times = np.asarray(times, dtype=float).ravel()
    if not period_s > 0:
        raise ValueError(f"period_s must be > 0, got {period_s!r}")
    piece = np.floor((times - times[0]) / float(period_s)).astype(np.int64) % 2
    halves = []
    for h in (0, 1):
        counts, occ = bin_spikes(positions, times, spike_times, x_edges, y_edges,
                                 speed_range=speed_range, min_occupancy_s=min_occupancy_s,
                                 samples=piece == h)
        halves.append(rates_from_counts(counts, occ, recipe, mask=mask))
    a = halves[0].reshape(-1, halves[0].shape[-1])
    b = halves[1].reshape(-1, halves[1].shape[-1])
    out = np.full(a.shape[1], np.nan)
    for c in range(a.shape[1]):
        ok = np.isfinite(a[:, c]) & np.isfinite(b[:, c])
        if ok.sum() < 3:
            continue
        x, y = a[ok, c] - a[ok, c].mean(), b[ok, c] - b[ok, c].mean()
        den = math.sqrt(float(x @ x) * float(y @ y))
        if den > 0:
            r = float(x @ y) / den
            out[c] = 2.0 * r / (1.0 + r) if r > -1.0 else np.nan
    return out


def _speed(positions: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Speed in m/s per sample (central differences), NaN where tracking is lost."""
    v = np.gradient(positions, times, axis=0)
    return np.hypot(v[:, 0], v[:, 1])
