"""The architecture registry: name -> recurrent cell and how the network runs it (methods §2.3),
with the other choice lists of a model (activations, weight-decay targets).

Every place that depends on the architecture asks here: the network (mec.models.network: which
cell, which fused step, how many initial states, single layer or three stages, which weight
the released decay target hits), the cost projection (mec.costs: products per step), the
summary's row order (mec.summary.tables.ARCHITECTURE_ORDER: the order of :data:`ARCHITECTURES`,
the paper's) and the config checks (mec.models.config). The schema's ``architecture`` enums
list the same names; tests/test_registries.py holds them equal.

No Keras at import (the summary and the planning checks read this table): each cell factory
imports Keras and :mod:`mec.models.cells` when it is called.

Adding an architecture: its cell (a Keras 3 cell that serialises: ``units``, ``state_size``,
``call(inputs, states)``, ``get_config``), one :class:`Architecture` line in
:data:`ARCHITECTURES` and its name in the schema's two ``architecture`` enums (the test names
a missing one); docs/extending.md has a worked example. From outside the package,
:func:`register_architecture` adds one for the running process (a script, a notebook, a test).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

__all__ = ["Architecture", "ARCHITECTURES", "ACTIVATIONS", "WEIGHT_DECAY_TARGETS", "LOSSES", "FUSED_STEPS",
           "register_architecture", "get_architecture", "make_cell"]

#: Nonlinearities of the RNN candidate and of the dense g layer (config ``activation``).
ACTIVATIONS = ("linear", "tanh", "sigmoid", "relu")
#: Which weights ``weight_decay`` penalises (config ``weight_decay_target``; methods §2.2):
#: "original_bias" the weight the released code decays (:attr:`Architecture.released_decay`),
#: "recurrent" the recurrent kernel.
WEIGHT_DECAY_TARGETS = ("recurrent", "original_bias")
#: Training losses (config ``loss``; methods §1.2): softmax cross-entropy to the place cells,
#: or squared error to the (x, y) position (Cueva & Wei).
LOSSES = ("place_cells", "position")
#: The recurrences mec.models.cells.FusedRNN runs (its ``kind``, chosen by the cell's class).
FUSED_STEPS = ("ugrnn", "simple", "gru", "lstm")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One recurrent architecture.

    name: config ``architecture``.
    cell: ``cell(units, activation, *, recurrent_regularizer, bias_regularizer, use_bias, seed,
        dtype)`` -> a Keras 3 cell (``units``, ``kernel``, ``recurrent_kernel``); seed: int or
        list of ints for numpy-drawn initial weights (mec.models.cells.SeededUniform), None
        for fresh ones.
    step: the FusedRNN recurrence that runs the cell (:data:`FUSED_STEPS`), or None: the cell
        runs under keras.layers.RNN (slower; any cell).
    gates: recurrent products per step in units of Ng x Ng (mec.costs: 1 candidate + gates).
    n_states: states the cell carries (LSTM 2: h and c, each with its own encoder).
    single_layer: Sorscher et al.'s RNN (methods §2.3): no biases, no input layer M, the cell
        on the raw input, ``g`` the cell's activity itself.
    released_decay: the weight config ``weight_decay_target: original_bias`` penalises: the
        released code decays ``RNN.weights[1]``, the bias of its UGRNN ("bias") and the
        recurrent kernel of Keras' cells ("recurrent").
    """

    name: str
    cell: Callable
    step: str | None
    gates: int
    n_states: int = 1
    single_layer: bool = False
    released_decay: str = "recurrent"

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"an architecture needs a name, got {self.name!r}")
        if not callable(self.cell):
            raise ValueError(f"architecture {self.name!r}: cell must be callable, got {self.cell!r}")
        if self.step is not None and self.step not in FUSED_STEPS:
            raise ValueError(f"architecture {self.name!r}: step {self.step!r} is not one of "
                             f"{FUSED_STEPS} or None (keras.layers.RNN)")
        if self.n_states not in (1, 2):
            raise ValueError(f"architecture {self.name!r}: n_states must be 1 or 2, got {self.n_states!r}")
        if self.step == "lstm" and self.n_states != 2:
            raise ValueError(f"architecture {self.name!r}: the lstm step carries 2 states")
        if isinstance(self.gates, bool) or not isinstance(self.gates, int) or self.gates < 1:
            raise ValueError(f"architecture {self.name!r}: gates must be an int >= 1, got {self.gates!r}")
        if self.released_decay not in ("bias", "recurrent"):
            raise ValueError(f"architecture {self.name!r}: released_decay must be 'bias' or "
                             f"'recurrent', got {self.released_decay!r}")


