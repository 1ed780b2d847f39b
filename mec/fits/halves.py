"""The halves setting: fit on one half of the recording time, test on the other (methods §7.8).

Why. With random-bin splits every smoothed target map carries its own noise into the test
bins around each training bin: a flexible map fitted at the training bins (hundreds of
source units, a few hundred bins) learns the target's smoothed noise there and finds it
again next door. Under the paper's recipe untuned Poisson noise thus scores as high as real
cells (methods §6); blocked splits (the robust setting) stop that leak but throw most of
the tuning away with the guard bands. Here the target maps of fit and test are made from
**independent halves of the recording time** (alternating ``chunk_s`` pieces, odd and even
minutes by default; :func:`mec.ratemaps.bin_spikes_halves`): the noise of half A tells
nothing about half B, so a fit to A's noise scores 0 on B, while a cell's tuning, present in
both, is kept. The rate maps are made with occupancy-normalised smoothing
(:data:`mec.ratemaps.ROBUST`): zero-filled smoothing would give every half map the same
dimming along the walls, which a source could predict.

Protocol, per target cell and split (the setting's split: the paper's random 20 % of bins by
default, or blocks): fit the map from the source at the training bins of half A, score
Pearson r against half B at the test bins; then fit on B, score on A; the cell's score is the
mean of the two directions (each itself the mean over splits). A bin counts where both
halves and the source are finite.

Sources. Inter-animal fits use the other animals' whole-session maps (their noise is
independent of the target's, so it cannot leak into the score; the whole session halves it);
noise floors use the controls' whole-session maps; model fits use the model's maps **recorded
as one more animal** (:mod:`mec.fits.as_recorded`: each unit a Poisson cell with a recorded
cell's rate and dispersion along the target's session, so that a model as good as an animal
scores the ceiling rather than above it). Every
source map is **unsmoothed** (the setting's ``source_recipe``,
:data:`mec.fits.settings.UNSMOOTHED`: counts / time per bin, for recorded cells and recorded
model units alike),
while the target's half maps keep the occupancy-normalised smoothing. Why: a smoothed
source's value at a test bin is a weighted mean of its values at the neighbouring (mostly
training) bins, so a few hundred smooth source units, even untuned noise, form a basis that
interpolates the target's smooth tuning from the training bins around each test bin; untuned
Poisson sources then scored 0.42 against a ceiling of 0.45 (methods §7.8). An unsmoothed
noise source's value at a test bin is independent of its values at the training bins and so
of the fitted weights: the prediction is uncorrelated with the target (about 0), while a
tuned source, smooth in its expectation, still predicts. One entry point scores any source in any setting, :func:`setting_scores` (what a
validation ladder of synthetic "models" needs), beside the tidy tables of the workflow.
"""

from __future__ import annotations

import warnings
from typing import Callable, Mapping, Sequence

import numpy as np

from mec.fits.settings import HALVES_DEFAULTS

__all__ = ["HalvesMissingError", "half_maps", "halves_fit_scores", "setting_scores", "halves_maps",
           "halves_interanimal_table", "halves_model_fit_table", "halves_floor_scores"]


#: Recorded draws of a model per target animal in the halves setting (config
#: ``fits.halves.model_draws``): each draw's Poisson noise moves a model's median by about
#: 0.01 (methods §7.8); the cell's scores are averaged over the draws.
MODEL_DRAWS = HALVES_DEFAULTS["model_draws"]


def halves_maps(maps: Mapping, halves) -> dict:
    """Config ``fits.maps`` for the halves setting: every Ridge map (``sklinear`` with
    ``regression_type: Ridge``) takes config ``fits.halves.ridge_alpha`` (a number: that
    alpha; a list, the default: map ``ridge_loo``, each fit choosing its alpha from that grid
    by leave-one-out over its own training bins, mec.mappers.RidgeLOOMap; None: unchanged),
    every PLS map is solved exactly (``algorithm: svd`` unless the map names one); other maps
    as given.

    Why (methods §7.8): with half of the bins for training (``train_frac`` 0.5) a few hundred
    bins face 128-512 noisy model units or some 330 unsmoothed recorded cells, and no one
    alpha suits both (on the default run 100 suits a 128-unit layer, 1000 the ceiling's
    cells); the choice sees only the fit half, never the test bins or the other half. PLS:
    NIPALS stops its power iteration at the original's tolerance, which leaves scores off by
    up to 1e-3; the exact SVD is its limit and about 3x cheaper on the 2 x 1,936 bins of a
    2.2 m model fit, where PLS was most of the fit's time (mec.mappers.PLSMap)."""
    from mec.fits.settings import halves_options

    alpha = halves_options(halves)["ridge_alpha"]
    out = {}
    for name, spec in maps.items():
        kw = dict(spec.get("map_kwargs") or {}) if isinstance(spec, Mapping) else {}
        if alpha is not None and isinstance(spec, Mapping) and \
                spec.get("map_type") == "sklinear" and kw.get("regression_type") == "Ridge":
            spec = ({**spec, "map_type": "ridge_loo", "map_kwargs": {"alphas": list(alpha)}}
                    if isinstance(alpha, list) else {**spec, "map_kwargs": {**kw, "alpha": alpha}})
        elif isinstance(spec, Mapping) and spec.get("map_type") == "pls" and "algorithm" not in kw:
            spec = {**spec, "map_kwargs": {**kw, "algorithm": "svd"}}
        out[name] = spec
    return out


