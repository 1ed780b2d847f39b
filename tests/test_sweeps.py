"""Seeds and sweeps as model axes (mec.sweeps): a model with seeds is one network per seed
with its own outputs, a sweep is the models written one by one, the old single-seed layout
is unchanged, every per-model number gets its spread over seeds (mec.summary.seeds), and the
training's projected GPU time is computed from the measured step (mec.costs)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mec.checks import ConfigError, SCHEMA_PATH, load_config, plan_config, resolve_config
from mec.sweeps import (ensemble_groups, expand_knockout_models, expand_seeds, member_name,
                        split_member, sweep_models)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
HANDWRITTEN = ROOT / "tests" / "data" / "figure2_handwritten.yaml"


def _default_config(**models):
    """config.yaml with its two models replaced by ``models`` (raw entries)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["models"] = models
    raw["knockouts"]["models"] = [m for m in models if not models[m].get("untrained")][:1]
    return raw


def _plan(raw):
    return plan_config(resolve_config(raw), ROOT)


def _problems(raw):
    with pytest.raises(ConfigError) as err:
        _plan(raw)
    return err.value.problems


# ---------------------------------------------------------------------------------------------
# seeds
# ---------------------------------------------------------------------------------------------
def test_member_names_round_trip():
    assert member_name("ugrnn_relu", 3) == "ugrnn_relu/seed3"
    assert split_member("ugrnn_relu/seed3") == ("ugrnn_relu", 3)
    assert split_member("ugrnn_relu") == ("ugrnn_relu", None)
    assert split_member("seed3") == ("seed3", None)


def test_seeds_expand_to_one_network_per_seed():
    net = {"scale": "tiny", "architecture": "GRU", "activation": "tanh"}
    raw = _default_config(gru={**net, "n_seeds": 3}, gru_untrained={**net, "untrained": True, "n_seeds": 3},
                          picked={**net, "activation": "relu", "seeds": [5, 2]},
                          single={**net, "activation": "linear", "seed": 4})
    plan = _plan(raw)
    assert list(plan.models) == ["gru/seed0", "gru/seed1", "gru/seed2", "gru_untrained/seed0",
                                 "gru_untrained/seed1", "gru_untrained/seed2", "picked/seed5",
                                 "picked/seed2", "single"]
    assert [plan.models[f"gru/seed{k}"]["seed"] for k in range(3)] == [0, 1, 2]
    assert plan.models["single"]["seed"] == 4
    # each member is the model's entry with its own seed: the same network otherwise
    resolved = resolve_config(raw)["models"]
    for k in range(3):
        member = dict(plan.models[f"gru/seed{k}"])
        assert member.pop("seed") == k and "n_seeds" not in member and "seeds" not in member
        assert member == {key: v for key, v in resolved["gru"].items() if key != "n_seeds"}
    # n_seeds: n is seeds [0 .. n-1]
    same = copy.deepcopy(raw)
    same["models"]["gru"] = {**net, "seeds": [0, 1, 2]}
    assert _plan(same).models == plan.models
    # knockouts of a model with seeds: every seed; a member may be named alone
    assert plan.knockout_models == ["gru/seed0", "gru/seed1", "gru/seed2"]
    assert expand_knockout_models(["picked/seed2", "single"], resolved) == ["picked/seed2", "single"]
    ko = copy.deepcopy(raw)
    ko["knockouts"]["models"] = ["picked/seed2"]
    assert _plan(ko).knockout_models == ["picked/seed2"]


