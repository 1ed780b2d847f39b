# Long because: a run's resume, epoch loop and checkpoint files share its state; next seam: the
# checkpoint files (_snapshot, _write_npz, _prune, _save_epoch) into mec/models/checkpoints.py.
"""Training of a path integrator (methods §2.1) that always finishes or says why.

``train_model(cfg, out_dir)`` writes, in ``out_dir``:
  config.json      {"model": resolved cfg, "extra": metadata (name, scale, ...), "mec_version",
                   "keras_backend"}
  history.csv      epoch, loss, decoding_error_cm (training-batch means of the epoch)
  model.keras      written last (model + optimizer state): its presence means training finished
  logs/            TensorBoard, only with the TensorFlow backend and tensorboard installed
  checkpoints/     what a rerun resumes from; Snakemake deletes a rule's declared outputs before
                   rerunning it, so the authoritative copies live here:
    config.json              the config the checkpoints belong to
    history.csv              one row per finished epoch
    epoch_EEEE.weights.npz   model weights after epoch E (E = 0: the initialisation, as the
                             paper saves one at the start), every epoch; the newest
                             ``keep_checkpoints`` and epoch 0 are kept
    state_EEEE.npz           the full training state after epoch E: weights and optimizer
                             variables (Adam's moments and step count), every ``state_every``
                             epochs and after the last; the newest two are kept
  Both kinds of .npz hold one array per Keras variable, keyed "model/<layer>/<variable>" and
  "optimizer/<layer>/<variable>/<slot>" (load by name with :func:`load_weights`). Every file
  is written to a temporary name and renamed into place, by a background thread (the next
  epoch trains while the previous one's files are written).

Resume (a rerun after a kill, a crash or a finished run): the newest state that is readable
and agrees with the history (its epoch <= the history's last consecutive epoch) is restored,
the history is cut to its epoch, and training continues; states that fail either check are
skipped with a message naming the file and the reason (temporary files a killed run left are
deleted first). With nothing left to train the outputs (model.keras, history.csv,
config.json) are rewritten from the checkpoints. Batch i of training
is drawn from (seed, i) and the optimizer state is restored exactly, so a resumed run ends with
the same weights as an uninterrupted one (bit for bit on CPU).

Why a state only every ``state_every`` epochs: at paper scale (Ng 4096) the weights are 0.35 GB
and weights plus Adam's moments 1.06 GB; writing the latter every epoch cost more than the
training. :func:`default_state_every` writes one every epoch for small models and
every K-th epoch for large ones (paper scale: every 4th). A kill loses at most K - 1 epochs of
work, which the rerun repeats identically.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import json
import logging
import math
import re
import shutil
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from mec.io import atomic_path
from mec.models.config import generator_from_cfg, place_cells_from_cfg, resolve_model_cfg
from mec.task import prefetch

__all__ = ["train_model", "latest_checkpoint", "batch_to_xy", "load_weights", "training_settings",
           "default_state_every", "HISTORY_COLUMNS", "METADATA_KEYS"]

log = logging.getLogger(__name__)
HISTORY_COLUMNS = ("epoch", "loss", "decoding_error_cm")
# Keys of a config.yaml model entry that are not training settings: they never decide whether a
# model is retrained (kept in config.json "extra").
METADATA_KEYS = ("name", "scale", "n_eval_batches", "eval_arenas")
_WEIGHTS = re.compile(r"^epoch_(\d{4,})\.weights\.npz$")
_STATE = re.compile(r"^state_(\d{4,})\.npz$")
_LEGACY = re.compile(r"^epoch_(\d{4,})\.keras$")  # model + optimizer, written before the fused layer and npz states
# Average bytes of optimizer state written per epoch that default_state_every aims at.
STATE_BYTES_PER_EPOCH = 256 * 2**20


def training_settings(entry: dict) -> dict:
    """The keys of a model entry that decide training: everything but METADATA_KEYS.

    The workflow passes these (and only these) as the training job's params, so that changing
    a rate-map setting (n_eval_batches) or renaming a scale never retrains a model. Keys are
    sorted: Snakemake compares params as text, and reordering a config file must not retrain.
    """
    return {k: v for k, v in sorted(dict(entry).items()) if k not in METADATA_KEYS}


def _files(ckpt_dir: Path, pattern) -> list[tuple[int, Path]]:
    if not ckpt_dir.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := pattern.match(p.name)))


def latest_checkpoint(ckpt_dir) -> tuple[int, Path] | None:
    """(epoch, path) of the newest weights checkpoint in ckpt_dir (``epoch_EEEE.weights.npz``,
    or a pre-issue-14 ``epoch_EEEE.keras``), or None. Load it with :func:`load_weights` or
    mec.models.utils.load_trained_model(ckpt_file=path.name)."""
    found = _files(Path(ckpt_dir), _WEIGHTS) + _files(Path(ckpt_dir), _LEGACY)
    return max(found) if found else None


def batch_to_xy(batch) -> tuple[dict, np.ndarray]:
    """(inputs dict, positions (batch, T, 2)) for keras fit from a TaskBatch."""
    x = {"velocity": batch.velocity, "init_place": batch.init_place}
    if batch.cues is not None:
        x["cues"] = batch.cues
    return x, batch.positions


def default_state_every(model) -> int:
    """Epochs between full training states: 1 while weights + Adam moments (3 x the weights)
    are under STATE_BYTES_PER_EPOCH (256 MiB), else the smallest K that keeps the state's bytes
    per epoch under it (paper scale, 1.06 GB: every 5th epoch)."""
    n_bytes = 3 * sum(int(np.prod(v.shape)) * 4 for v in model.trainable_variables)
    return max(1, math.ceil(n_bytes / STATE_BYTES_PER_EPOCH))


# ------------------------------------------------------------------------------------------
# history
# ------------------------------------------------------------------------------------------
def _write_history(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(HISTORY_COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r[k] for k in HISTORY_COLUMNS})
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def _read_history(path: Path) -> list[dict]:
    """Rows 1..n of a history file: the longest run of consecutive epochs from 1 (a damaged or
    missing file gives [], with a message)."""
    if not path.exists():
        return []
    try:
        with open(path, newline="") as f:
            rows = [{"epoch": int(r["epoch"]), "loss": float(r["loss"]),
                     "decoding_error_cm": float(r["decoding_error_cm"])} for r in csv.DictReader(f)]
    except (ValueError, KeyError, TypeError, csv.Error) as err:
        log.warning(f"{path} is unreadable ({err}); starting the history afresh")
        return []
    good = []
    for r in rows:
        if r["epoch"] != len(good) + 1:
            log.warning(f"{path}: rows after epoch {len(good)} are out of order (found epoch "
                        f"{r['epoch']}); kept epochs 1..{len(good)}")
            break
        good.append(r)
    return good


# ------------------------------------------------------------------------------------------
# weights and training states (.npz keyed by variable path)
# ------------------------------------------------------------------------------------------
def _model_keys(model) -> list[tuple[str, object]]:
    """(key, variable) for every model variable: "model/<layer>/<variable name>" with the
    top-level layer's name (e.g. "model/pre_g/recurrent_kernel"). Unlike ``variable.path``
    the key is the same whether the model was built or loaded from a .keras file, and under
    FusedRNN or keras.layers.RNN."""
    out, seen = [], set()
    for layer in model.layers:
        for v in layer.weights:
            key = f"model/{layer.name}/{v.name}"
            if key in seen:
                raise ValueError(f"two variables of {model.name} are keyed {key}")
            seen.add(key)
            out.append((key, v))
    if len(out) != len(model.weights):
        raise ValueError(f"{model.name}: {len(model.weights)} variables, {len(out)} found in its layers")
    return out


def _optimizer_keys(model) -> list[tuple[str, object]]:
    """(key, variable) for every optimizer variable: "optimizer/<layer>/<variable>/<slot>" for
    the per-variable slots (Adam's momentum and velocity; Keras names them after the variable's
    path), "optimizer/<name>" for the rest (iteration, learning_rate)."""
    by_name = {v.path.replace("/", "_"): key[len("model/"):] for key, v in _model_keys(model)}
    out = []
    for v in model.optimizer.variables:
        name = v.path.split("/", 1)[-1]  # without the optimizer's own name (adam, adam_1, ...)
        bases = [b for b in by_name if name.startswith(b + "_")]
        if bases:
            base = max(bases, key=len)
            out.append((f"optimizer/{by_name[base]}/{name[len(base) + 1:]}", v))
        else:
            out.append((f"optimizer/{name}", v))
    return out


def _host(v) -> np.ndarray:
    """A host copy of a variable's value (never a view of a device buffer that training reuses)."""
    from keras import ops
    return np.array(ops.convert_to_numpy(v.value), copy=True)


