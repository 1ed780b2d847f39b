"""Configuration, presets and loading of trained path integrators (the original's API).

``configure_options(**overrides)`` returns the paper's defaults (SPEC 1-2) in the original's
option names; ``resolve_model_cfg(cfg)`` fills a model config (config.yaml ``models:`` entry,
contract names) with defaults; ``load_trained_model(...)`` (the original's arguments) and
``load_run(run_dir)`` (the project's, the one loader every rule uses) read ``config.json``
and ``model.keras`` of a training run and return a :class:`TrainedModel` with ``.pre_g``,
``.g`` and ``.dc``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from mec.core import constants as C
from mec.models.conditions import training_condition  # noqa: F401  (re-exported)
from mec.models.scales import PRESETS
from mec.task import PlaceCells, TrajectoryGenerator

__all__ = ["configure_options", "Options", "DEFAULT_MODEL_CFG", "PRESETS", "resolve_model_cfg",
           "place_cells_from_cfg", "generator_from_cfg", "load_trained_model", "load_run",
           "TrainedModel", "training_condition", "recurrent_weight_stats"]

log = logging.getLogger(__name__)


class Options(dict):
    """dict whose keys are also attributes (``cfg["Ng"]`` and ``cfg.Ng``), like the original's
    options object."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError as err:
            raise AttributeError(key) from err

    def __setattr__(self, key, value):
        self[key] = value


# Options the original sets to fixed values, which configure_options(**overrides) may change here,
# and the check each value must pass (name -> (kind, lower bound, lower bound inclusive)).
_OVERRIDABLE = {
    "Ng": ("int", 1, True), "Np": ("int", 1, True), "batch_size": ("int", 1, True),
    "sequence_length": ("int", 1, True), "learning_rate": ("float", 0.0, False),
    "place_cell_rf": ("float", 0.0, False), "surround_scale": ("float", 1.0, False),
    "weight_decay": ("float", 0.0, True), "DoG": ("bool", None, None),
}


def _check_number(name: str, value, kind: str = "float", lower=None, inclusive: bool = True,
                   where: str = "configure_options"):
    """value as int/float/bool after checking it, or ValueError naming the argument and value."""
    is_bool = isinstance(value, (bool, np.bool_))
    if kind == "bool":
        if not is_bool:
            raise ValueError(f"{where}: {name} must be True or False, got {value!r}")
        return bool(value)
    if kind == "int":
        ok = isinstance(value, (int, np.integer)) and not is_bool
        value_out = int(value) if ok else None
        what = "an integer"
    else:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not is_bool and np.isfinite(value)
        value_out = float(value) if ok else None
        what = "a finite number"
    if ok and lower is not None:
        ok = value_out >= lower if inclusive else value_out > lower
    if not ok:
        bound = "" if lower is None else f" {'>=' if inclusive else '>'} {lower}"
        unit = " m" if name.startswith(("box_", "min_", "max_", "reward_zone_size", "reward_zone_x",
                                         "reward_zone_y", "place_cell_rf")) else ""
        raise ValueError(f"{where}: {name} must be {what}{bound}{unit}, got {name}={value!r}")
    return value_out


