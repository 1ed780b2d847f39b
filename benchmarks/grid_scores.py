"""Benchmark of mec.scores.grid_scores on model-layer-sized stacks, every form side by side.

A model layer at paper scale has 4096 units; its rate maps are 20 x 20 (1 m arena) or
44 x 44 bins (2.2 m). The table gives the seconds per stack for the default adaptive rings
(BNT/opexebo-style) beside the fixed-ring forms ("min_max", the previous default, and
"mean") as the reference in the same run, and the share of the maps each form calls grid
(score > 0.3). The maps: half hexagonal grids of random spacing, orientation and phase with
noise, half smooth random fields, so the call rates say whether the forms agree.

Usage: .venv/bin/python benchmarks/grid_scores.py [--units 4096] [--sizes 20 44]
Last line: ``adaptive_vs_min_max_speedup: <x>`` (CPU time, largest size).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import gaussian_filter

from mec.scores import grid_scores
from mec.scores.grid import GRID_SCORE_MODES


def stack(rng, n_side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_side, n_side, n) maps and (n,) bool "is a grid" labels."""
    x, y = np.meshgrid(np.arange(n_side) + 0.5, np.arange(n_side) + 0.5, indexing="ij")
    maps = np.empty((n_side, n_side, n))
    is_grid = np.arange(n) < n // 2
    for i in range(n):
        if is_grid[i]:
            spacing = rng.uniform(5, n_side / 2)
            k = 4 * np.pi / (np.sqrt(3) * spacing)
            th0, px, py = rng.uniform(0, 60), *rng.uniform(0, spacing, 2)
            g = sum(np.cos(k * (np.cos(np.deg2rad(th0 + a)) * (x - px) + np.sin(np.deg2rad(th0 + a)) * (y - py)))
                    for a in (0, 60, 120))
            maps[:, :, i] = np.maximum(g, 0) + 0.5 * rng.random((n_side, n_side))
        else:
            maps[:, :, i] = gaussian_filter(rng.standard_normal((n_side, n_side)), rng.uniform(1, 3))
    return maps, is_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=4096)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 44])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    # wall and CPU seconds: on a shared machine the CPU time is the one to compare
    print(f"{'bins':>7} {'units':>6} {'form':>9} {'wall s':>7} {'CPU s':>6} {'grid called':>12} "
          f"{'others called':>14}")
    speed = {}
    for n_side in args.sizes:
        maps, is_grid = stack(rng, n_side, args.units)
        for mode in GRID_SCORE_MODES:
            t0, c0 = time.perf_counter(), time.process_time()
            s = grid_scores(maps, mode=mode)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            speed[(n_side, mode)] = dc
            print(f"{n_side:>3} x {n_side:<3}{args.units:>6} {mode:>9} {dt:7.2f} {dc:6.2f} "
                  f"{np.mean(s[is_grid] > 0.3):12.2f} {np.mean(s[~is_grid] > 0.3):14.2f}", flush=True)
    big = max(args.sizes)
    print(f"adaptive_vs_min_max_speedup: {speed[(big, 'min_max')] / speed[(big, 'adaptive')]:.2f}")


if __name__ == "__main__":
    main()
