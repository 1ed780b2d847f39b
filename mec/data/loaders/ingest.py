# Long because: placing sessions in arenas and building the dataset from them share the geometry
# checks and defaults; next seam: the arena masks and placement.
"""Recordings -> dataset contract, with scores and cell types (methods §3.2, §5).

:func:`ingest_dataset` loads sessions with a loader, assigns them to arenas, places each
session in its arena, checks units, ids and spike times, makes one rate map per cell with
:func:`mec.ratemaps.spikes_to_ratemap` (the function the synthetic dataset uses), scores
every cell and writes the dataset file.

**Bins** come from the arena's declared geometry (:mod:`mec.data.arenas`): square bins of
``bin_cm`` laid from the arena's centre (a 1 m box: 20 x 20 bins of 5 cm over [-0.5, 0.5] m;
a 1.0 x 0.6 m rectangle: 20 x 12), the same edges every model is evaluated on.

**Placing sessions** (``align``): each session's positions (converted to metres) are moved
into the arena's frame, centred on (0, 0):

* ``align: center`` (default): the middle of the session's extent (per axis, half-way
  between its smallest and largest position) goes to the arena's centre. Right when a
  session covers its box, whatever the camera's origin; each rat's box filmed at a
  different offset is handled.
* ``align: none``: positions are already in the arena's frame (origin at its centre), as in
  the Sargolini et al. files.

``offsets`` (``{session pattern: [dx, dy]}`` metres) are added after that, per session.

**What a bin holds** (per cell map):

* bins outside the arena (a circle's corners) are NaN;
* bins outside the session's own recorded box (no overlap with the rectangle between its
  smallest and largest aligned positions, e.g. one rat's smaller box inside a larger
  arena; for ``circle_sessions``, outside the circle through its extremes) are NaN: no
  data, never 0 Hz;
* bins inside both that the animal never visited (or visited less than
  ``min_occupancy_s``) are 0 before the smoothing, as the lab's recipe does (methods §3.2):
  rate = spikes / time per bin, then a Gaussian of sigma = 1 bin (``mode="constant"``);
* samples a little outside the edges (tracking overshooting a wall) count in the outermost
  bins.

Fits keep only bins finite for every source and target cell, so NaN bins cost bins, never
wrong numbers.

**Checks** (each a :class:`RecordingError` or ValueError naming the session, cell or key):
a session's extent must lie within ``extent_range`` (0.5-1.5) of the arena's side on each
axis (unit mistakes: cm read as m, pixels without calibration); with ``align: none`` its
positions must lie in the arena's frame; cell ids must be unique across sessions; spikes
outside the tracking window are counted (a session with more than half of its spikes
outside is refused: another clock or unit); a cell left with no spike is dropped with a
warning (``empty_cells: drop``) or refused (``error``); every arena needs at least two
animals (the inter-animal ceiling). Everything is logged (see :func:`build_dataset`) and
kept in the file's attributes ``sessions`` and ``warnings`` (JSON).

Scores per cell (stored in ``cell_info``): ``grid_score`` (methods §5 ring scorer),
``border_score`` (Solstad et al. 2008), ``hd_mvl``, ``hd_threshold``, ``hd_p_value``,
``hd_significant`` (NaN / False without head direction), plus ``session``, ``n_spikes``,
``n_spikes_outside`` (outside the tracking window), ``mean_rate_hz``, ``shape`` and
``reliability`` (within-animal, odd vs even minutes, :func:`mec.ratemaps.split_half_reliability`).
``cell_types`` come from :func:`mec.scores.classify_cells`. Each cell's spike counts and its
session's time per bin (what the recipe saw, :func:`mec.ratemaps.bin_spikes`; zero outside
the session's mask) and the arena's recipe (:data:`mec.ratemaps.PAPER`) are stored too
(for other recipes and noise floors, methods §7.2, §7.3).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec.data.arenas import ArenaGeometry, arena_edges, arena_geometry, arena_id, arena_key, \
    disc_mask
from mec.data.loaders.registry import get_loader
from mec.data.loaders.sessions import RecordingError, Session, match_any
from mec.scores.types import BORDER_THRESHOLD, GRID_THRESHOLD

__all__ = ["ingest_dataset", "build_dataset", "place_session", "circle_mask", "session_box_mask",
           "DEFAULTS", "MIN_ANIMALS", "MAX_SPIKES_OUTSIDE"]

log = logging.getLogger(__name__)

#: Defaults of the recording options (``dataset.recordings`` in config.yaml).
DEFAULTS = {
    "paths": None,                 # files, folders or globs; required
    "position_units": None,        # loader default: kavli "cm", nwb from the file, generic "m"
    "pixels_per_metre": None,      # calibration of positions in camera pixels ("px")
    "position_series": None,       # nwb only: name of the Position SpatialSeries
    "arena_sessions": None,        # {"1.0": [patterns]}; default: all sessions, one arena
    "circle_sessions": [],         # session patterns recorded in a cylinder
    "exclude": [],                 # session patterns to leave out
    "align": "center",             # center: centre each session's extent | none: as recorded
    "offsets": {},                 # {session pattern: [dx, dy]} m, added after align
    "extent_range": [0.5, 1.5],    # a session's extent / arena side, per axis; null: no check
    "empty_cells": "drop",         # a cell with no spike in its maps: drop (warn) | error
    "speed_range": None,           # [lo, hi] m/s filter of rate-map samples (methods §3.2: off)
    "min_occupancy_s": 0.0,        # bins with less time are treated as unvisited
    "halves_chunk_s": 60.0,        # s, alternating time chunks of the two halves (§7.8)
    "grid_threshold": GRID_THRESHOLD,      # methods §5 (mec.scores.types)
    "border_threshold": BORDER_THRESHOLD,  # methods §5 (mec.scores.types)
    "hd_speed_range": [0.02, 0.8],  # m/s, methods §5
    "hd_shuffles": 500,            # methods §5
    "hd_alpha": 0.02,              # methods §5
    "seed": 0,                     # seed of the head-direction shuffles
}
ALIGN = ("center", "none")
EMPTY_CELLS = ("drop", "error")
#: Animals an arena needs: the noise ceiling predicts one animal's cells from the others'.
MIN_ANIMALS = 2
#: A session with a larger fraction of its spikes outside the tracking window is refused:
#: spike and position times then run on different clocks or units (ms vs s). A few spikes
#: a little past the last position sample are normal.
MAX_SPIKES_OUTSIDE = 0.5
#: With align "none", positions may overshoot the arena's walls by this fraction of its side.
FRAME_TOLERANCE = 0.1
_REMOVED = {"bins_from": "bins now come from the arena's geometry (dataset.arenas.<name>: "
                         "shape, size / width, height / diameter), square bins of bin_cm"}


def _options(cfg: Mapping) -> dict:
    """Merge ``cfg`` (a config.yaml ``dataset`` section) with DEFAULTS; reject unknown keys."""
    cfg = dict(cfg)
    rec = dict(cfg.pop("recordings", None) or {})
    top = {k: cfg.pop(k) for k in list(cfg) if k in DEFAULTS}
    known_top = {"name", "source", "bin_cm", "arenas", "synthetic"}
    removed = sorted((set(cfg) | set(rec)) & set(_REMOVED))
    if removed:
        raise ValueError(f"dataset config: key {removed[0]!r} was removed: {_REMOVED[removed[0]]}")
    unknown = sorted(set(cfg) - known_top) + sorted(set(rec) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"dataset config: unknown key(s) {unknown}; recording options are "
                         f"{sorted(DEFAULTS)}")
    opts = dict(DEFAULTS)
    opts.update(top)
    opts.update({k: v for k, v in rec.items()})
    for k in ("offsets", "circle_sessions", "exclude"):
        if opts[k] is None:
            opts[k] = DEFAULTS[k]
    opts["source"] = cfg.get("source")
    opts["name"] = cfg.get("name", "recordings")
    opts["bin_cm"] = float(cfg.get("bin_cm", 5.0))
    arenas = cfg.get("arenas")
    if not arenas:
        raise ValueError("dataset config: 'arenas' is required, e.g. {'1.0': {shape: square}}")
    if isinstance(arenas, Mapping):
        arenas = [{"name": k, **(v or {})} for k, v in arenas.items()]
    opts["arenas"] = []
    for a in arenas:
        a = dict(a)
        name = a.pop("name", None)
        name = name if name is not None else a.get("size")
        geom = arena_geometry(name, a)
        opts["arenas"].append({"name": geom.name, "geometry": geom,
                               "sessions": a.get("sessions")})
    if opts["paths"] is None:
        raise ValueError("dataset config: recordings.paths is required (files, folders or "
                         "glob patterns of the recordings)")
    if opts["align"] not in ALIGN:
        raise ValueError(f"dataset config: recordings.align {opts['align']!r} is not one of "
                         f"{ALIGN}")
    if opts["empty_cells"] not in EMPTY_CELLS:
        raise ValueError(f"dataset config: recordings.empty_cells {opts['empty_cells']!r} is "
                         f"not one of {EMPTY_CELLS}")
    for pattern, off in dict(opts["offsets"]).items():
        if np.shape(off) != (2,) or not np.all(np.isfinite(np.asarray(off, dtype=float))):
            raise ValueError(f"dataset config: recordings.offsets[{pattern!r}] = {off!r} must "
                             f"be [dx, dy] in metres")
    rng = opts["extent_range"]
    if rng is not None and (len(rng) != 2 or not 0 <= float(rng[0]) < float(rng[1])):
        raise ValueError(f"dataset config: recordings.extent_range {rng!r} must be [lo, hi] "
                         f"with 0 <= lo < hi (a session's extent / the arena's side)")
    return opts


def circle_mask(positions: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """(nx, ny) bool: bins that overlap the circle through the extreme positions (centre =
    middle of the x and y ranges, radius = half the larger range). A bin counts as inside
    when any part of it lies in the disc, so that no bin the animal could visit is lost."""
    lo = np.nanmin(positions, axis=0)
    hi = np.nanmax(positions, axis=0)
    return disc_mask((lo + hi) / 2.0, float(np.max(hi - lo)) / 2.0, x_edges, y_edges)


def session_box_mask(positions: np.ndarray, x_edges: np.ndarray,
                     y_edges: np.ndarray) -> np.ndarray:
    """(nx, ny) bool: bins that overlap the session's recorded box (the rectangle between
    its smallest and largest positions, per axis)."""
    lo = np.nanmin(positions, axis=0)
    hi = np.nanmax(positions, axis=0)
    inx = (x_edges[1:] > lo[0]) & (x_edges[:-1] < hi[0])
    iny = (y_edges[1:] > lo[1]) & (y_edges[:-1] < hi[1])
    # a session on the outermost edge still owns the outermost bin (positions beyond the
    # edges are counted there, mec.ratemaps.bin_index)
    inx[0] |= lo[0] <= x_edges[0]
    inx[-1] |= hi[0] >= x_edges[-1]
    iny[0] |= lo[1] <= y_edges[0]
    iny[-1] |= hi[1] >= y_edges[-1]
    return inx[:, None] & iny[None, :]


def _unit_hint(ratio: float, units: str) -> str:
    """The likely fix for a session whose extent is ``ratio`` times the arena's side."""
    read = f"read as {units}" if units else ""
    if 50 <= ratio <= 200:
        return (f"the positions look like centimetres {read}: set recordings.position_units: "
                f"cm")
    if 500 <= ratio <= 2000:
        return f"the positions look like millimetres {read}: set recordings.position_units: mm"
    if 0.005 <= ratio <= 0.02:
        return f"the positions look like metres {read}: set recordings.position_units: m"
    if ratio > 2:
        return ("camera pixels? set recordings.position_units: px and "
                "recordings.pixels_per_metre (the calibration), or check the arena's size")
    return ("check the arena's size in dataset.arenas, that the session belongs to this arena "
            "(recordings.arena_sessions), the calibration (pixels_per_metre), or leave the "
            "session out (recordings.exclude)")