def configure_options(save_dir=None, rnn_type: str = "UGRNN", activation: str = "relu",
                      place_cell_identity: bool = False, cue_2d_input_kwargs=None,
                      reward_zone_size=None, reward_zone_prob: float = 1.0,
                      reward_zone_x_offset: float = C.REWARD_ZONE_WALL_OFFSET,
                      reward_zone_y_offset: float = C.REWARD_ZONE_WALL_OFFSET,
                      reward_zone_min_x=None, reward_zone_max_x=None, reward_zone_min_y=None,
                      reward_zone_max_y=None, reward_zone_navigate_timesteps=None,
                      n_epochs: int = C.N_EPOCHS, n_steps: int = C.N_STEPS_PER_EPOCH,
                      box_width: float = C.BOX_WIDTH, box_height: float = C.BOX_HEIGHT,
                      min_x=None, min_y=None, max_x=None, max_y=None, run_ID=None, **overrides) -> Options:
    """The paper's options (SPEC 1-2), original names and argument order, as an attribute dict.

    Ng 4096, Np 512 (2 with the position loss), batch_size 200, sequence_length 20,
    learning_rate 1e-4, place_cell_rf 0.12 m, surround_scale 2, weight_decay 1e-4, DoG,
    box 2.2 m x 2.2 m, 100 epochs x 1000 steps. The box is [-w/2, w/2] x [-h/2, h/2] unless all
    of min_x, max_x, min_y, max_y are given (their spans must equal box_width/box_height).
    Keywords after the original's (this project's addition): any of Ng, Np, batch_size,
    sequence_length, learning_rate, place_cell_rf, surround_scale, weight_decay, DoG overrides
    that default (e.g. Ng=256, batch_size=50).

    Every argument is checked: sizes and counts must be positive (box_width=-2.2 is refused),
    the reward-zone probability within [0, 1], unknown keywords are refused; the ValueError
    names the argument and its value.
    """
    where = "configure_options"
    box_width = _check_number("box_width", box_width, lower=0.0, inclusive=False)
    box_height = _check_number("box_height", box_height, lower=0.0, inclusive=False)
    n_epochs = _check_number("n_epochs", n_epochs, "int", 0)
    n_steps = _check_number("n_steps", n_steps, "int", 1)
    place_cell_identity = _check_number("place_cell_identity", place_cell_identity, "bool")
    for name, value in (("rnn_type", rnn_type), ("activation", activation)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}: {name} must be a name (str) or None, got {name}={value!r}")
    if cue_2d_input_kwargs is not None and not (isinstance(cue_2d_input_kwargs, dict)
                                                and "cue_extents" in cue_2d_input_kwargs):
        raise ValueError(f"{where}: cue_2d_input_kwargs must be a dict with 'cue_extents' (as "
                         f"mec.core.constants.CUE_2D_INPUT_KWARGS), got {cue_2d_input_kwargs!r}")
    unknown = sorted(set(overrides) - set(_OVERRIDABLE))
    if unknown:
        import difflib
        known = list(inspect.signature(configure_options).parameters)[:-1] + list(_OVERRIDABLE)
        hints = {k: difflib.get_close_matches(k, known, n=1) for k in unknown}
        hint = "; ".join(f"{k!r} (did you mean {h[0]!r}?)" for k, h in hints.items() if h)
        raise ValueError(f"{where}: unknown argument(s) {unknown}{'; ' + hint if hint else ''}; "
                         f"accepted besides the original's: {sorted(_OVERRIDABLE)}")
    for name, value in overrides.items():
        kind, lower, inclusive = _OVERRIDABLE[name]
        overrides[name] = _check_number(name, value, kind, lower, bool(inclusive))
    o = Options(save_dir=save_dir, RNN_type=rnn_type, activation=activation,
                place_cell_identity=place_cell_identity, n_epochs=n_epochs, n_steps=n_steps,
                batch_size=C.BATCH_SIZE, sequence_length=C.SEQUENCE_LENGTH, learning_rate=C.LEARNING_RATE,
                Np=2 if place_cell_identity else C.N_PLACE_CELLS, Ng=C.N_GRID_UNITS,
                place_cell_rf=C.PLACE_CELL_RF, surround_scale=C.SURROUND_SCALE,
                weight_decay=C.WEIGHT_DECAY, DoG=True, box_width=box_width,
                box_height=box_height, run_ID=run_ID)
    if cue_2d_input_kwargs is not None:
        o.cue_2d_input_kwargs = cue_2d_input_kwargs
    if reward_zone_size is not None:
        reward_zone_size = _check_number("reward_zone_size", reward_zone_size, lower=0.0, inclusive=False)
        if reward_zone_prob is None:
            raise ValueError(f"{where}: reward_zone_prob is needed with reward_zone_size")
        reward_zone_prob = _check_number("reward_zone_prob", reward_zone_prob, lower=0.0)
        if reward_zone_prob > 1:
            raise ValueError(f"{where}: reward_zone_prob must be in [0, 1], got reward_zone_prob={reward_zone_prob!r}")
        for name, value in (("reward_zone_x_offset", reward_zone_x_offset),
                            ("reward_zone_y_offset", reward_zone_y_offset)):
            if value is None:
                raise ValueError(f"{where}: {name} is needed with reward_zone_size")
            _check_number(name, value, lower=0.0)
        for name, value in (("reward_zone_min_x", reward_zone_min_x), ("reward_zone_max_x", reward_zone_max_x),
                            ("reward_zone_min_y", reward_zone_min_y), ("reward_zone_max_y", reward_zone_max_y)):
            if value is not None:
                _check_number(name, value)
        if reward_zone_navigate_timesteps is not None:
            _check_number("reward_zone_navigate_timesteps", reward_zone_navigate_timesteps, "int", 1)
        o.update(reward_zone_size=reward_zone_size, reward_zone_prob=reward_zone_prob,
                 reward_zone_x_offset=reward_zone_x_offset, reward_zone_y_offset=reward_zone_y_offset,
                 reward_zone_min_x=reward_zone_min_x, reward_zone_max_x=reward_zone_max_x,
                 reward_zone_min_y=reward_zone_min_y, reward_zone_max_y=reward_zone_max_y,
                 reward_zone_navigate_timesteps=reward_zone_navigate_timesteps)
    given = [v is not None for v in (min_x, max_x, min_y, max_y)]
    if all(given):
        min_x, max_x, min_y, max_y = (_check_number(n, v) for n, v in
                                      (("min_x", min_x), ("max_x", max_x), ("min_y", min_y), ("max_y", max_y)))
        if not (np.isclose(max_x - min_x, box_width) and np.isclose(max_y - min_y, box_height)):
            raise ValueError(f"{where}: min/max x [{min_x}, {max_x}], y [{min_y}, {max_y}] do not span "
                             f"box_width={box_width}, box_height={box_height}")
        o.update(min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y)
    elif any(given):
        raise ValueError(f"{where}: give all of min_x, max_x, min_y, max_y or none of them; got "
                         f"min_x={min_x!r}, max_x={max_x!r}, min_y={min_y!r}, max_y={max_y!r}")
    else:
        o.update(min_x=-o.box_width / 2, max_x=o.box_width / 2, min_y=-o.box_height / 2, max_y=o.box_height / 2)
    o.update(overrides)
    return o


