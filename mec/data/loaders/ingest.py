"""Recordings -> dataset contract, with scores and cell types (SPEC §3.2, §5).

:func:`ingest_dataset` loads sessions with a loader, assigns them to arenas, makes one rate
map per cell with :func:`mec.ratemaps.spikes_to_ratemap` (the function the synthetic
dataset uses), scores every cell and writes the dataset file.

Rate maps (SPEC §3.2): 5 cm bins (``bin_cm``); the edges of an arena span the minimum to
the maximum position over all its sessions (all animals), per axis; spike count per sample
/ time per bin, unvisited bins set to 0, Gaussian smoothing sigma = 1 bin; no speed filter
unless ``speed_range`` is given; ``min_occupancy_s`` optional. The number of bins per axis
is ``round(size * 100 / bin_cm)`` from the arena's nominal side (``bins_from: size``,
default, as SPEC §3.1 counts model bins from the box width), so a 1 m box is 20 x 20 bins
even when tracking overshoots the walls a little (one Sargolini session spans 104.8 cm in
y, which would otherwise give 21 bins and maps that no 1 m model map matches);
``bins_from: extent`` counts them from the positions' extent instead.

Circular arenas: a session listed in ``circle_sessions`` (or every session of an arena
whose shape is "circle") is masked: bins lying wholly outside the circle through the
session's extreme positions (centre = middle of its x and y ranges, radius = half the
larger range) are NaN in its maps. The Sargolini cylinder session (11207-21060501+02) is
kept in the 1.0 m arena with such a per-cell mask rather than given an arena of its own:
arenas are keyed by size (it is ~1 m too), a one-animal arena has no inter-animal
consistency, and the fits keep only bins finite for every source and target cell, so a
cell with NaN corners costs those corner bins, never wrong numbers.

Scores per cell (stored in ``cell_info``): ``grid_score`` (SPEC §5 ring scorer),
``border_score`` (Solstad et al. 2008), ``hd_mvl``, ``hd_threshold``, ``hd_p_value``,
``hd_significant`` (NaN / False without head direction), plus ``session``, ``n_spikes``,
``mean_rate_hz``, ``shape`` and ``reliability`` (within-animal, odd vs even minutes,
:func:`mec.ratemaps.split_half_reliability`). ``cell_types`` come from
:func:`mec.scores.classify_cells`. Each cell's spike counts and its session's time per bin
(what the recipe saw, :func:`mec.ratemaps.bin_spikes`) and the arena's recipe
(:data:`mec.ratemaps.PAPER`) are stored too (issue 13: other recipes, noise floors).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mec.data.loaders import Session, load_sessions, match_any

__all__ = ["ingest_dataset", "build_dataset", "arena_edges", "circle_mask", "DEFAULTS"]

log = logging.getLogger(__name__)

#: Defaults of the recording options (``dataset.recordings`` in config.yaml).
DEFAULTS = {
    "paths": None,                 # files, folders or globs; required
    "position_units": None,        # loader default: kavli "cm", nwb from the file, generic "m"
    "position_series": None,       # nwb only: name of the Position SpatialSeries
    "arena_sessions": None,        # {"1.0": [patterns]}; default: all sessions, one arena
    "circle_sessions": [],         # session patterns recorded in a cylinder
    "exclude": [],                 # session patterns to leave out
    "speed_range": None,           # [lo, hi] m/s filter of rate-map samples (SPEC 3.2: off)
    "min_occupancy_s": 0.0,        # bins with less time are treated as unvisited
    "bins_from": "size",           # "size" (nominal arena side) | "extent" (positions)
    "grid_threshold": 0.3,         # SPEC 5
    "border_threshold": 0.5,       # SPEC 5
    "hd_speed_range": [0.02, 0.8],  # m/s, SPEC 5
    "hd_shuffles": 500,            # SPEC 5
    "hd_alpha": 0.02,              # SPEC 5
    "seed": 0,                     # seed of the head-direction shuffles
}


def _options(cfg: Mapping) -> dict:
    """Merge ``cfg`` (a config.yaml ``dataset`` section) with DEFAULTS; reject unknown keys."""
    cfg = dict(cfg)
    rec = dict(cfg.pop("recordings", None) or {})
    top = {k: cfg.pop(k) for k in list(cfg) if k in DEFAULTS}
    known_top = {"name", "source", "bin_cm", "arenas", "synthetic"}
    unknown = sorted(set(cfg) - known_top) + sorted(set(rec) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"dataset config: unknown key(s) {unknown}; recording options are "
                         f"{sorted(DEFAULTS)}")
    opts = dict(DEFAULTS)
    opts.update(top)
    opts.update(rec)
    opts["source"] = cfg.get("source")
    opts["name"] = cfg.get("name", "recordings")
    opts["bin_cm"] = float(cfg.get("bin_cm", 5.0))
    arenas = cfg.get("arenas")
    if not arenas:
        raise ValueError("dataset config: 'arenas' is required, e.g. {'1.0': {shape: square}}")
    if isinstance(arenas, Mapping):
        arenas = [{"size": float(k), **(v or {})} for k, v in arenas.items()]
    opts["arenas"] = []
    for a in arenas:
        size = float(a["size"])
        shape = a.get("shape", "square")
        if shape not in ("square", "circle"):
            raise ValueError(f"dataset config: arena {size} shape {shape!r} is not square|circle")
        opts["arenas"].append({"size": size, "shape": shape,
                               "sessions": a.get("sessions")})
    if opts["paths"] is None:
        raise ValueError("dataset config: recordings.paths is required (files, folders or "
                         "glob patterns of the recordings)")
    if opts["bins_from"] not in ("size", "extent"):
        raise ValueError(f"dataset config: bins_from {opts['bins_from']!r} is not size|extent")
    return opts


def arena_edges(sessions: Sequence[Session], size: float, bin_cm: float = 5.0,
                bins_from: str = "size"):
    """(x_edges, y_edges) in metres over all sessions' positions (SPEC §3.2).

    Edges run from the smallest to the largest position of any session, per axis; the bin
    count is ``round(size * 100 / bin_cm)`` (``bins_from="size"``) or that of
    :func:`mec.ratemaps.make_edges` on the extent (``"extent"``).
    """
    from mec.ratemaps import make_edges

    allpos = np.concatenate([s.positions for s in sessions])
    lo = np.nanmin(allpos, axis=0)
    hi = np.nanmax(allpos, axis=0)
    edges = []
    for a in range(2):
        if bins_from == "size":
            nbins = max(1, int(round(size * 100.0 / bin_cm)))
            # make_edges counts round((hi - lo) * 100 / bin) bins: hand it the bin width
            # that gives exactly nbins over the observed extent.
            edges.append(make_edges(lo[a], hi[a], bin_cm=(hi[a] - lo[a]) * 100.0 / nbins))
        else:
            edges.append(make_edges(lo[a], hi[a], bin_cm=bin_cm))
    return tuple(edges)


def circle_mask(positions: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """(nx, ny) bool: bins that overlap the circle through the extreme positions (centre =
    middle of the x and y ranges, radius = half the larger range). A bin counts as inside
    when any part of it lies in the disc, so that no bin the animal could visit is lost."""
    lo = np.nanmin(positions, axis=0)
    hi = np.nanmax(positions, axis=0)
    centre = (lo + hi) / 2.0
    radius = float(np.max(hi - lo)) / 2.0
    # nearest point of each bin to the centre
    nx = np.clip(centre[0], x_edges[:-1], x_edges[1:])
    ny = np.clip(centre[1], y_edges[:-1], y_edges[1:])
    return np.hypot(nx[:, None] - centre[0], ny[None, :] - centre[1]) < radius


def _assign(sessions, opts) -> dict[float, list[Session]]:
    sessions = [s for s in sessions if not match_any(s.name, opts["exclude"])]
    arenas = opts["arenas"]
    mapping = opts["arena_sessions"] or {}
    patterns = {}
    for a in arenas:
        pats = a["sessions"] or mapping.get(f"{a['size']:.1f}") or mapping.get(a["size"])
        if pats is None:
            if len(arenas) > 1:
                raise ValueError(f"dataset config: {len(arenas)} arenas but no session patterns "
                                 f"for arena {a['size']}; set recordings.arena_sessions")
            pats = ["*"]
        patterns[a["size"]] = [pats] if isinstance(pats, str) else list(pats)
    out: dict[float, list[Session]] = {a["size"]: [] for a in arenas}
    for s in sessions:
        hits = [size for size, pats in patterns.items() if match_any(s.name, pats)]
        if len(hits) > 1:
            raise ValueError(f"session {s.name} ({s.source}) matches arenas {hits}")
        if not hits:
            raise ValueError(f"session {s.name} ({s.source}) matches no arena's session patterns "
                             f"{patterns}; add it there or to recordings.exclude")
        out[hits[0]].append(s)
    for size, ss in out.items():
        if not ss:
            raise ValueError(f"arena {size}: no session assigned (patterns {patterns[size]})")
    return out


def build_dataset(sessions: Sequence[Session], cfg: Mapping):
    """The :class:`mec.data.Dataset` (with ``cell_info``) made from ``sessions``; ``cfg``
    as for :func:`ingest_dataset` (``recordings.paths`` is not needed)."""
    from mec.data.contract import Dataset
    from mec.ratemaps import PAPER, bin_spikes, spikes_to_ratemap, split_half_reliability
    from mec.scores import border_score, classify_cells, grid_scores, head_direction_score

    opts = _options({**cfg, "recordings": {"paths": "-", **(cfg.get("recordings") or {})}})
    rng = np.random.default_rng(opts["seed"])
    ds = Dataset(attrs={"name": opts["name"], "source": opts["source"] or "sessions",
                        "bin_cm": opts["bin_cm"]})
    shapes = {a["size"]: a["shape"] for a in opts["arenas"]}
    speed = None if opts["speed_range"] is None else tuple(map(float, opts["speed_range"]))
    hd_speed = None if opts["hd_speed_range"] is None else tuple(map(float,
                                                                     opts["hd_speed_range"]))
    for size, ss in _assign(sessions, opts).items():
        xe, ye = arena_edges(ss, size, opts["bin_cm"], opts["bins_from"])
        ds.edges[size] = (xe, ye)
        ds.arenas[size] = {"size": size, "shape": shapes[size]}
        ds.recipes[size] = PAPER
        per_animal: dict[str, dict[str, list]] = {}
        for s in ss:
            circle = shapes[size] == "circle" or match_any(s.name, opts["circle_sessions"])
            mask = circle_mask(s.positions, xe, ye) if circle else None
            maps = spikes_to_ratemap(s.positions, s.times, s.spike_times, xe, ye,
                                     speed_range=speed, min_occupancy_s=opts["min_occupancy_s"],
                                     mask=mask)
            # issue 13: the counts and time per bin behind ``maps`` (spikes_to_ratemap =
            # rates_from_counts(bin_spikes)) and each cell's within-animal reliability
            filters = dict(speed_range=speed, min_occupancy_s=opts["min_occupancy_s"])
            counts, occ = bin_spikes(s.positions, s.times, s.spike_times, xe, ye, **filters)
            reliability = split_half_reliability(s.positions, s.times, s.spike_times, xe, ye,
                                                 mask=mask, **filters)
            gs = grid_scores(maps)
            bs = [border_score(maps[:, :, i], bin_cm=opts["bin_cm"],
                               shape="circle" if circle else "square")
                  for i in range(maps.shape[2])]
            duration = float(s.times[-1] - s.times[0])
            rec = per_animal.setdefault(s.animal, {k: [] for k in (
                "resp", "cell_ids", "session", "grid_score", "border_score", "hd_mvl",
                "hd_threshold", "hd_p_value", "hd_significant", "n_spikes", "mean_rate_hz",
                "shape", "reliability", "spike_counts", "occupancy")})
            for i, (cid, st) in enumerate(zip(s.cell_ids, s.spike_times)):
                if s.head_direction is not None:
                    hd = head_direction_score(s.head_direction, s.times, st, s.positions,
                                              speed_range=hd_speed,
                                              n_shuffles=int(opts["hd_shuffles"]),
                                              alpha=float(opts["hd_alpha"]), seed=rng)
                else:
                    hd = {"mvl": np.nan, "threshold": np.nan, "p_value": np.nan,
                          "significant": False}
                rec["resp"].append(maps[:, :, i])
                rec["cell_ids"].append(cid)
                rec["session"].append(s.name)
                rec["grid_score"].append(gs[i])
                rec["border_score"].append(bs[i])
                rec["hd_mvl"].append(hd["mvl"])
                rec["hd_threshold"].append(hd["threshold"])
                rec["hd_p_value"].append(hd["p_value"])
                rec["hd_significant"].append(hd["significant"])
                rec["n_spikes"].append(len(st))
                rec["mean_rate_hz"].append(len(st) / duration if duration > 0 else np.nan)
                rec["shape"].append("circle" if circle else "square")
                rec["reliability"].append(reliability[i])
                rec["spike_counts"].append(counts[:, :, i])
                rec["occupancy"].append(occ)
        ds[size] = {}
        ds.cell_info[size] = {}
        for animal in sorted(per_animal):
            rec = per_animal[animal]
            types = classify_cells(rec["grid_score"], rec["border_score"],
                                   rec["hd_significant"], grid_threshold=opts["grid_threshold"],
                                   border_threshold=opts["border_threshold"])
            ds[size][animal] = {"resp": np.stack(rec["resp"], axis=-1),
                                "cell_ids": np.array(rec["cell_ids"], dtype=str),
                                "cell_types": types}
            ds.spike_counts.setdefault(size, {})[animal] = np.stack(rec["spike_counts"], axis=-1)
            ds.occupancy.setdefault(size, {})[animal] = np.stack(rec["occupancy"], axis=-1)
            info = {k: np.asarray(v) for k, v in rec.items()
                    if k not in ("resp", "cell_ids", "spike_counts", "occupancy")}
            info["session"] = info["session"].astype(str)
            info["shape"] = info["shape"].astype(str)
            info["hd_significant"] = info["hd_significant"].astype(bool)
            info["n_spikes"] = info["n_spikes"].astype(np.int64)
            for k in ("grid_score", "border_score", "hd_mvl", "hd_threshold", "hd_p_value",
                      "mean_rate_hz", "reliability"):
                info[k] = info[k].astype(float)
            ds.cell_info[size][animal] = info
            log.info("arena %.1f animal %s: %d cells, types %s", size, animal,
                     len(rec["cell_ids"]), dict(zip(*np.unique(types, return_counts=True))))
    return ds


def ingest_dataset(out_path: str | os.PathLike, cfg: Mapping,
                   base_dir: str | os.PathLike | None = None) -> Path:
    """Load recordings, make rate maps and scores, write the dataset file (atomically).

    cfg: the config.yaml ``dataset`` section: ``source`` (kavli|nwb|generic), ``bin_cm``,
    ``arenas`` ({"1.0": {shape}} or a list of {size, shape, sessions}), ``name``, and
    ``recordings`` (options in :data:`DEFAULTS`; may also be given at the top level).
    Relative ``paths`` are resolved against ``base_dir`` (default: working directory).
    Returns the output path.
    """
    from mec.data.contract import save_dataset

    opts = _options(cfg)
    kwargs = {}
    if opts["position_units"] is not None:
        kwargs["position_units"] = opts["position_units"]
    if opts["source"] == "nwb" and opts["position_series"] is not None:
        kwargs["position_series"] = opts["position_series"]
    sessions = load_sessions(opts["source"], opts["paths"], base_dir=base_dir, **kwargs)
    ds = build_dataset(sessions, cfg)
    paths = opts["paths"] if isinstance(opts["paths"], list) else [opts["paths"]]
    ds.attrs.update({"source": opts["source"], "recordings": json.dumps([str(p) for p in paths]),
                     "n_sessions": len(sessions)})
    return save_dataset(out_path, ds)
