# Long because: the one fit (fit_scores) and the tables built on it share the input checks; next
# seam: the tidy tables for the pipeline (map_settings .. model_fit_table).
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
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from mec.data.arenas import find_arena
from mec.fits.bins import FitInputError, FitInputWarning, kept_bins, unit_names
from mec.fits.splits import SplitError, generate_train_test_splits
from mec.mappers import PLSMap, make_map, pearson_columns

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
# input handling
# ---------------------------------------------------------------------------------------------
def _flatten(resp, what: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """(nx, ny, n) or (n_bins, n) -> ((n_bins, n) float64, grid shape or None)."""
    a = np.asarray(resp, dtype=np.float64)
    if a.ndim == 3:
        return a.reshape(-1, a.shape[-1]), (a.shape[0], a.shape[1])
    if a.ndim == 2:
        return a, None
    raise ValueError(f"{what}: expected (nx, ny, n_units) or (n_bins, n_units), got {a.shape}")


def check_map_edges(edges_a, edges_b, what: str) -> None:
    """Refuse maps made on different bins (mec.ratemaps.check_same_edges, methods §3.1).

    Does nothing when either edge pair is None (unknown).
    """
    if edges_a is None or edges_b is None:
        return
    from mec.ratemaps import check_same_edges

    check_same_edges(edges_a, edges_b, what)


def check_map_recipes(recipe_a, recipe_b, what: str) -> None:
    """Refuse maps made with different rate-map recipes (mec.ratemaps.check_same_recipe).

    Does nothing when either recipe is None (not recorded).
    """
    from mec.ratemaps import check_same_recipe

    check_same_recipe(recipe_a, recipe_b, what)


def _normalise_cell_spec(spec, n_splits: int, cell) -> tuple[list[dict], object]:
    """One cell's spec -> (list of n_splits kwargs dicts, train_frac override or None)."""
    train_frac = None
    if isinstance(spec, Mapping) and "map_kwargs" in spec:
        train_frac = spec.get("train_frac")
        spec = spec["map_kwargs"]
    if isinstance(spec, Mapping):
        return [dict(spec)] * n_splits, train_frac
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        spec = [dict(s) for s in spec]
        if len(spec) != n_splits:
            raise ValueError(
                f"map_kwargs_per_cell[{cell!r}] has {len(spec)} per-split entries but the fit "
                f"has {n_splits} splits"
            )
        return spec, train_frac
    raise ValueError(
        f"map_kwargs_per_cell[{cell!r}] must be a kwargs dict or a list of them, got {spec!r}"
    )


def _kw_key(kw: dict) -> str:
    return repr(sorted(kw.items()))


def _columns_independent(map_type: str, map_kwargs: dict) -> bool:
    """True when a target's prediction does not depend on the other targets of the fit.

    Holds for one-to-one and linear models; not for PLS fitted on all targets at once.
    """
    if str(map_type).lower() != "pls":
        return True
    return bool(map_kwargs.get("fit_per_target_unit", PLSMap().fit_per_target_unit))


# ---------------------------------------------------------------------------------------------
# the one fit
# ---------------------------------------------------------------------------------------------
def _score_prepared(
    X: np.ndarray,
    Y: np.ndarray,
    splits: list[dict],
    n_kept: int,
    n_copies: int,
    map_type: str,
    kwargs_per_split: list[list[dict]] | None,
    map_kwargs: dict,
    Y_test: np.ndarray | None = None,
) -> np.ndarray:
    """Per-split scores (n_splits, n_targets). X (n_copies * n_kept, n_src), Y matching rows.

    kwargs_per_split[s][j] are target j's map kwargs in split s (None: map_kwargs for all).
    Y_test: the maps scored at the test bins, same shape as Y (None: Y itself); another
    recording half of the same cells in the halves setting (methods §7.8).
    """
    n_tgt = Y.shape[1]
    offsets = (np.arange(n_copies) * n_kept)[:, None]
    scores = np.full((len(splits), n_tgt), np.nan)
    for s, sp in enumerate(splits):
        tr = (offsets + sp["train"][None, :]).ravel()
        te = (offsets + sp["test"][None, :]).ravel()
        Xtr, Xte, Ytr, Yte = X[tr], X[te], Y[tr], (Y if Y_test is None else Y_test)[te]
        if kwargs_per_split is None:
            groups = {"": (map_kwargs, np.arange(n_tgt))}
        else:
            cols_by_key: dict[str, list[int]] = {}
            kw_by_key: dict[str, dict] = {}
            for j, kw in enumerate(kwargs_per_split[s]):
                key = _kw_key(kw)
                cols_by_key.setdefault(key, []).append(j)
                kw_by_key[key] = kw
            groups = {k: (kw_by_key[k], np.asarray(c)) for k, c in cols_by_key.items()}
            if not _columns_independent(map_type, map_kwargs):
                # e.g. joint PLS: cells sharing kwargs must not be fitted together, because
                # each cell was given its own map (as the original fits them, one by one)
                groups = {
                    f"{k}#{j}": (kw, np.asarray([j]))
                    for k, (kw, cols) in groups.items()
                    for j in cols
                }
        for kw, cols in groups.values():
            est = make_map(map_type, **kw).fit(Xtr, Ytr[:, cols])
            pred = est.predict2d(Xte)
            scores[s, cols] = pearson_columns(Yte[:, cols], pred)
    return scores


def _blas(blas_threads):
    """Limit BLAS threads for the fit (None: leave them as they are).

    A fit is many small solves (a few hundred bins by a few hundred units): threaded BLAS only
    adds synchronisation there, and on a loaded machine its spinning threads make a 388 x 388
    solve 100x slower (measured: 1.1 s with 2 threads vs 7 ms with 1 at load 10 on 2 cores).
    Parallelism belongs to the jobs (one Snakemake job per arena / model), so 1 by default.
    """
    if blas_threads is None:
        from contextlib import nullcontext

        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(blas_threads), user_api="blas")


