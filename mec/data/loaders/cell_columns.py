"""Per-cell columns of an ingested dataset (mec.data.loaders.ingest.build_dataset): each
session's kept cells, their scores and counts gathered per animal, then stored in the
:class:`mec.data.Dataset` with their types (methods §3.2, §5).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["CELL_COLUMNS", "add_session_cells", "store_animal"]

#: Per-cell columns gathered for each animal (maps, scores, counts).
CELL_COLUMNS = ("resp", "cell_ids", "session", "grid_score", "border_score", "hd_mvl",
                "hd_threshold", "hd_p_value", "hd_significant", "n_spikes", "n_spikes_outside",
                "mean_rate_hz", "shape", "reliability", "spike_counts", "occupancy",
                "half_counts", "half_occupancy")


def add_session_cells(rec: dict, s, maps, keep, outside, placed, mask, circle: bool, xe, ye,
                      opts: Mapping, speed, hd_speed, chunk_s: float, rng) -> None:
    """Append the kept cells (``keep``) of session ``s`` to its animal's columns ``rec``
    (``CELL_COLUMNS``): ``maps`` (nx, ny, n_kept) Hz, grid and border scores, the
    head-direction test (drawing its shuffles from ``rng``, cell after cell), spike counts and
    rates, the within-animal reliability, and the counts and time per bin (whole session and
    its two halves) in the arena's bins ``xe``, ``ye`` (m), zero outside ``mask``.
    ``placed``: the session's positions in the arena's frame (m); ``outside``: spikes outside
    the tracking window per cell; ``speed``, ``hd_speed``: speed filters (m/s) of the maps and
    of the head-direction test; ``chunk_s``: chunk length of the halves (s)."""
    from mec.ratemaps import bin_spikes, bin_spikes_halves, split_half_reliability
    from mec.scores import border_score, grid_scores, head_direction_score

    # the counts and time per bin behind ``maps`` (spikes_to_ratemap =
    # rates_from_counts(bin_spikes)) and each cell's within-animal reliability
    # in the arena's frame, kept cells only; nothing outside the session's mask (those
    # bins are NaN in ``maps``, and zero time keeps them unvisited in every recipe)
    filters = dict(speed_range=speed, min_occupancy_s=opts["min_occupancy_s"])
    kept = [s.spike_times[i] for i in keep]
    counts, occ = bin_spikes(placed, s.times, kept, xe, ye, **filters)
    counts[~mask] = 0.0
    occ[~mask] = 0.0
    # the two recording halves (alternating time chunks, methods §7.8), same filters
    hcounts, hocc = bin_spikes_halves(placed, s.times, kept, xe, ye, chunk_s=chunk_s,
                                      **filters)
    hcounts[:, ~mask] = 0.0
    hocc[:, ~mask] = 0.0
    reliability = split_half_reliability(placed, s.times, kept, xe, ye, mask=mask,
                                         **filters)
    gs = grid_scores(maps)
    bs = [border_score(maps[:, :, i], bin_cm=opts["bin_cm"],
                       shape="circle" if circle else "square")
          for i in range(maps.shape[2])]
    duration = float(s.times[-1] - s.times[0])
    for j, i in enumerate(keep):
        cid, st = s.cell_ids[i], s.spike_times[i]
        if s.head_direction is not None:
            hd = head_direction_score(s.head_direction, s.times, st, placed,
                                      speed_range=hd_speed,
                                      n_shuffles=int(opts["hd_shuffles"]),
                                      alpha=float(opts["hd_alpha"]), seed=rng)
        else:
            hd = {"mvl": np.nan, "threshold": np.nan, "p_value": np.nan,
                  "significant": False}
        rec["resp"].append(maps[:, :, j])
        rec["cell_ids"].append(cid)
        rec["session"].append(s.name)
        rec["grid_score"].append(gs[j])
        rec["border_score"].append(bs[j])
        rec["hd_mvl"].append(hd["mvl"])
        rec["hd_threshold"].append(hd["threshold"])
        rec["hd_p_value"].append(hd["p_value"])
        rec["hd_significant"].append(hd["significant"])
        rec["n_spikes"].append(len(st))
        rec["n_spikes_outside"].append(int(outside[i]))
        rec["mean_rate_hz"].append(len(st) / duration if duration > 0 else np.nan)
        rec["shape"].append("circle" if circle else "square")
        rec["reliability"].append(reliability[j])
        rec["spike_counts"].append(counts[:, :, j])
        rec["occupancy"].append(occ)
        rec["half_counts"].append(hcounts[..., j])
        rec["half_occupancy"].append(hocc)


def store_animal(ds, arena, animal: str, rec: dict, opts: Mapping) -> None:
    """Put one animal's gathered columns ``rec`` into ``ds``: its maps, cell ids and types
    (``classify_cells`` with the config's thresholds), counts and time per bin, and the
    per-cell ``cell_info`` columns with their types."""
    from mec.scores import classify_cells

    types = classify_cells(rec["grid_score"], rec["border_score"],
                           rec["hd_significant"], grid_threshold=opts["grid_threshold"],
                           border_threshold=opts["border_threshold"])
    ds[arena][animal] = {"resp": np.stack(rec["resp"], axis=-1),
                         "cell_ids": np.array(rec["cell_ids"], dtype=str),
                         "cell_types": types}
    ds.spike_counts.setdefault(arena, {})[animal] = np.stack(rec["spike_counts"], axis=-1)
    ds.occupancy.setdefault(arena, {})[animal] = np.stack(rec["occupancy"], axis=-1)
    ds.half_counts.setdefault(arena, {})[animal] = np.stack(rec["half_counts"], axis=-1)
    ds.half_occupancy.setdefault(arena, {})[animal] = np.stack(rec["half_occupancy"],
                                                               axis=-1)
    info = {k: np.asarray(v) for k, v in rec.items()
            if k not in ("resp", "cell_ids", "spike_counts", "occupancy", "half_counts",
                         "half_occupancy")}
    info["session"] = info["session"].astype(str)
    info["shape"] = info["shape"].astype(str)
    info["hd_significant"] = info["hd_significant"].astype(bool)
    info["n_spikes"] = info["n_spikes"].astype(np.int64)
    info["n_spikes_outside"] = info["n_spikes_outside"].astype(np.int64)
    for k in ("grid_score", "border_score", "hd_mvl", "hd_threshold", "hd_p_value",
              "mean_rate_hz", "reliability"):
        info[k] = info[k].astype(float)
    ds.cell_info[arena][animal] = info