def _snapshot(model, optimizer: bool) -> dict[str, np.ndarray]:
    """Host copies of the model's (and the optimizer's) variables, by key."""
    pairs = _model_keys(model) + (_optimizer_keys(model) if optimizer else [])
    return {k: _host(v) for k, v in pairs}


def _write_npz(arrays: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz; ValueError naming the file if it is truncated or damaged."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is unreadable: {type(err).__name__}: {err}") from err


def _assign(pairs, arrays: dict, path: Path) -> None:
    """Check every (key, variable) against ``arrays``, then assign them all (all or nothing)."""
    for key, v in pairs:
        if key not in arrays:
            raise ValueError(f"{path} has no {key} (it holds {len(arrays)} arrays; another model?)")
        if tuple(arrays[key].shape) != tuple(v.shape):
            raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, the model's is {tuple(v.shape)}")
    for key, v in pairs:
        v.assign(arrays[key])


def load_weights(model, path) -> None:
    """Load an ``epoch_EEEE.weights.npz`` or ``state_EEEE.npz`` into a model of the same config
    (by layer and variable name; ValueError naming the file and the variable on any mismatch)."""
    path = Path(path)
    _assign(_model_keys(model), _read_npz(path), path)


def _restore_state(model, path: Path) -> None:
    """Weights and optimizer variables of a training state into a compiled model."""
    if path.suffix == ".keras":  # pre-issue-14 checkpoint: a whole saved model
        import keras
        try:
            old = keras.models.load_model(path, compile=True)
        except Exception as err:  # Keras raises many kinds on a damaged archive; name the file
            raise ValueError(f"{path} is unreadable: {type(err).__name__}: {err}") from err
        if old.optimizer is None or not old.optimizer.variables:
            raise ValueError(f"{path} holds no optimizer state")
        arrays = _snapshot(old, optimizer=True)
    else:
        arrays = _read_npz(path)
    model.optimizer.build(model.trainable_variables)
    _assign(_model_keys(model) + _optimizer_keys(model), arrays, path)


