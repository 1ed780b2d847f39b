"""Trained path integrators: :class:`TrainedModel` (``.pre_g``, ``.g``, ``.dc``) and
:func:`load_run`, the one loader of this project's training runs (rate maps, knockouts, the
summary and the original's :func:`mec.models.utils.load_trained_model` all come here).
Re-exported by :mod:`mec.models.utils`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mec import constants as C
from mec.models.config import place_cells_from_cfg, resolve_model_cfg
from mec.models.original import load_original_checkpoint, original_place_cell_centres

__all__ = ["TrainedModel", "load_run", "recurrent_weight_stats"]


def recurrent_weight_stats(model) -> dict:
    """{"recurrent_rms", "recurrent_norm"} of a model's recurrent matrix (the cell's
    ``recurrent_kernel``; for the UGRNN the released W[d_in:] block, methods §2.2): root mean
    square and Frobenius norm. Near 0 means the network no longer uses its recurrence (what
    weight decay on the recurrent kernel did at demo scale, methods §2.2).

    model: a TrainedModel or a Keras model built by mec.models.network.build_model.
    """
    km = getattr(model, "keras_model", model)
    w = np.asarray(km.get_layer("pre_g").cell.recurrent_kernel, dtype=np.float64)
    return {"recurrent_rms": float(np.sqrt(np.mean(w ** 2))), "recurrent_norm": float(np.linalg.norm(w))}


class TrainedModel:
    """A trained (or initialised) path integrator with the original's interface.

    ``pre_g(inputs)``, ``g(inputs)``, ``dc(inputs)`` take ``inputs = (velocity (batch, T, 2),
    init_place (batch, Np)[, cues (batch, T, n_cues)])`` (or a :class:`mec.task.TaskBatch`) and
    return numpy arrays (batch, T, units). ``activations(inputs, layers)`` computes several
    layers in one pass. ``keras_model`` is the Keras model; ``cfg`` its resolved config;
    ``place_cells`` its place cells.
    """

    LAYERS = ("pre_g", "g", "dc")

    def __init__(self, keras_model, cfg: dict, centres=None):
        self.keras_model = keras_model
        self.cfg = resolve_model_cfg(cfg)
        self.place_cells = place_cells_from_cfg(self.cfg)
        if centres is not None:  # e.g. the released models' TensorFlow-drawn centres
            centres = np.asarray(centres, dtype=np.float64)
            if centres.shape != self.place_cells.centres.shape:
                raise ValueError(f"centres of shape {centres.shape}, expected {self.place_cells.centres.shape}")
            self.place_cells.centres = centres
        self._sub = {}

    def _submodel(self, layers: tuple):
        import keras
        if layers not in self._sub:
            for name in layers:
                if name not in self.LAYERS:
                    raise ValueError(f"layer must be one of {self.LAYERS}, got {name!r}")
            outs = [self.keras_model.get_layer(n).output for n in layers]
            self._sub[layers] = keras.Model(self.keras_model.inputs, outs)
        return self._sub[layers]

    def activations(self, inputs, layers=LAYERS) -> dict:
        """{layer: (batch, T, units) float32 numpy} for the requested layers."""
        from mec.models.network import model_inputs
        layers = tuple(layers)
        outs = self._submodel(layers)(model_inputs(inputs), training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        return {n: np.asarray(o, dtype=np.float32) for n, o in zip(layers, outs)}

    def pre_g(self, inputs):
        return self.activations(inputs, ("pre_g",))["pre_g"]

    def g(self, inputs):
        return self.activations(inputs, ("g",))["g"]

    def dc(self, inputs):
        return self.activations(inputs, ("dc",))["dc"]

    __call__ = dc

    def __repr__(self):
        c = self.cfg
        return (f"TrainedModel({c['architecture']}-{c['activation']}, Ng={c['n_units']}, "
                f"Np={c['n_place_cells']}, cues={c['cues']}, reward_zone={c['reward_zone']})")


def load_run(run_dir, ckpt_file=None) -> TrainedModel:
    """The training run in folder ``run_dir`` (``results/models/{model}``, rule train_model)
    as a :class:`TrainedModel`: the one loader of this project's runs (rate maps, knockouts,
    the summary and :func:`load_trained_model` all come here).

    Its ``config.json`` defines the model; the weights are ``model.keras`` (else the latest
    checkpoint), or ``ckpt_file`` as in :func:`load_trained_model`. FileNotFoundError names
    the folder when it holds no config.json (the model was not trained yet).
    """
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.exists():
        raise FileNotFoundError(f"no {cfg_path}: train the model first (snakemake "
                                f"{run_dir / 'model.keras'}) or check the folder")
    return _load(_saved_cfg(cfg_path), run_dir, ckpt_file)


def _saved_cfg(cfg_path: Path) -> dict:
    """The resolved model config a training run saved (config.json's ``"model"``)."""
    return resolve_model_cfg(json.loads(Path(cfg_path).read_text())["model"])


def _load(cfg: dict, run_dir: Path, ckpt_file=None, random_init: bool = False) -> TrainedModel:
    """The model of ``cfg`` with the weights of ``run_dir`` (module docstring of
    load_trained_model for ``ckpt_file``), or initialised (``random_init``)."""
    import keras

    import mec.models.network  # noqa: F401  (registers the custom objects)
    from mec.models.network import build_model

    n_cues = len(C.CUE_EXTENTS) if cfg["cues"] else 0
    if random_init:
        model = build_model(cfg, n_cues=n_cues)
        return TrainedModel(model, cfg)
    if ckpt_file is not None and str(ckpt_file).startswith("ckpt-"):
        model = build_model(cfg, n_cues=n_cues)
        load_original_checkpoint(model, run_dir / "ckpts" / str(ckpt_file))
        return TrainedModel(model, cfg, centres=original_place_cell_centres(cfg))
    if ckpt_file is None:
        path = run_dir / "model.keras"
        if not path.exists():
            from mec.models.train import latest_checkpoint
            found = latest_checkpoint(run_dir / "checkpoints")
            if found is None:
                raise FileNotFoundError(f"neither {path} nor a checkpoint in {run_dir / 'checkpoints'}")
            path = found[1]
    else:
        path = Path(ckpt_file)
        if not path.is_absolute() and not path.exists():
            path = run_dir / "checkpoints" / str(ckpt_file)
            if not path.exists() and not path.suffix:  # "epoch_0010" -> epoch_0010.weights.npz
                path = path.with_name(path.name + ".weights.npz")
        if not path.exists():
            raise FileNotFoundError(f"checkpoint {ckpt_file!r} not found (looked in {run_dir / 'checkpoints'})")
    if path.suffix == ".npz":  # weights (or a training state) keyed by variable path
        from mec.models.train import load_weights
        model = build_model(cfg, n_cues=n_cues)
        load_weights(model, path)
    else:
        model = keras.models.load_model(path, compile=False)
    return TrainedModel(model, cfg)
