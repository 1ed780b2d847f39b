"""The released TF2 checkpoints of neuroailab/mec (ckpt-101) in this project's Keras models,
and the place-cell centres the released code drew (used by :func:`mec.models.loading.load_run`
through ``ckpt_file="ckpt-101"``)."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["load_original_checkpoint", "original_place_cell_centres"]


# ---------------------------------------------------------------------------------------------
# The released TF2 checkpoints (ckpt-101 of UGRNN_relu, CueUGRNN_relu, UGRNN_relu_reward).
# They were written by tf.train.Checkpoint(step, optimizer, net=model) with the original model's
# attribute names, so the variables are keyed (object-based checkpoint):
#   net/encoder/{kernel,bias}   -> layer "encoder"        (Np, Ng), (Ng,)
#   net/M/{kernel,bias}         -> layer "M"              (2 [+5 cues], Ng), (Ng,)
#   net/RNN/cell/weight         -> W (2Ng, 2Ng): rows [:Ng] = cell.kernel, rows [Ng:] =
#                                  cell.recurrent_kernel (W multiplies [x, h], x first; methods §2.2)
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
