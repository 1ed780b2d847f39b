"""Reward-zone episodes (methods §1.4): navigate straight to a square zone, then wander inside it.

Pure numpy. The reward is not a network input in the released model; only the trajectory
statistics change.
"""

from __future__ import annotations

import numpy as np

from mec import constants as C
from mec.task.walk import random_walk, walk_inputs

__all__ = ["check_reward_zone", "reward_zone_walk"]


def check_reward_zone(kw: dict, min_x: float, max_x: float, min_y: float, max_y: float,
                      wall_offset: float = C.REWARD_ZONE_WALL_OFFSET) -> tuple[float, float, float, float]:
    """Validate reward kwargs (mec.constants.REWARD_KWARGS form) against the box.

    The zone must be a square of side ``reward_zone_size`` at least ``wall_offset`` (0.15 m,
    Butler et al. 2019) from every wall. Returns the zone (min_x, max_x, min_y, max_y).
    """
    try:
        zx0, zx1 = float(kw["reward_zone_min_x"]), float(kw["reward_zone_max_x"])
        zy0, zy1 = float(kw["reward_zone_min_y"]), float(kw["reward_zone_max_y"])
        size = float(kw["reward_zone_size"])
    except KeyError as err:
        raise ValueError(f"reward kwargs lack {err}; got {kw!r}") from err
    if not (np.isclose(zx1 - zx0, size) and np.isclose(zy1 - zy0, size)):
        raise ValueError(f"reward zone x[{zx0}, {zx1}] y[{zy0}, {zy1}] is not a square of "
                         f"side reward_zone_size={size}")
    if (zx0 < min_x + wall_offset - 1e-12 or zx1 > max_x - wall_offset + 1e-12
            or zy0 < min_y + wall_offset - 1e-12 or zy1 > max_y - wall_offset + 1e-12):
        raise ValueError(f"reward zone x[{zx0}, {zx1}] y[{zy0}, {zy1}] is closer than "
                         f"{wall_offset} m to a wall of the box x[{min_x}, {max_x}] y[{min_y}, {max_y}]")
    return zx0, zx1, zy0, zy1


def reward_zone_walk(rng: np.random.Generator, start: np.ndarray, sequence_length: int,
                     zone: tuple[float, float, float, float], navigate_timesteps: int,
                     dt: float = C.DT) -> tuple[np.ndarray, np.ndarray]:
    """Trajectories that go straight from ``start`` to the zone centre, then random-walk in it.

    start: (batch, 2) metres, the network's initial position.
    Returns (velocity (batch, T, 2) metres per step, positions (batch, T, 2) metres) with
    positions[:, t] = start + sum(velocity[:, :t+1]) exactly as in a plain walk (methods §1.1/1.4):
    ``navigate_timesteps`` equal steps reach the centre, the rest is a walk with the zone as box.
    """
    T = int(sequence_length)
    nav = int(navigate_timesteps)
    if not 1 <= nav < T:
        raise ValueError(f"reward_zone_navigate_timesteps must be in [1, sequence_length - 1 = {T - 1}], got {nav}")
    batch = start.shape[0]
    zx0, zx1, zy0, zy1 = zone
    goal = np.array([(zx0 + zx1) / 2, (zy0 + zy1) / 2])
    step = (goal - start) / nav  # (batch, 2)
    vel = np.empty((batch, T, 2))
    pos = np.empty((batch, T, 2))
    vel[:, :nav] = step[:, None, :]
    pos[:, :nav] = start[:, None, :] + step[:, None, :] * np.arange(1, nav + 1)[None, :, None]
    pos[:, nav - 1] = goal  # exact arrival (the last straight step lands on the centre)
    # the walk inside the zone starts at the centre; its own "position 0" is the goal (no
    # zero-velocity lead-in: its first step already moves), as in the released code
    zpos, zhd, zdisp = random_walk(rng, batch, T - nav - 1, zx0, zx1, zy0, zy1,
                                   start=np.broadcast_to(goal, (batch, 2)), dt=dt)
    zvel = walk_inputs(zhd, zdisp, 0, T - nav)
    vel[:, nav:] = zvel
    pos[:, nav:] = zpos[:, 1:T - nav + 1]
    return vel, pos
