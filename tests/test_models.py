"""Path-integrator models (methods §2): cells, save/reload on TF and JAX, weight decay, training,
kill-and-resume, loading. Tiny sizes throughout."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from mec.models.cells import UGRNNCell  # noqa: E402
from mec.models.network import build_model, place_cell_activation  # noqa: E402
from mec.models.train import train_model, training_settings  # noqa: E402
from mec.models.utils import (PRESETS, configure_options, generator_from_cfg,  # noqa: E402
                              load_trained_model, resolve_model_cfg)
from mec.task import PlaceCells  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = training_settings(PRESETS["tiny"])  # the network keys of scale tiny


def _np_ugrnn(x, h0, W, b, act):
    """The released cell in numpy: one matrix W on [x, h], split into gate and candidate."""
    hs, h = [], h0
    for t in range(x.shape[1]):
        z = np.concatenate([x[:, t], h], -1) @ W + b
        gate, cand = z[:, :h.shape[1]], z[:, h.shape[1]:]
        g = 1 / (1 + np.exp(-(gate + 1.0)))
        h = g * h + (1 - g) * act(cand)
        hs.append(h)
    return np.stack(hs, 1)


def test_ugrnn_cell_matches_released_formula():
    rng = np.random.default_rng(0)
    B, T, D, U = 3, 4, 5, 5
    cell = UGRNNCell(U, activation="relu", seed=1)
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = rng.normal(size=(B, T, D)).astype("float32")
    h0 = rng.normal(size=(B, U)).astype("float32")
    out = np.asarray(layer(x, initial_state=[h0]))
    assert out.shape == (B, T, U)
    assert cell.kernel.shape == (D, 2 * U) and cell.recurrent_kernel.shape == (U, 2 * U)
    cell.bias.assign(rng.normal(size=(2 * U,)).astype("float32"))
    out = np.asarray(layer(x, initial_state=[h0]))
    W = np.concatenate([np.asarray(cell.kernel), np.asarray(cell.recurrent_kernel)], 0)
    ref = _np_ugrnn(x, h0, W, np.asarray(cell.bias), lambda v: np.maximum(v, 0))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    # Glorot limit of the released (d_in + U) x (d_in + U) matrix
    assert np.abs(W).max() <= np.sqrt(6 / (4 * U)) + 1e-7
    cfg = cell.get_config()
    assert cfg["units"] == U and UGRNNCell.from_config(cfg).units == U


@pytest.mark.parametrize("arch,act,cues", [("UGRNN", "relu", False), ("UGRNN", "tanh", True),
                                           ("SRNN", "sigmoid", False), ("GRU", "relu", False),
                                           ("LSTM", "linear", False), ("RNN", "relu", False)])
def test_architectures_shapes(arch, act, cues):
    cfg = resolve_model_cfg(dict(TINY, architecture=arch, activation=act, cues=cues))
    m = build_model(cfg, n_cues=5 if cues else 0)
    x = {"velocity": np.zeros((2, 3, 2), "float32"), "init_place": np.full((2, 32), 1 / 32, "float32")}
    if cues:
        x["cues"] = np.zeros((2, 3, 5), "float32")
    assert tuple(m(x).shape) == (2, 3, 32)
    for name in ("pre_g", "g"):
        assert m.get_layer(name).output.shape[-1] == 16


def test_place_cell_targets_on_device_match_numpy():
    pc = PlaceCells(n_cells=32)
    pos = np.random.default_rng(1).uniform(-1.1, 1.1, (4, 6, 2))
    got = np.asarray(place_cell_activation(pos.astype("float32"), pc.centres, 0.12, 2.0, True))
    np.testing.assert_allclose(got, pc.activation(pos), atol=1e-5)


def _recurrent_and_bias(model):
    cell = model.get_layer("pre_g").cell
    return cell.recurrent_kernel, cell.bias


def test_weight_decay_targets():
    """The released target is the default (methods §2.2): the penalty is weight_decay * sum(b**2)
    over the UGRNN's bias (the released code's RNN.weights[1]) and ignores the recurrent
    matrix; "recurrent" penalises the recurrent kernel instead. Checked against numpy on
    random weights, and through the training loss Keras minimises."""
    from mec.models.network import compile_model
    from mec.models.utils import DEFAULT_MODEL_CFG

    assert DEFAULT_MODEL_CFG["weight_decay_target"] == "original_bias"
    import yaml
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["$defs"]["model"]["properties"]["weight_decay_target"]["default"] == "original_bias"
    rng = np.random.default_rng(0)
    expected = {}
    for target in ("original_bias", "recurrent"):
        m = build_model(resolve_model_cfg(dict(TINY, weight_decay=0.1, weight_decay_target=target)))
        rec, bias = _recurrent_and_bias(m)
        rec.assign(rng.normal(size=rec.shape).astype("float32"))
        bias.assign(rng.normal(size=bias.shape).astype("float32"))
        b, r = np.asarray(bias, np.float64), np.asarray(rec, np.float64)
        expected[target] = 0.1 * np.sum(b ** 2) if target == "original_bias" else 0.1 * np.sum(r ** 2)
        assert len(m.losses) == 1
        np.testing.assert_allclose(float(m.losses[0]), expected[target], rtol=1e-5)
        # the penalty Keras adds to the task loss is this term and nothing else
        pc = PlaceCells(n_cells=32)
        compile_model(m, resolve_model_cfg(TINY), pc.centres)
        gen = generator_from_cfg(resolve_model_cfg(TINY))
        x, y = gen.batch(0, place_targets=False).inputs(), gen.batch(0, place_targets=False).positions
        from mec.models.network import model_inputs
        logs = m.evaluate(model_inputs(x), y, verbose=0, return_dict=True)
        xent = float(m.loss(y, m(model_inputs(x))))
        np.testing.assert_allclose(logs["loss"], xent + expected[target], rtol=1e-4)
    assert resolve_model_cfg(TINY)["weight_decay_target"] == "original_bias"
    # other cells' weights[1] is their recurrent kernel: both targets decay it
    for target in ("original_bias", "recurrent"):
        g = build_model(resolve_model_cfg(dict(TINY, architecture="GRU", weight_decay=0.1,
                                               weight_decay_target=target)))
        rk = g.get_layer("pre_g").cell.recurrent_kernel
        np.testing.assert_allclose(float(g.losses[0]), 0.1 * np.sum(np.asarray(rk, np.float64) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match="'bias'"):
        resolve_model_cfg(dict(TINY, weight_decay_target="bias"))


_ROUNDTRIP = textwrap.dedent("""
    import json, sys, numpy as np, keras
    from mec.models.network import build_model
    from mec.models.utils import resolve_model_cfg, PRESETS
    cfg = resolve_model_cfg({"cues": True}, preset="tiny")
    m = build_model(cfg, n_cues=5)
    rng = np.random.default_rng(0)
    x = {"velocity": rng.normal(size=(2, 4, 2)).astype("float32") * 0.02,
         "init_place": rng.dirichlet(np.ones(32), 2).astype("float32"),
         "cues": rng.uniform(size=(2, 4, 5)).astype("float32")}
    y = np.asarray(m(x))
    path = sys.argv[1]
    m.save(path)
    m2 = keras.models.load_model(path)
    y2 = np.asarray(m2(x))
    np.save(path + ".npy", y)
    print(json.dumps({"backend": keras.backend.backend(), "maxdiff": float(np.abs(y - y2).max())}))
