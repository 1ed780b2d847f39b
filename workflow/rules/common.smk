# Shared helpers: config validation, model resolution, wildcard constraints and target lists.
# Every rule file uses only the functions defined here; none of them imports TensorFlow.
import os
import re

from snakemake.utils import validate

from pathlib import Path

from mec.checks import plan_config
from mec.data.arenas import arena_id
from mec.data.contract import dataset_animals as _dataset_animals
from mec.fingerprint import script_fingerprint
from mec.models.conditions import is_training_box
from mec.models.external import is_external
from mec.models.scales import SCALE_KEYS
from mec.sweeps import resolve_axes, split_member

# The conda envs of `--sdm conda` (envs/*.yaml) install mec from ${MEC_ROOT}, this checkout:
# Snakemake copies an env file into .snakemake/conda/ before conda reads it, so a relative
# path there would not find the repository.
# (Set with update(): snakemake --lint takes item assignment for a variable the workflow reads.)
os.environ.update(MEC_ROOT=str(Path(workflow.basedir).resolve()))

# A config file holds what differs from the schema's defaults, which validate() fills in.
validate(config, "../schemas/config.schema.yaml")
# A sweeps: block is a product of models: expanded into models: entries, which the schema then
# checks and fills like models written one by one (mec.sweeps.resolve_axes).
resolve_axes(config, lambda c: validate(c, "../schemas/config.schema.yaml"),
             source=workflow.overwrite_configfiles or workflow.configfiles)
# Relative recording paths are taken from the folder of the config file in use (the last
# --configfile, else config.yaml beside the Snakefile); see mec.data.plan.
CONFIG_DIR = Path(workflow.overwrite_configfiles[-1] if workflow.overwrite_configfiles
                  else f"{workflow.basedir}/config.yaml").resolve().parent
# Every check that the config and its input files allow, before any job, in one error
# (mec.checks.plan_config): experiment, arenas and recordings, map kwargs, cross-field rules,
# scales, fit settings (a blocked split narrower than the smoothing radius, methods §7.2).
PLAN = plan_config(config, CONFIG_DIR, source=workflow.overwrite_configfiles or workflow.configfiles)
# A model with seeds is planned as one network per seed, named {model}/seed{k}, so its outputs
# are results/models/{model}/seed{k}/, results/fits/{model}/seed{k}_{arena}.csv, ... and every
# rule below treats each seed as a model (mec.sweeps.expand_seeds); knockouts.models likewise.
config["models"] = PLAN.models
config["knockouts"]["models"] = PLAN.knockout_models
RECORDINGS = PLAN.recordings  # dataset.recordings, paths made absolute
# Rules that take the paper setting's split as it is (ElasticNet grid, two-stage baseline)
# get it resolved ("blocks" with fits.blocks).
PAPER_TRAIN_FRAC = PLAN.settings["paper"].train_frac
SCALES = PLAN.scales  # mec.models.scales.PRESETS plus the config's own scales

RESULTS = PLAN.results  # results/ or results/{experiment}/
DATASET = config["dataset"]["name"]
DATASET_FILE = f"{RESULTS}/data/{DATASET}.h5"
ARENAS = list(config["dataset"]["arenas"])  # names: e.g. ["1.0", "2.2"] or ["wide"]
MODELS = list(config["models"])
# Models with no training step (config models.X.baseline) and the rest (trained networks).
BASELINES = [m for m in MODELS if config["models"][m].get("baseline")]
TWO_STAGE = [m for m in BASELINES if config["models"][m]["baseline"] == "place_cells_mec"]
# External models (config models.X.source, mec.models.external): rule import_model makes their
# rate-map files; they are neither trained nor exported.
EXTERNAL = [m for m in MODELS if is_external(config["models"][m])]
NETWORKS = [m for m in MODELS if m not in BASELINES and m not in EXTERNAL]
# Models with seeds -> their first seed's member name ("ugrnn_relu" -> "ugrnn_relu/seed0"):
# rule first_seed_fit gives such a model the single-seed fit name too.
FIRST_SEED = {}
for _member in MODELS:
    _model, _seed = split_member(_member)
    if _seed is not None:
        FIRST_SEED.setdefault(_model, _member)
LAYERS = config["fits"]["layers"]