def _single_seed_default():
    """config.yaml with its two models in the single layout (seed 0, no seeds), each network
    trained alone (no ensemble_size)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw.pop("ensemble_size", None)
    for entry in raw["models"].values():
        for key in ("seeds", "n_seeds"):
            entry.pop(key, None)
        entry["seed"] = 0
    return raw


def test_a_model_without_seeds_keeps_its_name_and_seed_0():
    plan = _plan(_single_seed_default())
    assert list(plan.models) == ["ugrnn_relu", "ugrnn_relu_untrained"]
    assert plan.models["ugrnn_relu"]["seed"] == 0 and plan.knockout_models == ["ugrnn_relu"]
    assert expand_seeds({"m": {"architecture": "GRU"}}) == {"m": {"architecture": "GRU", "seed": 0}}


def test_seed_is_filled_where_the_schema_default_was():
    """The schema gives seed no default (it excludes seeds); seed 0 is placed where the
    default was, so that a model's settings keep their order (Snakemake compares params as
    text: no rerun)."""
    model = SCHEMA["$defs"]["model"]["properties"]
    with_default = [k for k, v in model.items() if "default" in v or k == "seed"]
    resolved = resolve_config({"models": {"m": {"architecture": "GRU", "n_units": 8}}})["models"]["m"]
    assert list(resolved) == ["architecture", "n_units"] + [k for k in with_default if k != "architecture"]
    assert resolved["seed"] == 0


def test_seed_errors_name_the_model_and_keys():
    net = {"scale": "tiny", "architecture": "GRU"}
    (msg,) = _problems(_default_config(m={**net, "seed": 3, "seeds": [0, 1]}))
    assert msg.startswith("models.m: seed: 3 and seeds: [0, 1]; give one")
    (msg,) = _problems(_default_config(m={**net, "seeds": [0, 1], "n_seeds": 2}))
    assert msg.startswith("models.m: seeds: [0, 1] and n_seeds: 2; give one")
    raw = _default_config(m={**net, "n_seeds": 2})
    raw["models"]["v"] = {"baseline": "velocity", "n_seeds": 2}
    (msg,) = _problems(raw)
    assert msg.startswith("models.v.n_seeds: baseline 'velocity' is not trained")
    # an untrained twin pairs seed for seed
    (msg,) = _problems(_default_config(m={**net, "n_seeds": 3}, u={**net, "untrained": True, "n_seeds": 2}))
    assert msg.startswith("models.u: the untrained twin of m has seeds [0, 1] but m has seeds [0, 1, 2]")
    (msg,) = _problems(_default_config(m={**net, "n_seeds": 3}, u={**net, "untrained": True}))
    assert "twin of m has seed 0 (no seeds) but m has seeds [0, 1, 2]" in msg
    raw = _default_config(m={**net, "n_seeds": 2})
    raw["knockouts"]["models"] = ["m/seed7"]
    (msg,) = _problems(raw)
    assert msg.startswith("knockouts.models: ['m/seed7'] are not trained models")
    # the schema: seeds are distinct non-negative integers, n_seeds >= 1
    for bad, where in (({"seeds": []}, "models.m.seeds"), ({"seeds": [1, 1]}, "models.m.seeds"),
                       ({"n_seeds": 0}, "models.m.n_seeds"), ({"seeds": [-1]}, "models.m.seeds.0")):
        with pytest.raises(ConfigError) as err:
            resolve_config(_default_config(m={**net, **bad}))
        assert err.value.problems[0].startswith(where), (bad, err.value.problems)


def test_member_paths_parse_one_way():
    """results/fits/{model}_{arena}.csv with members X/seed{k}: every file name parses as one
    (model, arena) pair only, with model names that invite confusion."""
    models = ["a", "a_b", "a/seed1", "a/seed12", "a_b/seed1", "seed1", "b-1/seed0"]
    arenas = ["1.0", "2.2", "wide", "box-2"]
    for m in models:
        for a in arenas:
            path = f"{m}_{a}"
            splits = [(m2, a2) for m2 in models for a2 in arenas if f"{m2}_{a2}" == path]
            assert splits == [(m, a)], path


def _dry_run(tmp_path, *args, config=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-n", "--cores", "2",
           "--directory", str(tmp_path)]
    cmd += list(args)  # targets before --configfile, which takes every word after it
    if config is not None:
        cmd += ["--configfile", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _jobs(text):
    """(rule, output, wildcards) of every planned job of a dry run, sorted."""
    jobs, rule = [], None
    for line in text.splitlines():
        if m := re.match(r"^(?:rule|checkpoint|localrule) (\w+):", line):
            rule, out, wc = m.group(1), "", ""
            jobs.append([rule, out, wc])
        elif rule and (m := re.match(r"^\s+(output|wildcards): (.*)$", line)):
            jobs[-1][1 if m.group(1) == "output" else 2] = m.group(2)
    return sorted(map(tuple, jobs))


@pytest.mark.slow
def test_one_fit_target_in_both_layouts(tmp_path):
    """snakemake results/fits/ugrnn_relu_2.2.csv still names one fit (single layout), and a
    seed's fit is results/fits/{model}/seed{k}_{arena}.csv."""
    single = tmp_path / "single.yaml"
    single.write_text(yaml.safe_dump(_single_seed_default()))
    jobs = _jobs(_dry_run(tmp_path, "results/fits/ugrnn_relu_2.2.csv", config=single))
    fits = [j for j in jobs if j[0] == "fit_model"]
    assert fits == [("fit_model", "results/fits/ugrnn_relu_2.2.csv", "model=ugrnn_relu, arena=2.2")]
    assert [j[1] for j in jobs if j[0] == "train_model"] == [
        "results/models/ugrnn_relu/model.keras, results/models/ugrnn_relu/config.json, "
        "results/models/ugrnn_relu/history.csv"]
    raw = _single_seed_default()
    for name in ("ugrnn_relu", "ugrnn_relu_untrained"):
        del raw["models"][name]["seed"]
        raw["models"][name]["n_seeds"] = 3
    cfg = tmp_path / "seeds.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    jobs = _jobs(_dry_run(tmp_path, "results/fits/ugrnn_relu/seed1_2.2.csv", config=cfg))
    assert [j for j in jobs if j[0] == "fit_model"] == [
        ("fit_model", "results/fits/ugrnn_relu/seed1_2.2.csv", "model=ugrnn_relu/seed1, arena=2.2")]
    assert [j[1].split(",")[0] for j in jobs if j[0] == "train_model"] == [
        "results/models/ugrnn_relu/seed1/model.keras"]
    # with seeds the single-seed name still names one fit: a copy of the first seed's
    jobs = _jobs(_dry_run(tmp_path, "results/fits/ugrnn_relu_2.2.csv", config=cfg))
    assert [j for j in jobs if j[0] in ("fit_model", "first_seed_fit")] == [
        ("first_seed_fit", "results/fits/ugrnn_relu_2.2.csv", "seeded=ugrnn_relu, arena=2.2"),
        ("fit_model", "results/fits/ugrnn_relu/seed0_2.2.csv", "model=ugrnn_relu/seed0, arena=2.2")]
    # the whole run: 6 networks, 3 knockouts, every output under its seed's name
    text = _dry_run(tmp_path, config=cfg)
    assert re.search(r"^train_model\s+6$", text, re.M) and re.search(r"^knockouts\s+3$", text, re.M)
    assert "results/knockouts/ugrnn_relu/seed2.csv" in text
    assert "results/ratemaps/ugrnn_relu_untrained/seed0_1.0.h5" in text


