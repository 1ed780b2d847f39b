"""Grid score: the annular-ring autocorrelogram scorer (SPEC §5).

The scorer of Banino et al. 2018 (Nature 557:429, DeepMind ``scores.py``) as Sorscher et
al. 2019 use it (ganguli-lab/grid-pattern-formation): the spatial autocorrelogram (SAC) of
the rate map is rotated by 30, 60, 90, 120 and 150 degrees; within an annulus (inner radius
0.2, outer radius one of ``linspace(0.4, 1.0, 10)``, in units of the map's side in bins) the
Pearson correlation between the SAC and each rotated copy is computed; the score of a ring
is ``min(r60, r120) - max(r30, r90, r150)`` (the "min-max" gridness SPEC §5 states, as in
Sargolini et al. 2006 / BNT); the map's score is the best ring's.

``mode="mean"`` gives the DeepMind default ``mean(r60, r120) - mean(r30, r90, r150)``
instead.

NaN bins (unvisited, or outside a circular arena) are excluded from the autocorrelogram:
each SAC lag is the Pearson correlation over the pairs of bins that are both finite (the
DeepMind ``calculate_sac``), so a cylinder's NaN corners do not bias the score.

Everything is vectorised over a stack of maps ``(nx, ny, n)`` so that scoring the 4096
units of a model layer takes seconds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grid_score", "grid_scores", "autocorrelogram", "ring_masks",
           "RING_INNER", "RING_OUTER", "ANGLES"]

#: Inner radius of every ring, fraction of the map side (SPEC §5; Sorscher et al. 2019).
RING_INNER = 0.2
#: Outer radii of the rings, fraction of the map side (SPEC §5: 0.4..1.0 in 10 steps).
RING_OUTER = tuple(np.linspace(0.4, 1.0, 10))
#: Rotation angles of the SAC, degrees (60/120 = hexagonal peaks, 30/90/150 = troughs).
ANGLES = (30, 60, 90, 120, 150)


def _as_stack(maps: np.ndarray, name: str) -> np.ndarray:
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[:, :, None]
    if maps.ndim != 3 or min(maps.shape[:2]) < 3:
        raise ValueError(f"{name} must be a (nx, ny) map or an (nx, ny, n) stack with at least "
                         f"3 bins per side, got shape {maps.shape}")
    return maps


def autocorrelogram(maps: np.ndarray, min_overlap: int = 20) -> np.ndarray:
    """Spatial autocorrelogram of each map, NaN bins excluded.

    maps: (nx, ny) or (nx, ny, n), any units; NaN = no data. Returns (2nx-1, 2ny-1) or
    (2nx-1, 2ny-1, n): at each lag, the Pearson correlation of the map with its shifted
    copy over the bins where both are finite. Lags with fewer than ``min_overlap`` such
    pairs, or with zero variance, are 0 (as DeepMind's ``nan_to_num``), because a
    correlation over a handful of bins at the SAC's rim is noise.
    """
    from scipy.signal import fftconvolve

    squeeze = np.asarray(maps).ndim == 2
    m = _as_stack(maps, "maps")
    ok = np.isfinite(m).astype(np.float64)
    v = np.where(ok > 0, m, 0.0)

    def xcorr(a, b):
        # sum over bins of a[x] * b[x + lag]: convolve a with b flipped in space.
        return fftconvolve(a, b[::-1, ::-1], mode="full", axes=(0, 1))

    n = np.rint(xcorr(ok, ok))
    s1 = xcorr(v, ok)            # sum of map values at x (where the shifted copy exists)
    s2 = xcorr(ok, v)            # sum of shifted values
    s11 = xcorr(v * v, ok)
    s22 = xcorr(ok, v * v)
    s12 = xcorr(v, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = s12 / n - s1 * s2 / n ** 2
        var1 = s11 / n - (s1 / n) ** 2
        var2 = s22 / n - (s2 / n) ** 2
        r = cov / np.sqrt(var1 * var2)
    # FFT round-off can leave tiny negative variances for flat overlaps.
    bad = (n < max(min_overlap, 2)) | ~(var1 > 1e-12) | ~(var2 > 1e-12) | ~np.isfinite(r)
    r = np.clip(np.where(bad, 0.0, r), -1.0, 1.0)
    # The SAC is point-symmetric (r(lag) = r(-lag)); FFT round-off breaks that by ~1e-15.
    r = 0.5 * (r + r[::-1, ::-1])
    return r[:, :, 0] if squeeze else r


def ring_masks(shape: tuple[int, int], inner: float = RING_INNER,
               outer: tuple[float, ...] = RING_OUTER) -> np.ndarray:
    """Annulus masks on an SAC of ``shape`` = (2nx-1, 2ny-1).

    Radii are fractions of the map side in bins, n = min(nx, ny) (DeepMind ``circle_mask``:
    a lag is inside a circle of radius R when its distance to the centre is <= R * n).
    Returns (len(outer), 2nx-1, 2ny-1) bool.
    """
    sx, sy = shape
    n = min((sx + 1) // 2, (sy + 1) // 2)
    dx = np.arange(sx) - (sx - 1) / 2.0
    dy = np.arange(sy) - (sy - 1) / 2.0
    dist = np.hypot(dx[:, None], dy[None, :])
    return np.stack([(dist <= r_out * n) & ~(dist <= inner * n) for r_out in outer])


def _rotate(sac: np.ndarray, angle: float) -> np.ndarray:
    from scipy.ndimage import rotate

    # Cubic-spline rotation about the SAC's centre, same frame (DeepMind: reshape=False).
    return rotate(sac, angle, axes=(0, 1), reshape=False, order=3, mode="constant", cval=0.0)


def grid_scores(maps: np.ndarray, mode: str = "min_max", inner: float = RING_INNER,
                outer: tuple[float, ...] = RING_OUTER, return_details: bool = False):
    """Grid scores of a stack of rate maps (SPEC §5).

    maps: (nx, ny, n) rate maps (Hz or arbitrary units; NaN = unvisited / outside arena).
    mode: "min_max" (default; min(r60, r120) - max(r30, r90, r150), SPEC §5) or "mean"
    (DeepMind's default average form). Returns (n,) scores in [-2, 2]; NaN for a map with
    fewer than 3 finite bins or no variance. With ``return_details``, also a dict with
    ``best_ring`` (n,) index into ``outer`` and ``corr`` (n_rings, 5, n) ring correlations
    at ``ANGLES``.
    """
    if mode not in ("min_max", "mean"):
        raise ValueError(f"grid score mode must be 'min_max' or 'mean', got {mode!r}")
    m = _as_stack(maps, "maps")
    sac = autocorrelogram(m)
    masks = ring_masks(sac.shape[:2], inner, outer).astype(np.float64)   # (R, sx, sy)
    area = masks.sum(axis=(1, 2))                                          # (R,)
    # Centre the SAC within each ring (DeepMind get_grid_scores_for_mask).
    mean = np.einsum("rxy,xyn->rn", masks, sac) / area[:, None]            # (R, n)
    sq = np.einsum("rxy,xyn->rn", masks, sac ** 2) / area[:, None]
    var = sq - mean ** 2 + 1e-5                                            # DeepMind's epsilon
    corr = np.empty((len(masks), len(ANGLES), m.shape[2]))
    for k, angle in enumerate(ANGLES):
        rot = _rotate(sac, angle)
        cross = np.einsum("rxy,xyn->rn", masks, sac * rot) / area[:, None]
        rot_mean = np.einsum("rxy,xyn->rn", masks, rot) / area[:, None]
        # DeepMind centres both the SAC and its rotation by the SAC's ring mean:
        # sum_ring (sac - m)(rot - m) / area = cross - m * rot_mean.
        cov = cross - mean * rot_mean
        corr[:, k] = cov / var
    r30, r60, r90, r120, r150 = (corr[:, i] for i in range(5))
    if mode == "min_max":
        per_ring = np.minimum(r60, r120) - np.maximum(np.maximum(r30, r90), r150)
    else:
        per_ring = (r60 + r120) / 2.0 - (r30 + r90 + r150) / 3.0
    best = np.argmax(per_ring, axis=0)
    score = per_ring[best, np.arange(m.shape[2])]
    # Maps that cannot be scored: too few finite bins, or flat.
    finite = np.isfinite(m)
    n_ok = finite.sum(axis=(0, 1))
    flat = np.array([np.nanstd(m[:, :, i]) <= 0 if n_ok[i] else True for i in range(m.shape[2])])
    score = np.where((n_ok < 3) | flat, np.nan, score)
    if return_details:
        return score, {"best_ring": best, "corr": corr}
    return score


def grid_score(rate_map: np.ndarray, mode: str = "min_max") -> float:
    """Grid score of one rate map (nx, ny) (SPEC §5); see :func:`grid_scores`."""
    rate_map = np.asarray(rate_map, dtype=float)
    if rate_map.ndim != 2:
        raise ValueError(f"grid_score takes one (nx, ny) map, got shape {rate_map.shape}; "
                         f"use grid_scores for a stack")
    return float(grid_scores(rate_map[:, :, None], mode=mode)[0])