def place_session(session: Session, geometry: ArenaGeometry, align: str = "center",
                  offset=(0.0, 0.0), extent_range=(0.5, 1.5)) -> tuple[np.ndarray, dict]:
    """Positions of ``session`` in the arena's frame, and what was done (module docstring).

    Returns ``(positions (n, 2) m, info)`` with info keys ``extent_m`` ([ex, ey], the
    session's extent), ``shift_m`` ([dx, dy] added: alignment plus offset), ``lo_m`` /
    ``hi_m`` (aligned extremes). Raises RecordingError naming the session, its extent and
    the likely fix when the extent is outside ``extent_range`` times the arena's side on an
    axis, or (``align="none"``) when the positions are not in the arena's frame.
    """
    pos = np.asarray(session.positions, dtype=float)
    lo, hi = np.nanmin(pos, axis=0), np.nanmax(pos, axis=0)
    extent = hi - lo
    sides = np.array([geometry.width, geometry.height])
    where = f"session {session.name} ({session.source})"
    if extent_range is not None:
        ratios = extent / sides
        lo_r, hi_r = float(extent_range[0]), float(extent_range[1])
        bad = [i for i in range(2) if not lo_r <= ratios[i] <= hi_r]
        if bad:
            i = max(bad, key=lambda k: abs(np.log(max(ratios[k], 1e-12))))
            raise RecordingError(
                f"{where}: positions span {100 * extent[0]:.1f} x {100 * extent[1]:.1f} cm "
                f"(x x y) but arena {geometry.name!r} is a {geometry.describe()}: "
                f"{ratios[i]:.3g} times its {'width' if i == 0 else 'height'} (accepted "
                f"{lo_r:g}-{hi_r:g}, recordings.extent_range); "
                f"{_unit_hint(float(ratios[i]), session.units)}")
    shift = -(lo + hi) / 2.0 if align == "center" else np.zeros(2)
    shift = shift + np.asarray(offset, dtype=float)
    placed = pos + shift
    plo, phi = lo + shift, hi + shift
    b = geometry.bounds
    tol = FRAME_TOLERANCE * sides
    if (plo[0] < b[0] - tol[0] or phi[0] > b[1] + tol[0] or plo[1] < b[2] - tol[1]
            or phi[1] > b[3] + tol[1]):
        raise RecordingError(
            f"{where}: positions run over x {100 * plo[0]:.4g} to {100 * phi[0]:.4g} cm, "
            f"y {100 * plo[1]:.4g} to {100 * phi[1]:.4g} cm after align {align!r} and offset "
            f"{list(map(float, offset))} m, but arena {geometry.name!r} spans x "
            f"{100 * b[0]:.4g} to {100 * b[1]:.4g} cm, y {100 * b[2]:.4g} to {100 * b[3]:.4g} "
            f"cm (centred on 0): the session is not in the arena's frame; set "
            f"recordings.align: center, or give recordings.offsets for it")
    info = {"extent_m": [float(extent[0]), float(extent[1])],
            "shift_m": [float(shift[0]), float(shift[1])],
            "lo_m": [float(plo[0]), float(plo[1])], "hi_m": [float(phi[0]), float(phi[1])]}
    return placed, info


