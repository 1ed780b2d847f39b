"""Recurrent cells of the path integrators (methods §2.2, 2.3), seeded initialisers, and the fused
recurrence that runs them. Keras 3, ``keras.ops`` only (TensorFlow and JAX backends).

The UGRNN (Collins et al. 2017) is a custom cell; vanilla RNN, GRU and LSTM are Keras' own
cells. Each cell holds the weights; :class:`FusedRNN` (the ``pre_g`` layer) runs it over time
with the cost of the math alone (benchmarks/train_step.py measures it): the input projection of every time step is one
matrix product over batch x time, hoisted out of the recurrence; each step is one fused matrix
product of the state with the recurrent kernel of all gates; the weights are cast to the compute
dtype once, outside the loop (under mixed bfloat16, Keras' generic RNN layer casts them on every
step, forward and backward); and the loop is the backend's compiled scan
(``keras.ops.scan``: ``jax.lax.scan`` / a TensorFlow while loop).

Initial weights are drawn with numpy from ``np.random.default_rng(seed)`` (:class:`SeededUniform`,
:class:`SeededOrthogonal`), so a seed fixes them in every process, on every backend and device
(Keras' own initialisers draw from an unseeded global stream, so a seed would not fix them).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

__all__ = ["UGRNNCell", "FusedRNN", "SeededUniform", "SeededOrthogonal", "seeded_cell_kwargs"]

# The architectures (name -> cell, fused step, ...) and the activations are registered in
# mec.models.architectures, which imports this module when it builds a cell (never the reverse).


def _check_seed(seed, who):
    """A seed numpy's SeedSequence accepts: a non-negative int or a list of them."""
    items = seed if isinstance(seed, (list, tuple)) else [seed]
    if not items or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in items):
        raise ValueError(f"{who}: seed must be a non-negative int or a list of them, got {seed!r}")
    return [int(s) for s in items] if isinstance(seed, (list, tuple)) else int(seed)


def _sub_seed(seed, i: int):
    """The i-th seed derived from ``seed``: seed + i for an int, [*seed, i] for a list."""
    return [*seed, i] if isinstance(seed, list) else seed + i


@keras.saving.register_keras_serializable(package="mec")
class SeededUniform(keras.initializers.Initializer):
    """Uniform(-limit, limit) drawn by numpy from ``default_rng(seed)``: the same values in every
    process and on every backend. ``limit=None`` is Glorot's sqrt(6 / (fan_in + fan_out)) of the
    2-D shape (fan_in = rows, fan_out = columns, as keras.initializers.GlorotUniform).

    seed: int or list of ints (a numpy SeedSequence entropy, e.g. [model seed, layer index]).
    """

    def __init__(self, seed, limit: float | None = None):
        self.seed = _check_seed(seed, "SeededUniform")
        self.limit = None if limit is None else float(limit)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        limit = self.limit
        if limit is None:
            fan_in, fan_out = (shape[0], shape[1]) if len(shape) == 2 else (max(shape[0], 1),) * 2
            limit = math.sqrt(6.0 / (fan_in + fan_out))
        values = np.random.default_rng(self.seed).uniform(-limit, limit, shape)
        return ops.convert_to_tensor(values.astype(keras.backend.standardize_dtype(dtype or "float32")))

    def get_config(self):
        return {"seed": self.seed, "limit": self.limit}


@keras.saving.register_keras_serializable(package="mec")
class SeededOrthogonal(keras.initializers.Initializer):
    """keras.initializers.Orthogonal's matrix (QR of a standard normal matrix, signs fixed by the
    diagonal of R, times ``gain``), drawn by numpy from ``default_rng(seed)``."""

    def __init__(self, seed, gain: float = 1.0):
        self.seed = _check_seed(seed, "SeededOrthogonal")
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2:
            raise ValueError(f"SeededOrthogonal needs a 2-D shape, got {shape}")
        rows, cols = shape
        a = np.random.default_rng(self.seed).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        values = self.gain * q.reshape(shape)
        return ops.convert_to_tensor(values.astype(keras.backend.standardize_dtype(dtype or "float32")))

    def get_config(self):
        return {"seed": self.seed, "gain": self.gain}


