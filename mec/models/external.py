"""External models: any network's units scored against MEC (methods §3.1 binning, §4 fits).

A model the pipeline did not train is declared in config.yaml ``models:`` with a ``source``
(:data:`SOURCES`; absent = ``"trained"``, a network trained by the workflow). Every external
source ends in the pipeline's own model rate-map file, ``results/ratemaps/{model}_{arena}.h5``
(:func:`mec.ratemaps.save_model_ratemaps`), written by :func:`import_model` (rule
``import_model``), so the fits, the comparisons and the summary read external models through
the one path they read trained networks by.

Sources
-------
``ratemaps`` (``path``): unit rate maps, one HDF5 file per model. The layout is the pipeline's
own rate-map file, either as it is (one arena: root ``x_edges``, ``y_edges``,
``{layer}/resp``; the file ``export_ratemaps`` writes, its arena named by the root attribute
``arena`` or, without it, used for every arena) or one group per arena::

    /arenas/{arena}/x_edges (nx+1,), y_edges (ny+1,)  bin edges, metres: the dataset's, exactly
    /arenas/{arena}/{layer}/resp (nx, ny, n_units)    mean activity per bin, any units
    /arenas/{arena}/{layer}/unit_ids (n_units,)       optional: names of the units
    /arenas/{arena}/sample_counts (nx, ny)            optional: samples per bin (robust recipe)

Edges that differ from the dataset's are refused naming both (never regridded, methods §3.1);
inf anywhere, NaN outside bins with zero samples, shapes that do not match the edges, unit
ids that do not match the units and layers whose units differ between arenas are refused.

``samples`` (``path``, .h5 or .npz): activations along trajectories, binned on every arena's
bin edges by :class:`mec.ratemaps.BinMeans`, the binning of the pipeline's own networks::

    positions (n, 2)                 metres, in the arena's frame (the dataset's edges)
    activations (n, n_units)         one layer (named by config ``layer``, default "units")
    activations/{layer} (n, n_units) or one array per layer
    arenas/{arena}/positions ...     the same per arena (else one set serves every arena)

Positions beyond the edges by more than a bin (a frame or unit mistake) and arenas whose bins
are visited less than :data:`MIN_COVERAGE` are refused.

``python`` (``callable: "package.module:function"``, ``kwargs``): mec walks its own
evaluation trajectories (mec.task.TrajectoryGenerator, evaluation stream, the scale's
batch_size x sequence_length x n_eval_batches per trajectory seed, in the box the arena's
edges span) and calls, batch by batch, ::

    function(positions=(B, T, 2) m, velocity=(B, T, 2) m per 20 ms step,
             head_direction=(B, T) rad, init_position=(B, 2) m,
             box=(min_x, max_x, min_y, max_y) m, **kwargs) -> {layer: (B, T, n_units)}

(an array instead of a dict is layer "units"). Step t's activity is binned at positions[:, t],
the position the step reaches, as the networks' is. Errors the function raises reach the
user with the model's name; outputs of the wrong shape or not finite are refused.

``ratinabox`` (``population: grid | bvc | place | mixed``): hand-made MEC populations
(mec.models.references), evaluated at each arena's bin centres.

Measures that need a trained network (decoding error, knockouts, training curves) do not
exist for external models (:data:`UNTRAINED_MEASURES`); grid fractions and fits do.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

# the file layouts and their checks (re-exported: one place to import external models from)
from mec.models.external_files import (DEFAULT_LAYER, MIN_COVERAGE, ExternalModelError,
                                       _check_positions, _where, read_ratemaps, read_samples,
                                       samples_maps)

__all__ = ["SOURCES", "EXTERNAL_SOURCES", "FILE_SOURCES", "MIN_COVERAGE", "UNTRAINED_MEASURES",
           "DEFAULT_LAYER", "ExternalModelError", "model_source", "is_external",
           "read_ratemaps", "read_samples", "samples_maps", "resolve_callable",
           "callable_maps", "external_maps", "import_model", "external_problems"]

#: Where a model comes from (config ``models.X.source``); "trained": the workflow trains it.
SOURCES = ("trained", "ratemaps", "samples", "python", "ratinabox")
EXTERNAL_SOURCES = SOURCES[1:]
#: Sources read from a file (config ``path``).
FILE_SOURCES = ("ratemaps", "samples")
#: Measures of the summary that need a trained network, left empty for external models.
UNTRAINED_MEASURES = ("decoding_error_cm", "knockouts", "training_curves")

def model_source(entry: Mapping | None) -> str:
    """The source of a config ``models:`` entry ("baseline" for mec.baselines' models)."""
    entry = entry or {}
    if entry.get("baseline"):
        return "baseline"
    return str(entry.get("source") or "trained")


def is_external(entry: Mapping | None) -> bool:
    return model_source(entry) in EXTERNAL_SOURCES


# ---------------------------------------------------------------------------------------------
# Python callables
# ---------------------------------------------------------------------------------------------
def resolve_callable(spec, model: str = "?") -> Callable:
    """The function of ``"package.module:function"`` (or a callable itself)."""
    if callable(spec):
        return spec
    text = str(spec)
    mod, sep, attr = text.partition(":")
    if not sep or not mod or not attr:
        raise ExternalModelError(f"model {model!r}: callable {text!r} must read "
                                 f"'package.module:function'")
    try:
        obj = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ExternalModelError(f"model {model!r}: callable {text!r} cannot be imported "
                                 f"({type(err).__name__}: {err})") from None
    if not callable(obj):
        raise ExternalModelError(f"model {model!r}: {text!r} is not callable")
    return obj


def _call(fn, spec_text: str, model: str, batch, box, kwargs, layers_seen: dict) -> dict:
    """One batch through the user's function, its output checked (module docstring)."""
    vel = batch.velocity
    B, T = vel.shape[:2]
    try:
        out = fn(positions=batch.positions, velocity=vel,
                 head_direction=np.arctan2(vel[..., 1], vel[..., 0]),
                 init_position=batch.init_pos, box=tuple(box), **dict(kwargs or {}))
    except Exception as err:  # the user's code: any error, named with the model
        raise ExternalModelError(f"model {model!r}: callable {spec_text} raised "
                                 f"{type(err).__name__}: {err}") from err
    if not isinstance(out, Mapping):
        out = {DEFAULT_LAYER: out}
    if not out:
        raise ExternalModelError(f"model {model!r}: callable {spec_text} returned no layer")
    checked = {}
    for layer, a in out.items():
        a = np.asarray(a)
        if a.ndim != 3 or a.shape[:2] != (B, T):
            raise ExternalModelError(f"model {model!r}: callable {spec_text}, layer {layer!r}: "
                                     f"returned shape {a.shape}, expected (batch, time, units) = "
                                     f"({B}, {T}, n_units)")
        n = layers_seen.setdefault(str(layer), a.shape[2])
        if a.shape[2] != n:
            raise ExternalModelError(f"model {model!r}: callable {spec_text}, layer {layer!r}: "
                                     f"{a.shape[2]} units in one batch, {n} in another")
        if a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
            raise ExternalModelError(f"model {model!r}: callable {spec_text}, layer {layer!r}: "
                                     f"returned NaN or infinite values")
        checked[str(layer)] = a
    if set(checked) != set(layers_seen):
        raise ExternalModelError(f"model {model!r}: callable {spec_text}: layers "
                                 f"{sorted(checked)} in one batch, {sorted(layers_seen)} before")
    return checked


def callable_maps(fn, model: str, x_edges, y_edges, seeds: Sequence[int], n_batches: int,
                  batch_size: int, sequence_length: int, kwargs: Mapping | None = None,
                  spec_text: str | None = None):
    """Rate maps of a Python callable along mec's evaluation trajectories (module docstring).

    The trajectories are those mec.models.export.model_ratemaps walks for its own networks
    in the box the edges span (evaluation stream, float32, batch i of seed s), and the
    activity is binned batch by batch by the same :class:`mec.ratemaps.BinMeans`, so a
    callable that computes a pipeline network's activity gives that network's maps.
    Returns ({layer: (nx, ny, n_units)}, counts (nx, ny)).
    """
    from mec.ratemaps import BinMeans
    from mec.task import PlaceCells, TrajectoryGenerator

    x_edges, y_edges = np.asarray(x_edges, float), np.asarray(y_edges, float)
    box = (float(x_edges[0]), float(x_edges[-1]), float(y_edges[0]), float(y_edges[-1]))
    spec_text = spec_text or getattr(fn, "__qualname__", repr(fn))
    # the walk needs place cells only for targets it does not compute here; identity cells
    # (the position itself) cost nothing and draw no random number
    pc = PlaceCells(n_cells=2, identity=True, min_x=box[0], max_x=box[1], min_y=box[2], max_y=box[3])
    binned = BinMeans(x_edges, y_edges)
    seen: dict = {}
    for seed in seeds:
        gen = TrajectoryGenerator(pc, batch_size=int(batch_size), sequence_length=int(sequence_length),
                                  min_x=box[0], max_x=box[1], min_y=box[2], max_y=box[3],
                                  seed=int(seed), stream="evaluation")
        for i in range(int(n_batches)):
            b = gen.batch(i, place_targets=False)
            acts = _call(fn, spec_text, model, b, box, kwargs, seen)
            binned.add(b.positions.reshape(-1, 2).astype(np.float64),
                       {k: a.reshape(-1, a.shape[-1]) for k, a in acts.items()})
    return binned.means(), binned.sample_counts()


# ---------------------------------------------------------------------------------------------
# one model, one arena
# ---------------------------------------------------------------------------------------------
def _entry_path(entry: Mapping, model: str, config_dir=None) -> Path:
    if not entry.get("path"):
        raise ExternalModelError(f"model {model!r}: source {model_source(entry)!r} needs a path")
    p = Path(os.path.expanduser(str(entry["path"])))
    return p if p.is_absolute() or config_dir is None else Path(config_dir) / p


def _pick_layers(found: dict, layers: Sequence[str] | None, missing_message) -> dict:
    """``found`` restricted to ``layers`` in their order (None: all of it), or
    ExternalModelError with ``missing_message(missing layers)``."""
    if layers is None:
        return found
    missing = [la for la in layers if la not in found]
    if missing:
        raise ExternalModelError(missing_message(missing))
    return {la: found[la] for la in layers}


def external_maps(model: str, entry: Mapping, x_edges, y_edges, arena, seeds=(0,), mask=None,
                  config_dir=None):
    """Maps of an external model in one arena: ``({layer: (nx, ny, n)}, counts or None,
    attrs)``, every check of its source made (module docstring).

    entry: the model's config entry with its scale's keys (batch_size, sequence_length,
    n_eval_batches: the callable's trajectories); seeds: trajectory seeds (config
    ratemaps.seeds); mask: (nx, ny) bins inside the arena (the coverage check's).
    """
    src = model_source(entry)
    edges = (np.asarray(x_edges, float), np.asarray(y_edges, float))
    layers = entry.get("layers")
    if src == "ratemaps":
        path = _entry_path(entry, model, config_dir)
        maps, _, counts, _ = read_ratemaps(path, model, arena, edges, layers)
        return maps, counts, {"path": str(path)}
    if src == "samples":
        path = _entry_path(entry, model, config_dir)
        pos, acts = read_samples(path, model, arena, entry.get("layer"))
        acts = _pick_layers(acts, layers, lambda missing: (
            f"{_where(model, path)}: layer(s) {missing} missing (the file has {sorted(acts)})"))
        maps, counts = samples_maps(pos, acts, *edges, f"{_where(model, path)}, arena {arena}",
                                    mask=mask)
        return maps, counts, {"path": str(path), "n_samples": int(counts.sum())}
    if src == "python":
        spec = entry.get("callable")
        if not spec:
            raise ExternalModelError(f"model {model!r}: source 'python' needs a callable")
        fn = resolve_callable(spec, model)
        text = spec if isinstance(spec, str) else getattr(spec, "__qualname__", repr(spec))
        from mec.models.scales import DEFAULT_SCALE, PRESETS

        scale = PRESETS[DEFAULT_SCALE]
        maps, counts = callable_maps(fn, model, *edges, seeds=list(seeds),
                                     n_batches=entry.get("n_eval_batches", scale["n_eval_batches"]),
                                     batch_size=entry.get("batch_size", scale["batch_size"]),
                                     sequence_length=entry.get("sequence_length", scale["sequence_length"]),
                                     kwargs=entry.get("kwargs"), spec_text=text)
        maps = _pick_layers(maps, layers, lambda missing: (
            f"model {model!r}: callable {text} returned no layer(s) {missing} (it returned "
            f"{sorted(maps)})"))
        return maps, counts, {"callable": text, "n_samples": int(counts.sum())}
    if src == "ratinabox":
        from mec.models.references import reference_maps

        maps = reference_maps(entry.get("population", "grid"), *edges, seed=int(entry.get("seed", 0)),
                              **dict(entry.get("kwargs") or {}))
        return maps, None, {"population": str(entry.get("population", "grid"))}
    raise ExternalModelError(f"model {model!r}: source {src!r} is not external (one of "
                             f"{EXTERNAL_SOURCES})")


def import_model(model: str, entry: Mapping, dataset_path, arena, out_path, seeds=(0,),
                 config_dir=None) -> Path:
    """An external model's rate maps on a dataset arena's bins -> the pipeline's rate-map
    file (results/ratemaps/{model}_{arena}.h5, :func:`mec.ratemaps.save_model_ratemaps`),
    after every check of its source (:func:`external_maps`) and the units check the fits make
    (mec.fits.core.check_model_maps). Attributes: model, source, arena, layers, where it came
    from (path, callable or population), seeds, untrained_measures."""
    import json

    from mec.data import load_dataset
    from mec.data.arenas import arena_id
    from mec.fits.core import FitInputError, check_model_maps
    from mec.ratemaps import save_model_ratemaps

    arena = arena_id(arena)
    ds = load_dataset(dataset_path, arenas=[arena])
    x_edges, y_edges = (np.asarray(e, float) for e in ds.edges[arena])
    mask = np.zeros((len(x_edges) - 1, len(y_edges) - 1), bool)
    for rec in ds[arena].values():  # bins where some animal has a rate: inside the arena
        mask |= np.isfinite(np.asarray(rec["resp"], float)).any(axis=-1)
    maps, counts, info = external_maps(model, entry, x_edges, y_edges, arena, seeds, mask, config_dir)
    try:
        check_model_maps(maps, f"model {model!r} ({model_source(entry)})")
    except FitInputError as err:
        raise ExternalModelError(str(err)) from None
    attrs = {"model": model, "source": model_source(entry), "arena": arena,
             "seeds": np.asarray(list(seeds), dtype=np.int64), "layers": list(maps),
             "origin": json.dumps(info, sort_keys=True, default=str),
             "untrained_measures": list(UNTRAINED_MEASURES)}
    return save_model_ratemaps(out_path, maps, x_edges, y_edges, attrs, counts=counts)


# ---------------------------------------------------------------------------------------------
# planning checks
# ---------------------------------------------------------------------------------------------
_SOURCE_KEYS = {"path": FILE_SOURCES, "callable": ("python",), "population": ("ratinabox",),
                "layer": ("samples",), "layers": EXTERNAL_SOURCES, "kwargs": ("python", "ratinabox")}
#: Keys of a trained network that mean nothing for an external model.
_NETWORK_ONLY = ("untrained", "baseline", "n_components", "baseline_arena", "cues", "reward_zone")


def external_problems(models: Mapping, config_dir=None, arenas: Sequence[str] = (),
                      dataset_path=None) -> list[str]:
    """Problems of the config's external ``models:`` entries, as ``"models.X.key: ..."``:
    keys of the wrong source, a missing path or callable, files that cannot be read or break
    the layout (with the dataset's edges when ``dataset_path`` exists already), arenas missing
    from a rate-map file, callables that do not resolve to a module (not imported here)."""
    from mec.data.arenas import arena_id

    problems = []
    ds = None
    for name, entry in models.items():
        if not isinstance(entry, Mapping) or not is_external(entry):
            for key in _SOURCE_KEYS:
                if isinstance(entry, Mapping) and entry.get(key) is not None:
                    problems.append(f"models.{name}.{key}: used by external models only (source "
                                    f"{list(_SOURCE_KEYS[key])}); this model is {model_source(entry)!r}")
            continue
        src = model_source(entry)
        p = f"models.{name}"
        for key, sources in _SOURCE_KEYS.items():
            if entry.get(key) is not None and src not in sources:
                problems.append(f"{p}.{key}: used by source {list(sources)} only (this model's "
                                f"source is {src!r})")
        for key in _NETWORK_ONLY:
            if entry.get(key):
                problems.append(f"{p}.{key}: a trained network's key; model {name!r} is "
                                f"external (source {src!r})")
        if src in FILE_SOURCES:
            if not entry.get("path"):
                problems.append(f"{p}.path: source {src!r} needs the path of its file")
                continue
            path = _entry_path(entry, name, config_dir)
            if not path.is_file():
                problems.append(f"{p}.path: {entry['path']!r} (resolved to {path}) does not exist")
                continue
            if ds is None and dataset_path is not None and Path(dataset_path).is_file():
                from mec.data import load_dataset

                ds = load_dataset(dataset_path)
            for a in entry.get("eval_arenas") or arenas:
                edges = ds.edges[arena_id(a)] if ds is not None and arena_id(a) in ds.edges else None
                try:
                    if src == "ratemaps":
                        read_ratemaps(path, name, a, edges, entry.get("layers"))
                    else:
                        pos, acts = read_samples(path, name, a, entry.get("layer"))
                        if edges is not None:
                            _check_positions(pos, *(np.asarray(e, float) for e in edges),
                                             f"{_where(name, path)}, arena {a}")
                        missing = [la for la in entry.get("layers") or [] if la not in acts]
                        if missing:
                            raise ExternalModelError(f"{_where(name, path)}: layer(s) {missing} "
                                                     f"missing (the file has {sorted(acts)})")
                except ExternalModelError as err:
                    problems.append(f"{p}.path: {err}")
        elif src == "python":
            spec = entry.get("callable")
            mod, sep, attr = str(spec or "").partition(":")
            if not spec or not sep or not mod or not attr:
                problems.append(f"{p}.callable: {spec!r}; source 'python' needs "
                                f"'package.module:function'")
            else:
                try:
                    found = importlib.util.find_spec(mod) is not None
                except (ImportError, ValueError):
                    found = False
                if not found:
                    problems.append(f"{p}.callable: module {mod!r} of {spec!r} is not importable")
        elif src == "ratinabox":
            if importlib.util.find_spec("ratinabox") is None:
                problems.append(f"{p}.source: 'ratinabox' needs the ratinabox package "
                                f"(pip install 'mec[refs]')")
            import inspect

            from mec.models.references import population_rates

            known = [k for k in inspect.signature(population_rates).parameters
                     if k not in ("population", "positions", "width", "height", "seed")]
            bad = sorted(set(entry.get("kwargs") or {}) - set(known))
            if bad:
                problems.append(f"{p}.kwargs: {bad} are not sizes of a RatInABox population "
                                f"(known: {known})")
    return problems