""")


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_save_reload_roundtrip(backend, tmp_path):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    script = tmp_path / "rt.py"
    script.write_text(_ROUNDTRIP)
    res = subprocess.run([sys.executable, str(script), str(tmp_path / "m.keras")], env=env,
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    assert out["maxdiff"] == 0.0


def test_tiny_training_lowers_loss(tmp_path):
    cfg = dict(n_units=32, n_place_cells=64, batch_size=32, sequence_length=10, epochs=3,
               steps_per_epoch=25, learning_rate=3e-3, place_cell_rf=0.3, train_arena=1.0)
    train_model(cfg, tmp_path / "run", verbose=0)
    hist = np.genfromtxt(tmp_path / "run" / "history.csv", delimiter=",", names=True)
    assert list(hist["epoch"]) == [1, 2, 3]
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["decoding_error_cm"][-1] < hist["decoding_error_cm"][0]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["model"]
    assert saved == resolve_model_cfg(cfg)


def test_untrained_and_loader(tmp_path):
    train_model(dict(TINY, untrained=True), tmp_path / "u", verbose=0)
    hist = (tmp_path / "u" / "history.csv").read_text().splitlines()
    assert hist == ["epoch,loss,decoding_error_cm"]
    m = load_trained_model(load_dir=tmp_path, run_ID="u")
    b = generator_from_cfg(m.cfg).batch(0)
    for name, units in (("pre_g", 16), ("g", 16), ("dc", 32)):
        assert getattr(m, name)(b.inputs()).shape == (TINY["batch_size"], TINY["sequence_length"], units)
    np.testing.assert_allclose(m.g(b), m.activations(b)["g"])
    with pytest.raises(FileNotFoundError):
        load_trained_model(load_dir=tmp_path, run_ID="missing")


def test_default_run_uses_the_demo_preset_and_its_twin():
    """config.yaml names scale demo, the preset of mec.models.scales (no copy of it:
    tests/test_configs.py); resolving the preset keeps only network keys."""
    import yaml

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert "scales" not in cfg
    resolved = resolve_model_cfg(preset="demo")
    assert resolved["n_units"] == PRESETS["demo"]["n_units"] == 128 and "n_eval_batches" not in resolved
    # the default run pairs the demo model with its untrained twin
    models = cfg["models"]
    assert models["ugrnn_relu"]["scale"] == "demo"
    twin = {k: v for k, v in models["ugrnn_relu_untrained"].items() if k != "untrained"}
    assert models["ugrnn_relu_untrained"]["untrained"] is True and twin == models["ugrnn_relu"]


def test_configure_options_defaults():
    o = configure_options()
    assert (o.Ng, o.Np, o.batch_size, o.sequence_length) == (4096, 512, 200, 20)
    assert (o.learning_rate, o.place_cell_rf, o.surround_scale, o.weight_decay) == (1e-4, 0.12, 2, 1e-4)
    assert (o.n_epochs, o.n_steps, o.box_width) == (100, 1000, 2.2)
    assert (o.min_x, o.max_x, o["min_y"], o.max_y) == (-1.1, 1.1, -1.1, 1.1)
    o = configure_options(box_width=1.0, box_height=1.0, min_x=0.0, max_x=1.0, min_y=0.0, max_y=1.0)
    assert (o.min_x, o.max_y) == (0.0, 1.0)
    with pytest.raises(ValueError):
        configure_options(box_width=1.0, min_x=0.0, max_x=2.0, min_y=0.0, max_y=2.2)
    with pytest.raises(ValueError, match="unknown"):
        resolve_model_cfg({"n_unit": 3})


def test_refuses_other_config_in_same_dir(tmp_path):
    train_model(dict(TINY), tmp_path / "r", verbose=0)
    with pytest.raises(ValueError, match="different config"):
        train_model(dict(TINY, n_units=8), tmp_path / "r", verbose=0)
    # The workflow's choice: a changed config starts over from epoch 0.
    train_model(dict(TINY, n_units=8), tmp_path / "r", verbose=0, restart_on_change=True)
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["model"]
    assert saved["n_units"] == 8
    hist = pd.read_csv(tmp_path / "r" / "history.csv")
    assert list(hist["epoch"]) == list(range(1, TINY["epochs"] + 1))


def test_original_checkpoint_mapping(tmp_path):
    """A TF2 checkpoint with the released object layout (net/RNN/cell/weight, ...) loads into our
    model and gives the released model's outputs (computed here in numpy)."""
    tf = pytest.importorskip("tensorflow")
    from mec.models.utils import load_original_checkpoint

    Ng, Np = 16, 32
    rng = np.random.default_rng(0)

    class Obj(tf.Module):
        pass

    def dense(din, dout):
        o = Obj()
        o.kernel = tf.Variable(rng.normal(size=(din, dout)).astype("float32") * 0.3)
        o.bias = tf.Variable(rng.normal(size=(dout,)).astype("float32") * 0.1)
        return o

    net = Obj()
    net.encoder, net.M, net.dense, net.decoder = dense(Np, Ng), dense(2, Ng), dense(Ng, Ng), dense(Ng, Np)
    net.RNN = Obj()
    net.RNN.cell = Obj()
    net.RNN.cell.weight = tf.Variable(rng.normal(size=(2 * Ng, 2 * Ng)).astype("float32") * 0.2)
    net.RNN.cell.bias = tf.Variable(rng.normal(size=(2 * Ng,)).astype("float32") * 0.1)
    prefix = tf.train.Checkpoint(step=tf.Variable(0), net=net).save(str(tmp_path / "ckpts" / "ckpt"))

    model = build_model(resolve_model_cfg(dict(TINY, n_units=Ng, n_place_cells=Np)))
    load_original_checkpoint(model, prefix)
    v = rng.normal(size=(3, 4, 2)).astype("float32") * 0.02
    p0 = rng.dirichlet(np.ones(Np), 3).astype("float32")
    got = np.asarray(model({"velocity": v, "init_place": p0}))
    n = lambda o: (o.kernel.numpy(), o.bias.numpy())  # noqa: E731
    (ek, eb), (mk, mb), (dk, db), (ok, ob) = n(net.encoder), n(net.M), n(net.dense), n(net.decoder)
    hs = _np_ugrnn(v @ mk + mb, p0 @ ek + eb, net.RNN.cell.weight.numpy(), net.RNN.cell.bias.numpy(),
                   lambda x: np.maximum(x, 0))
    ref = np.maximum(hs @ dk + db, 0) @ ok + ob
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(FileNotFoundError):
        load_original_checkpoint(model, tmp_path / "ckpts" / "ckpt-101")


