"""Models as axes: sweeps, seeds and ensembles of a workflow config (no Snakemake, no Keras;
methods §7.11).

A config names its models one by one under ``models:``; two axes write many of them at once:

- **seeds** (``models.X.seeds: [0, 1, 2]`` or ``models.X.n_seeds: 3``): the model is trained
  once per seed, each a network of its own with its own outputs. Each seed is a *member*
  named ``X/seed{k}`` (:func:`member_name`), so its files are
  ``results/models/X/seed{k}/model.keras``, ``results/ratemaps/X/seed{k}_{arena}.h5``,
  ``results/fits/X/seed{k}_{arena}.csv``, ``results/knockouts/X/seed{k}.csv``: the workflow's
  ``{model}`` wildcard is the member's name. Model names never contain "/" and arena names
  never "_" (schema), so ``fits/X/seed1_2.2.csv`` parses one way only: model ``X/seed1``,
  arena ``2.2``. A model with ``seed: k`` (or none: seed 0) keeps the single layout
  (``results/models/X/``, ``results/fits/X_{arena}.csv``). ``seed`` and ``seeds``/``n_seeds``
  exclude each other. An untrained twin of a model with seeds (mec.summary.health: the
  ``untrained: true`` model with the same settings) must have the same seeds, so that each
  seed has its twin.
- **sweeps** (``sweeps.NAME``): a product architectures x activations x conditions (x seeds)
  at one set of shared keys, expanded by :func:`sweep_models` into ``models:`` entries with
  the names and contents of models written one by one (configs/figure2.yaml).

:func:`expand_seeds` turns a validated config's models into the members the workflow plans
(``mec.checks.plan_config`` returns them as ``Plan.models``); :func:`ensemble_groups` lists
which members could train together in one compiled step (same network, different seeds;
config ``ensemble_size``).
"""

from __future__ import annotations

import copy
import re
import string
from typing import Mapping

__all__ = ["SEED_KEYS", "member_name", "split_member", "model_seeds", "sweep_models",
           "sweep_problems", "seed_problems", "expand_seeds", "expand_knockout_models",
           "ensemble_groups", "model_settings", "resolve_axes", "NAME_FIELDS", "DEFAULT_NAME"]

#: The keys of a model entry that choose its seed(s); ``seed`` excludes the other two.
SEED_KEYS = ("seed", "seeds", "n_seeds")
#: Fields of a sweep's ``name`` template.
NAME_FIELDS = ("architecture", "activation", "condition")
#: The default name template of a sweep's models (configs/figure2.yaml's names).
DEFAULT_NAME = "{architecture}_{activation}_{condition}"
_MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")  # schema models.propertyNames
_MEMBER = re.compile(r"^(?P<model>[A-Za-z][A-Za-z0-9_-]*)/seed(?P<seed>[0-9]+)$")


def member_name(model: str, seed: int) -> str:
    """The name of one seed of a model with seeds: ``{model}/seed{seed}`` (its output folder
    results/models/{model}/seed{seed}/)."""
    return f"{model}/seed{int(seed)}"


def split_member(name: str) -> tuple[str, int | None]:
    """(model, seed) of a member name ``model/seed{k}``; (name, None) for any other name."""
    m = _MEMBER.match(str(name))
    return (m.group("model"), int(m.group("seed"))) if m else (str(name), None)


def model_seeds(entry: Mapping) -> list[int] | None:
    """A model entry's seeds axis: its ``seeds``, or ``range(n_seeds)``; None when it has
    neither (a single network, seed ``entry['seed']``, default 0)."""
    if entry.get("seeds") is not None:
        return [int(s) for s in entry["seeds"]]
    if entry.get("n_seeds") is not None:
        return list(range(int(entry["n_seeds"])))
    return None


