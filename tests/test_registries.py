"""The registries (architectures, loaders, choice lists) and the schema's enums that name them.

Every ``enum`` of workflow/schemas/config.schema.yaml is listed here with the Python registry
it must equal, so that adding an architecture or a loader and forgetting the schema (or the
other way round) fails here, naming the list. A toy sixth architecture and a toy fourth loader,
registered from this file only, run the tiny experiment (dataset, training, rate maps, fit)
through the same functions the workflow's scripts call.
"""

import numpy as np
import pytest

from mec.baselines import BASELINE_KINDS
from mec.data.arenas import ARENA_SHAPES
from mec.data.constant_cells import POLICIES
from mec.data.loaders import LOADERS, Loader, get_loader, register_loader
from mec.data.loaders.ingest import ALIGN, EMPTY_CELLS
from mec.data.loaders.sessions import PIXEL_UNITS, UNIT_SCALE, Session, resolve_paths
from mec.data.plan import dataset_sources, recording_suffixes
from mec.fits.core import INTERANIMAL_MODES
from mec.fits.floors import CONTROLS
from mec.fits.settings import HALVES_SETTING, PAPER_SETTING, ROBUST_SETTING, SETTING_NAMES
from mec.fits.splits import BLOCKS, STRUCTURED_SPLITS
from mec.mappers import MAP_TYPES
from mec.models.architectures import (ACTIVATIONS, ARCHITECTURES, LOSSES, WEIGHT_DECAY_TARGETS,
                                      Architecture, get_architecture, register_architecture)
from mec.models.external import SOURCES
from mec.models.references import POPULATIONS
from mec.schema import load_schema

SCHEMA = load_schema()
MODEL_LAYERS = ("pre_g", "g", "dc")  # the layers every network has (mec.models.network)


