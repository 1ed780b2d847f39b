"""Fit settings: which rate-map recipe and which splits a fit uses (methods §7.2).

A *setting* pairs a rate-map recipe (:class:`mec.ratemaps.Recipe`) with a train/test split:

* ``"paper"`` - the reproduction: the paper's recipe (zero-filled smoothing of data maps,
  plain bin means for model maps) and config ``fits.train_frac`` (random 20 % of bins).
  Its numbers are bit for bit those of the original algorithm.
* ``"robust"`` - occupancy-normalised smoothing of data and model maps alike
  (:data:`mec.ratemaps.ROBUST`) and blocked splits with a guard band at least the smoothing
  radius (:func:`mec.fits.splits.blocks_split`), so that neither the smoothing kernel nor the
  zero padding can carry a score: smoothed Poisson noise scores about 0 there.
* ``"halves"`` - occupancy-normalised smoothing (:data:`mec.ratemaps.ROBUST`) and the paper's
  random splits (or blocks), with the target maps of fit and test made from independent
  halves of the recording time (alternating minutes): the map is fitted to half A at the
  training bins and scored against half B at the test bins, then the other way round, and
  the two scores averaged (:mod:`mec.fits.halves`, methods §7.8). The *sources* (other
  animals' maps, noise controls, model maps) are left unsmoothed (:data:`UNSMOOTHED`:
  counts / time per bin, a model's plain bin means): a smoothed source's value at a test
  bin mixes its values at the neighbouring training bins, so a few hundred smooth random
  source units interpolate any smooth target from the training bins and untuned noise
  scores nearly the ceiling; an unsmoothed noise source's value at a test bin is
  independent of the fit, so untuned sources score about 0 while tuned ones still predict.

Every tidy score table carries a ``setting`` column. The helpers here make the maps of a
setting from what the files store, and refuse what cannot be made:

* :func:`dataset_for` - a dataset arena's maps under a recipe: ``resp`` itself when it was
  made with that recipe, else rebuilt from the stored spike counts and occupancy;
* :func:`model_maps_for` - a model rate-map file's maps under a recipe: the bin means as
  they are (the paper), or smoothed with the file's sample counts
  (:func:`mec.ratemaps.smooth_model_maps`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Mapping

import numpy as np

from mec.fits.splits import BLOCKS, DEFAULT_BLOCK_K, blocks_split, check_train_frac, parse_blocks
from mec.mappers import LOO_ALPHAS, MapParamError, RidgeLOOMap
from mec.ratemaps import PAPER, ROBUST, Recipe, RecipeMismatchError, get_recipe, rates_from_counts

__all__ = ["Setting", "PAPER_SETTING", "ROBUST_SETTING", "HALVES_SETTING", "SETTING_NAMES",
           "UNSMOOTHED", "make_settings", "halves_options",
           "check_fit_settings",
           "resolve_split", "dataset_for", "model_maps_for"]

log = logging.getLogger(__name__)

PAPER_SETTING = "paper"
ROBUST_SETTING = "robust"
HALVES_SETTING = "halves"
#: The settings of the default run, in display order.
SETTING_NAMES = (PAPER_SETTING, ROBUST_SETTING, HALVES_SETTING)

#: The recipe of the halves setting's source maps (methods §7.8): no smoothing, a recorded
#: map is counts / time per bin (NaN where unvisited), a model map its plain bin means. A
#: source value at a test bin then carries nothing of the source's values at the training
#: bins, so a fit cannot interpolate the target from the neighbouring training bins.
UNSMOOTHED = Recipe("unsmoothed", "normalized", 0.0, 3.0, smooth_model=False)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One way of fitting: ``name``, the rate-map ``recipe`` of data and model maps, and
    the split ``train_frac`` (a fraction, a structured split name or a resolved blocks
    string such as ``"blocks:k=3,g=3"``); ``halves``: fit and test target maps come from
    the two recording halves (mec.fits.halves, methods §7.8); ``source_recipe``: the
    recipe of the source maps that predict (other animals', noise controls', models'),
    None (the default) for ``recipe`` itself; the halves setting's is :data:`UNSMOOTHED`.
    After construction ``source_recipe`` is always a Recipe."""

    name: str
    recipe: Recipe
    train_frac: object
    halves: bool = False
    source_recipe: Recipe | None = None

    def __post_init__(self):
        if self.source_recipe is None:
            object.__setattr__(self, "source_recipe", self.recipe)

    def describe(self) -> str:
        src = ("" if self.source_recipe == self.recipe
               else f", sources {self.source_recipe.describe()}")
        return (f"setting {self.name!r}: {self.recipe.describe()}{src}, "
                f"train_frac={self.train_frac!r}"
                + (", fit on one recording half, tested on the other" if self.halves else ""))