# ---------------------------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------------------------
def test_figure2_sweep_is_the_handwritten_models():
    """configs/figure2.yaml's sweep gives the 80 hand-written networks of the file it
    replaced (tests/data/figure2_handwritten.yaml): the same names in the same order, the
    same entries with their keys in the same order (so the same params), the same config."""
    swept, written = load_config(ROOT / "configs" / "figure2.yaml"), load_config(HANDWRITTEN)
    assert list(swept["models"]) == list(written["models"]) and len(swept["models"]) == 91
    for name, entry in written["models"].items():
        assert list(swept["models"][name].items()) == list(entry.items()), name
    assert swept == written
    raw = yaml.safe_load((ROOT / "configs" / "figure2.yaml").read_text())
    assert len(raw["models"]) == 11  # the baselines; the 80 networks are the sweep


@pytest.mark.slow
def test_figure2_sweep_plans_the_same_jobs(tmp_path):
    a = _jobs(_dry_run(tmp_path / "a", config=ROOT / "configs" / "figure2.yaml"))
    b = _jobs(_dry_run(tmp_path / "b", config=HANDWRITTEN))
    assert a == b
    assert sum(j[0] == "train_model" for j in a) == 80


def test_sweep_expansion_order_and_overrides():
    sweeps = {"s": {"name": "{architecture}_{activation}_{condition}_x", "architectures": ["GRU", "RNN"],
                    "activations": ["tanh"], "model": {"scale": "tiny", "train_arena": 2.2},
                    "conditions": {"a": {}, "b": {"train_arena": 1.0}}, "n_seeds": 2}}
    models = sweep_models(sweeps, {"other": {"architecture": "LSTM"}})
    assert list(models) == ["gru_tanh_a_x", "gru_tanh_b_x", "rnn_tanh_a_x", "rnn_tanh_b_x", "other"]
    assert models["gru_tanh_b_x"] == {"scale": "tiny", "train_arena": 1.0, "architecture": "GRU",
                                      "activation": "tanh", "n_seeds": 2}
    plan = _plan({**_default_config(), "sweeps": sweeps})
    assert len(plan.models) == 8 and "rnn_tanh_b_x/seed1" in plan.models


