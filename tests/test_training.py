"""Training that never gets stuck, same seed = same network, and the fused step:
FusedRNN against Keras' RNN layer, seeded initialisers, resume from the newest
consistent checkpoint, kill-and-resume bit for bit, two processes per architecture, JAX with no
TensorFlow installed. Tiny sizes throughout."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from mec.models.cells import FusedRNN, SeededOrthogonal, SeededUniform, UGRNNCell  # noqa: E402
from mec.models.network import PlaceCellLoss, build_model, compile_model  # noqa: E402
from mec.models.train import (load_weights, train_model, training_settings,  # noqa: E402
                              METADATA_KEYS)
from mec.models.utils import PRESETS, load_trained_model, place_cells_from_cfg, resolve_model_cfg  # noqa: E402
from mec.task import prefetch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = training_settings(PRESETS["tiny"])  # the network keys of scale tiny
ARCHS = [("UGRNN", "relu"), ("SRNN", "tanh"), ("GRU", "relu"), ("LSTM", "tanh"), ("RNN", "relu")]


def _env(**kw):
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", **kw)


def _run(script: str, *args, env=None, timeout=300):
    res = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env or _env(),
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _batch(rng, n_cues=0, B=4, T=7, Np=32):
    x = {"velocity": rng.normal(size=(B, T, 2)).astype("float32") * 0.03,
         "init_place": rng.dirichlet(np.ones(Np), B).astype("float32")}
    if n_cues:
        x["cues"] = rng.uniform(size=(B, T, n_cues)).astype("float32")
    return x, rng.uniform(-1, 1, (B, T, 2)).astype("float32")


def _loss_and_grads(model, cfg, x, y):
    """Loss (place-cell cross-entropy + weight decay) and its gradients, TensorFlow backend."""
    import tensorflow as tf
    pc = place_cells_from_cfg(cfg)
    loss_fn = PlaceCellLoss(pc.centres, cfg["place_cell_rf"], cfg["surround_scale"], cfg["dog"])
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    return float(loss), [np.asarray(g) for g in grads]


# ------------------------------------------------------------------------------------------
# the fused step
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,act", ARCHS)
def test_fused_rnn_equals_keras_rnn_layer(arch, act):
    """Same initial weights, same loss and gradients as keras.layers.RNN over the same cell."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("in-process gradients use TensorFlow; the JAX check runs in a subprocess")
    cfg = resolve_model_cfg(dict(TINY, architecture=arch, activation=act, weight_decay=1e-3,
                                 cues=arch == "UGRNN"))
    n_cues = 5 if cfg["cues"] else 0
    fused, ref = build_model(cfg, n_cues, rnn_impl="fused"), build_model(cfg, n_cues, rnn_impl="keras")
    assert isinstance(fused.get_layer("pre_g"), FusedRNN)
    assert isinstance(ref.get_layer("pre_g"), keras.layers.RNN)
    assert [v.path for v in fused.weights] == [v.path for v in ref.weights]
    for a, b in zip(fused.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    x, y = _batch(np.random.default_rng(1), n_cues)
    la, ga = _loss_and_grads(fused, cfg, x, y)
    lb, gb = _loss_and_grads(ref, cfg, x, y)
    assert la == pytest.approx(lb, rel=1e-6)
    assert len(ga) == len(gb) == len(fused.trainable_variables)
    for v, a, b in zip(fused.trainable_variables, ga, gb):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * np.abs(b).max(), err_msg=v.path)
    for name in ("pre_g", "g", "dc"):  # the layers the fitting code reads
        sub_a = keras.Model(fused.inputs, fused.get_layer(name).output)
        sub_b = keras.Model(ref.inputs, ref.get_layer(name).output)
        np.testing.assert_allclose(np.asarray(sub_a(x)), np.asarray(sub_b(x)), rtol=1e-5, atol=1e-6)