def code_fingerprint(script):
    """Fingerprint of the mec code that workflow/scripts/{script}.py runs (mec.fingerprint).

    Rules carry it as ``params: code=``, so that editing that code reruns them: Snakemake
    itself hashes only the script. Comments and docstrings do not count. train_model carries
    none (models.smk says why).
    """
    return script_fingerprint(Path(workflow.basedir) / "workflow" / "scripts" / f"{script}.py")


def _regex_choice(names):
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


# Arena names never contain "_" (mec.data.arenas), so "ugrnn_relu_2.2" parses one way only:
# model "ugrnn_relu", arena "2.2"; constraining both to the configured names makes that explicit.
# A seed of a model with seeds is model "{name}/seed{k}" (names never contain "/"), so
# "ugrnn_relu/seed1_2.2" is model "ugrnn_relu/seed1", arena "2.2" (tests/test_sweeps.py).
wildcard_constraints:
    arena=_regex_choice(ARENAS),
    model=_regex_choice(MODELS),
    animal=r"[^/]+",
    chunk=r"\d+",


def arena_param(wildcards):
    """The arena as the mec functions take it: a float for numeric names, else the name."""
    return arena_id(wildcards.arena)


def model_cfg(name):
    """A model's settings: its scale's sizes, overridden by the model's own keys.

    Returned as a plain dict so that Snakemake reruns a model's jobs when any of it changes.
    """
    entry = dict(config["models"][name])
    scale = entry.pop("scale")  # known: checked by plan_config
    cfg = {k: SCALES[scale][k] for k in SCALE_KEYS}
    cfg.update(entry)
    cfg.pop("eval_arenas", None)
    cfg["name"] = name
    cfg["scale"] = scale
    return cfg


def train_settings(name):
    """A model's training settings (train_model's params): model_cfg without its name, its
    scale's name and rate-map settings, so that only what changes the network retrains it."""
    from mec.models.train import training_settings

    return training_settings(model_cfg(name))


def model_arenas(name):
    """Arenas a model is exported to and fitted in (default: all of the dataset's)."""
    arenas = config["models"][name].get("eval_arenas", ARENAS)
    unknown = [a for a in arenas if a not in ARENAS]
    if unknown:
        raise ValueError(f"config models.{name}.eval_arenas: {unknown} are not arenas of "
                         f"dataset {DATASET!r} (has {ARENAS})")
    return arenas


def dataset_animals(arena):
    """Animal names of one arena, read from the dataset file.

    make_dataset is a checkpoint: the per-animal ElasticNet jobs are planned once the
    dataset exists, whatever the source names its animals.
    """
    # A file that cannot be read (a corrupt or foreign file at the final path) is named with
    # what to do, instead of h5py's bare OSError.
    return _dataset_animals(checkpoints.make_dataset.get().output.dataset, arena)


def elasticnet_arenas():
    """Arenas where the ElasticNet grid runs (config elasticnet.enabled and .arenas)."""
    if not config["elasticnet"]["enabled"]:
        return []
    arenas = config["elasticnet"]["arenas"]
    arenas = ARENAS if arenas is None else arenas
    unknown = [a for a in arenas if a not in ARENAS]
    if unknown:
        raise ValueError(f"config elasticnet.arenas: {unknown} are not arenas of dataset "
                         f"{DATASET!r} (has {ARENAS})")
    return arenas


def elasticnet_tables(wildcards):
    """Per-animal ElasticNet choice tables of one arena (empty where the grid does not run)."""
    if wildcards.arena not in elasticnet_arenas():
        return []
    return expand(f"{RESULTS}/elasticnet/{{arena}}/{{animal}}.csv", arena=wildcards.arena,
                  animal=dataset_animals(wildcards.arena))


def elasticnet_chunks(wildcards):
    return expand(f"{RESULTS}/elasticnet/{{arena}}/chunks/{{animal}}_{{chunk}}.csv",
                  arena=wildcards.arena, animal=wildcards.animal,
                  chunk=range(config["elasticnet"]["cell_chunks"]))


def fit_maps():
    """The maps of every fit: config fits.maps. Where the ElasticNet grid ran, the fit rules
    add map 'elasticnet' from its choice tables (mec.fits.pipeline.with_elasticnet)."""
    return dict(config["fits"]["maps"])


