# Long because: one generative model (trajectories, grid/border/random-field tuning, spikes, the
# dataset) whose seeds and parameters run through one call; next seam: the tuning-curve functions.
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
made from the same spikes (issue 13).

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

import copy
import json
import math
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["DEFAULT_ARENAS", "DEFAULT_POPULATION", "DEFAULT_MOTION", "CELL_TYPES",
           "simulate_dataset", "make_synthetic_dataset", "simulate_trajectories",
           "grid_rate", "border_rate", "random_fields"]

#: The paper's two 2D arenas (methods §3.3, §1.1): side in metres -> shape and, optionally,
#: the session length there (minutes; else ``session_min``). A 20-min RatInABox path visits
#: 74 % of the 2.2 m box's bins per animal and only 2.5 % of them in all 12 animals (the
#: holdout fit needs bins every animal visited); 60 min reaches 98.5 % and 83 %.
DEFAULT_ARENAS = {1.0: {"shape": "square"}, 2.2: {"shape": "square", "session_min": 60.0}}

#: Cell classes simulated (values of ``cell_types``).
CELL_TYPES = ("grid", "border", "heterogeneous", "head_direction", "weakly_spatial")

#: RatInABox ``Agent`` defaults (fitted to Sargolini et al. 2006; George et al. 2024).
DEFAULT_MOTION = {
    "speed_mean": 0.08,                       # m/s, Rayleigh scale of the speed
    "speed_coherence_time": 0.7,              # s
    "rotational_velocity_std": 120.0,         # deg/s
    "rotational_velocity_coherence_time": 0.08,  # s
    "thigmotaxis": 0.5,                       # 0 = no wall following, 1 = maximal
    "wall_repel_distance": 0.1,               # m
    "wall_repel_strength": 1.0,
    "head_direction_smoothing_timescale": 0.15,  # s
}

#: Population defaults; any subset may be overridden (nested dicts are merged).
DEFAULT_POPULATION = {
    # fraction of each class among an animal's cells (MEC open-field surveys: Diehl et al.
    # 2017; Hardcastle et al. 2017 - most cells are heterogeneous / non-grid)
    "fractions": {"grid": 0.2, "border": 0.1, "heterogeneous": 0.45, "head_direction": 0.1,
                  "weakly_spatial": 0.15},
    "grid": {
        "n_modules": 4,
        "spacing_m": 0.30,          # smallest module (Stensola et al. 2012)
        "spacing_ratio": 1.42,      # between successive modules (Stensola et al. 2012)
        "module_probs": [0.4, 0.3, 0.2, 0.1],
        "spacing_jitter": 0.05,     # per-animal log-normal scale of all spacings
        "orientation_offset_deg": 7.5,  # Stensola et al. 2015
        "orientation_std_deg": 3.0,
        "ellipticity_max": 0.15,    # stretch 1 + U(0, max) along a random axis
        "field_sigma": 0.14,        # field Gaussian sigma / spacing
        "field_cv": 0.4,            # field-to-field gain variability
        "peak_rate_hz": 5.0,        # median peak rate (mouse MEC); log-normal across cells
    },
    "border": {
        "n_walls_probs": [0.7, 0.2, 0.1],   # 1, 2 adjacent, 3 walls
        "decay_m": [0.03, 0.07],
        "extent": [0.4, 1.0],              # fraction of the wall covered
        "peak_rate_hz": 5.0,
    },
    "heterogeneous": {
        "n_components": 30,
        "components_per_cell": 3,
        "private_fraction": 0.5,    # variance of a cell's pattern that is animal-specific
        "length_scale_m": [0.04, 0.10],  # Gaussian filter sigma of the patterns
        "threshold": [0.0, 1.0],    # in std of the pattern: higher = sparser fields
        "peak_rate_hz": 4.0,
    },
    "head_direction": {"kappa": [1.0, 4.0], "mean_rate_hz": 1.5, "spatial_depth": [0.05, 0.2]},
    "weakly_spatial": {"speed_slope": [0.3, 1.0], "mean_rate_hz": 2.5,
                       "spatial_depth": [0.05, 0.2]},
    # log-normal spread (natural-log sd) of peak / mean rates across cells: firing rates in
    # cortex and hippocampus span orders of magnitude (Buzsaki & Mizuseki 2014)
    "peak_rate_log_sd": 1.0,
    "baseline": 0.05,               # out-of-field rate, fraction of the peak
    # slow multiplicative gain (log-normal, log-sd std, OU time constant tau_s): the
    # pass-to-pass over-dispersion of spatial cells (Fenton & Muller 1998)
    "gain_noise": {"std": 1.0, "tau_s": 2.0},
}

