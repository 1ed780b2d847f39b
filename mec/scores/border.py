"""Border score of Solstad et al. 2008 (Science 322:1865), methods §5.

    b = (CM - DM) / (CM + DM)

* Firing fields: 4-connected groups of bins with rate >= ``field_threshold`` (0.3) x the
  map's peak rate, covering at least ``min_field_cm2`` (200 cm^2, i.e. 8 bins of 5 cm;
  Solstad et al.: "fields ... at least 200 cm^2").
* CM: the largest coverage of any single field over any single wall, where a wall is the
  row or column of bins along one side of the box and coverage is the fraction of that
  wall's (finite) bins that belong to the field.
* DM: the mean distance to the nearest wall of the bins inside fields, weighted by their
  firing rate, divided by half the shortest side of the box (distances are measured from
  bin centres, so a bin touching a wall is half a bin away).

b runs from -1 (a central field: CM = 0) to +1 (a thin field along a whole wall). Choices
made where the paper leaves room, documented here so they can be changed deliberately:

* NaN bins (unvisited / outside the arena) belong to no field and do not count in a wall's
  length.
* A map with no qualifying field scores -1 (CM = 0); a map with no finite positive bin, NaN.
* Circular arenas (``shape="circle"``): the perimeter is split into four quarter arcs
  (right, top, left, bottom of the circle inscribed in the map) that play the walls; a
  perimeter bin is a finite bin with a non-finite or off-map 4-neighbour; the distance to
  the wall is ``radius - distance to the centre``, normalised by the radius.
"""

from __future__ import annotations

import numpy as np

__all__ = ["border_score", "border_scores", "FIELD_THRESHOLD", "MIN_FIELD_CM2"]

#: Field threshold, fraction of the peak rate (Solstad et al. 2008).
FIELD_THRESHOLD = 0.3
#: Minimum field area in cm^2 (Solstad et al. 2008).
MIN_FIELD_CM2 = 200.0


def _fields(m: np.ndarray, threshold: float, min_bins: int) -> list[np.ndarray]:
    from scipy.ndimage import label

    peak = np.nanmax(m)
    above = np.isfinite(m) & (m >= threshold * peak)
    labels, n = label(above)                    # 4-connectivity (default structure)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    return [labels == k for k in range(1, n + 1) if sizes[k] >= min_bins]


def _square_walls(finite: np.ndarray):
    nx, ny = finite.shape
    walls = []
    for sl in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        w = np.zeros((nx, ny), dtype=bool)
        w[sl] = True
        walls.append(w & finite)
    ix = np.arange(nx)[:, None] + 0.5
    iy = np.arange(ny)[None, :] + 0.5
    dist = np.minimum(np.minimum(ix, nx - ix), np.minimum(iy, ny - iy))   # bins
    return walls, dist, min(nx, ny) / 2.0


def _circle_walls(finite: np.ndarray):
    nx, ny = finite.shape
    padded = np.pad(finite, 1, constant_values=False)
    inner = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    perimeter = finite & ~inner
    cx, cy = nx / 2.0, ny / 2.0
    dx = np.arange(nx)[:, None] + 0.5 - cx
    dy = np.arange(ny)[None, :] + 0.5 - cy
    radius = min(nx, ny) / 2.0
    dist = np.clip(radius - np.hypot(dx, dy), 0.0, None)
    angle = np.mod(np.arctan2(dy, dx) + np.pi / 4, 2 * np.pi)           # quadrant arcs
    quadrant = (angle // (np.pi / 2)).astype(int)
    walls = [perimeter & (quadrant == q) for q in range(4)]
    return walls, dist, radius


def border_score(rate_map: np.ndarray, bin_cm: float = 5.0,
                 field_threshold: float = FIELD_THRESHOLD,
                 min_field_cm2: float = MIN_FIELD_CM2, shape: str = "square") -> float:
    """Solstad et al. 2008 border score of one rate map.

    rate_map: (nx, ny) Hz (NaN = unvisited / outside the arena), indexed [ix, iy];
    bin_cm: bin side in cm (to turn ``min_field_cm2`` into bins); shape: "square" (four
    walls = the map's sides) or "circle". Returns a float in [-1, 1], NaN for an empty map.
    """
    m = np.asarray(rate_map, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"border_score takes one (nx, ny) map, got shape {m.shape}")
    if shape not in ("square", "circle"):
        raise ValueError(f"border_score shape must be 'square' or 'circle', got {shape!r}")
    finite = np.isfinite(m)
    if not finite.any() or not np.nanmax(m) > 0:
        return float("nan")
    min_bins = max(1, int(np.ceil(min_field_cm2 / bin_cm ** 2 - 1e-9)))
    fields = _fields(m, field_threshold, min_bins)
    if not fields:
        return -1.0
    walls, dist, half_side = (_square_walls if shape == "square" else _circle_walls)(finite)
    cm = 0.0
    for f in fields:
        for w in walls:
            if w.any():
                cm = max(cm, float((f & w).sum()) / float(w.sum()))
    in_field = np.any(fields, axis=0)
    weights = m[in_field]
    dm = float(np.sum(weights * dist[in_field]) / np.sum(weights)) / half_side
    if cm + dm == 0:
        return float("nan")
    return float((cm - dm) / (cm + dm))


def border_scores(maps: np.ndarray, **kwargs) -> np.ndarray:
    """Border scores of a stack (nx, ny, n); keyword arguments as :func:`border_score`."""
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"border_scores takes an (nx, ny, n) stack, got shape {maps.shape}")
    return np.array([border_score(maps[:, :, i], **kwargs) for i in range(maps.shape[2])])
