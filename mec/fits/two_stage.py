"""The two-stage baseline fit (Figure 2's "place cells -> MEC", ``place_cells_mec`` of
:mod:`mec.baselines`): place cells mapped linearly through the other animals' MEC (stage one,
a ridge map), then the usual fit of its predictions to the target animal (stage two,
mec.fits.core). Its rate-map file (the place-cell maps) is written by
:func:`mec.baselines.export_baseline`; the fit table has the columns of every fit table.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec.baselines import BASELINE_LAYERS
from mec.data.arenas import arena_id

__all__ = ["TWO_STAGE_LAYER", "DEFAULT_STAGE1_ALPHAS", "STAGE1_BINS", "two_stage_maps",
           "two_stage_fit_table", "fit_two_stage"]

#: Layer name of the two-stage fit's rows (results/fits/{model}_{arena}.csv).
TWO_STAGE_LAYER = "mec"
#: Ridge penalties tried in stage one of the two-stage map (efficient leave-one-out CV over
#: bins, sklearn RidgeCV). Place-cell activities are probability vectors (values ~1/Np), so a
#: fixed alpha = 1 would shrink the map to almost nothing; the range covers that scale.
DEFAULT_STAGE1_ALPHAS = tuple(np.geomspace(1e-8, 1e2, 11))


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
    stage two is the usual fit (mec.fits.core.fit_scores, methods §4.2) of those predicted
    MEC-like maps as the source to the target animal's cells.

    stage1_bins: which bins stage one is fitted on.
      "train" (default): per split, only that split's training bins (the splits of the
        stage-two fit, methods §4.2), so a test bin's prediction depends on the place cells alone
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

    Random splits: split s is the single split of seed split_start_seed + s (methods §4.2), so
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
    cell's per-split choice from the inter-animal grid (methods §4.4), as in fit_model.
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