_PIXEL_M = 0.01     # resolution of the rate functions' lookup grid (1 cm)
_WALLS = ("W", "S", "E", "N")   # x = lo, y = lo, x = hi, y = hi


# ----------------------------------------------------------------------------- parameters
def _merge(defaults: Mapping, given: Mapping | None, where: str) -> dict:
    """Deep-merge ``given`` into a copy of ``defaults``; unknown keys raise ValueError."""
    out = copy.deepcopy(dict(defaults))
    for key, value in (given or {}).items():
        if key not in out:
            raise ValueError(f"{where}: unknown key {key!r} (known: {sorted(out)})")
        if isinstance(out[key], dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"{where}.{key} must be a mapping, got {value!r}")
            out[key] = _merge(out[key], value, f"{where}.{key}")
        else:
            out[key] = value
    return out


def _check_population(pop: dict) -> None:
    fr = pop["fractions"]
    vals = np.array([float(fr[k]) for k in CELL_TYPES])
    if np.any(vals < 0) or not np.isclose(vals.sum(), 1.0, atol=1e-6):
        raise ValueError(f"population.fractions must be >= 0 and sum to 1, got {fr}")
    g = pop["grid"]
    if len(g["module_probs"]) != int(g["n_modules"]):
        raise ValueError(f"population.grid.module_probs has {len(g['module_probs'])} entries "
                         f"for n_modules={g['n_modules']}")
    if not 0.0 <= float(pop["heterogeneous"]["private_fraction"]) <= 1.0:
        raise ValueError("population.heterogeneous.private_fraction must lie in [0, 1], got "
                         f"{pop['heterogeneous']['private_fraction']!r}")
    if int(pop["heterogeneous"]["components_per_cell"]) > int(pop["heterogeneous"]["n_components"]):
        raise ValueError("population.heterogeneous.components_per_cell exceeds n_components")


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


