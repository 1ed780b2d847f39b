"""Baseline "models" with no training step, for the paper's Figure 2 (SPEC 4.6).

Every baseline produces rate maps on a dataset arena's bin edges as ``{layer: (nx, ny,
n_units)}``, written by :func:`export_baseline` through the same
``mec.ratemaps.save_model_ratemaps`` file as a trained model's
(``results/ratemaps/{model}_{arena}.h5``), so the same fit rule scores them. Each baseline has
ONE layer, named after what it is (:data:`BASELINE_LAYERS`); the fit of a baseline should use
every layer of its file (``layers=None``) rather than config ``fits.layers``.

The baselines (``kind``):

* ``"velocity"`` - the networks' velocity input, (v cos hd, v sin hd) per step in metres
  (SPEC 1.1), averaged per bin of the position reached by that step, along fresh task
  trajectories in the evaluation box (the data's arena, a square of side ``arena`` centred on
  0, as the models are evaluated). 2 units. Layer ``"velocity"``.
* ``"place_cells"`` - the ground-truth DoG place cells (SPEC 1.2; 512 in the paper), their
  exact activation at the bin centres (no trajectories needed: the mean over a bin of a smooth
  function differs from its value at the centre by O(bin^2), and bin centres make the maps
  deterministic). Each bin's vector sums to 1. Centres are drawn uniformly (fixed seed, SPEC
  1.2) in the box of ``baseline_arena``: ``"data"`` (default; the data's arena) or a size in
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
  two stages need the dataset and happen in the fit, :func:`two_stage_fit_table` /
  :func:`fit_two_stage` (layer ``"mec"`` in the fit table): for each target animal, a ridge
  map from the place cells to the cells of all OTHER animals (stage one, fitted per split
  on the split's training bins only, by default), then the usual fit of its predictions to
  the target animal (stage two).

Random draws come from explicit seeds only (trajectory seeds; NMF ``random_state``; the fixed
place-cell seed of SPEC 1.2).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec.core import constants as C
from mec.data.arenas import arena_id

__all__ = [
    "BASELINE_KINDS",
    "BASELINE_LAYERS",
    "TWO_STAGE_LAYER",
    "DEFAULT_STAGE1_ALPHAS",
    "eval_box",
    "bin_centres",
    "velocity_ratemaps",
    "baseline_place_cells",
    "place_cell_ratemaps",
    "nmf_ratemaps",
    "baseline_ratemaps",
    "two_stage_maps",
    "STAGE1_BINS",
    "two_stage_fit_table",
    "fit_two_stage",
    "export_baseline",
]

BASELINE_KINDS = ("velocity", "place_cells", "place_cells_mec", "nmf")
#: The layer name each baseline's rate-map file holds.
BASELINE_LAYERS = {"velocity": "velocity", "place_cells": "place_cells",
                   "place_cells_mec": "place_cells", "nmf": "nmf"}
#: Layer name of the two-stage fit's rows (results/fits/{model}_{arena}.csv).
TWO_STAGE_LAYER = "mec"
#: Ridge penalties tried in stage one of the two-stage map (efficient leave-one-out CV over
#: bins, sklearn RidgeCV). Place-cell activities are probability vectors (values ~1/Np), so a
#: fixed alpha = 1 would shrink the map to almost nothing; the range covers that scale.
DEFAULT_STAGE1_ALPHAS = tuple(np.geomspace(1e-8, 1e2, 11))


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------
def eval_box(arena) -> tuple[float, float, float, float]:
    """(min_x, max_x, min_y, max_y) metres of the arena centred on 0 (the box the models are
    evaluated in, SPEC 1.1): ``arena`` is a square's side in metres, or (width, height) of a
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
    """Rate maps of the networks' velocity input (SPEC 1.1) along fresh task trajectories.

    x_edges, y_edges: (nx+1,), (ny+1,) metres (the data's bins). arena: side in metres of the
    square walking box centred on 0. n_batches x batch_size x sequence_length samples per seed
    (SPEC 3.1: 100 x 200 x 20); seeds: trajectory seeds (pooled), batch i of seed s drawn from
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
    ``box_size`` m centred on 0, drawn from the fixed seed of SPEC 1.2."""
    from mec.task import PlaceCells

    b = eval_box(box_size)
    return PlaceCells(n_cells=int(n_place_cells), sigma=float(place_cell_rf),
                      surround_scale=float(surround_scale), dog=bool(dog),
                      min_x=b[0], max_x=b[1], min_y=b[2], max_y=b[3], seed=C.PLACE_CELL_SEED)


