# Long because: the dataset contract is one format (types, validation, save and load read the same
# layout); next seam: save/load.
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

The optional parts (issue 13) let the fits rebuild the maps with another recipe and make
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
arena, the animal and the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from mec.data.arenas import (ARENA_SHAPES, EDGE_SPAN_TOLERANCE, ArenaGeometry, ArenaNameError,
                              arena_id, geometry_from_attrs)
from mec.data.arenas import arena_key as _arena_key

__all__ = ["Dataset", "DatasetError", "ArenaDict", "load_dataset", "save_dataset", "arena_key",
           "arena_id", "dataset_animals", "FORMAT", "FORMAT_VERSION", "ARENA_SHAPES"]

#: What to do about a dataset file of the workflow that cannot be read.
REMAKE = "delete it and run the workflow again to remake it (rule make_dataset)"

FORMAT = "mec-dataset"
FORMAT_VERSION = 1


class DatasetError(ValueError):
    """A dataset file or dict breaks the contract; the message says where and how."""


def arena_key(arena: float | str) -> str:
    """The canonical text form of an arena name: ``1`` -> ``"1.0"``, ``"wide"`` -> ``"wide"``
    (:func:`mec.data.arenas.arena_key`); DatasetError for something that is not a name."""
    try:
        return _arena_key(arena)
    except ArenaNameError as err:
        raise DatasetError(str(err)) from None


def _id_or_keyerror(key):
    try:
        return arena_id(key)
    except (ArenaNameError, TypeError):
        raise KeyError(key) from None


class ArenaDict(dict):
    """A dict keyed by arena (:func:`mec.data.arenas.arena_id`): ``d["1.0"]``, ``d[1.0]`` and
    ``d[1]`` are the same entry; word names are string keys."""

    def __init__(self, data=None):
        super().__init__()
        for k, v in dict(data or {}).items():
            self[k] = v

    def __getitem__(self, key):
        return super().__getitem__(_id_or_keyerror(key))

    def __setitem__(self, key, value):
        super().__setitem__(arena_id(key), value)

    def __delitem__(self, key):
        super().__delitem__(_id_or_keyerror(key))

    def __contains__(self, key):
        try:
            return super().__contains__(arena_id(key))
        except (ArenaNameError, TypeError):
            return False

    def get(self, key, default=None):
        return self[key] if key in self else default

    def setdefault(self, key, default=None):
        return super().setdefault(arena_id(key), default)

    def pop(self, key, *default):
        try:
            key = arena_id(key)
        except (ArenaNameError, TypeError):
            if default:
                return default[0]
            raise KeyError(key) from None
        return super().pop(key, *default)

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self[k] = v


class Dataset(ArenaDict):
    """``dataset[arena][animal] = {"resp", "cell_ids", ["cell_types"]}`` plus metadata.

    Keys are arena ids (float for numeric names, str for word names; any spelling finds
    an arena, see :class:`ArenaDict`).

    Attributes:
        edges: ``{arena: (x_edges (nx+1,), y_edges (ny+1,))}`` in metres.
        arenas: ``{arena: {"shape": "square" | "rectangle" | "circle", "width": m,
            "height": m, "size": m (squares and circles)}}``; :meth:`geometry` gives the
            :class:`mec.data.arenas.ArenaGeometry`.
        attrs: file-level attributes (name, source, provenance, ...).
        truth: ``{arena: {animal: (nx, ny, n_cells) noise-free maps}}`` where stored.
        cell_info: ``{arena: {animal: {column: (n_cells,) array}}}`` where stored.
        recipes: ``{arena: mec.ratemaps.Recipe}`` that made ``resp``, where recorded.
        spike_counts: ``{arena: {animal: (nx, ny, n_cells) spikes per bin}}`` where stored.
        occupancy: ``{arena: {animal: (nx, ny, n_cells) seconds per bin}}``, each cell's own
            session (stored once per session in the file), where stored.
        half_counts, half_occupancy: ``{arena: {animal: (2, nx, ny, n_cells)}}``, the same of
            the two recording halves (methods §7.8), where stored; ``attrs["halves_chunk_s"]``
            the chunk length (s).
    """

    def __init__(self, data=None, *, edges=None, arenas=None, attrs=None, truth=None,
                 cell_info=None, recipes=None, spike_counts=None, occupancy=None,
                 half_counts=None, half_occupancy=None):
        super().__init__(data or {})
        self.edges = ArenaDict(edges)
        self.arenas = ArenaDict(arenas)
        self.attrs = dict(attrs or {})
        self.truth = ArenaDict(truth)
        self.cell_info = ArenaDict(cell_info)
        self.recipes = ArenaDict(recipes)
        self.spike_counts = ArenaDict(spike_counts)
        self.occupancy = ArenaDict(occupancy)
        self.half_counts = ArenaDict(half_counts)
        self.half_occupancy = ArenaDict(half_occupancy)

    def geometry(self, arena) -> ArenaGeometry:
        """The arena's :class:`mec.data.arenas.ArenaGeometry` (from ``arenas[arena]``, else
        from its numeric name)."""
        return _geometry(arena, self.arenas.get(arena, {}))

    def cells(self, arena: float) -> "list[tuple[str, str, str]]":
        """``(animal, cell_id, cell_type)`` for every cell of an arena, in file order."""
        out = []
        for animal, rec in self[arena].items():
            types = rec.get("cell_types")
            for i, cid in enumerate(rec["cell_ids"]):
                out.append((animal, str(cid), str(types[i]) if types is not None else "unknown"))
        return out


