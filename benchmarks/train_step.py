"""Benchmark one training step of the UGRNN path integrator against a bare compiled scan.

For each size it prints ms/step and achieved TFLOP/s of
  keras: mec's Keras 3 model (mec.models.network), compiled by Keras (train_on_batch), and
  bare:  the same computation hand-written in the same framework - TensorFlow: tf.function
         with tf.scan (the faster of XLA and graph mode); JAX: jax.jit with lax.scan - encoder, M, UGRNN scan, g, dc,
         place-cell cross-entropy with on-device targets, L2 on the recurrent weights, Adam.
FLOPs count the matrix products only (forward x 3 for forward + backward).

    python benchmarks/train_step.py --backend tensorflow --units 128 256 512
    KERAS_BACKEND is set from --backend before Keras is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    p.add_argument("--units", type=int, nargs="+", default=[128, 256, 512], help="Ng values")
    p.add_argument("--place-cells", type=int, default=512, help="Np")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--seq", type=int, default=20)
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--mixed-precision", action="store_true", help="bfloat16 compute, float32 weights")
    p.add_argument("--skip-bare", action="store_true")
    return p.parse_args()


def flops_per_step(ng, npc, b, t, d_in=2):
    """Matrix-product FLOPs of one training step (forward x 3)."""
    per_sample = 2 * (d_in * ng + ng * 2 * ng + ng * 2 * ng + ng * ng + ng * npc)
    fwd = b * t * per_sample + 2 * b * npc * ng
    return 3 * fwd


def data(ng, npc, b, t, seed=0):
    import numpy as np
    from mec.task import PlaceCells, TrajectoryGenerator
    pc = PlaceCells(n_cells=npc)
    batch = TrajectoryGenerator(pc, batch_size=b, sequence_length=t, seed=seed).batch(0, place_targets=False)
    return pc.centres.astype(np.float32), batch


def time_fn(step, n, warmup, sync):
    for _ in range(warmup):
        sync(step())
    t0 = time.perf_counter()
    out = None
    for _ in range(n):
        out = step()
    sync(out)
    return (time.perf_counter() - t0) / n * 1e3


def keras_step(ng, npc, b, t, mixed, args):
    import numpy as np
    from mec.models.network import build_model, compile_model
    from mec.models.utils import resolve_model_cfg
    cfg = resolve_model_cfg(dict(n_units=ng, n_place_cells=npc, batch_size=b, sequence_length=t,
                                 mixed_precision=mixed))
    centres, batch = data(ng, npc, b, t)
    model = compile_model(build_model(cfg), cfg, centres)
    x = {"velocity": batch.velocity, "init_place": batch.init_place}
    y = batch.positions
    return time_fn(lambda: model.train_on_batch(x, y, return_dict=False),
                   args.steps, args.warmup, lambda o: np.asarray(o))


def bare_tf(ng, npc, b, t, mixed, args, xla=True):
    import numpy as np
    import tensorflow as tf
    centres, batch = data(ng, npc, b, t)
    rng = np.random.default_rng(0)
    cdt = tf.bfloat16 if mixed else tf.float32

    def glorot(shape):
        lim = np.sqrt(6 / (shape[0] + shape[1]))
        return tf.Variable(rng.uniform(-lim, lim, shape).astype("float32"))

    P = {"enc_w": glorot((npc, ng)), "enc_b": tf.Variable(tf.zeros(ng)),
         "m_w": glorot((2, ng)), "m_b": tf.Variable(tf.zeros(ng)),
         "k": glorot((ng, 2 * ng)), "r": glorot((ng, 2 * ng)), "rb": tf.Variable(tf.zeros(2 * ng)),
         "g_w": glorot((ng, ng)), "g_b": tf.Variable(tf.zeros(ng)),
         "d_w": glorot((ng, npc)), "d_b": tf.Variable(tf.zeros(npc))}
    names = sorted(P)
    m = {k: tf.Variable(tf.zeros_like(P[k])) for k in names}
    v = {k: tf.Variable(tf.zeros_like(P[k])) for k in names}
    it = tf.Variable(0.0)
    C = tf.constant(centres)
    vel, p0, pos = (tf.constant(a) for a in (batch.velocity, batch.init_place, batch.positions))

    def loss_fn():
        c = {k: tf.cast(P[k], cdt) for k in names}
        h0 = tf.cast(p0, cdt) @ c["enc_w"] + c["enc_b"]
        xs = tf.cast(vel, cdt) @ c["m_w"] + c["m_b"]  # (B, T, Ng)
        xk = tf.einsum("btn,nm->btm", xs, c["k"]) + c["rb"]

        def cell(h, xt):
            z = xt + h @ c["r"]
            g = tf.sigmoid(z[:, :ng] + 1.0)
            return g * h + (1 - g) * tf.nn.relu(z[:, ng:])

        hs = tf.scan(cell, tf.transpose(xk, (1, 0, 2)), initializer=h0)
        hs = tf.transpose(hs, (1, 0, 2))
        gl = tf.nn.relu(hs @ c["g_w"] + c["g_b"])
        logits = tf.cast(gl @ c["d_w"] + c["d_b"], tf.float32)
        d2 = tf.reduce_sum(pos**2, -1, keepdims=True) - 2 * pos @ tf.transpose(C) + tf.reduce_sum(C**2, -1)
        d2 = tf.maximum(d2, 0.0)
        tg = tf.nn.softmax(-d2 / (2 * 0.12**2)) - tf.nn.softmax(-d2 / (2 * 2 * 0.12**2))
        tg = tg + tf.abs(tf.reduce_min(tg, -1, keepdims=True))
        tg = tg / tf.reduce_sum(tg, -1, keepdims=True)
        ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(tg, logits))
        return ce + 1e-4 * tf.reduce_sum(P["r"] ** 2)

    @tf.function(jit_compile=xla)
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, [P[k] for k in names])
        it.assign_add(1.0)
        lr = 1e-4 * tf.sqrt(1 - 0.999**it) / (1 - 0.9**it)
        for k, gr in zip(names, grads):
            m[k].assign(0.9 * m[k] + 0.1 * gr)
            v[k].assign(0.999 * v[k] + 0.001 * gr * gr)
            P[k].assign_sub(lr * m[k] / (tf.sqrt(v[k]) + 1e-7))
        return loss

    return time_fn(step, args.steps, args.warmup, lambda o: o.numpy())


def bare_jax(ng, npc, b, t, mixed, args):
    import jax
    import jax.numpy as jnp
    import numpy as np
    centres, batch = data(ng, npc, b, t)
    rng = np.random.default_rng(0)
    cdt = jnp.bfloat16 if mixed else jnp.float32

    def glorot(shape):
        lim = np.sqrt(6 / (shape[0] + shape[1]))
        return jnp.asarray(rng.uniform(-lim, lim, shape).astype("float32"))

    P = {"enc_w": glorot((npc, ng)), "enc_b": jnp.zeros(ng), "m_w": glorot((2, ng)), "m_b": jnp.zeros(ng),
         "k": glorot((ng, 2 * ng)), "r": glorot((ng, 2 * ng)), "rb": jnp.zeros(2 * ng),
         "g_w": glorot((ng, ng)), "g_b": jnp.zeros(ng), "d_w": glorot((ng, npc)), "d_b": jnp.zeros(npc)}
    C = jnp.asarray(centres)
    vel, p0, pos = (jnp.asarray(a) for a in (batch.velocity, batch.init_place, batch.positions))

    def loss_fn(P):
        c = jax.tree_util.tree_map(lambda a: a.astype(cdt), P)
        h0 = p0.astype(cdt) @ c["enc_w"] + c["enc_b"]
        xk = (vel.astype(cdt) @ c["m_w"] + c["m_b"]) @ c["k"] + c["rb"]

        def cell(h, xt):
            z = xt + h @ c["r"]
            g = jax.nn.sigmoid(z[:, :ng] + 1.0)
            h = g * h + (1 - g) * jax.nn.relu(z[:, ng:])
            return h, h

        _, hs = jax.lax.scan(cell, h0, jnp.swapaxes(xk, 0, 1))
        hs = jnp.swapaxes(hs, 0, 1)
        gl = jax.nn.relu(hs @ c["g_w"] + c["g_b"])
        logits = (gl @ c["d_w"] + c["d_b"]).astype(jnp.float32)
        d2 = jnp.maximum(jnp.sum(pos**2, -1, keepdims=True) - 2 * pos @ C.T + jnp.sum(C**2, -1), 0.0)
        tg = jax.nn.softmax(-d2 / (2 * 0.12**2)) - jax.nn.softmax(-d2 / (2 * 2 * 0.12**2))
        tg = tg + jnp.abs(tg.min(-1, keepdims=True))
        tg = tg / tg.sum(-1, keepdims=True)
        ce = -jnp.mean(jnp.sum(tg * jax.nn.log_softmax(logits), -1))
        return ce + 1e-4 * jnp.sum(P["r"] ** 2)

    @jax.jit
    def step(P, m, v, i):
        loss, g = jax.value_and_grad(loss_fn)(P)
        i = i + 1
        lr = 1e-4 * jnp.sqrt(1 - 0.999**i) / (1 - 0.9**i)
        m = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        P = jax.tree_util.tree_map(lambda p, a, b: p - lr * a / (jnp.sqrt(b) + 1e-7), P, m, v)
        return P, m, v, i, loss

    state = [P, jax.tree_util.tree_map(jnp.zeros_like, P), jax.tree_util.tree_map(jnp.zeros_like, P), 0.0]

    def run():
        nonlocal state
        *state, loss = step(*state)
        return loss

    return time_fn(run, args.steps, args.warmup, lambda o: o.block_until_ready())


def main():
    args = parse()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    dev = "cpu"
    if args.backend == "jax":
        import jax
        dev = str(jax.devices()[0])
    else:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        dev = gpus[0].name if gpus else f"cpu x{os.cpu_count()}"
    print(f"backend={keras.backend.backend()} device={dev} batch={args.batch} T={args.seq} "
          f"Np={args.place_cells} mixed_precision={args.mixed_precision} steps={args.steps}")
    print(f"{'Ng':>6} {'keras ms':>10} {'keras TF/s':>11} {'bare ms':>10} {'bare TF/s':>10} {'ratio':>7}")
    if args.backend == "jax":
        bare = bare_jax
    else:  # the faster of graph mode and XLA is the reference (XLA loses on some CPUs)
        def bare(*a):
            return min(bare_tf(*a, xla=True), bare_tf(*a, xla=False))
    for ng in args.units:
        fl = flops_per_step(ng, args.place_cells, args.batch, args.seq)
        k = keras_step(ng, args.place_cells, args.batch, args.seq, args.mixed_precision, args)
        r = float("nan") if args.skip_bare else bare(ng, args.place_cells, args.batch, args.seq,
                                                     args.mixed_precision, args)
        print(f"{ng:>6} {k:>10.2f} {fl / k / 1e9:>11.3f} {r:>10.2f} {fl / r / 1e9:>10.3f} {k / r:>7.2f}",
              flush=True)


if __name__ == "__main__":
    main()