def _nanmean0(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column -> NaN, on purpose
        return np.nanmean(a, axis=0)


def fit_scores(
    source,
    target,
    map_type: str = "sklinear",
    map_kwargs: dict | None = None,
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    grid_shape=None,
    map_kwargs_per_cell=None,
    cell_ids=None,
    return_per_split: bool = False,
    blas_threads: int | None = 1,
    source_ids=None,
    where: str = "",
    target_test=None,
):
    """Score a source against every target cell (methods §4.2).

    source: (nx, ny, n_src) or (n_bins, n_src) rate maps, or a list of such copies stacked
        along bins (e.g. several trajectory seeds, module docstring).
    target: (nx, ny, n_tgt) or (n_bins, n_tgt) rate maps; NaN = bin not usable.
    map_type, map_kwargs: the map (mec.mappers.make_map), same for every cell.
    train_frac, num_splits, split_start_seed: splits (methods §4.2); train_frac may name a
        structured split ("topbottom", "leftright", "diag1", "diag2", "quad").
    grid_shape: (nx, ny) for structured splits when the maps are given flat.
    map_kwargs_per_cell: per-cell map kwargs (module docstring), keyed by cell id (needs
        ``cell_ids``) or a sequence with one spec per target column; a cell's kwargs replace
        ``map_kwargs`` for that cell (as in the original). Cells sharing the same kwargs in a
        split are solved together when the map treats targets independently.
    cell_ids: (n_tgt,) ids of the target cells.
    Returns: (n_tgt,) mean Pearson r over splits (nanmean); with ``return_per_split`` also the
        (n_splits, n_tgt) per-split scores (only when every cell uses the same train_frac).
    blas_threads: BLAS threads during the fit (None: unchanged); see _blas.
    source_ids: (n_src,) names of the source units, for messages (default: their indices).
    where: what the fit is (e.g. "arena 1.0, target animal a, map ridge"); it starts every
        error and warning message.
    target_test: optional maps of the same cells, shaped as ``target``, scored at the test
        bins instead of ``target`` (which the map is then fitted to at the training bins
        only): an independent recording half (the halves setting, methods §7.8). A bin
        counts as finite for a cell where both maps are.

    Bins and units (mec.fits.bins): a cell with no finite bin is not scored (NaN), a source
    unit with none is left out, and a unit that alone would remove more than half of the
    bins the others share is left out of the joint fit (a cell is then fitted on its own
    bins), each with a FitInputWarning naming it. FitInputError when nothing can be fitted
    (no finite source unit, no bin shared by source and target), SplitError when the kept
    bins are too few for the split; both name ``where``.
    """
    with _blas(blas_threads):
        return _fit_scores(source, target, map_type, map_kwargs, train_frac, num_splits,
                           split_start_seed, grid_shape, map_kwargs_per_cell, cell_ids,
                           return_per_split, source_ids, where, target_test)


def _fit_scores(source, target, map_type, map_kwargs, train_frac, num_splits, split_start_seed,
                grid_shape, map_kwargs_per_cell, cell_ids, return_per_split=False,
                source_ids=None, where="", target_test=None):
    map_kwargs = dict(map_kwargs or {})
    copies = list(source) if isinstance(source, (list, tuple)) else [source]
    if not copies:
        raise ValueError(f"{_at(where)}source: empty list of maps")
    Y, ygrid = _flatten(target, "target")
    Yt = None
    if target_test is not None:
        Yt, tgrid = _flatten(target_test, "target_test")
        if Yt.shape != Y.shape or (tgrid is not None and ygrid is not None and tgrid != ygrid):
            raise ValueError(f"{_at(where)}target_test has shape {np.shape(target_test)}, the "
                             f"target {np.shape(target)}; they must be the same cells and bins")
        both = np.isfinite(Y) & np.isfinite(Yt)
        Y, Yt = np.where(both, Y, np.nan), np.where(both, Yt, np.nan)
    Xs = []
    grid = ygrid
    for k, c in enumerate(copies):
        Xk, xgrid = _flatten(c, f"source copy {k}")
        if Xk.shape[0] != Y.shape[0]:
            raise ValueError(
                f"{_at(where)}source copy {k} has {Xk.shape[0]} bins but the target has "
                f"{Y.shape[0]}; maps must be on the same bins"
            )
        if Xs and Xk.shape[1] != Xs[0].shape[1]:
            raise ValueError(f"{_at(where)}source copy {k} has {Xk.shape[1]} units, copy 0 has "
                             f"{Xs[0].shape[1]}")
        if xgrid is not None and ygrid is not None and xgrid != ygrid:
            raise ValueError(f"{_at(where)}source grid {xgrid} differs from target grid {ygrid}")
        grid = grid or xgrid
        Xs.append(Xk)
    if grid_shape is not None:
        grid = tuple(int(g) for g in grid_shape)
    n_bins, n_tgt = Y.shape

    # per-cell specs (the original allows a per-cell train_frac)
    if map_kwargs_per_cell is None:
        raw_specs = None
        ids = None if cell_ids is None else [str(c) for c in np.asarray(cell_ids).ravel()]
    elif isinstance(map_kwargs_per_cell, Mapping):
        if cell_ids is None:
            raise ValueError("map_kwargs_per_cell keyed by cell id needs cell_ids")
        ids = [str(c) for c in np.asarray(cell_ids).ravel()]
        if len(ids) != n_tgt:
            raise ValueError(f"{len(ids)} cell_ids for {n_tgt} target columns")
        # a cell with no finite bin is not scored, so it needs no entry (mec.fits.bins)
        scored = np.isfinite(Y).any(axis=0)
        missing = [c for c, ok in zip(ids, scored) if ok and c not in map_kwargs_per_cell]
        if missing:
            raise ValueError(
                f"{_at(where)}map_kwargs_per_cell has no entry for cell(s) {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''}"
            )
        raw_specs = [map_kwargs_per_cell.get(c) for c in ids]
    else:
        raw_specs = list(map_kwargs_per_cell)
        ids = list(range(n_tgt)) if cell_ids is None else list(np.asarray(cell_ids).ravel())
        if len(raw_specs) != n_tgt:
            raise ValueError(f"{len(raw_specs)} map_kwargs_per_cell for {n_tgt} targets")

    # the bins and units of the fit (mec.fits.bins): a unit with no finite bin, or one that
    # alone would take most bins from everyone, is left out with a warning naming it
    src_finite = np.logical_and.reduce([np.isfinite(Xk) for Xk in Xs])
    kept = kept_bins(src_finite, np.isfinite(Y), source_ids=source_ids,
                     target_ids=None if cell_ids is None else ids, where=where)
    valid = kept.valid
    n_kept = int(valid.sum())
    joint = np.flatnonzero(kept.targets)
    src_cols = np.flatnonzero(kept.sources)
    X = np.concatenate([Xk[valid][:, src_cols] for Xk in Xs], axis=0)
    Yk = np.tile(Y[valid][:, joint], (len(Xs), 1))
    Ytk = None if Yt is None else np.tile(Yt[valid][:, joint], (len(Xs), 1))

    fracs: dict = {}
    for i, j in enumerate(joint):
        spec = raw_specs[j] if raw_specs is not None else None
        tf = spec.get("train_frac") if isinstance(spec, Mapping) and "map_kwargs" in spec else None
        fracs.setdefault(tf, []).append(i)

    result = np.full(n_tgt, np.nan)
    per_split = None
    for tf, cols in fracs.items():
        cols = np.asarray(cols)
        frac = train_frac if tf is None else tf
        try:
            splits = generate_train_test_splits(
                n_bins,
                train_frac=frac,
                num_splits=num_splits,
                split_start_seed=split_start_seed,
                grid_shape=grid,
                valid=valid,
            )
        except ValueError as err:
            raise type(err)(f"{_at(where)}{err}") from None
        if raw_specs is None:
            kps = None
        else:
            per_cell = [_normalise_cell_spec(raw_specs[joint[i]], len(splits), ids[joint[i]])[0]
                        for i in cols]
            kps = [[per_cell[i][s] for i in range(len(cols))] for s in range(len(splits))]
        sc = _score_prepared(X, Yk[:, cols], splits, n_kept, len(Xs), map_type, kps, map_kwargs,
                             None if Ytk is None else Ytk[:, cols])
        result[joint[cols]] = _nanmean0(sc)
        if return_per_split and len(fracs) == 1:
            per_split = np.full((len(splits), n_tgt), np.nan)
            per_split[:, joint[cols]] = sc

    # cells left out of the joint fit (mec.fits.bins, rule 2): each on its own bins
    for j in kept.alone:
        name = f"cell {str(ids[j])!r}" if ids is not None else f"target column {j}"
        one_spec = None if raw_specs is None else (
            map_kwargs_per_cell if isinstance(map_kwargs_per_cell, Mapping) else [raw_specs[j]])
        try:
            out = _fit_scores(Xs, Y[:, [j]], map_type, map_kwargs, train_frac,
                              num_splits, split_start_seed, grid, one_spec,
                              None if ids is None else [ids[j]], return_per_split,
                              source_ids, f"{where}, {name} on its own bins" if where else
                              f"{name} on its own bins", None if Yt is None else Yt[:, [j]])
        except (FitInputError, SplitError) as err:
            warnings.warn(f"{err}; not scored (NaN)", FitInputWarning, stacklevel=2)
            continue
        if return_per_split:
            out, sc = out
            if per_split is not None and sc.shape[0] == per_split.shape[0]:
                per_split[:, j] = sc[:, 0]
        result[j] = out[0]
    if return_per_split:
        if per_split is None:
            if len(fracs) > 1:
                raise ValueError("return_per_split needs one train_frac for every cell")
            per_split = np.full((0, n_tgt), np.nan)
        return result, per_split
    return result


def _at(where: str) -> str:
    return f"{where}: " if where else ""


# ---------------------------------------------------------------------------------------------
# inter-animal consistency and model fits
# ---------------------------------------------------------------------------------------------
def _check_per_cell_mapping(map_kwargs_per_cell):
    if map_kwargs_per_cell is not None and not isinstance(map_kwargs_per_cell, Mapping):
        raise ValueError(
            "map_kwargs_per_cell must be a dict {cell_id: kwargs} for inter-animal and model "
            f"fits, got {type(map_kwargs_per_cell).__name__}"
        )


def _progress(iterable, desc, enabled, total=None):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


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


def elasticnet_kwargs_per_cell(table, regression_type: str = "ElasticNet", extra: dict | None = None) -> dict:
    """Per-cell, per-split ElasticNet choices -> ``map_kwargs_per_cell`` (methods §4.4).

    table: DataFrame (or concatenation of results/elasticnet/{arena}/{animal}.csv) with columns
        cell_id, split, alpha (user convention), l1_ratio.
    Returns ``{cell_id: [{"regression_type": ..., "alpha": a, "l1_ratio": r, **extra}, ...]}``,
    one dict per split in split order; every cell must have the same splits 0..n-1.
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
            {"regression_type": regression_type, "alpha": float(a), "l1_ratio": float(r), **(extra or {})}
            for a, r in zip(grp["alpha"], grp["l1_ratio"])
        ]
    return out
