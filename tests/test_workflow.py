"""The Snakemake workflow: config validation, planning, lint, profiles, a tiny real run."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def smk(*args, cwd=ROOT, timeout=600, check=False):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([*SNAKEMAKE, "-s", str(ROOT / "Snakefile"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def write_config(tmp_path, **changes):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def planned_jobs(output: str) -> dict:
    """Parse the 'Job stats' table of a dry run into {rule: count}."""
    jobs = {}
    for line in output.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def test_dry_run_plans_default_workflow(tmp_path):
    proc = smk("-n", "--cores", "2", "--directory", str(tmp_path), check=True)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs.get("make_dataset") == 1
    assert jobs.get("train_model") == 1
    assert jobs.get("summarize") == 1


def test_one_fit_builds_only_what_it_needs(tmp_path):
    proc = smk("-n", "--cores", "2", "--directory", str(tmp_path),
               "results/fits/ugrnn_relu_2.2.csv", check=True)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs.get("fit_model") == 1
    assert jobs.get("export_ratemaps") == 1
    assert "summarize" not in jobs and "interanimal" not in jobs


def test_lint_is_clean():
    proc = smk("--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("key,value,expect", [
    ("fits.num_split", 3, "num_split"),                 # typo: unknown key
    ("fits.num_splits", "ten", "ten"),                  # wrong type
    ("models.ugrnn_relu.activation", "relux", "relux"),  # not an allowed value
    ("dataset.arenas", {"big": {"shape": "square"}}, "big"),
    ("models.ugrnn_relu.scale", "huge", "huge"),        # unknown scale (checked in common.smk)
])
def test_bad_config_stops_before_any_job(tmp_path, key, value, expect):
    cfg = write_config(tmp_path, **{key: value})
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(cfg))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expect in out
    assert not (tmp_path / "results").exists()


SLURM_PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"


def render_slurm_profile(monkeypatch, argv=("snakemake",), **env):
    """The SLURM profile as Snakemake sees it (a YTE template, rendered), for a command line
    ``argv`` and MEC_SLURM_* environment overrides ``env``."""
    import yte

    for var in [v for v in os.environ if v.startswith("MEC_SLURM_")]:
        monkeypatch.delenv(var)
    for key, value in env.items():
        monkeypatch.setenv(f"MEC_SLURM_{key.upper()}", str(value))
    monkeypatch.setattr(sys, "argv", list(argv))
    with open(SLURM_PROFILE) as f:
        return yte.process_yaml(f, require_use_yte=True)


def gpu_rules_of_workflow():
    """Rules whose resources declare gpu=1, read from workflow/rules/*.smk."""
    found = set()
    for smk_file in (ROOT / "workflow" / "rules").glob("*.smk"):
        blocks = re.split(r"^(?:rule|checkpoint) ", smk_file.read_text(), flags=re.M)[1:]
        for block in blocks:
            name = block.split(":", 1)[0].strip()
            if re.search(r"^\s+gpu\s*=\s*1\b", block, flags=re.M):
                found.add(name)
    return found


def test_slurm_profile_parses_and_plans_the_same_jobs(tmp_path, monkeypatch):
    plain = smk("-n", "--cores", "2", "--directory", str(tmp_path), check=True)
    slurm = smk("-n", "--profile", str(ROOT / "profiles" / "slurm"), "--directory",
                str(tmp_path), check=True)
    profile = render_slurm_profile(monkeypatch)
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"  # works without accounting too
    assert planned_jobs(plain.stdout + plain.stderr) == planned_jobs(slurm.stdout + slurm.stderr)


def test_slurm_profile_sends_every_gpu_rule_to_the_gpu_partition(monkeypatch):
    gpu_rules = gpu_rules_of_workflow()
    assert {"train_model", "export_ratemaps", "knockouts"} <= gpu_rules
    profile = render_slurm_profile(monkeypatch)
    assert set(profile["set-resources"]) == gpu_rules
    for rule in gpu_rules:
        res = profile["set-resources"][rule]
        # default: --gres=gpu:1 (every SelectType), not --gpus (cons_tres only)
        assert res["slurm_partition"] == "gpu" and res["gres"] == "gpu:1" and res["gpu"] == 0
        assert profile["set-threads"][rule] == 2
    assert "slurm_partition" not in profile["default-resources"]  # the cluster's default
    assert "slurm_account" not in profile["default-resources"]
    gpus = render_slurm_profile(monkeypatch, gpu_request="gpus", gpu_type="a100")
    assert gpus["set-resources"]["train_model"]["gpu"] == 1
    assert gpus["set-resources"]["train_model"]["gpu_model"] == "a100"
    assert "gres" not in gpus["set-resources"]["train_model"]
    typed = render_slurm_profile(monkeypatch, gpu_type="a100")
    assert typed["set-resources"]["knockouts"]["gres"] == "gpu:a100:1"


def test_slurm_profile_environment_overrides_one_key(monkeypatch):
    p = render_slurm_profile(monkeypatch, account="lab123", cpu_partition="short",
                             train_runtime="1440")
    assert p["default-resources"]["slurm_account"] == "lab123"
    assert p["default-resources"]["slurm_partition"] == "short"
    assert p["set-resources"]["train_model"]["runtime"] == 1440
    assert p["set-resources"]["export_ratemaps"]["runtime"] == 120  # untouched


@pytest.mark.parametrize("env,expect", [
    ({"train_runtime": "12h"}, "MEC_SLURM_TRAIN_RUNTIME='12h'"),
    ({"gpu_request": "gpu"}, "gpu_request='gpu'"),
    ({"status_command": "sstat"}, "status_command='sstat'"),
])
def test_slurm_profile_bad_site_values_name_key_and_value(monkeypatch, env, expect):
    with pytest.raises(Exception, match=re.escape(expect)):
        render_slurm_profile(monkeypatch, **env)


@pytest.mark.parametrize("argv,lost", [
    (["--default-resources", "slurm_account=lab"], "mem_mb, runtime"),
    (["--default-res=slurm_account=lab"], "mem_mb, runtime"),
    (["--set-threads", "train_model=4", "-n"], "export_ratemaps, knockouts"),
    (["--set-resources", "train_model:runtime=60"], "train_model:mem_mb"),
])
def test_slurm_profile_refuses_command_line_blocks_that_drop_its_keys(monkeypatch, argv, lost):
    with pytest.raises(Exception, match=re.escape(lost)):
        render_slurm_profile(monkeypatch, ["snakemake", "--profile", "x", *argv])
    # repeating every key is a deliberate full replacement: accepted
    full = ["--default-resources", "slurm_account=lab", "mem_mb=1000", "runtime=60"]
    render_slurm_profile(monkeypatch, ["snakemake", *full])
    # inside a SLURM job the executor passes resolved resources itself
    render_slurm_profile(monkeypatch, ["snakemake", "--executor", "slurm-jobstep", *argv])


def test_slurm_profile_refusal_reaches_the_user(tmp_path):
    proc = smk("-n", "--profile", str(ROOT / "profiles" / "slurm"), "--directory",
               str(tmp_path), "--default-resources", "slurm_account=lab")
    assert proc.returncode != 0
    assert "would drop mem_mb, runtime" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Run the whole workflow once on the tiny experiment (about a minute on 2 cores)."""
    work = tmp_path_factory.mktemp("tiny_run")
    proc = smk("--cores", "2", "--directory", str(work), "--configfile", str(TINY),
               timeout=1200)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return work, proc


@pytest.mark.slow
def test_tiny_end_to_end(tiny_run):
    work, proc = tiny_run
    res = work / "results"
    assert "results/summary/" in proc.stdout + proc.stderr  # tells the user where to look
    cfg = yaml.safe_load(TINY.read_text())

    from mec.data import load_dataset
    ds = load_dataset(res / "data" / "tiny.h5")
    animals = sorted(ds[1.0])
    assert len(animals) == cfg["dataset"]["synthetic"]["n_animals"]
    n_cells = sum(len(ds[1.0][a]["cell_ids"]) for a in animals)

    # One ElasticNet row per cell and split, chosen from the short grid.
    from mec.core.constants import ALPHA_RNG_SHORT, L1_RATIO_RNG_SHORT
    en = pd.concat([pd.read_csv(res / "elasticnet" / "1.0" / f"{a}.csv") for a in animals])
    assert len(en) == n_cells * cfg["fits"]["num_splits"]
    assert np.isin(np.round(en["alpha"], 12), np.round(ALPHA_RNG_SHORT, 12)).all()
    assert np.isin(np.round(en["l1_ratio"], 12), np.round(L1_RATIO_RNG_SHORT, 12)).all()

    cons = pd.read_csv(res / "consistency" / "1.0.csv")
    assert set(cons["map"]) == {"ridge", "corr", "elasticnet"}
    assert (cons.groupby("map").size() == n_cells).all()
    assert cons["score"].dropna().between(-1, 1).all()
    assert cons.groupby("map")["score"].median().min() > 0.2  # animals share structure

    fits = pd.read_csv(res / "fits" / "tiny_ugrnn_1.0.csv")
    assert set(fits["layer"]) == {"g", "dc"}
    assert len(fits) == n_cells * 2 * 3
    assert list(fits.columns) == ["arena", "animal", "cell_id", "cell_type", "source", "layer",
                                  "map", "score"]

    ceiling = pd.read_csv(res / "summary" / "ceiling.csv")
    ridge = ceiling[ceiling["map"] == "ridge"]["ceiling"].item()
    assert np.isclose(ridge, cons[cons["map"] == "ridge"]["score"].median())
    for kind in ("data_ratemaps", "unit_gallery", "scatter", "distributions", "training"):
        assert list((res / "summary" / "figures" / kind).glob("*.png")), kind

    # Every job's log names its executor (local here) and its thread budget, which BLAS
    # follows; the summary collects them.
    executors = pd.read_csv(res / "summary" / "executors.csv", dtype=str)
    logs = sorted((res / "logs").glob("*/*.log"))
    assert len(executors) == len(logs) > 0 and (executors["executor"] == "local").all()
    fit_log = (res / "logs" / "fit_model" / "tiny_ugrnn_1.0.log").read_text().splitlines()
    assert fit_log[0].startswith("# mec job:") and "executor=local" in fit_log[0]
    assert fit_log[1].startswith("# mec threads: threads=1 blas=openblas:1")
    train = executors[executors["rule"] == "train_model"]
    assert list(train["threads"]) == ["2"]
    assert "Executors: " in (res / "summary" / "summary.md").read_text()

    # A rerun has nothing to do; the report is one self-contained file.
    again = smk("-n", "--cores", "1", "--directory", str(work), "--configfile", str(TINY))
    assert "Nothing to be done" in again.stdout + again.stderr
    report = smk("--directory", str(work), "--configfile", str(TINY), "--report",
                 str(work / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    assert (work / "report.html").stat().st_size > 100_000