@keras.saving.register_keras_serializable(package="mec")
class UGRNNCell(keras.layers.Layer):
    """Update-gate RNN cell (Collins et al. 2017), as the released code builds it (methods §2.2).

    z = x @ kernel + h @ recurrent_kernel + bias, shapes (batch, 2 * units);
    gate, candidate = split(z); c = activation(candidate); g = sigmoid(gate + 1);
    h_new = g * h + (1 - g) * c; output = h_new.

    The released code holds one matrix W of shape (d_in + units, d_in + units) applied to
    [x, h] (it requires d_in == units). Here W is stored as its two row blocks,
    ``kernel = W[:d_in]`` (d_in, 2 units) and ``recurrent_kernel = W[d_in:]`` (units, 2 units),
    which is the same function, and lets weight decay reach the recurrent part alone.
    Both blocks are drawn uniformly with the Glorot limit of the full matrix,
    sqrt(6 / (fan_in + fan_out)) with fan_in = d_in + units and fan_out = 2 units (the
    released (2Ng x 2Ng) matrix when d_in == units), by numpy (:class:`SeededUniform`) from
    seeds ``seed`` and ``seed + 1`` (``[*seed, 0]`` and ``[*seed, 1]`` for a list of ints).
    The bias (2 units,) starts at zero.

    inputs: (batch, d_in); states: [(batch, units)]; returns (h_new, [h_new]). Training runs
    the cell through :class:`FusedRNN`; ``call`` serves keras.layers.RNN (models saved before
    the fused layer, and the reference the fused layer is tested against).
    """

    def __init__(self, units: int, activation="tanh", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"UGRNNCell units must be >= 1, got {units}")
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.seed = None if seed is None else _check_seed(seed, "UGRNNCell")
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        d_in = int(input_shape[-1])
        limit = math.sqrt(6.0 / ((d_in + self.units) + 2 * self.units))
        seed = self.seed
        if seed is None:  # no seed asked for: fresh entropy, like Keras' unseeded initialisers
            seed = [int(s) for s in np.random.SeedSequence().generate_state(2)]
        seeds = [_sub_seed(seed, 0), _sub_seed(seed, 1)]
        self.kernel = self.add_weight(shape=(d_in, 2 * self.units), initializer=SeededUniform(seeds[0], limit),
                                      regularizer=self.kernel_regularizer, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 2 * self.units),
                                                initializer=SeededUniform(seeds[1], limit),
                                                regularizer=self.recurrent_regularizer,
                                                name="recurrent_kernel")
        self.bias = self.add_weight(shape=(2 * self.units,), initializer="zeros",
                                    regularizer=self.bias_regularizer, name="bias")

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel) + self.bias
        gate = z[:, : self.units]
        cand = z[:, self.units:]
        c = self.activation(cand)
        g = ops.sigmoid(gate + 1.0)
        h_new = g * h + (1.0 - g) * c
        return h_new, [h_new]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "seed": self.seed,
        })
        return config


def _cell_kind(cell) -> str:
    """"ugrnn" | "simple" | "gru" | "lstm" for the cells FusedRNN runs; ValueError otherwise."""
    if isinstance(cell, UGRNNCell):
        return "ugrnn"
    if isinstance(cell, keras.layers.SimpleRNNCell):
        return "simple"
    if isinstance(cell, keras.layers.GRUCell):
        if not cell.reset_after:
            raise ValueError("FusedRNN runs GRUCell(reset_after=True) only (Keras' default)")
        return "gru"
    if isinstance(cell, keras.layers.LSTMCell):
        return "lstm"
    raise ValueError(f"FusedRNN cannot run a {type(cell).__name__}; cells: UGRNNCell, SimpleRNNCell, "
                     f"GRUCell, LSTMCell")


