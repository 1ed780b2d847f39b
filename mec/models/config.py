"""Model configs: the defaults of one entry of config.yaml ``models:`` (contract names, the
paper's values, methods §1-2), their resolution and checks (:func:`resolve_model_cfg`), and the
place cells and trajectory generator a config implies. Re-exported by :mod:`mec.models.utils`.
"""

from __future__ import annotations

import copy

import numpy as np

from mec import constants as C
from mec.models.architectures import ACTIVATIONS, LOSSES, WEIGHT_DECAY_TARGETS, get_architecture
from mec.models.scales import PRESETS
from mec.task import PlaceCells, TrajectoryGenerator

__all__ = ["DEFAULT_MODEL_CFG", "PRESETS", "resolve_model_cfg", "place_cells_from_cfg",
           "generator_from_cfg"]


# A model config (one entry of config.yaml `models:`), contract names, paper values (methods §1-2).
DEFAULT_MODEL_CFG = {
    "architecture": "UGRNN",  # a name of mec.models.architectures.ARCHITECTURES
    "activation": "relu",  # linear | tanh | sigmoid | relu
    "loss": "place_cells",  # place_cells | position (Cueva & Wei, Np = 2)
    "cues": False,  # five square cues as extra input (methods §1.3)
    "cue_prob": C.CUE_2D_INPUT_KWARGS["cue_prob"],
    "reward_zone": False,  # reward-zone episodes (methods §1.4)
    "reward_zone_prob": C.REWARD_KWARGS["reward_zone_prob"],
    "n_units": C.N_GRID_UNITS,  # Ng
    "n_place_cells": C.N_PLACE_CELLS,  # Np
    "place_cell_rf": C.PLACE_CELL_RF,  # m
    "surround_scale": C.SURROUND_SCALE,
    "dog": True,
    "train_arena": C.BOX_WIDTH,  # m, side of the square training box
    "epochs": C.N_EPOCHS,
    "steps_per_epoch": C.N_STEPS_PER_EPOCH,
    "batch_size": C.BATCH_SIZE,
    "sequence_length": C.SEQUENCE_LENGTH,
    "learning_rate": C.LEARNING_RATE,
    "weight_decay": C.WEIGHT_DECAY,
    # original_bias: as released, weight_decay * sum(b**2) on the UGRNN's bias (its code decays
    # RNN.weights[1]), the recurrent matrix unregularised; recurrent: on the recurrent kernel.
    # At demo scale "recurrent" drove the recurrent RMS from 0.044 to 8e-4 (a gated input
    # accumulator, 11.9 cm) where "original_bias" kept 0.19 (4.7 cm); methods §2.2.
    "weight_decay_target": "original_bias",
    "untrained": False,
    "seed": 0,
    "mixed_precision": False,  # bfloat16 compute, float32 weights (GPU speed; not in the paper)
}

# PRESETS (imported above): the scales tiny, demo, fig2demo and paper of mec.models.scales,
# the one table of them, re-exported here where the original's users look for model settings.


def resolve_model_cfg(cfg: dict | None = None, preset: str | None = None) -> dict:
    """Model config with every key present: DEFAULT_MODEL_CFG < preset < cfg.

    Raises ValueError on unknown keys (so typos are not silently ignored) and bad values.
    The position loss forces n_place_cells = 2 (methods §1.2).
    """
    out = dict(DEFAULT_MODEL_CFG)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
        # n_eval_batches is a rate-map setting, not part of the network (train.METADATA_KEYS)
        out.update({k: v for k, v in PRESETS[preset].items() if k in DEFAULT_MODEL_CFG})
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(DEFAULT_MODEL_CFG))
    if unknown:
        raise ValueError(f"unknown model config keys {unknown}; known: {sorted(DEFAULT_MODEL_CFG)}")
    out.update(cfg)
    if out["loss"] == "position":
        out["n_place_cells"] = 2
    for key in ("n_units", "n_place_cells", "epochs", "steps_per_epoch", "batch_size", "sequence_length", "seed"):
        if not isinstance(out[key], (int, np.integer)) or isinstance(out[key], bool) or out[key] < 0:
            raise ValueError(f"model config {key} must be a non-negative int, got {out[key]!r}")
        out[key] = int(out[key])
    for key in ("n_units", "n_place_cells", "batch_size", "sequence_length"):
        if out[key] < 1:
            raise ValueError(f"model config {key} must be >= 1, got {out[key]}")
    for key in ("train_arena", "place_cell_rf", "surround_scale", "learning_rate", "weight_decay",
                "cue_prob", "reward_zone_prob"):
        out[key] = float(out[key])
    if out["train_arena"] <= 0:
        raise ValueError(f"model config train_arena must be > 0 m, got {out['train_arena']}")
    get_architecture(out["architecture"], where="model config architecture")
    if out["activation"] not in ACTIVATIONS:
        raise ValueError(f"model config activation must be one of {ACTIVATIONS}, got {out['activation']!r}")
    if out["loss"] not in LOSSES:
        raise ValueError(f"model config loss must be one of {LOSSES}, got {out['loss']!r}")
    if out["weight_decay_target"] not in WEIGHT_DECAY_TARGETS:
        raise ValueError(f"model config weight_decay_target must be one of {WEIGHT_DECAY_TARGETS}, "
                         f"got {out['weight_decay_target']!r}")
    for key in ("cues", "reward_zone", "dog", "untrained", "mixed_precision"):
        out[key] = bool(out[key])
    return out


def place_cells_from_cfg(cfg: dict) -> PlaceCells:
    """The model's place cells: centres in its training box, fixed seed (methods §1.2)."""
    a = float(cfg["train_arena"])
    return PlaceCells(n_cells=cfg["n_place_cells"], sigma=cfg["place_cell_rf"],
                      surround_scale=cfg["surround_scale"], dog=cfg["dog"], min_x=-a / 2, max_x=a / 2,
                      min_y=-a / 2, max_y=a / 2, seed=C.PLACE_CELL_SEED, identity=cfg["loss"] == "position")


def generator_from_cfg(cfg: dict, place_cells: PlaceCells | None = None, box=None, seed: int | None = None,
                       batch_size: int | None = None, sequence_length: int | None = None,
                       check_cues: bool = True, stream: str = "training") -> TrajectoryGenerator:
    """TrajectoryGenerator of a resolved model config: training box (or ``box``), its cues and
    reward zone (methods §1.3, 1.4), trajectory ``seed`` (default cfg["seed"]) in random
    ``stream`` ("training", or "evaluation" for everything that evaluates a model;
    mec.task.trajectories)."""
    a = float(cfg["train_arena"])
    box = box or (-a / 2, a / 2, -a / 2, a / 2)
    cue_kwargs = None
    if cfg["cues"]:
        cue_kwargs = {"cue_extents": copy.deepcopy(C.CUE_EXTENTS), "cue_prob": cfg["cue_prob"]}
    reward_kwargs = None
    if cfg["reward_zone"]:
        reward_kwargs = dict(C.REWARD_KWARGS, reward_zone_prob=cfg["reward_zone_prob"])
    return TrajectoryGenerator(place_cells or place_cells_from_cfg(cfg),
                               batch_size=batch_size or cfg["batch_size"],
                               sequence_length=sequence_length or cfg["sequence_length"],
                               min_x=box[0], max_x=box[1], min_y=box[2], max_y=box[3],
                               cue_kwargs=cue_kwargs, reward_kwargs=reward_kwargs,
                               seed=cfg["seed"] if seed is None else seed, check_cues=check_cues,
                               stream=stream)
