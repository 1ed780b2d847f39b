"""Benchmark one UGRNN training step: mec's Keras model against a bare hand-written scan of the
same math, in float32 and mixed bfloat16, plus train_model end to end.

Rows, for each Ng and precision, all measured in this one run:
  bare scan        the step written by hand in the backend itself: JAX, jax.jit of
                   jax.lax.scan + jax.value_and_grad + Adam; TensorFlow, tf.function of tf.scan
                   + GradientTape + Adam (the faster of XLA and graph mode). The same math as
                   the model: encoder, M, UGRNN (input projection hoisted, one recurrent product
                   per step), g, dc (float32, as the model's decoder), place-cell cross-entropy
                   with targets computed on the device, L2 on the recurrent kernel, the
                   decoding-error metric, Adam. Under mixed bfloat16 the weights are cast once.
  keras step       mec.models.network's model (FusedRNN), Keras `fit` over batches in memory.
  keras.layers.RNN the same model with Keras' generic RNN layer (the implementation before
                   the fused layer; --no-generic skips it).
  train_model      mec.models.train.train_model end to end: trajectories generated on the host
                   while the device trains, checkpoints written in the background; the wall
                   time per step of the second of three epochs (the first compiles, the last
                   always snapshots the full state; paper scale snapshots it every 4th). "data
                   wait" is the time the training loop waited for trajectories, per step.
  ensemble         (--ensemble K ...) K networks that differ only in seed (mec.models.ensemble):
                   "K one after another" is K steps of the keras step per step (K networks of
                   one shape cost what K steps of one cost); "K in one step" trains all K in
                   one compiled step (EnsembleStep; --batching loop and/or vmap), each on its
                   own batch; "bound: 1 net, batch Kx" is one network on K batches at once,
                   the same arithmetic in K-times-larger products: its CPU time bounds what
                   K networks that share no work can save in arithmetic (each member has
                   its own weights and batches); in wall time K branches side by side can
                   still beat it by using idle cores. x is the one step's speed-up, measured in the same run; TFLOP/s
                   counts all K networks (on a known GPU also as a fraction of its peak,
                   DEVICE_PEAKS). --ensemble-e2e-steps adds train_ensemble against K
                   train_model runs end to end (data and checkpoints included; --repeats
                   pairs of the two, the --stat of each, every pair's ratio in the note;
                   each arm in a fresh process with its workflow rule's TensorFlow thread
                   pools, mec.threads.ensemble_intra_op for the ensemble):
                   what training costs, the figure to decide ensemble_size by;
                   --ensemble-only skips the other rows.
Times are ms per step, (t(--steps) - t(1)) / (--steps - 1) with each t the minimum over
--repeats, so that a call's fixed cost (Keras' fit setup, the final wait for the device) does not
count as step time: wall time, and the process CPU time (all threads; meaningful on CPU only,
where it is the steadier figure on a shared machine). Repeats are interleaved across rows, so a
neighbour's load hits every row alike; the load average is printed.

    python benchmarks/train_step.py --backend tensorflow --units 256 512
    KERAS_BACKEND=jax python benchmarks/train_step.py --units 4096 --steps 50   # GPU, paper scale
    python benchmarks/train_step.py --ensemble-only --ensemble 4 --units 128 --batch 100 \
        --precision float32 --repeats 5          # demo scale (mec.models.scales), CPU
KERAS_BACKEND is set from --backend before Keras is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RF, SURROUND, WD, LR = 0.12, 2.0, 1e-4, 1e-4  # the model's defaults (mec.constants), checked below


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["tensorflow", "jax"], default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    p.add_argument("--units", type=int, nargs="+", default=[256, 512], help="Ng values")
    p.add_argument("--precision", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"])
    p.add_argument("--place-cells", type=int, default=512, help="Np")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--seq", type=int, default=20)
    p.add_argument("--steps", type=int, default=10, help="steps per timed measurement (>= 2)")
    p.add_argument("--repeats", type=int, default=3, help="measurements per row (--stat of them is reported)")
    p.add_argument("--stat", choices=["min", "median"], default="min",
                   help="of the repeats: the minimum (the machine's best) or the median (on a machine "
                        "others load, the typical)")
    p.add_argument("--e2e-steps", type=int, default=20, help="steps per epoch of the train_model row (0: skip)")
    p.add_argument("--no-generic", action="store_true", help="skip the keras.layers.RNN row")
    p.add_argument("--ensemble", type=int, nargs="*", default=[], metavar="K",
                   help="ensemble sizes: K networks in one step against K steps one after another")
    p.add_argument("--batching", nargs="+", choices=["loop", "vmap"], default=None,
                   help="ensemble steps to time (default: loop; vmap too with JAX)")
    p.add_argument("--ensemble-e2e-steps", type=int, default=0,
                   help="steps per epoch of train_ensemble against K train_model runs (0: skip)")
    p.add_argument("--ensemble-only", action="store_true", help="only the ensemble rows")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="the device's peak TFLOP/s (default: DEVICE_PEAKS for a known GPU under JAX)")
    return p.parse_args()


def flops_per_step(ng, npc, b, t, d_in=2):
    """Matrix-product FLOPs of one training step (forward x 3 for forward + backward)."""
    per_sample = 2 * (d_in * ng + ng * 2 * ng + ng * 2 * ng + ng * ng + ng * npc)
    fwd = b * t * per_sample + 2 * b * npc * ng
    return 3 * fwd


def data(npc, b, t, seed=0):
    import numpy as np

    from mec.task import PlaceCells, TrajectoryGenerator
    pc = PlaceCells(n_cells=npc)
    batch = TrajectoryGenerator(pc, batch_size=b, sequence_length=t, seed=seed).batch(0, place_targets=False)
    return pc.centres.astype(np.float32), batch


def init_params(ng, npc, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)

    def glorot(shape):
        lim = np.sqrt(6 / (shape[0] + shape[1]))
        return rng.uniform(-lim, lim, shape).astype("float32")

    z = lambda n: np.zeros(n, "float32")  # noqa: E731
    return {"enc_w": glorot((npc, ng)), "enc_b": z(ng), "m_w": glorot((2, ng)), "m_b": z(ng),
            "k": glorot((ng, 2 * ng)), "r": glorot((ng, 2 * ng)), "rb": z(2 * ng),
            "g_w": glorot((ng, ng)), "g_b": z(ng), "d_w": glorot((ng, npc)), "d_b": z(npc)}


# ------------------------------------------------------------------------------------------
# bare steps: each returns run(n) -> performs n steps and waits for the device
# ------------------------------------------------------------------------------------------
def bare_jax(ng, npc, b, t, mixed):
    import jax
    import jax.numpy as jnp
    centres, batch = data(npc, b, t)
    cdt = jnp.bfloat16 if mixed else jnp.float32
    P = {k: jnp.asarray(v) for k, v in init_params(ng, npc).items()}
    C = jnp.asarray(centres)
    # the batch is an argument, not a constant, or XLA would fold the targets at compile time
    batch_args = tuple(jnp.asarray(a) for a in (batch.velocity, batch.init_place, batch.positions))

    def loss_fn(P, vel, p0, pos):
        c = {k: v.astype(cdt) for k, v in P.items()}
        h0 = p0.astype(cdt) @ c["enc_w"] + c["enc_b"]
        x = vel.astype(cdt) @ c["m_w"] + c["m_b"]
        xk = jnp.einsum("btd,dg->tbg", x, c["k"]) + c["rb"]  # hoisted, time-major

        def cell(h, xt):
            z = xt + h @ c["r"]
            g = jax.nn.sigmoid(z[:, :ng] + 1.0)
            h = g * h + (1 - g) * jax.nn.relu(z[:, ng:])
            return h, h

        _, hs = jax.lax.scan(cell, h0, xk)
        hs = jnp.swapaxes(hs, 0, 1)
        gl = jax.nn.relu(hs @ c["g_w"] + c["g_b"])
        logits = gl.astype(jnp.float32) @ P["d_w"] + P["d_b"]  # decoder in float32, as the model's
        d2 = jnp.maximum(jnp.sum(pos**2, -1, keepdims=True) - 2 * pos @ C.T + jnp.sum(C**2, -1), 0.0)
        tg = jax.nn.softmax(-d2 / (2 * RF**2)) - jax.nn.softmax(-d2 / (2 * SURROUND * RF**2))
        tg = tg + jnp.abs(tg.min(-1, keepdims=True))
        tg = tg / tg.sum(-1, keepdims=True)
        ce = -jnp.mean(jnp.sum(tg * jax.nn.log_softmax(logits), -1))
        _, idx = jax.lax.top_k(jax.lax.stop_gradient(logits), 3)
        err = jnp.mean(jnp.sqrt(jnp.sum((pos - C[idx].mean(-2)) ** 2, -1)))
        return ce + WD * jnp.sum(P["r"] ** 2), err

    def step(P, m, v, i, vel, p0, pos):
        (loss, err), g = jax.value_and_grad(loss_fn, has_aux=True)(P, vel, p0, pos)
        i = i + 1
        lr = LR * jnp.sqrt(1 - 0.999**i) / (1 - 0.9**i)
        m = jax.tree_util.tree_map(lambda a, b: a + (b - a) * 0.1, m, g)
        v = jax.tree_util.tree_map(lambda a, b: a + (b * b - a) * 0.001, v, g)
        P = jax.tree_util.tree_map(lambda p, a, b: p - lr * a / (jnp.sqrt(b) + 1e-7), P, m, v)
        return P, m, v, i, loss, err

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    zeros = lambda: jax.tree_util.tree_map(jnp.zeros_like, P)  # noqa: E731
    state = [P, zeros(), zeros(), jnp.float32(0.0)]

    def run(n):
        nonlocal state
        out = None
        for _ in range(n):
            *state, loss, err = step(*state, *batch_args)
            out = loss
        out.block_until_ready()

    run.lower = lambda: step.lower(*state, *batch_args)  # for cost analysis
    return run


def bare_tf(ng, npc, b, t, mixed, xla):
    import tensorflow as tf
    centres, batch = data(npc, b, t)
    cdt = tf.bfloat16 if mixed else tf.float32
    P = {k: tf.Variable(v) for k, v in init_params(ng, npc).items()}
    names = sorted(P)
    m = {k: tf.Variable(tf.zeros_like(P[k])) for k in names}
    v = {k: tf.Variable(tf.zeros_like(P[k])) for k in names}
    it = tf.Variable(0.0)
    C = tf.constant(centres)
    # the batch is an argument, not a constant, or the graph optimiser would fold the targets
    batch_args = tuple(tf.constant(a) for a in (batch.velocity, batch.init_place, batch.positions))

    def loss_fn(vel, p0, pos):
        c = {k: tf.cast(P[k], cdt) for k in names}
        h0 = tf.cast(p0, cdt) @ c["enc_w"] + c["enc_b"]
        x = tf.cast(vel, cdt) @ c["m_w"] + c["m_b"]
        xk = tf.reshape(tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, ng)) @ c["k"], (t, b, 2 * ng)) + c["rb"]

        def cell(h, xt):
            z = xt + h @ c["r"]
            g = tf.sigmoid(z[:, :ng] + 1.0)
            return g * h + (1 - g) * tf.nn.relu(z[:, ng:])

        hs = tf.transpose(tf.scan(cell, xk, initializer=h0), (1, 0, 2))
        gl = tf.nn.relu(hs @ c["g_w"] + c["g_b"])
        logits = tf.cast(gl, tf.float32) @ P["d_w"] + P["d_b"]
        d2 = tf.reduce_sum(pos**2, -1, keepdims=True) - 2 * pos @ tf.transpose(C) + tf.reduce_sum(C**2, -1)
        d2 = tf.maximum(d2, 0.0)
        tg = tf.nn.softmax(-d2 / (2 * RF**2)) - tf.nn.softmax(-d2 / (2 * SURROUND * RF**2))
        tg = tg + tf.abs(tf.reduce_min(tg, -1, keepdims=True))
        tg = tg / tf.reduce_sum(tg, -1, keepdims=True)
        ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(tg, logits))
        _, idx = tf.math.top_k(tf.stop_gradient(logits), 3)
        err = tf.reduce_mean(tf.sqrt(tf.reduce_sum((pos - tf.reduce_mean(tf.gather(C, idx), -2)) ** 2, -1)))
        return ce + WD * tf.reduce_sum(P["r"] ** 2), err

    @tf.function(jit_compile=xla)
    def step(vel, p0, pos):
        with tf.GradientTape() as tape:
            loss, err = loss_fn(vel, p0, pos)
        grads = tape.gradient(loss, [P[k] for k in names])
        it.assign_add(1.0)
        lr = LR * tf.sqrt(1 - 0.999**it) / (1 - 0.9**it)
        for k, gr in zip(names, grads):
            m[k].assign_add((gr - m[k]) * 0.1)
            v[k].assign_add((gr * gr - v[k]) * 0.001)
            P[k].assign_sub(lr * m[k] / (tf.sqrt(v[k]) + 1e-7))
        return loss

    def run(n):
        out = None
        for _ in range(n):
            out = step(*batch_args)
        out.numpy()

    return run


# ------------------------------------------------------------------------------------------
# keras rows
# ------------------------------------------------------------------------------------------
def model_cfg(ng, npc, b, t, mixed, **kw):
    from mec.models.utils import resolve_model_cfg
    return resolve_model_cfg(dict(n_units=ng, n_place_cells=npc, batch_size=b, sequence_length=t,
                                  mixed_precision=mixed, **kw))


def keras_fit(ng, npc, b, t, mixed, rnn_impl, max_steps):
    import numpy as np

    from mec.models.network import build_model, compile_model
    cfg = model_cfg(ng, npc, b, t, mixed)
    assert (cfg["place_cell_rf"], cfg["surround_scale"], cfg["weight_decay"], cfg["learning_rate"]) == \
        (RF, SURROUND, WD, LR), "the bare step's constants no longer match the model's defaults"
    centres, batch = data(npc, b, t)
    model = compile_model(build_model(cfg, rnn_impl=rnn_impl), cfg, centres)
    tile = lambda a: np.concatenate([a] * max_steps)  # noqa: E731
    x = {"velocity": tile(batch.velocity), "init_place": tile(batch.init_place)}
    y = tile(batch.positions)

    def run(n):
        model.fit(x, y, batch_size=b, epochs=1, steps_per_epoch=n, shuffle=False, verbose=0)

    return run


def e2e(ng, npc, b, t, mixed, steps):
    """train_model, 3 epochs of ``steps``: (ms/step, data wait ms/step, snapshot ms/step) of epoch
    2, the typical epoch: the first compiles, the last always snapshots the full training state."""
    from mec.models.train import train_model
    cfg = dict(n_units=ng, n_place_cells=npc, batch_size=b, sequence_length=t, mixed_precision=mixed,
               epochs=3, steps_per_epoch=steps)
    with tempfile.TemporaryDirectory() as d:
        s = train_model(cfg, Path(d) / "run", verbose=0, workers=2)
    return tuple(1e3 * s[k][1] / steps for k in ("epoch_seconds", "data_wait_seconds", "checkpoint_seconds"))


def ensemble_rows(k, ng, npc, b, t, mixed, max_steps, batchings):
    """{name: run(n)}: K Keras steps one after another, and K networks in one EnsembleStep per
    batching. The sequential row steps one Keras model K times per step: K networks of one
    shape cost what K steps of one network cost, without K compilations (minutes at paper
    scale). The ensemble's members differ only in seed, each on its own batch, as in
    train_ensemble."""
    import numpy as np

    from mec.models.ensemble import EnsembleStep
    from mec.models.network import build_model, compile_model
    centres = None
    xs, ys = [], []
    for seed in range(k):
        centres, batch = data(npc, b, t, seed=seed)
        xs.append({"velocity": batch.velocity, "init_place": batch.init_place})
        ys.append(batch.positions)
    alone = keras_fit(ng, npc, b, t, mixed, "fused", k * max_steps)

    def one_after_another(n):
        alone(k * n)

    rows = {f"{k} one after another": one_after_another,
            # One network on K batches at once: the K members' arithmetic in K-times-larger
            # products. Its CPU time is what larger products save on arithmetic (members
            # that share no work cannot save more); its wall time also shows the cores'
            # use, which K independent branches can beat.
            f"bound: 1 net, batch {k}x": keras_fit(ng, npc, k * b, t, mixed, "fused", max_steps)}
    for batching in batchings:
        members = []
        for seed in range(k):
            cfg = model_cfg(ng, npc, b, t, mixed, seed=seed)
            members.append(compile_model(build_model(cfg), cfg, centres))
        step = EnsembleStep(members, centres, batching=batching)

        def together(n, step=step):
            out = None
            for _ in range(n):
                out = step.step(xs, ys)
            np.asarray(out[0])  # wait for the device

        rows[f"{k} in one step" + ("" if batchings == ["loop"] else f" ({batching})")] = together
    return rows


_E2E_ARM = """
import json, os, sys, tempfile
from pathlib import Path
from mec.threads import ensemble_intra_op, limit_threads
kind, k, cfg, backend = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
os.environ["KERAS_BACKEND"] = backend
cores = os.cpu_count()
limit_threads(cores, quiet=True, tf_intra_op=ensemble_intra_op(cores, k) if kind == "together" else None)
from mec.models.ensemble import train_ensemble
from mec.models.train import train_model
cfgs = [dict(cfg, seed=seed) for seed in range(k)]
with tempfile.TemporaryDirectory() as d:
    if kind == "alone":
        s = sum(train_model(c, Path(d) / f"alone{i}", verbose=0, workers=2)["epoch_seconds"][1]
                for i, c in enumerate(cfgs))
    else:
        s = train_ensemble(cfgs, [Path(d) / f"ens{i}" for i in range(k)], verbose=0,
                           workers=2)["epoch_seconds"][1]
