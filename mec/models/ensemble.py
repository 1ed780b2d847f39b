"""Several networks of one shape trained together in one compiled step (methods §2.1).

``train_ensemble(cfgs, out_dirs)`` trains K networks whose configs differ only in ``seed``
(the seed decides the initial weights and the training batches, nothing of the graph) with one
compiled training step for all K, and writes into every member's folder exactly the files
:func:`mec.models.train.train_model` writes there (config.json, history.csv, model.keras,
checkpoints/; not the TensorBoard logs/), so that everything downstream (rate maps, knockouts, a later rerun with
``train_model``) reads a member as a network trained alone.

Why each member is exactly the network trained alone:
  - the step minimises the sum of the members' losses (each: place-cell cross-entropy averaged
    over batch and time plus its own weight decay, as in train_model); the members share no
    variable, so the gradient of the sum with respect to a member's weights is that member's
    own gradient;
  - every member has its own Adam (mec.models.network.compile_model: no gradient clipping,
    no decoupled weight decay, nothing that couples variables), applied to its own gradients;
  - member k's batch i is batch i of its own trajectory stream (seed_k, i), as alone.
So the ensemble's arithmetic is the members' arithmetic, up to the order floating-point sums
run in (tests: weights after 50 steps within 1e-5 relative, losses per step alike).

The step (``batching``):
  "loop"  (both backends) the K members' forward and backward passes as K branches of one
          compiled function: one tf.function (TensorFlow; graph mode, as Keras's fit there)
          or one jax.jit (JAX) per step.
  "vmap"  (JAX) the members' weights stacked on a leading axis and one member's step mapped
          over it with jax.vmap: every matrix product becomes one batched product over the K
          members, which is what fills a GPU (benchmarks/gpu_check.sh).
  "auto"  "vmap" with JAX on a GPU, else "loop" (on 2 CPU cores the vmap does not pay,
          benchmarks/train_step.py, and the branches repeat train_model's arithmetic bit
          for bit, the vmap to ~2e-7; TensorFlow's step is traced with the batch dimension
          unknown, as Keras's fit on train_model's generator, EnsembleStep._trace_tf).

In the workflow: mec.sweeps.ensemble_groups groups the configured networks by
:func:`ensemble_key` into ensembles of at most config ``ensemble_size`` (a setting of the
machine: 1, off, by default; on 2 idle CPU cores 4 train about 2x faster in wall time end to
end with an intra-op pool of 1, mec.threads.ensemble_intra_op, the same CPU time,
benchmarks/train_step.py; 4-8 on a GPU), and one job per ensemble (rule train_ensemble_{i},
workflow/rules/ensembles.smk) calls ``train_ensemble`` with the members' training settings
and folders, declares every member's model.keras, config.json and history.csv as its outputs,
and one GPU for the whole ensemble; networks in no ensemble keep rule train_model.

Checkpoints and resume: every epoch each member's weights (and every ``state_every`` epochs its
full training state) are written into its own checkpoints/ folder, as train_model writes them.
A rerun after a kill resumes all members from the newest epoch at which every member has a
readable state that its history reaches; a member's files are train_model's, so a member can
also be resumed alone by train_model, and a member trained (partly) alone can join an
ensemble.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

from mec.models.config import generator_from_cfg, place_cells_from_cfg, resolve_model_cfg
from mec.models.train import (_LEGACY, _STATE, METADATA_KEYS, _files, _prepare_run_dir, _read_history, _restore_state, _save_epoch, _save_keras, _snapshot,
                              _write_history, _write_npz, _Writer, batch_to_xy, default_state_every,
                              train_model)
from mec.task import prefetch

__all__ = ["train_ensemble", "ensemble_key", "EnsembleStep", "BATCHINGS", "MEMBER_KEYS"]

log = logging.getLogger(__name__)
BATCHINGS = ("auto", "loop", "vmap")
#: The config keys members of one ensemble may differ in: the seed draws the initial weights
#: and the training batches, and changes nothing of the compiled graph.
MEMBER_KEYS = ("seed",)


def ensemble_key(cfg: dict) -> tuple:
    """What networks must share to train in one ensemble: their training settings with the
    defaults filled in (mec.models.config.DEFAULT_MODEL_CFG), without :data:`MEMBER_KEYS` and
    the metadata keys, numbers as floats (a hashable tuple of sorted items). Equal keys mean
    equal resolved configs but for the seed. The workflow groups models by it
    (mec.sweeps.ensemble_groups) while it plans, so it imports no Keras; a key that is no
    training setting is a ValueError naming it."""
    from mec.models.config import DEFAULT_MODEL_CFG

    cfg = {k: v for k, v in dict(cfg).items() if k not in METADATA_KEYS}
    unknown = sorted(set(cfg) - set(DEFAULT_MODEL_CFG))
    if unknown:
        raise ValueError(f"unknown model config keys {unknown}; known: {sorted(DEFAULT_MODEL_CFG)}")
    out = {**DEFAULT_MODEL_CFG, **cfg}

    def norm(v):
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.integer, np.floating)):
            return float(v)
        return tuple(v) if isinstance(v, list) else v

    return tuple(sorted((k, norm(v)) for k, v in out.items() if k not in MEMBER_KEYS))


def _check_members(cfgs, out_dirs, metadata) -> tuple[list[dict], list[dict], list[Path]]:
    """(resolved cfgs, extras for config.json, out dirs); ValueError naming the bad member."""
    cfgs = [dict(c) for c in cfgs]
    out_dirs = [Path(d) for d in out_dirs]
    if not cfgs:
        raise ValueError("train_ensemble needs at least one member config, got none")
    if len(out_dirs) != len(cfgs):
        raise ValueError(f"train_ensemble: {len(cfgs)} configs but {len(out_dirs)} output folders")
    metadata = [None] * len(cfgs) if metadata is None else list(metadata)
    if len(metadata) != len(cfgs):
        raise ValueError(f"train_ensemble: {len(cfgs)} configs but {len(metadata)} metadata entries")
    seen: dict = {}
    for k, d in enumerate(out_dirs):
        r = d.resolve()
        if r in seen:
            raise ValueError(f"train_ensemble: members {seen[r]} and {k} both write to {d}")
        seen[r] = k
    resolved, extras = [], []
    for c, m in zip(cfgs, metadata):
        extra = {k: c.pop(k) for k in list(c) if k in METADATA_KEYS}
        extra.update(m or {})
        resolved.append(resolve_model_cfg(c))
        extras.append(extra)
    first = resolved[0]
    for k, c in enumerate(resolved[1:], start=1):
        diff = sorted(key for key in first if key not in MEMBER_KEYS and c[key] != first[key])
        if diff:
            raise ValueError(
                f"train_ensemble: member {k} ({out_dirs[k]}) differs from member 0 ({out_dirs[0]}) in "
                f"{', '.join(f'{key} ({c[key]!r} vs {first[key]!r})' for key in diff)}; members of "
                f"one ensemble may differ only in {list(MEMBER_KEYS)}")
    return resolved, extras, out_dirs


def _resolve_batching(batching: str) -> str:
    import keras
    if batching not in BATCHINGS:
        raise ValueError(f"batching must be one of {BATCHINGS}, got {batching!r}")
    backend = keras.backend.backend()
    if batching == "vmap" and backend != "jax":
        raise ValueError(f"batching 'vmap' needs the JAX backend (KERAS_BACKEND=jax), this is {backend!r}")
    if batching == "auto":
        if backend == "jax":
            import jax
            return "vmap" if jax.devices()[0].platform != "cpu" else "loop"
        return "loop"
    return batching


# ------------------------------------------------------------------------------------------
# the compiled step
# ------------------------------------------------------------------------------------------
class EnsembleStep:
    """One training step of K compiled member models (mec.models.network.compile_model), in one
    compiled function.

    ``step(xs, ys)`` trains every member on its own batch: xs, ys are lists of K inputs dicts
    and (batch, T, 2) positions (mec.models.train.batch_to_xy). Returns (losses, errors): the
    per-member loss (cross-entropy + weight decay, the value train_model's history averages)
    and decoding error (metres), each a length-K backend array (not yet synchronised).
    Under JAX the weights and optimizer states live in the step between calls; ``sync()``
    writes them back into the members' Keras variables (call it before reading or saving
    them), ``load()`` reads them from there (after restoring a checkpoint).
    """

    def __init__(self, members: list, centres, batching: str = "loop"):
        import keras
        self.members = list(members)
        self.centres = None if centres is None else np.asarray(centres, dtype=np.float32)
        self.batching = batching
        self.backend = keras.backend.backend()
        for m in self.members:
            m.optimizer.build(m.trainable_variables)
        if self.backend == "jax":
            self._build_jax()
            self.load()
        elif self.backend == "tensorflow":
            if batching != "loop":
                raise ValueError(f"batching {batching!r} needs the JAX backend")
            self._build_tf()
        else:
            raise ValueError(f"train_ensemble runs on the jax and tensorflow backends, not {self.backend!r}")

    # -- member loss, shared by both backends ------------------------------------------------
    def _loss_and_error(self, model, y, y_pred, reg_losses):
        from keras import ops

        from mec.models.network import decoding_errors
        loss = model.loss(y, y_pred)  # the compiled loss with its reduction (mean over batch, T)
        for r in reg_losses:  # weight decay: Keras adds model.losses to the compiled loss
            loss = loss + ops.cast(r, loss.dtype)
        err = ops.mean(decoding_errors(y, y_pred, self.centres))
        return loss, err

    # -- TensorFlow: one tf.function, K branches -------------------------------------------------
    def _build_tf(self):
        import tensorflow as tf

        members = self.members

        @tf.function(reduce_retracing=True)
        def step(xs, ys):
            with tf.GradientTape() as tape:
                losses, errs = [], []
                for m, x, y in zip(members, xs, ys):
                    y_pred = m(x, training=True)
                    loss, err = self._loss_and_error(m, y, y_pred, m.losses)
                    losses.append(loss)
                    errs.append(err)
                total = tf.add_n(losses)
            variables = [v for m in members for v in m.trainable_variables]
            grads = tape.gradient(total, variables)
            i = 0
            for m in members:
                n = len(m.trainable_variables)
                m.optimizer.apply(grads[i:i + n], m.trainable_variables)
                i += n
            return tf.stack(losses), tf.stack(errs)

        self._tf_step = step
        self._tf_concrete = None

    # -- JAX: one jax.jit, K branches or a vmap ---------------------------------------------------
    def _build_jax(self):
        import jax
        import jax.numpy as jnp

        members = self.members
        ref = members[0]

        def member_loss(model, tv, ntv, x, y):
            y_pred, ntv, reg = model.stateless_call(tv, ntv, x, training=True, return_losses=True)
            loss, err = self._loss_and_error(model, y, y_pred, reg)
            return loss, (err, ntv)

        def member_update(model, ov, grads, tv):
            new_tv, new_ov = model.optimizer.stateless_apply(ov, grads, tv)
            return new_tv, new_ov

        if self.batching == "vmap":
            # member 0's graph over stacked weights: every member's math is member 0's function
            def one(tv, ntv, ov, x, y):
                (loss, (err, ntv)), grads = jax.value_and_grad(
                    lambda tv: member_loss(ref, tv, ntv, x, y), has_aux=True)(tv)
                tv, ov = member_update(ref, ov, grads, tv)
                return tv, ntv, ov, loss, err

            mapped = jax.vmap(one)

            def step(state, xs, ys):
                tv, ntv, ov = state
                x = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *xs)
                y = jnp.stack(ys)
                tv, ntv, ov, losses, errs = mapped(tv, ntv, ov, x, y)
                return (tv, ntv, ov), losses, errs
        else:
            def total(tvs, ntvs, xs, ys):
                outs = [member_loss(m, tv, ntv, x, y) for m, tv, ntv, x, y in zip(members, tvs, ntvs, xs, ys)]
                return sum(o[0] for o in outs), outs

            def step(state, xs, ys):
                tvs, ntvs, ovs = state
                (_, outs), grads = jax.value_and_grad(total, has_aux=True)(tvs, ntvs, xs, ys)
                new_tvs, new_ovs = [], []
                for m, ov, g, tv in zip(members, ovs, grads, tvs):
                    tv, ov = member_update(m, ov, g, tv)
                    new_tvs.append(tv)
                    new_ovs.append(ov)
                new_ntvs = [o[1][1] for o in outs]
                losses = jnp.stack([o[0] for o in outs])
                errs = jnp.stack([o[1][0] for o in outs])
                return (new_tvs, new_ntvs, new_ovs), losses, errs

        self._jax_step = jax.jit(step, donate_argnums=(0,))

    def _groups(self, m):
        return m.trainable_variables, m.non_trainable_variables, m.optimizer.variables

    def load(self):
        """Read the members' Keras variables into the step's state (JAX; a no-op on TensorFlow)."""
        if self.backend != "jax":
            return
        import jax.numpy as jnp
        per = [[[jnp.array(v.value) for v in group] for group in self._groups(m)] for m in self.members]
        if self.batching == "vmap":
            self._state = tuple([jnp.stack([p[g][i] for p in per]) for i in range(len(per[0][g]))]
                                for g in range(3))
        else:
            self._state = tuple([p[g] for p in per] for g in range(3))

    def sync(self):
        """Write the step's state into the members' Keras variables (JAX; no-op on TensorFlow)."""
        if self.backend != "jax":
            return
        for k, m in enumerate(self.members):
            for g, group in enumerate(self._groups(m)):
                values = self._state[g]
                for i, v in enumerate(group):
                    v.assign(values[i][k] if self.batching == "vmap" else values[k][i])

    def step(self, xs, ys):
        if self.backend == "jax":
            self._state, losses, errs = self._jax_step(self._state, list(xs), list(ys))
            return losses, errs
        if self._tf_concrete is None:
            self._tf_concrete = self._trace_tf(xs, ys)
        return self._tf_concrete(list(xs), list(ys))

    def _trace_tf(self, xs, ys):
        """The TensorFlow step traced with the batch dimension unknown, as Keras's ``fit`` on
        train_model's generator traces it: with it known, TensorFlow picks other kernels (2e-5
        apart after a demo step, 3 % after 50, another network after 10k; docs/models.md)."""
        import tensorflow as tf

        def spec(a):
            a = np.asarray(a)
            return tf.TensorSpec([None] + list(a.shape[1:]), tf.as_dtype(a.dtype))

        sig = ([{k: spec(v) for k, v in x.items()} for x in xs], [spec(y) for y in ys])
        return self._tf_step.get_concrete_function(*sig)


def _keras_epoch_mean(step_losses: list, batch_size: int) -> np.ndarray:
    """(K,) float64: per member, the float32 running mean Keras's loss tracker keeps over an
    epoch: total += float32(loss x B), count += B, result = total / count (B: the batch size).
    step_losses: one (K,) array per step."""
    b = np.float32(batch_size)
    total = np.zeros(len(step_losses[0]), dtype=np.float32)
    count = np.float32(0)
    for v in step_losses:
        total = (total + np.asarray(v, dtype=np.float32) * b).astype(np.float32)
        count = np.float32(count + b)
    return (total / count).astype(np.float32).astype(np.float64)


# ------------------------------------------------------------------------------------------
# resume
# ------------------------------------------------------------------------------------------
def _resume_all(members, ckpt_dirs, histories, rebuild) -> tuple[int, list, list]:
    """Restore every member from the newest epoch at which all of them have a usable state.

    A member's state at epoch E is usable when its history reaches E (as in train_model) and it
    loads; the ensemble resumes from the newest E usable for every member (a kill between two
    members' writes leaves them one state apart; each keeps its newest two). Returns (epoch,
    members, histories cut to it); with no common state, freshly built members and epoch 0.
    """
    usable = []
    for d, h in zip(ckpt_dirs, histories):
        found = {}
        for epoch, path in _files(d, _STATE) + _files(d, _LEGACY):
            if epoch > len(h):
                log.warning(f"skipping {path}: history.csv has epochs 1..{len(h)} only "
                            f"(the run stopped between the checkpoint and the history)")
            else:
                found[epoch] = path
        usable.append(found)
    common = sorted(set.intersection(*(set(u) for u in usable)), reverse=True)
    for epoch in sorted(set().union(*(set(u) for u in usable)) - set(common), reverse=True):
        missing = [str(d) for d, u in zip(ckpt_dirs, usable) if epoch not in u]
        log.warning(f"no ensemble resume from epoch {epoch}: no usable state of it in {missing}")
    for epoch in common:
        try:
            for m, u in zip(members, usable):
                _restore_state(m, u[epoch])
        except ValueError as err:
            log.warning(f"skipping epoch {epoch}: {err}")
            continue
        return epoch, members, [h[:epoch] for h in histories]
    if common:  # every common state failed, some after others had loaded: start afresh
        members = rebuild()
    return 0, members, [[] for _ in histories]


# ------------------------------------------------------------------------------------------
# train_ensemble
# ------------------------------------------------------------------------------------------
def train_ensemble(cfgs: list[dict], out_dirs: list, *, workers: int = 2,
                   keep_checkpoints: int | None = 2, verbose: int | None = None,
                   restart_on_change: bool = False, metadata: list[dict] | None = None,
                   state_every: int | None = None, batching: str = "auto") -> dict:
    """Train K networks that differ only in seed together, each into its own folder.

    Long because: it is train_model's setup, resume and epoch loop for K members at once,
    kept side by side with it (mec.models.train) so that the two stay alike; the checkpoint
    files are the shared mec.models.train._save_epoch.

    cfgs: K config.yaml ``models:`` entries (as :func:`mec.models.train.train_model` takes
        them); after resolution they must agree on every key but ``seed`` (ValueError naming
        the member and the keys otherwise).
    out_dirs: K distinct run folders (results/models/{name}/seed{k}/ or results/models/{name});
        each receives what train_model would write there.
    metadata: K dicts for config.json's "extra" (or None).
    batching: "auto", "loop" or "vmap" (module docstring).
    workers, keep_checkpoints, verbose, restart_on_change, state_every: as train_model, for
        every member.

    Returns train_model's stats ({"epochs_trained", "start_epoch", "epoch_seconds",
    "data_wait_seconds", "checkpoint_seconds", "steps_per_epoch"}; times for the whole
    ensemble) plus "members" (K) and "batching" (the step used).
    """
    from mec.models.network import build_model, compile_model

    if keep_checkpoints is not None and (isinstance(keep_checkpoints, bool) or keep_checkpoints < 1):
        raise ValueError(f"keep_checkpoints must be >= 1 or None, got {keep_checkpoints!r}")
    if state_every is not None and (isinstance(state_every, bool) or int(state_every) < 1):
        raise ValueError(f"state_every must be >= 1 or None, got {state_every!r}")
    cfgs, extras, out_dirs = _check_members(cfgs, out_dirs, metadata)
    batching = _resolve_batching(batching)
    cfg0 = cfgs[0]
    if cfg0["untrained"] or cfg0["epochs"] == 0:  # nothing to train together
        for c, e, d in zip(cfgs, extras, out_dirs):
            train_model(c, d, workers=workers, keep_checkpoints=keep_checkpoints, verbose=verbose,
                        restart_on_change=restart_on_change, metadata=e)
        return {"start_epoch": 0, "epochs_trained": 0, "epoch_seconds": [], "data_wait_seconds": [],
                "checkpoint_seconds": [], "steps_per_epoch": cfg0["steps_per_epoch"],
                "members": len(cfgs), "batching": batching}
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    for c, e, d in zip(cfgs, extras, out_dirs):
        _prepare_run_dir(c, e, d, restart_on_change)
    ckpt_dirs = [d / "checkpoints" for d in out_dirs]
    hist_paths = [(c / "history.csv", d / "history.csv") for c, d in zip(ckpt_dirs, out_dirs)]

    pc = place_cells_from_cfg(cfg0)  # the same place cells for every seed (fixed seed, methods §1.2)
    gens = [generator_from_cfg(c, place_cells=pc) for c in cfgs]
    centres = None if pc.identity else pc.centres

    def build():
        return [compile_model(build_model(c, n_cues=g.n_cues), c, centres) for c, g in zip(cfgs, gens)]

    members = build()
    epochs, steps = cfg0["epochs"], cfg0["steps_per_epoch"]
    start, members, histories = _resume_all(members, ckpt_dirs, [_read_history(p[0]) for p in hist_paths],
                                            build)
    if start:
        log.info(f"Resuming {len(members)} members from epoch {start} of {epochs} "
                 f"({', '.join(map(str, ckpt_dirs))})")
    if start > epochs:
        raise ValueError(f"{ckpt_dirs} hold states after epoch {start}, beyond cfg epochs = {epochs}; "
                         f"delete them to start again")
    for m, c, h, paths in zip(members, ckpt_dirs, histories, hist_paths):
        if start == 0:
            _write_npz(_snapshot(m, optimizer=False), c / "epoch_0000.weights.npz")
        for p in paths:
            _write_history(h, p)
    every = int(state_every) if state_every is not None else default_state_every(members[0])
    stats = {"start_epoch": start, "epochs_trained": 0, "epoch_seconds": [], "data_wait_seconds": [],
             "checkpoint_seconds": [], "steps_per_epoch": steps, "members": len(members),
             "batching": batching}
    runner = EnsembleStep(members, centres, batching=batching) if start < epochs else None

    def make(i):  # member k's batch i is batch i of its own stream, as alone
        xy = [batch_to_xy(g.batch(i, place_targets=False)) for g in gens]
        return [x for x, _ in xy], [y for _, y in xy]

    writer = _Writer()
    try:
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            feed: dict = {}
            losses, errs = [], []
            for xs, ys in prefetch(make, epoch * steps, (epoch + 1) * steps, workers=workers,
                                   depth=4 * workers, stats=feed):
                lo, er = runner.step(xs, ys)
                losses.append(lo)
                errs.append(er)
            # per member, the epoch's loss as train_model's history has it (Keras's loss
            # tracker); the decoding error: the mean of the step means (Keras's: to ~1e-7)
            loss = _keras_epoch_mean(losses, cfg0["batch_size"])
            err_cm = 100.0 * np.mean(np.stack([np.asarray(v, dtype=np.float64) for v in errs]), axis=0)
            bad = [k for k in range(len(members)) if not math.isfinite(loss[k])]
            if bad:
                raise FloatingPointError(f"training diverged at epoch {epoch + 1}: loss "
                                         f"{[float(loss[k]) for k in bad]} of {[str(out_dirs[k]) for k in bad]}")
            runner.sync()
            t1 = time.perf_counter()
            done = epoch + 1
            with_state = done % every == 0 or done == epochs
            for k, (m, c) in enumerate(zip(members, ckpt_dirs)):
                histories[k].append({"epoch": done, "loss": float(loss[k]),
                                     "decoding_error_cm": float(err_cm[k])})
                _save_epoch(m, histories[k], hist_paths[k], c, done, with_state, writer,
                            keep_checkpoints)
            t2 = time.perf_counter()
            stats["epochs_trained"] += 1
            stats["epoch_seconds"].append(t2 - t0)
            stats["data_wait_seconds"].append(feed.get("wait_s", 0.0))
            stats["checkpoint_seconds"].append(t2 - t1)
            if verbose:
                log.info(f"epoch {done}/{epochs}, {len(members)} members: loss "
                         f"{', '.join(f'{v:.4f}' for v in loss)}; decoding error "
                         f"{', '.join(f'{v:.1f}' for v in err_cm)} cm; {t2 - t0:.1f} s "
                         f"({1e3 * (t1 - t0) / steps:.1f} ms/step), waited {feed.get('wait_s', 0.0):.2f} s "
                         f"for data, {t2 - t1:.2f} s to snapshot{' the states' if with_state else ' the weights'}")
    finally:
        writer.close()
    if start == epochs:
        log.info(f"Nothing left to train (epoch {start} of {epochs}): rewriting the outputs of "
                 f"{len(members)} members from their checkpoints")
    for m, d in zip(members, out_dirs):
        _save_keras(m, d / "model.keras")
    return stats
