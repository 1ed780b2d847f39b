"""Cells whose rate map is constant: named, counted, kept (scored NaN) or dropped.

A cell whose finite bins all hold one value (an all-zero map: no spike in the session, or a
unit stuck at one rate) has no variance, so its Pearson r with anything is undefined and every
fit scores it NaN (methods §4.2). That is the right number, but a NaN with no name is a silent
hole in a table, so :func:`check_constant_cells` names such cells when the dataset is made
(rule make_dataset): one :class:`ConstantCellWarning` per arena and animal, with the cell
ids; the summary counts them (:func:`constant_cell_note`).

``dataset.constant_cells`` in the config decides what happens next:

- ``keep`` (the default): the cells stay in the dataset and in every table, scored NaN. This is
  the least surprising choice: one row per cell of the data, as the contract says; the
  original's algorithm (which keeps them) is reproduced bit for bit; and a constant source
  cell changes no other cell's score (a constant column carries nothing a centred regression
  or a correlation can use; tests/test_constant_cells.py checks it for every map).
- ``drop``: they are removed from the dataset file (and so from every table); the file's
  attribute ``constant_cells_dropped`` lists them, and the summary counts them from it.

All-NaN cells are a different case: the dataset contract refuses them (mec.data.contract).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Mapping

import numpy as np

from mec.data.arenas import arena_key, arena_sort_key

__all__ = ["POLICIES", "ConstantCellWarning", "constant_cells", "drop_cells",
           "check_constant_cells", "constant_cell_note"]

#: Values of config ``dataset.constant_cells``.
POLICIES = ("keep", "drop")
#: The dataset file attribute that lists the dropped cells, ``{arena: {animal: [ids]}}``.
DROPPED_ATTR = "constant_cells_dropped"


class ConstantCellWarning(UserWarning):
    """Cells with a constant (zero-variance) rate map; the message names arena, animal, ids."""


def _is_constant(resp: np.ndarray) -> np.ndarray:
    """(n_cells,) bool: finite somewhere and one value in every finite bin."""
    r = np.asarray(resp, dtype=np.float64).reshape(-1, np.shape(resp)[-1])
    finite = np.isfinite(r)
    hi = np.where(finite, r, -np.inf).max(axis=0)
    lo = np.where(finite, r, np.inf).min(axis=0)
    return finite.any(axis=0) & (hi == lo)


def constant_cells(dataset: Mapping) -> dict[str, dict[str, list[str]]]:
    """``{arena key: {animal: [cell ids]}}`` of the cells with a constant rate map (only the
    arenas and animals that have any). dataset: ``dataset[arena][animal]["resp"]``
    (nx, ny, n_cells) and ``["cell_ids"]``."""
    out: dict[str, dict[str, list[str]]] = {}
    for arena in sorted(dataset, key=arena_sort_key):
        for animal, rec in dataset[arena].items():
            flat = np.flatnonzero(_is_constant(rec["resp"]))
            if flat.size:
                ids = np.asarray(rec["cell_ids"]).ravel()
                out.setdefault(arena_key(arena), {})[str(animal)] = [str(ids[j]) for j in flat]
    return out


def _message(where: str, arena: str, animal: str, ids: list[str], policy: str) -> str:
    fate = ("kept, scored NaN in every table" if policy == "keep"
            else "dropped from the dataset and every table")
    shown = ", ".join(repr(i) for i in ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
    return (f"{where}arena {arena}, animal {animal}: {len(ids)} cell(s) with a constant rate map "
            f"(no variance, so every correlation with them is undefined): {shown}; {fate} "
            f"(config dataset.constant_cells: {policy})")


def drop_cells(dataset, cells: Mapping[str, Mapping[str, list[str]]]):
    """A copy of a :class:`mec.data.Dataset` without ``cells`` (``{arena: {animal: [ids]}}``):
    every per-cell array (resp, cell ids and types, truth, cell_info, spike counts,
    occupancy) loses them; an animal left with no cell is removed."""
    from mec.data.contract import Dataset

    def subset(per_animal, arena, animal, keep):
        src = per_animal.get(arena, {}) if per_animal else {}
        value = src.get(animal) if hasattr(src, "get") else None
        return None if value is None else np.asarray(value)[..., keep]

    data, truth, info, counts, occ = {}, {}, {}, {}, {}
    for arena in dataset:
        gone = cells.get(arena_key(arena), {})
        for animal, rec in dataset[arena].items():
            ids = np.asarray(rec["cell_ids"]).ravel()
            keep = ~np.isin(ids.astype(str), gone.get(str(animal), []))
            if not keep.any():
                continue
            new = {k: (np.asarray(v)[..., keep] if k in ("resp",) else
                       np.asarray(v).ravel()[keep] if k in ("cell_ids", "cell_types") else v)
                   for k, v in rec.items()}
            data.setdefault(arena, {})[animal] = new
            for store, src in ((truth, dataset.truth), (counts, dataset.spike_counts),
                               (occ, dataset.occupancy)):
                value = subset(src, arena, animal, keep)
                if value is not None:
                    store.setdefault(arena, {})[animal] = value
            cols = dataset.cell_info.get(arena, {}).get(animal) if dataset.cell_info else None
            if cols is not None:
                info.setdefault(arena, {})[animal] = {c: np.asarray(v)[keep] for c, v in cols.items()}
    return Dataset(data, edges=dataset.edges, arenas=dataset.arenas, attrs=dict(dataset.attrs),
                   truth=truth, cell_info=info, recipes=dataset.recipes,
                   spike_counts=counts, occupancy=occ)


def check_constant_cells(path: str | os.PathLike, policy: str = "keep",
                         log: logging.Logger | None = None) -> dict[str, dict[str, list[str]]]:
    """Name the constant cells of the dataset file ``path`` (a ConstantCellWarning, and a log
    line, per arena and animal) and apply ``policy`` ("keep" or "drop": module docstring).
    With "drop" the file is rewritten (atomically) without them, listing them in its
    attribute ``constant_cells_dropped``. Returns ``{arena: {animal: [cell ids]}}``."""
    from mec.data.contract import load_dataset, save_dataset
    from mec.data.report import check_animals

    if policy not in POLICIES:
        raise ValueError(f"config dataset.constant_cells: {policy!r} is not one of {list(POLICIES)}")
    ds = load_dataset(path)
    found = constant_cells(ds)
    for arena, animals in found.items():
        for animal, ids in animals.items():
            msg = _message(f"dataset {path}, ", arena, animal, ids, policy)
            if log is not None:
                log.warning("%s", msg)
            warnings.warn(msg, ConstantCellWarning, stacklevel=2)
    if policy == "drop" and found:
        kept = drop_cells(ds, found)
        check_animals(kept, where=f"dataset {path} without its constant cells")
        kept.attrs[DROPPED_ATTR] = json.dumps(found)
        save_dataset(path, kept)
    return found


def constant_cell_note(dataset) -> str:
    """The summary's line: how many constant cells the dataset has (kept, scored NaN) and how
    many make_dataset dropped, by arena."""
    kept = constant_cells(dataset)
    dropped = json.loads(dataset.attrs.get(DROPPED_ATTR, "{}") or "{}")

    def count(found):
        parts = [f"{sum(len(v) for v in animals.values())} in arena {arena} ("
                 + ", ".join(f"{a}: {', '.join(ids)}" for a, ids in animals.items()) + ")"
                 for arena, animals in found.items()]
        return "; ".join(parts) if parts else "none"

    return (f"- Constant cells (zero-variance rate maps; config dataset.constant_cells): kept "
            f"and scored NaN: {count(kept)}; dropped: {count(dropped)}.")
