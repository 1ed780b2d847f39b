"""Difference-of-Gaussians place cells: the targets of the path-integration task (methods §1.2).

Pure numpy. The centres are drawn once from a fixed seed so that every training run and every
evaluation of a model uses the same centres.
"""

from __future__ import annotations

import numpy as np

from mec import constants as C

__all__ = ["PlaceCells", "softmax"]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    x = x - np.max(x, axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= np.sum(x, axis=axis, keepdims=True)
    return x


class PlaceCells:
    """Np place cells with centres uniform in a box, DoG tuning (methods §1.2).

    Parameters
    ----------
    n_cells: Np; must be 2 when ``identity`` (the Cueva & Wei position loss, methods §1.2).
    sigma: centre width in metres (``place_cell_rf``, 0.12).
    surround_scale: ratio of surround to centre variance (2).
    dog: difference of Gaussians (True) or a plain softmax bump (False).
    min_x, max_x, min_y, max_y: box extents in metres in which the centres are drawn.
    seed: seed of the centres (fixed, methods §1.2).
    identity: the "place cells" are the position itself (position loss).
    """

    def __init__(
        self,
        n_cells: int = C.N_PLACE_CELLS,
        sigma: float = C.PLACE_CELL_RF,
        surround_scale: float = C.SURROUND_SCALE,
        dog: bool = True,
        min_x: float = -C.BOX_WIDTH / 2,
        max_x: float = C.BOX_WIDTH / 2,
        min_y: float = -C.BOX_HEIGHT / 2,
        max_y: float = C.BOX_HEIGHT / 2,
        seed: int = C.PLACE_CELL_SEED,
        identity: bool = False,
    ):
        if identity and n_cells != 2:
            raise ValueError(f"position loss needs n_place_cells == 2, got {n_cells}")
        if n_cells < 1:
            raise ValueError(f"n_place_cells must be >= 1, got {n_cells}")
        if not (max_x > min_x and max_y > min_y):
            raise ValueError(f"empty box x[{min_x}, {max_x}] y[{min_y}, {max_y}]")
        if sigma <= 0 or surround_scale <= 0:
            raise ValueError(f"place_cell_rf ({sigma}) and surround_scale ({surround_scale}) must be > 0")
        self.n_cells = int(n_cells)
        self.sigma = float(sigma)
        self.surround_scale = float(surround_scale)
        self.dog = bool(dog)
        self.identity = bool(identity)
        self.box = (float(min_x), float(max_x), float(min_y), float(max_y))
        self.seed = int(seed)
        rng = np.random.default_rng(self.seed)
        # x then y, like the original (which used TensorFlow's generator with seed 0)
        usx = rng.uniform(min_x, max_x, self.n_cells)
        usy = rng.uniform(min_y, max_y, self.n_cells)
        self.centres = np.stack([usx, usy], axis=-1)  # (Np, 2) metres

    def activation(self, pos: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Place-cell vector of each position.

        pos: (..., 2) metres -> (..., Np), each vector non-negative and summing to 1 (DoG), or
        the position itself when ``identity``.
        """
        pos = np.asarray(pos, dtype=dtype)
        if self.identity:
            return pos.copy()
        c = self.centres.astype(dtype)
        # squared distances via |x|^2 - 2 x.c + |c|^2: one matmul instead of a (..., Np, 2) array
        norm2 = (np.sum(pos**2, -1)[..., None] - 2.0 * pos @ c.T + np.sum(c**2, -1)).astype(dtype)
        np.maximum(norm2, 0.0, out=norm2)
        out = softmax(-norm2 / (2 * self.sigma**2))
        if self.dog:
            out -= softmax(-norm2 / (2 * self.surround_scale * self.sigma**2))
            # shift by |min| and renormalise so the vector is a probability vector (methods §1.2)
            out += np.abs(np.min(out, axis=-1, keepdims=True))
            out /= np.sum(out, axis=-1, keepdims=True)
        return out

    def decode(self, activation: np.ndarray, k: int = C.DECODE_TOP_K) -> np.ndarray:
        """Decoded position (..., 2) metres: mean centre of the k most active cells (methods §1.2).

        activation: (..., Np) place-cell activity or logits (the order is what matters).
        """
        activation = np.asarray(activation)
        if self.identity:
            return activation.astype(np.float64)
        idx = np.argpartition(-activation, kth=min(k, self.n_cells) - 1, axis=-1)[..., :k]
        return self.centres[idx].mean(axis=-2)

    def in_box(self, min_x: float, max_x: float, min_y: float, max_y: float) -> "PlaceCells":
        """The same place cells with their centres drawn anew, same seed, in another box.

        What the released code does for a model evaluated in a box other than its training
        box (methods §1.2, the Generalization condition): it builds the place cells from the
        evaluation config, so the same uniform draws land in the new box. A uniform draw is
        ``lo + (hi - lo) * u`` (numpy's ``Generator.uniform`` and TensorFlow's
        ``random.uniform`` alike), so the new centres are the old ones mapped affinely from
        this box onto the new one - which also holds for centres set by hand (e.g. the
        released models' TensorFlow-drawn ones). The position-loss identity "cells" have no
        centres and are returned unchanged.
        """
        if self.identity:
            return self
        new = PlaceCells(n_cells=self.n_cells, sigma=self.sigma, surround_scale=self.surround_scale,
                         dog=self.dog, min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y,
                         seed=self.seed)
        lo = np.array([self.box[0], self.box[2]])
        span = np.array([self.box[1] - self.box[0], self.box[3] - self.box[2]])
        new_lo = np.array([new.box[0], new.box[2]])
        new_span = np.array([new.box[1] - new.box[0], new.box[3] - new.box[2]])
        new.centres = new_lo + (self.centres - lo) / span * new_span
        return new

    def config(self) -> dict:
        """JSON-able description (enough to rebuild identical place cells)."""
        min_x, max_x, min_y, max_y = self.box
        return dict(n_cells=self.n_cells, sigma=self.sigma, surround_scale=self.surround_scale,
                    dog=self.dog, min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y,
                    seed=self.seed, identity=self.identity)
