"""One source for each fact: config files are deltas on the schema's defaults, one
scale table, one condition rule, one list of summary outputs, one ConfigError; each test fails
if a copy reappears."""

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mec.checks import SCHEMA_PATH, ConfigError, config_problems, load_config, plan_config
from conftest import requires_shared

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
#: Every config file of the repository: the default experiment, the others, the test's.
CONFIG_FILES = [ROOT / "config.yaml", *sorted((ROOT / "configs").glob("*.yaml")),
                ROOT / "tests" / "data" / "tiny.yaml"]
SARGOLINI = ROOT / ".." / "shared" / "data" / "sargolini2006"


def _ref(sub: dict) -> dict:
    """A schema node with its $ref (into $defs) followed."""
    if isinstance(sub, dict) and "$ref" in sub:
        return {**SCHEMA["$defs"][sub["$ref"].rsplit("/", 1)[-1]],
                **{k: v for k, v in sub.items() if k != "$ref"}}
    return sub


def restated_defaults(raw: dict, schema: dict = SCHEMA, path: str = "") -> list[str]:
    """Keys of a config file that restate their schema default.

    The rule of a delta: a key the schema declares (its ``properties``, recursively) is
    written only when its value differs from the default. Entries of named collections
    (a model, a map, an arena, a scale) describe one thing and may name their defaults: a
    model entry that says ``architecture: UGRNN`` keeps its meaning if the default changes.
    """
    out = []
    props = schema.get("properties", {})
    for key, value in (raw or {}).items():
        sub = _ref(props.get(key))
        if not isinstance(sub, dict):
            continue  # a named entry, or a key the schema refuses (test_checks)
        if "default" in sub and value == sub["default"]:
            out.append(f"{path}{key}")
        elif isinstance(value, dict) and "properties" in sub:
            out += restated_defaults(value, sub, f"{path}{key}.")
    return out


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_config_file_is_a_delta_on_the_schema(path):
    raw = yaml.safe_load(path.read_text())
    assert restated_defaults(raw) == [], (
        f"{path.name} restates schema defaults; delete these keys (the schema gives them)")
    # and the scales: presets are named, never copied (mec.models.scales)
    from mec.models.scales import PRESETS

    own = dict(raw.get("scales") or {})
    assert not set(own) & set(PRESETS), f"{path.name} redefines preset(s) {set(own) & set(PRESETS)}"
    copies = [n for n, s in own.items() if s in PRESETS.values()]
    assert not copies, f"{path.name}: scale(s) {copies} copy a preset under another name"


def test_the_delta_rule_finds_restated_defaults():
    """The walker above catches a restated default at any depth, and leaves named entries
    (models, maps) alone."""
    raw = {"experiment": None, "dataset": {"bin_cm": 5.0, "synthetic": {"n_animals": 12, "seed": 3}},
           "fits": {"maps": {"ridge": {"map_type": "sklinear", "map_kwargs": {
               "regression_type": "Ridge", "alpha": 1.0}}}, "blocks": {"k": 3}},
           "models": {"m": {"architecture": "UGRNN", "scale": "demo"}},
           "elasticnet": {"enabled": True, "arenas": ["1.0"]}}
    assert restated_defaults(raw) == ["experiment", "dataset.bin_cm", "dataset.synthetic.n_animals",
                                      "fits.maps", "fits.blocks.k", "elasticnet.enabled"]


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_config_file_plans(path, tmp_path):
    """snakemake -n --configfile FILE plans (the README's commands) and python -m mec.checks
    passes it."""
    if "sargolini" in path.name:
        requires_shared(SARGOLINI)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [] if path.name == "config.yaml" else ["--configfile", str(path)]
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-n",
                           "--cores", "2", "--directory", str(tmp_path), *args],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"^train_model\s+\d+$", proc.stdout + proc.stderr, re.M)
    load_config(path)


def test_resolved_config_prints_the_defaults_and_the_scales():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "mec.checks", "--resolved",
                           str(ROOT / "configs" / "figure2.yaml")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    full = yaml.safe_load(proc.stdout)
    from mec.models.scales import PRESETS

    assert full["fits"]["num_splits"] == 10 and full["dataset"]["bin_cm"] == 5.0  # defaults
    assert full["scales"] == {"fig2demo": PRESETS["fig2demo"], "demo": PRESETS["demo"]}


# ---------------------------------------------------------------------------------------------
# scales: mec.models.scales is the one table
# ---------------------------------------------------------------------------------------------
def test_schema_scale_keys_are_the_code_s():
    from mec.models.scales import DEFAULT_SCALE, PRESETS, SCALE_KEYS

    assert tuple(SCHEMA["$defs"]["scale"]["required"]) == SCALE_KEYS
    assert tuple(SCHEMA["$defs"]["scale"]["properties"]) == SCALE_KEYS
    model = SCHEMA["$defs"]["model"]["properties"]
    assert all(k in model for k in SCALE_KEYS)  # each one a model can override
    assert model["scale"]["default"] == DEFAULT_SCALE and DEFAULT_SCALE in PRESETS
    for name, scale in PRESETS.items():
        assert tuple(scale) == SCALE_KEYS, name