print(json.dumps(s))
"""


def ensemble_e2e(k, ng, npc, b, t, mixed, steps):
    """(K train_model runs one after another, train_ensemble): wall ms per step of all K
    networks in epoch 2 of 3 (the first compiles, the last snapshots the full states).

    Each arm runs in a fresh process with the thread pools its workflow rule sets: both of
    TensorFlow's pools at the core count for train_model (as rule train_model), the intra-op
    pool at each member's share for the ensemble (mec.threads.ensemble_intra_op, as rule
    train_ensemble_{i}); a process's pools are fixed once TensorFlow starts."""
    import json
    import subprocess

    cfg = dict(n_units=ng, n_place_cells=npc, batch_size=b, sequence_length=t,
               mixed_precision=mixed, epochs=3, steps_per_epoch=steps)
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))

    def arm(kind):
        proc = subprocess.run([sys.executable, "-c", _E2E_ARM, kind, str(k), json.dumps(cfg),
                               os.environ["KERAS_BACKEND"]], capture_output=True, text=True,
                              env=env, check=False)
        if proc.returncode:
            raise RuntimeError(f"end-to-end arm {kind!r} failed:\n{proc.stderr[-2000:]}")
        return 1e3 * json.loads(proc.stdout.strip().splitlines()[-1]) / steps

    return arm("alone"), arm("together")