def test_sweep_errors():
    base = {"architectures": ["GRU"], "activations": ["tanh", "relu"],
            "conditions": {"trained": {"train_arena": 1.0}}}
    raw = {**_default_config(gru_tanh_trained={"scale": "tiny"}), "sweeps": {"s": base}}
    with pytest.raises(ConfigError) as err:
        resolve_config(raw)
    assert err.value.problems == ["sweeps.s.name: '{architecture}_{activation}_{condition}' gives "
                                  "'gru_tanh_trained' for GRU x tanh x trained, a name taken by "
                                  "models.gru_tanh_trained"]
    for name, says in (("{architecture}_{act}", "has unknown field(s) ['act']"),
                       ("{architecture}_{condition}", "gives 'gru_1x' for GRU x relu x 1x, a name taken by sweeps.s (GRU x tanh x 1x)"),
                       ("{condition}_{architecture}_{activation}", "not a model name")):
        raw = {**_default_config(), "sweeps": {"s": {**base, "name": name,
                                                     "conditions": {"1x": {}}}}}
        with pytest.raises(ConfigError) as err:
            resolve_config(raw)
        assert says in err.value.problems[0], (name, err.value.problems)
    # the schema: a condition sets model keys only; every sweep names its axes
    raw = {**_default_config(), "sweeps": {"s": {**base, "conditions": {"t": {"architecture": "LSTM"}}}}}
    with pytest.raises(ConfigError) as err:
        resolve_config(raw)
    assert err.value.problems[0].startswith("sweeps.s.conditions.t")
    raw = {**_default_config(), "sweeps": {"s": {"architectures": ["GRU"], "conditions": {"t": {}}}}}
    with pytest.raises(ConfigError) as err:
        resolve_config(raw)
    assert "'activations' is a required property" in err.value.problems[0]
    # the sweep's models are checked by the model schema once expanded
    raw = {**_default_config(), "sweeps": {"s": {**base, "model": {"weight_decay": -1}}}}
    with pytest.raises(ConfigError) as err:
        resolve_config(raw)
    assert err.value.problems == ["models.gru_relu_trained.weight_decay: -1 is less than the minimum of 0 (a model of sweeps)",
                                  "models.gru_tanh_trained.weight_decay: -1 is less than the minimum of 0 (a model of sweeps)"]


def test_sweep_model_keys_are_the_model_s():
    """A sweep's shared and condition keys are the model's keys, less those the sweep sets
    itself (architecture, activation, seeds), the baselines' and the external models' (a sweep
    expands networks the workflow trains)."""
    keys = set(SCHEMA["$defs"]["model_keys"]["propertyNames"]["enum"])
    model = set(SCHEMA["$defs"]["model"]["properties"])
    assert keys == model - {"architecture", "activation", "seeds", "n_seeds", "baseline",
                            "n_components", "baseline_arena",
                            "source", "path", "callable", "kwargs", "population", "layer", "layers"}