def place_cell_ratemaps(x_edges, y_edges, arena: float, baseline_arena="data",
                        n_place_cells: int = C.N_PLACE_CELLS, place_cell_rf: float = C.PLACE_CELL_RF,
                        surround_scale: float = C.SURROUND_SCALE, dog: bool = True) -> dict:
    """Ground-truth place-cell rate maps at the bin centres (SPEC 1.2).

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
    """NMF of place-cell rate maps: the "low-rank grid cell" models (SPEC 4.6).

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


# ---------------------------------------------------------------------------------------------
# two-stage map: place cells -> other animals' MEC -> target animal
# ---------------------------------------------------------------------------------------------
def two_stage_maps(place_maps, source_resp, alphas: Sequence[float] = DEFAULT_STAGE1_ALPHAS,
                   fit_bins=None):
    """Stage one: place cells -> MEC-like maps, a ridge map.

    place_maps: (nx, ny, Np) (or (n_bins, Np)); source_resp: (nx, ny, n_src) cells of the
    SOURCE animals only (NaN = unusable bin); fit_bins: optional (n_bins,) bool or flat bin
    indices the map may be fitted on (default: all). The ridge map (RidgeCV over ``alphas``,
    efficient leave-one-out over bins; one alpha for all cells) is fitted on the allowed bins
    where every place cell and every source cell is finite, then predicts every bin where the
    place cells are finite. Returns (nx, ny, n_src) (or (n_bins, n_src)), NaN elsewhere.
    """
    from sklearn.linear_model import Ridge, RidgeCV

    P = np.asarray(place_maps, dtype=np.float64)
    S = np.asarray(source_resp, dtype=np.float64)
    if P.shape[:-1] != S.shape[:-1]:
        raise ValueError(f"place maps {P.shape} and source maps {S.shape} are on different bins")
    grid = P.shape[:-1]
    Pf, Sf = P.reshape(-1, P.shape[-1]), S.reshape(-1, S.shape[-1])
    p_ok = np.isfinite(Pf).all(axis=1)
    fit = p_ok & np.isfinite(Sf).all(axis=1)
    if fit_bins is not None:
        allowed = np.zeros(len(fit), dtype=bool)
        allowed[np.asarray(fit_bins)] = True
        fit &= allowed
    if fit.sum() < 3:
        raise ValueError(f"two-stage stage one: only {int(fit.sum())} bins are allowed and finite "
                         f"in the place cells and every source cell")
    alphas = [float(a) for a in np.atleast_1d(alphas)]
    reg = Ridge(alpha=alphas[0]) if len(alphas) == 1 else RidgeCV(alphas=alphas)
    reg.fit(Pf[fit], Sf[fit])
    out = np.full(Sf.shape, np.nan)
    out[p_ok] = reg.predict(Pf[p_ok])
    return out.reshape(*grid, -1)


STAGE1_BINS = ("train", "all")


