# Long because: plan_config gathers every cross-field check into one error, so each check sits
# beside the others; next seam: the per-section checks (models, fits) into their own module.
"""Checks of a whole workflow config, made when the workflow is planned, before any job runs.

The JSON schema (workflow/schemas/config.schema.yaml) checks every key on its own and fills
the defaults (a config file holds only what differs from them). What it cannot see is
checked here, on the validated config:

- every map of ``fits.maps``: its ``map_kwargs`` by constructing the estimator
  (:mod:`mec.mappers`) and running its argument checks, so ``regression_type: Ridgee``,
  ``percentil: 90`` or PLS ``n_components: 0`` fail now rather than after training;
- the rules that tie keys together (``cells_min <= cells_max``, ``fits.layers`` within
  ``ratemaps.layers``, NMF baselines with ``n_components``, two animals per arena for the
  inter-animal ceiling, arenas and models that exist, cues and reward zones that fit the
  training box);
- the scales (mec.models.scales: the presets plus the config's own, none redefined) and the
  fit settings (mec.fits.settings: a blocked split's guard band);
- with :func:`plan_config`, the experiment name and the dataset's recordings
  (mec.data.plan).

:func:`plan_config` raises one :class:`ConfigError` listing every problem, each as
``key.path: what is wrong (the value)``, and returns what the workflow plans with (a
:class:`Plan`); ``workflow/rules/common.smk`` calls it once, right after the schema
validation. :func:`check_config` is the same without the files. :func:`check_yaml` names the
file, line and column of a YAML syntax error (the Snakefile runs it on ``config.yaml`` before
Snakemake reads it).

``python -m mec.checks CONFIG.yaml ...`` runs all of it (YAML syntax, the schema with its
defaults, :func:`plan_config`) on config files without Snakemake; ``--resolved`` prints each
config with its defaults filled in. Snakemake reads a ``--configfile`` itself before the
Snakefile runs, and its message for a YAML error names no line; this command (or
``snakemake --verbose``) does.

No Snakemake and no TensorFlow here: only numpy, scikit-learn (through mec.mappers), PyYAML and,
for the command line, jsonschema.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from pathlib import Path
from typing import Mapping

from mec.errors import ConfigError, source_text as _source_text
from mec.errors import did_you_mean as _did_you_mean  # one wording for maps, keys and names
from mec.mappers import MAP_TYPES, MapParamError
from mec.models.architectures import ARCHITECTURES
from mec.schema import SCHEMA_PATH

__all__ = ["ConfigError", "check_config", "config_problems", "check_map", "map_problems",
           "plan_config", "Plan", "check_yaml", "resolve_config", "load_config", "SCHEMA_PATH"]


# ---------------------------------------------------------------------------------------------
# maps
# ---------------------------------------------------------------------------------------------
def map_problems(map_type, map_kwargs, type_path: str = "map_type",
                 kwargs_path: str = "map_kwargs") -> list[str]:
    """Problems of one map (empty list: it can be built and fitted), by constructing it.

    Unknown arguments are named with a close match; then the estimator's ``check_params`` runs
    every check its ``fit`` would make before looking at data (for ``sklinear`` and ``corr``
    that includes scikit-learn's own checks of the linear model's arguments).
    """
    key = str(map_type).lower()
    if key not in MAP_TYPES:
        return [f"{type_path}: {map_type!r} is not a map type; use one of {sorted(MAP_TYPES)}"
                f"{_did_you_mean(map_type, MAP_TYPES)}"]
    if map_kwargs is None:
        map_kwargs = {}
    if not isinstance(map_kwargs, Mapping):
        return [f"{kwargs_path}: must be a mapping of {MAP_TYPES[key].__name__} arguments, got {map_kwargs!r}"]
    cls = MAP_TYPES[key]
    accepted = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    unknown = [k for k in map_kwargs if k not in accepted]
    if unknown:
        return [f"{kwargs_path}.{k}: {cls.__name__} (map_type {map_type!r}) has no argument {k!r} "
                f"(got {k}={map_kwargs[k]!r}){_did_you_mean(k, accepted)}; accepted: {accepted}"
                for k in unknown]
    try:
        cls(**dict(map_kwargs)).check_params()
    except MapParamError as err:
        return [f"{kwargs_path}.{err.param}: {err}"]
    return []


def check_map(map_type, map_kwargs, where: str = "map_kwargs") -> None:
    """Raise ValueError naming the argument if a map cannot be built (see map_problems)."""
    problems = map_problems(map_type, map_kwargs, type_path="map_type", kwargs_path=where)
    if problems:
        raise ValueError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# the whole config
# ---------------------------------------------------------------------------------------------
def _section(config: Mapping, name: str) -> Mapping:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


def config_problems(config: Mapping) -> list[str]:
    """Every cross-field problem of a schema-validated config (with defaults), as
    ``"key.path: message"`` strings; empty when the config can run.

    Long because: a flat list of independent cross-field checks, one block per config
    section, read top to bottom.
    """
    problems: list[str] = []
    dataset, fits, models = _section(config, "dataset"), _section(config, "fits"), _section(config, "models")
    arenas = list(_section(dataset, "arenas"))
    # scales: the presets of mec.models.scales plus the config's own, never a preset redefined
    from mec.models.scales import DEFAULT_SCALE, PRESETS, scale_problems

    problems += scale_problems(_section(config, "scales"))
    scales = {**PRESETS, **_section(config, "scales")}
    from mec.models.external import is_external

    # trained networks: neither baselines nor external models (mec.models.external)
    networks = [m for m, e in models.items() if isinstance(e, Mapping) and not e.get("baseline")
                and not is_external(e)]

    # maps, each checked by constructing its estimator
    for name, spec in _section(fits, "maps").items():
        if not isinstance(spec, Mapping):
            problems.append(f"fits.maps.{name}: must be {{map_type, map_kwargs}}, got {spec!r}")
            continue
        problems += map_problems(spec.get("map_type"), spec.get("map_kwargs", {}),
                                 f"fits.maps.{name}.map_type", f"fits.maps.{name}.map_kwargs")
    from mec.fits.pipeline import ELASTICNET

    if ELASTICNET in _section(fits, "maps") and _section(config, "elasticnet").get("enabled", True):
        problems.append(f"fits.maps.{ELASTICNET}: this name is taken by the per-cell ElasticNet grid "
                        f"(elasticnet.enabled: true adds map {ELASTICNET!r}); rename the map")

    # the dataset
    source = dataset.get("source", "synthetic")  # a known name: mec.data.plan.check_dataset_config
    synthetic = _section(dataset, "synthetic")
    if source == "synthetic":
        lo, hi = synthetic.get("cells_min"), synthetic.get("cells_max")
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"dataset.synthetic.cells_min: {lo} is more than cells_max {hi}")
        n = synthetic.get("n_animals")
        if n is not None and n < 2:
            problems.append(f"dataset.synthetic.n_animals: {n}; the inter-animal ceiling (and the "
                            "holdout ElasticNet grid) needs at least 2 animals per arena")

    # layers: a fitted layer must have been recorded
    rec = list(_section(config, "ratemaps").get("layers", ["pre_g", "g", "dc"]))
    missing = [la for la in fits.get("layers", []) if la not in rec]
    if missing and networks:
        problems.append(f"fits.layers: {missing} are not recorded (ratemaps.layers is {rec}); "
                        "add them to ratemaps.layers or remove them from fits.layers")

    # models
    for name, entry in models.items():
        if not isinstance(entry, Mapping):
            continue
        path = f"models.{name}"
        scale = entry.get("scale", DEFAULT_SCALE)
        if scale not in scales:
            problems.append(f"{path}.scale: unknown scale {scale!r}; defined scales: {sorted(scales)}"
                            f"{_did_you_mean(scale, scales)}")
        arch = entry.get("architecture")
        if arch is not None and arch not in ARCHITECTURES:
            # the schema leaves the name free so that the registry is the one list (docs/extending.md)
            problems.append(f"{path}.architecture: unknown architecture {arch!r}; registered in "
                            f"mec.models.architectures: {list(ARCHITECTURES)}"
                            f"{_did_you_mean(str(arch), ARCHITECTURES)}")
        bad = [a for a in entry.get("eval_arenas", []) if a not in arenas]
        if bad:
            problems.append(f"{path}.eval_arenas: {bad} are not arenas of the dataset (dataset.arenas: {arenas})")
        kind = entry.get("baseline")
        if kind == "nmf" and entry.get("n_components") is None:
            problems.append(f"{path}.n_components: baseline nmf needs n_components (the number of "
                            "NMF components, e.g. 9, 100, 256 or 512 as in the paper)")
        if kind != "nmf" and entry.get("n_components") is not None:
            problems.append(f"{path}.n_components: {entry['n_components']!r} is used by baseline nmf "
                            f"only (this model is {'baseline ' + repr(kind) if kind else 'a trained network'})")
        if kind is None and entry.get("baseline_arena") is not None:
            problems.append(f"{path}.baseline_arena: {entry['baseline_arena']!r} is used by baselines "
                            "only (this model is a trained network)")
        if kind is None and not is_external(entry):
            problems += _task_problems(path, entry, scales.get(scale, {}))

    # seeds (one network per seed) and sweeps not yet expanded (mec.sweeps)
    from mec.sweeps import member_name, model_seeds, seed_problems, sweep_problems

    problems += seed_problems({m: e for m, e in models.items() if isinstance(e, Mapping)})
    problems += sweep_problems(_section(config, "sweeps"), models)

    # other names that must exist
    en = _section(config, "elasticnet")
    if en.get("enabled", True) and en.get("arenas") is not None:
        bad = [a for a in en["arenas"] if a not in arenas]
        if bad:
            problems.append(f"elasticnet.arenas: {bad} are not arenas of the dataset (dataset.arenas: {arenas})")
    # a model with seeds stands for its members; a member may be named (mec.sweeps)
    members = {member_name(m, k) for m in networks for k in (model_seeds(models[m]) or [])}
    bad = [m for m in _section(config, "knockouts").get("models", []) if m not in networks and m not in members]
    if bad:
        problems.append(f"knockouts.models: {bad} are not trained models of this config (trained "
                        f"models: {networks})")

    # fit settings (methods §7.2): a blocked split whose guard band is narrower than the smoothing
    # radius, or malformed blocks (mec.fits.settings; its messages start with the key path)
    from mec.fits.settings import check_fit_settings

    try:
        check_fit_settings(fits)
    except ValueError as err:
        problems.append(str(err))
    return problems


def _task_problems(path: str, entry: Mapping, scale: Mapping) -> list[str]:
    """Cues and reward zone of a network against its training box (methods §1.3, 1.4), with the
    checks the trajectory generator makes when training starts."""
    from mec import constants as C
    from mec.task import check_cues, check_reward_zone

    out = []
    a = entry.get("train_arena", C.BOX_WIDTH)
    if a is None or a <= 0:  # the schema refuses it; nothing more to check
        return out
    box = (-a / 2, a / 2, -a / 2, a / 2)
    if entry.get("cues"):
        try:
            check_cues(C.CUE_EXTENTS, *box)
        except ValueError as err:
            out.append(f"{path}.train_arena: {a} m is too small for the cues (cues: true): {err}")
    if entry.get("reward_zone"):
        try:
            check_reward_zone(C.REWARD_KWARGS, *box)
        except ValueError as err:
            out.append(f"{path}.train_arena: {a} m does not hold the reward zone (reward_zone: true): {err}")
        T = entry.get("sequence_length", scale.get("sequence_length"))
        nav = C.REWARD_KWARGS["reward_zone_navigate_timesteps"]
        if T is not None and T <= nav:  # mec.task.reward.reward_zone_walk: nav in [1, T - 1]
            out.append(f"{path}.sequence_length: {T} steps; reward-zone episodes walk "
                       f"{nav} steps to the zone and need sequence_length > {nav}")
    return out


def check_config(config: Mapping, source=None) -> None:
    """Raise one ConfigError listing every problem of a schema-validated config
    (:func:`config_problems`; the dataset's files are checked by :func:`plan_config`).

    source: the config file(s) it came from (str, path or list of them), named in the message.
    """
    problems = config_problems(config)
    if problems:
        raise ConfigError(problems, source=_source_text(source))


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the workflow plans with, from a config that passed every check.

    results: the output folder (``results`` or ``results/{experiment}``, mec.data.plan);
    recordings: ``dataset.recordings`` with paths made absolute (rule make_dataset's; empty
    for the synthetic source); settings: the fit settings by name (mec.fits.settings,
    ``"paper"`` and, with ``fits.robust``, ``"robust"``); scales: every scale the models
    may name (mec.models.scales.scale_table: the presets plus the config's own); models: the
    networks and baselines the workflow plans, a model with seeds as one member per seed
    named ``{name}/seed{k}`` (mec.sweeps.expand_seeds); knockout_models: ``knockouts.models``
    in those names; ensembles: the trained networks grouped by ``ensemble_size``, each group
    networks that differ only in seed (mec.sweeps.ensemble_groups).
    """

    results: str
    recordings: dict
    settings: dict
    scales: dict
    models: dict = dataclasses.field(default_factory=dict)
    knockout_models: list = dataclasses.field(default_factory=list)
    ensembles: list = dataclasses.field(default_factory=list)


def plan_config(config: Mapping, config_dir, source=None) -> Plan:
    """Every planning check of a schema-validated config, in one ConfigError: the experiment
    name and the dataset with its files (mec.data.plan.check_dataset_config; relative paths
    from ``config_dir``, the folder of the config file in use), then :func:`config_problems`
    (maps, cross-field rules, scales, fit settings). Returns the :class:`Plan`.

    The workflow calls it once, in workflow/rules/common.smk, right after the schema.
    """
    from mec.data.plan import check_dataset_config, results_dir
    from mec.fits.settings import check_fit_settings
    from mec.models.scales import scale_table

    problems: list[str] = []
    recordings: dict = {}
    try:
        recordings = check_dataset_config(config, config_dir)
    except ConfigError as err:  # the dataset's checks stop at its first problem
        problems += err.problems
    problems += config_problems(config)
    # external models (mec.models.external): their files and callables, before any job
    from mec.models.external import external_problems

    problems += external_problems(_section(config, "models"), config_dir,
                                  list(_section(_section(config, "dataset"), "arenas")),
                                  _dataset_file(config))
    if problems:
        raise ConfigError(problems, source=_source_text(source))
    from mec.sweeps import ensemble_groups, expand_knockout_models, expand_seeds

    models = _section(config, "models")
    members = expand_seeds(models)
    scales = scale_table(_section(config, "scales"))
    return Plan(results=results_dir(config), recordings=recordings,
                settings=check_fit_settings(_section(config, "fits")), scales=scales,
                models=members,
                knockout_models=expand_knockout_models(
                    _section(config, "knockouts").get("models", []), models),
                ensembles=ensemble_groups(members, scales, config.get("ensemble_size", 1)))


def _dataset_file(config: Mapping) -> Path | None:
    """results[/{experiment}]/data/{dataset.name}.h5 (it may not exist yet)."""
    from mec.data.plan import results_dir

    try:
        name = _section(config, "dataset").get("name", "synthetic")
        return Path(results_dir(config)) / "data" / f"{name}.h5"
    except ValueError:  # a bad experiment name: reported by check_dataset_config
        return None


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------
def check_yaml(path) -> dict:
    """Parse a YAML config file; a syntax error raises ConfigError naming file, line and column
    (1-based) and the parser's complaint. Returns the parsed mapping."""
    import yaml

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([_yaml_error_text(path, text, err)], source=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys, got {type(data).__name__}"],
                          source=str(path))
    return data


def _yaml_error_text(path, text: str, err) -> str:
    """'file, line L, column C: YAML syntax error: problem (context at line ...)' plus the lines."""
    lines = text.splitlines()
    problem, p_mark = getattr(err, "problem", None), getattr(err, "problem_mark", None)
    context, c_mark = getattr(err, "context", None), getattr(err, "context_mark", None)
    mark = p_mark or c_mark
    if mark is None:
        return f"{path}: YAML syntax error: {err}"
    out = f"{path}, line {mark.line + 1}, column {mark.column + 1}: YAML syntax error: {problem or err}"
    if context and c_mark is not None and (p_mark is None or c_mark.line != p_mark.line):
        out += f" ({context} at line {c_mark.line + 1}, column {c_mark.column + 1})"
    elif context:
        out += f" ({context})"
    shown = sorted({m.line for m in (c_mark, p_mark) if m is not None})
    for n in shown:
        if n < len(lines):
            out += f"\n      {n + 1:>4} | {lines[n]}"
    return out


def _validator_with_defaults(schema):
    """A jsonschema validator that fills each object's defaults as it validates (what
    snakemake.utils.validate(set_default=True) does)."""
    import copy

    import jsonschema

    base = jsonschema.validators.validator_for(schema)

    def fill(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema_)

    return jsonschema.validators.extend(base, {"properties": fill})(schema)


def resolve_config(config: Mapping, schema_path=SCHEMA_PATH, source=None) -> dict:
    """A copy of ``config`` validated against the schema with its defaults filled in (what
    Snakemake's ``validate`` makes of a config file: a file holds only what differs from the
    defaults), its sweeps expanded into models (mec.sweeps.resolve_axes). Raises ConfigError
    naming every key the schema refuses."""
    import copy

    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = _validator_with_defaults(schema)
    config = copy.deepcopy(dict(config))

    def validate(config):
        errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            raise ConfigError([f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: "
                               f"{e.message}" for e in errors], source=_source_text(source))

    validate(config)
    # sweeps expanded into models (then validated again), seed 0 where none is named
    from mec.sweeps import resolve_axes

    return resolve_axes(config, validate, source=source)


def load_config(path, schema_path=SCHEMA_PATH, check_files: bool = True) -> dict:
    """A config file parsed (check_yaml), validated against the schema with its defaults filled
    in (:func:`resolve_config`), then checked whole: :func:`plan_config` with the file's
    folder as the base of relative paths (the recordings must exist), or only
    :func:`check_config` with ``check_files=False``. Raises ConfigError naming every problem."""
    config = resolve_config(check_yaml(path), schema_path, source=str(path))
    if check_files:
        plan_config(config, Path(path).resolve().parent, source=str(path))
    else:
        check_config(config, source=str(path))
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mec.checks",
        description="Check mec workflow config files: YAML syntax (file and line), the schema, "
                    "the recordings' paths and every cross-field rule, without running "
                    "Snakemake.")
    parser.add_argument("configs", nargs="+", help="config files (config.yaml, configs/*.yaml)")
    parser.add_argument("--schema", default=str(SCHEMA_PATH), help="the workflow's config schema")
    parser.add_argument("--resolved", action="store_true",
                        help="print each config as the workflow uses it: the schema's defaults "
                             "filled in, sweeps expanded into models, the scales the models "
                             "name (YAML), and each model with seeds as its networks")
    parser.add_argument("--cost", action="store_true",
                        help="also print the training's networks, ensembles and projected "
                             "GPU-hours (mec.costs; what snakemake -n prints)")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.configs:
        try:
            config = load_config(path, args.schema)
        except ConfigError as err:
            failed += 1
            print(err, file=sys.stderr)
            continue
        plan = None
        if args.cost or args.resolved:
            plan = plan_config(config, Path(path).resolve().parent, source=str(path))
        if args.resolved:
            import yaml

            from mec.models.scales import scale_table

            used = {e.get("scale") for e in config.get("models", {}).values()}
            config["scales"] = {k: v for k, v in scale_table(config.get("scales")).items() if k in used}
            print(f"# {path}, resolved: defaults of {args.schema}; scales: mec.models.scales "
                  f"and the file's own")
            print(yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100))
            seeded = [m for m in plan.models if m not in config.get("models", {})]
            if seeded:  # models with seeds: one network per seed (mec.sweeps.expand_seeds)
                print(f"# planned as one network per seed: {', '.join(seeded)}")
        else:
            print(f"{path}: ok")
        if args.cost:
            from mec.costs import projection_text, training_projection

            print(projection_text(training_projection(plan.models, plan.scales, plan.ensembles),
                                  config.get("ensemble_size", 1), ensembles=plan.ensembles))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