# ---------------------------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------------------------
def _template_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def sweep_problems(sweeps: Mapping, models: Mapping) -> list[str]:
    """Problems of a config's ``sweeps`` (schema-validated) against its ``models``, as
    ``"sweeps.NAME.key: message"``: name templates with unknown fields, names that are not
    model names, two combinations with one name, a name already taken by ``models:`` or by
    another sweep."""
    problems, owner = [], {name: f"models.{name}" for name in models}
    for sweep, spec in (sweeps or {}).items():
        path = f"sweeps.{sweep}"
        template = spec.get("name", DEFAULT_NAME)
        try:
            fields = _template_fields(template)
        except ValueError as err:
            problems.append(f"{path}.name: {template!r} is not a name template ({err})")
            continue
        bad = [f for f in fields if f not in NAME_FIELDS]
        if bad:
            problems.append(f"{path}.name: {template!r} has unknown field(s) {bad}; a sweep's "
                            f"names are made from {list(NAME_FIELDS)}")
            continue
        for name, arch, act, cond in _sweep_names(spec):
            what = f"{arch} x {act} x {cond}"
            if not _MODEL_NAME.match(name):
                problems.append(f"{path}.name: {template!r} gives {name!r} for {what}, not a model "
                                "name (letters, digits, '_' and '-', starting with a letter)")
            elif name in owner:
                problems.append(f"{path}.name: {template!r} gives {name!r} for {what}, a name "
                                f"taken by {owner[name]}")
            else:
                owner[name] = f"{path} ({what})"
    return problems


def _sweep_names(spec: Mapping) -> list[tuple[str, str, str, str]]:
    """(model name, architecture, activation, condition) of every model of one sweep, in the
    sweep's order: architecture, then activation, then condition."""
    template = spec.get("name", DEFAULT_NAME)
    return [(template.format(architecture=str(arch).lower(), activation=str(act).lower(),
                             condition=cond), arch, act, cond)
            for arch in spec["architectures"] for act in spec["activations"]
            for cond in spec["conditions"]]


def sweep_models(sweeps: Mapping, models: Mapping) -> dict:
    """A config's ``models`` with every sweep expanded in front of them, in the sweeps' order.

    Each sweep ``{architectures, activations, conditions, model, name, seeds | n_seeds}``
    gives one model per architecture x activation x condition (architecture outermost),
    named by ``name`` (fields ``{architecture}`` and ``{activation}`` in lower case,
    ``{condition}`` the condition's key; default ``{architecture}_{activation}_{condition}``),
    whose entry is ``model`` (the keys every model of the sweep shares), then
    ``architecture`` and ``activation``, then the condition's keys (which override the
    shared ones), then the sweep's ``seeds`` or ``n_seeds``. The entries are as written:
    schema defaults are filled afterwards, as for models written one by one. Raises
    ValueError listing :func:`sweep_problems`.
    """
    problems = sweep_problems(sweeps, models)
    if problems:
        raise ValueError("; ".join(problems))
    out: dict = {}
    for spec in (sweeps or {}).values():
        conditions = spec["conditions"]
        for name, arch, act, cond in _sweep_names(spec):
            entry = copy.deepcopy(dict(spec.get("model") or {}))
            entry.update(architecture=arch, activation=act)
            entry.update(copy.deepcopy(dict(conditions[cond] or {})))
            for key in ("seeds", "n_seeds"):
                if spec.get(key) is not None:
                    entry[key] = copy.deepcopy(spec[key])
            out[name] = entry
    out.update(copy.deepcopy(dict(models)))
    return out