def two_stage_fit_table(place_maps, dataset: Mapping, arena, model_name: str, maps: Mapping,
                        train_frac=0.2, num_splits: int = 10, split_start_seed: int = 0,
                        map_kwargs_per_cell: Mapping | None = None,
                        stage1_alphas: Sequence[float] = DEFAULT_STAGE1_ALPHAS,
                        stage1_bins: str = "train", layer: str = TWO_STAGE_LAYER):
    """Place cells mapped linearly through the other animals' MEC, fitted to each animal.

    For each target animal: stage one (:func:`two_stage_maps`) maps the place cells to the
    cells of all OTHER animals of the arena (the target animal never enters this stage);
    stage two is the usual fit (mec.fits.core.fit_scores, SPEC 4.2) of those predicted
    MEC-like maps as the source to the target animal's cells.

    stage1_bins: which bins stage one is fitted on.
      "train" (default): per split, only that split's training bins (the splits of the
        stage-two fit, SPEC 4.2), so a test bin's prediction depends on the place cells alone
        and on no recorded activity at test bins. Scored per split (stage two runs once per
        split; the score is the nanmean over splits).
      "all": every bin, once. Stage one then sees the other animals' activity at the test
        bins, and with Np >= n_bins it interpolates them, so the baseline collapses onto the
        inter-animal ceiling (measured on the synthetic data: median 0.865 vs ceiling 0.868).
    place_maps: (nx, ny, Np) on the data's bins of ``arena``; dataset:
    ``dataset[arena][animal] = {"resp", "cell_ids", ["cell_types"]}``; maps: ``{name:
    {"map_type", "map_kwargs"[, "map_kwargs_per_cell"]}}`` (config fits.maps);
    map_kwargs_per_cell: optional ``{map name: per-cell kwargs}`` (e.g. the ElasticNet
    choices). Returns a DataFrame with mec.fits.core.TABLE_COLUMNS; source = model_name,
    layer = ``layer`` ("mec").
    """
    from mec.fits.core import fit_scores, map_settings, score_rows, tidy_table
    from mec.fits.splits import generate_train_test_splits

    if stage1_bins not in STAGE1_BINS:
        raise ValueError(f"stage1_bins must be one of {STAGE1_BINS}, got {stage1_bins!r}")
    arena_data = dataset[arena]
    animals = list(arena_data)
    if len(animals) < 2:
        raise ValueError(f"two-stage map needs >= 2 animals in arena {arena}, got {animals}")
    place_maps = np.asarray(place_maps, dtype=np.float64)
    if place_maps.ndim != 3:
        raise ValueError(f"place_maps must be (nx, ny, Np), got shape {place_maps.shape}")
    grid = place_maps.shape[:2]
    p_ok = np.isfinite(place_maps.reshape(-1, place_maps.shape[-1])).all(axis=1)
    frames = []
    for animal in animals:
        others = [a for a in animals if a != animal]  # the target never enters stage one
        source = np.concatenate([np.asarray(arena_data[a]["resp"], dtype=np.float64) for a in others],
                                axis=-1)
        rec = arena_data[animal]
        target = np.asarray(rec["resp"], dtype=np.float64)
        ids = [str(c) for c in np.asarray(rec["cell_ids"]).ravel()]
        if stage1_bins == "all":
            sources = [two_stage_maps(place_maps, source, alphas=stage1_alphas)]
        else:
            # the bins stage two keeps (its source is finite wherever the place cells are) and
            # its splits, exactly as fit_scores will draw them
            valid = p_ok & np.isfinite(target.reshape(-1, target.shape[-1])).all(axis=1)
            kept = np.flatnonzero(valid)
            splits = generate_train_test_splits(len(valid), train_frac=train_frac,
                                                num_splits=num_splits,
                                                split_start_seed=split_start_seed,
                                                grid_shape=grid, valid=valid)
            sources = [two_stage_maps(place_maps, source, alphas=stage1_alphas,
                                      fit_bins=kept[sp["train"]]) for sp in splits]
        for name, spec in maps.items():
            map_type, map_kwargs, per_cell = map_settings(name, spec, map_kwargs_per_cell)
            kw = dict(map_type=map_type, map_kwargs=map_kwargs, train_frac=train_frac,
                      num_splits=num_splits, split_start_seed=split_start_seed,
                      map_kwargs_per_cell=per_cell, cell_ids=ids)
            if stage1_bins == "all":
                scores = fit_scores(sources[0], target, **kw)
            else:
                # split s of stage two uses the stage-one map fitted on split s's training bins
                per_split = np.stack([_split_scores(src, target, s, len(sources), kw)
                                      for s, src in enumerate(sources)])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cell -> NaN
                    scores = np.nanmean(per_split, axis=0)
            # the tidy rows of every fit table (mec.fits.core), paper setting
            frames.append(score_rows(arena, arena_data, animal, scores, model_name, layer, name))
    return tidy_table(frames)