_JAX_EQUIV = textwrap.dedent("""
    import json, numpy as np, jax, keras
    from mec.models.network import PlaceCellLoss, build_model
    from mec.models.utils import PRESETS, place_cells_from_cfg, resolve_model_cfg
    out = {}
    for arch, act in %r:
        cfg = resolve_model_cfg(dict(architecture=arch, activation=act, weight_decay=1e-3), preset="tiny")
        rng = np.random.default_rng(1)
        x = {"velocity": rng.normal(size=(4, 7, 2)).astype("float32") * 0.03,
             "init_place": rng.dirichlet(np.ones(32), 4).astype("float32")}
        y = rng.uniform(-1, 1, (4, 7, 2)).astype("float32")
        pc = place_cells_from_cfg(cfg)
        lf = PlaceCellLoss(pc.centres, cfg["place_cell_rf"], cfg["surround_scale"], cfg["dog"])
        res = []
        for impl in ("fused", "keras"):
            m = build_model(cfg, rnn_impl=impl)
            tv = [v.value for v in m.trainable_variables]
            ntv = [v.value for v in m.non_trainable_variables]
            def f(tv):
                o, _, losses = m.stateless_call(tv, ntv, x, training=True, return_losses=True)
                return lf(y, o) + sum(losses)
            loss, g = jax.jit(jax.value_and_grad(f))(tv)
            res.append((float(loss), [np.asarray(a) for a in g]))
        (la, ga), (lb, gb) = res
        out[arch] = [abs(la - lb) / abs(lb),
                     max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(ga, gb))]
    print(json.dumps({"backend": keras.backend.backend(), "diff": out}))
""") % (ARCHS,)


@pytest.mark.slow
def test_fused_rnn_equals_keras_rnn_layer_on_jax():
    res = _run(_JAX_EQUIV, env=_env(KERAS_BACKEND="jax"))
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    assert set(out["diff"]) == {a for a, _ in ARCHS}
    for arch, (dloss, dgrad) in out["diff"].items():
        assert dloss < 1e-6 and dgrad < 1e-5, (arch, dloss, dgrad)


def test_fused_rnn_mixed_bfloat16():
    """Under mixed bfloat16 the fused layer computes in bfloat16 with float32 weights, agrees
    with Keras' RNN layer to bfloat16 precision, and a training step gives finite numbers."""
    cfg = resolve_model_cfg(dict(TINY, mixed_precision=True))
    fused, ref = build_model(cfg, rnn_impl="fused"), build_model(cfg, rnn_impl="keras")
    layer = fused.get_layer("pre_g")
    assert layer.compute_dtype == "bfloat16" and layer.cell.kernel.dtype == "float32"
    x, y = _batch(np.random.default_rng(2))
    a = keras.Model(fused.inputs, layer.output)(x)
    b = keras.Model(ref.inputs, ref.get_layer("pre_g").output)(x)
    assert keras.backend.standardize_dtype(a.dtype) == "bfloat16"
    np.testing.assert_allclose(np.asarray(a, "float32"), np.asarray(b, "float32"), atol=0.03)
    full = build_model(resolve_model_cfg(dict(TINY)))
    h32 = np.asarray(keras.Model(full.inputs, full.get_layer("pre_g").output)(x))
    np.testing.assert_allclose(np.asarray(a, "float32"), h32, atol=0.03)  # same weights as float32
    pc = place_cells_from_cfg(cfg)
    model = compile_model(fused, cfg, pc.centres)
    loss, err = model.train_on_batch(x, y)
    assert np.isfinite(loss) and np.isfinite(err)


def test_fused_rnn_serialises_and_old_models_load(tmp_path):
    """The fused model round-trips through .keras; a model saved with keras.layers.RNN (before
    the fused layer) still loads through load_trained_model and gives the same activations."""
    cfg = resolve_model_cfg(dict(TINY))
    x, _ = _batch(np.random.default_rng(3))
    m = build_model(cfg)
    m.save(tmp_path / "m.keras")
    m2 = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(m2.get_layer("pre_g"), FusedRNN) and isinstance(m2.get_layer("pre_g").cell, UGRNNCell)
    np.testing.assert_array_equal(np.asarray(m(x)), np.asarray(m2(x)))
    old = build_model(cfg, rnn_impl="keras")
    run = tmp_path / "models" / "old"
    run.mkdir(parents=True)
    old.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"model": cfg}))
    loaded = load_trained_model(load_dir=tmp_path / "models", run_ID="old")
    assert isinstance(loaded.keras_model.get_layer("pre_g"), keras.layers.RNN)
    np.testing.assert_allclose(loaded.g(x), np.asarray(keras.Model(m.inputs, m.get_layer("g").output)(x)),
                               rtol=1e-5, atol=1e-6)