# ----------------------------------------------------------------------------- trajectories
def simulate_trajectories(size: float, n_steps: int, rngs: Sequence[np.random.Generator],
                          dt: float = 0.02, shape: str = "square",
                          motion: Mapping | None = None) -> dict:
    """Rat-like foraging paths, RatInABox's motion model, all animals stepped together.

    size: arena side (square) or diameter (circle), metres, centred on (0, 0); n_steps:
    samples per animal at ``dt`` seconds; rngs: one Generator per animal (each animal's
    draws depend only on its own Generator); motion: overrides of :data:`DEFAULT_MOTION`.

    Returns ``{"positions": (n_animals, n_steps, 2) m, "head_direction": (n_animals,
    n_steps) rad, "speed": (n_animals, n_steps) m/s, "times": (n_steps,) s}``.
    """
    p = _merge(DEFAULT_MOTION, motion, "motion")
    n = len(rngs)
    if n < 1 or n_steps < 2:
        raise ValueError(f"need at least one animal and two steps, got {n} and {n_steps}")
    if shape not in ("square", "circle"):
        raise ValueError(f"shape {shape!r} is not 'square' or 'circle'")
    half = size / 2.0
    sig_v = float(p["speed_mean"])
    tau_v = float(p["speed_coherence_time"])
    sig_w = math.radians(float(p["rotational_velocity_std"]))
    tau_w = float(p["rotational_velocity_coherence_time"])
    thig = float(p["thigmotaxis"])
    d = float(p["wall_repel_distance"])
    v0 = float(p["wall_repel_strength"]) * sig_v
    k_spring = v0 ** 2 / d ** 2
    w_spring = 3.0 * (1.0 - thig) ** 2
    w_belt = 6.0 * thig ** 2

    # Per-animal draws: start, heading and the two white-noise sequences of the OU processes.
    pos = np.empty((n, 2))
    heading = np.empty(n)
    noise_w = np.empty((n_steps, n))
    noise_v = np.empty((n_steps, n))
    for i, rng in enumerate(rngs):
        if shape == "square":
            pos[i] = rng.uniform(-half, half, size=2)
        else:
            r, a = half * math.sqrt(rng.uniform()), rng.uniform(0, 2 * np.pi)
            pos[i] = (r * math.cos(a), r * math.sin(a))
        heading[i] = rng.uniform(0, 2 * np.pi)
        noise_w[:, i] = rng.standard_normal(n_steps)
        noise_v[:, i] = rng.standard_normal(n_steps)
    vel = sig_v * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    rot = np.zeros(n)
    # RatInABox's Euler step of an OU process: dx = -x dt / tau + sqrt(2 sigma^2 dt / tau) N
    noise_w *= math.sqrt(2.0 * sig_w ** 2 * dt / tau_w)
    noise_v *= math.sqrt(2.0 * dt / tau_v)
    keep_w, keep_v = 1.0 - dt / tau_w, 1.0 - dt / tau_v
    inv_2s2 = 1.0 / (2.0 * sig_v ** 2)
    if shape == "square" and size <= 2 * d:
        raise ValueError(f"arena of {size} m is too small for wall_repel_distance {d} m")
    from scipy.special import log_ndtr, ndtri

    out_pos = np.empty((n_steps, 2, n))
    out_pos[0] = pos.T
    px, py = pos[:, 0].copy(), pos[:, 1].copy()
    vx, vy = vel[:, 0].copy(), vel[:, 1].copy()
    inner = half - d                     # walls repel beyond this distance from the centre
    c_acc = w_spring * dt * k_spring
    c_belt = w_belt * dt * v0
    lo_p, hi_p = 1e-12, 1.0 - 1e-12
    for t in range(1, n_steps):
        # rotational velocity (OU, drift 0) turns the velocity vector
        rot *= keep_w
        rot += noise_w[t]
        th = rot * dt
        c, s = np.cos(th), np.sin(th)
        vx, vy = c * vx - s * vy, s * vx + c * vy
        # speed: OU in a normal variable mapped onto a Rayleigh distribution of scale sig_v
        speed = np.hypot(vx, vy)
        np.maximum(speed, 1e-8, out=speed)
        q = -np.expm1(speed * speed * -inv_2s2)
        z = ndtri(np.minimum(np.maximum(q, lo_p, out=q), hi_p, out=q))
        z *= keep_v
        z += noise_v[t]
        f = sig_v * np.sqrt(-2.0 * log_ndtr(-z)) / speed
        vx *= f
        vy *= f
        ox, oy = px, py
        # wall repulsion within d of a wall: spring acceleration of the velocity plus a
        # conveyor-belt shift of the position (thigmotaxis sets the balance)
        if shape == "square":
            for axis in (0, 1):
                u = px if axis == 0 else py
                near = np.abs(u) - inner
                if near.max() > 0:
                    np.maximum(near, 0.0, out=near)
                    inward = -np.sign(u)
                    acc = c_acc * near * inward
                    belt = c_belt * (1.0 - np.sqrt(np.maximum(1.0 - (near / d) ** 2, 0.0))) * inward
                    if axis == 0:
                        vx = vx + acc
                        px = px + belt
                    else:
                        vy = vy + acc
                        py = py + belt
        else:
            r = np.hypot(px, py)
            near = r - inner
            if near.max() > 0:
                np.maximum(near, 0.0, out=near)
                rr = np.maximum(r, 1e-12)
                mag_a = c_acc * near / rr
                mag_b = c_belt * (1.0 - np.sqrt(np.maximum(1.0 - (near / d) ** 2, 0.0))) / rr
                vx, vy = vx - mag_a * px, vy - mag_a * py
                px, py = px - mag_b * px, py - mag_b * py
        px = px + vx * dt
        py = py + vy * dt
        # a step through a wall bounces off it at half the mean speed, from the previous
        # position (RatInABox's _check_and_handle_wall_collisions)
        if shape == "square":
            hx, hy = np.abs(px) > half, np.abs(py) > half
            rows = hx | hy
            if rows.any():
                vx = np.where(hx, -vx, vx)
                vy = np.where(hy, -vy, vy)
                g = np.where(rows, 0.5 * sig_v / np.hypot(vx, vy), 1.0)
                vx, vy = vx * g, vy * g
                px = np.clip(np.where(rows, ox + vx * dt, px), -half, half)
                py = np.clip(np.where(rows, oy + vy * dt, py), -half, half)
        else:
            r = np.hypot(px, py)
            rows = r > half
            if rows.any():
                nx_, ny_ = px / r, py / r
                vn = np.maximum(vx * nx_ + vy * ny_, 0.0)
                bx, by = vx - 2 * vn * nx_, vy - 2 * vn * ny_
                g = 0.5 * sig_v / np.maximum(np.hypot(bx, by), 1e-12)
                vx, vy = np.where(rows, bx * g, vx), np.where(rows, by * g, vy)
                px, py = np.where(rows, ox + vx * dt, px), np.where(rows, oy + vy * dt, py)
                r = np.hypot(px, py)
                shrink = np.where(r > half, half / np.maximum(r, 1e-12), 1.0)
                px, py = px * shrink, py * shrink
        out_pos[t, 0] = px
        out_pos[t, 1] = py
    positions = out_pos.transpose(2, 0, 1).copy()
    speed, hd = _speed_and_head_direction(positions, dt,
                                          float(p["head_direction_smoothing_timescale"]))
    return {"positions": positions, "head_direction": hd, "speed": speed,
            "times": np.arange(n_steps) * dt}