# A model config (one entry of config.yaml `models:`), contract names, paper values (SPEC 1-2).
DEFAULT_MODEL_CFG = {
    "architecture": "UGRNN",  # UGRNN | SRNN | GRU | LSTM | RNN (Sorscher single layer)
    "activation": "relu",  # linear | tanh | sigmoid | relu
    "loss": "place_cells",  # place_cells | position (Cueva & Wei, Np = 2)
    "cues": False,  # five square cues as extra input (SPEC 1.3)
    "cue_prob": C.CUE_2D_INPUT_KWARGS["cue_prob"],
    "reward_zone": False,  # reward-zone episodes (SPEC 1.4)
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
    # accumulator, 11.9 cm) where "original_bias" kept 0.19 (4.7 cm); SPEC 2.2, issue 16.
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
    The position loss forces n_place_cells = 2 (SPEC 1.2).
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
    from mec.models.cells import ACTIVATIONS, ARCHITECTURES
    if out["architecture"] not in ARCHITECTURES:
        raise ValueError(f"model config architecture must be one of {ARCHITECTURES}, got {out['architecture']!r}")
    if out["activation"] not in ACTIVATIONS:
        raise ValueError(f"model config activation must be one of {ACTIVATIONS}, got {out['activation']!r}")
    if out["loss"] not in ("place_cells", "position"):
        raise ValueError(f"model config loss must be 'place_cells' or 'position', got {out['loss']!r}")
    if out["weight_decay_target"] not in ("recurrent", "original_bias"):
        raise ValueError(f"model config weight_decay_target must be 'recurrent' or 'original_bias', "
                         f"got {out['weight_decay_target']!r}")
    for key in ("cues", "reward_zone", "dog", "untrained", "mixed_precision"):
        out[key] = bool(out[key])
    return out


def place_cells_from_cfg(cfg: dict) -> PlaceCells:
    """The model's place cells: centres in its training box, fixed seed (SPEC 1.2)."""
    a = float(cfg["train_arena"])
    return PlaceCells(n_cells=cfg["n_place_cells"], sigma=cfg["place_cell_rf"],
                      surround_scale=cfg["surround_scale"], dog=cfg["dog"], min_x=-a / 2, max_x=a / 2,
                      min_y=-a / 2, max_y=a / 2, seed=C.PLACE_CELL_SEED, identity=cfg["loss"] == "position")


def generator_from_cfg(cfg: dict, place_cells: PlaceCells | None = None, box=None, seed: int | None = None,
                       batch_size: int | None = None, sequence_length: int | None = None,
                       check_cues: bool = True, stream: str = "training") -> TrajectoryGenerator:
    """TrajectoryGenerator of a resolved model config: training box (or ``box``), its cues and
    reward zone (SPEC 1.3, 1.4), trajectory ``seed`` (default cfg["seed"]) in random
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


def recurrent_weight_stats(model) -> dict:
    """{"recurrent_rms", "recurrent_norm"} of a model's recurrent matrix (the cell's
    ``recurrent_kernel``; for the UGRNN the released W[d_in:] block, SPEC 2.2): root mean
    square and Frobenius norm. Near 0 means the network no longer uses its recurrence (what
    weight decay on the recurrent kernel did at demo scale, issue 16).

    model: a TrainedModel or a Keras model built by mec.models.network.build_model.
    """
    km = getattr(model, "keras_model", model)
    w = np.asarray(km.get_layer("pre_g").cell.recurrent_kernel, dtype=np.float64)
    return {"recurrent_rms": float(np.sqrt(np.mean(w ** 2))), "recurrent_norm": float(np.linalg.norm(w))}


class TrainedModel:
    """A trained (or initialised) path integrator with the original's interface.

    ``pre_g(inputs)``, ``g(inputs)``, ``dc(inputs)`` take ``inputs = (velocity (batch, T, 2),
    init_place (batch, Np)[, cues (batch, T, n_cues)])`` (or a :class:`mec.task.TaskBatch`) and
    return numpy arrays (batch, T, units). ``activations(inputs, layers)`` computes several
    layers in one pass. ``keras_model`` is the Keras model; ``cfg`` its resolved config;
    ``place_cells`` its place cells.
    """

    LAYERS = ("pre_g", "g", "dc")

    def __init__(self, keras_model, cfg: dict, centres=None):
        self.keras_model = keras_model
        self.cfg = resolve_model_cfg(cfg)
        self.place_cells = place_cells_from_cfg(self.cfg)
        if centres is not None:  # e.g. the released models' TensorFlow-drawn centres
            centres = np.asarray(centres, dtype=np.float64)
            if centres.shape != self.place_cells.centres.shape:
                raise ValueError(f"centres of shape {centres.shape}, expected {self.place_cells.centres.shape}")
            self.place_cells.centres = centres
        self._sub = {}

    def _submodel(self, layers: tuple):
        import keras
        if layers not in self._sub:
            for name in layers:
                if name not in self.LAYERS:
                    raise ValueError(f"layer must be one of {self.LAYERS}, got {name!r}")
            outs = [self.keras_model.get_layer(n).output for n in layers]
            self._sub[layers] = keras.Model(self.keras_model.inputs, outs)
        return self._sub[layers]

    def activations(self, inputs, layers=LAYERS) -> dict:
        """{layer: (batch, T, units) float32 numpy} for the requested layers."""
        from mec.models.network import model_inputs
        layers = tuple(layers)
        outs = self._submodel(layers)(model_inputs(inputs), training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {n: np.asarray(o, dtype=np.float32) for n, o in zip(layers, outs)}

    def pre_g(self, inputs):
        return self.activations(inputs, ("pre_g",))["pre_g"]

    def g(self, inputs):
        return self.activations(inputs, ("g",))["g"]

    def dc(self, inputs):
        return self.activations(inputs, ("dc",))["dc"]

    __call__ = dc

    def __repr__(self):
        c = self.cfg
        return (f"TrainedModel({c['architecture']}-{c['activation']}, Ng={c['n_units']}, "
                f"Np={c['n_place_cells']}, cues={c['cues']}, reward_zone={c['reward_zone']})")


def _opt(options, key, default=None):
    """A value of an options object: configure_options' Options (a dict) or the original's
    attribute object."""
    if isinstance(options, dict):
        return options.get(key, default)
    return getattr(options, key, default)


def _cfg_from_options(options, sizes: bool = True) -> dict:
    """Model config (contract names) of the model an options object describes (the original's
    configure_options names). ``sizes``: also take Ng, Np, the box, batch and schedule."""
    rnn_type = _opt(options, "RNN_type") or "UGRNN"
    cue_kwargs = _opt(options, "cue_2d_input_kwargs")
    cfg = {"architecture": "UGRNN" if rnn_type in ("UGRNN", "CueUGRNN") else rnn_type,
           "activation": _opt(options, "activation") or "relu",
           "cues": rnn_type == "CueUGRNN" or cue_kwargs is not None,
           "reward_zone": _opt(options, "reward_zone_size") is not None,
           "loss": "position" if _opt(options, "place_cell_identity", False) else "place_cells"}
    if cue_kwargs is not None:
        cfg["cue_prob"] = float(cue_kwargs.get("cue_prob", C.CUE_2D_INPUT_KWARGS["cue_prob"]))
    if cfg["reward_zone"] and _opt(options, "reward_zone_prob") is not None:
        cfg["reward_zone_prob"] = float(_opt(options, "reward_zone_prob"))
    if sizes:
        w, h = _opt(options, "box_width"), _opt(options, "box_height")
        if w is not None and h is not None and not np.isclose(float(w), float(h)):
            raise ValueError(f"options describe a {w} m x {h} m training box; models here train in "
                             "square boxes (train_arena)")
        names = {"n_units": "Ng", "n_place_cells": "Np", "place_cell_rf": "place_cell_rf",
                 "surround_scale": "surround_scale", "dog": "DoG", "train_arena": "box_width",
                 "epochs": "n_epochs", "steps_per_epoch": "n_steps", "batch_size": "batch_size",
                 "sequence_length": "sequence_length", "learning_rate": "learning_rate",
                 "weight_decay": "weight_decay"}
        for key, name in names.items():
            if _opt(options, name) is not None:
                cfg[key] = _opt(options, name)
    return cfg


def load_trained_model(load_dir=None, run_ID=None, ckpt_file=None, options=None, rnn_type="UGRNN",
                       activation="relu", random_init=False, place_cell_identity=False,
                       cue_2d_input_kwargs=None, **reward_zone_kwargs) -> TrainedModel:
    """Load ``{load_dir}/{run_ID}`` as a :class:`TrainedModel` (``.pre_g``, ``.g``, ``.dc``).

    The original's arguments, order and defaults. A training run of this project carries its
    ``config.json``, which defines the model (any scale loads); the other arguments describe
    the model the caller expects and are checked against it (a mismatch warns and the saved
    config wins; ``rnn_type=None`` / ``activation=None`` skip those checks).
    ``rnn_type="CueUGRNN"`` means a UGRNN with cue inputs.

    load_dir: folder of training runs (None: ``options.save_dir`` when options are given, else
        ``results/models``). run_ID: the run's folder name (None: ``options.run_ID``).
    ckpt_file: None -> ``model.keras`` (else the latest checkpoint); a file in ``checkpoints/``
        such as ``"epoch_0010.weights.npz"`` (weights after epoch 10; ``"epoch_0010"`` for
        short), ``"state_0010.npz"`` or a pre-issue-14 ``"epoch_0010.keras"``; a path to such a
        file; or ``"ckpt-101"``, the original TF2 checkpoints in ``ckpts/`` (see
        :func:`load_original_checkpoint`).
    options: a configure_options result describing the model (used where no config.json
        exists: the released checkpoints, or ``random_init``). Without it, the options are
        built from rnn_type, activation, place_cell_identity, cue_2d_input_kwargs and
        ``reward_zone_kwargs`` (e.g. ``**REWARD_KWARGS``) by configure_options, which checks
        them (an unknown keyword is refused).
    random_init: return the initialised, untrained model of the config.
    """
    explicit_options = options is not None
    if options is None:
        options = configure_options(save_dir=load_dir, rnn_type=rnn_type, activation=activation,
                                    place_cell_identity=place_cell_identity, run_ID=run_ID,
                                    cue_2d_input_kwargs=cue_2d_input_kwargs, **reward_zone_kwargs)
    elif reward_zone_kwargs:
        raise ValueError(f"load_trained_model: pass reward-zone settings {sorted(reward_zone_kwargs)} "
                         "through options (configure_options) or without options, not both")
    if load_dir is None:
        load_dir = _opt(options, "save_dir") or "results/models"
    if run_ID is None:
        run_ID = _opt(options, "run_ID")
    if run_ID is None and not random_init:
        raise ValueError(f"load_trained_model: run_ID is needed (the name of the training run's "
                         f"folder under load_dir={str(load_dir)!r}, e.g. 'ugrnn_relu')")
    run_dir = Path(load_dir) / str(run_ID)
    cfg_path = run_dir / "config.json"
    expect = _cfg_from_options(options, sizes=explicit_options)
    if rnn_type is None and not explicit_options:
        expect.pop("architecture"), expect.pop("cues")
    if activation is None and not explicit_options:
        expect.pop("activation")
    if run_ID is not None and cfg_path.exists():
        cfg = _saved_cfg(cfg_path)
        compare = ("architecture", "activation", "cues") + (tuple(expect) if explicit_options else ())
        differ = {k: (expect[k], cfg[k]) for k in dict.fromkeys(compare)
                  if k in expect and not _same(expect[k], cfg[k])}
        if differ:
            what = ", ".join(f"{k}={a!r} (saved: {b!r})" for k, (a, b) in differ.items())
            warnings.warn(f"load_trained_model: the arguments describe {what}, which differs from "
                          f"{cfg_path}; using the saved config", stacklevel=2)
    elif (ckpt_file is not None and str(ckpt_file).startswith("ckpt-")) or random_init:
        cfg = resolve_model_cfg({k: v for k, v in expect.items() if k in DEFAULT_MODEL_CFG})
    else:
        raise FileNotFoundError(f"no {cfg_path}: train the model first (snakemake "
                                f"results/models/{run_ID}/model.keras) or check load_dir={str(load_dir)!r}")
    return _load(cfg, run_dir, ckpt_file, random_init)


def load_run(run_dir, ckpt_file=None) -> TrainedModel:
    """The training run in folder ``run_dir`` (``results/models/{model}``, rule train_model)
    as a :class:`TrainedModel`: the one loader of this project's runs (rate maps, knockouts,
    the summary and :func:`load_trained_model` all come here).

    Its ``config.json`` defines the model; the weights are ``model.keras`` (else the latest
    checkpoint), or ``ckpt_file`` as in :func:`load_trained_model`. FileNotFoundError names
    the folder when it holds no config.json (the model was not trained yet).
    """
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.exists():
        raise FileNotFoundError(f"no {cfg_path}: train the model first (snakemake "
                                f"{run_dir / 'model.keras'}) or check the folder")
    return _load(_saved_cfg(cfg_path), run_dir, ckpt_file)


def _saved_cfg(cfg_path: Path) -> dict:
    """The resolved model config a training run saved (config.json's ``"model"``)."""
    return resolve_model_cfg(json.loads(Path(cfg_path).read_text())["model"])


def _load(cfg: dict, run_dir: Path, ckpt_file=None, random_init: bool = False) -> TrainedModel:
    """The model of ``cfg`` with the weights of ``run_dir`` (module docstring of
    load_trained_model for ``ckpt_file``), or initialised (``random_init``)."""
    import keras

    import mec.models.network  # noqa: F401  (registers the custom objects)
    from mec.models.network import build_model

    n_cues = len(C.CUE_EXTENTS) if cfg["cues"] else 0
    if random_init:
        model = build_model(cfg, n_cues=n_cues)
        return TrainedModel(model, cfg)
    if ckpt_file is not None and str(ckpt_file).startswith("ckpt-"):
        model = build_model(cfg, n_cues=n_cues)
        load_original_checkpoint(model, run_dir / "ckpts" / str(ckpt_file))
        return TrainedModel(model, cfg, centres=original_place_cell_centres(cfg))
    if ckpt_file is None:
        path = run_dir / "model.keras"
        if not path.exists():
            from mec.models.train import latest_checkpoint
            found = latest_checkpoint(run_dir / "checkpoints")
            if found is None:
                raise FileNotFoundError(f"neither {path} nor a checkpoint in {run_dir / 'checkpoints'}")
            path = found[1]
    else:
        path = Path(ckpt_file)
        if not path.is_absolute() and not path.exists():
            path = run_dir / "checkpoints" / str(ckpt_file)
            if not path.exists() and not path.suffix:  # "epoch_0010" -> epoch_0010.weights.npz
                path = path.with_name(path.name + ".weights.npz")
        if not path.exists():
            raise FileNotFoundError(f"checkpoint {ckpt_file!r} not found (looked in {run_dir / 'checkpoints'})")
    if path.suffix == ".npz":  # weights (or a training state) keyed by variable path
        from mec.models.train import load_weights
        model = build_model(cfg, n_cues=n_cues)
        load_weights(model, path)
    else:
        model = keras.models.load_model(path, compile=False)
    return TrainedModel(model, cfg)


def _same(a, b) -> bool:
    if isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, bool) \
            and isinstance(b, (int, float, np.integer, np.floating)):
        return bool(np.isclose(float(a), float(b)))
    return a == b