def test_fused_rnn_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="Dense"):
        FusedRNN(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="reset_after"):
        FusedRNN(keras.layers.GRUCell(3, reset_after=False))
    with pytest.raises(ValueError, match="dropout=0.2"):
        FusedRNN(keras.layers.SimpleRNNCell(3, dropout=0.2))
    with pytest.raises(ValueError, match="unroll must be an int >= 1, got 0"):
        FusedRNN(UGRNNCell(3), unroll=0)
    layer = FusedRNN(keras.layers.LSTMCell(3))
    with pytest.raises(ValueError, match="takes 2 initial state"):
        layer(np.zeros((2, 4, 5), "float32"), initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match="rnn_impl must be one of .*'cudnn'"):
        build_model(resolve_model_cfg(dict(TINY)), rnn_impl="cudnn")


def test_seeded_initialisers():
    u = SeededUniform([4, 2])
    a, b = np.asarray(u((30, 50))), np.asarray(SeededUniform([4, 2])((30, 50)))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() <= np.sqrt(6 / 80) and np.abs(a).max() > 0.9 * np.sqrt(6 / 80)  # Glorot
    assert not np.array_equal(a, np.asarray(SeededUniform([4, 3])((30, 50))))
    assert np.abs(np.asarray(SeededUniform(1, limit=0.01)((5, 5)))).max() <= 0.01
    for shape in ((6, 18), (18, 6)):
        q = np.asarray(SeededOrthogonal(7)(shape), "float64")
        small = q @ q.T if shape[0] < shape[1] else q.T @ q
        np.testing.assert_allclose(small, np.eye(6), atol=1e-5)
    assert SeededUniform.from_config(u.get_config()).seed == [4, 2]
    with pytest.raises(ValueError, match="seed must be a non-negative int or a list of them, got -1"):
        SeededUniform(-1)
    with pytest.raises(ValueError, match="SeededOrthogonal needs a 2-D shape, got \\(3,\\)"):
        SeededOrthogonal(0)((3,))


def test_prefetch_reports_its_wait():
    stats = {}
    got = list(prefetch(lambda i: (time.sleep(0.02), i)[1], 0, 5, workers=1, depth=1, stats=stats))
    assert got == [0, 1, 2, 3, 4]
    assert stats["items"] == 5 and stats["wait_s"] > 0.02  # one worker, nothing ready ahead


# ------------------------------------------------------------------------------------------
# same seed, same network
# ------------------------------------------------------------------------------------------
_SEEDS = textwrap.dedent("""
    import hashlib, json, sys, tempfile, numpy as np, keras
    from mec.models.network import build_model
    from mec.models.train import train_model, training_settings
    from mec.models.utils import PRESETS, resolve_model_cfg, generator_from_cfg
    train = sys.argv[1] == "train"
    digest = lambda arrays: hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()
    out = {}
    for arch, act in %r:
        cfg = dict(training_settings(PRESETS["tiny"]), architecture=arch, activation=act, seed=3, epochs=1, steps_per_epoch=2)
        r = resolve_model_cfg(cfg)
        b = generator_from_cfg(r).batch(5)
        out[arch] = {"init": digest(build_model(r).get_weights()),
                     "batch": digest([b.velocity, b.positions, b.init_place])}
        if train:
            with tempfile.TemporaryDirectory() as d:
                train_model(cfg, d, verbose=0, workers=1)
                out[arch]["trained"] = digest(np.load(d + "/checkpoints/state_0001.npz")[k]
                                              for k in sorted(np.load(d + "/checkpoints/state_0001.npz").files))
    print(json.dumps({"backend": keras.backend.backend(), "out": out}))
""") % (ARCHS,)


@pytest.mark.slow
def test_same_seed_same_network_in_two_processes():
    """Every architecture: two processes with the same seed start from the same weights, see the
    same trajectories and end training with the same weights (CPU); JAX starts from them too."""
    runs = [json.loads(_run(_SEEDS, "train").stdout.strip().splitlines()[-1]) for _ in range(2)]
    jax_run = json.loads(_run(_SEEDS, "init", env=_env(KERAS_BACKEND="jax")).stdout.strip().splitlines()[-1])
    assert jax_run["backend"] == "jax"
    a, b, j = runs[0]["out"], runs[1]["out"], jax_run["out"]
    assert set(a) == {arch for arch, _ in ARCHS}
    for arch in a:
        assert a[arch] == b[arch], arch
        assert a[arch]["init"] == j[arch]["init"] and a[arch]["batch"] == j[arch]["batch"], arch
    assert len({a[arch]["init"] for arch in a}) == len(a)