def _geometry(arena, info: Mapping) -> ArenaGeometry:
    """ArenaGeometry from a ``Dataset.arenas`` entry (or the numeric name alone)."""
    info = {k: v for k, v in dict(info or {}).items() if v is not None}
    if "diameter" in info and "size" not in info:
        info["size"] = info["diameter"]
    return geometry_from_attrs(arena_key(arena), info)


def _fail(path, problem: str, arena=None, animal=None) -> DatasetError:
    where = [str(path)]
    if arena is not None:
        where.append(f"arena {arena_key(arena) if _is_name(arena) else arena}")
    if animal is not None:
        where.append(f"animal {animal}")
    return DatasetError(": ".join([", ".join(where), problem]))


def _is_name(arena) -> bool:
    try:
        arena_key(arena)
        return True
    except DatasetError:
        return False


def _check_span(edges, length, axis, geom: ArenaGeometry, path, arena):
    """The edges must span the arena's side (EDGE_SPAN_TOLERANCE): a dataset made with the
    wrong position units has edges 100 (cm read as m) or 1000s (pixels) of times too wide."""
    span = float(edges[-1] - edges[0])
    if abs(span / length - 1.0) > EDGE_SPAN_TOLERANCE:
        side = "width (x)" if axis == "x" else "height (y)"
        raise _fail(path, f"{axis}_edges span {span:.4g} m but the arena's {side} is "
                          f"{length:.4g} m ({geom.describe()}), {span / length:.3g} times it; "
                          f"edges must span the arena within {EDGE_SPAN_TOLERANCE:.0%} (positions "
                          f"in the wrong units? remake the dataset with the right "
                          f"recordings.position_units / pixels_per_metre)", arena)


def _check_edges(edges, n, axis, path, arena):
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 2:
        raise _fail(path, f"{axis}_edges must be a 1-d array of at least 2 values, "
                          f"got shape {edges.shape}", arena)
    if not np.all(np.isfinite(edges)):
        raise _fail(path, f"{axis}_edges contain non-finite values", arena)
    if np.any(np.diff(edges) <= 0):
        raise _fail(path, f"{axis}_edges are not strictly increasing", arena)
    if n is not None and len(edges) != n + 1:
        raise _fail(path, f"{axis}_edges have {len(edges)} values but the rate maps have "
                          f"{n} bins along {axis} (need {n + 1} edges)", arena)
    return edges


def validate(dataset: Dataset, path="<dataset>") -> Dataset:
    """Check a :class:`Dataset` against the contract; return it or raise DatasetError."""
    if not len(dataset):
        raise _fail(path, "no arenas")
    for arena, animals in dataset.items():
        if arena not in dataset.edges:
            raise _fail(path, "no bin edges", arena)
        info = dataset.arenas.get(arena, {})
        shape = info.get("shape", "square")
        if shape not in ARENA_SHAPES:
            raise _fail(path, f"shape {shape!r} is not one of {ARENA_SHAPES}", arena)
        try:
            geom = _geometry(arena, info)
        except (ArenaNameError, ValueError, TypeError) as err:
            raise _fail(path, f"arena geometry: {err}", arena) from None
        if not isinstance(animals, Mapping) or not len(animals):
            raise _fail(path, "no animals (need at least one per arena)", arena)
        x_edges, y_edges = dataset.edges[arena]
        first = next(iter(animals.values()))
        resp0 = np.asarray(first.get("resp")) if isinstance(first, Mapping) else None
        nx, ny = (resp0.shape[:2] if resp0 is not None and resp0.ndim == 3 else (None, None))
        x_edges = _check_edges(x_edges, nx, "x", path, arena)
        y_edges = _check_edges(y_edges, ny, "y", path, arena)
        _check_span(x_edges, geom.width, "x", geom, path, arena)
        _check_span(y_edges, geom.height, "y", geom, path, arena)
        seen: dict[str, str] = {}
        for animal, rec in animals.items():
            if not isinstance(rec, Mapping) or "resp" not in rec or "cell_ids" not in rec:
                raise _fail(path, "needs 'resp' and 'cell_ids'", arena, animal)
            resp = np.asarray(rec["resp"])
            if resp.ndim != 3:
                raise _fail(path, f"resp must be (nx, ny, n_cells), got shape {resp.shape}",
                            arena, animal)
            if resp.shape[:2] != (len(x_edges) - 1, len(y_edges) - 1):
                raise _fail(path, f"resp has {resp.shape[:2]} bins but the arena's edges give "
                                  f"({len(x_edges) - 1}, {len(y_edges) - 1})", arena, animal)
            if resp.shape[2] == 0:
                raise _fail(path, "no cells", arena, animal)
            if not np.issubdtype(resp.dtype, np.number):
                raise _fail(path, f"resp has non-numeric dtype {resp.dtype}", arena, animal)
            if np.isinf(resp).any():
                raise _fail(path, "resp contains infinite values", arena, animal)
            negative = resp < 0
            if negative.any():
                raise _fail(path, f"resp has {int(negative.sum())} negative rate(s) (lowest "
                                  f"{float(resp[negative].min()):.4g} Hz); rates are spikes per "
                                  f"second and never negative", arena, animal)
            ids = np.asarray(rec["cell_ids"]).astype(str)
            if ids.shape != (resp.shape[2],):
                raise _fail(path, f"{len(ids)} cell_ids for {resp.shape[2]} cells", arena, animal)
            # A cell NaN in every bin has no map: no fit can score it, and kept in a fit it
            # would leave no bin for the others (issue 12).
            empty = np.flatnonzero(~np.isfinite(resp).reshape(-1, resp.shape[2]).any(axis=0))
            if empty.size:
                shown = ", ".join(f"{str(ids[i])!r} (column {i})" for i in empty[:10])
                raise _fail(path, f"{empty.size} of {len(ids)} cell(s) have no finite rate in any "
                                  f"of the {resp.shape[0] * resp.shape[1]} bins (all NaN): "
                                  f"{shown}{' ...' if empty.size > 10 else ''}; a cell needs a "
                                  f"map to be fitted: drop it or remake its map", arena, animal)
            for cid in ids:
                if cid in seen:
                    raise _fail(path, f"cell id {cid!r} is not unique (also in animal "
                                      f"{seen[cid]})", arena, animal)
                seen[cid] = animal
            types = rec.get("cell_types")
            if types is not None and np.asarray(types).shape != ids.shape:
                raise _fail(path, f"{np.asarray(types).size} cell_types for {len(ids)} cells",
                            arena, animal)
            _check_counts(dataset, arena, animal, resp.shape, path)
    return dataset


