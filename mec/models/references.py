"""Hand-made MEC populations built with RatInABox, scored as reference models.

The question every reader of a model comparison asks: how does a population designed by hand
compare with task-trained networks? These populations are RatInABox's own cell models
(George et al. 2024, eLife, "RatInABox, a toolkit for modelling locomotion and neuronal
activity in continuous environments"), placed in each data arena (a RatInABox Environment of
the arena's width and height) and evaluated at the arena's bin centres, like mec.baselines'
place cells (the mean over a bin of a smooth tuning curve differs from its value at the
centre by O(bin^2), and bin centres make the maps deterministic and cheap: RatInABox's
boundary-vector cells cost ~2.5 ms per position and cell).

Populations (config ``models.X: {source: ratinabox, population: ...}``, one layer named after
the population):

* ``grid`` - grid modules: RatInABox GridCells ("rectified_cosines"), ``n_modules`` modules
  whose spacings grow by ``module_ratio`` from ``min_spacing`` (Stensola et al. 2012: ~1.42
  from ~30 cm), one random orientation per module, random phases;
* ``bvc`` - boundary-vector cells (RatInABox BoundaryVectorCells, its default tunings; Hartley
  et al. 2000);
* ``place`` - Gaussian place cells of width ``place_width`` m, centres spread over the arena;
* ``mixed`` - grid, boundary-vector and place cells side by side, as a hand-made MEC.

Random draws (RatInABox samples its parameters from numpy's global generator) are made from
``seed`` with numpy's global state saved and restored around the construction, so that a
population is the same for the same seed and nothing outside it is touched.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

__all__ = ["POPULATIONS", "reference_maps", "population_rates"]

#: The populations of :func:`reference_maps` (the schema's ``population`` enum).
POPULATIONS = ("grid", "bvc", "place", "mixed")


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """numpy's global generator seeded for RatInABox's draws, its state restored after."""
    state = np.random.get_state()
    np.random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(state)


def _agent(width: float, height: float):
    import ratinabox
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    ratinabox.verbose = False
    env = Environment(params={"scale": float(height), "aspect": float(width) / float(height)})
    return Agent(env)


def _grid(agent, n_units: int, n_modules: int, min_spacing: float, module_ratio: float):
    from ratinabox.Neurons import GridCells

    per = np.array_split(np.arange(int(n_units)), int(n_modules))
    spacing = np.concatenate([np.full(len(p), min_spacing * module_ratio ** k) for k, p in enumerate(per)])
    orient = np.concatenate([np.full(len(p), np.random.uniform(0, np.pi / 3)) for p in per])
    phases = np.random.uniform(0, 2 * np.pi, (int(n_units), 2))
    return GridCells(agent, params={"gridscale": list(spacing), "orientation": list(orient),
                                    "phase_offset": phases, "name": "grid"})


def _bvc(agent, n_units: int):
    from ratinabox.Neurons import BoundaryVectorCells

    return BoundaryVectorCells(agent, params={"n": int(n_units), "name": "bvc"})


def _place(agent, n_units: int, width: float):
    from ratinabox.Neurons import PlaceCells

    return PlaceCells(agent, params={"n": int(n_units), "widths": float(width), "name": "place",
                                     "description": "gaussian"})


def population_rates(population: str, positions: np.ndarray, width: float, height: float,
                     seed: int = 0, n_grid: int = 96, n_modules: int = 3,
                     min_spacing: float = 0.3, module_ratio: float = 1.42, n_bvc: int = 32,
                     n_place: int = 64, place_width: float = 0.15) -> np.ndarray:
    """Firing rates (n, n_units) of a RatInABox population at ``positions`` (n, 2) metres in
    the frame of an arena of ``width`` x ``height`` m centred on 0 (module docstring).
    ``mixed`` is ``n_grid // 2`` grid, ``n_bvc // 2`` boundary-vector and ``n_place // 2``
    place cells."""
    if population not in POPULATIONS:
        raise ValueError(f"population {population!r} is not one of {POPULATIONS}")
    pos = np.asarray(positions, dtype=float) + np.array([width / 2, height / 2])  # RatInABox: [0, w]
    with _seeded(seed):
        agent = _agent(width, height)
        if population == "grid":
            cells = [_grid(agent, n_grid, n_modules, min_spacing, module_ratio)]
        elif population == "bvc":
            cells = [_bvc(agent, n_bvc)]
        elif population == "place":
            cells = [_place(agent, n_place, place_width)]
        else:
            cells = [_grid(agent, max(n_grid // 2, n_modules), n_modules, min_spacing, module_ratio),
                     _bvc(agent, max(n_bvc // 2, 1)), _place(agent, max(n_place // 2, 1), place_width)]
    return np.concatenate([np.asarray(c.get_state(evaluate_at=None, pos=pos), float).T
                           for c in cells], axis=1)


def reference_maps(population: str, x_edges, y_edges, seed: int = 0, **kwargs) -> dict:
    """Rate maps ``{population: (nx, ny, n_units)}`` of a RatInABox population at the bin
    centres of the edges (metres, centred on 0), in a box of the edges' extent.
    kwargs: :func:`population_rates`' sizes (n_grid, n_modules, min_spacing, module_ratio,
    n_bvc, n_place, place_width)."""
    from mec.baselines import bin_centres

    x_edges, y_edges = np.asarray(x_edges, float), np.asarray(y_edges, float)
    centres = bin_centres(x_edges, y_edges)
    nx, ny = centres.shape[:2]
    # the box the edges span, shifted so that its centre is 0 (data frames are centred)
    cx, cy = (x_edges[0] + x_edges[-1]) / 2, (y_edges[0] + y_edges[-1]) / 2
    rates = population_rates(population, centres.reshape(-1, 2) - [cx, cy],
                             float(x_edges[-1] - x_edges[0]), float(y_edges[-1] - y_edges[0]),
                             seed=seed, **kwargs)
    return {population: rates.reshape(nx, ny, -1)}
