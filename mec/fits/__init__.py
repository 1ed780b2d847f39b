"""Neural fits (methods §4): train/test splits, scoring any source against any target per cell,
inter-animal consistency (the noise ceiling) and model-to-data fits."""

from mec.fits.splits import STRUCTURED_SPLITS, generate_train_test_splits
from mec.fits.core import (
    TABLE_COLUMNS,
    elasticnet_kwargs_per_cell,
    fit_scores,
    interanimal_scores,
    interanimal_table,
    model_fit_table,
    model_scores,
)

__all__ = [
    "STRUCTURED_SPLITS",
    "generate_train_test_splits",
    "TABLE_COLUMNS",
    "elasticnet_kwargs_per_cell",
    "fit_scores",
    "interanimal_scores",
    "interanimal_table",
    "model_fit_table",
    "model_scores",
]
