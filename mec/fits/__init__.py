"""Neural fits (SPEC 4): train/test splits, scoring any source against any target per cell,
inter-animal consistency (the noise ceiling) and model-to-data fits."""

from mec.fits.splits import STRUCTURED_SPLITS, generate_train_test_splits

__all__ = ["STRUCTURED_SPLITS", "generate_train_test_splits"]