def test_export_training_box_ratemaps_bins_the_training_box(tmp_path):
    from mec.models.export import export_training_box_ratemaps
    from mec.ratemaps import load_model_ratemaps

    train_model(dict(TINY, untrained=True, train_arena=1.2), tmp_path / "m", verbose=0)
    export_training_box_ratemaps(tmp_path / "m", bin_cm=10.0, n_batches=2, seeds=[0],
                                 layers=["g"], out_path=tmp_path / "h.h5")
    maps, (xe, ye), attrs = load_model_ratemaps(tmp_path / "h.h5")
    np.testing.assert_allclose(xe, np.linspace(-0.6, 0.6, 13))  # 1.2 m in 10 cm bins
    np.testing.assert_allclose(ye, xe)
    assert maps["g"].shape == (12, 12, 16)
    assert float(attrs["arena"]) == 1.2 and attrs["condition"] == "untrained"
    assert float(attrs["train_arena"]) == 1.2 and 0 < float(attrs["decoding_error_cm"]) < 150


def test_export_ratemaps(tmp_path, monkeypatch):
    import mec.data
    from mec.models.export import evaluate_decoding_error, export_ratemaps
    from mec.ratemaps import load_model_ratemaps, make_edges

    train_model(dict(TINY, untrained=True), tmp_path / "models" / "m", verbose=0)
    e = make_edges(-0.5, 0.5)

    class FakeDataset(dict):
        edges = {1.0: (e, e)}

    monkeypatch.setattr(mec.data, "load_dataset", lambda path: FakeDataset())
    export_ratemaps(tmp_path / "models" / "m", "data.h5", 1.0, 3, [0, 1], ["g", "dc"], tmp_path / "r.h5")
    maps, (xe, ye), attrs = load_model_ratemaps(tmp_path / "r.h5")
    assert maps["g"].shape == (20, 20, 16) and maps["dc"].shape == (20, 20, 32)
    np.testing.assert_array_equal(xe, e)
    assert attrs["condition"] == "untrained" and int(attrs["n_batches"]) == 3
    # what was used is recorded: samples, stream, place cells, decoding error, weights
    assert int(attrs["n_samples"]) == 2 * 3 * TINY["batch_size"] * TINY["sequence_length"]
    assert attrs["trajectory_stream"] == "evaluation" and attrs["place_cells"] == "evaluation_box"
    assert attrs["weight_decay_target"] == "original_bias" and bool(attrs["untrained"])
    m0 = load_trained_model(load_dir=tmp_path / "models", run_ID="m")
    rk = np.asarray(m0.keras_model.get_layer("pre_g").cell.recurrent_kernel, np.float64)
    assert float(attrs["recurrent_rms"]) == pytest.approx(np.sqrt(np.mean(rk ** 2)), rel=1e-6)
    assert float(attrs["recurrent_norm"]) == pytest.approx(np.linalg.norm(rk), rel=1e-6)
    assert 0 < float(attrs["decoding_error_cm"]) < 150
    m = load_trained_model(load_dir=tmp_path / "models", run_ID="m")
    cfg = configure_options(box_width=1.0, box_height=1.0)
    full = evaluate_decoding_error(m, cfg, 2, seed=0)
    assert full == evaluate_decoding_error(m, cfg, 2, seed=0, unit_mask=np.ones(16))
    assert full != evaluate_decoding_error(m, cfg, 2, seed=0, unit_mask=np.zeros(16))