def _save_keras(model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


class _Writer:
    """Writes checkpoint files in order on one background thread; a failed write is raised in
    the training thread at the next ``submit`` or at ``close``."""

    def __init__(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ckpt")
        self._pending: list[concurrent.futures.Future] = []

    def _check(self, wait: bool):
        still = []
        for f in self._pending:
            if wait or f.done():
                f.result()  # raises the writer's exception here
            else:
                still.append(f)
        self._pending = still

    def submit(self, fn, *args):
        self._check(wait=False)
        self._pending.append(self._pool.submit(fn, *args))

    def close(self):
        try:
            self._check(wait=True)
        finally:
            self._pool.shutdown(wait=True)


def _save_epoch(model, history: list[dict], hist_paths, ckpt_dir: Path, done: int,
                with_state: bool, writer, keep_checkpoints: int | None) -> None:
    """One epoch's files of a run: its history, then (on ``writer``, a background executor)
    the weights, the whole state when ``with_state``, and the pruning of old checkpoints.
    The history goes first: a state is only used when the history reaches its epoch."""
    for p in hist_paths:
        _write_history(history, p)
    snap = _snapshot(model, optimizer=with_state)
    weights = {k: v for k, v in snap.items() if k.startswith("model/")}
    writer.submit(_write_npz, weights, ckpt_dir / f"epoch_{done:04d}.weights.npz")
    if with_state:
        writer.submit(_write_npz, snap, ckpt_dir / f"state_{done:04d}.npz")
    writer.submit(_prune, ckpt_dir, keep_checkpoints, 2)


def _prune(ckpt_dir: Path, keep_weights: int | None, keep_states: int) -> None:
    """Delete all but the newest weights (and epoch 0) and the newest ``keep_states`` states."""
    if keep_weights is not None:
        weights = _files(ckpt_dir, _WEIGHTS)
        for e, p in weights[:-keep_weights]:
            if e != 0:
                p.unlink(missing_ok=True)
    for _, p in _files(ckpt_dir, _STATE)[:-keep_states]:
        p.unlink(missing_ok=True)


def _remove_stale_temp_files(out_dir: Path) -> None:
    """Delete the temporary files (mec.io.atomic_path) a killed run left in the run's folder
    and its checkpoints: one training job owns them (Snakemake locks its outputs), and at
    paper scale each can be a gigabyte."""
    from mec.io import remove_stale_temp_files

    remove_stale_temp_files([out_dir], log=log.warning)


def _tensorboard_callback(out_dir: Path):
    """TensorBoard logging where it can work: Keras' callback writes with tf.summary, so it needs
    the TensorFlow backend (under JAX, importing TensorFlow could also claim the GPU's memory)."""
    import importlib.util

    import keras
    if keras.backend.backend() != "tensorflow" or importlib.util.find_spec("tensorboard") is None:
        return []
    return [keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), write_graph=False)]


