"""Random-walk trajectories and batches of the path-integration task (methods §1.1-1.4).

Pure numpy, vectorised over the batch (the only Python loop is over time steps). Every random
number comes from an explicit ``numpy.random.Generator``; batch ``i`` of a generator with seed
``s`` is drawn from ``np.random.default_rng([s, i])``, so any batch can be regenerated on its
own (which makes training resumable and prefetching in worker threads deterministic).

Two random streams (``TrajectoryGenerator(stream=...)``, :data:`STREAMS`): ``"training"``
draws batch ``i`` from ``SeedSequence([s, i])`` (= ``default_rng([s, i])``), and
``"evaluation"`` from ``SeedSequence([s, i], spawn_key=(1,))``, numpy's mechanism for
independent child streams. Rate maps, decoding errors and knockouts use the evaluation
stream, so a model is never evaluated on the very batches it was trained on (before this,
trajectory seed 0 in the training box reproduced training batch ``i`` exactly).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import math
import time
from typing import Callable, Iterator

import numpy as np

from mec import constants as C
from mec.task.cues import check_cues as check_cue_extents, cue_inputs
from mec.task.place_cells import PlaceCells
from mec.task.reward import check_reward_zone, reward_zone_walk
from mec.task.walk import random_walk, walk_inputs  # re-exported: the walk's old import path

__all__ = ["random_walk", "walk_inputs", "TaskBatch", "TrajectoryGenerator", "prefetch", "box_from_cfg",
           "STREAMS", "batch_rng"]

#: Random streams of the task: name -> SeedSequence spawn key (module docstring).
STREAMS = {"training": (), "evaluation": (1,)}


def batch_rng(seed: int, index: int, stream: str = "training") -> np.random.Generator:
    """The Generator of batch ``index`` of trajectory ``seed`` in ``stream`` (:data:`STREAMS`)."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {sorted(STREAMS)}, got {stream!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)],
                                                        spawn_key=STREAMS[stream]))


def box_from_cfg(cfg) -> tuple[float, float, float, float]:
    """(min_x, max_x, min_y, max_y) metres from a config mapping: explicit min/max keys if all
    four are set, else [-w/2, w/2] x [-h/2, h/2] from box_width/box_height (methods §1.1), else a
    square of side ``train_arena``."""
    get = cfg.get
    keys = ("min_x", "max_x", "min_y", "max_y")
    if all(get(k) is not None for k in keys):
        box = tuple(float(get(k)) for k in keys)
    else:
        w = get("box_width", get("train_arena"))
        h = get("box_height", w)
        if w is None or h is None:
            raise ValueError(f"config gives no box: need min_x..max_y, box_width/box_height or "
                             f"train_arena; got keys {sorted(cfg)}")
        box = (-float(w) / 2, float(w) / 2, -float(h) / 2, float(h) / 2)
    if not (box[1] > box[0] and box[3] > box[2]):
        raise ValueError(f"empty box (min_x, max_x, min_y, max_y) = {box}")
    return box


@dataclasses.dataclass
class TaskBatch:
    """One batch of the path-integration task.

    velocity: (batch, T, 2) metres per step (already times dt), the network input.
    init_pos: (batch, 2) metres, the network's initial position.
    positions: (batch, T, 2) metres, targets, one step ahead of each input.
    place_targets: (batch, T, Np) place-cell vectors of ``positions`` (or positions for the
        position loss); None if the generator was asked not to compute them.
    init_place: (batch, Np) place-cell vector of ``init_pos`` (the encoder's input).
    cues: (batch, T, n_cues) metres or None.
    has_cues: (batch,) bool or None.
    reward_episode: (batch,) bool or None; True for episodes that navigate to the reward zone.
    """

    velocity: np.ndarray
    init_pos: np.ndarray
    positions: np.ndarray
    place_targets: np.ndarray | None
    init_place: np.ndarray
    cues: np.ndarray | None = None
    has_cues: np.ndarray | None = None
    reward_episode: np.ndarray | None = None

    def inputs(self) -> tuple:
        """Model inputs: (velocity, init_place) or (velocity, init_place, cues)."""
        if self.cues is None:
            return (self.velocity, self.init_place)
        return (self.velocity, self.init_place, self.cues)


