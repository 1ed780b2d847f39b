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
    ("fits.blocks.guard_bins", 1, "guard band of 1 bin"),  # narrower than the smoothing radius
])
def test_bad_config_stops_before_any_job(tmp_path, key, value, expect):
    cfg = write_config(tmp_path, **{key: value})
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(cfg))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert expect in out
    assert not (tmp_path / "results").exists()


def test_slurm_profile_parses_and_plans_the_same_jobs(tmp_path):
    plain = smk("-n", "--cores", "2", "--directory", str(tmp_path), check=True)
    slurm = smk("-n", "--profile", str(ROOT / "profiles" / "slurm"), "--directory",
                str(tmp_path), check=True)
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["set-resources"]["train_model"]["slurm_partition"] == "gpu"
    assert planned_jobs(plain.stdout + plain.stderr) == planned_jobs(slurm.stdout + slurm.stderr)


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

    # Every table has both settings (issue 13); the ElasticNet map is the paper setting's only.
    all_cons = pd.read_csv(res / "consistency" / "1.0.csv")
    assert all_cons.groupby("setting")["map"].agg(set).to_dict() == {
        "paper": {"ridge", "corr", "elasticnet"}, "robust": {"ridge", "corr"}}
    cons = all_cons[all_cons["setting"] == "paper"]
    assert (cons.groupby("map").size() == n_cells).all()
    assert all_cons["score"].dropna().between(-1, 1).all()
    assert cons.groupby("map")["score"].median().min() > 0.2  # animals share structure

    fits = pd.read_csv(res / "fits" / "tiny_ugrnn_1.0.csv")
    assert set(fits["layer"]) == {"g", "dc"}
    assert len(fits) == n_cells * 2 * (3 + 2)
    assert list(fits.columns) == ["arena", "animal", "cell_id", "cell_type", "source", "layer",
                                  "map", "setting", "score"]
    floors = pd.read_csv(res / "floors" / "1.0.csv")
    assert set(floors["source"]) == {"control_poisson", "control_permuted"}
    assert len(floors) == n_cells * 2 * (3 + 2)

    ceiling = pd.read_csv(res / "summary" / "ceiling.csv")
    ridge = ceiling[(ceiling["map"] == "ridge") & (ceiling["setting"] == "paper")]
    assert np.isclose(ridge["ceiling"].item(), cons[cons["map"] == "ridge"]["score"].median())
    assert np.isfinite(ridge["floor"].item())
    assert (res / "summary" / "summary.md").read_text().splitlines()[2].startswith("## Headline")
    for kind in ("data_ratemaps", "unit_gallery", "scatter", "distributions", "training",
                 "headline"):
        assert list((res / "summary" / "figures" / kind).glob("*.png")), kind

    # A rerun has nothing to do; the report is one self-contained file.
    again = smk("-n", "--cores", "1", "--directory", str(work), "--configfile", str(TINY))
    assert "Nothing to be done" in again.stdout + again.stderr
    report = smk("--directory", str(work), "--configfile", str(TINY), "--report",
                 str(work / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    assert (work / "report.html").stat().st_size > 100_000