# ------------------------------------------------------------------------------------------
# train_model
# ------------------------------------------------------------------------------------------
def _resume(model, ckpt_dir: Path, history: list[dict]) -> tuple[int, list[dict]]:
    """Restore the newest consistent training state; (its epoch, the history up to it).

    A state is used when its epoch <= the history's length (the history of every epoch it has
    trained is there) and the file loads; others are skipped with a message. Epoch 0 (nothing
    restored) is the seeded initialisation, always available.
    """
    candidates = sorted(_files(ckpt_dir, _STATE) + _files(ckpt_dir, _LEGACY), reverse=True)
    for epoch, path in candidates:
        if epoch > len(history):
            log.warning(f"skipping {path.name}: history.csv has epochs 1..{len(history)} only "
                        f"(the run stopped between the checkpoint and the history)")
            continue
        try:
            _restore_state(model, path)
        except ValueError as err:
            log.warning(f"skipping {path.name}: {err}")
            continue
        return epoch, history[:epoch]
    return 0, []


def _prepare_run_dir(cfg: dict, extra: dict, out_dir: Path, restart_on_change: bool) -> None:
    """Make a run folder ready to train the resolved ``cfg``: remove a killed run's temporary
    files, check that its checkpoints belong to ``cfg`` (else delete them when
    ``restart_on_change``, or raise ValueError naming the folder and the differing keys), and
    write config.json (in the folder and its checkpoints). Shared with mec.models.ensemble."""
    import keras

    import mec

    ckpt_dir = out_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(out_dir)
    meta = {"model": cfg, "extra": extra, "mec_version": getattr(mec, "__version__", "unknown"),
            "keras_backend": keras.backend.backend()}
    ckpt_cfg = ckpt_dir / "config.json"
    has_ckpts = bool(_files(ckpt_dir, _WEIGHTS) or _files(ckpt_dir, _STATE) or _files(ckpt_dir, _LEGACY))
    reason = None
    if has_ckpts and not ckpt_cfg.exists():
        reason = f"no {ckpt_cfg.name} says which config they belong to"
    elif has_ckpts:
        try:
            old = json.loads(ckpt_cfg.read_text())["model"]
        except (ValueError, KeyError, TypeError) as err:
            reason = f"{ckpt_cfg} is unreadable ({type(err).__name__}: {err})"
        else:
            if old != cfg:
                diff = sorted(k for k in set(old) | set(cfg) if old.get(k) != cfg.get(k))
                reason = f"they belong to a different config (keys {diff} differ)"
    if reason is not None:
        if not restart_on_change:
            raise ValueError(f"{ckpt_dir} holds checkpoints but {reason}; delete {ckpt_dir} to start again")
        log.warning(f"discarding the checkpoints in {ckpt_dir}: {reason}")
        shutil.rmtree(ckpt_dir)
        ckpt_dir.mkdir(parents=True)
    for path in (ckpt_cfg, out_dir / "config.json"):
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))


