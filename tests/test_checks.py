"""Planning-time config checks (mec.checks): every cross-field rule and every map's kwargs,
with the key path and the value in the message, raised by `snakemake -n` before any job runs;
YAML syntax errors named by file and line."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mec.checks import (ConfigError, check_config, check_yaml, config_problems, load_config,
                        map_problems)
from conftest import SHARED_DATA, requires_shared

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


@pytest.fixture(scope="module")
def default_config(tmp_path_factory):
    """config.yaml as Snakemake sees it: schema-validated with its defaults filled."""
    return load_config(ROOT / "config.yaml")


def with_changes(config, changes):
    cfg = copy.deepcopy(config)
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return cfg


# Each mistake: the changes that make it, and what the message must contain (key path, value).
MISTAKES = {
    "regression_type": ({"fits.maps.ridge.map_kwargs.regression_type": "Ridgee"},
                        ["fits.maps.ridge.map_kwargs.regression_type", "'Ridgee'", "did you mean 'Ridge'"]),
    "percentil": ({"fits.maps.corr.map_kwargs": {"percentil": 90}},
                  ["fits.maps.corr.map_kwargs.percentil", "percentil=90", "did you mean 'percentile'"]),
    "percentile_range": ({"fits.maps.corr.map_kwargs": {"percentile": 120}},
                         ["fits.maps.corr.map_kwargs.percentile", "120"]),
    "pls_zero": ({"fits.maps.pls.map_kwargs.n_components": 0},
                 ["fits.maps.pls.map_kwargs.n_components", "got 0"]),
    "pls_missing": ({"fits.maps.pls.map_kwargs": {}},
                    ["fits.maps.pls.map_kwargs.n_components", "needs n_components"]),
    "negative_alpha": ({"fits.maps.ridge.map_kwargs.alpha": -1.0},
                       ["fits.maps.ridge.map_kwargs.alpha", "-1.0"]),
    "sklearn_kwarg": ({"fits.maps.ridge.map_kwargs.regression_kwargs": {"max_iter": 0}},
                      ["fits.maps.ridge.map_kwargs.regression_kwargs.max_iter", "Got 0"]),
    "sklearn_unknown": ({"fits.maps.ridge.map_kwargs.regression_kwargs": {"tolerance": 1e-3}},
                        ["fits.maps.ridge.map_kwargs.regression_kwargs.tolerance", "'tolerance'"]),
    "cells": ({"dataset.synthetic.cells_min": 70},
              ["dataset.synthetic.cells_min", "70", "cells_max 60"]),
    "layers": ({"ratemaps.layers": ["g", "dc"]},
               ["fits.layers", "['pre_g']", "ratemaps.layers is ['g', 'dc']"]),
    "nmf": ({"models.nmf9": {"baseline": "nmf", "scale": "demo"}},
            ["models.nmf9.n_components", "baseline nmf needs n_components"]),
    "one_animal": ({"dataset.synthetic.n_animals": 1},
                   ["dataset.synthetic.n_animals", "1", "at least 2 animals"]),
    "scale": ({"models.ugrnn_relu.scale": "huge"},
              ["models.ugrnn_relu.scale", "'huge'"]),
    "cues_box": ({"models.ugrnn_relu.cues": True, "models.ugrnn_relu.train_arena": 1.0},
                 ["models.ugrnn_relu.train_arena", "1.0 m", "cue"]),
    "reward_box": ({"models.ugrnn_relu.reward_zone": True, "models.ugrnn_relu.train_arena": 1.0},
                   ["models.ugrnn_relu.train_arena", "reward zone"]),
    "reward_steps": ({"models.ugrnn_relu.reward_zone": True, "models.ugrnn_relu.sequence_length": 7},
                     ["models.ugrnn_relu.sequence_length", "7 steps"]),
    "eval_arena": ({"models.ugrnn_relu.eval_arenas": ["3.0"]},
                   ["models.ugrnn_relu.eval_arenas", "['3.0']"]),
    "en_arena": ({"elasticnet.arenas": ["4.0"]}, ["elasticnet.arenas", "['4.0']"]),
    "knockout": ({"knockouts.models": ["gru"]}, ["knockouts.models", "['gru']"]),
    "en_name": ({"fits.maps.elasticnet": {"map_type": "sklinear", "map_kwargs": {}}},
                ["fits.maps.elasticnet", "rename"]),
    "n_components_network": ({"models.ugrnn_relu.n_components": 9},
                             ["models.ugrnn_relu.n_components", "9"]),
}


@pytest.mark.parametrize("path", [ROOT / "config.yaml", ROOT / "tests" / "data" / "tiny.yaml",
                                  *sorted((ROOT / "configs").glob("*.yaml"))],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_default_and_shipped_configs_pass(path):
    if "sargolini" in path.name:  # plans its recordings, read in place from ../shared/data
        requires_shared(SHARED_DATA / "sargolini2006")
    cfg = load_config(path)
    assert config_problems(cfg) == [], path


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_is_named(default_config, name):
    changes, expect = MISTAKES[name]
    cfg = with_changes(default_config, changes)
    with pytest.raises(ConfigError) as err:
        check_config(cfg, source="my.yaml")
    text = str(err.value)
    assert "my.yaml" in text
    assert len(err.value.problems) == 1, err.value.problems
    for piece in expect:
        assert piece in text, (piece, text)


def test_all_problems_in_one_error(default_config):
    changes = {}
    for name in ("regression_type", "percentil", "pls_zero", "cells", "layers", "nmf"):
        changes.update(MISTAKES[name][0])
    with pytest.raises(ConfigError) as err:
        check_config(with_changes(default_config, changes))
    assert len(err.value.problems) == 6
    assert str(err.value).startswith("config has 6 problems:")


def test_map_problems_construct_the_estimator():
    assert map_problems("sklinear", {"regression_type": "Lasso", "alpha": 0.5, "l1_ratio": None}) == []
    assert map_problems("corr", {"percentile": 90, "regression_type": "ElasticNet",
                                 "regression_kwargs": {"l1_ratio": 0.3}}) == []
    assert map_problems("pls", {"n_components": 3, "fit_per_target_unit": True}) == []
    assert map_problems("corr", {"percentile": 90, "regression_kwargs": {"l1_ratio": 0.3}}) == [
        "map_kwargs.regression_kwargs.l1_ratio: Ridge has no argument 'l1_ratio' (got l1_ratio=0.3)"]
    (msg,) = map_problems("sklinear", {"regression_type": "LinearRegression", "alpha": 1.0})
    assert msg.startswith("map_kwargs.alpha:") and "LinearRegression" in msg
    (msg,) = map_problems("pca", {})
    assert msg.startswith("map_type: 'pca'")
    (msg,) = map_problems("pls", {"n_components": 2.5})
    assert "n_components" in msg and "2.5" in msg


def test_check_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset:\n  name: x\n  bin_cm: [5.0\nfits:\n  num_splits: 3\n")
    with pytest.raises(ConfigError) as err:
        check_yaml(bad)
    text = str(err.value)
    assert f"{bad}, line 4, column 5" in text and "line 3" in text and "bin_cm: [5.0" in text
    tabs = tmp_path / "tabs.yaml"
    tabs.write_text("fits:\n\tnum_splits: 3\n")
    with pytest.raises(ConfigError, match=r"tabs.yaml, line 2"):
        check_yaml(tabs)
    good = tmp_path / "good.yaml"
    good.write_text("fits: {num_splits: 3}\n")
    assert check_yaml(good) == {"fits": {"num_splits": 3}}


def test_checks_import_neither_snakemake_nor_tensorflow():
    code = ("import sys, mec.checks; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('snakemake', 'tensorflow', 'keras', 'jax')]; assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------------
# at planning time, through Snakemake
# --------------------------------------------------------------------------------------------
def smk(*args, cwd, snakefile=ROOT / "Snakefile"):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([*SNAKEMAKE, "-s", str(snakefile), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.mark.slow
def test_dry_run_names_every_mistake_before_any_job(tmp_path):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    names = ["regression_type", "percentil", "pls_zero", "cells", "layers", "nmf", "cues_box",
             "en_name", "knockout"]
    changes = {}
    for name in names:
        changes.update(MISTAKES[name][0])
    path = tmp_path / "mistakes.yaml"
    path.write_text(yaml.safe_dump(with_changes(raw, changes)))
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(path), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"config ({path}) has {len(names)} problems" in out, out[-3000:]
    for name in names:
        for piece in MISTAKES[name][1]:
            assert piece in out, (name, piece)
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_yaml_error_in_config_yaml_names_file_and_line(tmp_path):
    """The default config.yaml is read by the Snakefile's configfile: directive; the Snakefile
    parses it first and names the line."""
    for item in ("Snakefile", "workflow", "envs"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    text = (ROOT / "config.yaml").read_text().splitlines()
    n = next(i for i, line in enumerate(text) if line.strip().startswith('"1.0":'))
    text[n] = '    "1.0": [5.0'
    (tmp_path / "config.yaml").write_text("\n".join(text) + "\n")
    proc = smk("-n", "--cores", "1", cwd=tmp_path, snakefile=tmp_path / "Snakefile")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{tmp_path / 'config.yaml'}, line {n + 2}" in out, out[-3000:]
    assert f"(while parsing a flow sequence at line {n + 1}" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_yaml_error_in_a_configfile_is_named_by_mec_checks(tmp_path):
    """Snakemake parses --configfile itself, before the Snakefile, and names no line: the
    README points to `python -m mec.checks FILE` (and to --verbose, which shows the parser's
    own message)."""
    bad = tmp_path / "exp.yaml"
    bad.write_text("dataset:\n  name: x\nfits:\n  maps:\n    ridge: {map_type: sklinear\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "mec.checks", str(bad)], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 1
    assert f"{bad}, line 6, column 1: YAML syntax error" in proc.stderr
    assert "line 5" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mec.checks", str(ROOT / "config.yaml")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and "config.yaml: ok" in proc.stdout
    proc = smk("-n", "--verbose", "--configfile", str(bad), "--directory", str(tmp_path), cwd=tmp_path)
    assert proc.returncode != 0 and 'exp.yaml", line 6' in proc.stdout + proc.stderr


def test_config_error_is_one_class_wherever_it_is_imported():
    """mec.errors holds it (below mec.checks, mec.data.plan and mec.sweeps, which raise it);
    the modules users import it from re-export the same class, so one except catches all."""
    import mec.checks
    import mec.data.plan
    import mec.errors

    assert mec.checks.ConfigError is mec.errors.ConfigError is mec.data.plan.ConfigError
    err = mec.errors.ConfigError(["a.b: wrong (1)", "c: missing"], source=mec.errors.source_text(["x.yaml", "y.yaml"]))
    assert str(err) == "config (x.yaml, y.yaml) has 2 problems:\n  - a.b: wrong (1)\n  - c: missing"