def _slice_spec(spec, s: int, n_splits: int):
    """One cell's per-split map kwargs (mec.fits.core form) reduced to split s."""
    if isinstance(spec, Mapping) and "map_kwargs" in spec:
        out = dict(spec)
        out["map_kwargs"] = _slice_spec(spec["map_kwargs"], s, n_splits)
        return out
    if isinstance(spec, Mapping):
        return spec
    spec = list(spec)
    if len(spec) != n_splits:
        raise ValueError(f"per-cell map kwargs have {len(spec)} per-split entries, "
                         f"the fit has {n_splits} splits")
    return [spec[s]]


def _split_scores(source, target, s: int, n_splits: int, kw: dict) -> np.ndarray:
    """Scores (n_tgt,) of split s of a fit_scores call with arguments kw.

    Random splits: split s is the single split of seed split_start_seed + s (SPEC 4.2), so
    one split is fitted. Structured splits: the whole fit, keeping split s.
    """
    from mec.fits.core import fit_scores

    if isinstance(kw["train_frac"], str):
        return fit_scores(source, target, return_per_split=True, **kw)[1][s]
    one = dict(kw, num_splits=1, split_start_seed=kw["split_start_seed"] + s)
    per_cell = kw.get("map_kwargs_per_cell")
    if isinstance(per_cell, Mapping):
        one["map_kwargs_per_cell"] = {c: _slice_spec(v, s, n_splits) for c, v in per_cell.items()}
    elif per_cell is not None:
        one["map_kwargs_per_cell"] = [_slice_spec(v, s, n_splits) for v in per_cell]
    return fit_scores(source, target, **one)


def fit_two_stage(dataset_path: str | os.PathLike, ratemaps_path: str | os.PathLike, model: str,
                  arena: float, maps: Mapping, out_path, train_frac=0.2, num_splits: int = 10,
                  split_start_seed: int = 0, elasticnet_tables: Sequence[str | os.PathLike] = (),
                  stage1_alphas: Sequence[float] = DEFAULT_STAGE1_ALPHAS,
                  stage1_bins: str = "train") -> Path:
    """Rule fit_two_stage: the two-stage baseline -> results/fits/{model}_{arena}.csv.

    ratemaps_path: the baseline's place-cell maps (export_baseline kind "place_cells_mec");
    their edges must equal the dataset's. With ElasticNet tables, map "elasticnet" reuses each
    cell's per-split choice from the inter-animal grid (SPEC 4.4), as in fit_model.
    """
    from mec.data import load_dataset
    from mec.fits.pipeline import with_elasticnet
    from mec.io import write_table
    from mec.ratemaps import check_same_edges, load_model_ratemaps

    arena = arena_id(arena)
    dataset = load_dataset(dataset_path, arenas=[arena])
    layer = BASELINE_LAYERS["place_cells_mec"]
    model_maps, edges, _ = load_model_ratemaps(ratemaps_path, layers=[layer])
    check_same_edges(edges, dataset.edges[arena],
                     f"place-cell maps {ratemaps_path} vs dataset {dataset_path} arena {arena}")
    maps = with_elasticnet(maps, elasticnet_tables)
    table = two_stage_fit_table(model_maps[layer], dataset, arena, model, maps, train_frac=train_frac,
                                num_splits=num_splits, split_start_seed=split_start_seed,
                                stage1_alphas=stage1_alphas, stage1_bins=stage1_bins)
    return write_table(table, out_path)