#: Dense tensor-core peaks, TFLOP/s (NVIDIA datasheets; float32 matmuls run as TF32 under
#: JAX's default precision): device kind (jax.Device.device_kind) -> precision -> peak. Matched
#: longest name first ("NVIDIA H200 NVL" before "NVIDIA H200").
DEVICE_PEAKS = {
    "NVIDIA H100 80GB HBM3": {"bfloat16": 989.4, "float32": 494.7},  # H100 SXM5
    "NVIDIA H100 PCIe": {"bfloat16": 756.0, "float32": 378.0},
    "NVIDIA H100 NVL": {"bfloat16": 835.5, "float32": 417.5},
    "NVIDIA H200": {"bfloat16": 989.4, "float32": 494.7},  # H200 SXM
    "NVIDIA H200 NVL": {"bfloat16": 835.5, "float32": 417.5},
    "NVIDIA A100-SXM4-80GB": {"bfloat16": 312.0, "float32": 156.0},
    "NVIDIA A100-SXM4-40GB": {"bfloat16": 312.0, "float32": 156.0},
}


def device_peak(prec: str, override: float | None) -> tuple[float | None, str]:
    """(peak TFLOP/s of this device in ``prec``, where it came from), or (None, why not)."""
    if override:
        return override, "--peak-tflops"
    import keras
    if keras.backend.backend() != "jax":
        return None, "no peak: pass --peak-tflops"
    import jax
    kind = jax.devices()[0].device_kind
    for name in sorted(DEVICE_PEAKS, key=len, reverse=True):
        if kind.startswith(name):
            return DEVICE_PEAKS[name][prec], f"{name} datasheet"
    return None, f"no peak known for {kind!r}: pass --peak-tflops"


