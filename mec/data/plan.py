"""Checks of a config's experiment name and dataset, run when the workflow is planned.

``workflow/rules/common.smk`` calls :func:`mec.checks.plan_config` once, right after the
schema validation; it runs :func:`check_dataset_config` and reports its problem with every
other one in a single :class:`mec.errors.ConfigError`, so that a missing recordings folder,
``source: hdf5`` without a file, a bad arena or an unusable calibration stop ``snakemake``
before any job runs (a training job takes minutes to hours). What needs the recordings' contents (duplicate cell ids,
extents, spike times, animals per arena) is checked by rule make_dataset, which every
training job waits for.

Paths (``dataset.recordings.paths``): relative entries are taken from the folder of the
config file that is in use (the repository root for ``config.yaml``; ``configs/`` for
``--configfile configs/x.yaml``), ``~`` is the home folder, and ``$VAR``, ``${VAR}`` or
``${VAR:-default}`` are environment variables (an unset variable without a default is an
error naming it). The shipped configs read real recordings from ``$MEC_DATA``
(:data:`DATA_VARIABLE`), by default the ``shared/data`` folder beside the checkout.

Outputs: ``experiment: NAME`` puts every output under ``results/NAME/``; without it they go
to ``results/`` (:func:`results_dir`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from mec.errors import ConfigError, did_you_mean  # the one error of every planning check
from mec.data.arenas import ArenaNameError, arena_geometry, check_arena_name, is_numeric_name
from mec.data.loaders.registry import LOADERS, RESERVED

__all__ = ["ConfigError", "check_dataset_config", "expand_path", "results_dir",
           "RESULT_FOLDERS", "DATA_VARIABLE", "recording_suffixes", "dataset_sources"]

#: Environment variable naming the folder that holds shared recordings (configs/*.yaml).
DATA_VARIABLE = "MEC_DATA"
#: Folders the workflow writes directly under results/; an experiment may not take a name
#: of one of them (results/{experiment}/ would mix with the default experiment's outputs).
RESULT_FOLDERS = ("data", "models", "ratemaps", "fits", "consistency", "elasticnet", "summary",
                  "logs", "benchmarks", "knockouts", "figures", "report")
#: File suffixes of a ready dataset file (dataset.source hdf5).
_HDF5_SUFFIXES = (".h5", ".hdf5")
_EXPERIMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
#: Arena keys the embedded simulator understands (mec.data.synthetic).
_SYNTHETIC_KEYS = {"shape", "session_min"}


def dataset_sources() -> tuple[str, ...]:
    """Every ``dataset.source``: the simulator, each registered loader
    (mec.data.loaders.registry.LOADERS), and a ready dataset file (the schema's enum)."""
    return (RESERVED[0], *LOADERS, *RESERVED[1:])


def recording_suffixes(source: str) -> tuple[str, ...]:
    """File suffixes of dataset source ``source`` (a folder given in paths must hold one)."""
    return _HDF5_SUFFIXES if source == "hdf5" else LOADERS[source].suffixes


def results_dir(config: Mapping) -> str:
    """``results/{experiment}`` for config ``experiment``, else ``results``."""
    name = config.get("experiment")
    if name in (None, ""):
        return "results"
    name = str(name)
    if not _EXPERIMENT.match(name):
        raise ConfigError(f"config experiment: {name!r} must be letters, digits, '_', '.' or '-' "
                          f"(it names the folder results/{name}/)")
    if name in RESULT_FOLDERS:
        raise ConfigError(f"config experiment: {name!r} is a folder of the default experiment "
                          f"(results/{name}/); choose another name")
    return f"results/{name}"


def expand_path(entry: str, base_dir: str | os.PathLike, key: str) -> Path:
    """``entry`` with environment variables and ``~`` expanded, made absolute against
    ``base_dir`` (module docstring). ConfigError naming ``key`` for an unset variable."""
    def sub(m):
        name = m.group(1) or m.group(3)
        default = m.group(2)
        value = os.environ.get(name)
        if value not in (None, ""):
            return value
        if default is not None:
            return default
        raise ConfigError(f"config {key}: {entry!r} uses environment variable ${name}, which is "
                          f"not set; set it (e.g. export {name}=/path/to/data) or write the path")

    text = _VAR.sub(sub, str(entry))
    p = Path(os.path.expanduser(text))
    return Path(os.path.normpath(p if p.is_absolute() else Path(base_dir) / p))


def _where(entry, path: Path, base_dir) -> str:
    return (f"{entry!r} (resolved to {path}; relative paths are taken from the config file's "
            f"folder {base_dir}, and ${DATA_VARIABLE} names the data folder of configs/*.yaml)")


def _check_arenas(dataset: Mapping, source: str) -> None:
    arenas = dataset.get("arenas") or {}
    for name, spec in arenas.items():
        key = f"dataset.arenas.{name}"
        try:
            check_arena_name(name, "dataset.arenas")
            arena_geometry(name, spec or {})
        except ArenaNameError as err:
            msg = str(err)
            msg = msg if msg.startswith("config ") else f"config {key}: {msg}"
            raise ConfigError(msg) from None
        spec = dict(spec or {})
        if source == "synthetic":
            extra = sorted(set(spec) - _SYNTHETIC_KEYS)
            shape = spec.get("shape", "square")
            why = (f"keys {extra}" if extra else f"shape {shape!r}" if shape == "rectangle"
                   else None if is_numeric_name(name) else "a word name")
            if why:
                raise ConfigError(
                    f"config {key}: the synthetic simulator makes square or circular arenas "
                    f"named by their size in metres (e.g. \"1.0\": {{shape: square}}), not "
                    f"{why}; such arenas need recordings (dataset.source "
                    f"{', '.join(dataset_sources()[1:-1])} or hdf5)")
        elif "session_min" in spec:
            raise ConfigError(f"config {key}.session_min: only the synthetic simulator uses it "
                              f"(dataset.source is {source!r})")


def check_dataset_config(config: Mapping, config_dir: str | os.PathLike) -> dict:
    """Check config ``experiment`` and ``dataset`` (module docstring); return the
    ``dataset.recordings`` options with ``paths`` made absolute (what rule make_dataset
    gets; empty for the synthetic source). Raises ConfigError naming the key and the value."""
    results_dir(config)
    dataset = dict(config.get("dataset") or {})
    source = dataset.get("source", "synthetic")
    if source not in dataset_sources():  # the schema leaves it free: the registry is the list
        raise ConfigError(f"config dataset.source: unknown source {source!r}; the simulator, a "
                          f"loader registered in mec.data.loaders.registry or hdf5: "
                          f"{list(dataset_sources())}{did_you_mean(source, dataset_sources())}")
    _check_arenas(dataset, source)
    rec = dict(dataset.get("recordings") or {})
    if source == "synthetic":
        return {}  # unused: editing recording options never reruns a simulated dataset
    paths = rec.get("paths") or []
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        raise ConfigError(f"config dataset.recordings.paths: dataset.source {source!r} needs the "
                          f"recordings' files or folders (got none)")
    if source == "hdf5" and len(paths) != 1:
        raise ConfigError(f"config dataset.recordings.paths: dataset.source hdf5 needs exactly one "
                          f"dataset file, got {len(paths)}: {paths}")
    resolved = []
    for entry in paths:
        p = expand_path(entry, config_dir, "dataset.recordings.paths")
        if any(ch in str(p) for ch in "*?["):
            import glob

            if not glob.glob(str(p)):
                raise ConfigError(f"config dataset.recordings.paths: "
                                  f"{_where(entry, p, config_dir)} matches no file")
        elif not p.exists():
            raise ConfigError(f"config dataset.recordings.paths: {_where(entry, p, config_dir)} "
                              f"does not exist")
        elif p.is_dir():
            if source == "hdf5":
                raise ConfigError(f"config dataset.recordings.paths: {_where(entry, p, config_dir)}"
                                  f" is a folder; dataset.source hdf5 needs one dataset file")
            suffixes = recording_suffixes(source)
            if not any(f.is_file() and f.name.lower().endswith(suffixes) for f in p.iterdir()):
                raise ConfigError(f"config dataset.recordings.paths: folder "
                                  f"{_where(entry, p, config_dir)} holds no {'/'.join(suffixes)} "
                                  f"file for dataset.source {source!r}")
        resolved.append(str(p))
    if source == "hdf5":
        _check_hdf5(Path(resolved[0]), list(dataset.get("arenas") or {}))
    units = rec.get("position_units")
    ppm = rec.get("pixels_per_metre")
    if units == "px" and ppm is None and source in ("kavli", "nwb"):
        raise ConfigError("config dataset.recordings.position_units: 'px' (camera pixels) needs "
                          "dataset.recordings.pixels_per_metre, the calibration")
    if ppm is not None and units not in (None, "px"):
        raise ConfigError(f"config dataset.recordings.pixels_per_metre: {ppm} is given but "
                          f"position_units is {units!r}; set position_units: px to use it")
    arenas = list(dataset.get("arenas") or {})
    mapping = rec.get("arena_sessions") or {}
    unknown = [a for a in mapping if a not in arenas]
    if unknown:
        raise ConfigError(f"config dataset.recordings.arena_sessions: {unknown} are not arenas of "
                          f"dataset.arenas ({arenas})")
    if len(arenas) > 1 and source != "hdf5":
        missing = [a for a in arenas if a not in mapping]
        if missing:
            raise ConfigError(f"config dataset.recordings.arena_sessions: {len(arenas)} arenas but "
                              f"no session patterns for {missing}; say which sessions go where")
    for pattern, off in dict(rec.get("offsets") or {}).items():
        if not (isinstance(off, (list, tuple)) and len(off) == 2
                and all(isinstance(v, (int, float)) for v in off)):
            raise ConfigError(f"config dataset.recordings.offsets.{pattern}: {off!r} must be "
                              f"[dx, dy] in metres")
    return {**rec, "paths": resolved}


def _check_hdf5(path: Path, arenas: list) -> None:
    """The ready dataset file opens and holds the configured arenas (cheap: names only)."""
    import h5py

    from mec.data.arenas import arena_key

    try:
        with h5py.File(path, "r") as f:
            have = sorted(f["arenas"]) if "arenas" in f else []
    except OSError as err:
        raise ConfigError(f"config dataset.recordings.paths: {path} is not a readable HDF5 "
                          f"dataset file ({err})") from None
    missing = [a for a in arenas if arena_key(a) not in {arena_key(h) for h in have}]
    if missing:
        raise ConfigError(f"config dataset.arenas: {missing} are not in the dataset file {path} "
                          f"(it has {have})")