@keras.saving.register_keras_serializable(package="mec")
class FusedRNN(keras.layers.Layer):
    """A recurrent layer over a cell's weights whose cost is the math (module docstring).

    Same function and weights as ``keras.layers.RNN(cell, return_sequences=True)``, written as
      xs = inputs @ kernel + input bias     one (batch * T, d_in) x (d_in, G units) product
      z_t = xs_t + h_{t-1} @ recurrent_kernel (+ recurrent bias)   one fused product per step
      gates of the cell (see each cell's formula)
    inside ``keras.ops.scan``, with the weights cast to the compute dtype once. The cell
    (``layer.cell``: kernel, recurrent_kernel, bias) is a tracked sublayer, so weight paths,
    regularisers and serialisation are the cell's as under keras.layers.RNN.

    Cells: UGRNNCell; keras SimpleRNNCell, GRUCell (reset_after=True, Keras' default) and
    LSTMCell, without dropout.
    sequences: (batch, T, d_in); initial_state: list of (batch, units) per state (LSTM: [h, c]),
    default zeros. Returns (batch, T, units), the state after each step.
    unroll: time steps per iteration of the compiled loop (keras.ops.scan's ``unroll``).
    """

    def __init__(self, cell, unroll: int = 1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        self.kind = _cell_kind(cell)
        for attr in ("dropout", "recurrent_dropout"):
            if getattr(cell, attr, 0.0):
                raise ValueError(f"FusedRNN does not apply {attr}; got {attr}={getattr(cell, attr)}")
        if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
            raise ValueError(f"FusedRNN unroll must be an int >= 1, got {unroll!r}")
        self.cell = cell
        self.unroll = unroll
        self.units = int(cell.units)
        self.n_states = 2 if self.kind == "lstm" else 1

    def build(self, sequences_shape, initial_state_shape=None):
        if not self.cell.built:
            self.cell.build((sequences_shape[0], sequences_shape[-1]))
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        return (sequences_shape[0], sequences_shape[1], self.units)

    def _weights(self, dt):
        """(kernel, input bias or None, recurrent kernel, recurrent bias or None) in dtype dt."""
        cell = self.cell
        k = ops.cast(cell.kernel, dt)
        r = ops.cast(cell.recurrent_kernel, dt)
        b = None if getattr(cell, "bias", None) is None else ops.cast(cell.bias, dt)
        rb = None
        if self.kind == "gru" and b is not None:  # (2, 3 units): input and recurrent biases
            b, rb = b[0], b[1]
        return k, b, r, rb

    def call(self, sequences, initial_state=None, training=False):
        dt = self.compute_dtype
        U = self.units
        cell = self.cell
        x = ops.cast(sequences, dt)
        if initial_state is None:
            zeros = ops.zeros((ops.shape(x)[0], U), dtype=dt)
            states = [zeros] * self.n_states
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != self.n_states:
                raise ValueError(f"FusedRNN({type(cell).__name__}) takes {self.n_states} initial "
                                 f"state(s), got {len(states)}")
            states = [ops.cast(s, dt) for s in states]
        k, b, r, rb = self._weights(dt)
        xs = ops.einsum("btd,dg->tbg", x, k)  # hoisted: one product over batch x time, time-major
        if b is not None:
            xs = xs + b
        act = cell.activation
        kind = self.kind

        if kind == "ugrnn":
            def step(h, xt):
                z = xt + ops.matmul(h, r)
                g = ops.sigmoid(z[:, :U] + 1.0)
                h = g * h + (1.0 - g) * act(z[:, U:])
                return h, h
        elif kind == "simple":
            def step(h, xt):
                h = act(xt + ops.matmul(h, r))
                return h, h
        elif kind == "gru":
            ract = cell.recurrent_activation

            def step(h, xt):
                inner = ops.matmul(h, r)
                if rb is not None:
                    inner = inner + rb
                z = ract(xt[:, :U] + inner[:, :U])
                rr = ract(xt[:, U:2 * U] + inner[:, U:2 * U])
                hh = act(xt[:, 2 * U:] + rr * inner[:, 2 * U:])
                h = z * h + (1.0 - z) * hh
                return h, h
        else:  # lstm: gates i, f, c, o
            ract = cell.recurrent_activation

            def step(carry, xt):
                h, c = carry
                z = xt + ops.matmul(h, r)
                i = ract(z[:, :U])
                f = ract(z[:, U:2 * U])
                c = f * c + i * act(z[:, 2 * U:3 * U])
                h = ract(z[:, 3 * U:]) * act(c)
                return (h, c), (h, c)

        init = tuple(states) if kind == "lstm" else states[0]
        _, ys = ops.scan(step, init, xs, unroll=self.unroll)
        hs = ys[0] if kind == "lstm" else ys
        return ops.transpose(hs, (1, 0, 2))

    def get_config(self):
        config = super().get_config()
        config.update(cell=keras.saving.serialize_keras_object(self.cell), unroll=self.unroll)
        return config


def seeded_cell_kwargs(layer: str, activation: str, recurrent_regularizer=None,
                       bias_regularizer=None, use_bias: bool = True, seed=None, dtype=None) -> dict:
    """Keyword arguments of a Keras cell (``keras.layers.<layer>``) with initial weights drawn by
    numpy: the kernel from seed (Glorot-uniform), the recurrent kernel from seed + 1
    (orthogonal; ``[*seed, 0]``, ``[*seed, 1]`` for a list), Keras' default initialisers.
    None draws a fresh seed. Used by the cell factories of mec.models.architectures."""
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seed = _check_seed(seed, f"make_cell({layer})")
    kw = dict(dtype=dtype) if dtype is not None else {}
    return dict(activation=activation, recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer if use_bias else None, use_bias=use_bias,
                kernel_initializer=SeededUniform(_sub_seed(seed, 0)),
                recurrent_initializer=SeededOrthogonal(_sub_seed(seed, 1)), **kw)
