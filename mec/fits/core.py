"""Scoring any source against any target per target cell (methods §4.2, 4.3, 4.5).

One function, :func:`fit_scores`, does every fit of the paper:

1. flatten source and target rate maps to (n_bins, n_units) (C order, bin = ix * ny + iy);
2. keep the bins where every source unit and every target cell is finite (a unit with no
   finite bin, or one that alone would take most bins from everyone, is left out with a
   warning naming it: :mod:`mec.fits.bins`);
3. make train/test splits of the kept bins (:func:`mec.fits.splits.generate_train_test_splits`);
4. per split: fit the map on the train bins (one multi-output solve for all targets that share
   their map arguments), predict the test bins, score every target by Pearson r on the test
   bins (vectorised over targets);
5. average over splits with nanmean. A target's score = that mean.

Built on it: :func:`interanimal_scores` (holdout / pairwise, methods §4.3), :func:`model_scores`
(model layer -> every animal, methods §4.5), and the tidy table builders
:func:`interanimal_table` and :func:`model_fit_table` (results/consistency/{arena}.csv and
results/fits/{model}_{arena}.csv).

Several copies of a source along bins (e.g. the model's rate maps from several trajectory
seeds, methods §4.5): pass a list of maps. The rows are stacked (copy k, bin b), the target is
repeated for every copy, and the splits are drawn over the GRID bins with all copies of a bin
on the same side, so a test bin is never seen in training through another copy. A bin is kept
when it is finite in the target and in every copy. With one copy this is the plain fit.

Per-cell map arguments (``map_kwargs_per_cell``, methods §4.4): ``{cell_id: spec}`` where spec is
a kwargs dict for every split, a list of kwargs dicts (one per split), or the original's form
``{"map_kwargs": dict | list, "train_frac": optional}``. With ``map_type="sklinear"`` the
per-cell ElasticNet choice is ``{"regression_type": "ElasticNet", "alpha": a, "l1_ratio": r}``
with ``a`` in the user convention (scikit-learn gets a / n_train, see mec.mappers).

The one fit and its input checks are in :mod:`mec.fits.fitting` (re-exported here); this
module holds what is built on it.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from mec.data.arenas import find_arena
from mec.fits.bins import FitInputError, FitInputWarning, kept_bins, unit_names

# The one fit and the input checks live in mec.fits.fitting; re-exported here, where the
# pipeline, the tests and users import them.
from mec.fits.fitting import (  # noqa: F401
    _blas,
    _check_per_cell_mapping,
    _columns_independent,
    _fit_scores,
    _flatten,
    _nanmean0,
    _normalise_cell_spec,
    _progress,
    check_map_edges,
    check_map_recipes,
    fit_scores,
)


__all__ = [
    "fit_scores",
    "interanimal_scores",
    "model_scores",
    "interanimal_table",
    "model_fit_table",
    "map_settings",
    "score_rows",
    "tidy_table",
    "elasticnet_kwargs_per_cell",
    "check_map_edges",
    "check_map_recipes",
    "check_model_maps",
    "FitInputError",
    "FitInputWarning",
    "TABLE_COLUMNS",
]

#: Columns of the tidy score tables; ``setting`` names the recipe and split of the fit
#: (mec.fits.settings: "paper" or "robust").
TABLE_COLUMNS = ["arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "setting",
                 "score"]
INTERANIMAL_MODES = ("holdout", "pairwise")


# ---------------------------------------------------------------------------------------------
# inter-animal consistency and model fits
# ---------------------------------------------------------------------------------------------
def interanimal_scores(
    arena_data: Mapping,
    map_type: str = "sklinear",
    map_kwargs: dict | None = None,
    mode: str = "holdout",
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    map_kwargs_per_cell=None,
    grid_shape=None,
    progress: bool = False,
    desc: str = "inter-animal",
    blas_threads: int | None = 1,
    where: str = "",
) -> dict:
    """Inter-animal consistency of every cell of one arena (methods §4.3).

    arena_data: ``dataset[arena]``, ``{animal: {"resp": (nx, ny, n_cells), "cell_ids": ...}}``.
    mode: "holdout" (source = all OTHER animals' cells concatenated, in dataset order) or
        "pairwise" (each other animal alone; a cell's score is the nanmean over them).
    Returns ``{animal: (n_cells,) scores}``; empty (with a warning) when the arena has one
    animal. blas_threads, where (e.g. "arena 1.0, map ridge"): as in fit_scores.
    """
    with _blas(blas_threads):
        return _interanimal(arena_data, map_type, map_kwargs, mode, train_frac, num_splits,
                            split_start_seed, map_kwargs_per_cell, grid_shape, progress, desc,
                            where)


def _ids(rec) -> list[str]:
    return [str(c) for c in np.asarray(rec["cell_ids"]).ravel()]


def _interanimal(arena_data, map_type, map_kwargs, mode, train_frac, num_splits,
                 split_start_seed, map_kwargs_per_cell, grid_shape, progress, desc, where=""):
    _check_per_cell_mapping(map_kwargs_per_cell)
    if mode not in INTERANIMAL_MODES:
        raise ValueError(f"interanimal mode={mode!r} is not one of {INTERANIMAL_MODES}")
    animals = list(arena_data.keys())
    if len(animals) < 2:
        warnings.warn(f"inter-animal consistency needs >= 2 animals, got {animals}", UserWarning)
        return {}
    common = dict(
        map_type=map_type,
        map_kwargs=map_kwargs,
        train_frac=train_frac,
        num_splits=num_splits,
        split_start_seed=split_start_seed,
        grid_shape=grid_shape,
        map_kwargs_per_cell=map_kwargs_per_cell,
    )
    out = {}
    for animal in _progress(animals, desc, progress):
        target = arena_data[animal]["resp"]
        cell_ids = arena_data[animal]["cell_ids"]
        others = [a for a in animals if a != animal]  # never the target animal (methods §4.3)
        at = f"{where}, target animal {animal}" if where else f"target animal {animal}"
        if mode == "holdout":
            source = np.concatenate([np.asarray(arena_data[a]["resp"]) for a in others], axis=-1)
            src_ids = [c for a in others for c in _ids(arena_data[a])]
            out[animal] = _fit_scores(source, target, cell_ids=cell_ids, source_ids=src_ids,
                                      where=at, **common)
        else:
            per_source = [
                _fit_scores(arena_data[a]["resp"], target, cell_ids=cell_ids,
                            source_ids=_ids(arena_data[a]), where=f"{at}, source animal {a}",
                            **common)
                for a in others
            ]
            out[animal] = _nanmean0(np.stack(per_source, axis=0))
    return out


def model_scores(
    model_resp,
    arena_data: Mapping,
    map_type: str = "sklinear",
    map_kwargs: dict | None = None,
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    map_kwargs_per_cell=None,
    grid_shape=None,
    progress: bool = False,
    desc: str = "model fit",
    blas_threads: int | None = 1,
    where: str = "",
) -> dict:
    """Model-to-data fit of one model layer to every animal of an arena (methods §4.5).

    model_resp: (nx, ny, n_units) or (n_bins, n_units) model rate maps on the data's bins, or a
        list of them (several seeds, stacked along bins).
    arena_data: ``dataset[arena]``.
    Returns ``{animal: (n_cells,) scores}``.

    Animals whose kept bins coincide are fitted together (their cells concatenated as targets:
    one solve per split for all of them) when the map treats targets independently; the
    scores are the same as one fit per animal. blas_threads, where (e.g. "model m, layer g,
    arena 1.0, map ridge"): as in fit_scores; source units are named by their index.
    """
    with _blas(blas_threads):
        return _model(model_resp, arena_data, map_type, map_kwargs, train_frac, num_splits,
                      split_start_seed, map_kwargs_per_cell, grid_shape, progress, desc, where)


def _model(model_resp, arena_data, map_type, map_kwargs, train_frac, num_splits,
           split_start_seed, map_kwargs_per_cell, grid_shape, progress, desc, where=""):
    _check_per_cell_mapping(map_kwargs_per_cell)
    map_kwargs = dict(map_kwargs or {})
    animals = list(arena_data.keys())
    common = dict(
        map_type=map_type,
        map_kwargs=map_kwargs,
        train_frac=train_frac,
        num_splits=num_splits,
        split_start_seed=split_start_seed,
        grid_shape=grid_shape,
        map_kwargs_per_cell=map_kwargs_per_cell,
    )
    pre = f"{where}, " if where else ""
    if not _columns_independent(map_type, map_kwargs):
        return {
            a: _fit_scores(model_resp, arena_data[a]["resp"], cell_ids=arena_data[a]["cell_ids"],
                           where=f"{pre}animal {a}", **common)
            for a in _progress(animals, desc, progress)
        }
    # group animals by their finite-bin mask (the source's mask is common to all); an animal
    # with a cell that mec.fits.bins leaves out or fits alone is fitted on its own, so that
    # grouping never changes a score
    copies = model_resp if isinstance(model_resp, (list, tuple)) else [model_resp]
    src_finite = np.logical_and.reduce([np.isfinite(_flatten(c, "model maps")[0]) for c in copies])
    groups: dict[bytes, list] = {}
    for a in animals:
        resp = np.asarray(arena_data[a]["resp"], dtype=np.float64)
        flat = np.isfinite(resp.reshape(-1, resp.shape[-1]))
        key = flat.all(axis=1).tobytes()
        try:
            if src_finite.shape[0] == flat.shape[0] and \
                    not kept_bins(src_finite, flat, warn=False).targets.all():
                key = f"alone {a}"
        except FitInputError:
            key = f"alone {a}"  # the animal's own fit raises the error, naming it
        groups.setdefault(key, []).append(a)
    out = {}
    for members in _progress(list(groups.values()), desc, progress):
        resps = [np.asarray(arena_data[a]["resp"], dtype=np.float64) for a in members]
        shapes = {r.shape[:-1] for r in resps}
        if len(shapes) != 1:
            raise ValueError(f"animals {members} have rate maps on different grids: {shapes}")
        ids = np.concatenate([np.asarray(arena_data[a]["cell_ids"]).ravel() for a in members])
        who = f"animal {members[0]}" if len(members) == 1 else f"animals {', '.join(map(str, members))}"
        scores = _fit_scores(model_resp, np.concatenate(resps, axis=-1), cell_ids=ids,
                             where=f"{pre}{who}", **common)
        start = 0
        for a, r in zip(members, resps):
            out[a] = scores[start : start + r.shape[-1]]
            start += r.shape[-1]
    return {a: out[a] for a in animals}


# ---------------------------------------------------------------------------------------------
# tidy tables for the pipeline
# ---------------------------------------------------------------------------------------------
def _arena_value(arena):
    """The table's arena column: a float (m) for numeric names, the name for word names."""
    from mec.data.arenas import arena_id

    return arena_id(arena)


def _cell_rows(arena, arena_data, animal, scores, source, layer, map_name, setting="paper"):
    rec = arena_data[animal]
    ids = [str(c) for c in np.asarray(rec["cell_ids"]).ravel()]
    types = rec.get("cell_types") if isinstance(rec, Mapping) else None
    types = ["unknown"] * len(ids) if types is None else [str(t) for t in np.asarray(types).ravel()]
    return {
        "arena": [_arena_value(arena)] * len(ids),
        "animal": [str(animal)] * len(ids),
        "cell_id": ids,
        "cell_type": types,
        "source": [source] * len(ids),
        "layer": [layer] * len(ids),
        "map": [map_name] * len(ids),
        "setting": [setting] * len(ids),
        "score": np.asarray(scores, dtype=np.float64),
    }


def check_model_maps(model_maps: Mapping, where: str = "model rate maps") -> None:
    """Refuse model layers with units that have no finite bin (FitInputError naming ``where``,
    the layer and the units).

    A unit NaN in every bin means the network's activity was not finite (a diverged training
    run) or the export saw no trajectory sample; a fit of such a layer would measure the
    other units only, so it is refused rather than fitted quietly without them.
    model_maps: ``{layer: (nx, ny, n_units) or a list of such copies}``.
    """
    for layer, maps in model_maps.items():
        copies = maps if isinstance(maps, (list, tuple)) else [maps]
        for k, m in enumerate(copies):
            flat, _ = _flatten(m, f"{where}, layer {layer}")
            empty = np.flatnonzero(~np.isfinite(flat).any(axis=0))
            if empty.size:
                copy = f" (copy {k})" if len(copies) > 1 else ""
                raise FitInputError(
                    f"{where}, layer {layer}{copy}: {empty.size} of {flat.shape[1]} units have no "
                    f"finite value in any bin ({unit_names(None, empty, 'unit')}); the network's "
                    f"activity was NaN or infinite (did training diverge? see the model's "
                    f"history.csv) or no trajectory sample fell in the arena")


def _map_spec(name, spec) -> tuple[str, dict, object]:
    if not isinstance(spec, Mapping) or "map_type" not in spec:
        raise ValueError(f"maps[{name!r}] must be a dict with 'map_type' (and 'map_kwargs'), got {spec!r}")
    return spec["map_type"], dict(spec.get("map_kwargs") or {}), spec.get("map_kwargs_per_cell")


def _per_cell_for(name, spec_per_cell, map_kwargs_per_cell):
    if map_kwargs_per_cell is not None and name in map_kwargs_per_cell:
        return map_kwargs_per_cell[name]
    return spec_per_cell


def map_settings(name: str, spec: Mapping, map_kwargs_per_cell: Mapping | None = None):
    """``(map_type, map_kwargs, per-cell kwargs)`` of map ``name`` of a ``maps`` dict (config
    fits.maps): ``spec`` is ``{"map_type", "map_kwargs"[, "map_kwargs_per_cell"]}``; an entry
    of ``map_kwargs_per_cell`` (``{map name: per-cell kwargs}``, e.g. the ElasticNet choices)
    overrides the map's own per-cell kwargs. ValueError names a malformed map."""
    map_type, map_kwargs, per_cell = _map_spec(name, spec)
    return map_type, map_kwargs, _per_cell_for(name, per_cell, map_kwargs_per_cell)


def score_rows(arena, arena_data: Mapping, animal, scores, source: str, layer: str,
               map_name: str, setting: str = "paper"):
    """The tidy rows (TABLE_COLUMNS) of one animal's per-cell scores: every fit table of the
    pipeline (consistency, model fits, two-stage baseline, floors) is made of these."""
    import pandas as pd

    return pd.DataFrame(_cell_rows(arena, arena_data, animal, scores, source, layer, map_name,
                                   setting))[TABLE_COLUMNS]


def tidy_table(frames):
    """One tidy table (TABLE_COLUMNS) from :func:`score_rows` frames (empty: no rows)."""
    import pandas as pd

    if not frames:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[TABLE_COLUMNS]


def interanimal_table(
    dataset: Mapping,
    arena,
    maps: Mapping,
    mode: str = "holdout",
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    map_kwargs_per_cell: Mapping | None = None,
    progress: bool = True,
    blas_threads: int | None = 1,
    setting: str = "paper",
    grid_shape=None,
):
    """Inter-animal consistency of one arena as a tidy table (results/consistency/{arena}.csv).

    dataset: ``dataset[arena][animal] = {"resp", "cell_ids", ["cell_types"]}``.
    maps: ``{name: {"map_type": ..., "map_kwargs": {...}, ["map_kwargs_per_cell": {...}]}}``,
        e.g. ``{"ridge": {"map_type": "sklinear", "map_kwargs": {}}}``.
    map_kwargs_per_cell: optional ``{map name: per-cell kwargs}`` (e.g. the ElasticNet choices,
        :func:`elasticnet_kwargs_per_cell`), overriding a map's own entry.
    progress: tqdm bar over animals; blas_threads: as in fit_scores.
    setting: the label of the ``setting`` column (mec.fits.settings; the maps and split are
    the caller's). grid_shape: (nx, ny) for structured splits of flat maps.
    Returns a DataFrame with TABLE_COLUMNS, one row per cell and map; source =
    "interanimal_{mode}", layer = "-", score = mean Pearson r over splits.
    """
    arena_data = dataset[find_arena(dataset, arena)]  # 1.0, "1.0": one arena
    frames = []
    for name, spec in maps.items():
        map_type, map_kwargs, per_cell = map_settings(name, spec, map_kwargs_per_cell)
        scores = interanimal_scores(
            arena_data,
            map_type=map_type,
            map_kwargs=map_kwargs,
            mode=mode,
            train_frac=train_frac,
            num_splits=num_splits,
            split_start_seed=split_start_seed,
            map_kwargs_per_cell=per_cell,
            grid_shape=grid_shape,
            progress=progress,
            desc=f"inter-animal {mode} {name} arena {arena}",
            blas_threads=blas_threads,
            where=f"arena {arena}, setting {setting}, map {name}",
        )
        for animal, sc in scores.items():
            frames.append(score_rows(arena, arena_data, animal, sc, f"interanimal_{mode}", "-",
                                     name, setting))
    return tidy_table(frames)


def model_fit_table(
    model_maps: Mapping,
    dataset: Mapping,
    arena,
    model_name: str,
    maps: Mapping,
    layers: Sequence[str] | None = None,
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    map_kwargs_per_cell: Mapping | None = None,
    model_edges=None,
    progress: bool = True,
    blas_threads: int | None = 1,
    setting: str = "paper",
    model_recipe=None,
    grid_shape=None,
):
    """Model-to-data fits of one model in one arena as a tidy table (results/fits/...csv).

    model_maps: ``{layer: (nx, ny, n_units)}`` model rate maps on the data's bins (or a list of
        maps per layer: several seeds stacked along bins), e.g. from
        mec.ratemaps.load_model_ratemaps.
    model_edges: (x_edges, y_edges) of the model maps; when the dataset knows its edges
        (``dataset.edges[arena]``) they must match (EdgeMismatchError otherwise).
    maps, map_kwargs_per_cell: as in :func:`interanimal_table`.
    layers: layers to fit (default: all of model_maps, in order).
    setting: label of the ``setting`` column; model_recipe: the mec.ratemaps.Recipe the model
        maps were made with; when the dataset records its arena's recipe
        (``dataset.recipes[arena]``) they must be the same (RecipeMismatchError otherwise).
    grid_shape: (nx, ny) for structured splits of flat maps.
    Returns a DataFrame with TABLE_COLUMNS; source = model_name.
    """
    known = getattr(dataset, "edges", None)  # mec.data.Dataset knows its edges; a plain dict not
    data_edges = known.get(arena) if known else None
    check_map_edges(
        model_edges, data_edges, f"model {model_name} rate maps vs dataset arena {arena}"
    )
    data_recipe = (getattr(dataset, "recipes", None) or {}).get(arena)
    check_map_recipes(model_recipe, data_recipe,
                      f"model {model_name} rate maps vs dataset arena {arena} (setting {setting})")
    layers = list(model_maps) if layers is None else list(layers)
    missing = [layer for layer in layers if layer not in model_maps]
    if missing:
        raise ValueError(f"model {model_name}: layer(s) {missing} not in the rate maps ({list(model_maps)})")
    check_model_maps({layer: model_maps[layer] for layer in layers}, f"model {model_name} rate maps")
    arena_data = dataset[find_arena(dataset, arena)]  # 1.0, "1.0": one arena
    frames = []
    for layer in layers:
        for name, spec in maps.items():
            map_type, map_kwargs, per_cell = map_settings(name, spec, map_kwargs_per_cell)
            scores = model_scores(
                model_maps[layer],
                arena_data,
                map_type=map_type,
                map_kwargs=map_kwargs,
                train_frac=train_frac,
                num_splits=num_splits,
                split_start_seed=split_start_seed,
                map_kwargs_per_cell=per_cell,
                grid_shape=grid_shape,
                progress=progress,
                desc=f"{model_name} {layer} {name} arena {arena}",
                blas_threads=blas_threads,
                where=f"model {model_name}, layer {layer}, arena {arena}, setting {setting}, "
                      f"map {name}",
            )
            for animal, sc in scores.items():
                frames.append(score_rows(arena, arena_data, animal, sc, model_name, layer, name,
                                         setting))
    return tidy_table(frames)


def elasticnet_kwargs_per_cell(table, regression_type: str | None = "ElasticNet",
                               extra: dict | None = None) -> dict:
    """Per-cell, per-split ElasticNet choices -> ``map_kwargs_per_cell`` (methods §4.4).

    table: DataFrame (or concatenation of results/elasticnet/{arena}/{animal}.csv) with columns
        cell_id, split, alpha (user convention), l1_ratio.
    Returns ``{cell_id: [{"regression_type": ..., "alpha": a, "l1_ratio": r, **extra}, ...]}``,
    one dict per split in split order; every cell must have the same splits 0..n-1.
    regression_type None leaves that key out (the kwargs of map "enet", mec.mappers).
    """
    need = {"cell_id", "split", "alpha", "l1_ratio"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"ElasticNet choices table lacks column(s) {sorted(missing)}")
    out = {}
    for cid, grp in table.groupby("cell_id", sort=False):
        grp = grp.sort_values("split")
        splits = grp["split"].to_numpy()
        if not np.array_equal(splits, np.arange(len(splits))):
            raise ValueError(f"cell {cid!r}: ElasticNet splits {splits.tolist()} are not 0..n-1")
        out[str(cid)] = [
            {**({} if regression_type is None else {"regression_type": regression_type}),
             "alpha": float(a), "l1_ratio": float(r), **(extra or {})}
            for a, r in zip(grp["alpha"], grp["l1_ratio"])
        ]
    return out