@pytest.mark.parametrize("arch,act", ARCHS)
def test_seed_decides_the_initial_weights(arch, act):
    cfg = dict(TINY, architecture=arch, activation=act)
    models = [build_model(resolve_model_cfg(dict(cfg, seed=s))) for s in (0, 0, 1)]
    w = [m.get_weights() for m in models]
    for x, y in zip(w[0], w[1]):
        np.testing.assert_array_equal(x, y)
    kernels = [i for i, v in enumerate(models[0].weights) if v.path.endswith("kernel")]
    assert len(kernels) >= 4
    assert all(not np.array_equal(w[0][i], w[2][i]) for i in kernels)


# ------------------------------------------------------------------------------------------
# training that always finishes or says why (and its checkpoints)
# ------------------------------------------------------------------------------------------
CFG = dict(TINY, epochs=4, steps_per_epoch=3)


def _weights(run: Path):
    return load_trained_model(load_dir=run.parent, run_ID=run.name).keras_model.get_weights()


def _same_weights(a: Path, b: Path):
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of CFG (a state every epoch)."""
    run = tmp_path_factory.mktemp("ref") / "run"
    stats = train_model(CFG, run, verbose=0, workers=1, state_every=1)
    assert stats["epochs_trained"] == 4 and stats["start_epoch"] == 0
    return run


def _copy(reference, tmp_path, drop_outputs=True):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    if drop_outputs:  # what Snakemake does before it reruns the job
        for name in ("model.keras", "history.csv", "config.json"):
            (run / name).unlink()
    return run


def test_checkpoint_layout(reference):
    ck = reference / "checkpoints"
    names = sorted(p.name for p in ck.iterdir())
    # weights every epoch (the newest two and epoch 0 kept), the newest two full states
    assert names == ["config.json", "epoch_0000.weights.npz", "epoch_0003.weights.npz",
                     "epoch_0004.weights.npz", "history.csv", "state_0003.npz", "state_0004.npz"]
    assert not [p for p in reference.iterdir() if p.name.startswith(".")]  # no temp files left
    hist = pd.read_csv(reference / "history.csv")
    assert list(hist["epoch"]) == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(hist, pd.read_csv(ck / "history.csv"))
    state = np.load(ck / "state_0004.npz")
    assert int(state["optimizer/iteration"]) == 4 * CFG["steps_per_epoch"]
    assert {"model/pre_g/recurrent_kernel", "optimizer/pre_g/recurrent_kernel/momentum",
            "optimizer/pre_g/recurrent_kernel/velocity", "optimizer/dc/bias/velocity",
            "optimizer/learning_rate"} <= set(state.files)
    assert len(state.files) == 2 + 3 * 11  # iteration, learning rate; 11 weights and 2 moments each
    # the final state is the finished model's weights
    m = build_model(resolve_model_cfg(CFG))
    load_weights(m, ck / "state_0004.npz")
    for x, y in zip(m.get_weights(), _weights(reference)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture
def train_log(caplog):
    """caplog with mec.models.train's INFO messages (epoch lines, resuming, fallbacks)."""
    caplog.set_level(logging.INFO, logger="mec.models.train")
    return caplog


def test_rerun_with_nothing_left_rewrites_the_outputs(reference, tmp_path, train_log):
    """A finished job rerun (Snakemake deleted its outputs first; or the run crashed after the
    last checkpoint, before model.keras) rewrites them instead of failing."""
    run = _copy(reference, tmp_path)
    stats = train_model(CFG, run, verbose=0, workers=1)
    assert stats["epochs_trained"] == 0 and stats["start_epoch"] == 4
    assert "Nothing left to train (epoch 4 of 4)" in train_log.text
    for name in ("model.keras", "history.csv", "config.json"):
        assert (run / name).exists(), name
    pd.testing.assert_frame_equal(pd.read_csv(run / "history.csv"), pd.read_csv(reference / "history.csv"))
    _same_weights(run, reference)


def test_state_ahead_of_history_falls_back(reference, tmp_path, train_log):
    """A crash between a checkpoint and its history row: the state is skipped (and said so),
    training resumes from the one before and ends with the same weights."""
    run = _copy(reference, tmp_path)
    hist = pd.read_csv(run / "checkpoints" / "history.csv")
    hist.iloc[:3].to_csv(run / "checkpoints" / "history.csv", index=False)
    stats = train_model(CFG, run, verbose=0, workers=1)
    out = train_log.text
    assert "skipping state_0004.npz: history.csv has epochs 1..3 only" in out
    assert stats["start_epoch"] == 3 and stats["epochs_trained"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(run / "history.csv"), pd.read_csv(reference / "history.csv"))
    _same_weights(run, reference)


