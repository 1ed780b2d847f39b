"""Summaries of the pipeline: tidy tables (CSV + Markdown) and figures (PNG).

``summarize`` (:mod:`mec.summary.build`, where the policy on missing inputs is written) is
what the workflow's ``summarize`` rule calls; the tables are built in
:mod:`mec.summary.tables`, the figures in :mod:`mec.summary.figures` (imported on use, so
``import mec.summary`` stays light).
"""

# The package's names are build's (which imports the table builders it re-exports): one list.
from mec.summary import build as _build
from mec.summary.build import *  # noqa: F401,F403

__all__ = list(_build.__all__)
