"""Neurodata Without Borders (NWB 2) recordings through pynwb.

From each ``.nwb`` file:

* positions: the first ``SpatialSeries`` of a ``Position`` interface, searched in the
  processing modules (``behavior`` first) and then in ``acquisition``; or the one named
  by ``position_series`` (its name or ``"<interface>/<series>"``). Data (n, 2+) is
  multiplied by the series' ``conversion`` and converted from its ``unit`` ("m", "cm",
  ...; override with ``position_units``) to metres; times from ``timestamps`` or
  ``starting_time`` + ``rate``.
* head direction (optional): the first ``SpatialSeries`` of a ``CompassDirection``
  interface, unit "radians" (default) or "degrees", resampled onto the position times
  when its own times differ (circular linear interpolation).
* spikes: the ``Units`` table's ``spike_times``; cell ids are ``"<session>_<unit id>"``
  (or ``"<session>_<unit_name>"`` when the table has a ``unit_name`` column).
* animal: ``subject.subject_id``; session: ``session_id`` or else the file stem.
"""

from __future__ import annotations

import numpy as np

from mec.data.loaders.sessions import (PIXEL_UNITS, UNIT_SCALE, RecordingError, Session, position_scale,
                              resolve_paths)

__all__ = ["load_nwb"]
#: Suffixes of the files this loader reads (a folder of recordings holds them).
SUFFIXES = (".nwb",)


def _interfaces(nwbfile):
    mods = list(nwbfile.processing.items())
    mods.sort(key=lambda kv: kv[0] != "behavior")
    for _, mod in mods:
        yield from mod.data_interfaces.values()
    yield from nwbfile.acquisition.values()


def _series(nwbfile, kind, name=None):
    for iface in _interfaces(nwbfile):
        if type(iface).__name__ != kind:
            continue
        for sname, series in iface.spatial_series.items():
            if name is None or name in (sname, f"{iface.name}/{sname}"):
                return series
    return None


def _times(series) -> np.ndarray:
    n = series.data.shape[0]
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=float)
    if series.rate is None:
        raise RecordingError(f"series {series.name} has neither timestamps nor a rate")
    return float(series.starting_time or 0.0) + np.arange(n) / float(series.rate)


def load_nwb(paths, base_dir=None, position_units: str | None = None,
             position_series: str | None = None, pixels_per_metre: float | None = None) -> list:
    """Sessions from NWB files (see the module docstring for what is read from where)."""
    from pynwb import NWBHDF5IO

    files = resolve_paths(paths, SUFFIXES, base_dir, what="nwb recordings")
    sessions = []
    for f in files:
        try:
            io = NWBHDF5IO(str(f), "r", load_namespaces=True)
            nwbfile = io.read()
        except Exception as err:
            raise RecordingError(f"{f}: not a readable NWB file ({err})") from None
        with io:
            pos = _series(nwbfile, "Position", position_series)
            if pos is None:
                raise RecordingError(f"{f}: no Position/SpatialSeries"
                                     + (f" named {position_series!r}" if position_series else "")
                                     + " in processing or acquisition")
            data = np.asarray(pos.data[:], dtype=float)
            if data.ndim != 2 or data.shape[1] < 2:
                raise RecordingError(f"{f}: SpatialSeries {pos.name} has shape {data.shape}, "
                                     f"need (n, 2)")
            units = (position_units or pos.unit or "m").strip().lower()
            if units not in UNIT_SCALE and units not in PIXEL_UNITS:
                raise RecordingError(f"{f}: SpatialSeries {pos.name} unit {pos.unit!r} is not "
                                     f"a length unit ({sorted(UNIT_SCALE)} or px); set "
                                     f"position_units")
            scale = position_scale(units, pixels_per_metre, f"{f}: SpatialSeries {pos.name}")
            xy = data[:, :2] * float(pos.conversion or 1.0) * scale
            t = _times(pos)
            if len(t) != len(xy):
                raise RecordingError(f"{f}: SpatialSeries {pos.name} has {len(xy)} samples but "
                                     f"{len(t)} times")
            hd = None
            comp = _series(nwbfile, "CompassDirection")
            if comp is not None:
                ang = np.asarray(comp.data[:], dtype=float).reshape(len(comp.data), -1)[:, 0]
                ang = ang * float(comp.conversion or 1.0)
                if (comp.unit or "radians").lower().startswith("deg"):
                    ang = np.deg2rad(ang)
                ht = _times(comp)
                if len(ht) != len(t) or not np.allclose(ht, t):
                    c = np.interp(t, ht, np.cos(ang), left=np.nan, right=np.nan)
                    s = np.interp(t, ht, np.sin(ang), left=np.nan, right=np.nan)
                    ang = np.arctan2(s, c)
                hd = ang
            units_table = nwbfile.units
            if units_table is None or len(units_table) == 0:
                raise RecordingError(f"{f}: no Units table (spike times)")
            subject = nwbfile.subject
            if subject is None or not subject.subject_id:
                raise RecordingError(f"{f}: no subject.subject_id to name the animal")
            name = nwbfile.session_id or f.stem
            cols = units_table.colnames
            labels = (units_table["unit_name"][:] if "unit_name" in cols
                      else units_table.id[:])
            spikes = [np.asarray(units_table.get_unit_spike_times(i), dtype=float)
                      for i in range(len(units_table))]
            sessions.append(Session(name=str(name), animal=str(subject.subject_id), times=t,
                                    positions=xy, cell_ids=[f"{name}_{u}" for u in labels],
                                    spike_times=spikes, head_direction=hd, source=str(f),
                                    units=units))
    return sessions