def test_truncated_newest_state_falls_back(reference, tmp_path, train_log):
    run = _copy(reference, tmp_path)
    path = run / "checkpoints" / "state_0004.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    stats = train_model(CFG, run, verbose=0, workers=1)
    out = train_log.text
    assert "skipping state_0004.npz:" in out and "state_0004.npz is unreadable" in out
    assert stats["start_epoch"] == 3
    _same_weights(run, reference)


def test_history_ahead_of_states_is_cut(reference, tmp_path):
    """History rows after the newest state (a kill before the state was written) are retrained."""
    run = _copy(reference, tmp_path)
    (run / "checkpoints" / "state_0004.npz").unlink()
    stats = train_model(CFG, run, verbose=0, workers=1)
    assert stats["start_epoch"] == 3 and stats["epochs_trained"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(run / "history.csv"), pd.read_csv(reference / "history.csv"))
    _same_weights(run, reference)


def test_no_usable_state_starts_over(reference, tmp_path, train_log):
    run = _copy(reference, tmp_path)
    for p in (run / "checkpoints").glob("state_*.npz"):
        p.write_bytes(b"not a zip")
    stats = train_model(CFG, run, verbose=0, workers=1)
    assert stats["start_epoch"] == 0 and stats["epochs_trained"] == 4
    assert train_log.text.count("is unreadable") == 2
    _same_weights(run, reference)


def test_temp_files_of_a_killed_run_are_removed(reference, tmp_path, train_log):
    run = _copy(reference, tmp_path)
    left = [run / "checkpoints" / ".state_0005.k2j3.tmp.npz", run / ".model.x81.tmp.keras"]
    for p in left:
        p.write_bytes(b"half a file")
    train_model(CFG, run, verbose=0, workers=1)
    assert not any(p.exists() for p in left)
    assert f"removing {left[0]}, left by an interrupted run" in train_log.text
    _same_weights(run, reference)


def test_legacy_keras_checkpoint_resumes(reference, tmp_path):
    """A checkpoint written before the fused layer (epoch_EEEE.keras: keras.layers.RNN model + Adam)
    is resumed by the fused model and ends where the uninterrupted run ends."""
    from mec.models.train import _restore_state
    run = _copy(reference, tmp_path)
    cfg = resolve_model_cfg(CFG)
    old = compile_model(build_model(cfg, rnn_impl="keras"), cfg, place_cells_from_cfg(cfg).centres)
    _restore_state(old, run / "checkpoints" / "state_0003.npz")  # same variable paths
    old.save(run / "checkpoints" / "epoch_0003.keras")
    for p in (run / "checkpoints").glob("state_*.npz"):
        p.unlink()
    stats = train_model(CFG, run, verbose=0, workers=1)
    assert stats["start_epoch"] == 3
    _same_weights(run, reference)


def test_training_errors_name_the_problem(tmp_path, reference):
    with pytest.raises(ValueError, match="keep_checkpoints must be >= 1 or None, got 0"):
        train_model(TINY, tmp_path / "a", keep_checkpoints=0)
    with pytest.raises(ValueError, match="state_every must be >= 1 or None, got 0"):
        train_model(TINY, tmp_path / "a", state_every=0)
    run = _copy(reference, tmp_path)
    (run / "checkpoints" / "config.json").write_text("{\"mod")
    with pytest.raises(ValueError, match=f"{run / 'checkpoints'} holds checkpoints but "
                                         f"{run / 'checkpoints' / 'config.json'} is unreadable"):
        train_model(CFG, run, verbose=0)
    (run / "checkpoints" / "config.json").unlink()
    with pytest.raises(ValueError, match=f"{run / 'checkpoints'} holds checkpoints but no config.json says"):
        train_model(CFG, run, verbose=0)
    train_model(CFG, run, verbose=0, restart_on_change=True)  # the workflow's choice: start over
    assert json.loads((run / "checkpoints" / "config.json").read_text())["model"] == resolve_model_cfg(CFG)
    _same_weights(run, reference)
    with pytest.raises(ValueError, match=r"epoch_0004.weights.npz: model/M/kernel has shape "
                                         r"\(2, 16\), the model's is \(2, 8\)"):
        load_weights(build_model(resolve_model_cfg(dict(CFG, n_units=8))),
                     reference / "checkpoints" / "epoch_0004.weights.npz")
    short = _copy(reference, tmp_path / "s")
    cfg_file = short / "checkpoints" / "config.json"  # the same run, told it has 3 epochs
    meta = json.loads(cfg_file.read_text())
    meta["model"]["epochs"] = 3
    cfg_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="state after epoch 4, beyond cfg epochs = 3"):
        train_model(dict(CFG, epochs=3), short, verbose=0)