def resolve_split(train_frac, recipe: Recipe, blocks: Mapping | None = None,
                  where: str = "fits.train_frac"):
    """``train_frac`` with a blocked split's parameters filled in and checked.

    ``"blocks"`` becomes ``blocks_split(k, g)`` with ``k = blocks["k"]`` (default
    :data:`mec.fits.splits.DEFAULT_BLOCK_K`) and ``g = blocks["guard_bins"]`` (None: the
    recipe's smoothing radius). A guard band narrower than the recipe's radius
    (:attr:`mec.ratemaps.Recipe.radius_bins`) is refused: train and test bins would share
    smoothing kernels. Other splits are returned unchanged.
    """
    check_train_frac(train_frac, where)  # a fraction in (0, 1) or a split's name
    blocks = dict(blocks or {})
    unknown = sorted(set(blocks) - {"k", "guard_bins"})
    if unknown:
        raise ValueError(f"fits.blocks: unknown key(s) {unknown}; known: k, guard_bins")
    if train_frac == BLOCKS:
        k = blocks.get("k")
        g = blocks.get("guard_bins")
        train_frac = blocks_split(DEFAULT_BLOCK_K if k is None else k,
                                  recipe.radius_bins if g is None else g)
    parsed = parse_blocks(train_frac)
    if parsed is not None and parsed[1] < recipe.radius_bins:
        raise ValueError(
            f"{where}: blocked split {train_frac!r} has a guard band of {parsed[1]} bin(s), "
            f"narrower than the smoothing radius of {recipe.describe()} "
            f"({recipe.radius_bins} bins): training bins would share smoothing kernels with "
            f"test bins; set fits.blocks.guard_bins >= {recipe.radius_bins} (or null)")
    return train_frac


#: Defaults of config ``fits.halves`` (the halves setting, methods §7.8). ridge_alpha: a grid,
#: so that every Ridge fit of the setting chooses its own alpha by leave-one-out over its
#: training bins (mec.mappers.RidgeLOOMap, the grid mec.mappers.LOO_ALPHAS).
HALVES_DEFAULTS = {"enabled": False, "train_frac": 0.5, "ridge_alpha": list(LOO_ALPHAS),
                   "model_draws": 2, "elasticnet": False}