def _speed_and_head_direction(positions: np.ndarray, dt: float, tau: float):
    """Speed (m/s) and head direction (rad) of each sample from positions (n, T, 2).

    Speed = length of the step into the sample / dt (the first sample repeats the second);
    head direction = angle of the step directions (unit vectors) exponentially smoothed
    over ``tau`` s (RatInABox: head direction = smoothed direction of motion).
    """
    from scipy.signal import lfilter

    step = np.diff(positions, axis=1) / dt
    step = np.concatenate([step[:, :1], step], axis=1)
    speed = np.hypot(step[..., 0], step[..., 1])
    unit = step / np.maximum(speed, 1e-12)[..., None]
    if tau > dt:
        a = dt / tau
        unit = lfilter([a], [1.0, -(1.0 - a)], unit, axis=1, zi=(1.0 - a) * unit[:, :1])[0]
    return speed, np.arctan2(unit[..., 1], unit[..., 0])


# ----------------------------------------------------------------------------- rate functions
def grid_rate(points: np.ndarray, spacing: float, orientation: float, phase: np.ndarray,
              ellipticity: float = 0.0, stretch_angle: float = 0.0, field_sigma: float = 0.14,
              field_gains: np.ndarray | None = None) -> np.ndarray:
    """Noise-free grid-cell rate (peak 1 for gain 1) at ``points`` (n, 2) metres.

    A hexagonal lattice of vertices ``phase + B @ (i, j)`` with B the basis of side
    ``spacing`` (m) rotated by ``orientation`` (rad) and stretched by ``1 + ellipticity``
    along ``stretch_angle``; each vertex carries a Gaussian field of sigma
    ``field_sigma * spacing`` scaled by ``field_gains[(i, j) mod shape]`` (a 2-d array of
    per-field gains; default all 1). Returns (n,).
    """
    points = np.asarray(points, dtype=float)
    c, s = math.cos(orientation), math.sin(orientation)
    base = spacing * np.array([[c, math.cos(orientation + np.pi / 3)],
                               [s, math.sin(orientation + np.pi / 3)]])
    if ellipticity:
        cs, ss = math.cos(stretch_angle), math.sin(stretch_angle)
        rot = np.array([[cs, -ss], [ss, cs]])
        base = rot @ np.diag([1.0 + ellipticity, 1.0]) @ rot.T @ base
    rel = points - np.asarray(phase, dtype=float)
    frac = rel @ np.linalg.inv(base).T                                # lattice coordinates
    lo = np.floor(frac)
    best = np.full(len(points), np.inf)
    best_ij = np.zeros((len(points), 2))
    for di in (0.0, 1.0):
        for dj in (0.0, 1.0):
            ij = lo + np.array([di, dj])
            d2 = ((rel - ij @ base.T) ** 2).sum(axis=1)
            closer = d2 < best
            best = np.where(closer, d2, best)
            best_ij[closer] = ij[closer]
    rate = np.exp(-best / (2.0 * (field_sigma * spacing) ** 2))
    if field_gains is not None:
        g = np.asarray(field_gains)
        ii = best_ij.astype(np.int64)
        rate = rate * g[ii[:, 0] % g.shape[0], ii[:, 1] % g.shape[1]]
    return rate