def train_model(cfg: dict, out_dir, *, workers: int = 2, keep_checkpoints: int | None = 2,
                verbose: int | None = None, restart_on_change: bool = False,
                metadata: dict | None = None, state_every: int | None = None,
                steps_per_execution: int = 1) -> dict:
    """Train the model of ``cfg`` (a config.yaml ``models:`` entry) into ``out_dir``.

    cfg: model config (contract keys; missing keys take the paper defaults, see
        mec.models.config.resolve_model_cfg; METADATA_KEYS go to config.json's "extra").
        ``untrained: true`` saves the initialised model with an empty history.
    out_dir: folder of the run (results/models/{model}).
    workers: threads generating trajectories ahead of the optimiser.
    keep_checkpoints: per-epoch weight files kept besides epoch 0 (>= 1; None keeps all).
    verbose: progress (0: none; 1: Keras's progress bar within each epoch and one line per
        epoch; 2: one line per epoch); default 1 on a terminal, else 2. Every message (the
        epoch lines, resuming, skipped checkpoints) goes to the logger ``mec.models.train``
        (epoch lines and resuming at INFO, fallbacks at WARNING): configure logging to see
        them (the rule's script sends them to the rule's log file).
    restart_on_change: when out_dir holds checkpoints of a different config, delete them and
        start from scratch (what the workflow wants: Snakemake reruns a training job because
        its training settings changed). Without it that case raises ValueError.
    metadata: extra keys for config.json's "extra" (the workflow's model and scale names).
    state_every: epochs between full training states (None: :func:`default_state_every`).
    steps_per_execution: training steps per compiled call (Keras compile argument).

    Returns {"epochs_trained", "start_epoch", "epoch_seconds", "data_wait_seconds",
    "checkpoint_seconds", "steps_per_epoch"} (lists per trained epoch; seconds of wall time,
    data wait = time the training loop waited for trajectories).
    """
    run = _setup_run(cfg, out_dir, keep_checkpoints=keep_checkpoints, state_every=state_every,
                     restart_on_change=restart_on_change, metadata=metadata,
                     steps_per_execution=steps_per_execution)
    cfg, model, ckpt_dir = run.cfg, run.model, run.ckpt_dir
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose

    if cfg["untrained"] or cfg["epochs"] == 0:
        _write_npz(_snapshot(model, optimizer=False), ckpt_dir / "epoch_0000.weights.npz")
        for p in run.hist_paths:
            _write_history([], p)
        _save_keras(model, run.out_dir / "model.keras")
        return run.stats

    start, history = _start_epoch(run)
    every = int(state_every) if state_every is not None else default_state_every(model)
    _train_epochs(run, start, history, every=every, workers=workers, verbose=verbose,
                  keep_checkpoints=keep_checkpoints)
    if start == cfg["epochs"]:
        log.info(f"Nothing left to train (epoch {start} of {cfg['epochs']}): rewriting the outputs "
                 f"from {ckpt_dir}")
    _save_keras(model, run.out_dir / "model.keras")
    return run.stats


@dataclasses.dataclass
class _Run:
    """One training run: its resolved config, folders, compiled model, trajectory generator
    and the statistics ``train_model`` returns (filled in by the epoch loop)."""

    cfg: dict
    out_dir: Path
    ckpt_dir: Path
    hist_paths: tuple[Path, Path]
    model: object
    gen: object
    stats: dict


def _setup_run(cfg: dict, out_dir, *, keep_checkpoints, state_every, restart_on_change: bool,
               metadata: dict | None, steps_per_execution: int) -> _Run:
    """Check the arguments, make the run folder ready (:func:`_prepare_run_dir`) and build the
    compiled model and its trajectory generator (``train_model``'s arguments)."""
    from mec.models.network import build_model, compile_model

    cfg = dict(cfg)
    extra = {k: cfg.pop(k) for k in list(cfg) if k in METADATA_KEYS}
    extra.update(metadata or {})
    cfg = resolve_model_cfg(cfg)
    if keep_checkpoints is not None and (isinstance(keep_checkpoints, bool) or keep_checkpoints < 1):
        raise ValueError(f"keep_checkpoints must be >= 1 or None, got {keep_checkpoints!r}")
    if state_every is not None and (isinstance(state_every, bool) or int(state_every) < 1):
        raise ValueError(f"state_every must be >= 1 or None, got {state_every!r}")
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    _prepare_run_dir(cfg, extra, out_dir, restart_on_change)

    pc = place_cells_from_cfg(cfg)
    gen = generator_from_cfg(cfg, place_cells=pc)
    centres = None if pc.identity else pc.centres
    hist_paths = (ckpt_dir / "history.csv", out_dir / "history.csv")
    model = compile_model(build_model(cfg, n_cues=gen.n_cues), cfg, centres,
                          steps_per_execution=steps_per_execution)
    stats = {"start_epoch": 0, "epochs_trained": 0, "epoch_seconds": [], "data_wait_seconds": [],
             "checkpoint_seconds": [], "steps_per_epoch": cfg["steps_per_epoch"]}
    return _Run(cfg, out_dir, ckpt_dir, hist_paths, model, gen, stats)