def halves_options(halves) -> dict:
    """Config ``fits.halves`` with defaults: ``{"enabled": bool, "train_frac": split,
    "ridge_alpha": float, list of floats or None, "model_draws": int}`` (ridge_alpha: the
    alpha of every Ridge map in this setting, a list: the grid each fit chooses its alpha
    from by leave-one-out (mec.mappers.RidgeLOOMap), None: the map's own; model_draws:
    recorded draws of a model, mec.fits.as_recorded; elasticnet: refit the ElasticNet grid's
    per-cell choices in this setting too, off by default for its cost; methods §7.8).

    halves: None or False (off), True (on, the paper's random 20 % splits), or a mapping with
    ``enabled`` (default false) and ``train_frac`` (a fraction for random splits, a
    structured split's name, or ``"blocks"``: blocked splits of config fits.blocks). ValueError naming the
    key for anything else.
    """
    if halves is None or halves is False:
        return {**HALVES_DEFAULTS, "enabled": False}
    if halves is True:
        return {**HALVES_DEFAULTS, "enabled": True}
    if not isinstance(halves, Mapping):
        raise ValueError(f"fits.halves must be a mapping {{enabled, train_frac}}, got {halves!r}")
    unknown = sorted(set(halves) - set(HALVES_DEFAULTS))
    if unknown:
        raise ValueError(f"fits.halves: unknown key(s) {unknown}; known: "
                         f"{sorted(HALVES_DEFAULTS)}")
    out = {**HALVES_DEFAULTS, **{k: v for k, v in halves.items() if v is not None}}
    if not isinstance(out["enabled"], bool):
        raise ValueError(f"fits.halves.enabled must be true or false, got {out['enabled']!r}")
    out["ridge_alpha"] = _ridge_alpha(halves.get("ridge_alpha", HALVES_DEFAULTS["ridge_alpha"]))
    draws = out["model_draws"]
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"fits.halves.model_draws must be an integer >= 1, got {draws!r}")
    if not isinstance(out["elasticnet"], bool):
        raise ValueError(f"fits.halves.elasticnet must be true or false, got {out['elasticnet']!r}")
    return out


def _ridge_alpha(alpha):
    """Config fits.halves.ridge_alpha checked: None, a float > 0 or a list of them (a grid,
    checked by the map that takes it, mec.ridge_loo.RidgeLOOMap)."""
    if alpha is None:
        return None
    grid = list(alpha) if isinstance(alpha, (list, tuple)) else [alpha]
    try:
        RidgeLOOMap(alphas=grid).check_params()
    except MapParamError:
        raise ValueError(f"fits.halves.ridge_alpha must be a number > 0, a non-empty list of "
                         f"them (a grid to choose from at every fit) or null, got {alpha!r}") from None
    return [float(v) for v in grid] if isinstance(alpha, (list, tuple)) else float(alpha)


def make_settings(train_frac=0.2, robust: bool = True, blocks: Mapping | None = None,
                  halves=None) -> dict[str, Setting]:
    """The fit settings of a run: ``{"paper": ..., ["robust": ...], ["halves": ...]}``.

    train_frac: the paper setting's split (config ``fits.train_frac``); robust: add the
    robust setting (config ``fits.robust``); blocks: config ``fits.blocks`` ({k, guard_bins})
    for every blocked split; halves: config ``fits.halves`` (:func:`halves_options`; None:
    no halves setting).
    """
    out = {PAPER_SETTING: Setting(PAPER_SETTING, PAPER,
                                  resolve_split(train_frac, PAPER, blocks, "fits.train_frac"))}
    if robust:
        out[ROBUST_SETTING] = Setting(ROBUST_SETTING, ROBUST,
                                      resolve_split(BLOCKS, ROBUST, blocks, "fits.robust"))
    opts = halves_options(halves)
    if opts["enabled"]:
        out[HALVES_SETTING] = Setting(HALVES_SETTING, ROBUST,
                                      resolve_split(opts["train_frac"], ROBUST, blocks,
                                                    "fits.halves.train_frac"), halves=True,
                                      source_recipe=UNSMOOTHED)
    return out


def check_fit_settings(fits_config: Mapping) -> dict[str, Setting]:
    """The settings of a config's ``fits`` section (train_frac, robust, blocks, halves),
    checked when the workflow is planned: ValueError naming the key for a guard band
    narrower than the smoothing radius or blocks that are malformed."""
    return make_settings(train_frac=fits_config.get("train_frac", 0.2),
                         robust=bool(fits_config.get("robust", True)),
                         blocks=fits_config.get("blocks"),
                         halves=fits_config.get("halves"))




