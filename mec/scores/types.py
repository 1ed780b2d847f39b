"""Cell types from scores (methods §5).

grid: grid score > 0.3 (robustness checks use 0.55, 0.8, 1.2); border: Solstad border
score > 0.5; head_direction: MVL significant against shuffles; heterogeneous: none of
these. A cell passing several tests takes the first type in the order grid, border,
head_direction (so a conjunctive grid x head-direction cell counts as grid, as the
paper's per-type summaries have one type per cell). NaN scores pass no test.
"""

from __future__ import annotations

import numpy as np

__all__ = ["classify_cells", "GRID_THRESHOLD", "BORDER_THRESHOLD", "CELL_TYPES"]

#: methods §5 thresholds.
GRID_THRESHOLD = 0.3
BORDER_THRESHOLD = 0.5
CELL_TYPES = ("grid", "border", "head_direction", "heterogeneous")


def classify_cells(grid: np.ndarray, border: np.ndarray | None = None,
                   hd_significant: np.ndarray | None = None,
                   grid_threshold: float = GRID_THRESHOLD,
                   border_threshold: float = BORDER_THRESHOLD) -> np.ndarray:
    """Cell type of each cell.

    grid, border: (n,) scores (NaN = not computable); hd_significant: (n,) bool (None =
    head direction unknown: no cell is head_direction). Returns (n,) str array with values
    in ``CELL_TYPES``.
    """
    grid = np.atleast_1d(np.asarray(grid, dtype=float))
    n = grid.shape[0]
    border = np.full(n, np.nan) if border is None else np.atleast_1d(np.asarray(border, float))
    hd = (np.zeros(n, dtype=bool) if hd_significant is None
          else np.atleast_1d(np.asarray(hd_significant, dtype=bool)))
    for name, arr in (("border", border), ("hd_significant", hd)):
        if arr.shape != (n,):
            raise ValueError(f"{name} has shape {arr.shape}, grid scores have ({n},)")
    with np.errstate(invalid="ignore"):
        is_grid = grid > grid_threshold
        is_border = border > border_threshold
    return np.where(is_grid, "grid", np.where(is_border, "border", np.where(
        hd, "head_direction", "heterogeneous"))).astype(str)
