"""Recurrent cells of the path integrators (SPEC 2.2, 2.3). Keras 3, ``keras.ops`` only.

The UGRNN (Collins et al. 2017) is a custom cell; vanilla RNN, GRU and LSTM are Keras' own.
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["UGRNNCell", "make_cell", "ARCHITECTURES", "ACTIVATIONS"]

ARCHITECTURES = ("UGRNN", "SRNN", "GRU", "LSTM", "RNN")
ACTIVATIONS = ("linear", "tanh", "sigmoid", "relu")


@keras.saving.register_keras_serializable(package="mec")
class UGRNNCell(keras.layers.Layer):
    """Update-gate RNN cell (Collins et al. 2017), as the released code builds it (SPEC 2.2).

    z = x @ kernel + h @ recurrent_kernel + bias, shapes (batch, 2 * units);
    gate, candidate = split(z); c = activation(candidate); g = sigmoid(gate + 1);
    h_new = g * h + (1 - g) * c; output = h_new.

    The released code holds one matrix W of shape (d_in + units, d_in + units) applied to
    [x, h] (it requires d_in == units). Here W is stored as its two row blocks,
    ``kernel = W[:d_in]`` (d_in, 2 units) and ``recurrent_kernel = W[d_in:]`` (units, 2 units),
    which is the same function, and lets weight decay reach the recurrent part alone.
    Both blocks are drawn Glorot-uniform with the limit of the full matrix,
    sqrt(6 / (fan_in + fan_out)) with fan_in = d_in + units and fan_out = 2 units (the
    released (2Ng x 2Ng) matrix when d_in == units). The bias (2 units,) starts at zero.

    inputs: (batch, d_in); states: [(batch, units)]; returns (h_new, [h_new]).
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
        self.seed = seed
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        d_in = int(input_shape[-1])
        limit = math.sqrt(6.0 / ((d_in + self.units) + 2 * self.units))
        init_k = keras.initializers.RandomUniform(-limit, limit, seed=self.seed)
        init_r = keras.initializers.RandomUniform(-limit, limit,
                                                  seed=None if self.seed is None else self.seed + 1)
        self.kernel = self.add_weight(shape=(d_in, 2 * self.units), initializer=init_k,
                                      regularizer=self.kernel_regularizer, name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 2 * self.units), initializer=init_r,
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


def make_cell(architecture: str, units: int, activation: str, recurrent_regularizer=None,
              bias_regularizer=None, seed: int | None = None, use_bias: bool = True, dtype=None):
    """Cell for an architecture name (SPEC 2.3).

    "UGRNN" -> UGRNNCell; "SRNN" and "RNN" -> keras SimpleRNNCell (RNN: no bias, Sorscher et al.);
    "GRU" -> GRUCell; "LSTM" -> LSTMCell. ``activation`` is the cell's nonlinearity; the
    recurrent gates of GRU/LSTM keep their sigmoids.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    kw = dict(dtype=dtype) if dtype is not None else {}
    if architecture == "UGRNN":
        return UGRNNCell(units, activation=activation, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, seed=seed, name="ugrnn_cell", **kw)
    common = dict(activation=activation, recurrent_regularizer=recurrent_regularizer,
                  bias_regularizer=bias_regularizer if use_bias else None, use_bias=use_bias, seed=seed, **kw)
    if architecture in ("SRNN", "RNN"):
        return keras.layers.SimpleRNNCell(units, name="simple_rnn_cell", **common)
    if architecture == "GRU":
        return keras.layers.GRUCell(units, name="gru_cell", **common)
    if architecture == "LSTM":
        return keras.layers.LSTMCell(units, name="lstm_cell", **common)
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
