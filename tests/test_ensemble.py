"""Networks that differ only in seed trained in one compiled step (mec.models.ensemble): every
member equals the same network trained alone by train_model (weights, per-step losses,
histories, checkpoint files), on TensorFlow in process and on JAX (branches and vmap) in a
subprocess; a kill during an ensemble's training resumes every member to the weights of an
uninterrupted run.

The configs here are well conditioned on purpose (32 units, 32 place cells of width 0.3 m,
batch 32): at scale "tiny" the loss sits at ln(Np) for the first hundred steps, the gradients
are rounding noise, and Adam's normalised steps amplify any reordering of a floating-point sum;
there even train_model (Keras fit) and Keras train_on_batch of one network differ by 1.5 % in
their weights after 50 steps (measured, seed 3), so no two implementations could be compared.
"""

import json
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

from mec.models.ensemble import EnsembleStep, ensemble_key, train_ensemble  # noqa: E402
from mec.models.network import build_model, compile_model  # noqa: E402
from mec.models.train import _read_npz, _snapshot, batch_to_xy, train_model  # noqa: E402
from mec.models.utils import generator_from_cfg, load_trained_model, place_cells_from_cfg, resolve_model_cfg  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NET = dict(n_units=32, n_place_cells=32, batch_size=32, sequence_length=10, learning_rate=1e-3,
           place_cell_rf=0.3)
CFG = dict(NET, epochs=5, steps_per_epoch=10)  # 50 steps
SEEDS = (0, 3, 7)


def _env(**kw):
    import os
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", **kw)


def _run(script, *args, env=None, timeout=600):
    res = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env or _env(),
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _rel(a: dict, b: dict) -> float:
    """Largest difference of two weight dicts, relative to each array's largest value."""
    assert sorted(a) == sorted(b)
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)) for k in a)


def _weights(run: Path, epoch: int) -> dict:
    return _read_npz(run / "checkpoints" / f"epoch_{epoch:04d}.weights.npz")


# ------------------------------------------------------------------------------------------
# members equal the networks trained alone
# ------------------------------------------------------------------------------------------
_STEPS = textwrap.dedent("""
    import json, sys
    import numpy as np
    from mec.models.ensemble import EnsembleStep
    from mec.models.network import build_model, compile_model
    from mec.models.train import _snapshot, batch_to_xy
    from mec.models.utils import generator_from_cfg, place_cells_from_cfg, resolve_model_cfg
    net, seeds, batching, n = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    cfgs = [resolve_model_cfg(dict(net, seed=s)) for s in seeds]
    pc = place_cells_from_cfg(cfgs[0])
    gens = [generator_from_cfg(c, place_cells=pc) for c in cfgs]
    alone = [compile_model(build_model(c), c, pc.centres) for c in cfgs]
    together = [compile_model(build_model(c), c, pc.centres) for c in cfgs]
    step = EnsembleStep(together, pc.centres, batching=batching)
    loss_alone, loss_together = [], []
    for i in range(n):
        xy = [batch_to_xy(g.batch(i, place_targets=False)) for g in gens]
        loss_alone.append([float(m.train_on_batch(x, y, return_dict=True)["loss"]) for m, (x, y) in zip(alone, xy)])
        lo, _ = step.step([x for x, _ in xy], [y for _, y in xy])
        loss_together.append(np.asarray(lo).tolist())
    step.sync()
    rel = []
    for a, t in zip(alone, together):
        sa, st = _snapshot(a, optimizer=True), _snapshot(t, optimizer=True)
        rel.append(max(float(np.abs(sa[k] - st[k]).max() / max(np.abs(sa[k]).max(), 1e-30)) for k in sa))
    import keras
    print(json.dumps({"backend": keras.backend.backend(), "loss_alone": loss_alone,
                      "loss_together": loss_together, "rel": rel}))
""")


def _check_steps(out, backend):
    assert out["backend"] == backend
    la, lt = np.array(out["loss_alone"]), np.array(out["loss_together"])
    assert la.shape == lt.shape == (50, len(SEEDS))
    np.testing.assert_allclose(lt, la, rtol=1e-6)  # every step's loss, every member
    assert la[-1].mean() < la[0].mean() - 0.01  # the networks learn: not a flat, noise-driven run
    assert max(out["rel"]) < 1e-5, out["rel"]  # weights and Adam's moments after 50 steps


