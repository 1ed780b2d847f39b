"""The path-integrating networks (methods §2) as Keras 3 functional models, plus their loss and
decoding-error metric. ``keras.ops`` only, so TensorFlow and JAX backends both run.

Layers the fitting code reads (methods §2.1): ``pre_g`` (the RNN's output), ``g`` (the dense layer
after it, the "grid" layer) and ``dc`` (the decoder's place-cell logits). Get them with
``model.get_layer("g")`` or through :class:`mec.models.utils.TrainedModel`.

Weight decay (methods §2.1/2.2): ``weight_decay * sum(w**2)`` is added to the loss. The released
code penalises ``RNN.weights[1]``, which for its UGRNN cell is the *bias*, not the recurrent
matrix, so the paper's models trained with an unregularised recurrent matrix.
``weight_decay_target="original_bias"`` (the default) reproduces that exactly: the UGRNN's
bias is penalised and its recurrent matrix is not. ``"recurrent"`` penalises the recurrent
kernel (the UGRNN's ``recurrent_kernel``, Keras cells' ``recurrent_kernel``) as the paper's
text describes; at demo scale it drove the recurrent weights to ~0 (RMS 0.044 -> 8e-4, the
network a gated input accumulator; decoding error 11.9 cm against 4.7 cm with the released
target; methods §2.2). For Keras' SimpleRNN/GRU/LSTM cells ``weights[1]`` is the recurrent
kernel, so there both targets penalise the recurrent kernel.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from mec.models.architectures import ACTIVATIONS, WEIGHT_DECAY_TARGETS, get_architecture, make_cell
from mec.models.cells import FusedRNN, SeededUniform

__all__ = ["build_model", "compile_model", "PlaceCellLoss", "DecodingError", "decoding_errors",
           "place_cell_activation",
           "WEIGHT_DECAY_TARGETS", "RNN_IMPLEMENTATIONS", "model_inputs"]

# WEIGHT_DECAY_TARGETS (imported above) is re-exported here, where the weight decay is applied.
# "fused": mec.models.cells.FusedRNN (the training step's cost is the math);
# "keras": keras.layers.RNN over the same cell, the implementation before the fused one, kept as the
# reference the fused layer is tested and benchmarked against (same weights, same function).
RNN_IMPLEMENTATIONS = ("fused", "keras")


def place_cell_activation(pos, centres, sigma: float, surround_scale: float, dog: bool = True):
    """Backend tensor version of :meth:`mec.task.PlaceCells.activation` (methods §1.2).

    pos: (..., 2) metres; centres: (Np, 2) metres -> (..., Np), each vector summing to 1.
    """
    pos = ops.cast(pos, "float32")
    c = ops.cast(ops.convert_to_tensor(centres), "float32")
    norm2 = ops.sum(pos**2, axis=-1, keepdims=True) - 2.0 * ops.matmul(pos, ops.transpose(c)) + ops.sum(c**2, axis=-1)
    norm2 = ops.maximum(norm2, 0.0)
    out = ops.softmax(-norm2 / (2.0 * sigma**2), axis=-1)
    if dog:
        out = out - ops.softmax(-norm2 / (2.0 * surround_scale * sigma**2), axis=-1)
        out = out + ops.abs(ops.min(out, axis=-1, keepdims=True))
        out = out / ops.sum(out, axis=-1, keepdims=True)
    return out


@keras.saving.register_keras_serializable(package="mec")
class PlaceCellLoss(keras.losses.Loss):
    """Softmax cross-entropy between the dc logits and the place-cell targets (methods §2.1),
    averaged over batch and time. The targets are computed on the device from the true
    positions, so the data pipeline ships (batch, T, 2) positions instead of (batch, T, Np).

    y_true: (batch, T, 2) metres; y_pred: (batch, T, Np) logits.
    """

    def __init__(self, centres, sigma: float, surround_scale: float, dog: bool = True,
                 name: str = "place_cell_xent", **kwargs):
        super().__init__(name=name, **kwargs)
        self.centres = np.asarray(centres, dtype=np.float32)
        self.sigma = float(sigma)
        self.surround_scale = float(surround_scale)
        self.dog = bool(dog)

    def call(self, y_true, y_pred):
        targets = place_cell_activation(y_true, self.centres, self.sigma, self.surround_scale, self.dog)
        return ops.categorical_crossentropy(targets, ops.cast(y_pred, "float32"), from_logits=True)

    def get_config(self):
        config = super().get_config()
        config.update(centres=self.centres.tolist(), sigma=self.sigma,
                      surround_scale=self.surround_scale, dog=self.dog)
        return config


def decoding_errors(y_true, y_pred, centres=None, k: int = 3):
    """Euclidean distance (metres) between the true and the decoded position, per sample and
    time step (:class:`DecodingError` averages it; mec.models.ensemble reports it per member).

    y_true: (batch, T, 2) metres; y_pred: (batch, T, Np) logits, decoded as the mean centre of
    the k most active place cells (``centres``: (Np, 2) metres), or (batch, T, 2) positions
    when ``centres`` is None. Returns (batch, T) metres.
    """
    y_pred = ops.cast(y_pred, "float32")
    if centres is None:
        pred = y_pred
    else:
        _, idx = ops.top_k(y_pred, k=k)
        pred = ops.mean(ops.take(ops.convert_to_tensor(centres), idx, axis=0), axis=-2)
    return ops.sqrt(ops.sum((ops.cast(y_true, "float32") - pred) ** 2, axis=-1))


@keras.saving.register_keras_serializable(package="mec")
class DecodingError(keras.metrics.Mean):
    """Mean Euclidean distance (metres) between the true position and the decoded one: the mean
    centre of the k = 3 most active predicted place cells (methods §1.2), or the output itself for
    the position loss (``centres=None``).

    y_true: (batch, T, 2) metres; y_pred: (batch, T, Np) logits or (batch, T, 2) positions.
    """

    def __init__(self, centres=None, k: int = 3, name: str = "decoding_error", **kwargs):
        super().__init__(name=name, **kwargs)
        self.centres = None if centres is None else np.asarray(centres, dtype=np.float32)
        self.k = int(k)

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = decoding_errors(y_true, y_pred, self.centres, self.k)
        return super().update_state(err, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update(centres=None if self.centres is None else self.centres.tolist(), k=self.k)
        return config


def model_inputs(batch) -> dict:
    """Keras input dict of a :class:`mec.task.TaskBatch` or a tuple (v, p0[, cues])."""
    if isinstance(batch, dict):
        return batch
    if hasattr(batch, "inputs"):
        batch = batch.inputs()
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError("model inputs must be (velocity, init_place) or (velocity, init_place, cues)")
    out = {"velocity": batch[0], "init_place": batch[1]}
    if len(batch) == 3:
        out["cues"] = batch[2]
    return out


def build_model(cfg: dict, n_cues: int = 0, rnn_impl: str = "fused") -> keras.Model:
    """Functional model of a resolved model config (mec.models.config.resolve_model_cfg).

    Inputs: "velocity" (batch, T, 2) metres per step, "init_place" (batch, Np) the place-cell
    vector of the initial position, and "cues" (batch, T, n_cues) metres when cfg["cues"].
    Output: dc (batch, T, Np) place-cell logits, or (batch, T, 2) positions for the position loss.

    Three-stage model (UGRNN, SRNN, GRU, LSTM; methods §2.1): encoder Dense(Ng)(p0) -> initial state;
    M Dense(Ng)([v, cues]) -> RNN -> "pre_g"; Dense(Ng, activation) -> "g"; Dense(Np) -> "dc".
    LSTM also needs an initial cell state: a second encoder "encoder_c" (the released code has
    no LSTM; this is our choice). Sorscher RNN ("RNN", methods §2.3): single layer, no biases:
    encoder -> SimpleRNN on the raw inputs -> "pre_g"; "g" is the same activity (identity
    layer, so every model has the three layers) -> linear decoder "dc".

    Initial weights: every kernel is drawn by numpy from ``cfg["seed"]`` and the
    layer's index (mec.models.cells.SeededUniform / SeededOrthogonal; biases start at zero), so
    one seed gives the same network in every process and on either backend.
    rnn_impl: "fused" (default; mec.models.cells.FusedRNN) or "keras" (keras.layers.RNN over the
    same cell; same weights and function, slower; the reference of the tests and benchmarks).
    An architecture with no fused step (mec.models.architectures.Architecture.step None) runs
    under keras.layers.RNN either way. What differs between architectures (cell, states,
    single layer, the released decay target) is read from its registry entry.
    """
    act = cfg["activation"]
    spec = get_architecture(cfg["architecture"])
    arch = spec.name
    if act not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {act!r}")
    target = cfg["weight_decay_target"]
    if target not in WEIGHT_DECAY_TARGETS:
        raise ValueError(f"weight_decay_target must be one of {WEIGHT_DECAY_TARGETS}, got {target!r}")
    if rnn_impl not in RNN_IMPLEMENTATIONS:
        raise ValueError(f"rnn_impl must be one of {RNN_IMPLEMENTATIONS}, got {rnn_impl!r}")
    Ng, Np = int(cfg["n_units"]), int(cfg["n_place_cells"])
    seed = int(cfg["seed"])
    wd = float(cfg["weight_decay"])
    policy = "mixed_bfloat16" if cfg.get("mixed_precision") else None
    lkw = {"dtype": policy} if policy else {}

    reg = keras.regularizers.L2(wd) if wd > 0 else None
    rec_reg = bias_reg = None
    if target == "original_bias" and spec.released_decay == "bias":
        bias_reg = reg  # as released: RNN.weights[1] is the UGRNN bias (module docstring)
    else:
        rec_reg = reg

    def glorot(i):
        return SeededUniform([seed, i])  # Glorot-uniform limit, numpy stream (seed, layer index)

    v = keras.Input(shape=(None, 2), name="velocity")
    p0 = keras.Input(shape=(Np,), name="init_place")
    inputs = [v, p0]
    x = v
    if cfg.get("cues"):
        if n_cues < 1:
            raise ValueError(f"cfg['cues'] is true but n_cues = {n_cues}")
        c = keras.Input(shape=(None, n_cues), name="cues")
        inputs.append(c)
        x = keras.layers.Concatenate(axis=-1, name="velocity_cues")([v, c])
    sorscher = spec.single_layer
    cell = make_cell(arch, Ng, act, recurrent_regularizer=rec_reg, bias_regularizer=bias_reg,
                     seed=[seed, 10], use_bias=not sorscher, dtype=policy)
    s0 = keras.layers.Dense(Ng, use_bias=not sorscher, kernel_initializer=glorot(1), name="encoder", **lkw)(p0)
    init = [s0]
    if spec.n_states == 2:  # LSTM: the cell state c has its own encoder
        init.append(keras.layers.Dense(Ng, kernel_initializer=glorot(2), name="encoder_c", **lkw)(p0))
    if not sorscher:
        x = keras.layers.Dense(Ng, kernel_initializer=glorot(3), name="M", **lkw)(x)
    if rnn_impl == "fused" and spec.step is not None:
        rnn = FusedRNN(cell, name="pre_g", **lkw)
        if rnn.kind != spec.step:  # FusedRNN picks its step by the cell's class
            raise ValueError(f"architecture {arch!r} is registered with fused step {spec.step!r}, "
                             f"but FusedRNN runs its {type(cell).__name__} with step {rnn.kind!r}")
    else:
        rnn = keras.layers.RNN(cell, return_sequences=True, name="pre_g", **lkw)
    pre_g = rnn(x, initial_state=init)
    if sorscher:
        g = keras.layers.Activation("linear", name="g", **lkw)(pre_g)
    else:
        g = keras.layers.Dense(Ng, activation=act, kernel_initializer=glorot(4), name="g", **lkw)(pre_g)
    # the decoder stays float32 so the loss sees full-precision logits under mixed precision
    dc = keras.layers.Dense(Np, use_bias=not sorscher, kernel_initializer=glorot(5), name="dc",
                            dtype="float32")(g)
    return keras.Model(inputs=inputs, outputs=dc, name=f"{arch}_{act}")


def compile_model(model: keras.Model, cfg: dict, centres, steps_per_execution: int = 1) -> keras.Model:
    """Adam(lr) with the task's loss and the decoding-error metric (methods §2.1).

    steps_per_execution: training steps per compiled call (Keras' compile argument; fewer
    Python round trips per step, the same arithmetic).
    """
    if cfg["loss"] == "position":
        loss = keras.losses.MeanSquaredError(name="position_mse")  # Cueva & Wei (methods §1.2)
        metric = DecodingError(centres=None)
    elif cfg["loss"] == "place_cells":
        loss = PlaceCellLoss(centres, cfg["place_cell_rf"], cfg["surround_scale"], cfg["dog"])
        metric = DecodingError(centres=centres)
    else:
        raise ValueError(f"loss must be 'place_cells' or 'position', got {cfg['loss']!r}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=float(cfg["learning_rate"])),
                  loss=loss, metrics=[metric], jit_compile="auto",
                  steps_per_execution=int(steps_per_execution))
    return model