def test_paper_scale_is_the_paper_s_constants():
    from mec import constants as C
    from mec.models.scales import PRESETS
    from mec.models.utils import DEFAULT_MODEL_CFG, configure_options

    paper = PRESETS["paper"]
    o = configure_options()
    assert (paper["n_units"], paper["n_place_cells"], paper["batch_size"], paper["learning_rate"]) == \
        (o.Ng, o.Np, o.batch_size, o.learning_rate)
    assert paper["epochs"] * paper["steps_per_epoch"] == 100_000  # methods §2.1
    assert paper["n_eval_batches"] * paper["batch_size"] * paper["sequence_length"] == 400_000  # methods §3.1
    assert all(DEFAULT_MODEL_CFG[k] == v for k, v in paper.items() if k in DEFAULT_MODEL_CFG)
    assert paper["n_eval_batches"] == C.N_EVAL_SEQ


def test_a_config_may_not_redefine_a_preset():
    cfg = load_config(ROOT / "config.yaml")
    old_demo = {"n_units": 256, "n_place_cells": 512, "batch_size": 100, "sequence_length": 20,
                "epochs": 20, "steps_per_epoch": 250, "learning_rate": 0.001, "n_eval_batches": 20}
    bad = copy.deepcopy(cfg)
    bad["scales"] = {"demo": old_demo}  # the stale copy configs/sargolini2006.yaml had
    (msg,) = config_problems(bad)
    assert msg.startswith("scales.demo: 'demo' is a preset of mec.models.scales.PRESETS")
    assert "n_units 128" in msg  # names the preset's values
    # a new name is fine, and a model may name it; the workflow gets every scale from the plan
    good = copy.deepcopy(cfg)
    good["scales"] = {"demo256": old_demo}
    good["models"]["ugrnn_relu"]["scale"] = "demo256"
    assert config_problems(good) == []
    plan = plan_config(good, ROOT)
    assert plan.scales["demo256"] == old_demo and plan.scales["demo"]["n_units"] == 128
    text = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert "SCALES = PLAN.scales" in text and 'config["scales"]' not in text


# ---------------------------------------------------------------------------------------------
# model defaults and thresholds: the schema's numbers are the code's
# ---------------------------------------------------------------------------------------------
def test_schema_model_defaults_are_the_code_s():
    from mec.models.utils import DEFAULT_MODEL_CFG

    model = SCHEMA["$defs"]["model"]["properties"]
    shared = {k: v["default"] for k, v in model.items() if "default" in v and k in DEFAULT_MODEL_CFG}
    assert len(shared) >= 15
    assert shared == {k: DEFAULT_MODEL_CFG[k] for k in shared}


def test_cell_type_thresholds_have_one_source():
    from mec.data.loaders.ingest import DEFAULTS
    from mec.models.knockouts import knockout_table
    from mec.scores.types import BORDER_THRESHOLD, GRID_THRESHOLD
    import inspect

    rec = SCHEMA["properties"]["dataset"]["properties"]["recordings"]["properties"]
    assert rec["grid_threshold"]["default"] == DEFAULTS["grid_threshold"] == GRID_THRESHOLD
    assert rec["border_threshold"]["default"] == DEFAULTS["border_threshold"] == BORDER_THRESHOLD
    ko = SCHEMA["properties"]["knockouts"]["properties"]
    assert ko["grid_threshold"]["default"] == GRID_THRESHOLD
    sig = inspect.signature(knockout_table).parameters
    assert sig["grid_threshold"].default == GRID_THRESHOLD
    assert sig["border_threshold"].default == BORDER_THRESHOLD
    # no literal copy of a threshold as a default in the package's modules
    pattern = re.compile(r"(grid|border)_threshold\s*[:=]\s*(float\s*=\s*)?0\.[0-9]")
    hits = [f"{p.relative_to(ROOT)}:{i + 1}" for p in (ROOT / "mec").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines()) if pattern.search(line)]
    assert hits == []


# ---------------------------------------------------------------------------------------------
# the Figure 2 condition: one rule
# ---------------------------------------------------------------------------------------------
def test_one_training_condition():
    import mec.models.conditions as conditions
    import mec.models.utils as utils
    import mec.summary as summary
    import mec.summary.tables as tables

    assert utils.training_condition is tables.training_condition is summary.training_condition \
        is conditions.training_condition
    assert tables.CONDITIONS is conditions.CONDITIONS


def test_training_condition_reads_the_arena_geometry():
    from mec.data.arenas import arena_geometry
    from mec.models.conditions import ArenaShapeError, training_condition

    net = {"train_arena": 2.2}
    assert training_condition(net, 2.2) == training_condition(net, "2.2") == "trained"
    assert training_condition(net, arena_geometry("2.2")) == "trained"
    assert training_condition(net, arena_geometry("box", {"size": 2.2})) == "trained"  # a word
    assert training_condition(net, arena_geometry("2.2", {"shape": "circle"})) == "generalization"
    assert training_condition(net, arena_geometry("wide", {"shape": "rectangle", "width": 2.2,
                                                           "height": 1.0})) == "generalization"
    assert training_condition(net, 1.0) == "generalization"
    with pytest.raises(ArenaShapeError, match=r"arena 'box' is named by a word.*geometry"):
        training_condition(net, "box")
    assert training_condition(dict(net, untrained=True), "box") == "untrained"  # arena not needed