class TrajectoryGenerator:
    """Batches of the task in a box, deterministic per (seed, batch index).

    Parameters
    ----------
    place_cells: the model's place cells (their centres stay those of the training box even
        when the walk happens in another box).
    batch_size, sequence_length: episodes per batch and steps per episode (200, 20; methods §1.1).
    min_x, max_x, min_y, max_y: the box of the walk, metres.
    cue_kwargs: None, or {"cue_extents": [...], "cue_prob": p} (mec.constants.CUE_2D_INPUT_KWARGS).
    reward_kwargs: None, or mec.constants.REWARD_KWARGS-like dict.
    seed: base seed; batch i uses np.random.default_rng([seed, i]) in the training stream.
    stream: "training" (the optimiser's batches) or "evaluation" (rate maps, decoding errors,
        knockouts): independent draws for the same seed (:func:`batch_rng`).
    check_cues: refuse cues outside the box or overlapping (methods §1.3). Evaluation in a smaller
        box than the training box may switch this off; distances stay well defined.
    dtype: dtype of the float arrays handed out (float32 for training).
    """

    def __init__(self, place_cells: PlaceCells, batch_size: int = C.BATCH_SIZE,
                 sequence_length: int = C.SEQUENCE_LENGTH, min_x: float = -C.BOX_WIDTH / 2,
                 max_x: float = C.BOX_WIDTH / 2, min_y: float = -C.BOX_HEIGHT / 2,
                 max_y: float = C.BOX_HEIGHT / 2, cue_kwargs: dict | None = None,
                 reward_kwargs: dict | None = None, seed: int = 0, check_cues: bool = True,
                 dtype=np.float32, stream: str = "training"):
        if batch_size < 1 or sequence_length < 1:
            raise ValueError(f"batch_size ({batch_size}) and sequence_length ({sequence_length}) must be >= 1")
        if not (max_x > min_x and max_y > min_y):
            raise ValueError(f"empty box x[{min_x}, {max_x}] y[{min_y}, {max_y}]")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {sorted(STREAMS)}, got {stream!r}")
        self.stream = stream
        self.place_cells = place_cells
        self.batch_size = int(batch_size)
        self.sequence_length = int(sequence_length)
        self.box = (float(min_x), float(max_x), float(min_y), float(max_y))
        self.seed = int(seed)
        self.dtype = dtype
        self.cue_kwargs = cue_kwargs
        if cue_kwargs is not None:
            if "cue_extents" not in cue_kwargs:
                raise ValueError(f"cue_kwargs lack 'cue_extents': {cue_kwargs!r}")
            if check_cues:
                check_cue_extents(cue_kwargs["cue_extents"], *self.box)
        self.reward_kwargs = reward_kwargs
        self.reward_zone = None
        if reward_kwargs is not None:
            self.reward_zone = check_reward_zone(reward_kwargs, *self.box)
            p = float(reward_kwargs.get("reward_zone_prob", 1.0))
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"reward_zone_prob must be in [0, 1], got {p}")

    @property
    def n_cues(self) -> int:
        return 0 if self.cue_kwargs is None else len(self.cue_kwargs["cue_extents"])

    def batch(self, index: int, place_targets: bool = True) -> TaskBatch:
        """Batch number ``index`` (any non-negative int), drawn from
        :func:`batch_rng` (seed, index, stream)."""
        rng = batch_rng(self.seed, index, self.stream)
        B, T = self.batch_size, self.sequence_length
        position, head_dir, disp = random_walk(rng, B, T, *self.box)
        # methods §1.1: the network starts at position[1]; inputs are steps 1..T; targets 2..T+1
        init_pos = position[:, 1].copy()
        velocity = walk_inputs(head_dir, disp, 1, T)
        positions = position[:, 2:T + 2].copy()
        reward_episode = None
        if self.reward_kwargs is not None:
            kw = self.reward_kwargs
            n_rew = int(math.ceil(float(kw.get("reward_zone_prob", 1.0)) * B))
            reward_episode = np.zeros(B, dtype=bool)
            reward_episode[rng.permutation(B)[:n_rew]] = True
            rvel, rpos = reward_zone_walk(rng, init_pos, T, self.reward_zone,
                                          int(kw["reward_zone_navigate_timesteps"]))
            velocity[reward_episode] = rvel[reward_episode]
            positions[reward_episode] = rpos[reward_episode]
        cues = has_cues = None
        if self.cue_kwargs is not None:
            before = np.concatenate([init_pos[:, None], positions[:, :-1]], axis=1)
            cues, has_cues = cue_inputs(rng, before, self.cue_kwargs["cue_extents"],
                                        float(self.cue_kwargs.get("cue_prob", 0.5)))
            cues = cues.astype(self.dtype)
        pc = self.place_cells
        return TaskBatch(
            velocity=velocity.astype(self.dtype),
            init_pos=init_pos.astype(self.dtype),
            positions=positions.astype(self.dtype),
            place_targets=pc.activation(positions, dtype=self.dtype) if place_targets else None,
            init_place=pc.activation(init_pos, dtype=self.dtype),
            cues=cues, has_cues=has_cues, reward_episode=reward_episode,
        )

    def get_batch(self, index: int = 0) -> TaskBatch:
        """Alias of :meth:`batch` (the original's name)."""
        return self.batch(index)

    def __iter__(self) -> Iterator[TaskBatch]:
        i = 0
        while True:
            yield self.batch(i)
            i += 1


def prefetch(make: Callable[[int], object], start: int, stop: int, workers: int | None = None,
             depth: int = 8, stats: dict | None = None) -> Iterator[object]:
    """Yield make(start), ..., make(stop - 1) in order while worker threads build the next ones.

    numpy releases the GIL in its large array operations, so a few threads keep a GPU fed;
    ``depth`` batches are in flight at most. Deterministic because batch i depends only on i.
    workers: None means the job's thread budget (``mec.threads.limit_threads``), 2 if unset.
    stats: if a dict, ``stats["wait_s"]`` accumulates the seconds the consumer waited for a
    batch that was not ready yet and ``stats["items"]`` counts the batches (0 s of waiting
    means the data never held the consumer up).
    """
    if workers is None:
        from mec.threads import thread_budget

        workers = thread_budget() or 2
    if workers < 1 or depth < 1:
        raise ValueError(f"workers ({workers}) and depth ({depth}) must be >= 1")
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        pending: collections.deque = collections.deque()
        nxt = start
        try:
            while nxt < stop and len(pending) < depth:
                pending.append(pool.submit(make, nxt))
                nxt += 1
            while pending:
                fut = pending.popleft()
                if stats is not None:
                    t0 = time.perf_counter()
                    item = fut.result()
                    stats["wait_s"] = stats.get("wait_s", 0.0) + (time.perf_counter() - t0)
                    stats["items"] = stats.get("items", 0) + 1
                else:
                    item = fut.result()
                if nxt < stop:
                    pending.append(pool.submit(make, nxt))
                    nxt += 1
                yield item
        finally:
            for f in pending:
                f.cancel()
