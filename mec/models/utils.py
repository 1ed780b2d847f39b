"""Configuration, presets and loading of trained path integrators (the original's API).

``configure_options(**overrides)`` returns the paper's defaults (methods §1-2) in the original's
option names; ``resolve_model_cfg(cfg)`` fills a model config (config.yaml ``models:`` entry,
contract names) with defaults; ``load_trained_model(...)`` (the original's arguments) and
``load_run(run_dir)`` (the project's, the one loader every rule uses) read ``config.json``
and ``model.keras`` of a training run and return a :class:`TrainedModel` with ``.pre_g``,
``.g`` and ``.dc``.

This module is the original's API (``configure_options``, ``load_trained_model``) and
re-exports the rest from where it lives: model configs in :mod:`mec.models.config`, trained
models and :func:`load_run` in :mod:`mec.models.loading`, the released TF2 checkpoints in
:mod:`mec.models.original`.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import numpy as np

from mec import constants as C
from mec.models.conditions import training_condition  # noqa: F401  (re-exported)
from mec.models.config import (  # noqa: F401  (re-exported)
    DEFAULT_MODEL_CFG,
    PRESETS,
    generator_from_cfg,
    place_cells_from_cfg,
    resolve_model_cfg,
)
from mec.models.loading import (  # noqa: F401  (re-exported)
    TrainedModel,
    _load,
    _saved_cfg,
    load_run,
    recurrent_weight_stats,
)
from mec.models.original import (  # noqa: F401  (re-exported)
    load_original_checkpoint,
    original_place_cell_centres,
)

__all__ = ["configure_options", "Options", "DEFAULT_MODEL_CFG", "PRESETS", "resolve_model_cfg",
           "place_cells_from_cfg", "generator_from_cfg", "load_trained_model", "load_run",
           "TrainedModel", "training_condition", "recurrent_weight_stats"]



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
    """The paper's options (methods §1-2), original names and argument order, as an attribute dict.

    Long because: the original API's signature (its 23 parameters, names and order) is kept
    as it was.

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
                         f"mec.constants.CUE_2D_INPUT_KWARGS), got {cue_2d_input_kwargs!r}")
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


def _same(a, b) -> bool:
    if isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, bool) \
            and isinstance(b, (int, float, np.integer, np.floating)):
        return bool(np.isclose(float(a), float(b)))
    return a == b
