"""The summary's tables, one step per table, over the run's loaded inputs.

:func:`mec.summary.build.summarize` loads its inputs once (:func:`load_inputs`: the tidy score
tables, the dataset, the knockout tables, the bootstrap) and then runs ``TABLE_STEPS`` in
order; each step is a function ``(inputs, tables) -> DataFrame`` that may read the tables of
the steps before it. The order is the one the tables depend on (the ceiling before
predictivity, predictivity before the best layer, ...), and it is also the order in which
the bootstrap is drawn, so it is kept as it is.

:class:`SummarySettings` holds the choices of a summary that are not inputs: the Figure 2
map, the gallery sizes and the bootstrap.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from mec.data.arenas import arena_id, arena_key, arena_sort_key
from mec.summary import health
from mec.summary.corrected import ceiling_with_corrected, predictivity_with_corrected
from mec.summary.tables import (
    best_layer_table,
    by_cell_type_table,
    choose_map,
    dimensionality_table,
    figure2_long_table,
    figure2_table,
    floors_table,
    knockouts_table,
    load_knockouts,
    load_scores,
)

__all__ = ["SummarySettings", "SummaryInputs", "load_inputs", "TABLE_STEPS", "build_tables",
           "participation_ratios"]


@dataclasses.dataclass(frozen=True)
class SummarySettings:
    """The choices of a summary that are not inputs (see ``summarize`` for each).

    figure2_map: map of the Figure 2 pivot (None: "elasticnet", else "ridge", else the first
    fitted map). cells_per_animal, units_shown, max_units_scored, seed: gallery sizes;
    ``seed`` draws the units scored when a layer has more than ``max_units_scored`` units.
    bootstrap: ``{n_boot, seed}`` of the hierarchical bootstrap (config ``summary.bootstrap``;
    None: 1000 replicates, seed 0; methods §7.7).
    """

    figure2_map: str | None = None
    cells_per_animal: int = 6
    units_shown: int = 16
    max_units_scored: int = 128
    seed: int = 0
    bootstrap: Mapping | None = None


@dataclasses.dataclass
class SummaryInputs:
    """A run's inputs, loaded once: the tidy score tables (consistency, fits, floors: the
    contract's columns plus ``setting``), the raw knockout rows, the dataset (or None) with
    each arena's geometry, the model configs, the rate-map files (plus each model's
    training-box file: ``health_files``), the Figure 2 map, the bootstrap
    (mec.stats.Bootstrap) and the cells' split-half reliability (``reliability``:
    mec.fits.reliability.dataset_reliability, None without recording halves; computed once
    for every noise-corrected table, methods §7.9)."""

    consistency: pd.DataFrame
    fits: pd.DataFrame
    floors: pd.DataFrame
    knockouts: pd.DataFrame
    dataset: Any
    arenas: dict | None
    model_configs: Mapping[str, Mapping]
    ratemap_files: Mapping
    health_files: Mapping
    f2_map: str | None
    boot: Any
    reliability: pd.DataFrame | None = None


def load_inputs(consistency_csvs: Sequence, fit_csvs: Sequence, floor_csvs: Sequence,
                knockout_csvs: Sequence, dataset_path, model_configs: Mapping,
                ratemap_files: Mapping, training_box_files: Mapping | None,
                settings: SummarySettings) -> SummaryInputs:
    """Read every input of a summary (paths as ``summarize`` takes them)."""
    from mec.stats import Bootstrap

    boot = Bootstrap.from_config(settings.bootstrap)
    consistency = load_scores(consistency_csvs, "consistency")
    fits = load_scores(fit_csvs, "fit")
    floors = load_scores(floor_csvs, "floor")
    f2_map = None if fits.empty else choose_map(fits["map"].unique(), settings.figure2_map)
    dataset = None
    if dataset_path is not None:
        from mec.data import load_dataset

        dataset = load_dataset(dataset_path)
    # the arenas' geometry decides each model's condition (mec.models.conditions)
    arenas = {arena_key(a): dataset.geometry(a) for a in dataset} if dataset is not None else None
    knockouts = load_knockouts(knockout_csvs)
    # model health in each network's training box (mec.summary.health.with_training_box)
    health_files = health.with_training_box(ratemap_files, training_box_files, model_configs)
    from mec.fits.reliability import dataset_reliability

    return SummaryInputs(consistency, fits, floors, knockouts, dataset, arenas, model_configs,
                         ratemap_files, health_files, f2_map, boot,
                         dataset_reliability(dataset))


def participation_ratios(ratemap_files: Mapping[tuple[str, float], str | os.PathLike]) -> pd.DataFrame:
    """Participation ratio (methods §6) of every layer of every rate-map file.

    ratemap_files: (model, arena m) -> ``results/ratemaps/{model}_{arena}.h5``. Each file is
    read once (``mec.ratemaps.load_model_ratemaps``) and each layer's (nx, ny, n_units) maps
    go through ``mec.dimensionality.participation_ratio`` (as
    ``mec.dimensionality.ratemap_participation_ratios`` does; read here directly to record
    n_units too). Returns columns model, arena, layer, n_units, participation_ratio.
    """
    from mec.dimensionality import participation_ratio
    from mec.ratemaps import load_model_ratemaps

    rows = []
    for (model, arena), path in sorted(ratemap_files.items(),
                                       key=lambda kv: (kv[0][0], arena_sort_key(kv[0][1]))):
        maps, _edges, _attrs = load_model_ratemaps(path)
        for layer, m in maps.items():
            rows.append({"model": model, "arena": arena_id(arena), "layer": layer,
                         "n_units": int(m.shape[-1]), "participation_ratio": participation_ratio(m)})
    return pd.DataFrame(rows, columns=["model", "arena", "layer", "n_units", "participation_ratio"])


# ---------------------------------------------------------------------------------------------
# one step per table: (inputs, the tables so far) -> the table
# ---------------------------------------------------------------------------------------------
def _ceiling(i: SummaryInputs, t: dict) -> pd.DataFrame:
    # noise-corrected ceiling beside the raw one (methods §7.9), where the dataset has halves
    return ceiling_with_corrected(i.consistency, i.floors, i.reliability, bootstrap=i.boot)


def _floors(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return floors_table(i.floors, bootstrap=i.boot)


def _predictivity(i: SummaryInputs, t: dict) -> pd.DataFrame:
    # noise-corrected medians beside the raw ones (methods §7.9), where the dataset has halves
    return predictivity_with_corrected(i.fits, t["ceiling"], i.model_configs, i.arenas,
                                       i.reliability, bootstrap=i.boot)


def _best_layer(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return best_layer_table(t["predictivity"])


def _by_cell_type(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return by_cell_type_table(i.consistency, i.fits, t["best_layer"], i.floors, bootstrap=i.boot)


def _figure2_long(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return figure2_long_table(t["best_layer"], i.f2_map)


def _figure2(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return figure2_table(t["figure2_long"], "median")


def _figure2_fraction(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return figure2_table(t["figure2_long"], "fraction_of_ceiling")


def _dimensionality(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return dimensionality_table(participation_ratios(i.ratemap_files), t["predictivity"],
                                t["best_layer"], i.f2_map, i.model_configs, i.arenas)


def _knockouts(i: SummaryInputs, t: dict) -> pd.DataFrame:
    return knockouts_table(i.knockouts)


def _model_health(i: SummaryInputs, t: dict) -> pd.DataFrame:
    from mec.summary.external import external_health_table  # grid fractions of external models

    table = health.model_health_table(i.model_configs, i.health_files, t["knockouts"])
    ext = external_health_table(i.model_configs, i.ratemap_files)
    return pd.concat([table, ext], ignore_index=True) if len(ext) else table


def _comparisons(i: SummaryInputs, t: dict) -> pd.DataFrame:
    from mec.summary.comparisons import comparisons_table

    return comparisons_table(i.fits, t["best_layer"], i.floors, i.model_configs, bootstrap=i.boot)


def _seed_values(i: SummaryInputs, t: dict) -> pd.DataFrame:
    # every per-model number over seeds, the per-seed rows kept (mec.summary.seeds)
    from mec.summary.seeds import seed_values

    return seed_values(t["best_layer"], t["model_health"], i.model_configs)


def _seeds(i: SummaryInputs, t: dict) -> pd.DataFrame:
    from mec.summary.seeds import seed_spread

    return seed_spread(t["seed_values"])


def _headline(i: SummaryInputs, t: dict) -> pd.DataFrame:
    from mec.summary import headline as hl

    return hl.headline_table(t["ceiling"], t["best_layer"], hl.reliability_table(i.dataset))


#: The tables in the order they are built (each may read the ones before it).
TABLE_STEPS: tuple[tuple[str, Callable[[SummaryInputs, dict], pd.DataFrame]], ...] = (
    ("ceiling", _ceiling),
    ("floors", _floors),
    ("predictivity", _predictivity),
    ("best_layer", _best_layer),
    ("by_cell_type", _by_cell_type),
    ("figure2_long", _figure2_long),
    ("figure2", _figure2),
    ("figure2_fraction", _figure2_fraction),
    ("dimensionality", _dimensionality),
    ("knockouts", _knockouts),
    ("model_health", _model_health),
    ("comparisons", _comparisons),
    ("seed_values", _seed_values),
    ("seeds", _seeds),
    ("headline", _headline),
)


def build_tables(inputs: SummaryInputs) -> dict[str, pd.DataFrame]:
    """Every summary table (name -> DataFrame), built by ``TABLE_STEPS`` in order."""
    tables: dict[str, pd.DataFrame] = {}
    for name, step in TABLE_STEPS:
        tables[name] = step(inputs, tables)
    return tables