def test_summary_conditions_use_the_dataset_geometry():
    """The summary labels a model like its rate-map file does: from the arena's geometry
    (a word-named square of the training box's side is "trained"; without geometry,
    "unknown")."""
    import numpy as np
    import pandas as pd

    from mec.data.arenas import arena_geometry
    from mec.summary.tables import predictivity_table

    fits = pd.DataFrame({"arena": ["box", "1.0", "round"], "animal": "a", "cell_id": ["1", "2", "3"],
                         "cell_type": "grid", "source": "m", "layer": "g", "map": "ridge",
                         "score": [0.5, 0.4, 0.3]})
    ceiling = pd.DataFrame({"arena": ["box", "1.0", "round"], "map": "ridge",
                            "source": "interanimal_holdout", "ceiling": 0.8})
    cfgs = {"m": {"architecture": "UGRNN", "activation": "relu", "train_arena": 1.0}}
    geoms = {"box": arena_geometry("box", {"size": 1.0}),
             "round": arena_geometry("round", {"shape": "circle", "diameter": 1.0})}
    got = predictivity_table(fits, ceiling, cfgs, geoms).set_index("arena")["condition"].to_dict()
    assert got == {"box": "trained", "1.0": "trained", "round": "generalization"}
    bare = predictivity_table(fits, ceiling, cfgs).set_index("arena")["condition"].to_dict()
    assert bare == {"box": "unknown", "1.0": "trained", "round": "unknown"}
    assert np.isfinite(predictivity_table(fits, ceiling, cfgs)["median"]).all()


# ---------------------------------------------------------------------------------------------
# summary outputs: one list
# ---------------------------------------------------------------------------------------------
def test_summary_rule_lists_come_from_mec_summary():
    from mec.summary import TABLES, WORKFLOW_TABLES
    from mec.summary.figures import FIGURE_KINDS

    text = (ROOT / "workflow" / "rules" / "summary.smk").read_text()
    typed = [n for n in WORKFLOW_TABLES + FIGURE_KINDS if re.search(rf"[\"']{n}[\"']", text)]
    assert typed == [], f"summary.smk types names by hand: {typed}"
    assert "from mec.summary import WORKFLOW_TABLES" in text and "FIGURE_KINDS" in text
    assert WORKFLOW_TABLES[:len(TABLES)] == TABLES and WORKFLOW_TABLES[-1] == "executors"


# ---------------------------------------------------------------------------------------------
# one ConfigError, every planning problem in it
# ---------------------------------------------------------------------------------------------
def test_one_config_error_lists_dataset_and_cross_field_problems(tmp_path):
    import mec.data.plan as plan

    assert plan.ConfigError is ConfigError
    cfg = load_config(ROOT / "config.yaml")
    cfg["experiment"] = "models"  # a folder of the default experiment (mec.data.plan)
    cfg["fits"]["blocks"]["guard_bins"] = 1  # narrower than the smoothing radius (fit settings)
    cfg["knockouts"]["models"] = ["gru"]  # not a model (cross-field)
    with pytest.raises(ConfigError) as err:
        plan_config(cfg, tmp_path, source="exp.yaml")
    text = str(err.value)
    assert text.startswith("config (exp.yaml) has 3 problems:")
    assert "  - experiment: 'models' is a folder of the default experiment" in text
    assert "guard band of 1 bin" in text and "knockouts.models: ['gru']" in text
    one = ConfigError("config dataset.bin_cm: 0 is not a size")
    assert str(one) == "config dataset.bin_cm: 0 is not a size" and one.problems == [
        "dataset.bin_cm: 0 is not a size"]


# ---------------------------------------------------------------------------------------------
# one tidy-table builder (mec.fits.core)
# ---------------------------------------------------------------------------------------------
def test_fit_tables_are_built_by_fits_core():
    """The two-stage baseline and the floors make their rows with mec.fits.core.score_rows
    (the builder of the consistency and fit tables), not a copy of it."""
    for module in ("mec/fits/two_stage.py", "mec/fits/floors.py"):
        text = (ROOT / module).read_text()
        assert "score_rows(" in text and "tidy_table(" in text, module
        assert "pd.DataFrame(" not in text and '"cell_type":' not in text, module


def test_is_training_box_matches_training_condition():
    from mec.data.arenas import arena_geometry
    from mec.models.conditions import is_training_box, training_condition

    assert is_training_box(2.2, "2.2") and is_training_box(2.2, 2.2 + 1e-9)
    assert not is_training_box(2.2, "1.0") and not is_training_box(1.0, "wide")
    rect = arena_geometry("wide", {"shape": "rectangle", "width": 1.0, "height": 0.95})
    assert not is_training_box(1.0, rect)
    for arena in ("1.0", "2.2", rect):
        cond = training_condition({"train_arena": 2.2}, arena)
        assert (cond == "trained") == is_training_box(2.2, arena)