class HalvesMissingError(ValueError):
    """A dataset without the recording halves the halves setting needs."""


def _remake(where: str, arena, animal) -> str:
    return (f"{where} arena {arena} animal {animal}: no recording halves stored (half_counts/"
            f"half_occupancy), which the halves setting needs (methods §7.8); the file was made "
            f"by an older version of mec: delete it and run the workflow again to remake it "
            f"(rule make_dataset), or turn the setting off (config fits.halves.enabled: false)")


def half_maps(dataset, arena, recipe=None, where: str = "dataset") -> dict:
    """``{animal: (map_a, map_b)}``, each (nx, ny, n_cells), the rate maps of the two
    recording halves under ``recipe`` (default :data:`mec.ratemaps.ROBUST`), NaN wherever
    the stored maps are NaN (outside the arena or the session's box) or the half did not
    visit the bin. HalvesMissingError (naming the arena and animal and how to remake the
    file) when the dataset stores no halves."""
    from mec.ratemaps import ROBUST, get_recipe, rates_from_counts

    recipe = ROBUST if recipe is None else get_recipe(recipe)
    counts = getattr(dataset, "half_counts", {}).get(arena, {})
    occ = getattr(dataset, "half_occupancy", {}).get(arena, {})
    out = {}
    for animal, rec in dataset[arena].items():
        if animal not in counts or animal not in occ:
            raise HalvesMissingError(_remake(where, arena, animal))
        mask = np.isfinite(np.asarray(rec["resp"], dtype=np.float64))
        out[animal] = tuple(rates_from_counts(counts[animal][h], occ[animal][h], recipe,
                                              mask=mask) for h in (0, 1))
    return out


def halves_fit_scores(source, target_a, target_b, **kwargs) -> np.ndarray:
    """(n_cells,) scores of a source against the two halves of the same cells: the mean of
    fit-on-A / test-on-B and fit-on-B / test-on-A (module docstring); a cell NaN in either
    direction is NaN. ``kwargs``: as :func:`mec.fits.core.fit_scores` (map_type,
    map_kwargs, train_frac, num_splits, split_start_seed, map_kwargs_per_cell, cell_ids,
    source_ids, where, ...); both directions use the same splits."""
    from mec.fits.core import fit_scores

    where = kwargs.pop("where", "")
    pre = f"{where}, " if where else ""
    ab = fit_scores(source, target_a, target_test=target_b, where=f"{pre}fit half A, test half B",
                    **kwargs)
    ba = fit_scores(source, target_b, target_test=target_a, where=f"{pre}fit half B, test half A",
                    **kwargs)
    return (np.asarray(ab) + np.asarray(ba)) / 2.0


