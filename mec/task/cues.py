"""Visual cue inputs of the CueUGRNN model (methods §1.3). Pure numpy."""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["cue_bounds", "check_cues", "cue_distances", "cue_inputs"]


def cue_bounds(cue_extents) -> np.ndarray:
    """(n_cues, 4) array of (min_x, max_x, min_y, max_y) in metres from the cue dicts
    ({"center_x", "center_y", "width", "height"}, see mec.constants.CUE_EXTENTS)."""
    try:
        return np.array([[c["center_x"] - c["width"] / 2, c["center_x"] + c["width"] / 2,
                          c["center_y"] - c["height"] / 2, c["center_y"] + c["height"] / 2]
                         for c in cue_extents], dtype=np.float64).reshape(-1, 4)
    except (KeyError, TypeError) as err:
        raise ValueError(f"cue_extents must be a list of dicts with center_x, center_y, width, "
                         f"height; got {cue_extents!r}") from err


def check_cues(cue_extents, min_x: float, max_x: float, min_y: float, max_y: float) -> None:
    """Raise ValueError if a cue leaves the box or two cues overlap (methods §1.3)."""
    b = cue_bounds(cue_extents)
    if len(b) == 0:
        raise ValueError("cue_extents is empty")
    for i, (x0, x1, y0, y1) in enumerate(b):
        if x0 < min_x or x1 > max_x or y0 < min_y or y1 > max_y:
            raise ValueError(f"cue {i} {cue_extents[i]} lies outside the box "
                             f"x[{min_x}, {max_x}] y[{min_y}, {max_y}]")
    for i, j in itertools.combinations(range(len(b)), 2):
        disjoint = b[i, 1] < b[j, 0] or b[i, 0] > b[j, 1] or b[i, 3] < b[j, 2] or b[i, 2] > b[j, 3]
        if not disjoint:
            raise ValueError(f"cues {i} {cue_extents[i]} and {j} {cue_extents[j]} overlap")


def cue_distances(pos: np.ndarray, cue_extents) -> np.ndarray:
    """Distance from each position to each cue square: 0 inside, else the Euclidean distance
    to its nearest edge (methods §1.3).

    pos: (..., 2) metres -> (..., n_cues) metres.
    """
    b = cue_bounds(cue_extents)
    cx = (b[:, 0] + b[:, 1]) / 2
    cy = (b[:, 2] + b[:, 3]) / 2
    hw = (b[:, 1] - b[:, 0]) / 2
    hh = (b[:, 3] - b[:, 2]) / 2
    dx = np.maximum(np.abs(pos[..., 0:1] - cx) - hw, 0.0)
    dy = np.maximum(np.abs(pos[..., 1:2] - cy) - hh, 0.0)
    return np.sqrt(dx**2 + dy**2)


def cue_inputs(rng: np.random.Generator, positions_before: np.ndarray, cue_extents,
               cue_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Cue inputs of a batch (methods §1.3).

    positions_before: (batch, T, 2) metres, the position before each step's movement (the
        initial position at t = 0, then the previous target).
    Returns (cues (batch, T, n_cues) metres, has_cues (batch,) bool): ceil(cue_prob * batch)
    episodes, chosen at random, carry cues; the others get zeros.
    """
    if not 0.0 <= cue_prob <= 1.0:
        raise ValueError(f"cue_prob must be in [0, 1], got {cue_prob}")
    batch = positions_before.shape[0]
    n_cue = int(math.ceil(cue_prob * batch))
    has = np.zeros(batch, dtype=bool)
    has[rng.permutation(batch)[:n_cue]] = True
    d = cue_distances(positions_before, cue_extents)
    d[~has] = 0.0
    return d, has