def print_ensemble(args, ng, prec, mixed):
    """The ensemble rows of one Ng and precision: ms per step of all K networks."""
    import keras
    import numpy as np
    batchings = args.batching or (["loop", "vmap"] if keras.backend.backend() == "jax" else ["loop"])
    fl1 = flops_per_step(ng, args.place_cells, args.batch, args.seq)
    for k in args.ensemble:
        rows = ensemble_rows(k, ng, args.place_cells, args.batch, args.seq, mixed, args.steps, batchings)
        best = measure(rows, args.steps, args.repeats, args.stat)
        ref_name = f"{k} one after another"
        ref_w, ref_c = best[ref_name]
        peak_tf, source = device_peak(prec, args.peak_tflops)
        for name, (w, c) in best.items():
            tf_s = k * fl1 / w / 1e9
            peak = f"{tf_s / peak_tf:.3f} of {peak_tf:.0f} ({source})" if peak_tf else ""
            print(f"| {ng:>5} | {prec:<9} | {name:<24} | {w:>9.2f} | {ref_w / w:>6.2f} | {c:>11.2f} | "
                  f"{ref_c / c:>6.2f} | {tf_s:>7.2f} | {peak}", flush=True)
        if args.ensemble_e2e_steps > 0:
            # --repeats pairs (K train_model runs, then train_ensemble), each pair back to
            # back so that a neighbour's load hits both alike; the row is the --stat of each
            # and every pair's own ratio is printed, so the spread shows.
            pairs = [ensemble_e2e(k, ng, args.place_cells, args.batch, args.seq, mixed,
                                  args.ensemble_e2e_steps) for _ in range(args.repeats)]
            pick = np.median if args.stat == "median" else np.min
            alone, together = (float(pick([p[i] for p in pairs])) for i in (0, 1))
            ratios = ", ".join(f"{a / t:.2f}" for a, t in pairs)
            for name, w in ((f"{k} train_model", alone), (f"train_ensemble of {k}", together)):
                note = f"{args.ensemble_e2e_steps} steps/epoch, epoch 2 of 3, {args.stat} of {len(pairs)}"
                if name.startswith("train_ensemble"):
                    note += f"; x per pair: {ratios}"
                print(f"| {ng:>5} | {prec:<9} | {name:<24} | {w:>9.2f} | {alone / w:>6.2f} | {'':>11} | "
                      f"{'':>6} | {k * fl1 / w / 1e9:>7.2f} | {note}", flush=True)


