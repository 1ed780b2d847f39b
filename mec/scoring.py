"""``mec.score``: one model scored against a dataset from Python, as the workflow scores it.

The same functions as the workflow's rules, in the same order, on files in a temporary
folder: :func:`mec.models.external.import_model` (rule import_model) makes the model's rate
maps on each arena's bins, :func:`mec.fits.pipeline.interanimal`, ``floors`` and ``fit_model``
(rules interanimal, floors, fit_model) fit them, and mec.summary's ``ceiling_table``,
``predictivity_table`` and ``best_layer_table`` (rule summarize) make the table. With the
config of a workflow run, its numbers are that run's ``best_layer.csv`` rows of the model.

Every median comes with the workflow's 95 % interval (hierarchical bootstrap, config
``summary.bootstrap``, methods §7.7), and the halves setting is fitted when the config turns
it on (``fits.halves``, methods §7.8). Not computed here: the per-cell ElasticNet map (its
cross-validated grid is the costliest step of a run; use the workflow).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

__all__ = ["score", "model_entry"]


def model_entry(model) -> dict:
    """A config ``models:`` entry for ``model``: an entry itself (a mapping with ``source``),
    a callable (source ``python``), or a file path: ``.npz`` or an HDF5 file with
    ``positions`` are samples, other HDF5 files rate maps (mec.models.external layouts)."""
    if isinstance(model, Mapping):
        return dict(model)
    if isinstance(model, Callable):
        return {"source": "python", "callable": model}
    path = Path(os.fspath(model))
    if path.suffix == ".npz":
        return {"source": "samples", "path": str(path)}
    import h5py

    from mec.models.external import ExternalModelError

    try:
        with h5py.File(path, "r") as f:
            names = []
            f.visit(names.append)
    except OSError as err:
        raise ExternalModelError(f"model file {path}: cannot be read as HDF5 ({err})") from None
    samples = any(n == "positions" or n.endswith("/positions") for n in names)
    return {"source": "samples" if samples else "ratemaps", "path": str(path)}


def _config(config) -> dict:
    from mec.checks import load_config, resolve_config

    if config is None:
        return resolve_config({})
    if isinstance(config, Mapping):
        return resolve_config(config)
    return load_config(config, check_files=False)


def score(model, dataset, *, config=None, name: str = "model",
          arenas: Sequence | None = None, workdir=None):
    """Score one model against a dataset: the tidy best-layer table per arena, map and setting.

    model: rate maps or samples (a file path), a callable (``fn(positions, velocity,
        head_direction, init_position, box, **kwargs) -> {layer: (batch, time, units)}``), or
        a config ``models:`` entry (``{"source": ..., "path" | "callable" | "population",
        "kwargs", "layers", ...}``; mec.models.external).
    dataset: a dataset file (results/data/{dataset}.h5, mec.data.load_dataset).
    config: the workflow config whose settings apply (a path or a mapping; None: the
        schema's defaults): fits.maps, train_frac, num_splits, split_start_seed, robust,
        blocks, halves, interanimal_mode, fits.floors, ratemaps.seeds, summary.bootstrap. The
        ElasticNet map is not fitted.
    name: the model's name in the table; arenas: the arenas scored (default: all).
    workdir: a folder for the intermediate files (default: a temporary one, deleted).

    Returns a DataFrame (mec.summary best_layer columns: model, arena, map, setting,
    best_layer, median, ci_low, ci_high, fraction_of_ceiling, ceiling, floor, normalized, n_cells,
    architecture, activation, variant, condition) plus ``source`` (where the model came from).
    Malformed input raises mec.models.external.ExternalModelError naming model, file, problem.
    """
    from mec.data import load_dataset
    from mec.data.arenas import arena_id, arena_key
    from mec.fits import pipeline
    from mec.models.external import import_model, model_source
    from mec.models.scales import PRESETS
    from mec.stats import Bootstrap
    from mec.summary import best_layer_table, ceiling_table, predictivity_table
    from mec.summary.tables import load_scores

    cfg = _config(config)
    entry = model_entry(model)
    scale = PRESETS[entry.get("scale", "demo")] if entry.get("scale", "demo") in PRESETS else {}
    for k in ("batch_size", "sequence_length", "n_eval_batches"):  # a callable's trajectories
        if k in scale:
            entry.setdefault(k, scale[k])
    fits, floors_cfg = cfg["fits"], cfg["fits"]["floors"]
    ds = load_dataset(dataset)
    names = [arena_key(a) for a in (arenas if arenas is not None else ds.edges)]
    common = dict(train_frac=fits["train_frac"], num_splits=fits["num_splits"],
                  split_start_seed=fits["split_start_seed"], robust=fits["robust"],
                  blocks=fits["blocks"], halves=fits["halves"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(workdir) if workdir is not None else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        cons, flo, fit = [], [], []
        # every arena's maps first: malformed input is refused before any fit
        for a in names:
            import_model(name, entry, dataset, arena_id(a), out / f"{name}_{a}.h5",
                         seeds=cfg["ratemaps"]["seeds"])
        for a in names:
            arena = arena_id(a)
            cons.append(pipeline.interanimal(dataset, arena, fits["maps"], out / f"consistency_{a}.csv",
                                             mode=fits["interanimal_mode"], **common))
            flo.append(pipeline.floors(dataset, arena, fits["maps"], out / f"floors_{a}.csv",
                                       mode=fits["interanimal_mode"], controls=floors_cfg["controls"],
                                       seed=floors_cfg["seed"], draws=floors_cfg["draws"], **common))
            fit.append(pipeline.fit_model(dataset, out / f"{name}_{a}.h5", name, arena, fits["maps"],
                                          out / f"fit_{name}_{a}.csv", layers=None, **common))
        boot = Bootstrap.from_config(cfg["summary"]["bootstrap"])  # as rule summarize
        ceiling = ceiling_table(load_scores(cons, "consistency"), load_scores(flo, "floor"),
                                bootstrap=boot)
        geometry = {arena_key(a): ds.geometry(a) for a in ds}
        pred = predictivity_table(load_scores(fit, "fit"), ceiling, {name: entry}, geometry,
                                  bootstrap=boot)
        table = best_layer_table(pred)
    return table.assign(source=model_source(entry))
