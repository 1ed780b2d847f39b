"""Model health of external models (mec.models.external): what can be measured without a
trained network.

An external model has no training, no decoder and no untrained twin, so of the model-health
measures (mec.summary.health) only the grid fractions of its rate maps exist: the share of
its live units (all layers pooled) whose grid score is above GRID_THRESHOLD (0.3, methods §5),
under the project's scorer (adaptive rings) and the mean-form scorer (fixed rings). The
measures that need training (mec.models.external.UNTRAINED_MEASURES: decoding error,
knockouts, training curves) get a row each with no value, named in ``expected``, so that a
reader sees they were not measured rather than missing. Rows come from the model's first
arena (mec.data.arenas order), given in the ``arena`` column.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["external_health_table", "NOT_MEASURED"]

#: ``expected`` of a measure an external model cannot have.
NOT_MEASURED = "needs a trained network: not measured"


def external_health_table(model_configs: Mapping[str, Mapping],
                          ratemap_files: Mapping[tuple[str, float], str | os.PathLike]) -> pd.DataFrame:
    """Model-health rows (mec.summary.health.HEALTH_COLUMNS) of every external model with a
    rate-map file (module docstring)."""
    from mec.data.arenas import arena_id, arena_sort_key
    from mec.models.external import UNTRAINED_MEASURES, is_external
    from mec.models.knockouts import silent_units  # numpy only at import
    from mec.ratemaps import load_model_ratemaps
    from mec.scores import GRID_THRESHOLD, grid_scores
    from mec.summary.health import HEALTH_COLUMNS

    rows = []
    for model in sorted(m for m, c in model_configs.items() if is_external(c)):
        mine = sorted(((arena_id(a), p) for (m, a), p in ratemap_files.items() if m == model),
                      key=lambda item: arena_sort_key(item[0]))
        if not mine:
            continue
        arena, path = mine[0]
        maps, _, _ = load_model_ratemaps(path)
        units = np.concatenate([m for m in maps.values()], axis=-1)
        live = ~silent_units(units)
        for measure, mode in (("grid_fraction_adaptive", "adaptive"), ("grid_fraction_mean_form", "mean")):
            value = np.nan
            if live.any():
                with np.errstate(invalid="ignore"):
                    value = float(np.mean(grid_scores(units[:, :, live], mode=mode) > GRID_THRESHOLD))
            rows.append({"model": model, "untrained_twin": "", "arena": arena, "measure": measure,
                         "trained": value, "untrained": np.nan, "p_value": np.nan,
                         "expected": "", "agrees": None})
        for measure in UNTRAINED_MEASURES:
            rows.append({"model": model, "untrained_twin": "", "arena": arena, "measure": measure,
                         "trained": np.nan, "untrained": np.nan, "p_value": np.nan,
                         "expected": NOT_MEASURED, "agrees": None})
    out = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    out["agrees"] = out["agrees"].astype(object)
    return out
