"""Datasets: the HDF5 contract, the embedded synthetic MEC population, real-data loaders.

``load_dataset(path)`` returns the original API's dict form (SPEC §4.1),
``dataset[arena][animal] = {"resp": (nx, ny, n_cells) Hz, "cell_ids": (n_cells,)}``,
with the bin edges and arena metadata as attributes; see :mod:`mec.data.contract`.
"""

from mec.data.contract import (ARENA_SHAPES, Dataset, DatasetError, arena_key, load_dataset,
                               save_dataset)

__all__ = ["ARENA_SHAPES", "Dataset", "DatasetError", "arena_key", "load_dataset",
           "save_dataset"]
