"""``get_fits``: the original entry point for inter-animal consistency and model fits.

The original's signature: the same positional order and defaults, so
``get_fits(dataset, None, model_resp, None, [1.0])`` works as it did; this project's additions
are keyword-only and come after them.

Results are ``results[arena][animal]["corr"]``: per-cell scores (mean Pearson r over splits,
methods §4.2) along a dimension ``"units"`` labelled by cell id: an xarray DataArray as in the
original when xarray is installed, else a pandas Series (mec.neural_fits.utils.package_scores).
``np.median(unit_concat(results, arena, "corr"))`` is the methods §4.3 summary.

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

from mec.constants import BIN_CM, N_EVAL_SEQ
from mec.data.arenas import find_arena
from mec.fits.core import check_map_edges, interanimal_table, model_fit_table
from mec.neural_fits.utils import package_scores

__all__ = ["get_fits"]

#: Label of the map in the tidy tables get_fits goes through.
_MAP = "get_fits"


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _cfg_get(cfg, key):
    """A key of an evaluation environment: a mapping (configure_options' Options is one) or an
    object with attributes (the original's cfg)."""
    return cfg.get(key) if isinstance(cfg, Mapping) else getattr(cfg, key, None)


def _cfg_edges(cfg, nbins, bin_cm):
    """Bin edges (m) of the evaluation box of cfg.

    Extent: min_x/max_x/min_y/max_y when all set, else [-w/2, w/2] x [-h/2, h/2] (methods §1.1).
    nbins per axis when given, else the box size in cm / bin_cm (methods §3.1).
    """
    from mec.ratemaps import make_edges
    from mec.task import box_from_cfg

    keys = ("min_x", "max_x", "min_y", "max_y", "box_width", "box_height")
    box = box_from_cfg({k: _cfg_get(cfg, k) for k in keys if _cfg_get(cfg, k) is not None})
    out = []
    for lo, hi in (box[:2], box[2:]):
        out.append(np.linspace(lo, hi, int(nbins) + 1) if nbins is not None else make_edges(lo, hi, bin_cm))
    return tuple(out)


def _arena_geometry(dataset, arena):
    """The arena's geometry: the dataset's (a mec.data.Dataset knows it), else its numeric name
    (a square of that side); a word name without geometry is refused, naming it."""
    from mec.data.arenas import ArenaNameError, arena_geometry

    if hasattr(dataset, "geometry"):
        return dataset.geometry(arena)
    try:
        return arena_geometry(arena)
    except ArenaNameError as err:
        raise ValueError(f"get_fits: arena {arena!r} of a plain dict dataset has no geometry ({err}); "
                         "pass a mec.data.Dataset with its arenas (or name the arena by its side "
                         "in metres)") from None


def _model_maps_from_model(model, cfgs, seeds, arena, dataset, layer, n_eval_seq, nbins, bin_cm,
                           ratemap_kwargs):
    """Model rate maps of one layer, one per (seed, cfg), on the data's bins (methods §3.1), by
    mec.models.export.model_ratemaps; and their (x_edges, y_edges).

    Bins: the dataset's edges where it knows them (a ``nbins`` given too must agree), else
    the original's: the evaluation box of cfg in ``nbins`` or ``bin_cm`` bins, which must
    give the data's grid. Every cfg's box_width / box_height must be the arena's size (its
    geometry: a word-named arena's width and height).
    """
    from mec.models.export import model_ratemaps  # imports keras: only when a model is given

    known = getattr(dataset, "edges", None)
    data_edges = known.get(arena) if known else None
    geometry = _arena_geometry(dataset, arena)
    grid = np.asarray(next(iter(dataset[arena].values()))["resp"]).shape[:2]
    maps, edges = [], data_edges
    for cfg in cfgs:
        if cfg is None:
            raise ValueError("get_fits: a model needs cfg (the evaluation environment)")
        for size_name, side in (("box_width", geometry.width), ("box_height", geometry.height)):
            size = _cfg_get(cfg, size_name)
            if size is not None and not np.isclose(float(size), side):
                raise ValueError(
                    f"cfg.{size_name}={size} m but the data's arena {arena!r} is {geometry.width:g} "
                    f"x {geometry.height:g} m; evaluate the model in an environment of the data's size"
                )
        if data_edges is not None:
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
    return maps, edges


def _results(table, arena_data) -> dict:
    """``{animal: {"corr": scores labelled by cell id}}`` from a tidy table of one arena (rows
    of each animal in its cell order, mec.fits.core.score_rows)."""
    out = {}
    fitted = set(table["animal"])  # an arena with one animal has no inter-animal rows
    for animal, rec in arena_data.items():
        if str(animal) in fitted:
            scores = table.loc[table["animal"] == str(animal), "score"].to_numpy(dtype=np.float64)
            out[animal] = {"corr": package_scores(scores, rec["cell_ids"])}
    return out


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
    """Inter-animal consistency (no model) or model-to-data fits (methods §4.2-4.5).

    Long because: the original API (neuroailab/mec) with its parameters, each translated and
    checked here before the calls into mec.fits.

    The original's arguments, in its order and with its defaults:

    dataset: ``dataset[arena][animal] = {"resp": (nx, ny, n_cells), "cell_ids": (n_cells,)}``.
    model, cfg: a trained model (load_trained_model) and its evaluation environment
        (configure_options), or a list of environments; the model's ``model_pred_layer`` rate
        maps come from mec.models.export.model_ratemaps over ``n_eval_seq`` batches per
        trajectory seed (``trajectory_seed``: int or list; several are stacked along bins).
    model_resp: ready model rate maps (nx, ny, n_units) instead of a model: one array (one
        arena), a list of arrays (stacked along bins), or ``{arena: array}``.
    arena_sizes: arenas to fit (default: every arena of the dataset).
    map_type, map_kwargs: "sklinear" (default Ridge alpha=1), "corr", "pls" and their
        arguments (mec.mappers), checked before any work starts.
    train_frac: fraction of bins for training, or a structured split name.
    num_train_test_splits, split_start_seed: the random splits (methods §4.2); split s uses
        ``RandomState(split_start_seed + s)``.
    interanimal_mode: "holdout" or "pairwise" (without a model).
    shape_2d: (nx, ny) for structured splits of flat maps.
    map_kwargs_per_cell: ``{cell_id: kwargs dict | list of per-split dicts}``, or the
        original's ``{cell_id: {"map_kwargs": ..., "train_frac": ...}}`` (methods §4.4).

    Keyword-only additions of this project: ``num_splits`` (alias of num_train_test_splits);
    ``nbins``, ``bin_cm`` (the original's ``**bin_kwargs``: model rate-map bins when the
    dataset does not carry its edges); ``model_edges`` ((x_edges, y_edges) of ``model_resp``,
    refused if they differ from the data's); ``progress`` (tqdm bar over animals);
    ``blas_threads`` (default 1, None: unchanged); ``ratemap_kwargs`` (passed on to
    mec.models.export.model_ratemaps, e.g. batch_size).

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
    # results are keyed as the dataset keys its arenas, whatever form the caller used
    # (1.0, "1.0"), so that unit_concat and the dataset itself find them in any form
    arena_sizes = [find_arena(dataset, arena) for arena in arena_sizes]
    # every fit goes through the pipeline's table builders (mec.fits.core): one path
    maps = {_MAP: {"map_type": map_type, "map_kwargs": map_kwargs}}
    per_cell = None if map_kwargs_per_cell is None else {_MAP: map_kwargs_per_cell}
    common = dict(train_frac=train_frac, num_splits=num_train_test_splits,
                  split_start_seed=split_start_seed, map_kwargs_per_cell=per_cell,
                  grid_shape=shape_2d, progress=progress, blas_threads=blas_threads)
    results = {}
    if model is None and model_resp is None:
        for arena in arena_sizes:
            table = interanimal_table(dataset, arena, maps, mode=interanimal_mode, **common)
            results[arena] = _results(table, dataset[arena])
        return results

    if model is not None and model_resp is not None:
        raise ValueError("get_fits: pass either model (with cfg) or model_resp, not both")
    for arena in arena_sizes:
        recipe = None  # ready maps: made how, the caller knows
        if model_resp is not None:
            if isinstance(model_resp, Mapping):
                source = model_resp[find_arena(model_resp, arena, "model_resp")]
            elif len(arena_sizes) == 1:
                source = model_resp
            else:
                raise ValueError(
                    "model_resp for several arenas must be a dict {arena: maps}; got one for "
                    f"arenas {list(arena_sizes)}"
                )
            edges = model_edges
        else:
            from mec.ratemaps import PAPER

            source, edges = _model_maps_from_model(
                model, _as_list(cfg), _as_list(trajectory_seed), arena, dataset,
                model_pred_layer, n_eval_seq, nbins, bin_cm, ratemap_kwargs,
            )
            recipe = PAPER  # plain bin means (model_ratemaps): the paper's model maps
        table = model_fit_table({model_pred_layer: source}, dataset, arena,
                                "model_resp" if model is None else "model", maps,
                                layers=[model_pred_layer], model_edges=edges, model_recipe=recipe,
                                **common)
        results[arena] = _results(table, dataset[arena])
    return results