def resolve_axes(config: dict, validate, source=None) -> dict:
    """Expand a schema-validated config's ``sweeps`` into its ``models``, in place, then run
    ``validate(config)`` again so that the schema checks and fills the new entries as it does
    models written one by one; ``sweeps`` is left empty (expanded). A single model naming no
    seed gets ``seed: 0`` (the schema gives ``seed`` no default: it excludes ``seeds`` and
    ``n_seeds``). Returns ``config``; raises ConfigError naming every sweep problem
    (mec.sweeps.sweep_problems).

    workflow/rules/common.smk calls it right after the schema (``validate``:
    snakemake.utils.validate); mec.checks.resolve_config with jsonschema.
    """
    from mec.errors import ConfigError, source_text as _source_text

    sweeps = config.get("sweeps") or {}
    if sweeps:
        problems = sweep_problems(sweeps, config.get("models") or {})
        if problems:
            raise ConfigError(problems, source=_source_text(source))
        written = set(config.get("models") or {})
        config["models"] = sweep_models(sweeps, config.get("models") or {})
        config["sweeps"] = {}
        try:
            validate(config)
        except ConfigError as err:  # name the sweep that made a refused model
            def where(problem):
                name = problem.split(".")[1].split(":")[0] if problem.startswith("models.") else None
                return problem if name is None or name in written else f"{problem} (a model of sweeps)"
            raise ConfigError([where(p) for p in err.problems], source=err.source) from None
        except Exception as err:  # snakemake.utils.validate raises WorkflowError
            raise ConfigError([f"sweeps: a model of the sweeps is refused by the schema: {err}"],
                              source=_source_text(source)) from None
    models = config.get("models") or {}
    for name, entry in list(models.items()):
        if isinstance(entry, dict) and all(entry.get(k) is None for k in ("seed", "seeds", "n_seeds")):
            models[name] = _with_seed(entry)
    return config


def _with_seed(entry: dict) -> dict:
    """``entry`` with ``seed: 0`` where a schema default would have put it: before the
    trailing defaults that follow ``seed`` in the schema's order. Snakemake compares a rule's
    params as text, so the keys' order is kept as it was when ``seed`` had a default (no
    rerun of the rules that take a model's settings)."""
    from mec.schema import load_schema

    order = list(load_schema()["$defs"]["model"]["properties"])
    rank = {k: i for i, k in enumerate(order)}
    keys = list(entry)
    pos = len(keys)
    while (pos > 0 and rank.get(keys[pos - 1], -1) > rank["seed"]
           and (pos == len(keys) or rank[keys[pos - 1]] < rank[keys[pos]])):
        pos -= 1
    return {**{k: entry[k] for k in keys[:pos]}, "seed": 0, **{k: entry[k] for k in keys[pos:]}}


# ---------------------------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------------------------
_NOT_NETWORK = {"name", "untrained", "eval_arenas", "scale"}  # as mec.summary.health's twins


def seed_problems(models: Mapping) -> list[str]:
    """Problems of the models' seeds, as ``"models.X.key: message"``: ``seed`` with ``seeds``
    or ``n_seeds``, ``seeds`` with ``n_seeds``, seeds on a baseline, and an untrained twin
    whose seeds are not its trained model's (each seed pairs with the twin of the same seed)."""
    problems = []
    for name, entry in models.items():
        given = [k for k in SEED_KEYS if entry.get(k) is not None]
        if len(given) > 1:
            problems.append(f"models.{name}: {' and '.join(f'{k}: {entry[k]!r}' for k in given)}; "
                            "give one: seed (one network) or seeds / n_seeds (one network per "
                            "seed, outputs under results/models/{name}/seed{k}/)")
        if entry.get("baseline") and (entry.get("seeds") is not None or entry.get("n_seeds") is not None):
            problems.append(f"models.{name}.{'seeds' if entry.get('seeds') is not None else 'n_seeds'}: "
                            f"baseline {entry['baseline']!r} is not trained; seeds are for networks")

    def net(entry):
        return {k: v for k, v in entry.items() if k not in _NOT_NETWORK and k not in SEED_KEYS}

    nets = {m: e for m, e in models.items() if not e.get("baseline")}
    for m, e in nets.items():
        if e.get("untrained"):
            continue
        mine = model_seeds(e)
        for u, ue in nets.items():
            if not ue.get("untrained") or net(ue) != net(e):
                continue
            theirs = model_seeds(ue)
            if mine is None and theirs is None:
                continue  # single networks: twins when their seeds agree (mec.summary.health)
            if mine != theirs:
                def says(x, entry):
                    return f"seeds {x}" if x is not None else f"seed {entry.get('seed', 0)} (no seeds)"
                problems.append(f"models.{u}: the untrained twin of {m} has {says(theirs, ue)} but "
                                f"{m} has {says(mine, e)}; give the twin the same seeds (each "
                                "seed is compared with the twin of its seed)")
    return problems


