"""Simulated open-field trajectories of the embedded dataset (mec.data.synthetic, step 1 of
its pipeline): RatInABox's 2D motion model, vectorised over the animals of an arena.

See mec.data.synthetic's docstring for the model and its sources; ``DEFAULT_MOTION`` holds the
RatInABox ``Agent`` defaults.
"""

from __future__ import annotations

import copy
import math
from typing import Mapping, Sequence

import numpy as np

__all__ = ["DEFAULT_MOTION", "simulate_trajectories"]

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


# ----------------------------------------------------------------------------- trajectories
def simulate_trajectories(size: float, n_steps: int, rngs: Sequence[np.random.Generator],
                          dt: float = 0.02, shape: str = "square",
                          motion: Mapping | None = None) -> dict:
    """Rat-like foraging paths, RatInABox's motion model, all animals stepped together.

    Long because: one vectorised time loop of RatInABox's update (velocity OU processes, wall
    repulsion, collisions) whose steps share the state arrays of every animal; split, each
    piece would pass that whole state back and forth.

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
