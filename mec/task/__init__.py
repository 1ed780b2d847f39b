"""The path-integration task (methods §1): trajectories, place cells, cues and reward zones.

Pure numpy, no TensorFlow: every random number comes from an explicit numpy Generator.
"""

from mec.task.cues import check_cues, cue_distances, cue_inputs
from mec.task.place_cells import PlaceCells
from mec.task.reward import check_reward_zone, reward_zone_walk
from mec.task.trajectories import (STREAMS, TaskBatch, TrajectoryGenerator, batch_rng, box_from_cfg,
                                   prefetch, random_walk)

__all__ = ["PlaceCells", "TaskBatch", "TrajectoryGenerator", "box_from_cfg", "prefetch", "random_walk",
           "STREAMS", "batch_rng",
           "check_cues", "cue_distances", "cue_inputs", "check_reward_zone", "reward_zone_walk"]