# ---------------------------------------------------------------------------------------------
# ensembles and cost
# ---------------------------------------------------------------------------------------------
def test_ensemble_groups():
    from mec.models.scales import PRESETS

    net = {"scale": "tiny", "architecture": "GRU", "activation": "tanh", "train_arena": 2.2}
    members = expand_seeds({"a": {**net, "n_seeds": 5}, "u": {**net, "untrained": True, "n_seeds": 5},
                            "b": {**net, "learning_rate": 0.5, "seeds": [3]},
                            "c": {**net, "n_seeds": 2, "eval_arenas": ["1.0"]},
                            "v": {"baseline": "velocity"}})
    assert ensemble_groups(members, PRESETS, 2) == [["a/seed0", "a/seed1"], ["a/seed2", "a/seed3"],
                                                    ["a/seed4", "c/seed0"], ["c/seed1"], ["b/seed3"]]
    assert ensemble_groups(members, PRESETS, 1) == [[m] for m in ["a/seed0", "a/seed1", "a/seed2",
                                                                  "a/seed3", "a/seed4", "c/seed0",
                                                                  "c/seed1", "b/seed3"]]
    with pytest.raises(ValueError, match="ensemble_size must be >= 1"):
        ensemble_groups(members, PRESETS, 0)


def test_ensemble_groups_resolve_settings_and_name_the_bad_network():
    """Networks group on their resolved training settings: a default written out or a
    metadata key (name, eval_arenas, n_eval_batches) does not split a group, any training
    setting does; a key no network has is named with the network."""
    from mec.models.scales import PRESETS

    net = {"scale": "tiny", "architecture": "UGRNN", "activation": "relu", "train_arena": 2.2}
    members = {"a0": {**net, "seed": 0}, "b0": {**net, "seed": 0, "n_units": 8},
               "a1": {**net, "seed": 1, "dog": True, "n_eval_batches": 7},
               "a2": {**net, "seed": 2, "eval_arenas": ["1.0"]},
               "x": {"source": "ratemaps", "path": "x.h5"}, "b1": {**net, "seed": 1, "n_units": 8},
               "a3": {**net, "seed": 3}, "z": {**net, "seed": 4, "epochs": 0}}
    assert ensemble_groups(members, PRESETS, 2) == [["a0", "a1"], ["a2", "a3"], ["b0", "b1"]]
    assert ensemble_groups(members, PRESETS, 8) == [["a0", "a1", "a2", "a3"], ["b0", "b1"]]
    with pytest.raises(ValueError, match="network 'bad': unknown model config keys"):
        ensemble_groups({"bad": {**net, "n_unit": 3}}, PRESETS, 2)


def test_step_flops_by_hand():
    from mec.costs import REFERENCE, step_flops

    # UGRNN at paper scale: per sample-step M 2x4096, two gates' input and recurrent products
    # 4 x 4096^2, g 4096^2, dc 4096x512 multiply-adds; encoder 512x4096 once per sequence.
    ng, npc, b, t = 4096, 512, 200, 20
    macs = t * (2 * ng + 4 * ng * ng + ng * ng + ng * npc) + npc * ng
    assert step_flops(REFERENCE["model"]) == 3 * 2 * b * macs
    # ~2.07 TFLOP: at the Keras step's measured 14.2 ms (bf16), 146 TFLOP/s
    assert step_flops(REFERENCE["model"]) / 14.2e-3 / 1e12 == pytest.approx(146, abs=1)
    lstm = dict(REFERENCE["model"], architecture="LSTM")
    assert step_flops(lstm) / step_flops(REFERENCE["model"]) == pytest.approx(
        (t * (2 * ng + 8 * ng * ng + ng * ng + ng * npc) + 2 * npc * ng) / macs)
    rnn = dict(REFERENCE["model"], architecture="RNN", loss="position")
    assert step_flops(rnn) == 3 * 2 * b * (t * (2 * ng + ng * ng + 2 * ng) + 2 * ng)


def test_projection_of_the_paper_configs():
    from mec.costs import REFERENCE, projection_text, step_flops, training_projection

    plan = plan_config(load_config(ROOT / "configs" / "figure2_paper.yaml"), ROOT / "configs")
    proj = training_projection(plan.models, plan.scales, plan.ensembles)
    assert proj["networks"] == 60 and proj["jobs"] == 20 and proj["steps"] == 60 * 100_000
    ref = step_flops(REFERENCE["model"])
    share = sum(12 * step_flops(dict(REFERENCE["model"], architecture=a)) / ref
                for a in ("RNN", "SRNN", "GRU", "LSTM", "UGRNN"))  # 4 activations x 3 seeds each
    for kind in ("bare scan", "train_model"):
        ms = REFERENCE["ms_per_step"]["float32"][kind]
        assert proj["hours"][kind] == pytest.approx(share * 100_000 * ms / 3.6e6)
    text = projection_text(proj, 3, ensembles=plan.ensembles)
    assert f"{proj['hours']['bare scan']:.1f} GPU-hours" in text and "20 ensemble(s)" in text
    assert "60 networks" in text and "0 network(s) alone" in text
    first = ", ".join(plan.ensembles[0])
    assert f"train_ensemble_0: {first}" in text and first.endswith("/seed2")
    # configs/paper.yaml: three UGRNNs (one with cues) in float32 at the measured step
    plan = plan_config(load_config(ROOT / "configs" / "paper.yaml"), ROOT / "configs")
    proj = training_projection(plan.models, plan.scales, plan.ensembles)
    assert proj["hours"]["bare scan"] == pytest.approx(3 * 100_000 * 12.1 / 3.6e6, rel=1e-3)


