"""Training of a path integrator, resumable after a kill (SPEC 2.1).

``train_model(cfg, out_dir)`` writes, in ``out_dir``:
  config.json      {"model": resolved cfg, "extra": metadata keys (name, scale, ...),
                   "mec_version", "keras_backend"}
  checkpoints/     epoch_EEEE.keras after every epoch (model + optimizer state; epoch_0000 is
                   the initialisation, as the paper saves one at the start), the last
                   ``keep_checkpoints`` kept
  history.csv      epoch, loss, decoding_error_cm (training-batch means of the epoch)
  logs/            TensorBoard, only if tensorboard is importable
  model.keras      written last: its presence means training finished.
Rerun after a kill, it loads the newest checkpoint and continues at the next epoch; the
trajectory of batch i depends only on (seed, i), so the resumed run sees the batches the
uninterrupted one would have.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from mec.io import atomic_path
from mec.models.utils import generator_from_cfg, place_cells_from_cfg, resolve_model_cfg
from mec.task import prefetch

__all__ = ["train_model", "latest_checkpoint", "batch_to_xy", "HISTORY_COLUMNS"]

log = logging.getLogger(__name__)
HISTORY_COLUMNS = ("epoch", "loss", "decoding_error_cm")
# keys of a config.yaml model entry that are not model settings: kept in config.json "extra"
METADATA_KEYS = ("name", "scale", "n_eval_batches", "eval_arenas")
_CKPT = re.compile(r"^epoch_(\d{4,})\.keras$")


def latest_checkpoint(ckpt_dir) -> tuple[int, Path] | None:
    """(epoch, path) of the newest ``epoch_EEEE.keras`` in ckpt_dir, or None."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _CKPT.match(p.name))]
    return max(found) if found else None


def batch_to_xy(batch) -> tuple[dict, np.ndarray]:
    """(inputs dict, positions (batch, T, 2)) for keras fit from a TaskBatch."""
    x = {"velocity": batch.velocity, "init_place": batch.init_place}
    if batch.cues is not None:
        x["cues"] = batch.cues
    return x, batch.positions


def _write_history(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(HISTORY_COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r[k] for k in HISTORY_COLUMNS})
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def _read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{"epoch": int(r["epoch"]), "loss": float(r["loss"]),
                 "decoding_error_cm": float(r["decoding_error_cm"])} for r in csv.DictReader(f)]


def _save_keras(model, path: Path) -> None:
    with atomic_path(path) as tmp:
        model.save(tmp)


def _tensorboard_callback(out_dir: Path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return []
    import keras
    return [keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), write_graph=False)]


def train_model(cfg: dict, out_dir, *, workers: int = 2, keep_checkpoints: int = 2,
                verbose: int | None = None, restart_on_change: bool = False) -> None:
    """Train the model of ``cfg`` (a config.yaml ``models:`` entry) into ``out_dir``.

    cfg: model config (contract keys; missing keys take the paper defaults, see
        mec.models.utils.resolve_model_cfg). ``untrained: true`` saves the initialised model
        with an empty history.
    out_dir: folder of the run (results/models/{model}).
    workers: threads generating trajectories ahead of the optimiser.
    keep_checkpoints: epoch checkpoints kept (older ones are deleted); >= 1.
    verbose: keras progress (1 bar, 2 one line per epoch); default 1 on a terminal, else 2.
    restart_on_change: when out_dir holds checkpoints of a different config, delete them and
        start from scratch (what the workflow wants: Snakemake reruns a training job because
        its config changed). Without it that case raises ValueError.
    """
    import keras

    import mec
    from mec.models.network import build_model, compile_model

    cfg = dict(cfg)
    extra = {k: cfg.pop(k) for k in list(cfg) if k in METADATA_KEYS}
    cfg = resolve_model_cfg(cfg)
    if keep_checkpoints < 1:
        raise ValueError(f"keep_checkpoints must be >= 1, got {keep_checkpoints}")
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose

    meta = {"model": cfg, "extra": extra, "mec_version": getattr(mec, "__version__", "unknown"),
            "keras_backend": keras.backend.backend()}
    # The authoritative config and history live in checkpoints/: Snakemake deletes a rule's
    # declared outputs (config.json, history.csv) before rerunning it, checkpoints/ survive.
    ckpt_cfg = ckpt_dir / "config.json"
    if ckpt_cfg.exists() and latest_checkpoint(ckpt_dir) is not None:
        old = json.loads(ckpt_cfg.read_text()).get("model")
        if old != cfg:
            diff = sorted(k for k in set(old or {}) | set(cfg) if (old or {}).get(k) != cfg.get(k))
            if not restart_on_change:
                raise ValueError(f"{out_dir} holds checkpoints of a different config (keys {diff} "
                                 f"differ); delete {ckpt_dir} to start again")
            print(f"config changed (keys {diff}): discarding the checkpoints in {ckpt_dir}",
                  flush=True)
            shutil.rmtree(ckpt_dir)
            ckpt_dir.mkdir(parents=True)
    for path in (ckpt_cfg, out_dir / "config.json"):
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))

    pc = place_cells_from_cfg(cfg)
    gen = generator_from_cfg(cfg, place_cells=pc)
    centres = None if pc.identity else pc.centres
    hist_paths = (ckpt_dir / "history.csv", out_dir / "history.csv")

    if cfg["untrained"] or cfg["epochs"] == 0:
        model = compile_model(build_model(cfg, n_cues=gen.n_cues), cfg, centres)
        _save_keras(model, ckpt_dir / "epoch_0000.keras")
        for p in hist_paths:
            _write_history([], p)
        _save_keras(model, out_dir / "model.keras")
        return

    found = latest_checkpoint(ckpt_dir)
    if found is None:
        start = 0
        model = compile_model(build_model(cfg, n_cues=gen.n_cues), cfg, centres)
        _save_keras(model, ckpt_dir / "epoch_0000.keras")
        history = []
    else:
        start, path = found
        log.info("resuming %s from epoch %d (%s)", out_dir, start, path)
        print(f"Resuming from {path} (epoch {start})", flush=True)
        model = keras.models.load_model(path, compile=True)
        history = [r for r in _read_history(hist_paths[0]) if r["epoch"] <= start]
        if len(history) != start:
            raise ValueError(f"{hist_paths[0]} has {len(history)} epochs up to {start}; expected {start}. "
                             f"Delete {ckpt_dir} to start again")
    callbacks = _tensorboard_callback(out_dir)
    steps = cfg["steps_per_epoch"]
    for epoch in range(start, cfg["epochs"]):
        data = prefetch(lambda i: batch_to_xy(gen.batch(i, place_targets=False)),
                        epoch * steps, (epoch + 1) * steps, workers=workers, depth=4 * workers)
        h = model.fit(data, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=steps,
                      verbose=verbose, callbacks=callbacks, shuffle=False)
        loss = float(h.history["loss"][-1])
        err_cm = 100.0 * float(h.history["decoding_error"][-1])
        if not math.isfinite(loss):
            raise FloatingPointError(f"training diverged at epoch {epoch + 1}: loss {loss}")
        history.append({"epoch": epoch + 1, "loss": loss, "decoding_error_cm": err_cm})
        _save_keras(model, ckpt_dir / f"epoch_{epoch + 1:04d}.keras")
        for p in hist_paths:
            _write_history(history, p)
        for e, p in sorted((int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _CKPT.match(p.name))):
            if e < epoch + 1 - (keep_checkpoints - 1) and e != 0:
                p.unlink(missing_ok=True)
    _save_keras(model, out_dir / "model.keras")
