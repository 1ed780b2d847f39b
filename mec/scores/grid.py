"""Grid score: rotational symmetry of the spatial autocorrelogram (methods §5), three forms.

Every form starts from the spatial autocorrelogram (SAC) of the rate map and correlates it,
within a ring around its centre, with copies rotated by 30, 60, 90, 120 and 150 degrees; a
hexagonal grid correlates with its 60 and 120 degree rotations and anti-correlates with the
others. The forms differ in where the ring lies and how the five correlations are combined
(``grid_scores(mode=...)``):

``"adaptive"`` (default) - rings that follow the autocorrelogram, as the Kavli lab's BNT
    (``gridnessScore``) and its Python port opexebo (kavli-ntnu/opexebo,
    ``analysis.grid_score``) draw them:

    * inner radius = the central peak's radius: the last one-bin shell (radius in bins,
      rounded up) whose mean SAC is still >= ``CENTRE_THRESHOLD`` (0.3); the central peak
      never enters a ring, whatever the grid's scale;
    * outer radii = every radius from one shell past the centre peak up to
      ``PEAK_FACTOR`` (1.25) times the distance of the six nearest SAC peaks (local maxima
      above 0 outside the central peak; the farthest of the six, or of those found), so
      the ring holds the first hexagon of peaks and its fields and not the noisy rings
      beyond. BNT/opexebo sweep every radius to the SAC's edge; bounding the sweep by the
      peaks is what keeps smooth non-grid maps from scoring on their outermost rings;
    * lags whose two copies of the map overlap in fewer than ``MIN_OVERLAP_FRACTION``
      (15 %) of the bins (geometric overlap of the map's bounding box), or in fewer than
      ``MIN_OVERLAP`` (20) finite bin pairs, are left out of every ring: a correlation over
      a handful of bins at the SAC's rim is noise;
    * the correlation is Pearson's over the ring's lags where both the SAC and its
      (bilinear) rotation are defined (BNT, opexebo); the ring's gridness is
      ``min(r60, r120) - max(r30, r90, r150)``; the map's score is the largest running mean
      of three consecutive outer radii (opexebo's ``numGridnessRadii = 3``), or the mean of
      the radii there are when fewer than three.

    Checked (tests/test_scores.py) on the 10 BNT reference maps of
    ``../shared/data/opexebo_grid_maps`` (Spearman rank agreement with BNT's
    ``gridScoresNew`` >= 0.95; opexebo 0.98, the fixed rings 0.82) and on the embedded
    synthetic population's ground truth (mec.data.synthetic; every module of true grid
    cells called grid, few other cells), where the fixed rings miss the smallest module in
    the 2.2 m arena (their inner radius, 0.2 x 44 bins, masks its first ring of peaks).

``"min_max"`` - fixed rings (Banino et al. 2018, DeepMind ``scores.py``; Sorscher et al.
    2019): inner radius 0.2, outer radii ``linspace(0.4, 1.0, 10)`` in units of the map's
    side in bins, the SAC rotated by cubic splines, correlation centred on the SAC's ring
    mean (DeepMind's ``get_grid_scores_for_mask``), ``min(r60, r120) - max(r30, r90,
    r150)``, best ring. This was methods §5's stated scorer and this project's default until
    the adaptive rings replaced it.

``"mean"`` - the same fixed rings with DeepMind's and grid-pattern-formation's default
    average form ``mean(r60, r120) - mean(r30, r90, r150)``: the "mean-form" scorer of
    Sorscher et al.'s code. It is more permissive than min-max (more maps above 0.3).

NaN bins (unvisited, or outside a circular arena) are excluded from the autocorrelogram:
each SAC lag is the Pearson correlation over the pairs of bins that are both finite (the
DeepMind ``calculate_sac``; BNT's ``autocorrelation`` gives the same numbers), so a
cylinder's NaN corners do not bias the score.

Everything is vectorised over a stack of maps ``(nx, ny, n)`` (processed in chunks of
``chunk`` maps to bound memory), so that scoring the 4096 units of a model layer takes
seconds (``benchmarks/grid_scores.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["grid_score", "grid_scores", "autocorrelogram", "ring_masks", "GRID_SCORE_MODES",
           "DEFAULT_MODE", "RING_INNER", "RING_OUTER", "ANGLES", "CENTRE_THRESHOLD",
           "PEAK_FACTOR", "MIN_OVERLAP", "MIN_OVERLAP_FRACTION", "describe_mode"]

#: The forms of :func:`grid_scores` (module docstring) and the default one.
GRID_SCORE_MODES = ("adaptive", "min_max", "mean")
DEFAULT_MODE = "adaptive"

#: Fixed rings: inner radius, fraction of the map side (methods §5; Sorscher et al. 2019).
RING_INNER = 0.2
#: Fixed rings: outer radii, fraction of the map side (methods §5: 0.4..1.0 in 10 steps).
RING_OUTER = tuple(np.linspace(0.4, 1.0, 10))
#: Rotation angles of the SAC, degrees (60/120 = hexagonal peaks, 30/90/150 = troughs).
ANGLES = (30, 60, 90, 120, 150)

#: Adaptive rings: the central peak ends at the first one-bin shell whose mean SAC is
#: below this. Chosen on the BNT reference maps and the synthetic ground truth
#: (0.2-0.4 agree; below 0.2 a grid's first ring of peaks is taken for the central peak).
CENTRE_THRESHOLD = 0.3
#: Adaptive rings: the largest outer radius, times the distance of the six nearest peaks
#: (1.25: the peaks' fields lie within the ring; opexebo masks its SAC at 1.25 x the best
#: radius for the same reason).
PEAK_FACTOR = 1.25
#: Lags with fewer finite bin pairs than this are 0 in the SAC (fixed rings) or left out
#: of every ring (adaptive rings).
MIN_OVERLAP = 20
#: Adaptive rings: lags whose shifted copy overlaps fewer than this fraction of the map's
#: bins (bounding box) are left out.
MIN_OVERLAP_FRACTION = 0.15
#: Adaptive rings: outer radii averaged in the running mean (opexebo numGridnessRadii).
_RUNNING_RADII = 3
#: Adaptive rings: a ring with fewer defined lags than this is not scored (a correlation
#: over a handful of lags is noise; the thinnest ring of a 20 x 20 map holds ~20).
_MIN_RING_LAGS = 10


def describe_mode(mode: str = DEFAULT_MODE) -> str:
    """One line naming a grid-score form, for summaries and figure captions."""
    if mode == "adaptive":
        return ("adaptive rings (BNT/opexebo: inner radius from the central peak, outer radii "
                f"up to {PEAK_FACTOR} x the six nearest peaks, min-max of Pearson correlations)")
    if mode == "min_max":
        return "fixed rings (inner 0.2, outer 0.4-1.0 of the map side; min-max form)"
    if mode == "mean":
        return "fixed rings (inner 0.2, outer 0.4-1.0 of the map side; mean form, DeepMind/Sorscher)"
    raise ValueError(f"grid score mode must be one of {GRID_SCORE_MODES}, got {mode!r}")


def _as_stack(maps: np.ndarray, name: str) -> np.ndarray:
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[:, :, None]
    if maps.ndim != 3 or min(maps.shape[:2]) < 3:
        raise ValueError(f"{name} must be a (nx, ny) map or an (nx, ny, n) stack with at least "
                         f"3 bins per side, got shape {maps.shape}")
    return maps


def _sac(m: np.ndarray, min_overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """(SAC (2nx-1, 2ny-1, n) with NaN where undefined, finite pairs per lag)."""
    from scipy import fft

    nx, ny = m.shape[:2]
    ok = np.isfinite(m).astype(np.float64)
    v = np.where(ok > 0, m, 0.0)
    # Cross-correlations sum_x a[x] b[x + d] for every lag d, by FFT: irfft(conj(A) B) on a
    # grid padded past 2n - 1 (no wrap-around); lag d sits at index d mod size.
    size = (fft.next_fast_len(2 * nx - 1, real=True), fft.next_fast_len(2 * ny - 1, real=True))
    ix = np.arange(-(nx - 1), nx) % size[0]
    iy = np.arange(-(ny - 1), ny) % size[1]

    def xcorr(A, B):
        full = fft.irfft2(np.conj(A) * B, s=size, axes=(0, 1))
        return full[ix][:, iy]

    F_v = fft.rfft2(v, s=size, axes=(0, 1))
    s12 = xcorr(F_v, F_v)
    if ok.all():
        # No NaN (model units, fully visited arenas): the pair counts are the overlap of the
        # box with its shifted copy and the other sums are box sums (prefix sums): no FFT.
        dx, dy = np.arange(-(nx - 1), nx), np.arange(-(ny - 1), ny)
        n = ((nx - np.abs(dx))[:, None] * (ny - np.abs(dy))[None, :]).astype(np.float64)[:, :, None]
        x0, x1 = np.maximum(0, -dx), nx - np.maximum(0, dx)
        y0, y1 = np.maximum(0, -dy), ny - np.maximum(0, dy)

        def box_sums(a):
            P = np.zeros((nx + 1, ny + 1, a.shape[2]))
            P[1:, 1:] = a.cumsum(axis=0).cumsum(axis=1)
            return (P[x1][:, y1] - P[x0][:, y1] - P[x1][:, y0] + P[x0][:, y0])

        s1 = box_sums(v)         # sum of map values at x (where the shifted copy exists)
        s11 = box_sums(v * v)
    else:
        F_ok, F_vv = (fft.rfft2(a, s=size, axes=(0, 1)) for a in (ok, v * v))
        n = np.rint(xcorr(F_ok, F_ok))
        s1 = xcorr(F_v, F_ok)    # sum of map values at x (where the shifted copy exists)
        s11 = xcorr(F_vv, F_ok)
    # the shifted copy's sums are the same sums at the opposite lag
    s2, s22 = s1[::-1, ::-1], s11[::-1, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = s12 / n - s1 * s2 / n ** 2
        var1 = s11 / n - (s1 / n) ** 2
        var2 = s22 / n - (s2 / n) ** 2
        r = cov / np.sqrt(var1 * var2)
    # FFT round-off can leave tiny negative variances for flat overlaps.
    bad = (n < max(min_overlap, 2)) | ~(var1 > 1e-12) | ~(var2 > 1e-12) | ~np.isfinite(r)
    r = np.clip(np.where(bad, np.nan, r), -1.0, 1.0)
    # The SAC is point-symmetric (r(lag) = r(-lag)); FFT round-off breaks that by ~1e-15.
    r = 0.5 * (r + r[::-1, ::-1])
    return r, n


def autocorrelogram(maps: np.ndarray, min_overlap: int = MIN_OVERLAP) -> np.ndarray:
    """Spatial autocorrelogram of each map, NaN bins excluded.

    maps: (nx, ny) or (nx, ny, n), any units; NaN = no data. Returns (2nx-1, 2ny-1) or
    (2nx-1, 2ny-1, n): at each lag, the Pearson correlation of the map with its shifted
    copy over the bins where both are finite. Lags with fewer than ``min_overlap`` such
    pairs, or with zero variance, are 0 (as DeepMind's ``nan_to_num``), because a
    correlation over a handful of bins at the SAC's rim is noise.
    """
    squeeze = np.asarray(maps).ndim == 2
    r, _ = _sac(_as_stack(maps, "maps"), min_overlap)
    r = np.nan_to_num(r, nan=0.0)
    return r[:, :, 0] if squeeze else r


def ring_masks(shape: tuple[int, int], inner: float = RING_INNER,
               outer: tuple[float, ...] = RING_OUTER) -> np.ndarray:
    """Fixed annulus masks on an SAC of ``shape`` = (2nx-1, 2ny-1).

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


def _fixed_scores(m: np.ndarray, mode: str, inner, outer):
    """Fixed-ring scores of a chunk (DeepMind / Sorscher; module docstring)."""
    sac = np.nan_to_num(_sac(m, MIN_OVERLAP)[0], nan=0.0)
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
    return score, {"best_ring": best, "corr": corr}


class _AdaptiveGeometry:
    """What the adaptive rings share across maps of one shape: lag distances, one-bin
    shells, the overlap mask and bilinear rotation operators (sparse (L, L))."""

    def __init__(self, nx: int, ny: int):
        from scipy import sparse

        sx, sy = 2 * nx - 1, 2 * ny - 1
        dx = np.arange(sx) - (nx - 1.0)
        dy = np.arange(sy) - (ny - 1.0)
        self.shape = (sx, sy)
        self.dist = np.hypot(dx[:, None], dy[None, :]).ravel()           # (L,)
        overlap = ((nx - np.abs(dx))[:, None] * (ny - np.abs(dy))[None, :]).ravel()
        self.geometric_ok = overlap >= MIN_OVERLAP_FRACTION * nx * ny      # (L,)
        # shell s holds the lags with s - 1 < distance <= s (shell 0: the centre lag)
        shell = np.ceil(self.dist - 1e-9).astype(int)
        self.n_shells = int(shell.max()) + 1
        L = sx * sy
        self._shells = sparse.csr_matrix((np.ones(L), (shell, np.arange(L))),
                                         shape=(self.n_shells, L))
        # largest shell that still holds a lag with enough overlap
        self.max_shell = int(shell[self.geometric_ok].max())
        self.rot = []
        X, Y = np.meshgrid(dx, dy, indexing="ij")
        X, Y = X.ravel(), Y.ravel()
        for angle in ANGLES:
            # value at lag p of the rotated SAC = SAC at R(-angle) p (bilinear)
            t = np.deg2rad(angle)
            c, s = np.cos(t), np.sin(t)
            u = c * X + s * Y + (nx - 1.0)
            w = -s * X + c * Y + (ny - 1.0)
            # snap round-off so that 90 degrees is an exact permutation
            u = np.where(np.abs(u - np.rint(u)) < 1e-9, np.rint(u), u)
            w = np.where(np.abs(w - np.rint(w)) < 1e-9, np.rint(w), w)
            u0, w0 = np.floor(u).astype(int), np.floor(w).astype(int)
            fu, fw = u - u0, w - w0
            rows, cols, vals = [], [], []
            outside = np.zeros(L, dtype=bool)
            for du, dw, wt in ((0, 0, (1 - fu) * (1 - fw)), (1, 0, fu * (1 - fw)),
                               (0, 1, (1 - fu) * fw), (1, 1, fu * fw)):
                iu, iw = u0 + du, w0 + dw
                use = wt > 1e-12
                inside = (iu >= 0) & (iu < sx) & (iw >= 0) & (iw < sy)
                outside |= use & ~inside
                keep = use & inside
                rows.append(np.flatnonzero(keep))
                cols.append(iu[keep] * sy + iw[keep])
                vals.append(wt[keep])
            rows, cols, vals = (np.concatenate(a) for a in (rows, cols, vals))
            op = sparse.csr_matrix((vals, (rows, cols)), shape=(L, L))
            support = sparse.csr_matrix((np.ones_like(vals), (rows, cols)), shape=(L, L))
            self.rot.append((op, support, outside))

    def shell_sums(self, a: np.ndarray) -> np.ndarray:
        """(L, n) -> (n_shells, n) sums over each one-bin shell."""
        return self._shells @ a


_GEOMETRY: dict = {}


def _adaptive_scores(m: np.ndarray):
    """Adaptive-ring scores of a chunk (module docstring). Returns (scores, details)."""
    from scipy.ndimage import maximum_filter

    nx, ny, n = m.shape
    geo = _GEOMETRY.get((nx, ny))
    if geo is None:
        geo = _GEOMETRY[(nx, ny)] = _AdaptiveGeometry(nx, ny)
    sac, _ = _sac(m, MIN_OVERLAP)                                          # NaN where undefined
    sx, sy = geo.shape
    sac = sac.reshape(sx * sy, n)
    sac[~geo.geometric_ok] = np.nan
    fin = np.isfinite(sac)
    filled = np.where(fin, sac, 0.0)
    S = geo.n_shells
    shells = np.arange(S)[:, None]

    # inner radius: the central peak ends where a shell's mean SAC drops below threshold
    cnt = geo.shell_sums(fin.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = geo.shell_sums(filled) / cnt
    below = (profile < CENTRE_THRESHOLD) & (shells >= 1)
    # r0: last shell of the central peak (the ring starts at shell r0 + 1)
    r0 = np.where(below.any(axis=0), below.argmax(axis=0), S) - 1
    r0 = np.maximum(r0, 1)

    # outer bound: PEAK_FACTOR x the distance of the six nearest peaks beyond the centre
    img = np.where(fin, sac, -np.inf).reshape(sx, sy, n)
    peak = (img == maximum_filter(img, size=(3, 3, 1), mode="constant", cval=-np.inf))
    peak = peak.reshape(sx * sy, n) & fin & (sac > 0) & (geo.dist[:, None] > r0[None, :] + 0.5)
    d = np.where(peak, geo.dist[:, None], np.inf)
    k = min(6, d.shape[0])
    six = np.partition(d, k - 1, axis=0)[:k]
    six = np.where(np.isfinite(six), six, -np.inf).max(axis=0)             # farthest found
    r_max = np.where(np.isfinite(six), np.ceil(PEAK_FACTOR * six), geo.max_shell)
    r_max = np.minimum(r_max, geo.max_shell).astype(int)

    # Pearson correlation per ring (r0, b] from cumulative one-bin-shell sums
    cols = np.arange(n)
    corr = np.empty((len(ANGLES), S, n))
    n_lags = None
    for j, (op, support, outside) in enumerate(geo.rot):
        rot = op @ filled
        # undefined if any bilinear neighbour is undefined or outside the SAC
        bad = (support @ (~fin).astype(np.float64)) > 0
        bad |= outside[:, None]
        w = fin & ~bad
        a = np.where(w, filled, 0.0)
        b = np.where(w, rot, 0.0)
        sums = [np.cumsum(geo.shell_sums(x), axis=0)
                for x in (w.astype(np.float64), a, b, a * a, b * b, a * b)]
        cnt_, sa, sb, saa, sbb, sab = (q - q[r0, cols][None, :] for q in sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = sab / cnt_ - sa * sb / cnt_ ** 2
            va = saa / cnt_ - (sa / cnt_) ** 2
            vb = sbb / cnt_ - (sb / cnt_) ** 2
            corr[j] = cov / np.sqrt(va * vb)
        n_lags = cnt_ if n_lags is None else np.minimum(n_lags, cnt_)
    valid = (shells > r0[None, :]) & (shells <= r_max[None, :]) & (n_lags >= _MIN_RING_LAGS)
    corr = np.where(valid[None], corr, np.nan)
    r30, r60, r90, r120, r150 = corr
    per_radius = np.minimum(r60, r120) - np.maximum(np.maximum(r30, r90), r150)   # (S, n)
    # running mean over _RUNNING_RADII consecutive outer radii (NaN if any is missing)
    cs = np.cumsum(np.nan_to_num(per_radius), axis=0)
    cs = np.vstack([np.zeros((1, n)), cs])
    ok = np.cumsum(np.isfinite(per_radius), axis=0)
    ok = np.vstack([np.zeros((1, n)), ok])
    w_ = _RUNNING_RADII
    run = (cs[w_:] - cs[:-w_]) / w_
    run = np.where((ok[w_:] - ok[:-w_]) == w_, run, -np.inf)
    best_run = run.max(axis=0) if len(run) else np.full(n, -np.inf)
    n_valid = ok[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        few = cs[-1] / n_valid                      # mean of the radii there are
    score = np.where(n_valid >= w_, best_run, np.where(n_valid > 0, few, np.nan))
    best = np.where(n_valid > 0, np.argmax(np.where(np.isfinite(per_radius), per_radius, -np.inf), axis=0), -1)
    return score, {"inner_radius": r0.astype(float), "outer_radius_max": r_max.astype(float),
                   "peak_distance": np.where(np.isfinite(six), six, np.nan),
                   "best_outer_radius": best.astype(float), "per_radius": per_radius}


def grid_scores(maps: np.ndarray, mode: str = DEFAULT_MODE, inner: float = RING_INNER,
                outer: tuple[float, ...] = RING_OUTER, return_details: bool = False,
                chunk: int = 256):
    """Grid scores of a stack of rate maps (methods §5; the forms: module docstring).

    maps: (nx, ny, n) or (nx, ny) rate maps (Hz or arbitrary units; NaN = unvisited /
        outside the arena).
    mode: "adaptive" (default; rings that follow the autocorrelogram, BNT/opexebo),
        "min_max" (fixed rings, min-max form) or "mean" (fixed rings, mean form,
        DeepMind/Sorscher). ``describe_mode(mode)`` names it in one line.
    inner, outer: the fixed rings (fractions of the map side); unused by "adaptive".
    chunk: maps scored at a time (memory: about 40 x chunk x (2nx-1)(2ny-1) x 8 bytes).
    Returns (n,) scores in [-2, 2]; NaN for a map with fewer than 3 finite bins, no
    variance, or (adaptive) no ring to score (its central peak fills the autocorrelogram).
    With ``return_details``, also a dict of (n,) arrays: fixed rings ``best_ring`` (index
    into ``outer``) and ``corr`` (n_rings, 5, n); adaptive rings ``inner_radius``,
    ``outer_radius_max``, ``peak_distance`` (bins; NaN without peaks) and
    ``best_outer_radius`` (bins).
    """
    if mode not in GRID_SCORE_MODES:
        raise ValueError(f"grid score mode must be one of {GRID_SCORE_MODES}, got {mode!r}")
    if int(chunk) < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    m = _as_stack(maps, "maps")
    n = m.shape[2]
    scores = np.full(n, np.nan)
    details: dict = {}
    for lo in range(0, n, int(chunk)):
        part = m[:, :, lo:lo + int(chunk)]
        if mode == "adaptive":
            s, det = _adaptive_scores(part)
            det.pop("per_radius")
        else:
            s, det = _fixed_scores(part, mode, inner, outer)
        scores[lo:lo + part.shape[2]] = s
        for key, val in det.items():
            details.setdefault(key, []).append(val)
    details = {k: np.concatenate(v, axis=-1) for k, v in details.items()}
    # Maps that cannot be scored: too few finite bins, or flat.
    flat = ~(_spread(m) > 0)
    scores = np.where(flat, np.nan, scores)
    if return_details:
        return scores, details
    return scores


def _spread(m: np.ndarray) -> np.ndarray:
    """(n,) max - min over the finite bins of each map (0 for flat maps, NaN if < 3 bins)."""
    finite = np.isfinite(m)
    n_ok = finite.sum(axis=(0, 1))
    hi = np.where(finite, m, -np.inf).max(axis=(0, 1))
    lo = np.where(finite, m, np.inf).min(axis=(0, 1))
    with np.errstate(invalid="ignore"):
        spread = hi - lo
    return np.where(n_ok >= 3, spread, np.nan)


def grid_score(rate_map: np.ndarray, mode: str = DEFAULT_MODE) -> float:
    """Grid score of one rate map (nx, ny) (methods §5); see :func:`grid_scores`."""
    rate_map = np.asarray(rate_map, dtype=float)
    if rate_map.ndim != 2:
        raise ValueError(f"grid_score takes one (nx, ny) map, got shape {rate_map.shape}; "
                         f"use grid_scores for a stack")
    return float(grid_scores(rate_map[:, :, None], mode=mode)[0])