def test_evaluation_place_cells_and_stream(tmp_path):
    """A model evaluated in a box other than its training box gets place cells drawn anew,
    same seed, in that box (the released code; methods §1.2), unless asked to keep the training
    ones; in its training box it keeps its own. Evaluation walks are never training batches."""
    from mec.models.export import (_eval_generator, evaluation_place_cells, model_ratemaps)
    from mec.ratemaps import make_edges

    train_model(dict(TINY, untrained=True, train_arena=2.2), tmp_path / "m", verbose=0)
    m = load_trained_model(load_dir=tmp_path, run_ID="m")
    small = (-0.5, 0.5, -0.5, 0.5)
    drawn = evaluation_place_cells(m, small)
    ref = PlaceCells(n_cells=32, min_x=-0.5, max_x=0.5, min_y=-0.5, max_y=0.5)
    np.testing.assert_allclose(drawn.centres, ref.centres, atol=1e-12)
    assert evaluation_place_cells(m, small, "training_box") is m.place_cells
    assert evaluation_place_cells(m, (-1.1, 1.1, -1.1, 1.1)) is m.place_cells
    # data edges a few mm inside the walls are the training box
    assert evaluation_place_cells(m, (-1.0999, 1.0998, -1.1, 1.0999)) is m.place_cells
    with pytest.raises(ValueError, match="'nearest'"):
        evaluation_place_cells(m, small, "nearest")
    # the generator feeds the encoder the evaluation place cells' vector of the start
    gen = _eval_generator(m, {"min_x": -0.5, "max_x": 0.5, "min_y": -0.5, "max_y": 0.5}, seed=0)
    b = gen.batch(0, place_targets=False)
    np.testing.assert_allclose(b.init_place, ref.activation(b.init_pos.astype(np.float64)), atol=1e-6)
    assert gen.stream == "evaluation"
    train_gen = generator_from_cfg(m.cfg)
    assert not np.allclose(_eval_generator(m, {"box_width": 2.2}, seed=0).batch(0).init_pos,
                           train_gen.batch(0).init_pos)
    # the two choices give different maps in the small box, the same in the training box
    e = make_edges(-0.5, 0.5)
    cfg = {"box_width": 1.0, "box_height": 1.0}
    a, info = model_ratemaps(m, cfg, e, e, 2, [0], layers=("g",), return_info=True)
    bb = model_ratemaps(m, cfg, e, e, 2, [0], layers=("g",), place_cells="training_box")
    assert not np.allclose(a["g"], bb["g"], equal_nan=True)
    assert info["place_cells"] == "evaluation_box" and info["n_samples"] == 2 * TINY["batch_size"] * TINY["sequence_length"]
    E = make_edges(-1.1, 1.1)
    big = {"box_width": 2.2, "box_height": 2.2}
    np.testing.assert_array_equal(model_ratemaps(m, big, E, E, 1, [0], layers=("g",))["g"],
                                  model_ratemaps(m, big, E, E, 1, [0], layers=("g",),
                                                 place_cells="training_box")["g"])