def dataset_for(dataset, arena, recipe, where: str = "dataset"):
    """A :class:`mec.data.Dataset` holding one arena whose ``resp`` are made with ``recipe``.

    When the arena's recorded recipe is ``recipe`` the maps are the stored ones (the same
    arrays). A dataset that records no recipe (made before recipes were recorded; every
    such file of this project used the paper's) counts as the paper's, with a log message.
    Otherwise each animal's maps are rebuilt from its spike counts and occupancy
    (:func:`mec.ratemaps.rates_from_counts`), NaN wherever the stored maps are NaN (bins
    outside the arena or, for the paper's recipe, unvisited), or ValueError naming the arena
    and animal when the dataset stores no counts. The result's ``recipes[arena]`` is
    ``recipe``; edges, arenas, cell_info and truth are carried over.
    """
    from mec.data.contract import Dataset

    recipe = get_recipe(recipe)
    stored = getattr(dataset, "recipes", {}).get(arena)
    if stored is None:
        log.info("%s arena %s records no rate-map recipe; taking it as the paper's", where, arena)
        stored = PAPER
    if stored == recipe:
        data = {arena: dataset[arena]}
    else:
        counts = getattr(dataset, "spike_counts", {}).get(arena, {})
        occ = getattr(dataset, "occupancy", {}).get(arena, {})
        data = {arena: {}}
        for animal, rec in dataset[arena].items():
            if animal not in counts or animal not in occ:
                raise ValueError(
                    f"{where} arena {arena} animal {animal}: maps made with {stored.describe()} "
                    f"and no spike_counts/occupancy stored, so no maps can be made with "
                    f"{recipe.describe()}; rebuild the dataset with this version of mec "
                    f"(make_dataset) or turn the setting off (config fits.robust: false)")
            resp = np.asarray(rec["resp"], dtype=np.float64)
            new = rates_from_counts(counts[animal], occ[animal], recipe, mask=np.isfinite(resp))
            data[arena][animal] = {**rec, "resp": new}
    return Dataset(data, edges={arena: dataset.edges[arena]} if hasattr(dataset, "edges") else {},
                   arenas={arena: getattr(dataset, "arenas", {}).get(arena, {})},
                   attrs=getattr(dataset, "attrs", {}),
                   truth={arena: getattr(dataset, "truth", {}).get(arena, {})},
                   cell_info={arena: getattr(dataset, "cell_info", {}).get(arena, {})},
                   recipes={arena: recipe},
                   spike_counts={arena: getattr(dataset, "spike_counts", {}).get(arena, {})},
                   occupancy={arena: getattr(dataset, "occupancy", {}).get(arena, {})})


def model_maps_for(maps: Mapping[str, np.ndarray], counts, stored: Recipe | None, recipe,
                   where: str = "model rate maps") -> dict:
    """Model maps ``{layer: (nx, ny, n_units)}`` under ``recipe``.

    stored: the recipe recorded in the file (None: a file from before recipes were recorded,
    which holds plain bin means, the paper's model maps). Bin means (a stored recipe that
    does not smooth model maps) are smoothed as ``recipe`` says
    (:func:`mec.ratemaps.smooth_model_maps`, weighted by the file's sample ``counts``, or
    equally per finite bin when the file has none); maps already smoothed are used only
    under their own recipe (RecipeMismatchError otherwise).
    """
    from mec.ratemaps import smooth_model_maps

    recipe = get_recipe(recipe)
    stored = PAPER if stored is None else stored
    if stored == recipe:
        return dict(maps)
    if stored.smooth_model:
        raise RecipeMismatchError(
            f"{where}: maps were smoothed with {stored.describe()} and cannot be remade with "
            f"{recipe.describe()}; export them again")
    if counts is None and recipe.smooth_model:
        log.info("%s: no sample counts stored; every finite bin weighs the same in the "
                 "smoothing of %s", where, recipe.describe())
    return {layer: smooth_model_maps(m, counts, recipe) for layer, m in maps.items()}
