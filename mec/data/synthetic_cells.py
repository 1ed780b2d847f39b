"""Simulated MEC cells of the embedded dataset (mec.data.synthetic, steps 2-3 of its
pipeline): the tuning-curve functions (grid, border, random fields), an animal's population
of cells drawn from them, and their spikes.

See mec.data.synthetic's docstring for the model and its sources; ``DEFAULT_POPULATION`` holds
the population's parameters.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["CELL_TYPES", "DEFAULT_POPULATION", "grid_rate", "border_rate", "random_fields"]

#: Cell classes simulated (values of ``cell_types``).
CELL_TYPES = ("grid", "border", "heterogeneous", "head_direction", "weakly_spatial")

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

    Long because: one Generator draws every cell class's parameters in a fixed order, and that
    order is what a seed means (moving a draw changes every cell after it).

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