def test_one_loader_of_a_training_run(tmp_path):
    """load_run is the loader of a run folder; load_trained_model (the original's arguments),
    export_ratemaps and the knockouts go through it (one loader)."""
    from mec.models.utils import load_run

    train_model(dict(TINY, untrained=True), tmp_path / "m", verbose=0)
    a = load_run(tmp_path / "m")
    b = load_trained_model(load_dir=tmp_path, run_ID="m")
    assert a.cfg == b.cfg
    for wa, wb in zip(a.keras_model.get_weights(), b.keras_model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(FileNotFoundError, match=r"no .*nowhere/config.json: train the model first"):
        load_run(tmp_path / "nowhere")
    # nothing else in the package loads a Keras model file or reads a run's config.json
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "mec").rglob("*.py")
                 if p.name not in ("loading.py", "train.py")
                 and ("load_model(" in p.read_text() or '"config.json").read' in p.read_text())]
    assert offenders == []


def test_model_ratemaps_bin_like_bin_activity(tmp_path):
    """model_ratemaps streams the model's activity through the contract's binning: the same
    maps as mec.ratemaps.bin_activity on all the evaluation samples at once."""
    from mec.models.export import _eval_generator, model_ratemaps
    from mec.ratemaps import bin_activity, make_edges

    train_model(dict(TINY, untrained=True, train_arena=1.0), tmp_path / "m", verbose=0)
    m = load_trained_model(load_dir=tmp_path, run_ID="m")
    e = make_edges(-0.5, 0.5, 10.0)
    cfg = {"box_width": 1.0, "box_height": 1.0}
    maps, info = model_ratemaps(m, cfg, e, e, 3, [0, 1], layers=("g", "dc"), return_info=True)
    pos, acts = [], {"g": [], "dc": []}
    for seed in (0, 1):
        gen = _eval_generator(m, cfg, seed)
        for i in range(3):
            b = gen.batch(i, place_targets=False)
            pos.append(b.positions.reshape(-1, 2))
            for name, a in m.activations(b, ("g", "dc")).items():
                acts[name].append(a.reshape(-1, a.shape[-1]))
    pos = np.concatenate(pos)
    for name in ("g", "dc"):
        ref = bin_activity(pos, np.concatenate(acts[name]), e, e)
        assert np.array_equal(np.isnan(maps[name]), np.isnan(ref))
        np.testing.assert_allclose(maps[name], ref, rtol=1e-9)
    assert info["n_samples"] == len(pos) == info["sample_counts"].sum()


def test_recurrent_weight_stats_and_twin_is_the_initialisation(tmp_path):
    """The untrained twin (same config, untrained: true) is exactly the trained run's
    initialisation (epoch_0000), so 'trained vs untrained twin' compares one network before
    and after training."""
    from mec.models.utils import load_trained_model, recurrent_weight_stats

    cfg = dict(TINY, epochs=1, steps_per_epoch=2)
    train_model(cfg, tmp_path / "t", verbose=0, workers=1)
    train_model(dict(cfg, untrained=True), tmp_path / "u", verbose=0, workers=1)
    init = load_trained_model(load_dir=tmp_path, run_ID="t", ckpt_file="epoch_0000").keras_model
    twin = keras.models.load_model(tmp_path / "u" / "model.keras", compile=False)
    for w0, w1 in zip(init.weights, twin.weights):
        np.testing.assert_array_equal(np.asarray(w0), np.asarray(w1))
    stats = recurrent_weight_stats(twin)
    rk = np.asarray(twin.get_layer("pre_g").cell.recurrent_kernel, np.float64)
    assert stats == {"recurrent_rms": pytest.approx(np.sqrt(np.mean(rk ** 2))),
                     "recurrent_norm": pytest.approx(np.linalg.norm(rk))}