def _wall_distances(points: np.ndarray, size: float, shape: str) -> np.ndarray:
    """Distance (m) of each point to each wall W, S, E, N; (n, 4). Circle: quadrant arcs."""
    half = size / 2.0
    if shape == "square":
        return np.concatenate([points + half, half - points], axis=1)
    r = np.hypot(points[:, 0], points[:, 1])
    ang = np.arctan2(points[:, 1], points[:, 0])
    # the circle's wall split into four arcs centred on W, S, E, N
    d = np.full((len(points), 4), np.inf)
    centres = np.array([np.pi, -np.pi / 2, 0.0, np.pi / 2])
    for k, a0 in enumerate(centres):
        delta = np.abs(np.angle(np.exp(1j * (ang - a0))))
        d[:, k] = np.where(delta <= np.pi / 4, half - r, np.inf)
    return d


def border_rate(points: np.ndarray, size: float, walls: Sequence[int], decay: float,
                extents: Sequence[tuple[float, float]], shape: str = "square") -> np.ndarray:
    """Border-cell rate (peak ~1) at ``points`` (n, 2) metres.

    walls: indices into W, S, E, N; decay: exponential length scale away from the wall (m);
    extents: per wall, (start, end) of the covered stretch as fractions of the wall's length
    (edges softened over 5 % of it). Returns (n,).
    """
    points = np.asarray(points, dtype=float)
    half = size / 2.0
    dist = _wall_distances(points, size, shape)
    rate = np.zeros(len(points))
    for w, (a, b) in zip(walls, extents):
        if shape == "square":
            along = points[:, 1] if w in (0, 2) else points[:, 0]
            u = (along + half) / size
        else:
            ang = np.arctan2(points[:, 1], points[:, 0])
            a0 = (np.pi, -np.pi / 2, 0.0, np.pi / 2)[w]
            u = np.angle(np.exp(1j * (ang - a0))) / (np.pi / 2) + 0.5
        env = 1.0 / (1.0 + np.exp(-(u - a) / 0.05)) / (1.0 + np.exp((u - b) / 0.05))
        dw = np.where(np.isfinite(dist[:, w]), dist[:, w], np.inf)
        rate = np.maximum(rate, env * np.exp(-np.maximum(dw, 0.0) / decay))
    return rate