def expand_seeds(models: Mapping) -> dict:
    """The networks the workflow plans: each model with ``seeds`` / ``n_seeds`` becomes one
    entry per seed, named :func:`member_name` (``X/seed{k}``), with ``seed: k`` and without
    ``seeds`` / ``n_seeds``; every other entry keeps its name and gets ``seed: 0`` when it
    names none. Order: the models', a model's members in its seeds' order."""
    out = {}
    for name, entry in models.items():
        seeds = model_seeds(entry)
        base = {k: copy.deepcopy(v) for k, v in entry.items() if k not in ("seeds", "n_seeds")}
        if seeds is None:
            base.setdefault("seed", 0)
            out[name] = base
            continue
        for k in seeds:
            out[member_name(name, k)] = {**copy.deepcopy(base), "seed": int(k)}
    return out


def expand_knockout_models(names, models: Mapping) -> list[str]:
    """``knockouts.models`` in member names: a model with seeds stands for all its members; a
    member named directly (``X/seed1``) or a single model stays as it is."""
    out = []
    for name in names:
        entry = models.get(name)
        seeds = model_seeds(entry) if isinstance(entry, Mapping) else None
        out += [member_name(name, k) for k in seeds] if seeds is not None else [name]
    return out


# ---------------------------------------------------------------------------------------------
# ensembles
# ---------------------------------------------------------------------------------------------
def model_settings(entry: Mapping, scales: Mapping) -> dict:
    """A model's sizes from its scale (``scales[entry['scale']]``) overridden by its own keys
    (what workflow/rules/common.smk's model_cfg gives the training rule, without the name)."""
    from mec.models.scales import DEFAULT_SCALE, SCALE_KEYS

    scale = entry.get("scale", DEFAULT_SCALE)
    cfg = {k: scales[scale][k] for k in SCALE_KEYS}
    cfg.update({k: v for k, v in entry.items() if k != "eval_arenas"})
    cfg["scale"] = scale
    return cfg


def ensemble_groups(members: Mapping, scales: Mapping, ensemble_size: int) -> list[list[str]]:
    """Which trained networks share one compiled training step: lists of member names (the
    one grouping of the workflow, rule train_ensemble, and of ``snakemake -n``'s plan).

    members: the planned models (:func:`expand_seeds`); scales: every scale they may name.
    Networks whose resolved training settings (mec.models.ensemble.ensemble_key: every key
    of mec.models.config but ``seed``, defaults filled in) are equal have the same graph and
    differ only in their initial weights and trajectories; they are grouped, in config
    order, into lists of at most ``ensemble_size``. Baselines, external and untrained models
    (no training step) are left out; ``ensemble_size`` 1 gives one list per network.
    Raises ValueError naming the network whose settings do not resolve.
    """
    from mec.models.ensemble import ensemble_key
    from mec.models.external import is_external

    if isinstance(ensemble_size, bool) or int(ensemble_size) < 1:
        raise ValueError(f"ensemble_size must be >= 1, got {ensemble_size!r}")
    same: dict[tuple, list[str]] = {}
    for name, entry in members.items():
        if entry.get("baseline") or entry.get("untrained") or is_external(entry):
            continue
        cfg = model_settings(entry, scales)
        if int(cfg["epochs"]) * int(cfg["steps_per_epoch"]) == 0:
            continue
        try:
            key = ensemble_key(cfg)
        except ValueError as err:
            raise ValueError(f"network {name!r}: {err}") from err
        same.setdefault(key, []).append(name)
    k = int(ensemble_size)
    return [names[i:i + k] for names in same.values() for i in range(0, len(names), k)]