def _ugrnn_cell(units, activation, *, recurrent_regularizer=None, bias_regularizer=None,
                use_bias=True, seed=None, dtype=None):
    from mec.models.cells import UGRNNCell

    kw = dict(dtype=dtype) if dtype is not None else {}
    return UGRNNCell(units, activation=activation, recurrent_regularizer=recurrent_regularizer,
                     bias_regularizer=bias_regularizer, seed=seed, name="ugrnn_cell", **kw)


def _keras_cell(layer: str, cell_name: str) -> Callable:
    """Factory of Keras' ``keras.layers.<layer>`` with mec's seeded initial weights."""
    def make(units, activation, *, recurrent_regularizer=None, bias_regularizer=None,
             use_bias=True, seed=None, dtype=None):
        import keras

        from mec.models.cells import seeded_cell_kwargs

        kw = seeded_cell_kwargs(layer, activation, recurrent_regularizer, bias_regularizer,
                                use_bias, seed, dtype)
        return getattr(keras.layers, layer)(units, name=cell_name, **kw)

    make.__name__ = make.__qualname__ = f"{layer}_factory"
    return make


_simple = _keras_cell("SimpleRNNCell", "simple_rnn_cell")

#: The architectures, in the paper's order (the summary's row order).
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("RNN", _simple, "simple", gates=1, single_layer=True),  # Sorscher et al.
    Architecture("SRNN", _simple, "simple", gates=1),
    Architecture("GRU", _keras_cell("GRUCell", "gru_cell"), "gru", gates=3),
    Architecture("LSTM", _keras_cell("LSTMCell", "lstm_cell"), "lstm", gates=4, n_states=2),
    Architecture("UGRNN", _ugrnn_cell, "ugrnn", gates=2, released_decay="bias"),
)}


def register_architecture(arch: Architecture, replace: bool = False) -> Architecture:
    """Add ``arch`` to :data:`ARCHITECTURES` for this process (after the built-in ones in the
    summary's order); ValueError when the name is taken, unless ``replace``. Returns it."""
    if not isinstance(arch, Architecture):
        raise ValueError(f"register_architecture takes an Architecture, got {type(arch).__name__}")
    if arch.name in ARCHITECTURES and not replace:
        raise ValueError(f"an architecture named {arch.name!r} is registered already "
                         f"(replace=True replaces it)")
    ARCHITECTURES[arch.name] = arch
    return arch


def get_architecture(name: str, where: str = "architecture") -> Architecture:
    """The registered architecture ``name``; ValueError naming ``where`` and the choices."""
    if name not in ARCHITECTURES:
        raise ValueError(f"{where} must be one of {tuple(ARCHITECTURES)}, got {name!r}")
    return ARCHITECTURES[name]


def make_cell(architecture: str, units: int, activation: str, recurrent_regularizer=None,
              bias_regularizer=None, seed=None, use_bias: bool = True, dtype=None):
    """Cell of a registered architecture (methods §2.3).

    "UGRNN" -> mec.models.cells.UGRNNCell; "SRNN" and "RNN" -> keras SimpleRNNCell (RNN: no
    bias, Sorscher et al.); "GRU" -> GRUCell; "LSTM" -> LSTMCell. ``activation`` is the cell's
    nonlinearity; the recurrent gates of GRU/LSTM keep their sigmoids.
    seed: int or list of ints; the kernel is drawn from seed, the recurrent kernel from seed + 1
    (``[*seed, 0]``, ``[*seed, 1]`` for a list; Keras cells: Glorot-uniform kernel and
    orthogonal recurrent kernel, Keras' defaults, drawn by numpy), so the same seed gives the
    same cell in every process. None draws fresh weights.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    arch = get_architecture(architecture)
    return arch.cell(units, activation, recurrent_regularizer=recurrent_regularizer,
                     bias_regularizer=bias_regularizer, use_bias=use_bias, seed=seed, dtype=dtype)
