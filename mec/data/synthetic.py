"""The embedded default dataset: simulated multi-animal MEC recordings in open fields.

``simulate_dataset`` builds, for every arena, a set of animals (different animals per arena,
as in the paper's 2D data), each with 30-60 simultaneously "recorded" MEC cells; it returns
a :class:`mec.data.Dataset` in the contract's form (methods §4.1) with the noise-free maps and
per-cell ground truth attached. ``make_synthetic_dataset`` writes it with
:func:`mec.data.save_dataset`.

Pipeline per animal (every draw from an explicit ``numpy.random.Generator``)
----------------------------------------------------------------------------
1. **Trajectory** (:func:`simulate_trajectories`): RatInABox's 2D motion model (George et
   al. 2024, eLife 13:e85274, ``Agent.update``), whose defaults were fitted to the open-field
   rats of Sargolini et al. 2006 (Science 312:758): the rotational velocity is an
   Ornstein-Uhlenbeck (OU) process (std 120 deg/s, coherence time 0.08 s); the speed is an
   OU process in a Gaussian variable mapped onto a Rayleigh distribution of scale 0.08 m/s
   (coherence time 0.7 s; mean speed 0.08 * sqrt(pi/2) = 10 cm/s); within 0.1 m of a wall
   a spring acceleration (weight 3 (1 - thigmotaxis)^2) and a "conveyor belt" shift
   (weight 6 thigmotaxis^2) push the animal away, thigmotaxis = 0.5; a step through a wall
   bounces off it at half the mean speed. Head direction = the unit step direction
   exponentially smoothed over 0.15 s. The equations are RatInABox's (v1.x
   ``Agent._stochastic_velocity_update``, ``_wall_velocity_update``,
   ``_check_and_handle_wall_collisions``), re-implemented vectorised over animals in numpy
   rather than imported: the package steps one agent at a time in a Python loop (minutes
   for 24 animals x 20 min at 50 Hz), while this loop advances all animals of an arena
   together (a few seconds).
2. **Cells** - a heterogeneous population (fractions in ``population["fractions"]``):

   * ``grid``: hexagonal lattices of Gaussian fields (sigma = 0.14 x spacing) in
     ``n_modules`` modules with spacings 0.30 m x 1.42^k (Stensola et al. 2012, Nature
     492:72: the smallest ~30-40 cm, a constant ratio ~1.42), more cells in the small
     modules (dorsal recordings). Each animal has its own spacing scale (+-5 %), and one
     orientation and one slight elliptic stretch (up to 15 %) per module (Stensola et al.
     2015, Nature 518:207: orientations cluster ~7.5 deg off the box axes, lattices are
     sheared). Phases are uniform over the unit cell; every field gets its own gain
     (log-normal, CV ~0.4; field-to-field variability, Ismakov et al. 2017; Diehl et al.
     2017).
   * ``border``: firing that decays exponentially (3-7 cm) away from one wall (70 %), two
     adjacent walls (20 %) or three walls (10 %), over 40-100 % of each wall's length
     (Solstad et al. 2008, Science 322:1865).
   * ``heterogeneous``: irregular multi-field maps, a thresholded mixture of smooth random
     spatial patterns: ``components_per_cell`` taken from a dictionary of ``n_components``
     patterns shared by every animal in the arena (environment-anchored inputs - the same
     box, walls and cues - the simplest source of the cross-animal regularity that
     inter-animal consistency measures; Diehl et al. 2017, Neuron 94:83; Hardcastle et al.
     2017, Neuron 94:375) plus one private pattern of variance fraction
     ``private_fraction``.
   * ``head_direction``: von Mises tuning to head direction (kappa 1-4), times a nearly
     flat spatial map (a shared pattern at 5-20 % depth).
   * ``weakly_spatial``: speed cells, rate linear in running speed (Kropff et al. 2015,
     Nature 523:419), times a nearly flat spatial map like the head-direction cells'.

   Smooth random patterns are Gaussian random fields (white noise filtered by a Gaussian of
   length scale 4-10 cm, unit variance over the arena). The shared structure (module
   spacings and orientations, walls, the pattern dictionary) is what makes one animal's
   cells predictable from the others'; the private parts (phases, field gains, private
   patterns), the Poisson spiking and a slow multiplicative gain noise (log-normal OU, std
   ``gain_noise.std``, time constant ``gain_noise.tau_s``; the over-dispersion of real MEC
   and hippocampal cells, Fenton & Muller 1998, PNAS 95:3182) are what keeps it below 1
   (but see the last paragraph: random bin splits mostly measure noise).
3. **Spikes**: inhomogeneous Poisson counts per 20 ms sample from the rate along the
   trajectory, each spike placed at a uniform time within its sample.
4. **Rate maps**: :func:`mec.ratemaps.spikes_to_ratemap`, the recipe that ingests real
   recordings (methods §3.2: 5 cm bins, edges from the minimum and maximum position over all
   animals in the arena, spikes / time per bin, unvisited bins 0 before a Gaussian
   smoothing of 1 bin); bins the animal never visited (or outside a circular arena) are
   NaN afterwards.

Ground truth stored with the data: ``truth`` = each cell's noise-free spatial rate (Hz)
averaged over each bin's area (no smoothing; for head-direction and speed cells the spatial
factor, i.e. the rate averaged over head direction / speed), ``cell_types``, and per-cell
``cell_info`` columns: ``module`` (-1 if not grid), ``spacing_m``, ``orientation_rad``,
``ellipticity``, ``n_walls``, ``walls`` (e.g. "W+S"), ``peak_rate_hz``, ``mean_rate_hz``,
``hd_preferred_rad``, ``hd_kappa``, ``speed_slope`` (NaN where not applicable), ``n_spikes``
and ``reliability`` (odd vs even minutes, Spearman-Brown corrected,
:func:`mec.ratemaps.split_half_reliability`). Each animal also stores its spike counts and
time per bin (``spike_counts``, ``occupancy``: what the recipe saw) and each arena the recipe
of its maps (:data:`mec.ratemaps.PAPER`), so that other recipes and noise controls can be
made from the same spikes (methods §7.2, §7.3).

Coordinates: the arena is centred on (0, 0) ([-L/2, L/2]^2 for a square of side L), as the
models' training boxes are (methods §1.1), so model and data bins agree.

Inter-animal consistency of the default dataset (seed 0; holdout, Ridge alpha = 1, 20 % of
bins for training, 10 splits, Pearson r, methods §4.2-4.3): median 0.87 in the 1.0 m arena
(paper's 2D data: 0.83 with ElasticNet) and 0.70 in the 2.2 m arena. What sets it: with
random bin splits the Ridge map mostly interpolates each target map from its own training
bins through the smooth population, so shared versus private structure matters little
(heterogeneous cells with wholly private patterns score about as high); noise is what
lowers it. The methods §3.2 smoothing (mode "constant") also dims every map's outer ring of
bins by ~30 %, a pattern all cells share: a smoothed map of pure Poisson noise at 3 spikes
per bin still scores ~0.83 in the 1.0 m arena. Firing rates (log-normal across cells) and
the gain noise above are set to realistic values and bring the median from ~0.94
(Poisson noise only) to 0.87. Shared structure shows under structured splits (methods §4.2
"topbottom", 1.0 m: median 0.22; heterogeneous cells 0.21 with ``private_fraction`` 0.5,
0.35 when fully shared). Simulating the default dataset takes ~20 s on one core.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Mapping

import numpy as np

# The generative model's parts live beside this module (the trajectories in synthetic_motion,
# the cells and spikes in synthetic_cells); their public names are re-exported here.
from mec.data.synthetic_cells import (  # noqa: F401
    _PIXEL_M,
    CELL_TYPES,
    DEFAULT_POPULATION,
    _animal_cells,
    _check_population,
    _spike_trains,
    _world,
    border_rate,
    grid_rate,
    random_fields,
)
from mec.data.synthetic_motion import DEFAULT_MOTION, _merge, simulate_trajectories  # noqa: F401

__all__ = ["DEFAULT_ARENAS", "DEFAULT_POPULATION", "DEFAULT_MOTION", "CELL_TYPES",
           "simulate_dataset", "make_synthetic_dataset", "simulate_trajectories",
           "grid_rate", "border_rate", "random_fields"]

#: The paper's two 2D arenas (methods §3.3, §1.1): side in metres -> shape and, optionally,
#: the session length there (minutes; else ``session_min``). A 20-min RatInABox path visits
#: 74 % of the 2.2 m box's bins per animal and only 2.5 % of them in all 12 animals (the
#: holdout fit needs bins every animal visited); 60 min reaches 98.5 % and 83 %.
DEFAULT_ARENAS = {1.0: {"shape": "square"}, 2.2: {"shape": "square", "session_min": 60.0}}


def _arena_items(arenas) -> list[tuple[float, str]]:
    if arenas is None:
        arenas = DEFAULT_ARENAS
    if not isinstance(arenas, Mapping) or not arenas:
        raise ValueError(f"arenas must be a non-empty mapping size (m) -> {{'shape': ...}}, "
                         f"got {arenas!r}")
    out = []
    for key, info in arenas.items():
        try:
            size = float(key)
        except (TypeError, ValueError):
            raise ValueError(f"arena key {key!r} is not a size in metres") from None
        if not math.isfinite(size) or size <= 0:
            raise ValueError(f"arena size {key!r} must be positive")
        info = {} if info is None else info
        if not isinstance(info, Mapping):
            raise ValueError(f"arena {key!r}: expected a mapping such as {{'shape': 'square'}}, "
                             f"got {info!r}")
        unknown = set(info) - {"shape", "session_min"}
        if unknown:
            raise ValueError(f"arena {key!r}: unknown key(s) {sorted(unknown)} "
                             f"(known: shape, session_min)")
        shape = info.get("shape", "square")
        if shape not in ("square", "circle"):
            raise ValueError(f"arena {key!r}: shape {shape!r} is not 'square' or 'circle'")
        out.append((size, str(shape), info.get("session_min")))
    return sorted(out, key=lambda item: item[0])


def _session_minutes(size: float, override, session_min) -> float:
    """Minutes for one arena: the arena's own ``session_min``, else ``session_min``."""
    if override is not None:
        minutes, where = override, f"arenas[{size:.1f}].session_min"
    elif isinstance(session_min, Mapping):
        minutes = session_min.get(size, session_min.get(f"{size:.1f}"))
        where = f"session_min[{size:.1f}]"
    else:
        minutes, where = session_min, "session_min"
    try:
        minutes = float(minutes)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: need a number of minutes for arena {size:.1f}, "
                         f"got {minutes!r}") from None
    if not (math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"{where}: minutes must be positive, got {minutes!r}")
    return minutes


