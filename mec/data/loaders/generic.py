"""A generic layout for recordings: per-session tracking and per-cell spike times.

One session is a set of named arrays. They live either in an ``.npz`` file (one session
per file) or in an HDF5 file (``.h5`` / ``.hdf5``; one group per session under
``/sessions/<session name>``, arrays as datasets, scalars as datasets or attributes).

=================  ==========  ==========================================================
name               shape       meaning
=================  ==========  ==========================================================
``t``              (n,)        position sample times, seconds, strictly increasing
``x``, ``y``       (n,)        position, in ``position_units``; NaN = tracking lost
``cell_ids``       (c,)        cell ids (str), unique within the session; stored as
                               ``<session>_<id>`` (as the NWB loader does) unless they
                               already start with ``<session>_``, so that ids are
                               unique across animals
``spike_times``    (k,)        all cells' spike times, seconds, concatenated cell by cell
``spike_offsets``  (c + 1,)    int; cell i's spikes are ``spike_times[o[i]:o[i + 1]]``
                               (``o[0] = 0``, ``o[-1] = k``)
``animal``         scalar str  animal id (required)
``hd``             (n,)        optional head direction, radians
``position_units`` scalar str  optional: "m" (default), "cm", "mm" or "px" (camera
                               pixels; needs ``pixels_per_metre``)
``pixels_per_metre`` scalar    optional calibration of pixel positions
``session``        scalar str  optional session name (default: the file stem for
                               ``.npz``, the group name for HDF5)
=================  ==========  ==========================================================

Write it with :func:`save_generic`; read it with :func:`load_generic`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mec.data.loaders.sessions import RecordingError, Session, position_scale, resolve_paths

__all__ = ["load_generic", "save_generic", "REQUIRED"]
#: Suffixes of the files this loader reads (a folder of recordings holds them).
SUFFIXES = (".npz", ".h5", ".hdf5")

REQUIRED = ("t", "x", "y", "cell_ids", "spike_times", "spike_offsets", "animal")


def _str(v) -> str:
    v = np.asarray(v)
    v = v.item() if v.ndim == 0 else v.ravel()[0]
    return v.decode() if isinstance(v, bytes) else str(v)


def _floats(get, key: str, where: str) -> np.ndarray:
    """Array ``key`` as float64 (flattened); RecordingError naming it when it is not numbers."""
    value = np.asarray(get(key))
    try:
        return value.astype(float).ravel()
    except (TypeError, ValueError):
        raise RecordingError(f"{where}: {key!r} must hold numbers, got an array of dtype "
                             f"{value.dtype} (e.g. {value.ravel()[:3].tolist()})") from None


def _session(get, keys, where: str, default_name: str) -> Session:
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        raise RecordingError(f"{where}: missing {missing} (generic layout needs "
                             f"{list(REQUIRED)}; found {sorted(keys)})")
    units = _str(get("position_units")) if "position_units" in keys else "m"
    ppm = float(np.asarray(get("pixels_per_metre")).ravel()[0]) \
        if "pixels_per_metre" in keys else None
    scale = position_scale(units, ppm, where)
    t, x, y = (_floats(get, k, where) for k in ("t", "x", "y"))
    if not len(x) == len(y) == len(t):
        raise RecordingError(f"{where}: t, x, y have {len(t)}, {len(x)}, {len(y)} samples; "
                             f"they must be equal")
    ids = np.asarray(get("cell_ids")).ravel()
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
    st = _floats(get, "spike_times", where)
    off = np.asarray(get("spike_offsets")).ravel()
    if off.dtype.kind not in "iu" or len(off) != len(ids) + 1 or off[0] != 0 \
            or off[-1] != len(st) or np.any(np.diff(off) < 0):
        raise RecordingError(f"{where}: spike_offsets must be {len(ids) + 1} non-decreasing "
                             f"integers from 0 to len(spike_times) = {len(st)}; got {off[:5]}...")
    hd = _floats(get, "hd", where) if "hd" in keys else None
    name = _str(get("session")) if "session" in keys else default_name
    # Ids unique across animals, as the NWB loader makes them: "<session>_<id>".
    ids = [i if i.startswith(f"{name}_") else f"{name}_{i}" for i in ids]
    return Session(name=name, animal=_str(get("animal")), times=t,
                   positions=np.column_stack([x, y]) * scale,
                   cell_ids=ids, spike_times=[st[off[i]:off[i + 1]] for i in range(len(ids))],
                   head_direction=hd, source=where, units=units)


def load_generic(paths, base_dir=None, position_units: str | None = None,
                 pixels_per_metre: float | None = None) -> list:
    """Sessions from generic ``.npz`` / ``.h5`` files (layout in the module docstring).

    ``position_units`` and ``pixels_per_metre`` (optional) override the files' own.
    """
    files = resolve_paths(paths, SUFFIXES, base_dir, what="generic recordings")
    sessions = []
    for f in files:
        if f.suffix.lower() == ".npz":
            try:
                z = np.load(f, allow_pickle=False)
            except Exception as err:
                raise RecordingError(f"{f}: not a readable .npz file ({err})") from None
            with z:
                data = {k: _npz_array(z, k, f) for k in z.files}
            _override(data, position_units, pixels_per_metre)
            sessions.append(_session(data.__getitem__, set(data), str(f), f.stem))
        else:
            import h5py

            try:
                h = h5py.File(f, "r")
            except OSError as err:
                raise RecordingError(f"{f}: not a readable HDF5 file ({err})") from None
            with h:
                if "sessions" not in h or not len(h["sessions"]):
                    raise RecordingError(f"{f}: no /sessions/<name> groups (generic layout)")
                for name, g in h["sessions"].items():
                    try:
                        data = {k: g[k][()] for k in g if isinstance(g[k], h5py.Dataset)}
                    except OSError as err:
                        raise RecordingError(f"{f}:/sessions/{name}: cannot be read ({err}); "
                                             f"is the file complete?") from None
                    data.update({k: v for k, v in g.attrs.items()})
                    _override(data, position_units, pixels_per_metre)
                    sessions.append(_session(data.__getitem__, set(data),
                                             f"{f}:/sessions/{name}", name))
    return sessions


def _npz_array(z, key: str, path: Path) -> np.ndarray:
    """One array of an open ``.npz``; RecordingError naming the file and the array when it
    cannot be read (numpy reads arrays lazily, so its errors would otherwise name neither)."""
    try:
        return z[key]
    except ValueError as err:
        if "allow_pickle" in str(err):  # numpy stores object arrays as pickles
            raise RecordingError(
                f"{path}: array {key!r} is an array of Python objects, which is stored as a "
                f"pickle and not read (pickles can run code); save it with a plain dtype, "
                f"e.g. np.asarray(values, dtype=str) for ids, float for numbers") from None
        raise RecordingError(f"{path}: array {key!r} cannot be read ({err})") from None
    except Exception as err:  # a damaged member: zipfile/zlib errors, EOFError, OSError
        raise RecordingError(f"{path}: array {key!r} cannot be read ({type(err).__name__}: "
                             f"{err}); is the file complete?") from None


def _override(data: dict, position_units, pixels_per_metre) -> None:
    if position_units is not None:
        data["position_units"] = np.array(position_units)
    if pixels_per_metre is not None:
        data["pixels_per_metre"] = np.array(float(pixels_per_metre))


def save_generic(path, sessions) -> Path:
    """Write sessions in the generic layout, atomically: ``.npz`` (exactly one session) or
    ``.h5`` (any number). Positions are written in metres."""
    from mec.io import atomic_hdf5, atomic_path

    path = Path(path)
    sessions = list(sessions)

    def arrays(s):
        off = np.concatenate([[0], np.cumsum([len(x) for x in s.spike_times])]).astype(np.int64)
        d = {"t": s.times, "x": s.positions[:, 0], "y": s.positions[:, 1],
             "cell_ids": np.array(s.cell_ids, dtype=str),
             "spike_times": (np.concatenate(s.spike_times) if s.spike_times
                             else np.zeros(0)),
             "spike_offsets": off, "animal": np.array(s.animal),
             "session": np.array(s.name), "position_units": np.array("m")}
        if s.head_direction is not None:
            d["hd"] = s.head_direction
        return d

    if path.suffix.lower() == ".npz":
        if len(sessions) != 1:
            raise ValueError(f"{path}: an .npz file holds one session, got {len(sessions)}")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays(sessions[0]))
        return path
    with atomic_hdf5(path) as h:  # built in memory: a full disk is a clean error (mec.io)
        for s in sessions:
            g = h.create_group(f"sessions/{s.name}")
            for k, v in arrays(s).items():
                if v.dtype.kind == "U" and v.ndim == 0:
                    g.attrs[k] = str(v)                 # scalar strings: attributes
                else:
                    g.create_dataset(k, data=v.astype("S") if v.dtype.kind == "U" else v)
    return path
