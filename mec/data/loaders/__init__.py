"""Loaders of real recordings: Kavli/BNT ``.mat``, NWB, and a generic HDF5/NPZ layout
(their registry: :mod:`mec.data.loaders.registry`, config ``dataset.source``).

Every loader returns a list of :class:`Session` (one tracked recording and the spike
times of its cells, in metres and seconds); :func:`ingest_dataset` turns sessions into the
dataset contract (methods §3.2) with grid, border and head-direction scores and cell types.
"""

from mec.data.loaders.sessions import (
    PIXEL_UNITS,
    UNIT_SCALE,
    RecordingError,
    Session,
    position_scale,
    resolve_paths,
)
from mec.data.loaders.generic import load_generic, save_generic
from mec.data.loaders.registry import LOADERS, Loader, get_loader, load_sessions, register_loader
from mec.data.loaders.ingest import build_dataset, ingest_dataset

__all__ = ["Session", "RecordingError", "load_sessions", "resolve_paths", "LOADERS", "Loader",
           "register_loader", "get_loader",
           "ingest_dataset", "build_dataset", "load_generic", "save_generic", "UNIT_SCALE", "PIXEL_UNITS", "position_scale"]
