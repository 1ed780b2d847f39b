"""``get_fits``: the original entry point for inter-animal consistency and model fits.

The original's signature: the same positional order and defaults, so
``get_fits(dataset, None, model_resp, None, [1.0])`` works as it did; this project's additions
are keyword-only and come after them.

Results are ``results[arena][animal]["corr"]``: per-cell scores (mean Pearson r over splits,
SPEC 4.2) along a dimension ``"units"`` labelled by cell id: an xarray DataArray as in the
original when xarray is installed, else a pandas Series (mec.neural_fits.utils.package_scores).
``np.median(unit_concat(results, arena, "corr"))`` is the SPEC 4.3 summary.

Differences from the original, on purpose:
- holdout sources are the other animals in dataset order (the original used a Python set,
  whose order changes between runs; it only matters for one-to-one ties);
- model rate maps are computed on the dataset's own bin edges when the dataset knows them
  (mec.data.Dataset), and edges that differ are refused (mec.ratemaps.EdgeMismatchError)
  instead of printed;
- structured splits work with non-finite bins (mec.fits.splits);
- several trajectory seeds / configurations are stacked along bins with all copies of a bin on
  the same side of every split (mec.fits.core);
- TensorFlow/Keras is imported only when a model object is given.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from mec.core.constants import BIN_CM, N_EVAL_SEQ
from mec.fits.core import check_map_edges, interanimal_scores, model_scores
from mec.neural_fits.utils import package_scores

__all__ = ["get_fits"]


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _cfg_get(cfg, key):
    """A key of an evaluation environment: a mapping (configure_options' Options is one) or an
    object with attributes (the original's cfg)."""
    return cfg.get(key) if isinstance(cfg, Mapping) else getattr(cfg, key, None)


def _cfg_edges(cfg, nbins, bin_cm):
    """Bin edges (m) of the evaluation box of cfg.

    Extent: min_x/max_x/min_y/max_y when all set, else [-w/2, w/2] x [-h/2, h/2] (SPEC 1.1).
    nbins per axis when given, else the box size in cm / bin_cm (SPEC 3.1).
    """
    from mec.ratemaps import make_edges
    from mec.task import box_from_cfg

    keys = ("min_x", "max_x", "min_y", "max_y", "box_width", "box_height")
    box = box_from_cfg({k: _cfg_get(cfg, k) for k in keys if _cfg_get(cfg, k) is not None})
    out = []
    for lo, hi in (box[:2], box[2:]):
        out.append(np.linspace(lo, hi, int(nbins) + 1) if nbins is not None else make_edges(lo, hi, bin_cm))
    return tuple(out)


def _model_maps_from_model(model, cfgs, seeds, arena, dataset, layer, n_eval_seq, nbins, bin_cm,
                           ratemap_kwargs):
    """Model rate maps of one layer, one per (seed, cfg), on the data's bins (SPEC 3.1)."""
    from mec.models.ratemaps import model_ratemaps  # imports keras: only when a model is given

    known = getattr(dataset, "edges", None)
    data_edges = known.get(arena) if known else None
    grid = np.asarray(next(iter(dataset[arena].values()))["resp"]).shape[:2]
    maps = []
    for cfg in cfgs:
        if cfg is None:
            raise ValueError("get_fits: a model needs cfg (the evaluation environment)")
        for size_name in ("box_width", "box_height"):
            size = _cfg_get(cfg, size_name)
            if size is not None and not np.isclose(float(size), float(arena)):
                raise ValueError(
                    f"cfg.{size_name}={size} m but the data's arena is {arena} m; evaluate the "
                    "model in an environment of the data's size"
                )
        if data_edges is not None:
            edges = data_edges
            if nbins is not None:  # the user asked for a bin count: it must agree with the data
                check_map_edges(_cfg_edges(cfg, nbins, bin_cm), data_edges,
                                f"model bins (nbins={nbins}) vs dataset arena {arena}")
        else:
            edges = _cfg_edges(cfg, nbins, bin_cm)
            if (len(edges[0]) - 1, len(edges[1]) - 1) != tuple(grid):
                raise ValueError(
                    f"model bins {(len(edges[0]) - 1, len(edges[1]) - 1)} (bin_cm={bin_cm}, "
                    f"nbins={nbins}) differ from the data's grid {tuple(grid)} in arena {arena}"
                )
        for seed in seeds:
            out = model_ratemaps(model, cfg, edges[0], edges[1], n_batches=n_eval_seq,
                                 seeds=[seed], **ratemap_kwargs)
            if layer not in out:
                raise ValueError(f"model_pred_layer={layer!r} not among the layers {list(out)}")
            maps.append(out[layer])
    return maps


def get_fits(
    dataset,
    model=None,
    model_resp=None,
    cfg=None,
    arena_sizes=None,
    map_type="sklinear",
    map_kwargs={},  # noqa: B006 - the original's default; copied on entry, never mutated
    train_frac=0.2,
    num_train_test_splits=10,
    split_start_seed=0,
    n_eval_seq=N_EVAL_SEQ,
    interanimal_mode="holdout",
    trajectory_seed=0,
    model_pred_layer="g",
    shape_2d=None,
    map_kwargs_per_cell=None,
    *,
    num_splits=None,
    nbins=None,
    bin_cm=BIN_CM,
    model_edges=None,
    progress=False,
    blas_threads=1,
    **ratemap_kwargs,
):
    """Inter-animal consistency (no model) or model-to-data fits (SPEC 4.2-4.5).

    The original's arguments, in its order and with its defaults:

    dataset: ``dataset[arena][animal] = {"resp": (nx, ny, n_cells), "cell_ids": (n_cells,)}``.
    model, cfg: a trained model (load_trained_model) and its evaluation environment
        (configure_options), or a list of environments; the model's ``model_pred_layer`` rate
        maps come from mec.models.ratemaps.model_ratemaps over ``n_eval_seq`` batches per
        trajectory seed (``trajectory_seed``: int or list; several are stacked along bins).
    model_resp: ready model rate maps (nx, ny, n_units) instead of a model: one array (one
        arena), a list of arrays (stacked along bins), or ``{arena: array}``.
    arena_sizes: arenas to fit (default: every arena of the dataset).
    map_type, map_kwargs: "sklinear" (default Ridge alpha=1), "corr", "pls" and their
        arguments (mec.mappers), checked before any work starts.
    train_frac: fraction of bins for training, or a structured split name.
    num_train_test_splits, split_start_seed: the random splits (SPEC 4.2); split s uses
        ``RandomState(split_start_seed + s)``.
    interanimal_mode: "holdout" or "pairwise" (without a model).
    shape_2d: (nx, ny) for structured splits of flat maps.
    map_kwargs_per_cell: ``{cell_id: kwargs dict | list of per-split dicts}``, or the
        original's ``{cell_id: {"map_kwargs": ..., "train_frac": ...}}`` (SPEC 4.4).

    Keyword-only additions of this project: ``num_splits`` (alias of num_train_test_splits);
    ``nbins``, ``bin_cm`` (the original's ``**bin_kwargs``: model rate-map bins when the
    dataset does not carry its edges); ``model_edges`` ((x_edges, y_edges) of ``model_resp``,
    refused if they differ from the data's); ``progress`` (tqdm bar over animals);
    ``blas_threads`` (default 1, None: unchanged); ``ratemap_kwargs`` (passed on to
    mec.models.ratemaps.model_ratemaps, e.g. batch_size).

    Returns ``results[arena][animal]["corr"]``: per-cell scores labelled by cell id along
    ``"units"`` (an xarray DataArray when xarray is installed, as the original; else a pandas
    Series, see :func:`mec.neural_fits.utils.package_scores`).
    """
    from mec.checks import check_map
    from mec.fits.splits import check_split_start_seed, check_train_frac

    if num_splits is not None:
        if num_train_test_splits not in (10, num_splits):
            raise ValueError(f"num_splits={num_splits!r} and num_train_test_splits="
                             f"{num_train_test_splits!r} disagree; give one")
        num_train_test_splits = num_splits
    map_kwargs = dict(map_kwargs or {})
    # everything that can be checked cheaply is checked before model rate maps are computed
    check_split_start_seed(split_start_seed, num_train_test_splits)
    check_train_frac(train_frac, "get_fits: train_frac")  # 1.0 leaves no test bins
    check_map(map_type, map_kwargs, where="get_fits: map_kwargs")
    if isinstance(map_kwargs_per_cell, Mapping):
        # cell ids are compared as strings (mec.fits.core), whatever type the user's keys have
        map_kwargs_per_cell = {str(k): v for k, v in map_kwargs_per_cell.items()}
    if arena_sizes is None:
        arena_sizes = list(dataset.keys())
    for arena in arena_sizes:
        if arena not in dataset:
            raise ValueError(f"arena {arena!r} not in the dataset (arenas: {list(dataset)})")
    common = dict(
        map_type=map_type,
        map_kwargs=map_kwargs,
        train_frac=train_frac,
        num_splits=num_train_test_splits,
        split_start_seed=split_start_seed,
        map_kwargs_per_cell=map_kwargs_per_cell,
        grid_shape=shape_2d,
        progress=progress,
        blas_threads=blas_threads,
    )
    results = {}
    if model is None and model_resp is None:
        for arena in arena_sizes:
            scores = interanimal_scores(dataset[arena], mode=interanimal_mode,
                                        desc=f"inter-animal arena {arena}", **common)
            results[arena] = {
                a: {"corr": package_scores(s, dataset[arena][a]["cell_ids"])} for a, s in scores.items()
            }
        return results

    if model is not None and model_resp is not None:
        raise ValueError("get_fits: pass either model (with cfg) or model_resp, not both")
    for arena in arena_sizes:
        if model_resp is not None:
            if isinstance(model_resp, Mapping):
                if arena not in model_resp:
                    raise ValueError(f"model_resp has no maps for arena {arena!r}")
                source = model_resp[arena]
            elif len(arena_sizes) == 1:
                source = model_resp
            else:
                raise ValueError(
                    "model_resp for several arenas must be a dict {arena: maps}; got one for "
                    f"arenas {list(arena_sizes)}"
                )
            known = getattr(dataset, "edges", None)
            check_map_edges(model_edges, known.get(arena) if known else None,
                            f"model_resp vs dataset arena {arena}")
        else:
            source = _model_maps_from_model(
                model, _as_list(cfg), _as_list(trajectory_seed), arena, dataset,
                model_pred_layer, n_eval_seq, nbins, bin_cm, ratemap_kwargs,
            )
        scores = model_scores(source, dataset[arena], desc=f"model fit arena {arena}", **common)
        results[arena] = {a: {"corr": package_scores(s, dataset[arena][a]["cell_ids"])}
                          for a, s in scores.items()}
    return results
