"""Head-direction score: mean resultant vector length against shuffles (methods §5).

The head-direction tuning curve is the firing rate per direction bin (spikes in the bin /
time spent facing it; 60 bins of 6 degrees), using only samples with running speed in
2-80 cm/s (methods §5; Sargolini et al. 2006). Its mean resultant vector length (MVL)

    R = |sum_b rate_b exp(i theta_b)| / sum_b rate_b

is 0 for a uniform curve and 1 for firing in one direction only. A cell is head-direction
tuned when R exceeds the (1 - alpha) quantile (alpha = 0.02, the 98th percentile) of 500
shuffles in which the spike train is shifted circularly in time by at least
``min_shift_s`` (20 s) relative to the tracking, which keeps its temporal structure but
breaks its relation to the head's direction (methods §5; Boccara et al. 2010 use the same
recipe). Spikes are assigned to the nearest tracking sample, as in the rate maps
(:func:`mec.ratemaps.spikes_to_ratemap`), so a shift is a whole number of samples.
"""

from __future__ import annotations

import numpy as np

__all__ = ["head_direction_score", "head_direction_from_leds", "mean_vector_length",
           "HD_SPEED_RANGE", "HD_SHUFFLES", "HD_ALPHA", "HD_BINS"]

#: Speed filter for head-direction scores, m/s (methods §5: 2-80 cm/s).
HD_SPEED_RANGE = (0.02, 0.80)
#: Number of circular spike-time shuffles (methods §5).
HD_SHUFFLES = 500
#: Significance level: MVL above the 98th percentile of the shuffles (methods §5).
HD_ALPHA = 0.02
#: Direction bins of the tuning curve (6 degrees each).
HD_BINS = 60


def head_direction_from_leds(x1, y1, x2, y2) -> np.ndarray:
    """Head direction (rad, in [-pi, pi)) from two tracking LEDs: the direction from LED 2
    to LED 1. NaN where either LED is lost. Any constant offset between this and the true
    heading (which LED is in front) leaves the MVL and its significance unchanged."""
    hd = np.arctan2(np.asarray(y1, float) - np.asarray(y2, float),
                    np.asarray(x1, float) - np.asarray(x2, float))
    return np.mod(hd + np.pi, 2 * np.pi) - np.pi


def mean_vector_length(rates: np.ndarray) -> np.ndarray:
    """MVL of tuning curves ``rates`` (..., n_bins) over equal bins of [0, 2pi); NaN if
    a curve is all zero."""
    rates = np.asarray(rates, dtype=float)
    n_bins = rates.shape[-1]
    theta = (np.arange(n_bins) + 0.5) * 2 * np.pi / n_bins
    total = rates.sum(axis=-1)
    vec = rates @ np.exp(1j * theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.abs(vec) / total, np.nan)


def head_direction_score(head_direction: np.ndarray, times: np.ndarray,
                         spike_times: np.ndarray, positions: np.ndarray | None = None,
                         speed_range: tuple[float, float] | None = HD_SPEED_RANGE,
                         n_bins: int = HD_BINS, n_shuffles: int = HD_SHUFFLES,
                         alpha: float = HD_ALPHA, min_shift_s: float = 20.0,
                         seed: int | np.random.Generator = 0) -> dict:
    """Head-direction MVL of one cell and its significance against circular shuffles.

    head_direction: (n,) radians at the tracking ``times`` (n,) s (NaN = unknown);
    spike_times: (k,) s; positions: (n, 2) m for the speed filter (``speed_range`` in m/s;
    None, or positions None, turns it off). Returns a dict: ``mvl`` (float),
    ``threshold`` (the (1 - alpha) quantile of the shuffled MVLs), ``p_value`` ((1 + number
    of shuffles >= mvl) / (1 + n_shuffles)), ``significant`` (bool: mvl > threshold),
    ``preferred_direction`` (rad), ``n_spikes`` (spikes used). All NaN / False when the
    cell has no usable spike.
    """
    hd = np.asarray(head_direction, dtype=float).ravel()
    t = np.asarray(times, dtype=float).ravel()
    if len(hd) != len(t):
        raise ValueError(f"head_direction ({len(hd)}) and times ({len(t)}) differ in length")
    if len(t) < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("times must hold at least two strictly increasing samples")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = len(t)
    dt = float(np.median(np.diff(t)))
    valid = np.isfinite(hd)
    if speed_range is not None and positions is not None:
        pos = np.asarray(positions, dtype=float)
        if pos.shape != (n, 2):
            raise ValueError(f"positions must have shape ({n}, 2), got {pos.shape}")
        v = np.gradient(pos, t, axis=0)
        speed = np.hypot(v[:, 0], v[:, 1])
        with np.errstate(invalid="ignore"):
            valid &= (speed >= speed_range[0]) & (speed <= speed_range[1])
    hd_bin = np.full(n, -1, dtype=np.int64)
    hd_bin[valid] = np.minimum((np.mod(hd[valid], 2 * np.pi) / (2 * np.pi) * n_bins)
                               .astype(np.int64), n_bins - 1)
    occ = np.bincount(hd_bin[valid], minlength=n_bins) * dt

    st = np.asarray(spike_times, dtype=float).ravel()
    st = st[(st >= t[0] - dt / 2) & (st <= t[-1] + dt / 2)]
    sample = np.searchsorted((t[1:] + t[:-1]) / 2.0, st)          # nearest sample

    def curves(samples: np.ndarray) -> np.ndarray:
        # samples: (S, k) sample index of each spike -> (S, n_bins) rates
        b = hd_bin[samples]
        rows = np.broadcast_to(np.arange(samples.shape[0])[:, None], samples.shape)
        ok = b >= 0
        counts = np.bincount((rows[ok] * n_bins + b[ok]),
                             minlength=samples.shape[0] * n_bins).reshape(-1, n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(occ > 0, counts / np.where(occ > 0, occ, 1.0), 0.0)

    observed = curves(sample[None, :])[0]
    n_used = int((hd_bin[sample] >= 0).sum())
    nan = {"mvl": np.nan, "threshold": np.nan, "p_value": np.nan, "significant": False,
           "preferred_direction": np.nan, "n_spikes": n_used}
    if n_used == 0 or not observed.sum() > 0:
        return nan
    mvl = float(mean_vector_length(observed))
    theta = (np.arange(n_bins) + 0.5) * 2 * np.pi / n_bins
    preferred = float(np.angle(observed @ np.exp(1j * theta)))
    min_shift = int(np.ceil(min_shift_s / dt))
    if n - 2 * min_shift < 1:
        raise ValueError(f"session of {n * dt:.1f} s is too short for shuffles of at least "
                         f"{min_shift_s} s")
    shifts = rng.integers(min_shift, n - min_shift + 1, size=n_shuffles)
    shuffled = mean_vector_length(curves((sample[None, :] + shifts[:, None]) % n))
    shuffled = shuffled[np.isfinite(shuffled)]
    threshold = float(np.quantile(shuffled, 1 - alpha)) if len(shuffled) else np.nan
    return {"mvl": mvl, "threshold": threshold,
            "p_value": float((1 + np.sum(shuffled >= mvl)) / (1 + len(shuffled))),
            "significant": bool(mvl > threshold), "preferred_direction": preferred,
            "n_spikes": n_used}
