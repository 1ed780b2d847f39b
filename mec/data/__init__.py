"""Datasets: the HDF5 contract, the embedded synthetic MEC population, real-data loaders.

``load_dataset(path)`` returns the original API's dict form (SPEC §4.1),
``dataset[arena][animal] = {"resp": (nx, ny, n_cells) Hz, "cell_ids": (n_cells,)}``,
with the bin edges and arena metadata as attributes; see :mod:`mec.data.contract`.
"""

from mec.data.contract import (ARENA_SHAPES, Dataset, DatasetError, arena_key, load_dataset,
                               save_dataset)

__all__ = ["ARENA_SHAPES", "Dataset", "DatasetError", "arena_key", "load_dataset",
           "save_dataset", "make_dataset"]


def make_dataset(out_path, source: str, arenas: dict, bin_cm: float = 5.0,
                 synthetic: dict | None = None, recordings: dict | None = None):
    """Build results/data/{name}.h5 from config ``dataset`` (what rule make_dataset runs).

    source "synthetic": simulate (mec.data.synthetic); "kavli" | "nwb" | "generic": ingest
    recordings (mec.data.loaders); "hdf5": validate a ready dataset file
    (``recordings["paths"][0]``) and write it to ``out_path``.
    """
    if source == "synthetic":
        from mec.data.synthetic import make_synthetic_dataset

        return make_synthetic_dataset(out_path, arenas=arenas, bin_cm=bin_cm, **(synthetic or {}))
    if source == "hdf5":
        paths = (recordings or {}).get("paths") or []
        if len(paths) != 1:
            raise ValueError(f"dataset.source hdf5 needs exactly one file in "
                             f"dataset.recordings.paths, got {paths!r}")
        ds = load_dataset(paths[0], arenas=[float(a) for a in arenas])
        return save_dataset(out_path, ds)
    from mec.data.loaders import ingest_dataset

    return ingest_dataset(out_path, {"source": source, "arenas": arenas, "bin_cm": bin_cm,
                                     "recordings": recordings or {}})
