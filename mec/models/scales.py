"""Model sizes ("scales"): the one table of them.

A scale fixes the eight size settings of a path integrator (:data:`SCALE_KEYS`): units,
place cells, batch, sequence length, epochs, steps per epoch, learning rate and the batches
of each model rate map. The workflow's models pick one by name (config ``models.X.scale``);
a config file may add scales of its own under new names (config ``scales:``), never redefine
one of these (``mec.checks`` refuses it: two "demo" scales that disagree are how the old
copies in config.yaml, configs/*.yaml and tests/data/tiny.yaml drifted apart). A single
model overrides any key of its scale with its own entry.

Only numbers here (no Keras): the workflow's planning imports this module.
"""

from __future__ import annotations

from typing import Mapping

from mec import constants as C

__all__ = ["SCALE_KEYS", "PRESETS", "DEFAULT_SCALE", "scale_table", "scale_problems"]

#: The keys of a scale, in the order of config.schema.yaml's ``$defs/scale`` (every key is
#: required there; a test checks that the two lists agree).
SCALE_KEYS = ("n_units", "n_place_cells", "batch_size", "sequence_length", "epochs",
              "steps_per_epoch", "learning_rate", "n_eval_batches")

#: The scale of a model entry that names none (the schema's default of ``models.X.scale``).
DEFAULT_SCALE = "demo"

# tiny: seconds; for tests only (unit tests and the end-to-end workflow test).
# demo: the smallest network that shows the paper's phenomenon on 2 CPU cores -
# 128 units, 10k Adam steps at lr 2e-3 (20x the paper's 1e-4, so that 10k steps do what 100k
# do there), about 37 CPU-ms per step (~6 CPU-min); measured on seeds 0 and 1: decoding error
# ~4.7 cm, ~20 % of g units grid (adaptive rings) against ~4 % in its untrained twin, zeroing
# grid units hurts decoding more than zeroing heterogeneous ones. Rate maps from 200 batches of
# 100 x 20 = 400,000 samples, the paper's (methods §3.1). Ng 256 at lr 1e-3 decoded as well but
# its knockouts had the wrong sign (README "Scales").
# fig2demo (configs/figure2.yaml): ~30-60 s per model on 2 CPU cores (measured: UGRNN-ReLU
# 29-54 s, LSTM-tanh 45 s, load-dependent); 1 m models reach ~5 cm decoding error, 2.2 m
# models ~40 cm (they would need ~10x more steps); 1,000 Adam steps at lr 3e-3; rate maps from
# 40 x 50 x 20 = 40,000 samples (100 per 5 cm bin of the 1 m arena).
# paper: Nayebi et al. 2021 (methods §2.1), needs a GPU: Ng 4096, Np 512, 100 epochs x 1000
# steps = 100k Adam steps at lr 1e-4; 100 x 200 x 20 = 400,000 samples per rate map (methods §3.1).
PRESETS: dict[str, dict] = {
    "tiny": dict(n_units=16, n_place_cells=32, batch_size=8, sequence_length=8, epochs=2,
                 steps_per_epoch=3, learning_rate=1e-3, n_eval_batches=4),
    "demo": dict(n_units=128, n_place_cells=512, batch_size=100, sequence_length=20, epochs=40,
                 steps_per_epoch=250, learning_rate=2e-3, n_eval_batches=200),
    "fig2demo": dict(n_units=128, n_place_cells=128, batch_size=50, sequence_length=20, epochs=10,
                     steps_per_epoch=100, learning_rate=3e-3, n_eval_batches=40),
    "paper": dict(n_units=C.N_GRID_UNITS, n_place_cells=C.N_PLACE_CELLS, batch_size=C.BATCH_SIZE,
                  sequence_length=C.SEQUENCE_LENGTH, epochs=C.N_EPOCHS,
                  steps_per_epoch=C.N_STEPS_PER_EPOCH, learning_rate=C.LEARNING_RATE,
                  n_eval_batches=C.N_EVAL_SEQ),
}


def scale_problems(config_scales: Mapping | None) -> list[str]:
    """Problems of a config's own ``scales`` section, as ``"scales.NAME: message"``: a name
    that is already a preset (a second definition of it), or a scale that lacks a key."""
    problems = []
    for name, scale in dict(config_scales or {}).items():
        if name in PRESETS:
            preset = ", ".join(f"{k} {v}" for k, v in PRESETS[name].items())
            problems.append(
                f"scales.{name}: {name!r} is a preset of mec.models.scales.PRESETS ({preset}); a "
                f"config adds scales under new names and never redefines a preset (override "
                f"single keys in the model's own entry, e.g. models.X.epochs)")
            continue
        missing = [k for k in SCALE_KEYS if k not in dict(scale or {})]
        if missing:
            problems.append(f"scales.{name}: missing {missing} (a scale sets every one of "
                            f"{list(SCALE_KEYS)})")
    return problems


def scale_table(config_scales: Mapping | None = None) -> dict[str, dict]:
    """Every scale a config can use: :data:`PRESETS` plus the config's own ``scales``.

    Raises ValueError naming the scale when the config redefines a preset or leaves out a key
    (:func:`scale_problems`); the workflow reports these at planning time (mec.checks).
    """
    problems = scale_problems(config_scales)
    if problems:
        raise ValueError("; ".join(problems))
    table = {name: dict(scale) for name, scale in PRESETS.items()}
    table.update({name: {k: scale[k] for k in SCALE_KEYS}
                  for name, scale in dict(config_scales or {}).items()})
    return table
