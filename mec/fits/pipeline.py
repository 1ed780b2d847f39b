"""The fit stages of the workflow as plain functions (no Snakemake inside).

Each function reads its inputs from paths, calls the fitting core and writes one tidy table
atomically. The workflow's scripts call these with the rule's inputs, params and outputs; a
notebook can call them the same way.

Settings (methods §7.2, mec.fits.settings): every table has a ``setting`` column. "paper" is the
reproduction (the paper's recipe, ``train_frac``); with ``robust=True`` the same fits are
made again in the "robust" setting (occupancy-normalised maps, blocked splits with
``blocks`` = config fits.blocks). The ElasticNet map comes from the paper setting's grid and
is fitted in the paper setting and, refitting the same per-cell choices, in the halves
setting (config fits.halves, mec.fits.halves). :func:`floors` fits the tuning-free controls of
mec.fits.floors once per arena.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["interanimal", "fit_model", "floors", "read_elasticnet_choices", "with_elasticnet",
           "ELASTICNET"]

#: Name of the map whose per-cell hyperparameters come from the ElasticNet grid (methods §4.4).
ELASTICNET = "elasticnet"


def read_elasticnet_choices(paths: Sequence[str | os.PathLike]):
    """Concatenate results/elasticnet/{arena}/{animal}.csv tables (empty list -> None)."""
    import pandas as pd

    from mec.io import read_table

    if not paths:
        return None
    return pd.concat([read_table(p) for p in paths], ignore_index=True)


def _elasticnet_map(choices) -> dict:
    """The 'elasticnet' map spec: each cell's per-split choice ("fixed inter-animal", methods
    §4.4), refitted exactly (map "enet", mec.mappers.ExactElasticNetMap) as the grid refitted
    it, so that model fits and the inter-animal ceiling solve the same problems."""
    from mec.fits.core import elasticnet_kwargs_per_cell

    return {"map_type": "enet", "map_kwargs": {},
            "map_kwargs_per_cell": elasticnet_kwargs_per_cell(choices, regression_type=None)}


def with_elasticnet(maps: Mapping, elasticnet_tables: Sequence[str | os.PathLike]) -> dict:
    """``maps`` plus map "elasticnet" when ElasticNet choice tables are given.

    The added map reuses each cell's per-split choice of the inter-animal grid ("fixed
    inter-animal", methods §4.4) for model-to-data fits.
    """
    maps = dict(maps)
    choices = read_elasticnet_choices(list(elasticnet_tables))
    if choices is not None:
        maps[ELASTICNET] = _elasticnet_map(choices)
    return maps


def _per_split_choices(setting, halves) -> bool:
    """Whether the halves setting refits the ElasticNet grid's per-split choices: when config
    ``fits.halves.elasticnet`` asks for it, with random splits only (the grid's own; a blocked
    split has other splits, one per block). Off by default: every cell's choice is refitted
    per split and per direction, one ElasticNet at a time, which on the default run's floors
    at 1.0 m alone cost about 440 CPU s, twice the paper and robust settings' together
    (methods §7.8)."""
    from mec.fits.settings import halves_options

    return (bool(setting.halves) and not isinstance(setting.train_frac, str)
            and halves_options(halves)["elasticnet"])


def _settings(train_frac, robust, blocks, halves=None):
    from mec.fits.settings import make_settings

    return make_settings(train_frac=train_frac, robust=robust, blocks=blocks, halves=halves)


def interanimal(dataset_path: str | os.PathLike, arena: float, maps: Mapping, out_path,
                mode: str = "holdout", train_frac=0.2, num_splits: int = 10,
                split_start_seed: int = 0,
                elasticnet_tables: Sequence[str | os.PathLike] = (), robust: bool = False,
                blocks: Mapping | None = None, halves: Mapping | None = None) -> Path:
    """Inter-animal consistency of one arena -> results/consistency/{arena}.csv.

    maps: ``{name: {"map_type", "map_kwargs"}}`` from config ``fits.maps``. With ElasticNet
    tables, map "elasticnet" is added (paper setting): in holdout mode its score per cell is
    the mean over splits of the grid's own test score (the grid already refit each chosen
    combination on the training bins and scored the test bins, methods §4.4); in pairwise mode
    the chosen hyperparameters are refit for every source animal. robust, blocks: the robust
    setting (module docstring); halves: config fits.halves (the halves setting,
    mec.fits.halves, methods §7.8).
    """
    import pandas as pd

    from mec.data import load_dataset
    from mec.data.arenas import arena_id
    from mec.data.report import check_animals
    from mec.fits.core import TABLE_COLUMNS, interanimal_table
    from mec.fits.settings import PAPER_SETTING, dataset_for
    from mec.io import write_table

    dataset = load_dataset(dataset_path, arenas=[arena])
    # One animal: the same error as elasticnet_grid (make_dataset refuses such data first).
    check_animals(dataset, where=f"dataset {dataset_path}")
    settings = _settings(train_frac, robust, blocks, halves)
    choices = read_elasticnet_choices(elasticnet_tables)
    tables = []
    for name, setting in settings.items():
        if setting.halves:
            from mec.fits.halves import halves_interanimal_table

            # the ElasticNet map refits each cell's per-split choice of the grid with the
            # halves protocol (methods §7.8)
            from mec.fits.halves import halves_maps

            refit = choices is not None and _per_split_choices(setting, halves)
            maps_h = {**maps, ELASTICNET: _elasticnet_map(choices)} if refit else dict(maps)
            maps_h = halves_maps(maps_h, halves)  # the setting's Ridge alpha and PLS (§7.8)
            tables.append(halves_interanimal_table(dataset, arena, maps_h, setting, mode=mode,
                                                   num_splits=num_splits,
                                                   split_start_seed=split_start_seed,
                                                   where=str(dataset_path)))
            continue
        maps_s = dict(maps)
        if name == PAPER_SETTING and choices is not None and mode != "holdout":
            maps_s[ELASTICNET] = _elasticnet_map(choices)
        data_s = dataset_for(dataset, arena, setting.recipe, where=str(dataset_path))
        tables.append(interanimal_table(data_s, arena, maps_s, mode=mode,
                                        train_frac=setting.train_frac, num_splits=num_splits,
                                        split_start_seed=split_start_seed, setting=name))
    table = pd.concat(tables, ignore_index=True)
    if choices is not None and mode == "holdout":
        types = {cid: t for _, cid, t in dataset.cells(arena)}
        per_cell = (choices.groupby(["animal", "cell_id"], sort=False)["test_score"]
                    .agg(lambda s: np.nanmean(s.to_numpy()) if s.notna().any() else np.nan)
                    .reset_index())
        en = pd.DataFrame({"arena": arena_id(arena), "animal": per_cell["animal"].astype(str),
                           "cell_id": per_cell["cell_id"].astype(str),
                           "cell_type": per_cell["cell_id"].astype(str).map(types),
                           "source": f"interanimal_{mode}", "layer": "-", "map": ELASTICNET,
                           "setting": PAPER_SETTING, "score": per_cell["test_score"]})
        table = pd.concat([table, en[TABLE_COLUMNS]], ignore_index=True)
    return write_table(table, out_path)


def fit_model(dataset_path: str | os.PathLike, ratemaps_path: str | os.PathLike, model: str,
              arena: float, maps: Mapping, out_path, layers: Sequence[str] | None = None,
              train_frac=0.2, num_splits: int = 10, split_start_seed: int = 0,
              elasticnet_tables: Sequence[str | os.PathLike] = (), robust: bool = False,
              blocks: Mapping | None = None, halves: Mapping | None = None) -> Path:
    """Fit one model's rate maps to every animal of one arena -> results/fits/{model}_{arena}.csv.

    The model maps' bin edges must equal the dataset's (EdgeMismatchError otherwise), and in
    every setting model and data maps are made with the setting's recipe
    (mec.fits.settings.model_maps_for / dataset_for; RecipeMismatchError for maps that
    cannot be). With ElasticNet tables, map "elasticnet" reuses each cell's per-split choice
    from the inter-animal grid ("fixed inter-animal", methods §4.4), in the paper setting.
    robust, blocks: the robust setting (module docstring); halves: config fits.halves.
    """
    import pandas as pd

    from mec.data import load_dataset
    from mec.fits.core import check_model_maps, model_fit_table
    from mec.fits.settings import PAPER_SETTING, dataset_for, model_maps_for
    from mec.io import write_table
    from mec.ratemaps import load_model_ratemaps, read_sample_counts, recipe_from_attrs

    dataset = load_dataset(dataset_path, arenas=[arena])
    model_maps, edges, attrs = load_model_ratemaps(ratemaps_path, layers=layers)
    # units with no finite bin are refused, naming the file (model_fit_table names the model)
    check_model_maps(model_maps, f"model rate maps {ratemaps_path}")
    stored = recipe_from_attrs(attrs, str(ratemaps_path))
    counts = read_sample_counts(ratemaps_path)
    tables = []
    for name, setting in _settings(train_frac, robust, blocks, halves).items():
        maps_s = (with_elasticnet(maps, elasticnet_tables)
                  if name == PAPER_SETTING or _per_split_choices(setting, halves) else dict(maps))
        data_s = dataset_for(dataset, arena, setting.recipe, where=str(dataset_path))
        # the setting's source recipe: the recipe itself, or plain bin means (halves, §7.8)
        model_s = model_maps_for(model_maps, counts, stored, setting.source_recipe,
                                 where=f"model rate maps {ratemaps_path}")
        if setting.halves:
            from mec.fits.core import check_map_edges
            from mec.fits.halves import halves_model_fit_table

            check_map_edges(edges, dataset.edges.get(arena),
                            f"model {model} rate maps vs dataset arena {arena}")
            from mec.fits.halves import halves_maps
            from mec.fits.settings import halves_options

            maps_s = halves_maps(maps_s, halves)  # the setting's Ridge alpha and PLS (§7.8)
            tables.append(halves_model_fit_table(model_s, dataset, arena, model, maps_s, setting,
                                                 layers=layers, num_splits=num_splits,
                                                 split_start_seed=split_start_seed,
                                                 where=str(dataset_path),
                                                 model_draws=halves_options(halves)["model_draws"]))
            continue
        # model_fit_table refuses maps whose edges (EdgeMismatchError) or recipes
        # (RecipeMismatchError) differ from the dataset's.
        tables.append(model_fit_table(model_s, data_s, arena, model, maps_s, layers=layers,
                                      train_frac=setting.train_frac, num_splits=num_splits,
                                      split_start_seed=split_start_seed, model_edges=edges,
                                      setting=name, model_recipe=setting.recipe))
    return write_table(pd.concat(tables, ignore_index=True), out_path)


def floors(dataset_path: str | os.PathLike, arena: float, maps: Mapping, out_path,
           mode: str = "holdout", train_frac=0.2, num_splits: int = 10,
           split_start_seed: int = 0, elasticnet_tables: Sequence[str | os.PathLike] = (),
           robust: bool = False, blocks: Mapping | None = None,
           controls: Sequence[str] = ("poisson", "permuted"), seed: int = 0,
           draws: int = 1, halves: Mapping | None = None) -> Path:
    """Noise floors of one arena -> results/floors/{arena}.csv (mec.fits.floors.floor_table).

    The inter-animal fits of :func:`interanimal` in every setting, with each source animal
    replaced by a tuning-free control (``controls``, drawn ``draws`` times with ``seed``, a
    cell's score averaged over the draws). With ElasticNet
    tables, map "elasticnet" (paper setting) refits each cell's per-split choice. An empty
    ``controls`` writes a header-only table.
    """
    from mec.data import load_dataset
    from mec.fits.floors import floor_table
    from mec.fits.settings import PAPER_SETTING
    from mec.io import write_table

    dataset = load_dataset(dataset_path, arenas=[arena])
    settings = _settings(train_frac, robust, blocks, halves)
    maps_by = {name: (with_elasticnet(maps, elasticnet_tables)
                      if name == PAPER_SETTING or _per_split_choices(s, halves) else dict(maps))
                for name, s in settings.items()}
    from mec.fits.halves import halves_maps

    maps_by = {name: halves_maps(m, halves) if settings[name].halves else m
               for name, m in maps_by.items()}  # the setting's Ridge alpha (methods §7.8)
    table = floor_table(dataset, arena, maps_by, settings, controls=list(controls), mode=mode,
                        num_splits=num_splits, split_start_seed=split_start_seed, seed=seed,
                        draws=draws)
    return write_table(table, out_path)