def _start_epoch(run: _Run) -> tuple[int, list[dict]]:
    """Resume the run from its newest consistent state (:func:`_resume`), or write its epoch-0
    weights; rewrite its history up to that epoch. Returns (the epoch, the history)."""
    cfg, ckpt_dir = run.cfg, run.ckpt_dir
    start, history = _resume(run.model, ckpt_dir, _read_history(run.hist_paths[0]))
    run.stats["start_epoch"] = start
    if start:
        log.info(f"Resuming from epoch {start} of {cfg['epochs']} ({ckpt_dir})")
    if start > cfg["epochs"]:
        raise ValueError(f"{ckpt_dir} holds a state after epoch {start}, beyond cfg epochs = "
                         f"{cfg['epochs']}; delete {ckpt_dir} to start again")
    if start == 0:
        _write_npz(_snapshot(run.model, optimizer=False), ckpt_dir / "epoch_0000.weights.npz")
    for p in run.hist_paths:
        _write_history(history, p)
    return start, history


def _train_epochs(run: _Run, start: int, history: list[dict], *, every: int, workers: int,
                  verbose: int, keep_checkpoints) -> None:
    """The epoch loop: train epochs ``start + 1 .. cfg["epochs"]``, each on fresh trajectories
    (prefetched by ``workers`` threads), saving its checkpoint files (:func:`_save_epoch`; the
    full state every ``every`` epochs and at the last) and its statistics in ``run.stats``.
    FloatingPointError when the loss is not finite."""
    cfg, model, gen, stats = run.cfg, run.model, run.gen, run.stats
    callbacks = _tensorboard_callback(run.out_dir)
    steps = cfg["steps_per_epoch"]
    writer = _Writer()
    try:
        for epoch in range(start, cfg["epochs"]):
            t0 = time.perf_counter()
            feed: dict = {}
            data = prefetch(lambda i: batch_to_xy(gen.batch(i, place_targets=False)),
                            epoch * steps, (epoch + 1) * steps, workers=workers, depth=4 * workers,
                            stats=feed)
            # Keras reports only its progress bar (verbose 1); the epoch's line is logged below
            h = model.fit(data, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps,
                          verbose=1 if verbose == 1 else 0, callbacks=callbacks, shuffle=False)
            loss = float(h.history["loss"][-1])
            err_cm = 100.0 * float(h.history["decoding_error"][-1])
            if not math.isfinite(loss):
                raise FloatingPointError(f"training diverged at epoch {epoch + 1}: loss {loss}")
            t1 = time.perf_counter()
            done = epoch + 1
            history.append({"epoch": done, "loss": loss, "decoding_error_cm": err_cm})
            with_state = done % every == 0 or done == cfg["epochs"]
            _save_epoch(model, history, run.hist_paths, run.ckpt_dir, done, with_state, writer,
                        keep_checkpoints)
            t2 = time.perf_counter()
            stats["epochs_trained"] += 1
            stats["epoch_seconds"].append(t2 - t0)
            stats["data_wait_seconds"].append(feed.get("wait_s", 0.0))
            stats["checkpoint_seconds"].append(t2 - t1)
            if verbose:
                log.info(f"epoch {done}/{cfg['epochs']}: loss {loss:.4f}, decoding error "
                         f"{err_cm:.1f} cm; {t2 - t0:.1f} s ({1e3 * (t1 - t0) / steps:.1f} ms/step), "
                         f"waited {feed.get('wait_s', 0.0):.2f} s for data, {t2 - t1:.2f} s to "
                         f"snapshot{' the state' if with_state else ' the weights'}")
    finally:
        writer.close()
