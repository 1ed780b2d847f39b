"""The one fit (methods §4.2): any source against any target, scored per target cell.

:func:`fit_scores` and the input checks it shares with the fits built on it
(mec.fits.core: inter-animal consistency, model fits and their tidy tables). The steps,
several copies of a source and per-cell map arguments are described in mec.fits.core's
docstring; that module re-exports everything public here.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from mec.fits.bins import FitInputError, FitInputWarning, kept_bins
from mec.fits.splits import SplitError, generate_train_test_splits
from mec.mappers import make_map, pearson_columns


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
    """True when a target's prediction does not depend on the other targets of the fit: the
    map's own ``targets_independent`` (False for PLS fitted on all targets at once and for
    ridge_loo, whose one alpha is chosen on all the fit's targets)."""
    return make_map(map_type, **map_kwargs).targets_independent


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
    """The body of :func:`fit_scores` (its arguments, checked there; ``where`` prefixes messages).

    Long because: one pass over one source and target whose input checks, bin selection,
    splits and per-split solves share the same arrays (the kept bins, the split indices).
    """
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
