"""What every loader returns: :class:`Session` (one tracked recording and the spike times of its
cells, in metres and seconds), position units and file lookup: what every loader imports (the
registry of loaders, :mod:`mec.data.loaders.registry`, imports the loaders, never the other way
round). Re-exported by :mod:`mec.data.loaders`.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["Session", "RecordingError", "resolve_paths", "UNIT_SCALE", "PIXEL_UNITS",
           "position_scale", "match_any"]

#: Length units accepted for positions, and their size in metres.
UNIT_SCALE = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
              "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01,
              "centimetres": 0.01, "mm": 0.001}
#: Spellings of camera pixels; positions in pixels need ``pixels_per_metre``.
PIXEL_UNITS = ("px", "pixel", "pixels")


class RecordingError(ValueError):
    """A recording file is missing variables, inconsistent, or unreadable; names the file."""


def position_scale(units: str, pixels_per_metre: float | None = None,
                   where: str = "recordings") -> float:
    """Metres per position unit: ``UNIT_SCALE[units]``, or ``1 / pixels_per_metre`` for
    camera pixels (``units`` "px"). RecordingError naming ``where`` for an unknown unit or
    pixels without a calibration."""
    u = str(units).strip().lower()
    if u in PIXEL_UNITS:
        if pixels_per_metre is None:
            raise RecordingError(f"{where}: positions are in camera pixels but no calibration "
                                 f"is given: set recordings.pixels_per_metre (pixels per metre "
                                 f"of the arena floor)")
        try:
            ppm = float(pixels_per_metre)
        except (TypeError, ValueError):
            ppm = float("nan")
        if not ppm > 0 or ppm == float("inf"):
            raise RecordingError(f"{where}: pixels_per_metre {pixels_per_metre!r} must be a "
                                 f"positive number")
        return 1.0 / ppm
    if u not in UNIT_SCALE:
        raise RecordingError(f"{where}: position_units {units!r} is not one of "
                             f"{sorted(UNIT_SCALE) + list(PIXEL_UNITS[:1])}")
    return UNIT_SCALE[u]


@dataclass
class Session:
    """One tracked recording and its cells.

    name: unique session label (Kavli: "RAT-SESSION", e.g. "11207-21060501+02");
    animal: animal id; times: (n,) s, strictly increasing; positions: (n, 2) metres (NaN
    rows = lost tracking); cell_ids: (n_cells,) unique ids; spike_times: one (k,) array of
    seconds per cell; head_direction: (n,) radians or None; source: the file(s) it came
    from (for error messages); parts: the recording sessions joined into it ("+" names);
    units: the unit the file's positions were read in, before conversion to metres
    (named in error messages about extents).
    """

    name: str
    animal: str
    times: np.ndarray
    positions: np.ndarray
    cell_ids: list
    spike_times: list
    head_direction: np.ndarray | None = None
    source: str = "<memory>"
    parts: list = field(default_factory=list)
    units: str = "m"

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=float).ravel()
        self.positions = np.asarray(self.positions, dtype=float)
        n = len(self.times)
        if self.positions.shape != (n, 2):
            raise RecordingError(f"{self.source}: positions have shape {self.positions.shape} "
                                 f"but there are {n} position times (need ({n}, 2))")
        if n < 2:
            raise RecordingError(f"{self.source}: fewer than two position samples")
        if not np.all(np.isfinite(self.times)):
            raise RecordingError(f"{self.source}: position times contain NaN/inf")
        if np.any(np.diff(self.times) <= 0):
            k = int(np.argmax(np.diff(self.times) <= 0))
            raise RecordingError(f"{self.source}: position times are not strictly increasing "
                                 f"(sample {k + 1}: {self.times[k]} -> {self.times[k + 1]} s)")
        if not np.isfinite(self.positions).all(axis=1).any():
            raise RecordingError(f"{self.source}: no finite position sample")
        if self.head_direction is not None:
            self.head_direction = np.asarray(self.head_direction, dtype=float).ravel()
            if len(self.head_direction) != n:
                raise RecordingError(f"{self.source}: head direction has "
                                     f"{len(self.head_direction)} samples, positions {n}")
        self.cell_ids = [str(c) for c in self.cell_ids]
        self.spike_times = [np.asarray(s, dtype=float).ravel() for s in self.spike_times]
        if len(self.cell_ids) != len(self.spike_times):
            raise RecordingError(f"{self.source}: {len(self.cell_ids)} cell ids but "
                                 f"{len(self.spike_times)} spike trains")
        if len(set(self.cell_ids)) != len(self.cell_ids):
            raise RecordingError(f"{self.source}: cell ids are not unique: {self.cell_ids}")
        for cid, st in zip(self.cell_ids, self.spike_times):
            if not np.all(np.isfinite(st)):
                raise RecordingError(f"{self.source}: spike times of cell {cid} contain NaN")


def resolve_paths(paths: str | Sequence[str], suffixes: Sequence[str],
                  base_dir: str | os.PathLike | None = None, what: str = "paths") -> list[Path]:
    """Files named by ``paths``: files, folders (their files with one of ``suffixes``) or
    glob patterns; relative entries are taken relative to ``base_dir`` (default: the
    working directory). Raises FileNotFoundError naming an entry that matches nothing."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    out: list[Path] = []
    for entry in paths:
        p = Path(os.path.expanduser(str(entry)))
        p = p if p.is_absolute() else base / p
        if any(ch in str(entry) for ch in "*?["):
            found = sorted(Path(f) for f in glob.glob(str(p)))
        elif p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file()
                           and any(f.name.lower().endswith(s) for s in suffixes))
        elif p.is_file():
            found = [p]
        else:
            raise FileNotFoundError(f"{what}: {entry!r} (resolved to {p}) does not exist")
        if not found:
            raise FileNotFoundError(f"{what}: {entry!r} (resolved to {p}) holds no "
                                    f"{'/'.join(suffixes)} file")
        out.extend(f for f in found if f not in out)
    return out


def match_any(name: str, patterns: Sequence[str]) -> bool:
    """True when ``name`` matches one of the fnmatch ``patterns``."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
