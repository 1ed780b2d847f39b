"""Baseline "models" with no training step, for the paper's Figure 2 (methods §4.6).

Every baseline produces rate maps on a dataset arena's bin edges as ``{layer: (nx, ny,
n_units)}``, written by :func:`export_baseline` through the same
``mec.ratemaps.save_model_ratemaps`` file as a trained model's
(``results/ratemaps/{model}_{arena}.h5``), so the same fit rule scores them. Each baseline has
ONE layer, named after what it is (:data:`BASELINE_LAYERS`); the fit of a baseline should use
every layer of its file (``layers=None``) rather than config ``fits.layers``.

The baselines (``kind``):

* ``"velocity"`` - the networks' velocity input, (v cos hd, v sin hd) per step in metres
  (methods §1.1), averaged per bin of the position reached by that step, along fresh task
  trajectories in the evaluation box (the data's arena, a square of side ``arena`` centred on
  0, as the models are evaluated). 2 units. Layer ``"velocity"``.
* ``"place_cells"`` - the ground-truth DoG place cells (methods §1.2; 512 in the paper), their
  exact activation at the bin centres (no trajectories needed: the mean over a bin of a smooth
  function differs from its value at the centre by O(bin^2), and bin centres make the maps
  deterministic). Each bin's vector sums to 1. Centres are drawn uniformly (fixed seed, methods
  §1.2) in the box of ``baseline_arena``: ``"data"`` (default; the data's arena) or a size in
  metres (e.g. 2.2, the training box: then only the cells whose centres fall in the data's
  arena have fields there). Layer ``"place_cells"``.
* ``"nmf"`` - the "low-rank grid cell" models: non-negative matrix factorisation of the
  place-cell rate maps, ``P (n_bins, Np) ~= W (n_bins, k) H (k, Np)`` (sklearn NMF, Frobenius
  loss, multiplicative updates, 200 iterations, ``random_state`` = seed). The units are the k
  spatial components (columns of W). ``baseline_arena="data"`` ("trained arena"): place
  cells and NMF both in the data's arena, units = W. ``baseline_arena=2.2`` ("2.2 m"): place
  cells with centres in the 2.2 m box, NMF fitted on their maps over the 2.2 m box (5 cm
  bins), then the SAME place cells evaluated at the data arena's bin centres are projected
  onto the fitted components (``W_data = nmf.transform(P_data)``: the NMF objective over W
  with H fixed) - the baseline analogue of the Generalization condition. Layer ``"nmf"``.
* ``"place_cells_mec"`` - place cells mapped linearly through the other animals' MEC (a
  two-stage map). Its rate-map file holds the place-cell maps (layer ``"place_cells"``); the
  two stages need the dataset and happen in the fit, :mod:`mec.fits.two_stage`
  (``two_stage_fit_table`` / ``fit_two_stage``; layer ``"mec"`` in the fit table): for each
  target animal, a ridge
  map from the place cells to the cells of all OTHER animals (stage one, fitted per split
  on the split's training bins only, by default), then the usual fit of its predictions to
  the target animal (stage two).

Random draws come from explicit seeds only (trajectory seeds; NMF ``random_state``; the fixed
place-cell seed of methods §1.2).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec import constants as C
from mec.data.arenas import arena_id

__all__ = [
    "BASELINE_KINDS",
    "BASELINE_LAYERS",
    "eval_box",
    "bin_centres",
    "velocity_ratemaps",
    "baseline_place_cells",
    "place_cell_ratemaps",
    "nmf_ratemaps",
    "baseline_ratemaps",
    "export_baseline",
]

BASELINE_KINDS = ("velocity", "place_cells", "place_cells_mec", "nmf")
#: The layer name each baseline's rate-map file holds.
BASELINE_LAYERS = {"velocity": "velocity", "place_cells": "place_cells",
                   "place_cells_mec": "place_cells", "nmf": "nmf"}


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------
def eval_box(arena) -> tuple[float, float, float, float]:
    """(min_x, max_x, min_y, max_y) metres of the arena centred on 0 (the box the models are
    evaluated in, methods §1.1): ``arena`` is a square's side in metres, or (width, height) of a
    rectangle (mec.data.arenas.ArenaGeometry)."""
    w, h = (arena, arena) if np.ndim(arena) == 0 else tuple(arena)
    try:
        w, h = float(w), float(h)
    except (TypeError, ValueError):
        raise ValueError(f"arena must be a positive size in metres or (width, height), "
                         f"got {arena!r}") from None
    if not (np.isfinite(w) and np.isfinite(h)) or w <= 0 or h <= 0:
        raise ValueError(f"arena must be a positive size in metres or (width, height), "
                         f"got {arena!r}")
    return (-w / 2, w / 2, -h / 2, h / 2)


def bin_centres(x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """Bin centres (nx, ny, 2) metres, indexed [ix, iy] like the rate maps."""
    x_edges, y_edges = _edges(x_edges, "x_edges"), _edges(y_edges, "y_edges")
    xc = (x_edges[:-1] + x_edges[1:]) / 2
    yc = (y_edges[:-1] + y_edges[1:]) / 2
    gx, gy = np.meshgrid(xc, yc, indexing="ij")
    return np.stack([gx, gy], axis=-1)


def _edges(e, what: str) -> np.ndarray:
    e = np.asarray(e, dtype=float)
    if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ValueError(f"{what} must be a finite increasing 1-d array of >= 2 edges, got {e!r}")
    return e


def _seed_list(seed) -> list[int]:
    seeds = [int(s) for s in (seed if isinstance(seed, (list, tuple, np.ndarray)) else [seed])]
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seed(s) must be non-negative ints, got {seed!r}")
    return seeds


# ---------------------------------------------------------------------------------------------
# velocity input
# ---------------------------------------------------------------------------------------------
def velocity_ratemaps(x_edges, y_edges, arena: float, n_batches: int = C.N_EVAL_SEQ,
                      batch_size: int = C.BATCH_SIZE, sequence_length: int = C.SEQUENCE_LENGTH,
                      seeds: Sequence[int] | int = 0) -> dict:
    """Rate maps of the networks' velocity input (methods §1.1) along fresh task trajectories.

    x_edges, y_edges: (nx+1,), (ny+1,) metres (the data's bins). arena: side in metres of the
    square walking box centred on 0. n_batches x batch_size x sequence_length samples per seed
    (methods §3.1: 100 x 200 x 20); seeds: trajectory seeds (pooled), batch i of seed s drawn from
    default_rng([s, i]) as in mec.task.TrajectoryGenerator.
    Each step's input (v cos hd, v sin hd) (metres per 20 ms step) is binned at the position
    that step reaches (the network's target of that step), like the models' activity.
    Returns {"velocity": (nx, ny, 2)}, NaN in unvisited bins.
    """
    from mec.ratemaps import bin_activity
    from mec.task import PlaceCells, TrajectoryGenerator

    x_edges, y_edges = _edges(x_edges, "x_edges"), _edges(y_edges, "y_edges")
    if int(n_batches) < 1:
        raise ValueError(f"n_batches must be >= 1, got {n_batches}")
    box = eval_box(arena)
    # the generator needs place cells; the identity "cells" (position itself) cost nothing
    pc = PlaceCells(n_cells=2, identity=True, min_x=box[0], max_x=box[1], min_y=box[2], max_y=box[3])
    pos_all, vel_all = [], []
    for s in _seed_list(seeds):
        gen = TrajectoryGenerator(pc, batch_size=int(batch_size), sequence_length=int(sequence_length),
                                  min_x=box[0], max_x=box[1], min_y=box[2], max_y=box[3], seed=s,
                                  dtype=np.float64)
        for i in range(int(n_batches)):
            b = gen.batch(i, place_targets=False)
            pos_all.append(b.positions.reshape(-1, 2))
            vel_all.append(b.velocity.reshape(-1, 2))
    maps = bin_activity(np.concatenate(pos_all), np.concatenate(vel_all), x_edges, y_edges)
    return {BASELINE_LAYERS["velocity"]: maps}


# ---------------------------------------------------------------------------------------------
# place cells
# ---------------------------------------------------------------------------------------------
def _arena_size(baseline_arena, data_arena):
    if baseline_arena is None or (isinstance(baseline_arena, str) and baseline_arena == "data"):
        # the data's box: a side, or (width, height) of a rectangle
        return float(data_arena) if np.ndim(data_arena) == 0 else tuple(map(float, data_arena))
    try:
        a = float(baseline_arena)
    except (TypeError, ValueError):
        raise ValueError(f"baseline_arena must be 'data' or a size in metres, "
                         f"got {baseline_arena!r}") from None
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"baseline_arena must be 'data' or a positive size in metres, "
                         f"got {baseline_arena!r}")
    return a


def baseline_place_cells(box_size: float, n_place_cells: int = C.N_PLACE_CELLS,
                         place_cell_rf: float = C.PLACE_CELL_RF,
                         surround_scale: float = C.SURROUND_SCALE, dog: bool = True):
    """The baseline's place cells (mec.task.PlaceCells): centres uniform in the square of side
    ``box_size`` m centred on 0, drawn from the fixed seed of methods §1.2."""
    from mec.task import PlaceCells

    b = eval_box(box_size)
    return PlaceCells(n_cells=int(n_place_cells), sigma=float(place_cell_rf),
                      surround_scale=float(surround_scale), dog=bool(dog),
                      min_x=b[0], max_x=b[1], min_y=b[2], max_y=b[3], seed=C.PLACE_CELL_SEED)


def place_cell_ratemaps(x_edges, y_edges, arena: float, baseline_arena="data",
                        n_place_cells: int = C.N_PLACE_CELLS, place_cell_rf: float = C.PLACE_CELL_RF,
                        surround_scale: float = C.SURROUND_SCALE, dog: bool = True) -> dict:
    """Ground-truth place-cell rate maps at the bin centres (methods §1.2).

    x_edges, y_edges: the data's bin edges (m); arena: the data's arena side (m);
    baseline_arena: "data" (centres in the data's arena) or a box side in m (e.g. 2.2).
    Returns {"place_cells": (nx, ny, Np)}; every bin's vector is non-negative and sums to 1.
    """
    pc = baseline_place_cells(_arena_size(baseline_arena, arena), n_place_cells, place_cell_rf,
                              surround_scale, dog)
    return {BASELINE_LAYERS["place_cells"]: pc.activation(bin_centres(x_edges, y_edges))}


# ---------------------------------------------------------------------------------------------
# NMF "low-rank grid cells"
# ---------------------------------------------------------------------------------------------
def nmf_ratemaps(x_edges, y_edges, arena: float, n_components: int, baseline_arena="data",
                 n_place_cells: int = C.N_PLACE_CELLS, place_cell_rf: float = C.PLACE_CELL_RF,
                 surround_scale: float = C.SURROUND_SCALE, dog: bool = True, seed: int = 0,
                 bin_cm: float = C.BIN_CM, max_iter: int = 200, tol: float = 1e-4,
                 return_model: bool = False):
    """NMF of place-cell rate maps: the "low-rank grid cell" models (methods §4.6).

    x_edges, y_edges: the data's bins (m); arena: the data's arena side (m);
    n_components: k (the paper: 9, 100, 256, 512); baseline_arena: "data" (fit in the data's
    arena: units = the components W) or a box side in m (fit over that box with ``bin_cm``
    bins, then project the data arena's place-cell maps on the fitted components); seed: NMF
    random_state. See the module docstring for the construction.
    Returns {"nmf": (nx, ny, k)} (with ``return_model`` also the fitted sklearn NMF).
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    from mec.ratemaps import make_edges

    k = int(n_components)
    if k < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components!r}")
    fit_size = _arena_size(baseline_arena, arena)
    on_data = baseline_arena is None or baseline_arena == "data"
    pc = baseline_place_cells(fit_size, n_place_cells, place_cell_rf, surround_scale, dog)
    data_centres = bin_centres(x_edges, y_edges)
    nx, ny = data_centres.shape[:2]
    P_data = pc.activation(data_centres).reshape(nx * ny, -1)
    if on_data:
        P_fit = P_data
    else:
        e = make_edges(-fit_size / 2, fit_size / 2, bin_cm)
        P_fit = pc.activation(bin_centres(e, e)).reshape(-1, pc.n_cells)
    # 'nndsvda' (deterministic SVD start, zeros filled with the mean so multiplicative updates
    # can move them) needs k <= min(n_bins, Np); beyond that a seeded random start (sklearn's
    # own rule). Multiplicative updates: ~4x faster than coordinate descent at k = 100-512
    # (2.2 m box, k = 512: ~50 s on one core for 200 iterations; relative reconstruction
    # error 0.07), which keeps every NMF job under a minute.
    init = "nndsvda" if k <= min(P_fit.shape) else "random"
    model = NMF(n_components=k, init=init, solver="mu", beta_loss="frobenius", max_iter=int(max_iter),
                tol=float(tol), random_state=int(seed))
    with warnings.catch_warnings():
        # a few hundred iterations reach a good fit; exact convergence is not the point
        warnings.simplefilter("ignore", ConvergenceWarning)
        W_fit = model.fit_transform(P_fit)
        W = W_fit if on_data else model.transform(P_data)
    maps = {BASELINE_LAYERS["nmf"]: W.reshape(nx, ny, k)}
    return (maps, model) if return_model else maps


# ---------------------------------------------------------------------------------------------
# dispatch and export
# ---------------------------------------------------------------------------------------------
def _param(params: Mapping, key: str, default):
    v = params.get(key, default) if params is not None else default
    return default if v is None else v


def baseline_ratemaps(kind: str, params: Mapping, x_edges, y_edges, arena: float, seed=0) -> dict:
    """Rate maps of baseline ``kind`` on the given bins.

    params: a model config entry (config.yaml ``models:``), of which these keys are read:
    n_place_cells (512 in the paper), place_cell_rf, surround_scale, dog, baseline_arena
    ("data" or m), n_components (nmf, required), n_eval_batches, batch_size, sequence_length
    (velocity trajectories), seed (NMF random_state). Other keys are ignored.
    seed: trajectory seed(s), pooled (velocity; config ratemaps.seeds); NMF uses params["seed"]
    when given, else the first of these.
    Returns {layer: (nx, ny, n_units)} (module docstring).
    """
    if kind not in BASELINE_KINDS:
        raise ValueError(f"baseline kind {kind!r} is not one of {BASELINE_KINDS}")
    params = dict(params or {})
    pc_kw = dict(n_place_cells=int(_param(params, "n_place_cells", C.N_PLACE_CELLS)),
                 place_cell_rf=float(_param(params, "place_cell_rf", C.PLACE_CELL_RF)),
                 surround_scale=float(_param(params, "surround_scale", C.SURROUND_SCALE)),
                 dog=bool(_param(params, "dog", True)))
    baseline_arena = _param(params, "baseline_arena", "data")
    if kind == "velocity":
        return velocity_ratemaps(x_edges, y_edges, arena,
                                 n_batches=int(_param(params, "n_eval_batches", C.N_EVAL_SEQ)),
                                 batch_size=int(_param(params, "batch_size", C.BATCH_SIZE)),
                                 sequence_length=int(_param(params, "sequence_length", C.SEQUENCE_LENGTH)),
                                 seeds=seed)
    if kind in ("place_cells", "place_cells_mec"):
        return place_cell_ratemaps(x_edges, y_edges, arena, baseline_arena=baseline_arena, **pc_kw)
    if params.get("n_components") is None:
        raise ValueError("baseline 'nmf' needs n_components (model config key n_components)")
    nmf_seed = params["seed"] if params.get("seed") is not None else _seed_list(seed)[0]
    return nmf_ratemaps(x_edges, y_edges, arena, int(params["n_components"]),
                        baseline_arena=baseline_arena, seed=int(nmf_seed), **pc_kw)


def export_baseline(kind: str, params: Mapping, dataset_path: str | os.PathLike, arena: float,
                    out_path: str | os.PathLike, seed=0) -> Path:
    """Rate maps of a baseline on the data's bins -> results/ratemaps/{model}_{arena}.h5.

    kind: one of BASELINE_KINDS; params: the model's config entry (see
    :func:`baseline_ratemaps`); dataset_path: the dataset file (its arena's bin edges are
    used, and its arena's geometry gives the walking / place-cell box); arena: the arena's
    name (float key for numeric names); seed: trajectory seed(s) (see :func:`baseline_ratemaps`).
    Attributes written: model (params["name"] if given), baseline, arena, seeds, the baseline's
    parameters, layer names.
    """
    import json

    from mec.data import load_dataset
    from mec.ratemaps import save_model_ratemaps

    arena = arena_id(arena)
    ds = load_dataset(dataset_path, arenas=[arena])
    x_edges, y_edges = ds.edges[arena]
    geom = ds.geometry(arena)  # the box from the dataset's geometry, never from the name
    box = geom.width if geom.width == geom.height else (geom.width, geom.height)
    maps = baseline_ratemaps(kind, params, x_edges, y_edges, box, seed=seed)
    used = {k: params[k] for k in ("n_place_cells", "place_cell_rf", "surround_scale", "dog",
                                   "baseline_arena", "n_components", "n_eval_batches",
                                   "batch_size", "sequence_length", "seed")
            if params is not None and params.get(k) is not None}
    attrs = {"model": str((params or {}).get("name", kind)), "baseline": kind, "arena": arena,
             "seeds": np.asarray(_seed_list(seed), dtype=np.int64),
             "baseline_params": json.dumps(used, sort_keys=True, default=str),
             "dataset": str(dataset_path)}
    return save_model_ratemaps(out_path, maps, x_edges, y_edges, attrs)
