"""Datasets: the HDF5 contract, the embedded synthetic MEC population, real-data loaders.

``load_dataset(path)`` returns the original API's dict form (methods §4.1),
``dataset[arena][animal] = {"resp": (nx, ny, n_cells) Hz, "cell_ids": (n_cells,)}``,
with the bin edges and arena metadata as attributes; see :mod:`mec.data.contract`.
"""

from mec.data.arenas import ArenaGeometry, arena_geometry, arena_id
from mec.data.contract import (ARENA_SHAPES, Dataset, DatasetError, arena_key, load_dataset,
                               save_dataset)

__all__ = ["ARENA_SHAPES", "ArenaGeometry", "Dataset", "DatasetError", "arena_geometry",
           "arena_id", "arena_key", "load_dataset", "save_dataset", "make_dataset"]


def make_dataset(out_path, source: str, arenas: dict, bin_cm: float = 5.0,
                 synthetic: dict | None = None, recordings: dict | None = None,
                 base_dir=None, name: str | None = None, constant_cells: str = "keep"):
    """Build results/data/{name}.h5 from config ``dataset`` (what rule make_dataset runs).

    source "synthetic": simulate (mec.data.synthetic); "kavli" | "nwb" | "generic": ingest
    recordings (mec.data.loaders); "hdf5": validate a ready dataset file
    (``recordings["paths"][0]``) and write it to ``out_path``. Relative recording paths are
    taken relative to ``base_dir`` (default: the working directory).

    Every arena must hold at least two animals (the noise ceiling needs them): ValueError
    naming the arena and its animal otherwise, before any model is trained. Logs the
    dataset's description (:func:`mec.data.report.describe_dataset`) at INFO.
    Cells with a constant rate map are named and kept or dropped (``constant_cells``, config
    ``dataset.constant_cells``; :mod:`mec.data.constant_cells`).
    """
    import logging

    from mec.data.report import check_animals, describe_dataset

    log = logging.getLogger(__name__)
    if source == "synthetic":
        from mec.data.synthetic import make_synthetic_dataset

        out = make_synthetic_dataset(out_path, arenas=arenas, bin_cm=bin_cm, **(synthetic or {}))
    elif source == "hdf5":
        from pathlib import Path

        paths = (recordings or {}).get("paths") or []
        if len(paths) != 1:
            raise ValueError(f"dataset.source hdf5 needs exactly one file in "
                             f"dataset.recordings.paths, got {paths!r}")
        path = Path(paths[0])
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        ds = load_dataset(path, arenas=list(arenas))
        check_animals(ds, where=f"dataset file {path}")
        for name, spec in arenas.items():  # the file's geometry is the one used: say so
            want, have = arena_geometry(name, spec or {}), ds.geometry(name)
            if (want.shape, want.width, want.height) != (have.shape, have.width, have.height):
                raise ValueError(f"config dataset.arenas.{name}: {want.describe()}, but the "
                                 f"dataset file {path} has a {have.describe()}")
        out = save_dataset(out_path, ds)
    else:
        from mec.data.loaders import ingest_dataset

        cfg = {"source": source, "arenas": arenas, "bin_cm": bin_cm,
               "recordings": recordings or {}}
        if name is not None:
            cfg["name"] = name
        out = ingest_dataset(out_path, cfg, base_dir=base_dir)
    from mec.data.constant_cells import check_constant_cells

    check_constant_cells(out, constant_cells, log)
    for line in describe_dataset(load_dataset(out), out):
        log.info("%s", line)
    return out
