"""Rate maps and decoding error of a model on fresh trajectories (SPEC 3.1).

The model runs on ``n_batches`` batches per trajectory seed in the evaluation box of ``cfg``;
each unit's activity is averaged per spatial bin with the binning rule of
:func:`mec.ratemaps.bin_activity` (positions outside the edges clipped into the outermost
bins, unvisited bins NaN), streamed batch by batch so that paper-scale models (4096 units,
400,000 samples) never hold all activations in memory. Samples of all seeds are pooled.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from mec.models.utils import TrainedModel, generator_from_cfg
from mec.task import box_from_cfg

__all__ = ["model_ratemaps", "decode_error_cm", "evaluate_decoding_error"]

log = logging.getLogger(__name__)


def _as_trained(model) -> TrainedModel:
    if isinstance(model, TrainedModel):
        return model
    raise ValueError(f"model must be a mec.models.utils.TrainedModel (from load_trained_model), "
                     f"got {type(model).__name__}")


def _eval_generator(model: TrainedModel, cfg, seed: int, batch_size=None):
    """Generator in the evaluation box of cfg with the model's place cells, cues and rewards.

    Cues keep their training positions; in a smaller box some may lie outside it, which is
    allowed here (distances stay defined) but logged.
    """
    box = box_from_cfg(cfg)
    bs = batch_size or (cfg.get("batch_size") if hasattr(cfg, "get") else None) or model.cfg["batch_size"]
    T = (cfg.get("sequence_length") if hasattr(cfg, "get") else None) or model.cfg["sequence_length"]
    mcfg = dict(model.cfg)
    if mcfg["reward_zone"]:
        # reward episodes are a training manipulation; rate maps use plain walks of the box
        mcfg["reward_zone"] = False
    try:
        return generator_from_cfg(mcfg, place_cells=model.place_cells, box=box, seed=seed,
                                  batch_size=int(bs), sequence_length=int(T), check_cues=True)
    except ValueError as err:
        if not mcfg["cues"]:
            raise
        log.warning("evaluation box %s: %s; cue distances are still computed", box, err)
        return generator_from_cfg(mcfg, place_cells=model.place_cells, box=box, seed=seed,
                                  batch_size=int(bs), sequence_length=int(T), check_cues=False)


def model_ratemaps(model, cfg, x_edges, y_edges, n_batches: int, seeds: Sequence[int],
                   batch_size: int | None = None, layers: Sequence[str] = ("pre_g", "g", "dc"),
                   return_counts: bool = False):
    """Mean activity per bin of every unit of each layer.

    model: TrainedModel (load_trained_model).
    cfg: evaluation box, configure_options-style keys (min_x..max_y, or box_width/box_height);
        optional batch_size and sequence_length (default: the model's training values).
    x_edges, y_edges: (nx+1,), (ny+1,) bin edges in metres (the data's).
    n_batches: batches per seed (SPEC 3.1: 100); seeds: trajectory seeds, pooled.
    Returns {layer: (nx, ny, n_units) float64}, NaN in unvisited bins; with
    ``return_counts`` also the (nx, ny) samples per bin (what recipes that smooth model maps
    weigh bins by, mec.ratemaps.smooth_model_maps).
    """
    from mec.ratemaps import bin_index

    model = _as_trained(model)
    if int(n_batches) < 1 or len(seeds) == 0:
        raise ValueError(f"need n_batches >= 1 and at least one seed, got {n_batches}, {list(seeds)}")
    x_edges, y_edges = np.asarray(x_edges, float), np.asarray(y_edges, float)
    nx, ny = len(x_edges) - 1, len(y_edges) - 1
    layers = tuple(layers)
    sums: dict = {}
    counts = np.zeros(nx * ny)
    from scipy import sparse
    for seed in seeds:
        gen = _eval_generator(model, cfg, int(seed), batch_size)
        from mec.task import prefetch
        for b in prefetch(lambda i: gen.batch(i, place_targets=False), 0, int(n_batches), workers=2, depth=4):
            acts = model.activations(b, layers)
            pos = b.positions.reshape(-1, 2).astype(np.float64)
            keep = np.isfinite(pos).all(axis=1)
            idx = bin_index(pos[keep], x_edges, y_edges)
            onehot = sparse.csr_matrix((np.ones(len(idx)), (idx, np.arange(len(idx)))),
                                       shape=(nx * ny, len(idx)))
            counts += np.bincount(idx, minlength=nx * ny)
            for name, a in acts.items():
                a = a.reshape(-1, a.shape[-1])[keep].astype(np.float64)
                s = onehot @ a
                sums[name] = s if name not in sums else sums[name] + s
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in layers:
            m = sums[name] / counts[:, None]
            m[counts == 0] = np.nan
            out[name] = m.reshape(nx, ny, -1)
    return (out, counts.reshape(nx, ny)) if return_counts else out


def decode_error_cm(model, dc: np.ndarray, positions: np.ndarray) -> float:
    """Mean decoding error in cm of dc outputs (batch, T, Np) against positions (batch, T, 2) m
    (top-3 place-cell decoding, SPEC 1.2; the output itself for the position loss)."""
    model = _as_trained(model)
    pred = model.place_cells.decode(dc)
    return float(100.0 * np.linalg.norm(pred - np.asarray(positions, float), axis=-1).mean())


def evaluate_decoding_error(model, cfg, n_batches: int, seed: int, unit_mask=None,
                            batch_size: int | None = None) -> float:
    """Decoding error (cm) on fresh trajectories in the box of cfg.

    unit_mask: optional (Ng,) array; g-layer activity is multiplied by it before the decoder
    (0 knocks a unit out), e.g. to ablate grid-like units.
    """
    from mec.models.network import model_inputs

    model = _as_trained(model)
    km = model.keras_model
    if unit_mask is not None:
        unit_mask = np.asarray(unit_mask, dtype=np.float32)
        ng = km.get_layer("g").output.shape[-1]
        if unit_mask.shape != (ng,):
            raise ValueError(f"unit_mask must have shape ({ng},), got {unit_mask.shape}")
    dc_layer = km.get_layer("dc")
    gen = _eval_generator(model, cfg, int(seed), batch_size)
    errs = []
    for i in range(int(n_batches)):
        b = gen.batch(i, place_targets=False)
        if unit_mask is None:
            dc = model.dc(b)
        else:
            g = model.g(b) * unit_mask
            dc = np.asarray(dc_layer(g), dtype=np.float32)
        errs.append(decode_error_cm(model, dc, b.positions))
    return float(np.mean(errs))


def export_ratemaps(model_dir, dataset_path, arena: float, n_batches: int, seeds: Sequence[int],
                    layers: Sequence[str], out_path) -> None:
    """Rate maps of a trained model on the bins of a dataset's arena, written with
    :func:`mec.ratemaps.save_model_ratemaps` (SPEC 3.1).

    model_dir: results/models/{model} (model.keras + config.json).
    dataset_path: results/data/{dataset}.h5; its ``edges[arena]`` are the bins, and the
        evaluation box spans them (the data's arena extent).
    arena: arena key in metres; n_batches per seed; seeds: trajectory seeds (pooled).
    Attributes stored: model, layers, arena, seeds, n_batches, condition (SPEC 2.3), batch_size,
    sequence_length, mec_version.
    """
    from pathlib import Path

    import mec
    from mec.data import load_dataset
    from mec.models.utils import load_trained_model, training_condition
    from mec.ratemaps import save_model_ratemaps

    model_dir = Path(model_dir)
    ds = load_dataset(dataset_path)
    arena = float(arena)
    if arena not in ds.edges:
        raise ValueError(f"arena {arena} not in dataset {dataset_path} (arenas {sorted(ds.edges)})")
    x_edges, y_edges = (np.asarray(e, float) for e in ds.edges[arena])
    model = load_trained_model(load_dir=model_dir.parent, run_ID=model_dir.name,
                               rnn_type=None, activation=None)
    cfg = {"min_x": float(x_edges[0]), "max_x": float(x_edges[-1]),
           "min_y": float(y_edges[0]), "max_y": float(y_edges[-1])}
    print(f"model {model_dir.name}: {model}; box {cfg}; {len(x_edges) - 1} x {len(y_edges) - 1} bins", flush=True)
    maps, counts = model_ratemaps(model, cfg, x_edges, y_edges, n_batches=n_batches, seeds=seeds,
                                  layers=layers, return_counts=True)
    attrs = {"model": model_dir.name, "layers": list(layers), "arena": arena,
             "seeds": np.asarray(list(seeds), dtype=np.int64), "n_batches": int(n_batches),
             "condition": training_condition(model.cfg, arena),
             "batch_size": int(model.cfg["batch_size"]), "sequence_length": int(model.cfg["sequence_length"]),
             "mec_version": getattr(mec, "__version__", "unknown")}
    # plain bin means (the paper's recipe) plus the samples per bin, from which a fit makes
    # the maps of other recipes (mec.fits.settings.model_maps_for)
    save_model_ratemaps(out_path, maps, x_edges, y_edges, attrs, counts=counts)
