"""Cell scores and types (methods §5), for recorded cells and model units alike.

* :func:`grid_score` / :func:`grid_scores` - annular-ring autocorrelogram gridness
  (Banino et al. 2018, Sorscher et al. 2019), validated against the Kavli lab's BNT.
* :func:`border_score` / :func:`border_scores` - Solstad et al. 2008.
* :func:`head_direction_score` - mean vector length against circular spike shuffles.
* :func:`classify_cells` - grid / border / head_direction / heterogeneous.
"""

from mec.scores.border import border_score, border_scores
from mec.scores.grid import autocorrelogram, grid_score, grid_scores
from mec.scores.head_direction import (head_direction_from_leds, head_direction_score,
                                       mean_vector_length)
from mec.scores.types import (BORDER_THRESHOLD, CELL_TYPES, GRID_THRESHOLD, classify_cells)

__all__ = ["autocorrelogram", "grid_score", "grid_scores", "border_score", "border_scores",
           "head_direction_score", "head_direction_from_leds", "mean_vector_length",
           "classify_cells", "GRID_THRESHOLD", "BORDER_THRESHOLD", "CELL_TYPES"]