def setting_scores(dataset, arena, setting, source, map_type: str = "sklinear",
                   map_kwargs: dict | None = None, num_splits: int = 10,
                   split_start_seed: int = 0, map_kwargs_per_cell=None,
                   blas_threads: int | None = 1, where: str = "", as_model: bool = False,
                   model_counts=None, model_key: str | tuple = "model",
                   model_draws: int | None = None) -> dict:
    """Score a source against every cell of an arena in one setting: ``{animal: (n_cells,)}``.

    dataset: a :class:`mec.data.Dataset` (with spike counts, and halves for the halves
    setting); setting: a :class:`mec.fits.settings.Setting` (its recipe makes the target maps,
    its split the splits, ``setting.halves`` the protocol of this module); source: the maps
    that predict, on the dataset's bins, used as given (already under the setting's
    ``source_recipe``: unsmoothed in the halves setting):
    an array (nx, ny, n_units) for every animal (a model), ``{animal: array}`` (a source per
    target animal, e.g. the other animals' maps) or a callable ``animal -> array``.
    as_model: the source maps are bin means (as a model's export) and are first made into
    the setting's model maps (:func:`mec.ratemaps.smooth_model_maps` under the setting's
    ``source_recipe`` with ``model_counts``, (nx, ny) samples per bin or None: smoothed in the
    robust setting, unchanged in the paper setting) and, in the halves setting, recorded as
    one more animal along each target animal's session (:mod:`mec.fits.as_recorded`, seeded
    by ``model_key``, a name or a tuple of names: (model name, layer) draws as the workflow's
    fits of that layer; ``model_draws`` draws, default :data:`MODEL_DRAWS`, scores averaged).
    Other arguments as :func:`mec.fits.core.fit_scores`.
    """
    from mec.fits.as_recorded import record_model, recorded_cells
    from mec.fits.core import fit_scores
    from mec.fits.settings import dataset_for

    from mec.ratemaps import smooth_model_maps

    raw: Callable = (source if callable(source) else
                     (lambda a: source[a]) if isinstance(source, Mapping) else
                     (lambda a: source))

    def get(animal):
        maps = raw(animal)
        return smooth_model_maps(maps, model_counts, setting.source_recipe) if as_model else maps
    target = dataset_for(dataset, arena, setting.recipe)[arena]
    halves = half_maps(dataset, arena, setting.recipe) if setting.halves else None
    cells = recorded_cells(dataset, arena, where or "dataset") if halves and as_model else None
    kw = dict(map_type=map_type, map_kwargs=map_kwargs, train_frac=setting.train_frac,
              num_splits=num_splits, split_start_seed=split_start_seed,
              map_kwargs_per_cell=map_kwargs_per_cell, blas_threads=blas_threads)
    out = {}
    for animal, rec in target.items():
        at = f"{where + ', ' if where else ''}setting {setting.name}, target animal {animal}"
        if halves is None:
            out[animal] = fit_scores(get(animal), rec["resp"], cell_ids=rec["cell_ids"],
                                     where=at, **kw)
        elif as_model:
            key = tuple(model_key) if isinstance(model_key, tuple) else (model_key,)
            draws = record_model(get(animal), dataset, arena, animal, key, cells,
                                 MODEL_DRAWS if model_draws is None else model_draws)
            out[animal] = _mean_over_draws([halves_fit_scores(
                d, *halves[animal], cell_ids=rec["cell_ids"], where=f"{at}, draw {k}", **kw)
                for k, d in enumerate(draws)])
        else:
            out[animal] = halves_fit_scores(get(animal), *halves[animal],
                                            cell_ids=rec["cell_ids"], where=at, **kw)
    return out


