"""Model rate maps and decoding error on fresh trajectories (methods §3.1), and their export to
the pipeline's rate-map files (``export_ratemaps``, ``export_training_box_ratemaps``).

The model runs on ``n_batches`` batches per trajectory seed in the evaluation box of ``cfg``;
each unit's activity is averaged per spatial bin by :class:`mec.ratemaps.BinMeans`, the
binning of :func:`mec.ratemaps.bin_activity` (positions outside the edges clipped into the
outermost bins, unvisited bins NaN), streamed batch by batch so that paper-scale models (4096
units, 400,000 samples) never hold all activations in memory. Samples of all seeds are
pooled.

As the released code evaluates (methods §1.2, 3.1):

* trajectories come from the task's *evaluation* random stream (mec.task.STREAMS), never
  from the batches the model was trained on, whatever the trajectory seed;
* in a box other than the training box (the Generalization condition) the place cells are
  drawn anew, with the same seed, inside the evaluation box (``place_cells=
  "evaluation_box"``, the default; mec.task.PlaceCells.in_box); ``"training_box"`` keeps
  the training centres. In the training box both are the same cells. The place cells
  enter through the initial state (the encoder reads the place-cell vector of the start
  position) and through the decoding of the dc layer.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from mec.models.config import generator_from_cfg
from mec.models.loading import TrainedModel
from mec.task import box_from_cfg

__all__ = ["model_ratemaps", "export_ratemaps", "export_training_box_ratemaps", "decode_error_cm", "evaluate_decoding_error", "evaluation_place_cells",
           "EVAL_PLACE_CELLS", "EVAL_STREAM"]

log = logging.getLogger(__name__)

#: Place cells of an evaluation in another box (module docstring); the first is the default.
EVAL_PLACE_CELLS = ("evaluation_box", "training_box")
#: The random stream of every evaluation trajectory (mec.task.STREAMS).
EVAL_STREAM = "evaluation"
#: Walls within this fraction of the training box's side count as the training box.
BOX_TOLERANCE = 0.01


def _as_trained(model) -> TrainedModel:
    if isinstance(model, TrainedModel):
        return model
    raise ValueError(f"model must be a mec.models.loading.TrainedModel (from load_trained_model), "
                     f"got {type(model).__name__}")


def evaluation_place_cells(model, box, place_cells: str = EVAL_PLACE_CELLS[0]):
    """The place cells of an evaluation of ``model`` in ``box`` (min_x, max_x, min_y, max_y) m.

    place_cells: "evaluation_box" (the released code: centres drawn anew, same seed, in the
    evaluation box) or "training_box" (the model's own centres). A box whose walls lie
    within ``BOX_TOLERANCE`` (1 %) of the training box's side from the training box's is
    the training box (data edges come from tracked positions, a few mm inside the walls):
    the model keeps its own centres there either way.
    """
    model = _as_trained(model)
    if place_cells not in EVAL_PLACE_CELLS:
        raise ValueError(f"place_cells must be one of {EVAL_PLACE_CELLS}, got {place_cells!r}")
    pc = model.place_cells
    box = tuple(float(b) for b in box)
    side = max(pc.box[1] - pc.box[0], pc.box[3] - pc.box[2])
    same = np.allclose(pc.box, box, rtol=0, atol=BOX_TOLERANCE * side)
    if place_cells == "training_box" or same:
        return pc
    return pc.in_box(*box)


def _eval_generator(model: TrainedModel, cfg, seed: int, batch_size=None,
                    place_cells: str = EVAL_PLACE_CELLS[0]):
    """Generator in the evaluation box of cfg (evaluation stream) with the evaluation's place
    cells (:func:`evaluation_place_cells`), the model's cues and no reward episodes.

    Cues keep their training positions; in a smaller box some may lie outside it, which is
    allowed here (distances stay defined) but logged.
    """
    box = box_from_cfg(cfg)
    bs = batch_size or (cfg.get("batch_size") if hasattr(cfg, "get") else None) or model.cfg["batch_size"]
    T = (cfg.get("sequence_length") if hasattr(cfg, "get") else None) or model.cfg["sequence_length"]
    pc = evaluation_place_cells(model, box, place_cells)
    mcfg = dict(model.cfg)
    if mcfg["reward_zone"]:
        # reward episodes are a training manipulation; rate maps use plain walks of the box
        mcfg["reward_zone"] = False
    kw = dict(place_cells=pc, box=box, seed=seed, batch_size=int(bs), sequence_length=int(T),
              stream=EVAL_STREAM)
    try:
        return generator_from_cfg(mcfg, check_cues=True, **kw)
    except ValueError as err:
        if not mcfg["cues"]:
            raise
        log.warning("evaluation box %s: %s; cue distances are still computed", box, err)
        return generator_from_cfg(mcfg, check_cues=False, **kw)


def model_ratemaps(model, cfg, x_edges, y_edges, n_batches: int, seeds: Sequence[int],
                   batch_size: int | None = None, layers: Sequence[str] = ("pre_g", "g", "dc"),
                   place_cells: str = EVAL_PLACE_CELLS[0], return_info: bool = False):
    """Mean activity per bin of every unit of each layer.

    model: TrainedModel (load_trained_model).
    cfg: evaluation box, configure_options-style keys (min_x..max_y, or box_width/box_height);
        optional batch_size and sequence_length (default: the model's training values).
    x_edges, y_edges: (nx+1,), (ny+1,) bin edges in metres (the data's).
    n_batches: batches per seed (methods §3.1: 100 of 200 x 20 = 400,000 samples); seeds:
        trajectory seeds of the evaluation stream, pooled.
    place_cells: "evaluation_box" (default, as released) or "training_box" (module docstring).
    Returns {layer: (nx, ny, n_units) float64}, NaN in unvisited bins; with ``return_info``
    also a dict: n_samples (positions binned), decoding_error_cm (mean over those samples,
    decoded with the evaluation's place cells, methods §1.2), place_cells, stream, and
    sample_counts (nx, ny), the samples per bin (what recipes that smooth model maps weigh
    bins by, mec.ratemaps.smooth_model_maps).
    """
    from mec.ratemaps import BinMeans
    from mec.task import prefetch

    model = _as_trained(model)
    if int(n_batches) < 1 or len(seeds) == 0:
        raise ValueError(f"need n_batches >= 1 and at least one seed, got {n_batches}, {list(seeds)}")
    layers = tuple(layers)
    # dc is needed for the decoding error even when its maps are not asked for
    run_layers = layers if "dc" in layers else layers + ("dc",)
    binned = BinMeans(x_edges, y_edges)  # the binning of mec.ratemaps.bin_activity, streamed
    err_sum = 0.0
    for seed in seeds:
        gen = _eval_generator(model, cfg, int(seed), batch_size, place_cells)
        for b in prefetch(lambda i: gen.batch(i, place_targets=False), 0, int(n_batches), depth=4):
            acts = model.activations(b, run_layers)
            pos = b.positions.reshape(-1, 2).astype(np.float64)
            keep = binned.add(pos, {name: acts[name].reshape(-1, acts[name].shape[-1])
                                    for name in layers})
            # decoding error on the same samples (finite positions) that are binned
            pred = gen.place_cells.decode(acts["dc"]).reshape(-1, 2)
            err_sum += float(np.linalg.norm(pred[keep] - pos[keep], axis=-1).sum())
    out = binned.means()
    if not return_info:
        return out
    n_samples = binned.n_samples
    info = {"n_samples": int(n_samples), "place_cells": place_cells, "stream": EVAL_STREAM,
            "decoding_error_cm": 100.0 * err_sum / n_samples if n_samples else float("nan"),
            "sample_counts": binned.sample_counts()}
    return out, info


def decode_error_cm(model, dc: np.ndarray, positions: np.ndarray, place_cells=None) -> float:
    """Mean decoding error in cm of dc outputs (batch, T, Np) against positions (batch, T, 2) m
    (top-3 place-cell decoding, methods §1.2; the output itself for the position loss), with the
    model's place cells or ``place_cells`` (a mec.task.PlaceCells, e.g. an evaluation's)."""
    model = _as_trained(model)
    pc = model.place_cells if place_cells is None else place_cells
    pred = pc.decode(dc)
    return float(100.0 * np.linalg.norm(pred - np.asarray(positions, float), axis=-1).mean())


def evaluate_decoding_error(model, cfg, n_batches: int, seed: int, unit_mask=None,
                            batch_size: int | None = None,
                            place_cells: str = EVAL_PLACE_CELLS[0]) -> float:
    """Decoding error (cm) on fresh trajectories (evaluation stream) in the box of cfg.

    unit_mask: optional (Ng,) array; g-layer activity is multiplied by it before the decoder
    (0 knocks a unit out), e.g. to ablate grid-like units. place_cells: as model_ratemaps.
    """
    model = _as_trained(model)
    km = model.keras_model
    if unit_mask is not None:
        unit_mask = np.asarray(unit_mask, dtype=np.float32)
        ng = km.get_layer("g").output.shape[-1]
        if unit_mask.shape != (ng,):
            raise ValueError(f"unit_mask must have shape ({ng},), got {unit_mask.shape}")
    dc_layer = km.get_layer("dc")
    gen = _eval_generator(model, cfg, int(seed), batch_size, place_cells)
    errs = []
    for i in range(int(n_batches)):
        b = gen.batch(i, place_targets=False)
        if unit_mask is None:
            dc = model.dc(b)
        else:
            g = model.g(b) * unit_mask
            dc = np.asarray(dc_layer(g), dtype=np.float32)
        errs.append(decode_error_cm(model, dc, b.positions, gen.place_cells))
    return float(np.mean(errs))


def export_ratemaps(model_dir, dataset_path, arena: float, n_batches: int, seeds: Sequence[int],
                    layers: Sequence[str], out_path, place_cells: str = EVAL_PLACE_CELLS[0]) -> None:
    """Rate maps of a trained model on the bins of a dataset's arena, written with
    :func:`mec.ratemaps.save_model_ratemaps` (methods §3.1).

    model_dir: results/models/{model} (model.keras + config.json).
    dataset_path: results/data/{dataset}.h5; its ``edges[arena]`` are the bins, and the
        evaluation box spans them (the data's arena extent, a rectangle where the arena is).
    arena: the arena's name (float key for numeric names); n_batches per seed; seeds:
        trajectory seeds of the evaluation stream (pooled); place_cells: "evaluation_box" (as
        released) or "training_box".
    Attributes stored: model, layers, arena, seeds, n_batches, n_samples (positions binned),
    trajectory_stream, place_cells, decoding_error_cm (on the same samples), condition
    (methods §2.3), untrained, train_arena, weight_decay_target, recurrent_rms and
    recurrent_norm (mec.models.loading.recurrent_weight_stats), batch_size, sequence_length,
    mec_version.
    """
    from pathlib import Path

    from mec.data import Dataset, load_dataset
    from mec.data.arenas import arena_geometry, arena_id
    from mec.models.loading import load_run

    model_dir = Path(model_dir)
    ds = load_dataset(dataset_path)
    arena = arena_id(arena)
    if arena not in ds.edges:
        raise ValueError(f"arena {arena} not in dataset {dataset_path} (arenas {list(ds.edges)})")
    x_edges, y_edges = (np.asarray(e, float) for e in ds.edges[arena])
    # Figure 2 condition (mec.models.conditions): "trained" only in a square of the training
    # box's side (a bare dict-like dataset without geometry: the numeric name is the side)
    geom = ds.geometry(arena) if isinstance(ds, Dataset) else arena_geometry(arena)
    _export(load_run(model_dir), model_dir, arena, geom, x_edges, y_edges, n_batches, seeds,
            layers, out_path, place_cells)


def export_training_box_ratemaps(model_dir, bin_cm: float, n_batches: int,
                                 seeds: Sequence[int], layers: Sequence[str], out_path,
                                 place_cells: str = EVAL_PLACE_CELLS[0]) -> None:
    """Rate maps of a trained model in its own training box (the square of side
    ``train_arena`` m centred on 0, square bins of ``bin_cm`` cm), for the model-health
    table when the data have no arena of that size (mec.summary.health): grid fractions and
    decoding error are the paper's measures in the training box, not in another.

    Same file, attributes and evaluation stream as :func:`export_ratemaps` (``arena`` is the
    training box's side, ``condition`` "trained" or "untrained"); these maps are never fitted
    to data (their bins are not the data's).
    """
    from pathlib import Path

    from mec.data.arenas import arena_edges, arena_geometry, arena_id
    from mec.models.loading import load_run

    model_dir = Path(model_dir)
    model = load_run(model_dir)
    side = float(model.cfg["train_arena"])
    arena = arena_id(side)
    geom = arena_geometry(arena)
    x_edges, y_edges, notes = arena_edges(geom, bin_cm)
    for note in notes:
        print(f"note: {note}", flush=True)
    _export(model, model_dir, arena, geom, x_edges, y_edges, n_batches, seeds, layers, out_path,
            place_cells)


def _export(model, model_dir, arena, geom, x_edges, y_edges, n_batches, seeds, layers, out_path,
            place_cells) -> None:
    """Rate maps of ``model`` on (x_edges, y_edges) in the box they span, written to out_path
    with the attributes listed in :func:`export_ratemaps`."""
    import mec
    from mec.models.conditions import training_condition
    from mec.models.loading import recurrent_weight_stats
    from mec.ratemaps import save_model_ratemaps

    cfg = {"min_x": float(x_edges[0]), "max_x": float(x_edges[-1]),
           "min_y": float(y_edges[0]), "max_y": float(y_edges[-1])}
    print(f"model {model_dir.name}: {model}; box {cfg}; {len(x_edges) - 1} x {len(y_edges) - 1} bins", flush=True)
    maps, info = model_ratemaps(model, cfg, x_edges, y_edges, n_batches=n_batches, seeds=seeds,
                                layers=layers, place_cells=place_cells, return_info=True)
    print(f"{info['n_samples']} samples ({len(seeds)} seed(s) x {n_batches} batches of "
          f"{model.cfg['batch_size']} x {model.cfg['sequence_length']}); decoding error "
          f"{info['decoding_error_cm']:.2f} cm; place cells: {place_cells}", flush=True)
    counts = info["sample_counts"]
    attrs = {"model": model_dir.name, "layers": list(layers), "arena": arena,
             "seeds": np.asarray(list(seeds), dtype=np.int64), "n_batches": int(n_batches),
             "n_samples": int(info["n_samples"]), "trajectory_stream": info["stream"],
             "place_cells": place_cells, "decoding_error_cm": float(info["decoding_error_cm"]),
             "condition": training_condition(model.cfg, geom), "untrained": bool(model.cfg["untrained"]),
             "train_arena": float(model.cfg["train_arena"]),
             "weight_decay_target": str(model.cfg["weight_decay_target"]),
             **recurrent_weight_stats(model),
             "batch_size": int(model.cfg["batch_size"]), "sequence_length": int(model.cfg["sequence_length"]),
             "mec_version": getattr(mec, "__version__", "unknown")}
    # plain bin means (the paper's recipe) plus the samples per bin, from which a fit makes
    # the maps of other recipes (mec.fits.settings.model_maps_for)
    save_model_ratemaps(out_path, maps, x_edges, y_edges, attrs, counts=counts)