def fit_targets():
    return [f"{RESULTS}/fits/{m}_{a}.csv" for m in MODELS for a in model_arenas(m)]


def consistency_targets():
    return expand(f"{RESULTS}/consistency/{{arena}}.csv", arena=ARENAS)


def floor_targets():
    """results/floors/{arena}.csv: one noise-floor table per arena (methods §7.3)."""
    return expand(f"{RESULTS}/floors/{{arena}}.csv", arena=ARENAS)


def history_targets():
    return {m: f"{RESULTS}/models/{m}/history.csv" for m in NETWORKS}


def fit_layers(wildcards):
    """Layers fitted: config fits.layers for networks; every layer of a baseline's or an
    external model's file."""
    return None if wildcards.model in BASELINES or wildcards.model in EXTERNAL else LAYERS


def knockout_targets():
    models = config["knockouts"]["models"]
    unknown = [m for m in models if m not in NETWORKS]
    if unknown:
        raise ValueError(f"config knockouts.models: {unknown} are not trained models of this "
                         f"config (trained models: {NETWORKS})")
    return [f"{RESULTS}/knockouts/{m}.csv" for m in models]


def ratemap_targets():
    return {f"{m}_{a}": f"{RESULTS}/ratemaps/{m}_{a}.h5" for m in MODELS for a in model_arenas(m)}


def training_box_targets():
    """model -> results/health/{model}.h5: rate maps in the network's own training box, for
    the model-health table, where none of the model's arenas is that box (a numeric arena
    name equal to train_arena); mec.summary.health.with_training_box reads them."""
    return {m: f"{RESULTS}/health/{m}.h5" for m in NETWORKS
            if not any(is_training_box(model_cfg(m)["train_arena"], a) for a in model_arenas(m))}


def ensemble_groups():
    """Trained networks that differ only in seed, in groups of at most config ensemble_size:
    the ones that can share one compiled training step (mec.sweeps.ensemble_groups; lists of
    model names, each network alone with ensemble_size 1)."""
    return PLAN.ensembles


# Networks trained together, one job per ensemble (workflow/rules/ensembles.smk), and the
# networks train_model trains alone. With ensemble_size 1 every network is trained alone.
ENSEMBLES = [group for group in PLAN.ensembles if len(group) > 1]
ALONE_NETWORKS = [m for m in NETWORKS if not any(m in group for group in ENSEMBLES)]
# Snakemake priority of the training rules (train_model, train_ensemble_{i}): above every
# other rule's 0, so that training, the long pole, starts as soon as the dataset exists.
TRAIN_PRIORITY = 10


def ensemble_resources():
    """An ensemble job's resources: train_model's (one GPU for the whole ensemble), with what
    a profile sets for train_model (--set-resources train_model:..., profiles/slurm), since a
    profile cannot name rules that exist only for the ensembles of one config."""
    res = {"gpu": 1, "mem_mb": 8000, "runtime": 720}
    for key, value in dict(workflow.resource_settings.overwrite_resources.get("train_model", {})).items():
        res[key] = getattr(value, "raw", value)  # a profile's values come parsed (Resource)
    return res


def ensemble_threads():
    """An ensemble job's threads: train_model's (2, or what a profile sets for it)."""
    value = workflow.resource_settings.overwrite_threads.get("train_model", 2)
    return getattr(value, "raw", value)


def training_cost_text():
    """The training's networks, jobs and projected GPU-hours (mec.costs), for snakemake -n."""
    from mec.costs import projection_text, training_projection

    return projection_text(training_projection(PLAN.models, SCALES, PLAN.ensembles),
                           config["ensemble_size"], ensembles=ENSEMBLES)


def summary_outputs():
    return [f"{RESULTS}/summary/summary.md", f"{RESULTS}/summary/ceiling.csv",
            f"{RESULTS}/summary/predictivity.csv"]


def external_path(name):
    """The file of a ratemaps/samples model (config models.X.path, relative to the config's
    folder), or None for other models."""
    entry = config["models"][name]
    if not is_external(entry) or not entry.get("path"):
        return None
    p = Path(os.path.expanduser(entry["path"]))
    return str(p if p.is_absolute() else CONFIG_DIR / p)