def _mean_over_draws(scores: Sequence) -> np.ndarray:
    """(n_cells,) mean of a cell's scores over the model's recorded draws (NaN if all NaN)."""
    if len(scores) == 1:
        return np.asarray(scores[0], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cell -> NaN
        return np.nanmean(np.stack([np.asarray(s, dtype=np.float64) for s in scores]), axis=0)


def _per_target(sources: Mapping, halves: Mapping, cell_ids: Mapping, mode: str, kw: dict,
                where: str, source_ids: Mapping | None = None) -> dict:
    """Inter-animal fits with ``sources[a]`` (nx, ny, n) for every animal a: each animal's
    half maps predicted from the OTHER animals' sources, all at once ("holdout") or one at a
    time and averaged ("pairwise")."""
    animals = list(halves)
    if len(animals) < 2:
        warnings.warn(f"inter-animal fits need >= 2 animals, got {animals}", UserWarning)
        return {}
    out = {}
    for animal in animals:
        others = [a for a in animals if a != animal]
        at = f"{where}, target animal {animal}"
        if mode == "holdout":
            src = np.concatenate([np.asarray(sources[a]) for a in others], axis=-1)
            ids = None if source_ids is None else [c for a in others for c in source_ids[a]]
            out[animal] = halves_fit_scores(src, *halves[animal], cell_ids=cell_ids[animal],
                                            source_ids=ids, where=at, **kw)
        elif mode == "pairwise":
            per = [halves_fit_scores(sources[a], *halves[animal], cell_ids=cell_ids[animal],
                                     source_ids=None if source_ids is None else source_ids[a],
                                     where=f"{at}, source animal {a}", **kw) for a in others]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cell -> NaN
                out[animal] = np.nanmean(np.stack(per), axis=0)
        else:
            raise ValueError(f"interanimal mode={mode!r} is not one of ('holdout', 'pairwise')")
    return out


def halves_interanimal_table(dataset, arena, maps: Mapping, setting, mode: str = "holdout",
                             num_splits: int = 10, split_start_seed: int = 0,
                             where: str = "dataset"):
    """Inter-animal consistency of one arena in the halves setting (TABLE_COLUMNS rows,
    source ``interanimal_{mode}``): each animal's half maps predicted from the other animals'
    whole-session maps under the setting's ``source_recipe`` (unsmoothed, module docstring).
    maps: config ``fits.maps``."""
    from mec.fits.core import map_settings, score_rows, tidy_table
    from mec.fits.settings import dataset_for

    data = dataset_for(dataset, arena, setting.recipe, where=where)[arena]
    halves = half_maps(dataset, arena, setting.recipe, where=where)
    src = dataset_for(dataset, arena, setting.source_recipe, where=where)[arena]
    sources = {a: np.asarray(rec["resp"], dtype=np.float64) for a, rec in src.items()}
    ids = {a: [str(c) for c in np.asarray(rec["cell_ids"]).ravel()] for a, rec in data.items()}
    frames = []
    for name, spec in maps.items():
        map_type, map_kwargs, per_cell = map_settings(name, spec)
        kw = dict(map_type=map_type, map_kwargs=map_kwargs, train_frac=setting.train_frac,
                  num_splits=num_splits, split_start_seed=split_start_seed,
                  map_kwargs_per_cell=per_cell)
        scores = _per_target(sources, halves, ids, mode, kw,
                             f"arena {arena}, setting {setting.name}, map {name}", ids)
        for animal, sc in scores.items():
            frames.append(score_rows(arena, data, animal, sc, f"interanimal_{mode}", "-", name,
                                     setting.name))
    return tidy_table(frames)


def halves_model_fit_table(model_maps: Mapping, dataset, arena, model_name: str, maps: Mapping,
                           setting, layers: Sequence[str] | None = None, num_splits: int = 10,
                           split_start_seed: int = 0, where: str = "dataset",
                           model_draws: int | None = None):
    """Model-to-data fits of one model in one arena in the halves setting (TABLE_COLUMNS
    rows, source ``model_name``): every animal's half maps predicted from the model layer's
    maps (``model_maps[layer]``: plain bin means, or a list of copies) **recorded as one more
    animal** along that animal's session (:mod:`mec.fits.as_recorded`: each unit a Poisson
    cell with a recorded cell's rate and dispersion, its unsmoothed map counts / time, as the
    ceiling's sources are; seeded by model name, layer, arena and animal), ``model_draws``
    recorded draws (default :data:`MODEL_DRAWS`) whose scores are averaged per cell. Every
    map is fitted to the same draws."""
    from mec.fits.as_recorded import record_model, recorded_cells
    from mec.fits.core import map_settings, score_rows, tidy_table
    from mec.fits.settings import dataset_for

    data = dataset_for(dataset, arena, setting.recipe, where=where)[arena]
    halves = half_maps(dataset, arena, setting.recipe, where=where)
    cells = recorded_cells(dataset, arena, where)
    n_draws = MODEL_DRAWS if model_draws is None else int(model_draws)
    layers = list(model_maps) if layers is None else list(layers)
    frames = []
    for layer in layers:
        recorded = {animal: record_model(model_maps[layer], dataset, arena, animal,
                                         (model_name, layer), cells, n_draws)
                    for animal in data}
        for name, spec in maps.items():
            map_type, map_kwargs, per_cell = map_settings(name, spec)
            for animal, rec in data.items():
                at = (f"model {model_name}, layer {layer}, arena {arena}, setting "
                      f"{setting.name}, map {name}, animal {animal}")
                sc = _mean_over_draws([halves_fit_scores(
                    d, *halves[animal], map_type=map_type,
                    map_kwargs=map_kwargs, train_frac=setting.train_frac,
                    num_splits=num_splits, split_start_seed=split_start_seed,
                    map_kwargs_per_cell=per_cell, cell_ids=rec["cell_ids"],
                    where=f"{at}, draw {k}") for k, d in enumerate(recorded[animal])])
                frames.append(score_rows(arena, data, animal, sc, model_name, layer, name,
                                         setting.name))
    return tidy_table(frames)


def halves_floor_scores(dataset, arena, source_maps: Mapping, setting, map_type: str,
                        map_kwargs: dict | None, mode: str = "holdout", num_splits: int = 10,
                        split_start_seed: int = 0, map_kwargs_per_cell=None,
                        where: str = "noise floor") -> dict:
    """Noise floor fits in the halves setting: ``{animal: (n_cells,)}``, each animal's half
    maps predicted from the OTHER animals' control maps ``source_maps`` (whole session,
    under the setting's ``source_recipe``: unsmoothed), as :func:`mec.fits.floors.floor_scores` does with whole
    maps."""
    halves = half_maps(dataset, arena, setting.recipe)
    ids = {a: [str(c) for c in np.asarray(rec["cell_ids"]).ravel()]
           for a, rec in dataset[arena].items()}
    kw = dict(map_type=map_type, map_kwargs=map_kwargs, train_frac=setting.train_frac,
              num_splits=num_splits, split_start_seed=split_start_seed,
              map_kwargs_per_cell=map_kwargs_per_cell)
    return _per_target(source_maps, halves, ids, mode, kw, where)