# ----------------------------------------------------------------------------- the dataset
def _arena_seed(seed: int, size: float, *more: int) -> np.random.SeedSequence:
    """Seed of one arena (and animal): keyed by the size in mm so arenas are independent."""
    return np.random.SeedSequence(int(seed), spawn_key=(int(round(size * 1000)),) + more)


def simulate_dataset(arenas: Mapping | None = None, n_animals: int = 12,
                     cells_per_animal: tuple[int, int] = (30, 60), session_min=20.0,
                     dt: float = 0.02, bin_cm: float = 5.0, population: Mapping | None = None,
                     motion: Mapping | None = None, seed: int = 0, progress: bool = True,
                     halves_chunk_s: float = 60.0):
    """Simulate multi-animal MEC recordings; returns a :class:`mec.data.Dataset`.

    Long because: every arena's and animal's random streams are drawn in one nested loop, so
    that the order of the draws (which decides every simulated number for a seed) is in one
    place.

    arenas: ``{size_m: {"shape": "square" | "circle", "session_min": minutes (optional)}}``
    (default :data:`DEFAULT_ARENAS`: 1.0 m and 2.2 m squares, 60 min in the 2.2 m one;
    string keys such as "1.0" are accepted); n_animals: animals per arena, different
    animals in each arena, numbered on across arenas (m01..m12 in the first, m13.. in the
    next); cells_per_animal: (min, max) inclusive, drawn uniformly per animal;
    session_min: minutes per session where the arena gives none, a number or
    ``{size: minutes}``; dt: position sample
    period (s; 50 Hz); bin_cm: rate-map bin side (cm); population / motion: overrides of
    :data:`DEFAULT_POPULATION` / :data:`DEFAULT_MOTION`; seed: int, every draw comes from
    ``SeedSequence(seed)`` keyed by arena and animal, so an arena's data do not depend on
    which other arenas are simulated. halves_chunk_s: length (s) of the alternating time
    chunks of the two recording halves whose counts and time per bin are stored too
    (``half_counts``, ``half_occupancy``; the halves setting, methods §7.8).

    Cell ids: ``f"{arena:.1f}_{animal}_c{index:03d}"``, unique across the file.
    """
    from mec.data.contract import Dataset
    from mec.ratemaps import (PAPER, bin_activity, bin_spikes, bin_spikes_halves, make_edges,
                              occupancy, rates_from_counts, split_half_reliability, time_halves)

    items = _arena_items(arenas)
    n_animals = int(n_animals)
    if n_animals < 1:
        raise ValueError(f"n_animals must be >= 1, got {n_animals!r}")
    try:
        cmin, cmax = (int(c) for c in cells_per_animal)
    except (TypeError, ValueError):
        raise ValueError(f"cells_per_animal must be (min, max), got {cells_per_animal!r}") from None
    if not 1 <= cmin <= cmax:
        raise ValueError(f"cells_per_animal must satisfy 1 <= min <= max, got {cells_per_animal!r}")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt!r}")
    pop = _merge(DEFAULT_POPULATION, population, "population")
    _check_population(pop)
    mot = _merge(DEFAULT_MOTION, motion, "motion")
    time_halves([0.0], halves_chunk_s)  # ValueError for a chunk length that is not > 0

    ds = Dataset(attrs={})
    animal_counter = 0
    used_minutes = {}
    for size, shape, override in items:
        minutes = _session_minutes(size, override, session_min)
        used_minutes[f"{size:.1f}"] = minutes
        n_steps = int(round(float(minutes) * 60.0 / dt))
        names = [f"m{animal_counter + a + 1:02d}" for a in range(n_animals)]
        animal_counter += n_animals
        seeds = [_arena_seed(seed, size, a + 1) for a in range(n_animals)]
        children = [s.spawn(2) for s in seeds]      # per animal: motion, cells + spikes
        rng_motion = [np.random.default_rng(ch[0]) for ch in children]
        rng_cells = [np.random.default_rng(ch[1]) for ch in children]
        _log(progress, f"arena {size:.1f} m: trajectories of {n_animals} animals, "
                       f"{minutes} min at {1 / dt:g} Hz")
        traj = simulate_trajectories(size, n_steps, rng_motion, dt=dt, shape=shape, motion=mot)
        pos_all = traj["positions"].reshape(-1, 2)
        # methods §3.2: edges from the extremes of all animals' positions in this arena
        x_edges = make_edges(pos_all[:, 0].min(), pos_all[:, 0].max(), bin_cm)
        y_edges = make_edges(pos_all[:, 1].min(), pos_all[:, 1].max(), bin_cm)
        n_pix = int(round(size / _PIXEL_M))
        centres = -size / 2 + (np.arange(n_pix) + 0.5) * size / n_pix
        pixels = np.stack(np.meshgrid(centres, centres, indexing="ij"), axis=-1).reshape(-1, 2)
        inside_px = np.ones(len(pixels), bool) if shape == "square" else \
            np.hypot(pixels[:, 0], pixels[:, 1]) <= size / 2
        arena_mask = None
        if shape == "circle":
            xc = (x_edges[:-1] + x_edges[1:]) / 2
            yc = (y_edges[:-1] + y_edges[1:]) / 2
            arena_mask = np.hypot(xc[:, None], yc[None, :]) <= size / 2
        world = _world(size, shape, pop, np.random.default_rng(_arena_seed(seed, size, 0)), n_pix)
        ds[size] = {}
        ds.edges[size] = (x_edges, y_edges)
        ds.arenas[size] = {"size": size, "shape": shape}
        ds.truth[size], ds.cell_info[size] = {}, {}
        ds.recipes[size] = PAPER
        ds.spike_counts[size], ds.occupancy[size] = {}, {}
        ds.half_counts[size], ds.half_occupancy[size] = {}, {}
        for a, name in enumerate(_iter(names, progress, f"arena {size:.1f} m cells")):
            rng = rng_cells[a]
            n_cells = int(rng.integers(cmin, cmax + 1))
            rates_px, types, info = _animal_cells(rng, n_cells, size, shape, pop, world,
                                                  pixels, n_pix)
            pos = traj["positions"][a]
            ix = np.clip(((pos + size / 2) / size * n_pix).astype(np.int64), 0, n_pix - 1)
            times = traj["times"]
            spikes, n_spikes = _spike_trains(
                rng, rates_px, ix[:, 0] * n_pix + ix[:, 1], times, info,
                traj["head_direction"][a], traj["speed"][a], float(mot["speed_mean"]),
                float(pop["gain_noise"]["std"]), float(pop["gain_noise"]["tau_s"]))
            visited = occupancy(pos, x_edges, y_edges, dt) > 0
            mask = visited if arena_mask is None else visited & arena_mask
            # = spikes_to_ratemap(pos, times, spikes, x_edges, y_edges, mask=mask), keeping
            # the counts and time per bin for other recipes and noise controls (methods §7.2, §7.3)
            counts, occ = bin_spikes(pos, times, spikes, x_edges, y_edges)
            resp = rates_from_counts(counts, occ, PAPER, mask=mask)
            truth = bin_activity(pixels[inside_px], rates_px[inside_px], x_edges, y_edges)
            if arena_mask is not None:
                truth[~arena_mask] = np.nan
            ids = np.array([f"{size:.1f}_{name}_c{c:03d}" for c in range(n_cells)])
            ds[size][name] = {"resp": resp, "cell_ids": ids, "cell_types": np.array(types)}
            ds.truth[size][name] = truth
            ds.spike_counts[size][name] = counts
            ds.occupancy[size][name] = np.repeat(occ[..., None], n_cells, axis=2)
            # the same of the two recording halves (methods §7.8)
            hc, ho = bin_spikes_halves(pos, times, spikes, x_edges, y_edges,
                                       chunk_s=halves_chunk_s)
            ds.half_counts[size][name] = hc
            ds.half_occupancy[size][name] = np.repeat(ho[..., None], n_cells, axis=3)
            info["n_spikes"] = n_spikes
            info["reliability"] = split_half_reliability(pos, times, spikes, x_edges, y_edges,
                                                         mask=mask)
            ds.cell_info[size][name] = info
    ds.attrs = {"name": "synthetic", "source": "synthetic", "halves_chunk_s": float(halves_chunk_s),
                "provenance": json.dumps(_provenance(items, n_animals, (cmin, cmax), used_minutes,
                                                     dt, bin_cm, pop, mot, seed), sort_keys=True)}
    return ds