def test_training_settings_leave_out_metadata():
    entry = dict(TINY, name="m", scale="tiny", n_eval_batches=4, eval_arenas=["1.0"])
    assert training_settings(entry) == TINY
    assert list(training_settings(entry)) == sorted(TINY)  # Snakemake compares params as text
    assert set(METADATA_KEYS) == {"name", "scale", "n_eval_batches", "eval_arenas"}


_TRAIN = textwrap.dedent("""
    import sys
    from mec.models.train import train_model
    cfg = dict(n_units=16, n_place_cells=32, batch_size=16, sequence_length=8, epochs=6,
               steps_per_epoch=30, learning_rate=1e-3)
    import logging
    logging.basicConfig(stream=sys.stdout, level=logging.INFO)  # as rule train_model's script
    train_model(cfg, sys.argv[1], verbose=2, workers=1, state_every=2)
""")


@pytest.mark.slow
def test_kill_and_resume_is_bit_identical(tmp_path):
    """SIGKILL mid-run, then the same command: the same history and bit-identical weights as an
    uninterrupted run (the epochs after the last state are retrained from the same batches)."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN, str(run)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    try:  # kill inside epoch 4: state_0002 exists, epoch 3's weights too, no state_0004 yet
        while not (run / "checkpoints" / "epoch_0003.weights.npz").exists():
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"no checkpoint before exit/timeout: {proc.stdout.read()[-2000:]}")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "model.keras").exists()
    res = _run(_TRAIN, run)
    assert "Resuming from epoch 2 of 6" in res.stdout
    _run(_TRAIN, tmp_path / "ref")
    pd.testing.assert_frame_equal(pd.read_csv(run / "history.csv"), pd.read_csv(tmp_path / "ref" / "history.csv"))
    _same_weights(run, tmp_path / "ref")


# ------------------------------------------------------------------------------------------
# JAX as a first-class path: no TensorFlow installed
# ------------------------------------------------------------------------------------------
_NO_TF = textwrap.dedent("""
    import importlib.abc, sys
    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)")
            return None
    sys.meta_path.insert(0, NoTensorFlow())
""")

_JAX_TRAIN = textwrap.dedent("""
    import json, sys
    import numpy as np
    from mec.models.train import train_model
    from mec.models.utils import PRESETS, load_trained_model, generator_from_cfg
    out = {}
    for mixed in (False, True):
        run = f"{sys.argv[1]}/m{int(mixed)}"
        cfg = dict(PRESETS["tiny"], mixed_precision=mixed)
        train_model(cfg, run, verbose=0, workers=1)
        train_model(cfg, run, verbose=0, workers=1)  # a rerun with nothing left
        m = load_trained_model(load_dir=sys.argv[1], run_ID=f"m{int(mixed)}")
        g = m.g(generator_from_cfg(m.cfg).batch(0))
        out[str(mixed)] = bool(np.isfinite(g).all())
    import keras
    print(json.dumps({"backend": keras.backend.backend(), "finite": out,
                      "tf": any(k == "tensorflow" or k.startswith("tensorflow.") for k in sys.modules)}))
""")


@pytest.mark.slow
def test_jax_trains_without_tensorflow(tmp_path):
    """KERAS_BACKEND=jax with TensorFlow hidden (the GPU machines have JAX and TensorBoard but no
    TensorFlow): the tiny model trains in float32 and mixed bfloat16, reruns, loads."""
    sitedir = tmp_path / "site"
    sitedir.mkdir()
    (sitedir / "sitecustomize.py").write_text(_NO_TF)
    env = _env(KERAS_BACKEND="jax")
    env["PYTHONPATH"] = f"{sitedir}{os.pathsep}{ROOT}"
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "hidden by the test" in probe.stderr
    out = json.loads(_run(_JAX_TRAIN, tmp_path, env=env).stdout.strip().splitlines()[-1])
    assert out == {"backend": "jax", "finite": {"False": True, "True": True}, "tf": False}
