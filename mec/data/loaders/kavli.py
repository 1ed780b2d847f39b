"""Kavli / Moser lab (BNT-style) MATLAB files, as shared with Sargolini et al. 2006.

Two layouts, both MATLAB v5 (``scipy.io.loadmat``), named ``RAT-SESSION_CELL.mat``:

1. One position file per session plus one file per cell:
   ``RAT-SESSION_POS.mat`` with ``posx, posy, post`` (n, 1) (and ``posx2, posy2`` for a
   second LED, possibly empty) and ``RAT-SESSION_TxCy.mat`` with ``cellTS`` (spike times).
2. One file per cell with its own tracking: ``x1, y1, x2, y2`` (two LEDs) and ``t``
   (position times), ``ts`` (spike times).

Conventions taken here:

* The animal is ``RAT``; the session label is ``RAT-SESSION`` (e.g. ``11207-21060501+02``);
  the cell id is the file stem (``11207-21060501+02_t6c1``), unique across the dataset.
* A ``+`` in SESSION joins recordings made back to back (``21060501+02`` = 21060501 and
  21060502); their tracking is one continuous time base in the file, which is checked
  (strictly increasing times) and kept as one session. The parts are listed in
  ``Session.parts``.
* Position = LED 1 (``posx/posy`` or ``x1/y1``; the authors centred it on the box);
  positions are converted from ``position_units`` (cm in these files) to metres. NaN
  samples (lost tracking) stay NaN and are ignored by the rate maps.
* Head direction (where a second LED is present) = direction from LED 2 to LED 1.
* Several layout-2 files of one session each carry their own copy of the tracking; each
  becomes its own :class:`Session` with the same name (maps are made per file).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mec.data.loaders.sessions import RecordingError, Session, position_scale, resolve_paths

__all__ = ["load_kavli", "parse_kavli_name", "read_mat"]
#: Suffixes of the files this loader reads (a folder of recordings holds them).
SUFFIXES = (".mat",)

_NAME = re.compile(r"^(?P<rat>[^-_]+)-(?P<session>[^_]+)_(?P<cell>[^.]+)\.mat$", re.IGNORECASE)


def parse_kavli_name(path: Path) -> tuple[str, str, str, list[str]]:
    """(rat, "RAT-SESSION", cell, parts) from a ``RAT-SESSION_CELL.mat`` file name."""
    m = _NAME.match(Path(path).name)
    if not m:
        raise RecordingError(f"{path}: file name does not follow the Kavli convention "
                             f"'RAT-SESSION_CELL.mat' (e.g. 10073-17010302_T1C1.mat)")
    rat, session, cell = m["rat"], m["session"], m["cell"]
    pieces = session.split("+")
    parts = [pieces[0]]
    for p in pieces[1:]:
        # "21060501+02": a short part replaces the last digits of the first session number.
        parts.append(pieces[0][: len(pieces[0]) - len(p)] + p if len(p) < len(pieces[0]) else p)
    return rat, f"{rat}-{session}", cell, parts


def read_mat(path: Path) -> dict:
    """Variables of a MATLAB file (no ``__header__`` entries); RecordingError if unreadable."""
    from scipy.io import loadmat

    try:
        d = loadmat(str(path))
    except Exception as err:  # scipy raises several types for corrupt / non-MAT files
        raise RecordingError(f"{path}: not a readable MATLAB v5 file ({err})") from None
    return {k: v for k, v in d.items() if not k.startswith("__")}


def _vec(d: dict, key: str, path: Path) -> np.ndarray:
    v = np.asarray(d[key])
    if v.dtype.kind not in "fiu":
        raise RecordingError(f"{path}: variable {key!r} is not numeric (dtype {v.dtype})")
    if v.ndim > 2 or (v.ndim == 2 and min(v.shape) > 1):
        raise RecordingError(f"{path}: variable {key!r} should be a vector, got shape {v.shape}")
    return v.astype(float).ravel()


def _tracking(d: dict, keys: tuple[str, str, str, str, str], path: Path, scale: float):
    xk, yk, x2k, y2k, tk = keys
    t = _vec(d, tk, path)
    x, y = _vec(d, xk, path), _vec(d, yk, path)
    for k, v in ((xk, x), (yk, y)):
        if len(v) != len(t):
            raise RecordingError(f"{path}: {k} has {len(v)} samples but {tk} has {len(t)}")
    hd = None
    if x2k in d and y2k in d and np.asarray(d[x2k]).size and np.asarray(d[y2k]).size:
        x2, y2 = _vec(d, x2k, path), _vec(d, y2k, path)
        if len(x2) != len(t) or len(y2) != len(t):
            raise RecordingError(f"{path}: second LED ({x2k}, {y2k}) has {len(x2)}/{len(y2)} "
                                 f"samples but {tk} has {len(t)}")
        from mec.scores.head_direction import head_direction_from_leds

        hd = head_direction_from_leds(x, y, x2, y2)
    return t, np.column_stack([x, y]) * scale, hd


def load_kavli(paths, base_dir=None, position_units: str = "cm",
               pixels_per_metre: float | None = None) -> list:
    """Sessions from Kavli/BNT ``.mat`` files (both layouts, see the module docstring).

    paths: files, folders or glob patterns (relative to ``base_dir``); position_units:
    units of the positions in the files ("cm" for the Sargolini et al. files; "px" with
    ``pixels_per_metre``). Returns a list of :class:`Session` in metres and seconds,
    sorted by session name.
    """
    scale = position_scale(position_units, pixels_per_metre, "kavli recordings")
    files = resolve_paths(paths, SUFFIXES, base_dir, what="kavli recordings")
    pos_files, cell_files, sessions = {}, {}, []
    for f in files:
        rat, name, cell, parts = parse_kavli_name(f)
        d = read_mat(f)
        if cell.upper() == "POS":
            missing = [k for k in ("posx", "posy", "post") if k not in d]
            if missing:
                raise RecordingError(f"{f}: position file lacks {missing}; has {sorted(d)}")
            pos_files[name] = (f, rat, parts, d)
        elif "cellTS" in d:
            cell_files.setdefault(name, []).append((f, cell, _vec(d, "cellTS", f)))
        elif all(k in d for k in ("x1", "y1", "t", "ts")):
            t, pos, hd = _tracking(d, ("x1", "y1", "x2", "y2", "t"), f, scale)
            sessions.append(Session(name=name, animal=rat, times=t, positions=pos,
                                    cell_ids=[f.stem], spike_times=[_vec(d, "ts", f)],
                                    head_direction=hd, source=str(f), parts=parts,
                                    units=position_units))
        else:
            raise RecordingError(
                f"{f}: not a Kavli recording: expected 'cellTS' (a cell file beside a "
                f"_POS.mat file), 'posx, posy, post' (a _POS.mat file) or 'x1, y1, x2, y2, t, "
                f"ts' (a cell file with its tracking); found variables {sorted(d)}")
    for name, cells in cell_files.items():
        if name not in pos_files:
            raise RecordingError(f"{cells[0][0]}: cell file without a position file "
                                 f"{name}_POS.mat in {cells[0][0].parent}")
        f, rat, parts, d = pos_files[name]
        t, pos, hd = _tracking(d, ("posx", "posy", "posx2", "posy2", "post"), f, scale)
        cells = sorted(cells, key=lambda c: c[1])
        sessions.append(Session(name=name, animal=rat, times=t, positions=pos,
                                cell_ids=[c[0].stem for c in cells],
                                spike_times=[c[2] for c in cells], head_direction=hd,
                                source=f"{f} (+{len(cells)} cell files)", parts=parts,
                                units=position_units))
    unused = sorted(set(pos_files) - set(cell_files))
    if unused and not sessions:
        raise RecordingError(f"position files {unused} have no cell files")
    return sorted(sessions, key=lambda s: (s.name, s.cell_ids[0]))