# ---------------------------------------------------------------------------------------------
# The released TF2 checkpoints (ckpt-101 of UGRNN_relu, CueUGRNN_relu, UGRNN_relu_reward).
# They were written by tf.train.Checkpoint(step, optimizer, net=model) with the original model's
# attribute names, so the variables are keyed (object-based checkpoint):
#   net/encoder/{kernel,bias}   -> layer "encoder"        (Np, Ng), (Ng,)
#   net/M/{kernel,bias}         -> layer "M"              (2 [+5 cues], Ng), (Ng,)
#   net/RNN/cell/weight         -> W (2Ng, 2Ng): rows [:Ng] = cell.kernel, rows [Ng:] =
#                                  cell.recurrent_kernel (W multiplies [x, h], x first; SPEC 2.2)
#   net/RNN/cell/bias           -> cell.bias              (2Ng,)
#   net/dense/{kernel,bias}     -> layer "g"; net/decoder/{kernel,bias} -> layer "dc"
# each followed by "/.ATTRIBUTES/VARIABLE_VALUE". The place-cell centres were drawn by
# TensorFlow (tf.random.set_seed(0); uniform x then y, float64) in the training box; they are
# recomputed in a subprocess (so that no global seed is set in this process).
# ---------------------------------------------------------------------------------------------
_ORIGINAL_KEYS = {
    ("encoder", "kernel"): "net/encoder/kernel", ("encoder", "bias"): "net/encoder/bias",
    ("M", "kernel"): "net/M/kernel", ("M", "bias"): "net/M/bias",
    ("pre_g", "weight"): "net/RNN/cell/weight", ("pre_g", "bias"): "net/RNN/cell/bias",
    ("g", "kernel"): "net/dense/kernel", ("g", "bias"): "net/dense/bias",
    ("dc", "kernel"): "net/decoder/kernel", ("dc", "bias"): "net/decoder/bias",
}