@pytest.mark.slow
def test_step_equals_keras_steps_tensorflow():
    """50 steps of K = 3 in one step against each network's own Keras train_on_batch."""
    res = _run(_STEPS, json.dumps(NET), json.dumps(SEEDS), "loop", 50, env=_env(KERAS_BACKEND="tensorflow"))
    _check_steps(json.loads(res.stdout.strip().splitlines()[-1]), "tensorflow")


@pytest.mark.slow
@pytest.mark.parametrize("batching", ["loop", "vmap"])
def test_step_equals_keras_steps_jax(batching):
    res = _run(_STEPS, json.dumps(NET), json.dumps(SEEDS), batching, 50, env=_env(KERAS_BACKEND="jax"))
    _check_steps(json.loads(res.stdout.strip().splitlines()[-1]), "jax")


_FILES = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from mec.models.ensemble import train_ensemble
    from mec.models.train import train_model
    cfg, seeds, out, batching = json.loads(sys.argv[1]), json.loads(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    cfgs = [dict(cfg, seed=s, name=f"net_seed{s}") for s in seeds]
    stats = train_ensemble(cfgs, [out / f"ens{s}" for s in seeds], verbose=0, workers=1,
                           batching=batching, state_every=2)
    for c, s in zip(cfgs, seeds):
        train_model(c, out / f"alone{s}", verbose=0, workers=1, state_every=2)
    print(json.dumps(stats))
""")


def _check_files(out: Path, stats: dict):
    """Every member's folder holds what train_model wrote for the network alone."""
    assert stats["members"] == len(SEEDS) and stats["epochs_trained"] == 5
    for s in SEEDS:
        ens, alone = out / f"ens{s}", out / f"alone{s}"
        # (train_model's TensorBoard logs/, TensorFlow with tensorboard installed, are its own)
        assert sorted(p.name for p in ens.iterdir()) == sorted(p.name for p in alone.iterdir() if p.name != "logs")
        assert (sorted(p.name for p in (ens / "checkpoints").iterdir())
                == sorted(p.name for p in (alone / "checkpoints").iterdir()))
        ca, ce = (json.loads((d / "config.json").read_text()) for d in (alone, ens))
        assert ce["model"] == ca["model"] and ce["model"]["seed"] == s
        assert ce["extra"] == ca["extra"] == {"name": f"net_seed{s}"}
        assert _rel(_weights(ens, 5), _weights(alone, 5)) < 1e-5
        sa = _read_npz(alone / "checkpoints" / "state_0004.npz")
        se = _read_npz(ens / "checkpoints" / "state_0004.npz")
        assert _rel(se, sa) < 1e-5  # weights and optimizer state, under the same keys
        ha, he = pd.read_csv(alone / "history.csv"), pd.read_csv(ens / "history.csv")
        assert list(he.epoch) == list(ha.epoch) == [1, 2, 3, 4, 5]
        np.testing.assert_allclose(he.loss, ha.loss, rtol=1e-6)
        # a top-3 decoder flips on near-ties under reordered sums: one sample in 320 moves ~10 cm
        np.testing.assert_allclose(he.decoding_error_cm, ha.decoding_error_cm, atol=0.05)


@pytest.mark.slow
def test_members_equal_train_model_at_demo_scale(tmp_path):
    """At the demo scale's shapes (128 units, 512 place cells, batch 100 x 20 steps) a member
    equals its network trained by train_model after 50 steps. Guards the tracing: a step
    traced with the batch size known picked other TensorFlow kernels than Keras's fit on
    train_model's batch generator, 2e-5 apart after one step and 3 % after 50 (training
    amplifies every rounding), so that a seed trained in an ensemble was another network."""
    demo = dict(n_units=128, n_place_cells=512, batch_size=100, sequence_length=20, epochs=1,
                steps_per_epoch=50)
    cfgs = [dict(demo, seed=s) for s in (0, 1)]
    train_ensemble(cfgs, [tmp_path / "ens0", tmp_path / "ens1"], verbose=0, workers=1)
    train_model(cfgs[1], tmp_path / "alone1", verbose=0, workers=1)
    assert _rel(_weights(tmp_path / "ens1", 1), _weights(tmp_path / "alone1", 1)) < 1e-5
    ha, he = (pd.read_csv(tmp_path / d / "history.csv") for d in ("alone1", "ens1"))
    np.testing.assert_allclose(he.loss, ha.loss, rtol=1e-6)


def test_members_write_what_train_model_writes(tmp_path):
    """TensorFlow in process: three members of one ensemble against three train_model runs."""
    cfgs = [dict(CFG, seed=s, name=f"net_seed{s}") for s in SEEDS]
    stats = train_ensemble(cfgs, [tmp_path / f"ens{s}" for s in SEEDS], verbose=0, workers=1, state_every=2)
    for c, s in zip(cfgs, SEEDS):
        train_model(c, tmp_path / f"alone{s}", verbose=0, workers=1, state_every=2)
    _check_files(tmp_path, stats)
    # the saved model is the member: loads with the package's loader, same output as alone
    m_ens = load_trained_model(load_dir=tmp_path, run_ID=f"ens{SEEDS[1]}")
    m_alone = load_trained_model(load_dir=tmp_path, run_ID=f"alone{SEEDS[1]}")
    batch = generator_from_cfg(m_alone.cfg, stream="evaluation").batch(0)
    np.testing.assert_allclose(m_ens.g(batch), m_alone.g(batch), rtol=1e-4, atol=1e-5)
    # a member's folder is train_model's: a rerun of train_model there has nothing left to train
    before = _weights(tmp_path / f"ens{SEEDS[0]}", 5)
    again = train_model(cfgs[0], tmp_path / f"ens{SEEDS[0]}", verbose=0, workers=1, state_every=2)
    assert again["start_epoch"] == 5 and again["epochs_trained"] == 0
    assert _rel(_weights(tmp_path / f"ens{SEEDS[0]}", 5), before) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("batching", ["loop", "vmap"])
def test_members_write_what_train_model_writes_jax(tmp_path, batching):
    res = _run(_FILES, json.dumps(CFG), json.dumps(SEEDS), tmp_path, batching, env=_env(KERAS_BACKEND="jax"))
    _check_files(tmp_path, json.loads(res.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------------------
# resume
# ------------------------------------------------------------------------------------------
_TRAIN = textwrap.dedent("""
    import json, logging, sys
    from pathlib import Path
    from mec.models.ensemble import train_ensemble
    logging.basicConfig(stream=sys.stdout, level=logging.INFO)  # as the rule's script
    cfg = dict(n_units=32, n_place_cells=32, batch_size=32, sequence_length=10, learning_rate=1e-3,
               place_cell_rf=0.3, epochs=6, steps_per_epoch=30)
    out = Path(sys.argv[1])
    train_ensemble([dict(cfg, seed=s) for s in (0, 3, 7)], [out / f"seed{s}" for s in (0, 3, 7)],
                   verbose=2, workers=1, state_every=2)
""")


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_weights(tmp_path):
    """SIGKILL inside epoch 4 (every member has epoch 3's weights and state_0002), then the same
    command: every member ends with the history and the weights of an uninterrupted run."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN, str(run)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    last = run / "seed7" / "checkpoints" / "epoch_0003.weights.npz"  # the last member's, written last
    try:
        while not last.exists():
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"no checkpoint before exit/timeout: {proc.stdout.read()[-2000:]}")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not any((run / f"seed{s}" / "model.keras").exists() for s in (0, 3, 7))
    res = _run(_TRAIN, run)
    assert "Resuming 3 members from epoch 2 of 6" in res.stdout, res.stdout[-2000:]
    _run(_TRAIN, tmp_path / "ref")
    for s in (0, 3, 7):
        a, b = run / f"seed{s}", tmp_path / "ref" / f"seed{s}"
        pd.testing.assert_frame_equal(pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv"))
        wa, wb = _weights(a, 6), _weights(b, 6)
        for k in wb:
            np.testing.assert_array_equal(wa[k], wb[k])


def test_members_one_state_apart_resume_from_the_common_one(tmp_path, caplog):
    """A kill between two members' writes leaves them one state apart: the ensemble resumes
    every member from the newest epoch all of them have, and ends as an uninterrupted run."""
    cfgs = [dict(CFG, epochs=3, seed=s) for s in (0, 3)]
    ref = [tmp_path / "ref" / f"seed{s}" for s in (0, 3)]
    train_ensemble(cfgs, ref, verbose=0, workers=1, state_every=1)
    run = [tmp_path / "run" / f"seed{s}" for s in (0, 3)]
    for r, d in zip(ref, run):
        shutil.copytree(r, d)
        for name in ("model.keras", "history.csv", "config.json"):
            (d / name).unlink()  # what Snakemake does before it reruns the job
    (run[1] / "checkpoints" / "state_0003.npz").unlink()  # member 1 one state behind
    with caplog.at_level("INFO", logger="mec.models.ensemble"):
        stats = train_ensemble(cfgs, run, verbose=0, workers=1, state_every=1)
    assert stats["start_epoch"] == 2 and stats["epochs_trained"] == 1
    assert "no ensemble resume from epoch 3" in caplog.text
    for r, d in zip(ref, run):
        assert _rel(_weights(d, 3), _weights(r, 3)) == 0.0
        pd.testing.assert_frame_equal(pd.read_csv(d / "history.csv"), pd.read_csv(r / "history.csv"))


# ------------------------------------------------------------------------------------------
# what an ensemble refuses
# ------------------------------------------------------------------------------------------
def test_members_must_share_everything_but_the_seed(tmp_path):
    with pytest.raises(ValueError, match=r"member 1 .* differs .* n_units \(16 vs 32\)"):
        train_ensemble([dict(CFG, seed=0), dict(CFG, seed=1, n_units=16)], [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(ValueError, match="both write to"):
        train_ensemble([dict(CFG, seed=0), dict(CFG, seed=1)], [tmp_path / "a", tmp_path / "a"])
    with pytest.raises(ValueError, match="2 configs but 1 output folders"):
        train_ensemble([dict(CFG, seed=0), dict(CFG, seed=1)], [tmp_path / "a"])
    with pytest.raises(ValueError, match="batching must be one of"):
        train_ensemble([dict(CFG, seed=0)], [tmp_path / "a"], batching="pmap")
    if keras.backend.backend() != "jax":
        with pytest.raises(ValueError, match="'vmap' needs the JAX backend"):
            train_ensemble([dict(CFG, seed=0)], [tmp_path / "a"], batching="vmap")
    assert not (tmp_path / "a").exists()  # refused before anything was written
    # the grouping key: the seed and metadata do not count, any training setting does
    assert ensemble_key(dict(CFG, seed=0, name="x")) == ensemble_key(dict(CFG, seed=5, scale="demo"))
    assert ensemble_key(CFG) != ensemble_key(dict(CFG, learning_rate=2e-3))


def test_untrained_members_are_train_model_runs(tmp_path):
    cfgs = [dict(CFG, seed=s, untrained=True) for s in (0, 1)]
    train_ensemble(cfgs, [tmp_path / "a", tmp_path / "b"], verbose=0, workers=1)
    train_model(cfgs[1], tmp_path / "c", verbose=0, workers=1)
    assert _rel(_weights(tmp_path / "b", 0), _weights(tmp_path / "c", 0)) == 0.0
    assert (tmp_path / "a" / "model.keras").exists() and pd.read_csv(tmp_path / "a" / "history.csv").empty


@pytest.mark.parametrize("arch, act", [("UGRNN", "relu"), ("LSTM", "tanh"), ("GRU", "relu"), ("RNN", "relu")])
def test_ensemble_step_in_process_matches_train_on_batch(arch, act):
    """The step object itself, on the session's backend: 5 steps of two members."""
    cfgs = [resolve_model_cfg(dict(NET, seed=s, architecture=arch, activation=act)) for s in (1, 2)]
    pc = place_cells_from_cfg(cfgs[0])
    gens = [generator_from_cfg(c, place_cells=pc) for c in cfgs]
    alone = [compile_model(build_model(c), c, pc.centres) for c in cfgs]
    members = [compile_model(build_model(c), c, pc.centres) for c in cfgs]
    step = EnsembleStep(members, pc.centres)
    for i in range(5):
        xy = [batch_to_xy(g.batch(i, place_targets=False)) for g in gens]
        la = [m.train_on_batch(x, y, return_dict=True) for m, (x, y) in zip(alone, xy)]
        lo, er = step.step([x for x, _ in xy], [y for _, y in xy])
        np.testing.assert_allclose(np.asarray(lo), [d["loss"] for d in la], rtol=1e-6)
        np.testing.assert_allclose(np.asarray(er), [d["decoding_error"] for d in la], rtol=1e-5)
    step.sync()
    for a, m in zip(alone, members):
        assert _rel(_snapshot(m, optimizer=True), _snapshot(a, optimizer=True)) < 1e-6