def _check_counts(dataset: Dataset, arena, animal, shape, path) -> None:
    """Optional spike counts and occupancy (issue 13): both or neither, resp's shape, >= 0."""
    counts = dataset.spike_counts.get(arena, {}).get(animal)
    occ = dataset.occupancy.get(arena, {}).get(animal)
    if counts is None and occ is None:
        if getattr(dataset, "half_counts", {}).get(arena, {}).get(animal) is not None:
            raise _fail(path, "half_counts need spike_counts and occupancy", arena, animal)
        return
    if counts is None or occ is None:
        raise _fail(path, "spike_counts and occupancy come together; only "
                          f"{'spike_counts' if occ is None else 'occupancy'} is given",
                    arena, animal)
    for name, a in (("spike_counts", counts), ("occupancy", occ)):
        a = np.asarray(a)
        if a.shape != tuple(shape):
            raise _fail(path, f"{name} has shape {a.shape}, resp has {tuple(shape)}",
                        arena, animal)
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise _fail(path, f"{name} must be finite and >= 0", arena, animal)
    _check_halves(dataset, arena, animal, np.asarray(counts), np.asarray(occ), path)


def _check_halves(dataset: Dataset, arena, animal, counts, occ, path) -> None:
    """Optional recording halves (methods §7.8): both or neither, (2, *resp's shape),
    finite, >= 0, adding up to spike_counts and occupancy."""
    hc = getattr(dataset, "half_counts", {}).get(arena, {}).get(animal)
    ho = getattr(dataset, "half_occupancy", {}).get(arena, {}).get(animal)
    if hc is None and ho is None:
        return
    if hc is None or ho is None:
        raise _fail(path, "half_counts and half_occupancy come together; only "
                          f"{'half_counts' if ho is None else 'half_occupancy'} is given",
                    arena, animal)
    for name, a, whole in (("half_counts", hc, counts), ("half_occupancy", ho, occ)):
        a = np.asarray(a)
        if a.shape != (2,) + whole.shape:
            raise _fail(path, f"{name} has shape {a.shape}, expected {(2,) + whole.shape} "
                              "(two halves of the whole session's)", arena, animal)
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise _fail(path, f"{name} must be finite and >= 0", arena, animal)
        if not np.allclose(a.sum(axis=0), whole, rtol=1e-9, atol=1e-9):
            raise _fail(path, f"{name}: the two halves do not add up to the whole session's "
                              f"{'spike_counts' if name == 'half_counts' else 'occupancy'} "
                              f"(largest difference "
                              f"{float(np.max(np.abs(a.sum(axis=0) - whole))):.3g})",
                        arena, animal)


def occupancy_sessions(occ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell occupancy (nx, ny, n) -> (distinct maps (nx, ny, k), index (n,))."""
    flat = np.asarray(occ, dtype=np.float64).reshape(-1, occ.shape[-1])
    uniq, index = np.unique(flat, axis=1, return_inverse=True)
    return uniq.reshape(occ.shape[0], occ.shape[1], -1), np.asarray(index).ravel()


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
