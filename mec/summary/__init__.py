"""Summaries of the pipeline: tidy tables (CSV + Markdown) and figures (PNG).

``summarize`` (:mod:`mec.summary.build`, where the policy on missing inputs is written) is
what the workflow's ``summarize`` rule calls; the tables are built in
:mod:`mec.summary.tables`, the figures in :mod:`mec.summary.figures` (imported on use, so
``import mec.summary`` stays light).
"""

from mec.summary.build import (
    TABLES,
    WORKFLOW_TABLES,
    keys_from_paths,
    participation_ratios,
    summarize,
)
from mec.summary.tables import (
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
    to_markdown,
    training_condition,
)

__all__ = [
    "summarize",
    "keys_from_paths",
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
