"""A dataset in memory: :class:`Dataset` (the original API's dict form with the bin edges and
arena metadata attached) and :func:`validate`, the checks of the contract.

The file layout, and what every check guards, is in mec.data.contract's docstring; that
module saves and loads dataset files and re-exports everything public here.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from mec.data.arenas import (ARENA_SHAPES, EDGE_SPAN_TOLERANCE, ArenaGeometry, ArenaNameError,
                              arena_id, geometry_from_attrs)
from mec.data.arenas import arena_key as _arena_key

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
            # would leave no bin for the others.
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
    """Optional spike counts and occupancy (methods §7.2): both or neither, resp's shape, >= 0."""
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