def random_fields(rng: np.random.Generator, n_fields: int, n_pix: int, length_scales,
                  pixel_m: float = _PIXEL_M) -> np.ndarray:
    """Smooth Gaussian random fields on an ``n_pix`` x ``n_pix`` grid of ``pixel_m`` pixels.

    White noise filtered by a Gaussian of sigma ``length_scales`` (m; one per field)
    through the FFT on a grid padded by 4 sigma (no wrap-around), then standardised to zero
    mean and unit variance over the grid. Returns (n_fields, n_pix, n_pix).
    """
    from scipy import fft

    ls = np.broadcast_to(np.asarray(length_scales, dtype=float), (n_fields,))
    if n_fields == 0:
        return np.zeros((0, n_pix, n_pix))
    pad = int(math.ceil(4.0 * ls.max() / pixel_m))
    m = fft.next_fast_len(n_pix + 2 * pad)
    noise = rng.standard_normal((n_fields, m, m))
    fy = fft.fftfreq(m)[:, None]
    fx = fft.rfftfreq(m)[None, :]
    f2 = (fy ** 2 + fx ** 2)[None]
    sig_pix = (ls / pixel_m)[:, None, None]
    spec = fft.rfft2(noise, axes=(1, 2)) * np.exp(-2.0 * np.pi ** 2 * sig_pix ** 2 * f2)
    fields = fft.irfft2(spec, s=(m, m), axes=(1, 2))[:, pad:pad + n_pix, pad:pad + n_pix]
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    fields /= fields.std(axis=(1, 2), keepdims=True)
    return fields


# ----------------------------------------------------------------------------- populations
def _lognormal(rng, median, sd, size=None):
    return median * np.exp(sd * rng.standard_normal(size))


def _uniform(rng, bounds, size=None):
    lo, hi = bounds
    return rng.uniform(lo, hi, size)


def _world(size: float, shape: str, pop: dict, rng: np.random.Generator, n_pix: int) -> dict:
    """Arena-level structure shared by every animal: the dictionary of spatial patterns."""
    het = pop["heterogeneous"]
    k = int(het["n_components"])
    ls = _uniform(rng, het["length_scale_m"], k)
    return {"components": random_fields(rng, k, n_pix, ls).reshape(k, n_pix * n_pix),
            "length_scales": ls}


