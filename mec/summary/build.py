"""The summary orchestrator: ``summarize`` writes the tidy tables (CSV + Markdown) and figures
(PNG) of a run (re-exported by :mod:`mec.summary`).

``summarize`` is what the workflow's ``summarize`` rule calls. Everything it writes is
derived from the per-cell tidy tables (DESIGN example 9); nothing is hand-edited.

Missing inputs (documented policy):
- no consistency tables -> ValueError: the noise ceiling is the reference of every summary;
- no fit tables (no models configured or none fitted yet) -> a partial summary: the ceiling
  tables and figures are written, the model tables (comparisons.csv too) are written with
  their header only and summary.md says so, so the rule's declared outputs always exist;
- a model without a config entry -> its condition is "unknown" (it still gets its numbers);
- no floor tables (results/floors/{arena}.csv) -> floors and normalized scores are NaN and
  floors.csv has its header only;
- a listed file that does not exist -> FileNotFoundError naming it;
- no rate-map files -> the dimensionality table has only the fitted layers (PR NaN) and no
  dimensionality figure is drawn; no knockout tables -> knockouts.csv has its header only
  and the knockouts figure folder stays empty; model_health.csv (mec.summary.health) has
  rows only for trained networks with a rate-map file, its untrained columns empty where no
  untrained twin is configured.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from mec.data.arenas import arena_id, arena_label, arena_sort_key
from mec.summary import health
from mec.summary.steps import (
    SummaryInputs,
    SummarySettings,
    build_tables,
    load_inputs,
    participation_ratios,
)
from mec.summary.tables import (
    CEILING_SOURCES,
    CONDITIONS,
    KNOCKOUT_DIFFERENCE,
    LAYER_ORDER,
    baseline_label,
    best_layer_table,
    by_cell_type_table,
    ceiling_table,
    dimensionality_correlation,
    dimensionality_table,
    figure2_long_table,
    figure2_table,
    knockouts_table,
    load_knockouts,
    predictivity_table,
    reference_ceiling,
    to_markdown,
    training_condition,
    write_csv,
)

__all__ = [
    "summarize",
    "keys_from_paths",
    "model_of_file",
    "TABLES",
    "WORKFLOW_TABLES",
    "ceiling_table",
    "predictivity_table",
    "best_layer_table",
    "by_cell_type_table",
    "figure2_long_table",
    "figure2_table",
    "dimensionality_table",
    "dimensionality_correlation",
    "participation_ratios",
    "knockouts_table",
    "load_knockouts",
    "training_condition",
    "baseline_label",
    "to_markdown",
]

#: Tables written by ``summarize`` to ``out_dir``, each as ``{name}.csv`` and ``{name}.md``;
#: ``summary.md`` (all of them on one page) and ``figures.csv`` (the figure index) come too.
TABLES = ("headline", "ceiling", "floors", "predictivity", "best_layer", "by_cell_type",
          "figure2", "figure2_fraction", "figure2_long", "dimensionality", "knockouts",
          "model_health", "comparisons", "seeds", "seed_values")
#: The tables of the workflow's summarize rule (its declared outputs, workflow/rules/
#: summary.smk): ``TABLES`` and ``executors`` (written when ``log_dir`` is given,
#: mec.summary.job_logs). Its figure folders are ``mec.summary.figures.FIGURE_KINDS``.
WORKFLOW_TABLES = TABLES + ("executors",)

log = logging.getLogger(__name__)

_TITLES = {
    "headline": "Headline: scores between floor and ceiling, per arena and setting",
    "ceiling": "Noise ceiling (median inter-animal consistency, methods §4.3) and noise floor",
    "floors": "Noise floors: median score of each tuning-free control (mec.fits.floors)",
    "predictivity": "Model predictivity per layer (median over cells, methods §4.5)",
    "best_layer": "Best layer per model, arena and map",
    "by_cell_type": "Per cell type (grid / border / heterogeneous / other, methods §5)",
    "figure2": "Figure 2 pivot: median predictivity at the best layer (methods §4.6)",
    "figure2_fraction": "Figure 2 pivot: fraction of the noise ceiling at the best layer",
    "figure2_long": "Figure 2 cells, one row per model (traceable to the pivot)",
    "dimensionality": "Dimensionality control: participation ratio of each layer's rate maps "
                      "beside its predictivity (Figure 2 map; Schaeffer et al., methods §6)",
    "knockouts": "In-silico knockouts: decoding error (cm) with sets of grid vs heterogeneous "
                 "units zeroed",
    "model_health": "Model health: each trained network beside its untrained twin and the "
                    "paper's direction (mec.summary.health)",
    "comparisons": "Paired comparisons: difference of medians on shared cells with its 95 % "
                   "interval (paired hierarchical bootstrap, methods §7.7)",
    "seeds": "Every per-model number over its seeds: mean and 95 % t-interval (mec.summary.seeds)",
    "seed_values": "Every per-model number, one row per seed (mec.summary.seeds)",
}


def keys_from_paths(history_paths: Sequence[str | os.PathLike],
                    ratemap_paths: Sequence[str | os.PathLike],
                    models: Iterable[str]) -> tuple[dict, dict]:
    """Key the workflow's file lists by model (and arena) from the contract's file names.

    history_paths: ``.../models/{model}/history.csv`` -> {model: path};
    ratemap_paths: ``.../ratemaps/{model}_{arena}.h5`` -> {(model, arena id): path} (a seed of
    a model with seeds, ``name/seed{k}``, is ``.../models/name/seed{k}/history.csv`` and
    ``.../ratemaps/name/seed{k}_{arena}.h5``, mec.sweeps; the
    arena is the part after the last "_", contract: arena names contain no "_"; its id is a
    float for numeric names, the name for words, mec.data.arenas.arena_id).
    ``models``: the configured model names; a path naming another model raises ValueError.
    """
    models = set(models)
    histories, ratemaps = {}, {}
    for p in history_paths:
        model = _model_folder(p, models)
        if model not in models:
            raise ValueError(f"history file {p}: folder name {model!r} is not a configured model "
                             f"({sorted(models)})")
        histories[model] = str(p)
    for p in ratemap_paths:
        model, _, arena = _seed_stem(p, models).rpartition("_")
        try:
            arena_m = arena_id(arena)
        except ValueError:
            raise ValueError(f"rate-map file {p}: {arena!r} after the last '_' is not an arena "
                             "name (expected {model}_{arena}.h5)") from None
        if model not in models:
            raise ValueError(f"rate-map file {p}: {model!r} is not a configured model ({sorted(models)})")
        ratemaps[(model, arena_m)] = str(p)
    return histories, ratemaps


def _model_folder(path, models) -> str:
    """The model of ``.../{model}/file``: the last folder, or the last two (``name/seed{k}``,
    one seed of a model with seeds, mec.sweeps) when those name a configured model."""
    p = Path(path)
    two = f"{p.parent.parent.name}/{p.parent.name}"
    return two if two in models else p.parent.name


def _seed_stem(path, models) -> str:
    """The stem of ``.../{model}_{arena}.h5`` with a seed's folder in front
    (``.../{name}/seed{k}_{arena}.h5`` -> ``name/seed{k}_{arena}``) when that names a
    configured model."""
    p = Path(path)
    two = f"{p.parent.name}/{p.stem}"
    return two if two.rpartition("_")[0] in models else p.stem


def model_of_file(path, models) -> str:
    """The model a file named ``.../{model}.{ext}`` belongs to (``results/health/{model}.h5``;
    a seed's ``.../{name}/seed{k}.h5`` -> ``name/seed{k}``)."""
    p = Path(path)
    two = f"{p.parent.name}/{p.stem}"
    return two if two in set(models) else p.stem


def _write_md(text: str, path: Path) -> Path:
    from mec.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _dimensionality_notes(corr: pd.DataFrame) -> list[str]:
    lines = []
    for r in corr.itertuples(index=False):
        rho = "n/a (fewer than 3 models)" if not pd.notna(r.spearman_rho) else \
            f"{r.spearman_rho:.3f} (p = {r.p_value:.3g})"
        lines.append(f"- Dimensionality (methods §6), arena {arena_label(r.arena)}, map {r.map}: "
                     f"Spearman "
                     f"rho between participation ratio and median predictivity at the best layer, "
                     f"{r.models} ({r.n_models} models): {rho}.")
    return lines


def _knockout_notes(table: pd.DataFrame) -> list[str]:
    lines = []
    for r in table[table["group"] == KNOCKOUT_DIFFERENCE].itertuples(index=False):
        lines.append(f"- Knockouts of {r.model}: grid - heterogeneous decoding error "
                     f"{r.mean_cm:.3g} +/- {r.sem_cm:.2g} cm (mean +/- sem of {r.n_resamples} "
                     f"resamples, sets of {r.set_size} units), Welch p = {r.p_welch:.3g}.")
    return lines


def _seed_notes(spread: pd.DataFrame) -> list[str]:
    many = spread[spread["n_seeds"] > 1] if not spread.empty else spread
    if many.empty:
        return []
    models = sorted(set(many["model"]))
    return [f"- Seeds: {', '.join(models)} trained over several seeds (models named "
            "{model}/seed{k} in the other tables); seeds.csv gives each number's mean and 95 % "
            "t-interval over seeds, seed_values.csv the per-seed rows."]


def summarize(consistency_csvs: Sequence[str | os.PathLike],
              fit_csvs: Sequence[str | os.PathLike],
              history_csvs: Mapping[str, str | os.PathLike],
              model_configs: Mapping[str, Mapping],
              dataset_path: str | os.PathLike | None,
              ratemap_files: Mapping[tuple[str, float], str | os.PathLike],
              out_dir: str | os.PathLike,
              figure_dir: str | os.PathLike,
              *,
              figure2_map: str | None = None,
              cells_per_animal: int = 6,
              units_shown: int = 16,
              max_units_scored: int = 128,
              seed: int = 0,
              knockout_csvs: Sequence[str | os.PathLike] = (),
              floor_csvs: Sequence[str | os.PathLike] = (),
              log_dir: str | os.PathLike | None = None,
              training_box_files: Mapping[str, str | os.PathLike] | None = None,
              bootstrap: Mapping | None = None) -> list[Path]:
    """Write the summary tables and figures.

    The keyword settings are gathered in a :class:`mec.summary.steps.SummarySettings`; the
    inputs are read once (``load_inputs``) and the tables built one step per table
    (``mec.summary.steps.TABLE_STEPS``), then written, then the figures drawn.

    consistency_csvs: ``results/consistency/{arena}.csv`` paths (at least one).
    fit_csvs: ``results/fits/{model}_{arena}.csv`` paths (may be empty).
    history_csvs: model -> ``results/models/{model}/history.csv`` (training curves).
    model_configs: model -> its config.yaml ``models:`` entry (architecture, activation,
        loss, train_arena m, untrained, optional ``baseline: kind``, ...).
    dataset_path: the dataset HDF5 (``mec.data.load_dataset``) for the data rate-map
        galleries, or None to skip them.
    ratemap_files: (model, arena m) -> ``results/ratemaps/{model}_{arena}.h5`` for the unit
        galleries and the participation ratios of the dimensionality table
        (``mec.ratemaps.load_model_ratemaps``); may be empty.
    out_dir: gets ``{name}.csv`` and ``{name}.md`` for every name in ``TABLES``, plus
        ``summary.md`` and ``figures.csv`` (kind, model, arena, layer, path, caption).
    figure_dir: gets ``{kind}/{name}.png`` (``mec.summary.figures.figure_path``); every
        kind's folder is created even when it holds no figure.
    figure2_map: map of the Figure 2 pivot; default "elasticnet", else "ridge", else the
        first fitted map.
    cells_per_animal, units_shown, max_units_scored, seed: gallery sizes; ``seed`` draws
        the units scored when a layer has more than ``max_units_scored`` units.
    knockout_csvs: ``results/knockouts/{model}.csv`` paths (mec.models.knockouts; may be
        empty: knockouts.csv then has its header only).
    floor_csvs: ``results/floors/{arena}.csv`` paths (mec.fits.floors; may be empty: floors
        and normalized scores are then NaN). The headline (mec.summary.headline) opens
        summary.md; the per-cell figures show the paper setting.
    log_dir: ``results/logs``; if given, ``executors.csv``/``.md`` list which executor ran
        each job (local or SLURM job id, node; ``mec.summary.job_logs``).
    training_box_files: model -> ``results/health/{model}.h5``, rate maps in the model's own
        training box for the networks whose training box is not a data arena
        (mec.models.export.export_training_box_ratemaps); the model-health table and
        figure read them instead of another box's maps.
    bootstrap: ``{n_boot, seed}`` (config ``summary.bootstrap``; None: 1000 replicates,
        seed 0) of the hierarchical bootstrap that gives every median its 95 % interval and
        the paired comparisons theirs (mec.stats, mec.summary.comparisons, methods §7.7).

    Returns the list of written figure paths (also in ``figures.csv``).
    """
    settings = SummarySettings(figure2_map=figure2_map, cells_per_animal=cells_per_animal,
                               units_shown=units_shown, max_units_scored=max_units_scored,
                               seed=seed, bootstrap=bootstrap)
    if not consistency_csvs:
        raise ValueError("summarize: no consistency tables given; the inter-animal noise ceiling "
                         "(results/consistency/{arena}.csv) is needed for every summary")
    out_dir, figure_dir = Path(out_dir), Path(figure_dir)
    _make_folders(out_dir, figure_dir)
    inputs = load_inputs(consistency_csvs, fit_csvs, floor_csvs, knockout_csvs, dataset_path,
                         model_configs, ratemap_files, training_box_files, settings)
    tables = build_tables(inputs)
    correlation = dimensionality_correlation(tables["dimensionality"])
    notes = _notes(inputs, tables, correlation, log_dir, out_dir)
    _write_tables(tables, notes, correlation, inputs.fits, out_dir)
    return _write_figures(inputs, tables, correlation, history_csvs, settings, figure_dir, out_dir)


def _make_folders(out_dir: Path, figure_dir: Path) -> None:
    from mec.summary import figures as figs

    out_dir.mkdir(parents=True, exist_ok=True)
    for kind in figs.FIGURE_KINDS:
        (figure_dir / kind).mkdir(parents=True, exist_ok=True)


def _notes(inputs: SummaryInputs, tables: dict, correlation: pd.DataFrame, log_dir,
           out_dir: Path) -> list[str]:
    """The notes under the headline of summary.md; with ``log_dir``, also writes the executor
    table (mec.summary.job_logs) and notes it."""
    consistency, fits, boot = inputs.consistency, inputs.fits, inputs.boot
    notes = [
        f"- Ceiling source: {CEILING_SOURCES[0]} where present, else {CEILING_SOURCES[1]}; "
        "fraction of ceiling = model median / ceiling median of the same arena and map.",
        f"- Cells: {len(consistency)} consistency rows, {len(fits)} fit rows; "
        f"models: {', '.join(sorted(fits['source'].unique())) or 'none'}.",
        f"- Figure 2 map: {inputs.f2_map or 'none'}; conditions {', '.join(CONDITIONS)} (methods §2.3); "
        "models sharing a cell are told apart in the variant column.",
        f"- Intervals (ci_low, ci_high, *_ci_*): 95 % percentile intervals of a hierarchical "
        f"bootstrap (animals, then cells within them; {boot.n_boot} replicates, seed "
        f"{boot.seed}; methods §7.7); the Figure 2 pivots' are in figure2_long.",
    ]
    if inputs.dataset is not None:  # zero-variance cells, kept (NaN) or dropped (mec.data.constant_cells)
        from mec.data.constant_cells import constant_cell_note

        notes.append(constant_cell_note(inputs.dataset))
    if fits.empty:
        notes.append("- No model fits yet: only the noise ceiling is summarised; the model "
                     "tables are empty.")
    notes += _dimensionality_notes(correlation)
    notes += _knockout_notes(tables["knockouts"])
    if tables["knockouts"].empty:
        notes.append("- No knockout experiments (config knockouts.models is empty).")
    notes += health.health_notes(tables["model_health"], inputs.model_configs)
    notes += _seed_notes(tables["seeds"])

    if log_dir is not None:  # which executor ran each job (mec.summary.job_logs)
        from mec.summary.job_logs import write_executor_table

        notes.append(write_executor_table(log_dir, out_dir))
    return notes


def _write_tables(tables: dict, notes: list[str], correlation: pd.DataFrame, fits: pd.DataFrame,
                  out_dir: Path) -> None:
    """``{name}.csv`` and ``{name}.md`` for every name in ``TABLES``, and summary.md."""
    from mec.summary import headline as hl

    en_paper_only = "elasticnet" in set(fits["map"]) and set(fits["setting"]) != {"paper"}
    page = ["# Summary", "", hl.headline_markdown(tables["headline"], en_paper_only,
                                                  tables["comparisons"], tables["seeds"]),
            *notes, ""]
    for name in TABLES:
        df = tables[name]
        write_csv(df, out_dir / f"{name}.csv")
        md = to_markdown(df)
        if name == "dimensionality" and not correlation.empty:
            md += ("\nSpearman correlation between participation ratio and median predictivity "
                   "across models at their best layer:\n\n" + to_markdown(correlation))
        _write_md(f"# {_TITLES[name]}\n\n{md}", out_dir / f"{name}.md")
        if name == "comparisons":  # every pair grows as models squared: the page keeps the
            # twins and floors and counts the rest (all in comparisons.md / .csv)
            others = df["kind"] == "model_vs_model"
            md = to_markdown(df[~others]) + (
                f"\n{int(others.sum())} model-vs-model rows ({int(df.loc[others, 'resolved'].sum())} "
                "resolved) are in comparisons.csv and comparisons.md.\n" if others.any() else "")
        if name != "headline":  # already at the top of the page
            page += [f"## {_TITLES[name]}", "", md]
        log.info("wrote %s (%d rows) and its .md", out_dir / f"{name}.csv", len(df))
    _write_md("\n".join(page), out_dir / "summary.md")


def _write_figures(inputs: SummaryInputs, tables: dict, correlation: pd.DataFrame,
                   history_csvs: Mapping, settings: SummarySettings, figure_dir: Path,
                   out_dir: Path) -> list[Path]:
    """Every figure, one kind after the other, and their index figures.csv."""
    from mec.summary import headline as hl

    index: list[dict] = []

    def add(kind, path, model=None, arena=None, layer=None):
        index.append({"kind": kind, "model": model or "", "arena": arena, "layer": layer or "",
                      "path": str(path), "caption": f"workflow/report/{kind}.rst"})
        log.info("wrote %s", path)

    out = hl.headline_figure(tables["headline"], hl.headline_figure_path(figure_dir))
    add("headline", out)
    # The per-cell figures below show the paper setting (the headline has both).
    consistency, fits = (d[d["setting"] == "paper"] for d in (inputs.consistency, inputs.fits))
    _ratemap_figures(inputs, settings, figure_dir, add)
    _score_figures(consistency, fits, tables, history_csvs, figure_dir, add)
    _control_figures(inputs, tables, correlation, figure_dir, add)
    write_csv(pd.DataFrame(index, columns=["kind", "model", "arena", "layer", "path", "caption"]),
              out_dir / "figures.csv")
    return [Path(r["path"]) for r in index]


def _ratemap_figures(inputs: SummaryInputs, settings: SummarySettings, figure_dir: Path, add) -> None:
    """The data rate-map galleries (one per arena) and the unit galleries (one per model, arena
    and layer)."""
    from mec.summary import figures as figs

    dataset = inputs.dataset
    if dataset is not None:
        edges_of = getattr(dataset, "edges", {}) or {}
        for arena in sorted(dataset, key=arena_sort_key):
            out = figs.figure_path(figure_dir, "data_ratemaps", arena=arena)
            figs.data_ratemap_gallery(dataset, arena, out, edges=edges_of.get(arena),
                                      n_per_animal=settings.cells_per_animal)
            add("data_ratemaps", out, arena=arena_id(arena))

    if inputs.ratemap_files:
        from mec.ratemaps import load_model_ratemaps

        order = {l: i for i, l in enumerate(LAYER_ORDER)}
        for (model, arena), path in sorted(inputs.ratemap_files.items(),
                                           key=lambda kv: (kv[0][0], arena_sort_key(kv[0][1]))):
            maps, edges, _attrs = load_model_ratemaps(path)
            for layer in sorted(maps, key=lambda l: (order.get(l, len(order)), l)):
                out = figs.figure_path(figure_dir, "unit_gallery", model=model, arena=arena, layer=layer)
                figs.unit_gallery(maps[layer], out, edges=edges, n_show=settings.units_shown,
                                  max_scored=settings.max_units_scored, seed=settings.seed,
                                  title=f"{model}, arena {arena_label(arena)}, layer {layer}")
                add("unit_gallery", out, model, arena_id(arena), layer)


def _score_figures(consistency: pd.DataFrame, fits: pd.DataFrame, tables: dict,
                   history_csvs: Mapping, figure_dir: Path, add) -> None:
    """Per model and arena the predictivity scatter, per arena the score distributions, per
    model the training curves (the paper setting's scores)."""
    from mec.summary import figures as figs

    best = tables["best_layer"]
    for model, arena in sorted(set(zip(fits["source"], fits["arena"])),
                               key=lambda ma: (ma[0], arena_sort_key(ma[1]))):
        out = figs.figure_path(figure_dir, "scatter", model=model, arena=arena)
        figs.predictivity_scatter(fits, consistency, best, model, arena, out)
        add("scatter", out, model, arena_id(arena))

    for arena in sorted(set(consistency["arena"]) | set(fits["arena"]), key=arena_sort_key):
        out = figs.figure_path(figure_dir, "distributions", arena=arena)
        figs.score_distributions(fits, consistency, best, arena, out, ceiling=tables["ceiling"])
        add("distributions", out, arena=arena_id(arena))

    for model, path in sorted(history_csvs.items()):
        out = figs.figure_path(figure_dir, "training", model=model)
        figs.training_curves(path, out, title=model)
        add("training", out, model)


def _control_figures(inputs: SummaryInputs, tables: dict, correlation: pd.DataFrame,
                     figure_dir: Path, add) -> None:
    """The dimensionality scatters (per arena), the knockout plots (per model) and the model
    health figures."""
    from mec.summary import figures as figs

    dim, f2_map = tables["dimensionality"], inputs.f2_map
    if not dim.empty and f2_map is not None:
        ceil = tables["ceiling"]
        ref = reference_ceiling(ceil[ceil["setting"] == "paper"], ["arena", "map"])
        ref = ref.set_index(["arena", "map"])["ceiling"]
        for arena in sorted(set(dim["arena"]), key=arena_sort_key):
            out = figs.figure_path(figure_dir, "dimensionality", arena=arena)
            ceiling = ref.get((arena, f2_map), float("nan"))
            if figs.dimensionality_scatter(dim, arena, out, ceiling=ceiling, correlation=correlation):
                add("dimensionality", out, arena=arena_id(arena))

    knockouts = inputs.knockouts
    for model in sorted(set(knockouts["model"])):
        out = figs.figure_path(figure_dir, "knockouts", model=model)
        figs.knockout_plot(knockouts[knockouts["model"] == model], out, tables["knockouts"])
        add("knockouts", out, model)

    for model, arena, out in health.health_figures(inputs.model_configs, inputs.health_files,
                                                    figure_dir):
        add("model_health", out, model, arena_id(arena))