def _provenance(items, n_animals, cells, session_min, dt, bin_cm, pop, mot, seed) -> dict:
    from mec import __version__

    return {"generator": "mec.data.synthetic.simulate_dataset", "mec_version": __version__,
            "arenas": {f"{s:.1f}": {"shape": sh, "session_min": session_min[f"{s:.1f}"]}
                       for s, sh, _ in items},
            "n_animals": n_animals, "cells_per_animal": list(cells),
            "dt": dt, "bin_cm": bin_cm, "population": pop, "motion": mot, "seed": int(seed)}


def make_synthetic_dataset(path: str | os.PathLike, **kwargs) -> Path:
    """Simulate (:func:`simulate_dataset`, same keyword arguments) and save to ``path``.

    The config form ``cells_min=30, cells_max=60`` is accepted for ``cells_per_animal``.
    Written atomically by :func:`mec.data.save_dataset`; returns the path.
    """
    from mec.data.contract import save_dataset

    if "cells_min" in kwargs or "cells_max" in kwargs:
        if "cells_per_animal" in kwargs:
            raise ValueError("give either cells_per_animal or cells_min/cells_max, not both")
        kwargs["cells_per_animal"] = (kwargs.pop("cells_min", 30), kwargs.pop("cells_max", 60))
    ds = simulate_dataset(**kwargs)
    return save_dataset(path, ds)


def _log(progress: bool, msg: str) -> None:
    if progress:
        print(msg, file=sys.stderr, flush=True)


def _iter(seq, progress: bool, desc: str):
    if not progress:
        return seq
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency, but progress is optional
        return seq
    return tqdm(seq, desc=desc, file=sys.stderr, leave=False)