def load_original_checkpoint(model, prefix) -> None:
    """Copy the weights of a released TF2 checkpoint (path prefix, e.g. .../ckpts/ckpt-101)
    into a UGRNN model built by mec.models.network.build_model (mapping above).

    Raises FileNotFoundError if the checkpoint is missing, ValueError on a shape mismatch.
    Needs TensorFlow (tf.train.load_checkpoint) whatever the Keras backend.
    """
    import tensorflow as tf

    prefix = str(prefix)
    if not Path(prefix + ".index").exists():
        raise FileNotFoundError(f"no TF checkpoint {prefix}.index (get_checkpoints.sh of neuroailab/mec)")
    reader = tf.train.load_checkpoint(prefix)
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"

    def get(key):
        try:
            return reader.get_tensor(key + suffix)
        except Exception as err:  # NotFoundError: name the key we looked for
            raise ValueError(f"{prefix}: no variable {key}{suffix}") from err

    def assign(var, value, what):
        if tuple(var.shape) != tuple(value.shape):
            raise ValueError(f"{prefix}: {what} has shape {value.shape}, model expects {tuple(var.shape)}")
        var.assign(value.astype("float32"))

    for layer_name in ("encoder", "M", "g", "dc"):
        layer = model.get_layer(layer_name)
        assign(layer.kernel, get(_ORIGINAL_KEYS[(layer_name, "kernel")]), f"{layer_name}.kernel")
        assign(layer.bias, get(_ORIGINAL_KEYS[(layer_name, "bias")]), f"{layer_name}.bias")
    cell = model.get_layer("pre_g").cell
    W = get(_ORIGINAL_KEYS[("pre_g", "weight")])
    d_in = int(cell.kernel.shape[0])
    assign(cell.kernel, W[:d_in], "RNN/cell/weight[:d_in]")
    assign(cell.recurrent_kernel, W[d_in:], "RNN/cell/weight[d_in:]")
    assign(cell.bias, get(_ORIGINAL_KEYS[("pre_g", "bias")]), "RNN/cell/bias")


_TF_CENTRES = """
import json, sys, tensorflow as tf
n, lo, hi = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
tf.random.set_seed(0)
x = tf.random.uniform((n,), lo, hi, dtype=tf.float64)
y = tf.random.uniform((n,), lo, hi, dtype=tf.float64)
print(json.dumps([x.numpy().tolist(), y.numpy().tolist()]))
"""


def original_place_cell_centres(cfg: dict) -> np.ndarray:
    """(Np, 2) centres as the released code drew them (TensorFlow, seed 0) in the training box.

    Runs TensorFlow in a subprocess so this process's random state is untouched (about 10 s;
    the result is cached per (Np, box) for the life of the process).
    """
    return np.array(_tf_centres(int(cfg["n_place_cells"]), float(cfg["train_arena"])))


@functools.lru_cache(maxsize=8)
def _tf_centres(n: int, a: float) -> tuple:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", _TF_CENTRES, str(n), str(-a / 2), str(a / 2)],
                         capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if res.returncode != 0:
        raise RuntimeError(f"drawing the original place-cell centres failed: {res.stderr[-2000:]}")
    x, y = json.loads(res.stdout.strip().splitlines()[-1])
    return tuple(zip(x, y))
