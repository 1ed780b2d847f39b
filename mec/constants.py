"""Constants of the paper's models and fits (Nayebi et al. 2021), importable without TensorFlow.

Every number is from docs/methods.md; the section is cited next to it.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------
# ElasticNet hyperparameter grids (methods §4.4). alpha is in the user convention (divide by
# n_train before handing it to scikit-learn's ElasticNet). Both grids include alpha = 1.0.
# The original defines them as Python lists of the same values; numpy arrays here, so that
# ``ALPHA_RNG[ALPHA_RNG > a]`` works. Iteration, len and indexing behave as the lists did; to
# extend a grid use ``list(ALPHA_RNG) + [...]`` (``+`` on an array adds element-wise).
# ---------------------------------------------------------------------------
ALPHA_RNG = np.geomspace(1e-9, 1e9, 99)
L1_RATIO_RNG = np.array([1e-16] + list(np.linspace(0.01, 1.0, 99)))
ALPHA_RNG_SHORT = np.geomspace(1e-9, 1e9, 9)
L1_RATIO_RNG_SHORT = np.array([1e-16] + list(np.linspace(0.01, 1.0, 9)))

# ---------------------------------------------------------------------------
# Cues of the CueUGRNN model (methods §1.3): five fixed, non-overlapping squares, metres.
# ---------------------------------------------------------------------------
# The original names them CUE_1 .. CUE_5 (mec.core.constants of neuroailab/mec, still importable
# there); CUE_EXTENTS is the list of them.
CUE_1 = {"center_x": 0.0, "center_y": 0.0, "width": 0.3, "height": 0.3}
CUE_2 = {"center_x": 0.35, "center_y": 0.35, "width": 0.2, "height": 0.2}
CUE_3 = {"center_x": -0.3, "center_y": -0.3, "width": 0.1, "height": 0.1}
CUE_4 = {"center_x": 0.6, "center_y": 0.5, "width": 0.1, "height": 0.1}
CUE_5 = {"center_x": -0.7, "center_y": -0.6, "width": 0.06, "height": 0.06}
CUE_EXTENTS = [CUE_1, CUE_2, CUE_3, CUE_4, CUE_5]
CUE_2D_INPUT_KWARGS = {
    "cue_extents": CUE_EXTENTS,
    # ceil(cue_prob * batch) episodes of each batch carry cues (methods §1.3)
    "cue_prob": 0.5,
}

# ---------------------------------------------------------------------------
# Reward-zone episodes (methods §1.4), 2.2 m box; zone >= 0.15 m from every wall (Butler et al. 2019).
# ---------------------------------------------------------------------------
REWARD_KWARGS = {
    "reward_zone_size": 0.2,  # m, side of the square zone
    "reward_zone_prob": 0.625,  # fraction of episodes that navigate to the zone (eps = 0.375)
    "reward_zone_min_x": 0.65,
    "reward_zone_max_x": 0.85,
    "reward_zone_min_y": 0.65,
    "reward_zone_max_y": 0.85,
    "reward_zone_navigate_timesteps": 7,  # straight-line steps from the start to the zone centre
}
REWARD_ZONE_WALL_OFFSET = 0.15  # m, minimum distance of the zone from every wall (methods §1.4)

# ---------------------------------------------------------------------------
# Task defaults (methods §1.1, 1.2, 2.1)
# ---------------------------------------------------------------------------
DT = 0.02  # s, 50 Hz (methods §1.1)
RAYLEIGH_SPEED_SCALE = 0.13 * 2 * np.pi  # m/s, forward speed ~ Rayleigh(b) (methods §1.1)
TURN_SIGMA = 5.76 * 2  # rad/s, std of the random turn (methods §1.1)
BORDER_REGION = 0.03  # m, wall-avoidance band (methods §1.1)
WALL_SLOWDOWN = 0.25  # speed factor when heading into a nearby wall (methods §1.1)
BATCH_SIZE = 200  # episodes per batch (methods §1.1)
SEQUENCE_LENGTH = 20  # steps per episode (methods §1.1)
BOX_WIDTH = 2.2  # m, training arena side (methods §1.1)
BOX_HEIGHT = 2.2  # m
N_PLACE_CELLS = 512  # Np (methods §1.2)
PLACE_CELL_RF = 0.12  # m, DoG centre width sigma (methods §1.2; Sorscher et al. 2019)
SURROUND_SCALE = 2.0  # ratio of surround to centre variance (methods §1.2)
PLACE_CELL_SEED = 0  # fixed seed of the place-cell centres (methods §1.2)
DECODE_TOP_K = 3  # place cells averaged to decode position (methods §1.2)
N_GRID_UNITS = 4096  # Ng (methods §2.1)
LEARNING_RATE = 1e-4  # Adam (methods §2.1)
WEIGHT_DECAY = 1e-4  # on the recurrent weights (methods §2.1, 2.2)
N_EPOCHS = 100  # (methods §2.1)
N_STEPS_PER_EPOCH = 1000  # (methods §2.1)
N_EVAL_SEQ = 100  # batches of fresh trajectories for model rate maps (methods §3.1)
BIN_CM = 5.0  # cm per rate-map bin (methods §3.1)