def _animal_cells(rng: np.random.Generator, n_cells: int, size: float, shape: str, pop: dict,
                  world: dict, pixels: np.ndarray, n_pix: int) -> tuple[np.ndarray, list, dict]:
    """Spatial rate functions of one animal's cells on the lookup pixels.

    Returns ``rates`` (n_pixels, n_cells) Hz (spatial factor), ``types`` and ``info``
    (per-cell columns, plus private entries "_hd" / "_speed" used for the non-spatial gain).
    """
    frac = pop["fractions"]
    types = list(rng.choice(CELL_TYPES, size=n_cells, p=[float(frac[t]) for t in CELL_TYPES]))
    g = pop["grid"]
    n_mod = int(g["n_modules"])
    scale = _lognormal(rng, 1.0, float(g["spacing_jitter"]))
    mod_spacing = float(g["spacing_m"]) * float(g["spacing_ratio"]) ** np.arange(n_mod) * scale
    mod_orient = np.radians(rng.choice([-1.0, 1.0], n_mod) * float(g["orientation_offset_deg"])
                            + float(g["orientation_std_deg"]) * rng.standard_normal(n_mod))
    mod_orient = np.mod(mod_orient, np.pi / 3)
    mod_ell = rng.uniform(0.0, float(g["ellipticity_max"]), n_mod)
    mod_stretch = rng.uniform(0.0, np.pi, n_mod)
    mprobs = np.asarray(g["module_probs"], dtype=float)
    mprobs = mprobs / mprobs.sum()
    comps = world["components"]
    het = pop["heterogeneous"]
    lsd = float(pop["peak_rate_log_sd"])
    base = float(pop["baseline"])
    nan = np.full(n_cells, np.nan)
    info = {"module": np.full(n_cells, -1, dtype=np.int64), "spacing_m": nan.copy(),
            "orientation_rad": nan.copy(), "ellipticity": nan.copy(),
            "n_walls": np.zeros(n_cells, dtype=np.int64),
            "walls": np.full(n_cells, "", dtype=object),
            "peak_rate_hz": nan.copy(), "mean_rate_hz": nan.copy(),
            "hd_preferred_rad": nan.copy(), "hd_kappa": nan.copy(), "speed_slope": nan.copy()}
    het_idx = [i for i, t in enumerate(types) if t == "heterogeneous"]
    private = random_fields(rng, len(het_idx), n_pix,
                            _uniform(rng, het["length_scale_m"], len(het_idx)))
    private = private.reshape(len(het_idx), n_pix * n_pix)
    private_of = dict(zip(het_idx, private))
    rates = np.empty((len(pixels), n_cells))
    for i, kind in enumerate(types):
        if kind == "grid":
            m = int(rng.choice(n_mod, p=mprobs))
            sp = mod_spacing[m]
            c, s = math.cos(mod_orient[m]), math.sin(mod_orient[m])
            basis = sp * np.array([[c, math.cos(mod_orient[m] + np.pi / 3)],
                                   [s, math.sin(mod_orient[m] + np.pi / 3)]])
            phase = basis @ rng.uniform(0, 1, 2)
            cv = float(g["field_cv"])
            sd = math.sqrt(math.log(1 + cv ** 2))
            n_f = int(math.ceil(2 * size / sp)) + 4
            gains = np.exp(sd * rng.standard_normal((n_f, n_f)) - sd ** 2 / 2)
            shape_ = grid_rate(pixels, sp, mod_orient[m], phase, mod_ell[m], mod_stretch[m],
                               float(g["field_sigma"]), gains)
            peak = _lognormal(rng, float(g["peak_rate_hz"]), lsd)
            r = shape_ / shape_.max()
            info["module"][i], info["spacing_m"][i] = m, sp
            info["orientation_rad"][i], info["ellipticity"][i] = mod_orient[m], mod_ell[m]
        elif kind == "border":
            b = pop["border"]
            wp = np.asarray(b["n_walls_probs"], dtype=float)
            nw = int(rng.choice([1, 2, 3], p=wp / wp.sum()))
            first = int(rng.integers(4))
            walls = [(first + j) % 4 for j in range(nw)]
            extents = []
            for _ in walls:
                length = _uniform(rng, b["extent"])
                start = rng.uniform(0, 1 - length)
                extents.append((start, start + length))
            r = border_rate(pixels, size, walls, _uniform(rng, b["decay_m"]), extents, shape)
            r = r / r.max()
            peak = _lognormal(rng, float(b["peak_rate_hz"]), lsd)
            info["n_walls"][i] = nw
            info["walls"][i] = "+".join(_WALLS[w] for w in sorted(walls))
        elif kind == "heterogeneous":
            j = rng.choice(len(comps), size=int(het["components_per_cell"]), replace=False)
            w = np.abs(rng.standard_normal(len(j)))
            z_sh = (w @ comps[j]) / np.linalg.norm(w)
            z_sh = (z_sh - z_sh.mean()) / z_sh.std()
            pf = float(het["private_fraction"])
            z = math.sqrt(1 - pf) * z_sh + math.sqrt(pf) * private_of[i]
            r = np.maximum(z - _uniform(rng, het["threshold"]), 0.0)
            if r.max() <= 0:
                r = np.maximum(z - z.max() * 0.5, 0.0)
            r = r / r.max()
            peak = _lognormal(rng, float(het["peak_rate_hz"]), lsd)
        else:   # head_direction or weakly_spatial (speed): nearly flat in space
            sub = pop[kind]
            depth = _uniform(rng, sub["spatial_depth"])
            comp = comps[int(rng.integers(len(comps)))]
            mean_rate = _lognormal(rng, float(sub["mean_rate_hz"]), lsd)
            r = np.clip(1.0 + depth * comp, 0.0, None)
            r = r / r.mean()
            peak = mean_rate * r.max()
            r = r / r.max()
            if kind == "head_direction":
                info["hd_preferred_rad"][i] = rng.uniform(-np.pi, np.pi)
                info["hd_kappa"][i] = _uniform(rng, sub["kappa"])
            else:
                info["speed_slope"][i] = _uniform(rng, sub["speed_slope"])
        if kind in ("head_direction", "weakly_spatial"):
            rates[:, i] = peak * r                       # no extra baseline: already flat
        else:
            rates[:, i] = peak * (base + (1.0 - base) * r)
        info["peak_rate_hz"][i] = rates[:, i].max()
        info["mean_rate_hz"][i] = rates[:, i].mean()
    info["walls"] = info["walls"].astype(str)
    return rates, types, info