@pytest.mark.slow
def test_dry_run_prints_the_projection(tmp_path):
    text = _dry_run(tmp_path, config=ROOT / "configs" / "figure2_paper.yaml")
    line = next(line for line in text.splitlines() if line.startswith("mec: training plan"))
    assert "60 network(s) to train" in line and "20 ensemble(s)" in line
    # the 60 trained networks in 20 ensemble jobs of 3 (one rule each), the 60 untrained twins
    # alone in train_model
    assert re.search(r"^train_model\s+60$", text, re.M)
    ensembles = re.findall(r"^train_ensemble_(\d+)\s+(\d+)$", text, re.M)
    # (the job table is printed twice: planned and summed up at the end)
    assert sorted({int(i) for i, _ in ensembles}) == list(range(20)) and {n for _, n in ensembles} == {"1"}
    hours = [float(x) for x in re.findall(r"([0-9.]+) (?:GPU-hours )?at ", line)]
    assert len(hours) == 2 and 10 < hours[0] < hours[1] < 60


# ---------------------------------------------------------------------------------------------
# the summary over seeds
# ---------------------------------------------------------------------------------------------
# Student's t with 2 degrees of freedom has the CDF 1/2 + t / (2 sqrt(2 + t^2)), so its 0.975
# quantile solves t / sqrt(2 + t^2) = 0.95: t = 0.95 sqrt(2 / (1 - 0.95^2)) = 4.3027.
T975_DF2 = 0.95 * np.sqrt(2 / (1 - 0.95**2))


def test_t_interval_known_answer():
    from mec.summary.seeds import t_interval

    n, mean, sd, lo, hi = t_interval([1.0, 2.0, 3.0, np.nan])
    half = T975_DF2 / np.sqrt(3)  # t_{0.975, 2} * sd 1 / sqrt(3)
    assert (n, mean, sd) == (3, 2.0, 1.0)
    assert lo == pytest.approx(2 - half, abs=1e-12) and hi == pytest.approx(2 + half, abs=1e-12)
    assert t_interval([0.5])[1] == 0.5 and np.isnan(t_interval([0.5])[3])
    assert t_interval([])[0] == 0


def _write_scores(path, source, scores, arena=1.0):
    rows = [(arena, "A" if i < 2 else "B", f"c{i}", "grid", source, layer, "ridge", s)
            for layer, layer_scores in scores.items() for i, s in enumerate(layer_scores)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["arena", "animal", "cell_id", "cell_type", "source", "layer", "map",
                                "score"]).to_csv(path, index=False)
    return path