def _offset_of(name: str, offsets: Mapping) -> tuple[float, float]:
    hits = [(p, o) for p, o in dict(offsets).items() if match_any(name, [p])]
    if len(hits) > 1:
        raise ValueError(f"session {name} matches several recordings.offsets patterns "
                         f"{[p for p, _ in hits]}")
    return tuple(map(float, hits[0][1])) if hits else (0.0, 0.0)


def _assign(sessions, opts) -> dict:
    sessions = [s for s in sessions if not match_any(s.name, opts["exclude"])]
    arenas = opts["arenas"]
    mapping = {arena_key(k): v for k, v in dict(opts["arena_sessions"] or {}).items()}
    unknown = sorted(set(mapping) - {a["name"] for a in arenas})
    if unknown:
        raise ValueError(f"dataset config: recordings.arena_sessions names arena(s) {unknown} "
                         f"that are not in dataset.arenas ({[a['name'] for a in arenas]})")
    patterns = {}
    for a in arenas:
        pats = a["sessions"] or mapping.get(a["name"])
        if pats is None:
            if len(arenas) > 1:
                raise ValueError(f"dataset config: {len(arenas)} arenas but no session patterns "
                                 f"for arena {a['name']!r}; set recordings.arena_sessions")
            pats = ["*"]
        patterns[a["name"]] = [pats] if isinstance(pats, str) else list(pats)
    out: dict = {a["name"]: [] for a in arenas}
    for s in sessions:
        hits = [name for name, pats in patterns.items() if match_any(s.name, pats)]
        if len(hits) > 1:
            raise ValueError(f"session {s.name} ({s.source}) matches arenas {hits}")
        if not hits:
            raise ValueError(f"session {s.name} ({s.source}) matches no arena's session patterns "
                             f"{patterns}; add it there or to recordings.exclude")
        out[hits[0]].append(s)
    for name, ss in out.items():
        if not ss:
            raise ValueError(f"arena {name!r}: no session assigned (patterns {patterns[name]})")
    return out