def _nonspatial_gain(info: dict, cells: np.ndarray, head_direction: np.ndarray,
                     speed: np.ndarray, speed_mean: float) -> np.ndarray:
    """Multiplicative head-direction / speed gain along the path, mean ~1; (T, len(cells)).

    Head-direction cells: von Mises exp(kappa cos(hd - preferred)) / I0(kappa) (mean 1 for
    uniform head directions); speed cells: 1 + slope (speed - mean) / mean, rectified and
    normalised to mean 1 over the session; every other cell: 1.
    """
    from scipy.special import i0

    gain = np.ones((len(head_direction), len(cells)))
    mean_speed = speed_mean * math.sqrt(math.pi / 2)      # mean of the Rayleigh speed
    for j, i in enumerate(cells):
        if np.isfinite(info["hd_kappa"][i]):
            k = info["hd_kappa"][i]
            gain[:, j] = np.exp(k * np.cos(head_direction - info["hd_preferred_rad"][i])) / i0(k)
        elif np.isfinite(info["speed_slope"][i]):
            g = np.maximum(1.0 + info["speed_slope"][i] * (speed - mean_speed) / mean_speed, 0.0)
            gain[:, j] = g / g.mean()
    return gain


def _spike_trains(rng: np.random.Generator, rates_px: np.ndarray, pix: np.ndarray,
                  times: np.ndarray, info: dict, head_direction: np.ndarray,
                  speed: np.ndarray, speed_mean: float, noise_std: float, noise_tau: float,
                  block: int = 16) -> tuple[list, np.ndarray]:
    """Inhomogeneous Poisson spike times of every cell along one path.

    rate(t) = spatial rate at the sample's lookup pixel ``pix`` (T,) x non-spatial gain x
    log-normal OU gain noise; counts per sample ~ Poisson(rate dt), each spike placed
    uniformly within +-0.49 dt of its sample time (so it is assigned back to that sample).
    Cells are processed in blocks to bound memory. Returns (spike times per cell, counts).
    """
    dt = float(times[1] - times[0])
    n_steps, n_cells = len(times), rates_px.shape[1]
    spikes, totals = [], np.zeros(n_cells, dtype=np.int64)
    for start in range(0, n_cells, block):
        cells = np.arange(start, min(start + block, n_cells))
        rate = rates_px[:, cells][pix]                        # (T, block) Hz
        rate *= _nonspatial_gain(info, cells, head_direction, speed, speed_mean)
        rate *= _gain_noise(rng, n_steps, len(cells), noise_std, noise_tau, dt)
        rate *= dt
        counts = rng.poisson(rate)
        for j, c in enumerate(cells):
            sample = np.repeat(np.arange(n_steps), counts[:, j])
            spikes.append(times[sample] + rng.uniform(-0.49 * dt, 0.49 * dt, len(sample)))
            totals[c] = len(sample)
    return spikes, totals


def _gain_noise(rng: np.random.Generator, n_steps: int, n_cells: int, std: float, tau: float,
                dt: float) -> np.ndarray:
    """Log-normal OU gain, mean 1, log-std ``std``, time constant ``tau`` s; (T, n_cells)."""
    from scipy.signal import lfilter

    if std <= 0:
        return np.ones((n_steps, n_cells))
    a = math.exp(-dt / tau)
    eps = rng.standard_normal((n_steps, n_cells)) * (std * math.sqrt(1 - a * a))
    eps[0] = rng.standard_normal(n_cells) * std          # start in the stationary state
    eta = lfilter([1.0], [1.0, -a], eps, axis=0)
    return np.exp(eta - std ** 2 / 2)


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
            # the counts and time per bin for other recipes and noise controls (issue 13)
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