def test_summary_reports_each_model_over_its_seeds(tmp_path):
    """summarize with a model over three seeds and one without: seeds.csv gives the mean and
    t-interval of each seed's best-layer median, seed_values.csv the per-seed rows."""
    from mec.summary import keys_from_paths, model_of_file, summarize

    cons = _write_scores(tmp_path / "consistency" / "1.0.csv", "interanimal_holdout",
                         {"-": [0.8, 0.8, 0.8, 0.8]})
    # medians at the best layer: seed0 .4 (g), seed1 .5 (dc), seed2 .6 (g); single .3
    layers = {0: {"g": [0.4] * 4, "dc": [0.1] * 4}, 1: {"g": [0.2] * 4, "dc": [0.5] * 4},
              2: {"g": [0.6] * 4, "dc": [0.3] * 4}}
    fits = [_write_scores(tmp_path / "fits" / "m" / f"seed{k}_1.0.csv", f"m/seed{k}", layers[k])
            for k in range(3)]
    fits.append(_write_scores(tmp_path / "fits" / "single_1.0.csv", "single", {"g": [0.3] * 4}))
    cfg = {"architecture": "UGRNN", "activation": "relu", "loss": "place_cells", "train_arena": 1.0}
    configs = {f"m/seed{k}": {**cfg, "seed": k} for k in range(3)}
    configs["single"] = {**cfg, "seed": 7}
    # file names of members parse back to their members (results/models/m/seed1/history.csv)
    hist = tmp_path / "models" / "m" / "seed1" / "history.csv"
    rm = tmp_path / "ratemaps" / "m" / "seed2_1.0.h5"
    assert keys_from_paths([hist], [rm], configs) == ({"m/seed1": str(hist)}, {("m/seed2", 1.0): str(rm)})
    assert model_of_file(tmp_path / "health" / "m" / "seed0.h5", configs) == "m/seed0"
    assert model_of_file(tmp_path / "health" / "single.h5", configs) == "single"

    out = tmp_path / "summary"
    summarize([cons], fits, {}, configs, None, {}, out, out / "figures")
    spread = pd.read_csv(out / "seeds.csv")
    row = spread[(spread["model"] == "m") & (spread["measure"] == "score")].iloc[0]
    half = T975_DF2 * 0.1 / np.sqrt(3)  # sd of (.4, .5, .6) is .1
    assert (row["n_seeds"], row["seeds"], row["interval"]) == (3, "0,1,2", "t95")
    assert row["mean"] == pytest.approx(0.5) and row["sd"] == pytest.approx(0.1)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    frac = spread[(spread["model"] == "m") & (spread["measure"] == "fraction_of_ceiling")].iloc[0]
    assert frac["mean"] == pytest.approx(0.5 / 0.8)
    one = spread[(spread["model"] == "single") & (spread["measure"] == "score")].iloc[0]
    assert (one["n_seeds"], str(one["seeds"]), one["mean"]) == (1, "7", pytest.approx(0.3))
    assert np.isnan(one["ci_low"])
    values = pd.read_csv(out / "seed_values.csv")
    per_seed = values[(values["model"] == "m") & (values["measure"] == "score")]
    assert list(per_seed["seed"]) == [0, 1, 2] and list(per_seed["layer"]) == ["g", "dc", "g"]
    assert list(per_seed["member"]) == ["m/seed0", "m/seed1", "m/seed2"]
    assert per_seed["value"].tolist() == pytest.approx([0.4, 0.5, 0.6])
    assert "m trained over several seeds" in (out / "summary.md").read_text()


def test_seed_values_take_health_numbers_and_twins():
    from mec.summary.seeds import seed_spread, seed_values

    best = pd.DataFrame(columns=["model", "arena", "map", "setting", "best_layer", "median",
                                 "normalized", "fraction_of_ceiling"])
    health = pd.DataFrame({
        "model": ["m/seed0", "m/seed1", "m/seed0", "m/seed1"],
        "untrained_twin": ["u/seed0", "u/seed1", "u/seed0", "u/seed1"],
        "arena": [2.2] * 4,
        "measure": ["decoding_error_cm", "decoding_error_cm",
                    "knockout_grid_minus_heterogeneous_cm", "knockout_grid_minus_heterogeneous_cm"],
        "trained": [4.0, 6.0, -0.3, 0.5], "untrained": [90.0, 100.0, np.nan, np.nan]})
    values = seed_values(best, health, {})
    spread = seed_spread(values).set_index(["model", "measure"])
    assert spread.loc[("m", "decoding_error_cm"), "mean"] == pytest.approx(5.0)
    assert spread.loc[("u", "decoding_error_cm"), "mean"] == pytest.approx(95.0)
    assert spread.loc[("m", "knockout_grid_minus_heterogeneous_cm"), "mean"] == pytest.approx(0.1)
    assert ("u", "knockout_grid_minus_heterogeneous_cm") not in spread.index  # no number: no row
    assert spread.loc[("m", "decoding_error_cm"), "map"] == "-"