def measure(rows: dict, steps: int, repeats: int, stat: str = "min") -> dict:
    """{name: (wall ms/step, cpu ms/step)}: (t(steps) - t(1)) / (steps - 1), each t the minimum
    (or with ``stat`` "median" the median) over ``repeats`` interleaved across rows, so a call's
    fixed cost (Keras' fit setup, the final wait for the device) is not counted as step time."""
    import statistics

    pick = min if stat == "min" else statistics.median
    for run in rows.values():  # compile and warm up
        run(2)
    times = {k: {n: ([], []) for n in (1, steps)} for k in rows}
    for _ in range(repeats):
        for name, run in rows.items():
            for n in (1, steps):
                w0, c0 = time.perf_counter(), time.process_time()
                run(n)
                times[name][n][0].append(time.perf_counter() - w0)
                times[name][n][1].append(time.process_time() - c0)
    return {k: tuple(1e3 * (pick(t[steps][i]) - pick(t[1][i])) / (steps - 1) for i in (0, 1))
            for k, t in times.items()}


def main():
    args = parse()
    if args.steps < 2:
        raise SystemExit(f"--steps must be >= 2, got {args.steps}")
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    if args.backend == "jax":
        import jax
        dev = str(jax.devices()[0])
        on_cpu = jax.devices()[0].platform == "cpu"
    else:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        dev = gpus[0].name if gpus else "cpu"
        on_cpu = not gpus
    if on_cpu:
        dev += f" ({os.cpu_count()} cores)"
    load0 = os.getloadavg()
    print(f"backend={keras.backend.backend()} keras={keras.__version__} device={dev} batch={args.batch} "
          f"T={args.seq} Np={args.place_cells} steps={args.steps} repeats={args.repeats} ({args.stat}) "
          f"load average at start {load0[0]:.2f}", flush=True)
    if args.ensemble:
        if any(k < 1 for k in args.ensemble):
            raise SystemExit(f"--ensemble sizes must be >= 1, got {args.ensemble}")
        head = (f"| {'Ng':>5} | {'precision':<9} | {'K networks':<24} | {'ms/step':>9} | {'x':>6} | "
                f"{'cpu ms/step':>11} | {'x':>6} | {'TFLOP/s':>7} | note")
        print("Ensembles: ms per step of all K networks; x = the speed-up over K one after another "
              "(same run)")
        print(head)
        print("|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|---")
        for ng in args.units:
            for prec in args.precision:
                print_ensemble(args, ng, prec, prec == "bfloat16")
        if args.ensemble_only:
            load1 = os.getloadavg()
            print(f"load average at end {load1[0]:.2f} (1 min), {load1[1]:.2f} (5 min)")
            return
        print()
    head = (f"| {'Ng':>5} | {'precision':<9} | {'what':<16} | {'ms/step':>9} | {'x bare':>6} | "
            f"{'cpu ms/step':>11} | {'x bare':>6} | {'TFLOP/s':>7} | note")
    print(head)
    print("|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|---")
    for ng in args.units:
        fl = flops_per_step(ng, args.place_cells, args.batch, args.seq)
        for prec in args.precision:
            mixed = prec == "bfloat16"
            shape = (ng, args.place_cells, args.batch, args.seq, mixed)
            if args.backend == "jax":
                bare = {"bare scan": bare_jax(*shape)}
            else:  # the faster of XLA and graph mode is the reference (XLA loses on some CPUs)
                bare = {"bare scan (XLA)": bare_tf(*shape, xla=True), "bare scan (graph)": bare_tf(*shape, xla=False)}
            rows = dict(bare)
            rows["keras step"] = keras_fit(*shape, "fused", args.steps)
            if not args.no_generic:
                rows["keras.layers.RNN"] = keras_fit(*shape, "keras", args.steps)
            best = measure(rows, args.steps, args.repeats, args.stat)
            ref_name = min(bare, key=lambda k: best[k][0])
            ref_w, ref_c = best[ref_name]
            for name in rows:
                if name in bare and name != ref_name:
                    continue
                w, c = best[name]
                label = "bare scan" if name == ref_name else name
                note = ref_name[len("bare scan "):] if name == ref_name and name != "bare scan" else ""
                print(f"| {ng:>5} | {prec:<9} | {label:<16} | {w:>9.2f} | {w / ref_w:>6.2f} | {c:>11.2f} | "
                      f"{c / ref_c:>6.2f} | {fl / w / 1e9:>7.2f} | {note}", flush=True)
            if args.e2e_steps > 0:
                w, wait, snap = e2e(*shape, args.e2e_steps)
                print(f"| {ng:>5} | {prec:<9} | {'train_model':<16} | {w:>9.2f} | {w / ref_w:>6.2f} | {'':>11} | "
                      f"{'':>6} | {fl / w / 1e9:>7.2f} | {args.e2e_steps} steps/epoch; data wait "
                      f"{wait:.3f} ms/step, checkpoint snapshot {snap:.3f} ms/step", flush=True)
    load1 = os.getloadavg()
    print(f"load average at end {load1[0]:.2f} (1 min), {load1[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()
