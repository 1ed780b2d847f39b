"""The random walk every trajectory of the task is made of (methods §1.1): a walk with wall
avoidance in a rectangular box, and the velocity inputs of its steps.

Pure numpy; the walk draws from the ``numpy.random.Generator`` it is given. Its own module,
below both users: :mod:`mec.task.trajectories` (the task's batches) and
:mod:`mec.task.reward` (reward-zone episodes, methods §1.4, whose walk inside the zone is this
walk), so that neither imports the other for it.
"""

from __future__ import annotations

import numpy as np

from mec import constants as C

__all__ = ["random_walk", "walk_inputs"]


def _avoid_wall(pos: np.ndarray, hd: np.ndarray, min_x, max_x, min_y, max_y, border_region):
    """Walls ahead within ``border_region``: (is_near_wall (batch,) bool, turn (batch,) rad)."""
    dists = np.stack([max_x - pos[:, 0], max_y - pos[:, 1], pos[:, 0] - min_x, pos[:, 1] - min_y])
    d_wall = dists.min(axis=0)
    theta = (np.pi / 2) * dists.argmin(axis=0)  # direction of the nearest wall: E, N, W, S
    a_wall = np.mod(hd, 2 * np.pi) - theta
    a_wall = np.mod(a_wall + np.pi, 2 * np.pi) - np.pi  # wrapped to [-pi, pi)
    near = (d_wall < border_region) & (np.abs(a_wall) < np.pi / 2)
    turn = np.where(near, np.sign(a_wall) * (np.pi / 2 - np.abs(a_wall)), 0.0)
    return near, turn


def random_walk(rng: np.random.Generator, batch_size: int, samples: int, min_x: float, max_x: float,
                min_y: float, max_y: float, start: np.ndarray | None = None, dt: float = C.DT,
                border_region: float = C.BORDER_REGION) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random walk with wall avoidance in a rectangular box (methods §1.1).

    Returns (position (batch, samples+2, 2) m, head_dir (batch, samples+2) rad,
    displacement (batch, samples+2) m): step t moves position[t] by displacement[t] along
    head_dir[t] to position[t+1]; the last displacement is 0 (no step after the walk).
    """
    position = np.zeros((batch_size, samples + 2, 2))
    head_dir = np.zeros((batch_size, samples + 2))
    disp = np.zeros((batch_size, samples + 2))
    if start is None:
        position[:, 0, 0] = rng.uniform(min_x, max_x, batch_size)
        position[:, 0, 1] = rng.uniform(min_y, max_y, batch_size)
    else:
        position[:, 0] = start
    head_dir[:, 0] = rng.uniform(0, 2 * np.pi, batch_size)
    random_turn = rng.normal(0.0, C.TURN_SIGMA, (batch_size, samples + 1))  # rad/s
    random_vel = rng.rayleigh(C.RAYLEIGH_SPEED_SCALE, (batch_size, samples + 1))  # m/s
    for t in range(samples + 1):
        near, turn = _avoid_wall(position[:, t], head_dir[:, t], min_x, max_x, min_y, max_y, border_region)
        v = np.where(near, random_vel[:, t] * C.WALL_SLOWDOWN, random_vel[:, t])
        disp[:, t] = v * dt
        position[:, t + 1, 0] = position[:, t, 0] + disp[:, t] * np.cos(head_dir[:, t])
        position[:, t + 1, 1] = position[:, t, 1] + disp[:, t] * np.sin(head_dir[:, t])
        head_dir[:, t + 1] = head_dir[:, t] + turn + dt * random_turn[:, t]
    return position, head_dir, disp


def walk_inputs(head_dir: np.ndarray, disp: np.ndarray, first: int, n: int) -> np.ndarray:
    """Velocity inputs (batch, n, 2) metres per step of steps first..first+n-1 of a walk."""
    hd = head_dir[:, first:first + n]
    d = disp[:, first:first + n]
    return np.stack([d * np.cos(hd), d * np.sin(hd)], axis=-1)
