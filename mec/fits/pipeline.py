"""The fit stages of the workflow as plain functions (no Snakemake inside).

Each function reads its inputs from paths, calls the fitting core and writes one tidy table
atomically. The workflow's scripts call these with the rule's inputs, params and outputs; a
notebook can call them the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["interanimal", "fit_model", "read_elasticnet_choices", "with_elasticnet",
           "ELASTICNET"]

#: Name of the map whose per-cell hyperparameters come from the ElasticNet grid (SPEC 4.4).
ELASTICNET = "elasticnet"


def read_elasticnet_choices(paths: Sequence[str | os.PathLike]):
    """Concatenate results/elasticnet/{arena}/{animal}.csv tables (empty list -> None)."""
    import pandas as pd

    from mec.io import read_table

    if not paths:
        return None
    return pd.concat([read_table(p) for p in paths], ignore_index=True)


def _elasticnet_map(choices) -> dict:
    """The 'elasticnet' map spec: sklinear with each cell's per-split choice ("fixed
    inter-animal", SPEC 4.4)."""
    from mec.fits.core import elasticnet_kwargs_per_cell

    return {"map_type": "sklinear", "map_kwargs": {"regression_type": "ElasticNet"},
            "map_kwargs_per_cell": elasticnet_kwargs_per_cell(choices)}


def with_elasticnet(maps: Mapping, elasticnet_tables: Sequence[str | os.PathLike]) -> dict:
    """``maps`` plus map "elasticnet" when ElasticNet choice tables are given.

    The added map reuses each cell's per-split choice of the inter-animal grid ("fixed
    inter-animal", SPEC 4.4) for model-to-data fits.
    """
    maps = dict(maps)
    choices = read_elasticnet_choices(list(elasticnet_tables))
    if choices is not None:
        maps[ELASTICNET] = _elasticnet_map(choices)
    return maps


def interanimal(dataset_path: str | os.PathLike, arena: float, maps: Mapping, out_path,
                mode: str = "holdout", train_frac=0.2, num_splits: int = 10,
                split_start_seed: int = 0,
                elasticnet_tables: Sequence[str | os.PathLike] = ()) -> Path:
    """Inter-animal consistency of one arena -> results/consistency/{arena}.csv.

    maps: ``{name: {"map_type", "map_kwargs"}}`` from config ``fits.maps``. With ElasticNet
    tables, map "elasticnet" is added: in holdout mode its score per cell is the mean over
    splits of the grid's own test score (the grid already refit each chosen combination on
    the training bins and scored the test bins, SPEC 4.4); in pairwise mode the chosen
    hyperparameters are refit for every source animal.
    """
    import pandas as pd

    from mec.data import load_dataset
    from mec.data.arenas import arena_id
    from mec.data.report import check_animals
    from mec.fits.core import TABLE_COLUMNS, interanimal_table
    from mec.io import write_table

    dataset = load_dataset(dataset_path, arenas=[arena])
    # One animal: the same error as elasticnet_grid (make_dataset refuses such data first).
    check_animals(dataset, where=f"dataset {dataset_path}")
    maps = dict(maps)
    choices = read_elasticnet_choices(elasticnet_tables)
    if choices is not None and mode != "holdout":
        maps[ELASTICNET] = _elasticnet_map(choices)
    table = interanimal_table(dataset, arena, maps, mode=mode, train_frac=train_frac,
                              num_splits=num_splits, split_start_seed=split_start_seed)
    if choices is not None and mode == "holdout":
        types = {cid: t for _, cid, t in dataset.cells(arena)}
        per_cell = (choices.groupby(["animal", "cell_id"], sort=False)["test_score"]
                    .agg(lambda s: np.nanmean(s.to_numpy()) if s.notna().any() else np.nan)
                    .reset_index())
        en = pd.DataFrame({"arena": arena_id(arena), "animal": per_cell["animal"].astype(str),
                           "cell_id": per_cell["cell_id"].astype(str),
                           "cell_type": per_cell["cell_id"].astype(str).map(types),
                           "source": f"interanimal_{mode}", "layer": "-", "map": ELASTICNET,
                           "score": per_cell["test_score"]})
        table = pd.concat([table, en[TABLE_COLUMNS]], ignore_index=True)
    return write_table(table, out_path)


def fit_model(dataset_path: str | os.PathLike, ratemaps_path: str | os.PathLike, model: str,
              arena: float, maps: Mapping, out_path, layers: Sequence[str] | None = None,
              train_frac=0.2, num_splits: int = 10, split_start_seed: int = 0,
              elasticnet_tables: Sequence[str | os.PathLike] = ()) -> Path:
    """Fit one model's rate maps to every animal of one arena -> results/fits/{model}_{arena}.csv.

    The model maps' bin edges must equal the dataset's (EdgeMismatchError otherwise). With
    ElasticNet tables, map "elasticnet" reuses each cell's per-split choice from the
    inter-animal grid ("fixed inter-animal", SPEC 4.4).
    """
    from mec.data import load_dataset
    from mec.fits.core import model_fit_table
    from mec.io import write_table
    from mec.ratemaps import load_model_ratemaps

    dataset = load_dataset(dataset_path, arenas=[arena])
    model_maps, edges, _ = load_model_ratemaps(ratemaps_path, layers=layers)
    maps = with_elasticnet(maps, elasticnet_tables)
    # model_fit_table refuses maps whose edges differ from the dataset's (EdgeMismatchError).
    table = model_fit_table(model_maps, dataset, arena, model, maps, layers=layers,
                            train_frac=train_frac, num_splits=num_splits,
                            split_start_seed=split_start_seed, model_edges=edges)
    return write_table(table, out_path)