def _enums(node, path=()):
    """{path: enum list} of every enum in the schema."""
    out = {}
    if isinstance(node, dict):
        if "enum" in node:
            out["/".join(path)] = node["enum"]
        for k, v in node.items():
            if k != "enum":
                out.update(_enums(v, path + (str(k),)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.update(_enums(v, path + (str(i),)))
    return out


def _model_keys():
    return [k for k in SCHEMA["$defs"]["model"]["properties"]]


#: schema path of an enum -> (the values it must hold, how they are compared, the registry).
#: "same": the same names (order free); "subset": a part of the registry (named why).
REGISTRIES = {
    "$defs/model/properties/activation": lambda: ACTIVATIONS,
    "$defs/sweep/properties/activations/items": lambda: ACTIVATIONS,
    "$defs/model/properties/loss": lambda: LOSSES,
    "$defs/model/properties/weight_decay_target": lambda: WEIGHT_DECAY_TARGETS,
    "$defs/model/properties/baseline": lambda: BASELINE_KINDS,
    "$defs/model/properties/source": lambda: SOURCES,
    "$defs/model/properties/population": lambda: POPULATIONS,
    "$defs/map/properties/map_type": lambda: tuple(MAP_TYPES),
    "properties/dataset/properties/constant_cells": lambda: POLICIES,
    "properties/dataset/properties/arenas/additionalProperties/properties/shape": lambda: ARENA_SHAPES,
    "properties/dataset/properties/recordings/properties/align": lambda: ALIGN,
    "properties/dataset/properties/recordings/properties/empty_cells": lambda: EMPTY_CELLS,
    "properties/ratemaps/properties/layers/items": lambda: MODEL_LAYERS,
    "properties/fits/properties/layers/items": lambda: MODEL_LAYERS,
    "properties/fits/properties/interanimal_mode": lambda: INTERANIMAL_MODES,
    "properties/fits/properties/train_frac/oneOf/1": lambda: (*STRUCTURED_SPLITS, BLOCKS),
    "properties/fits/properties/halves/properties/train_frac/oneOf/1": lambda: (*STRUCTURED_SPLITS, BLOCKS),
    "properties/fits/properties/floors/properties/controls/items": lambda: CONTROLS,
}
#: Enums that are a part of something, not a whole registry: path -> (allowed values, why).
PARTS = {
    # a sweep condition may set any model key but these (a sweep's own keys, external models')
    "$defs/model_keys/propertyNames": (_model_keys, "keys of a model entry"),
    # the spellings the schema offers: short ones of mec.data.loaders.UNIT_SCALE, px, null
    "properties/dataset/properties/recordings/properties/position_units":
        (lambda: [*UNIT_SCALE, *PIXEL_UNITS, None], "units mec.data.loaders.position_scale reads"),
}


def _place_cells_choices():
    from mec.models.export import EVAL_PLACE_CELLS  # Keras: imported only where needed
    return EVAL_PLACE_CELLS


def _grids():
    from mec.fits.enet_search import grid_constants
    for g in ("short", "full"):
        grid_constants(g)  # each name is a grid
    return ("short", "full")


#: Enums whose registry imports something heavy (resolved when the test runs).
REGISTRIES["properties/ratemaps/properties/place_cells"] = _place_cells_choices
REGISTRIES["properties/elasticnet/properties/grid"] = _grids


def test_every_schema_enum_has_a_registry():
    found = set(_enums(SCHEMA))
    named = set(REGISTRIES) | set(PARTS)
    assert found - named == set(), ("schema enums with no registry in this test: add each to "
                                    f"REGISTRIES with the Python list it names: {sorted(found - named)}")
    assert named - found == set(), f"registries whose enum the schema lost: {sorted(named - found)}"


@pytest.mark.parametrize("path", sorted(REGISTRIES))
def test_schema_enum_equals_its_registry(path):
    enum = _enums(SCHEMA)[path]
    registry = list(REGISTRIES[path]())
    assert len(enum) == len(set(enum)), f"{path}: repeated values {enum}"
    assert sorted(map(str, enum)) == sorted(map(str, registry)), (
        f"schema enum {path} is {enum} but its registry holds {registry}: add the missing names "
        f"to the one that lacks them")


@pytest.mark.parametrize("path", sorted(PARTS))
def test_schema_enum_within_its_registry(path):
    allowed, what = PARTS[path]
    extra = [v for v in _enums(SCHEMA)[path] if v not in allowed()]
    assert not extra, f"schema enum {path} has {extra}, which are not {what}"


def test_fit_settings_have_their_switches_in_the_schema():
    """paper always runs; each other setting of mec.fits.settings has its switch in fits."""
    fits = SCHEMA["properties"]["fits"]["properties"]
    assert SETTING_NAMES == (PAPER_SETTING, ROBUST_SETTING, HALVES_SETTING)
    assert fits[ROBUST_SETTING]["type"] == "boolean"
    assert fits[HALVES_SETTING]["properties"]["enabled"]["type"] == "boolean"


def test_summary_order_and_costs_follow_the_architecture_registry():
    from mec.costs import step_flops
    from mec.summary.tables import ARCHITECTURE_ORDER

    assert ARCHITECTURE_ORDER == ("RNN", "SRNN", "GRU", "LSTM", "UGRNN")  # the paper's order
    assert ARCHITECTURE_ORDER == tuple(ARCHITECTURES)[:5]
    base = dict(n_units=8, n_place_cells=4, batch_size=1, sequence_length=1, loss="place_cells")
    # one sample, one step: M (2 x 8) + 2 x gates x 8 x 8 + g (8 x 8) + dc (8 x 4), and the
    # encoders (4 x 8) once per state; x 6 (forward + backward, 2 FLOPs per multiply-add)
    for name, gates in (("SRNN", 1), ("UGRNN", 2), ("GRU", 3), ("LSTM", 4)):
        states = 2 if name == "LSTM" else 1
        want = 6 * (2 * 8 + 2 * gates * 64 + 64 + 32 + states * 32)
        assert step_flops({**base, "architecture": name}) == want
    assert step_flops({**base, "architecture": "RNN"}) == 6 * (2 * 8 + 64 + 32 + 32)


def test_registries_refuse_bad_entries():
    with pytest.raises(ValueError, match="registered already"):
        register_architecture(ARCHITECTURES["GRU"])
    with pytest.raises(ValueError, match="step 'fast'"):
        Architecture("X", lambda *a, **k: None, "fast", gates=1)
    with pytest.raises(ValueError, match=r"architecture must be one of .*got 'UGRN'"):
        get_architecture("UGRN")
    with pytest.raises(ValueError, match="registered already"):
        register_loader(LOADERS["kavli"])
    with pytest.raises(ValueError, match="dataset source of its own"):
        register_loader(Loader("hdf5", lambda *a, **k: [], (".h5",)))
    with pytest.raises(ValueError, match="suffixes"):
        Loader("x", lambda *a, **k: [], ("MAT",))
    with pytest.raises(ValueError, match="has no loader; choose one of"):
        get_loader("matlab")


def test_fused_steps_match_the_cells():
    """Each architecture's registered step is the one FusedRNN picks for its cell."""
    pytest.importorskip("keras")
    from mec.models.architectures import make_cell
    from mec.models.cells import FusedRNN

    for name, arch in list(ARCHITECTURES.items())[:5]:
        cell = make_cell(name, 4, "relu", seed=[0, 1], use_bias=not arch.single_layer)
        assert FusedRNN(cell).kind == arch.step, name


def test_a_wrong_fused_step_is_refused_when_the_network_is_built():
    pytest.importorskip("keras")
    from mec.models.config import resolve_model_cfg
    from mec.models.network import build_model

    wrong = register_architecture(Architecture("GRU_AS_SIMPLE", ARCHITECTURES["GRU"].cell, "simple",
                                               gates=3))
    try:
        cfg = resolve_model_cfg({"architecture": wrong.name}, preset="tiny")
        with pytest.raises(ValueError, match="registered with fused step 'simple'.*GRUCell.*'gru'"):
            build_model(cfg)
        assert build_model(cfg, rnn_impl="keras").get_layer("pre_g").cell.units == cfg["n_units"]
    finally:
        del ARCHITECTURES[wrong.name]


# ---------------------------------------------------------------------------------------------
# a sixth architecture and a fourth loader, registered from here (docs/extending.md)
# ---------------------------------------------------------------------------------------------
TOY_SUFFIX = ".toyrec"


def _write_toy_recordings(folder, n_animals=3, n_cells=6, seed=0):
    """One .toyrec file (an npz under another name) per animal: a walk in the 1 m box and
    cells firing at a few fixed places (enough structure for fits to run)."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for a in range(n_animals):
        n = 12000
        t = np.arange(n) * 0.02
        pos = np.empty((n, 2))
        pos[0] = 0.0
        for i in range(1, n):
            pos[i] = np.clip(pos[i - 1] + rng.normal(0, 0.02, 2), -0.48, 0.48)
        spikes = {}
        for c in range(n_cells):
            centre = rng.uniform(-0.4, 0.4, 2)
            rate = 0.5 + 20.0 * np.exp(-np.sum((pos - centre) ** 2, 1) / (2 * 0.1 ** 2))
            spikes[f"cell{c}"] = t[rng.random(n) < rate * 0.02]
        with open(folder / f"animal{a}{TOY_SUFFIX}", "wb") as f:
            np.savez(f, t=t, pos=pos, animal=f"toy{a}", **{f"spikes_{k}": v for k, v in spikes.items()})


def read_toy(paths, base_dir=None, position_units=None, pixels_per_metre=None):
    """The toy loader's reader: one Session per .toyrec file (metres and seconds)."""
    sessions = []
    for path in resolve_paths(paths, (TOY_SUFFIX,), base_dir, what="toy recordings"):
        with np.load(path) as z:
            cells = sorted(k for k in z.files if k.startswith("spikes_"))
            animal = str(z["animal"])
            sessions.append(Session(name=f"{animal}-s1", animal=animal, times=z["t"],
                                    positions=z["pos"],
                                    cell_ids=[f"{animal}_{k[len('spikes_'):]}" for k in cells],
                                    spike_times=[z[k] for k in cells], source=str(path)))
    return sessions


def _leaky_cell_class():
    """A leaky vanilla RNN cell, h' = (1 - a) h + a act(x K + h R + b): a Keras 3 cell that
    serialises (get_config), registered with Keras under package "mec_test"."""
    import keras
    from keras import ops

    from mec.models.cells import SeededOrthogonal, SeededUniform

    @keras.saving.register_keras_serializable(package="mec_test")
    class LeakyRNNCell(keras.layers.Layer):
        def __init__(self, units, activation="tanh", leak=0.5, recurrent_regularizer=None,
                     bias_regularizer=None, seed=0, **kwargs):
            super().__init__(**kwargs)
            self.units, self.leak, self.seed = int(units), float(leak), seed
            self.activation = keras.activations.get(activation)
            self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
            self.bias_regularizer = keras.regularizers.get(bias_regularizer)
            self.state_size = self.output_size = self.units

        def build(self, input_shape):
            d = int(input_shape[-1])
            self.kernel = self.add_weight(shape=(d, self.units), name="kernel",
                                          initializer=SeededUniform([*self.seed, 0]))
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, self.units), name="recurrent_kernel",
                initializer=SeededOrthogonal([*self.seed, 1]), regularizer=self.recurrent_regularizer)
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias",
                                        regularizer=self.bias_regularizer)

        def call(self, inputs, states, training=False):
            h = states[0] if isinstance(states, (list, tuple)) else states
            c = self.activation(ops.matmul(inputs, self.kernel) + ops.matmul(h, self.recurrent_kernel)
                                + self.bias)
            h = (1.0 - self.leak) * h + self.leak * c
            return h, [h]

        def get_config(self):
            return {**super().get_config(), "units": self.units, "leak": self.leak, "seed": self.seed,
                    "activation": keras.activations.serialize(self.activation),
                    "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
                    "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer)}

    return LeakyRNNCell


def leaky_cell(units, activation, *, recurrent_regularizer=None, bias_regularizer=None,
               use_bias=True, seed=None, dtype=None):
    """The toy architecture's cell factory (mec.models.architectures.Architecture.cell)."""
    kw = dict(dtype=dtype) if dtype is not None else {}
    return _leaky_cell_class()(units, activation=activation, recurrent_regularizer=recurrent_regularizer,
                               bias_regularizer=bias_regularizer, seed=list(seed or [0]),
                               name="leaky_cell", **kw)


@pytest.fixture
def toy_registries():
    """The toy architecture and loader, registered for one test and removed after it."""
    # replace=True and restore: docs/extending.md's snippet (run by test_compat in the same
    # process) may have registered its own LEAKY already
    before_arch, before_loader = ARCHITECTURES.get("LEAKY"), LOADERS.get("toy")
    arch = register_architecture(Architecture("LEAKY", leaky_cell, step=None, gates=1), replace=True)
    loader = register_loader(Loader("toy", read_toy, (TOY_SUFFIX,)), replace=True)
    yield arch, loader
    for registry, name, before in ((ARCHITECTURES, arch.name, before_arch),
                                   (LOADERS, loader.name, before_loader)):
        if before is None:
            del registry[name]
        else:
            registry[name] = before


@pytest.mark.slow
def test_a_sixth_architecture_and_a_fourth_loader_run_the_tiny_experiment(tmp_path, toy_registries):
    pytest.importorskip("keras")
    import pandas as pd

    from mec.data import load_dataset, make_dataset
    from mec.data.plan import check_dataset_config
    from mec.fits.pipeline import fit_model
    from mec.models.config import resolve_model_cfg
    from mec.models.loading import load_run
    from mec.models.export import export_ratemaps
    from mec.models.train import train_model
    from mec.ratemaps import load_model_ratemaps

    assert "toy" in dataset_sources() and recording_suffixes("toy") == (TOY_SUFFIX,)
    _write_toy_recordings(tmp_path / "recs")
    # the planning check sees the new loader's suffix in the folder (and refuses an empty one)
    config = {"dataset": {"source": "toy", "arenas": {"1.0": {"shape": "square"}},
                          "recordings": {"paths": ["recs"]}}}
    rec = check_dataset_config(config, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no \.toyrec file for dataset.source 'toy'"):
        check_dataset_config({"dataset": {**config["dataset"], "recordings": {"paths": ["empty"]}}},
                             tmp_path)

    data = tmp_path / "data" / "toy.h5"
    make_dataset(data, source="toy", arenas={"1.0": {"shape": "square"}}, bin_cm=10.0,
                 recordings=rec, name="toy")
    ds = load_dataset(data)
    assert sorted(ds[1.0]) == ["toy0", "toy1", "toy2"] and ds.attrs["source"] == "toy"
    assert ds[1.0]["toy0"]["resp"].shape == (10, 10, 6)

    cfg = resolve_model_cfg({"architecture": "LEAKY", "activation": "relu", "train_arena": 1.0},
                            preset="tiny")
    model_dir = tmp_path / "models" / "tiny_leaky"
    history = train_model(cfg, model_dir, workers=1, verbose=0)
    assert history["epochs_trained"] == cfg["epochs"]
    trained = load_run(model_dir)  # model.keras reads back with its custom cell
    assert type(trained.keras_model.get_layer("pre_g").cell).__name__ == "LeakyRNNCell"
    assert trained.keras_model.name == "LEAKY_relu"

    maps = tmp_path / "ratemaps" / "tiny_leaky_1.0.h5"
    export_ratemaps(model_dir, data, arena=1.0, n_batches=2, seeds=[0], layers=list(MODEL_LAYERS),
                    out_path=maps)
    rm, _, _ = load_model_ratemaps(maps)
    assert rm["g"].shape == (10, 10, cfg["n_units"]) and np.isfinite(rm["g"]).any()

    table = fit_model(data, maps, model="tiny_leaky", arena=1.0, out_path=tmp_path / "fit.csv",
                      maps={"ridge": {"map_type": "sklinear",
                                      "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}}},
                      layers=["g"], train_frac=0.5, num_splits=2)
    fits = pd.read_csv(table)
    n_cells = sum(ds[1.0][a]["resp"].shape[2] for a in ds[1.0])
    assert set(fits["animal"].astype(str)) == {"toy0", "toy1", "toy2"}
    assert len(fits) == n_cells and fits["score"].notna().any()


def test_names_left_free_by_the_schema_are_checked_against_the_registries(tmp_path, toy_registries):
    """The schema does not enumerate architectures or dataset sources (a new one is then one
    registry entry, docs/extending.md); the planning check refuses an unknown name instead,
    naming it and the registered ones, and accepts a registered one."""
    from mec.checks import ConfigError, load_config

    props = SCHEMA["$defs"]["model"]["properties"]
    assert "enum" not in props["architecture"]
    assert "enum" not in SCHEMA["$defs"]["sweep"]["properties"]["architectures"]["items"]
    assert "enum" not in SCHEMA["properties"]["dataset"]["properties"]["source"]

    def load(text):
        path = tmp_path / "c.yaml"
        path.write_text(text)
        return load_config(path)

    assert load("models:\n  leaky: {architecture: LEAKY}\n")["models"]["leaky"]["architecture"] == "LEAKY"
    with pytest.raises(ConfigError, match=r"models\.x\.architecture: unknown architecture 'LEAKYY'"
                                          r".*'UGRNN'.*did you mean 'LEAKY'"):
        load("models:\n  x: {architecture: LEAKYY}\n")
    with pytest.raises(ConfigError, match=r"architecture: unknown architecture 'FOO'"):
        load("sweeps:\n  s:\n    architectures: [FOO]\n    activations: [relu]\n"
             "    conditions: {trained: {}}\n")
    _write_toy_recordings(tmp_path / "recs", n_animals=2, n_cells=1)
    toy = "dataset:\n  source: {}\n  arenas: {{'1.0': {{shape: square}}}}\n  recordings: {{paths: [recs]}}\n"
    ok = load(toy.format("toy"))
    assert ok["dataset"]["source"] == "toy"
    with pytest.raises(ConfigError, match=r"dataset\.source: unknown source 'toyy'.*did you mean 'toy'"):
        load(toy.format("toyy"))