def _check_unique_ids(sessions: Sequence[Session]) -> None:
    seen: dict[str, Session] = {}
    for s in sessions:
        for cid in s.cell_ids:
            if cid in seen:
                o = seen[cid]
                raise RecordingError(
                    f"cell id {cid!r} appears in session {o.name} ({o.source}) and in session "
                    f"{s.name} ({s.source}); cell ids must be unique across the dataset (the "
                    f"generic and NWB loaders prefix them with the session name: give the "
                    f"sessions different names)")
            seen[cid] = s


def _spike_counts(s: Session, placed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: spikes outside the tracking window, and spikes the map counts (inside the
    window at a tracked sample), with spikes_to_ratemap's window and nearest-sample rule."""
    t = s.times
    dt = float(np.median(np.diff(t)))
    mids = (t[1:] + t[:-1]) / 2.0
    tracked = np.isfinite(placed).all(axis=1)
    outside, used = [], []
    for st in s.spike_times:
        inside = (st >= t[0] - dt / 2) & (st <= t[-1] + dt / 2)
        outside.append(int((~inside).sum()))
        used.append(int(tracked[np.searchsorted(mids, st[inside])].sum()))
    return np.asarray(outside), np.asarray(used)


def _prepare_session(s: Session, geom: ArenaGeometry, xe, ye, inside, opts, warn):
    """Place one session in its arena and run its checks (module docstring).

    Returns (positions (n, 2) m in the arena's frame, mask (nx, ny) of bins with data,
    indices of the cells kept, spikes outside the tracking window per cell, the session's
    record for ``attrs["sessions"]`` with the visited bins under ``"_visited"``).
    """
    from mec.ratemaps import occupancy

    placed, info = place_session(s, geom, opts["align"], _offset_of(s.name, opts["offsets"]),
                                 opts["extent_range"])
    mask = inside & session_box_mask(placed, xe, ye)
    if match_any(s.name, opts["circle_sessions"]):
        mask &= circle_mask(placed, xe, ye)
    tracked = np.isfinite(placed).all(axis=1)
    beyond = tracked & ((placed[:, 0] < xe[0]) | (placed[:, 0] > xe[-1])
                        | (placed[:, 1] < ye[0]) | (placed[:, 1] > ye[-1]))
    occ = occupancy(placed, xe, ye, float(np.median(np.diff(s.times))))
    visited = (occ > 0) & mask
    outside, used = _spike_counts(s, placed)
    n_spikes = np.array([len(st) for st in s.spike_times])
    total = int(n_spikes.sum())
    window = f"{s.times[0]:.6g}-{s.times[-1]:.6g} s"
    if total and outside.sum() > MAX_SPIKES_OUTSIDE * total:
        spk = np.concatenate(s.spike_times)
        raise RecordingError(
            f"session {s.name} ({s.source}): {int(outside.sum())} of its {total} spikes "
            f"({outside.sum() / total:.0%}) fall outside the tracking window {window} (spikes "
            f"run {spk.min():.6g}-{spk.max():.6g} s); spike and position times must share one "
            f"clock, in seconds")
    if outside.sum():
        warn(f"session {s.name}: {int(outside.sum())} of {total} spikes fall outside the "
             f"tracking window {window} and are not counted")
    empty = [cid for cid, u in zip(s.cell_ids, used) if u == 0]
    if empty and opts["empty_cells"] == "error":
        raise RecordingError(
            f"session {s.name} ({s.source}): cell(s) {empty} have no spike at a tracked "
            f"position inside the tracking window (spikes: "
            f"{[int(n) for c, n in zip(s.cell_ids, n_spikes) if c in empty]}); their maps "
            f"would be flat zeros. Fix the spike times, leave the cells out, or set "
            f"recordings.empty_cells: drop")
    for cid in empty:
        warn(f"session {s.name}: cell {cid} has no spike at a tracked position inside the "
             f"tracking window ({int(n_spikes[s.cell_ids.index(cid)])} spikes in all); "
             f"dropped (recordings.empty_cells: drop)")
    keep = [i for i, cid in enumerate(s.cell_ids) if cid not in empty]
    record = {"session": s.name, "animal": s.animal, "source": s.source, "units": s.units,
              **info, "samples": int(len(s.times)),
              "lost_tracking": float(1.0 - tracked.mean()),
              "beyond_edges": float(beyond.sum() / max(tracked.sum(), 1)),
              "coverage": float(visited.sum() / max(mask.sum(), 1)),
              "duration_s": float(s.times[-1] - s.times[0]), "cells": len(keep),
              "dropped_cells": empty, "spikes": total, "spikes_outside": int(outside.sum()),
              "nan_bins": int((~mask).sum()), "_visited": visited}
    return placed, mask, keep, outside, record


def build_dataset(sessions: Sequence[Session], cfg: Mapping, min_animals: int = MIN_ANIMALS):
    """The :class:`mec.data.Dataset` (with ``cell_info``) made from ``sessions``; ``cfg``
    as for :func:`ingest_dataset` (``recordings.paths`` is not needed).

    Every warning is logged (logger ``mec.data.loaders.ingest``, WARNING) and kept in
    ``dataset.attrs["warnings"]`` (JSON list), beside ``dataset.attrs["sessions"]`` (JSON
    list of per-session records: extent, shift, coverage, untracked samples, samples beyond
    the edges, NaN bins, cells, dropped cells, spikes outside the tracking window), which
    :func:`mec.data.report.describe_dataset` turns into the make_dataset log.
    ``min_animals``: animals every arena needs (ValueError naming the arena and its
    animals otherwise).
    """
    from mec.data.contract import Dataset, _arena_info
    from mec.data.loaders.cell_columns import CELL_COLUMNS, add_session_cells, store_animal
    from mec.ratemaps import PAPER, spikes_to_ratemap, time_halves

    opts = _options({**cfg, "recordings": {"paths": "-", **(cfg.get("recordings") or {})}})
    rng = np.random.default_rng(opts["seed"])
    warnings_: list[str] = []

    def warn(msg):
        warnings_.append(msg)
        log.warning(msg)

    chunk_s = float(opts["halves_chunk_s"])
    try:
        time_halves([0.0], chunk_s)
    except ValueError as err:
        raise ValueError(f"recordings.halves_chunk_s: {err}") from None
    ds = Dataset(attrs={"name": opts["name"], "source": opts["source"] or "sessions",
                        "bin_cm": opts["bin_cm"], "halves_chunk_s": chunk_s})
    geoms = {a["name"]: a["geometry"] for a in opts["arenas"]}
    speed = None if opts["speed_range"] is None else tuple(map(float, opts["speed_range"]))
    hd_speed = None if opts["hd_speed_range"] is None else tuple(map(float,
                                                                     opts["hd_speed_range"]))
    assigned = _assign(sessions, opts)
    _check_unique_ids([s for ss in assigned.values() for s in ss])
    records, coverage = [], {}
    for name, ss in assigned.items():
        geom = geoms[name]
        xe, ye, notes = arena_edges(geom, opts["bin_cm"])
        for n in notes:
            warn(n)
        arena = arena_id(name)
        ds.edges[arena] = (xe, ye)
        ds.arenas[arena] = _arena_info(geom)
        inside = geom.inside(xe, ye)
        ds.recipes[arena] = PAPER
        per_animal: dict[str, dict[str, list]] = {}
        visited_any = np.zeros(inside.shape, dtype=bool)
        for s in ss:
            placed, mask, keep, outside, rec_info = _prepare_session(s, geom, xe, ye, inside,
                                                                     opts, warn)
            rec_info["arena"] = name
            records.append(rec_info)
            visited_any |= rec_info.pop("_visited")
            circle = geom.shape == "circle" or match_any(s.name, opts["circle_sessions"])
            if not keep:
                continue
            maps = spikes_to_ratemap(placed, s.times, [s.spike_times[i] for i in keep], xe, ye,
                                     speed_range=speed, min_occupancy_s=opts["min_occupancy_s"],
                                     mask=mask)
            rec = per_animal.setdefault(s.animal, {k: [] for k in CELL_COLUMNS})
            add_session_cells(rec, s, maps, keep, outside, placed, mask, circle, xe, ye, opts,
                              speed, hd_speed, chunk_s, rng)
        animals = sorted(per_animal)
        if len(animals) < min_animals:
            raise ValueError(
                f"arena {name!r}: recordings of {len(animals)} animal(s) "
                f"({', '.join(animals) or 'none with cells'}; sessions "
                f"{[s.name for s in ss]}); the noise ceiling (inter-animal consistency) "
                f"predicts each animal's cells from the other animals', so every arena needs at "
                f"least {min_animals} animals: add another animal's sessions to this arena "
                f"(recordings.arena_sessions) or leave the arena out")
        coverage[name] = float(visited_any.sum() / max(inside.sum(), 1))
        ds[arena] = {}
        ds.cell_info[arena] = {}
        for animal in animals:
            store_animal(ds, arena, animal, per_animal[animal], opts)
    ds.attrs["sessions"] = json.dumps(records)
    ds.attrs["warnings"] = json.dumps(warnings_)
    ds.attrs["coverage"] = json.dumps(coverage)  # per arena: bins visited by any session
    return ds


def ingest_dataset(out_path: str | os.PathLike, cfg: Mapping,
                   base_dir: str | os.PathLike | None = None) -> Path:
    """Load recordings, make rate maps and scores, write the dataset file (atomically).

    cfg: the config.yaml ``dataset`` section: ``source`` (a loader of
    mec.data.loaders.registry.LOADERS: kavli|nwb|generic), ``bin_cm``,
    ``arenas`` ({"1.0": {shape}, "wide": {shape: rectangle, width, height}} or a list of
    {name or size, shape, ..., sessions}), ``name``, and ``recordings`` (options in
    :data:`DEFAULTS`; may also be given at the top level). Relative ``paths`` are resolved
    against ``base_dir`` (default: working directory). Returns the output path.
    """
    from mec.data.contract import save_dataset

    opts = _options(cfg)
    loader = get_loader(opts["source"])
    # the recording options this loader takes (mec.data.loaders.registry.Loader.options), when set
    kwargs = {k: opts[k] for k in loader.options if opts.get(k) is not None}
    sessions = loader.read(opts["paths"], base_dir=base_dir, **kwargs)
    ds = build_dataset(sessions, cfg)
    paths = opts["paths"] if isinstance(opts["paths"], list) else [opts["paths"]]
    ds.attrs.update({"source": opts["source"], "recordings": json.dumps([str(p) for p in paths]),
                     "n_sessions": len(sessions)})
    return save_dataset(out_path, ds)
