"""The dataset contract: one HDF5 file per dataset, read into the original's dict form.

Layout (format ``mec-dataset``, version 1)::

    /                               attrs: format="mec-dataset", format_version=1, name,
                                           source ("synthetic", "kavli", "nwb", ...),
                                           mec_version, provenance (JSON string)
    /arenas/{arena}/                group per arena; {arena} = its name: a size in metres
                                    ("1.0", "2.2") or a word ("wide"); see mec.data.arenas
        attrs: shape ("square" | "rectangle" | "circle"), width, height (float, m; a
               circle's diameter for both), size (square side / circle diameter; absent
               for rectangles), bins (optional [nx, ny] when asked for instead of bin_cm)
        x_edges (nx+1,) float64     bin edges along x in metres, finite, increasing; they
        y_edges (ny+1,) float64     span the arena's width / height (within 10 %)
        animals/{animal}/           one group per animal (at least one per arena)
            resp (nx, ny, n_cells)  rate maps in Hz, never negative; NaN = bin outside the
                                    arena or outside the session's recorded box
            cell_ids (n_cells,)     unique (within the arena) byte strings
            cell_types (n_cells,)   optional: "grid", "border", "head_direction",
                                    "heterogeneous", "weakly_spatial", ...
            truth/resp              optional: noise-free maps (synthetic data only)
            cell_info/{name}        optional per-cell columns (n_cells,), e.g. grid_score,
                                    reliability (within-animal, mec.ratemaps)
            spike_counts (nx, ny, n_cells)  optional: spikes per bin the rate maps were made
                                    from (after speed / occupancy filters)
            occupancy (nx, ny, k)   optional (with spike_counts): seconds per bin of each
                                    of k sessions; occupancy_index (n_cells,) int says which
                                    one each cell was recorded in (absent: k = 1)
            halves/spike_counts (2, nx, ny, n_cells)  optional (with spike_counts): the
                                    counts of the two recording halves (alternating time
                                    chunks, methods §7.8); they add up to spike_counts
            halves/occupancy (2, nx, ny, k)  seconds per bin of each half, per session as
                                    occupancy (same occupancy_index); they add up to it
        attrs (arena, optional): recipe - JSON of the mec.ratemaps.Recipe that made ``resp``

The optional parts (methods §7.2, §7.3) let the fits rebuild the maps with another recipe and make
noise controls; files without them still load (recipe None: not recorded). The halves (file
attribute ``halves_chunk_s``: the chunk length in seconds) feed the halves setting
(mec.fits.halves); a file without them loads, and the halves setting refuses it, saying how
to remake it.

:func:`load_dataset` returns a :class:`Dataset`: a dict in the original API's form
(methods §4.1) ``dataset[arena][animal] = {"resp": ..., "cell_ids": ..., "cell_types": ...}``
with float arena keys for numeric names (``dataset[1.0]``) and string keys for word names
(``dataset["wide"]``), plus the attributes ``edges``, ``arenas``, ``attrs``, ``truth`` and
``cell_info``. Any spelling of an arena finds it (``dataset["1.0"] is dataset[1.0]``).
Every check failure raises one :class:`DatasetError` naming the file, the
arena, the animal and the problem. :class:`Dataset` and the checks (:func:`validate`) live in
:mod:`mec.data.dataset` and are re-exported here; this module reads and writes the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from mec.data.arenas import ArenaGeometry, ArenaNameError, arena_id, geometry_from_attrs
# The in-memory form and its checks live in mec.data.dataset; re-exported here, where the
# pipeline, the tests and users import them.
from mec.data.dataset import (  # noqa: F401
    ARENA_SHAPES,
    FORMAT,
    FORMAT_VERSION,
    REMAKE,
    ArenaDict,
    Dataset,
    DatasetError,
    _fail,
    arena_key,
    occupancy_sessions,
    validate,
)

__all__ = ["Dataset", "DatasetError", "ArenaDict", "load_dataset", "save_dataset", "arena_key",
           "arena_id", "dataset_animals", "FORMAT", "FORMAT_VERSION", "ARENA_SHAPES"]

def save_dataset(path: str | os.PathLike, dataset: Mapping, edges: Mapping | None = None,
                 arenas: Mapping | None = None, attrs: Mapping | None = None,
                 truth: Mapping | None = None, cell_info: Mapping | None = None) -> Path:
    """Validate and write a dataset to HDF5 atomically (layout in the module docstring).

    dataset: ``{arena: {animal: {"resp", "cell_ids", ["cell_types"]}}}``; edges, arenas,
    truth and cell_info as in :class:`Dataset` (taken from ``dataset`` itself when it is a
    Dataset and they are not given); attrs: file attributes (name, source, provenance...;
    non-string values other than numbers are stored as JSON).
    """
    from mec import __version__
    from mec.io import atomic_hdf5

    if isinstance(dataset, Dataset):
        edges = edges if edges is not None else dataset.edges
        arenas = arenas if arenas is not None else dataset.arenas
        attrs = attrs if attrs is not None else dataset.attrs
        truth = truth if truth is not None else dataset.truth
        cell_info = cell_info if cell_info is not None else dataset.cell_info
    extra = {k: getattr(dataset, k, None) for k in ("recipes", "spike_counts", "occupancy",
                                                     "half_counts", "half_occupancy")}
    try:
        ds = Dataset(dataset, edges=edges, arenas=arenas, attrs=attrs, truth=truth,
                     cell_info=cell_info, **extra)
    except ArenaNameError as err:
        raise _fail(path, str(err)) from None
    validate(ds, path)
    with atomic_hdf5(path) as f:  # built in memory: a full disk is a clean error (mec.io)
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["mec_version"] = __version__
        for k, v in (ds.attrs or {}).items():
            if k in ("format", "format_version", "mec_version"):
                continue
            f.attrs[k] = v if isinstance(v, (str, int, float, np.number)) else json.dumps(v)
        for arena, animals in ds.items():
            g = f.create_group(f"arenas/{arena_key(arena)}")
            for k, v in ds.geometry(arena).attrs().items():
                g.attrs[k] = v
            g.create_dataset("x_edges", data=np.asarray(ds.edges[arena][0], dtype=float))
            g.create_dataset("y_edges", data=np.asarray(ds.edges[arena][1], dtype=float))
            if ds.recipes.get(arena) is not None:
                from mec.ratemaps import get_recipe

                g.attrs["recipe"] = get_recipe(ds.recipes[arena]).to_json()
            for animal, rec in animals.items():
                a = g.create_group(f"animals/{animal}")
                a.create_dataset("resp", data=np.asarray(rec["resp"], dtype=np.float64),
                                 compression="gzip", compression_opts=4)
                a.create_dataset("cell_ids", data=np.asarray(rec["cell_ids"]).astype("S"))
                if rec.get("cell_types") is not None:
                    a.create_dataset("cell_types",
                                     data=np.asarray(rec["cell_types"]).astype("S"))
                true = ds.truth.get(arena, {}).get(animal)
                if true is not None:
                    a.create_dataset("truth/resp", data=np.asarray(true, dtype=np.float64),
                                     compression="gzip", compression_opts=4)
                counts = ds.spike_counts.get(arena, {}).get(animal)
                if counts is not None:
                    occ, index = occupancy_sessions(ds.occupancy[arena][animal])
                    a.create_dataset("spike_counts", data=np.asarray(counts, np.float64),
                                     compression="gzip", compression_opts=4)
                    a.create_dataset("occupancy", data=occ, compression="gzip",
                                     compression_opts=4)
                    a.create_dataset("occupancy_index", data=index.astype(np.int64))
                    halves = ds.half_counts.get(arena, {}).get(animal)
                    if halves is not None:
                        # one time map per session and half, as occupancy (same index)
                        ho = np.asarray(ds.half_occupancy[arena][animal], np.float64)
                        first = np.array([int(np.flatnonzero(index == k)[0])
                                          for k in range(occ.shape[-1])], dtype=np.int64)
                        a.create_dataset("halves/spike_counts",
                                         data=np.asarray(halves, np.float64),
                                         compression="gzip", compression_opts=4)
                        a.create_dataset("halves/occupancy", data=ho[..., first],
                                         compression="gzip", compression_opts=4)
                for col, values in ds.cell_info.get(arena, {}).get(animal, {}).items():
                    values = np.asarray(values)
                    a.create_dataset(f"cell_info/{col}", data=values.astype("S")
                                     if values.dtype.kind in "UO" else values)
    return Path(path)


def load_dataset(path: str | os.PathLike, arenas=None) -> Dataset:
    """Read and validate a dataset file; see the module docstring for the layout.

    arenas: optional list of arena sizes (m) to read; default all. Returns a
    :class:`Dataset` with float arena keys. Raises :class:`DatasetError` (a ValueError)
    naming the file, arena, animal and problem, or FileNotFoundError.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset file {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _fail(path, f"not a readable HDF5 file ({err}); if the workflow made it, "
                          f"{REMAKE}") from None
    try:
        with f:
            ds = _read(f, path, arenas)
    except (OSError, KeyError) as err:
        # a file that opens but whose data cannot be read (truncated, corrupt chunks) or an
        # object the layout needs that is not where it should be
        raise _fail(path, f"unreadable ({type(err).__name__}: {err}); if the workflow made "
                          f"it, {REMAKE}") from None
    return validate(ds, path)


def dataset_animals(path: str | os.PathLike, arena) -> list[str]:
    """Animal names of one arena of a dataset file, sorted (names only: cheap).

    What the workflow plans the per-animal jobs from. DatasetError naming the file when it is
    not a readable dataset file or lacks the arena; FileNotFoundError when it does not exist.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise _fail(path, f"not a {FORMAT} file (attribute 'format' is "
                                  f"{f.attrs.get('format')!r}); {REMAKE}")
            group = f.get(f"arenas/{arena_key(arena)}/animals")
            if group is None:
                have = sorted(f["arenas"]) if "arenas" in f else []
                raise _fail(path, f"arena {arena_key(arena)} has no animals in this file (arenas "
                                  f"in it: {have}); was it made with another config? {REMAKE}")
            return sorted(group)
    except OSError as err:
        raise _fail(path, f"not a readable HDF5 file ({err}); {REMAKE}") from None


def _read(f, path: Path, arenas) -> Dataset:
    """The contents of an open dataset file (checked by the caller, validate)."""
    if f.attrs.get("format") != FORMAT:
        raise _fail(path, f"not a {FORMAT} file (attribute 'format' is "
                          f"{f.attrs.get('format')!r})")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise _fail(path, f"format_version {version} is not supported "
                          f"(this mec reads {FORMAT_VERSION})")
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    if "arenas" not in f or not len(f["arenas"]):
        raise _fail(path, "no arenas")
    wanted = None if arenas is None else {arena_key(a) for a in arenas}
    ds = Dataset(attrs=attrs)
    for key, g in f["arenas"].items():
        if wanted is not None and arena_key(key) not in wanted:
            continue
        try:
            arena = arena_id(key)
            geom = geometry_from_attrs(key, dict(g.attrs))
        except (ArenaNameError, ValueError, TypeError) as err:
            raise _fail(path, f"geometry attributes: {err}", key) from None
        for name in ("x_edges", "y_edges"):
            if name not in g:
                raise _fail(path, f"missing {name}", key)
        ds.edges[arena] = (g["x_edges"][()], g["y_edges"][()])
        ds.arenas[arena] = _arena_info(geom)
        if "recipe" in g.attrs:
            from mec.ratemaps import recipe_from_json

            try:
                ds.recipes[arena] = recipe_from_json(g.attrs["recipe"])
            except ValueError as err:
                raise _fail(path, str(err), key) from None
        ds[arena] = {}
        if "animals" not in g or not len(g["animals"]):
            raise _fail(path, "no animals (need at least one per arena)", key)
        for animal, a in g["animals"].items():
            for name in ("resp", "cell_ids"):
                if name not in a:
                    raise _fail(path, f"missing {name}", key, animal)
            rec = {"resp": a["resp"][()], "cell_ids": a["cell_ids"][()].astype(str)}
            if "cell_types" in a:
                rec["cell_types"] = a["cell_types"][()].astype(str)
            ds[arena][animal] = rec
            if "truth" in a and "resp" in a["truth"]:
                ds.truth.setdefault(arena, {})[animal] = a["truth/resp"][()]
            if "spike_counts" in a or "occupancy" in a:
                _read_counts(ds, a, arena, animal, path, key)
            if "cell_info" in a:
                ds.cell_info.setdefault(arena, {})[animal] = {
                    k: (v[()].astype(str) if v.dtype.kind == "S" else v[()])
                    for k, v in a["cell_info"].items()}
    if wanted is not None:
        missing = sorted(wanted - {arena_key(a) for a in ds})
        if missing:
            raise _fail(path, f"arena(s) {missing} not in file (has {sorted(f['arenas'])})")
    return ds


def _arena_info(geom: ArenaGeometry) -> dict:
    """The ``Dataset.arenas`` entry of a geometry."""
    info = {"shape": geom.shape, "width": geom.width, "height": geom.height}
    if geom.size is not None:
        info["size"] = geom.size
    if geom.bins is not None:
        info["bins"] = list(geom.bins)
    return info


def _read_counts(ds: Dataset, a, arena, animal, path, key) -> None:
    """Read spike_counts / occupancy / occupancy_index of one animal into ``ds``."""
    if "spike_counts" not in a or "occupancy" not in a:
        raise _fail(path, "spike_counts and occupancy come together; only one is stored",
                    key, animal)
    counts = a["spike_counts"][()]
    occ = a["occupancy"][()]
    halves = a.get("halves")
    n = counts.shape[-1] if counts.ndim == 3 else -1
    index = a["occupancy_index"][()] if "occupancy_index" in a else np.zeros(max(n, 0), np.int64)
    if occ.ndim != 3 or counts.ndim != 3 or index.shape != (n,) or \
            (index.size and (index.min() < 0 or index.max() >= occ.shape[-1])):
        raise _fail(path, f"occupancy {occ.shape} with occupancy_index {index.shape} does not "
                          f"give one session per cell of spike_counts {counts.shape}", key, animal)
    ds.spike_counts.setdefault(arena, {})[animal] = counts
    ds.occupancy.setdefault(arena, {})[animal] = occ[:, :, index]
    if halves is not None:
        if "spike_counts" not in halves or "occupancy" not in halves:
            raise _fail(path, "halves/spike_counts and halves/occupancy come together; only "
                              "one is stored", key, animal)
        hc, ho = halves["spike_counts"][()], halves["occupancy"][()]
        if ho.ndim != 4 or ho.shape[:1] != (2,) or ho.shape[-1] != occ.shape[-1]:
            raise _fail(path, f"halves/occupancy {ho.shape} does not give two halves of each "
                              f"of the {occ.shape[-1]} session(s) of occupancy {occ.shape}",
                        key, animal)
        ds.half_counts.setdefault(arena, {})[animal] = hc
        ds.half_occupancy.setdefault(arena, {})[animal] = ho[..., index]


def _str(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
