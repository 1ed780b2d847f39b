"""The workflow's ensembles (workflow/rules/ensembles.smk): with config ensemble_size > 1 the
networks that differ only in seed are trained in one job per ensemble (rule
train_ensemble_{i}) that writes every member's usual outputs, train_model trains only the
rest, and snakemake -n names the grouping; a tiny run through the rule gives each member the
files train_model gives a network, and a rerun has nothing to do."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def _smk(work: Path, config: Path, *args, dry=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2",
           "--directory", str(work), *(["-n"] if dry else []), *args, "--configfile", str(config)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def _jobs(text: str) -> list[tuple[str, str]]:
    """(rule, output) of every planned job of a dry run, sorted."""
    jobs = []
    for line in text.splitlines():
        if m := re.match(r"^(?:rule|checkpoint|localrule) (\w+):", line):
            jobs.append([m.group(1), ""])
        elif jobs and (m := re.match(r"^\s+output: (.*)$", line)):
            jobs[-1][1] = m.group(1)
    return sorted(map(tuple, jobs))


def _config(tmp_path: Path, ensemble_size: int) -> Path:
    """tests/data/tiny.yaml with 3 seeds of its network, a 4th network of another size (alone),
    an untrained twin with the same 3 seeds, and ``ensemble_size``."""
    cfg = yaml.safe_load(TINY.read_text())
    net = cfg["models"]["tiny_ugrnn"]
    cfg["models"] = {"tiny_ugrnn": {**net, "n_seeds": 3},
                     "tiny_twin": {**net, "n_seeds": 3, "untrained": True},
                     "tiny_wide": {**net, "n_units": 24}}
    cfg["ensemble_size"] = ensemble_size
    path = tmp_path / f"ensembles{ensemble_size}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _outputs(member: str) -> str:
    return ", ".join(f"results/models/{member}/{f}" for f in ("model.keras", "config.json", "history.csv"))


@pytest.mark.slow
def test_ensembles_are_planned_as_one_job_each(tmp_path):
    targets = [f"results/models/{m}/model.keras" for m in
               ("tiny_ugrnn/seed0", "tiny_ugrnn/seed1", "tiny_ugrnn/seed2", "tiny_twin/seed1", "tiny_wide")]
    text = _smk(tmp_path, _config(tmp_path, 2), *targets)
    train = [j for j in _jobs(text) if j[0].startswith("train_")]
    # seeds 0 and 1 in one ensemble, seed 2 in a second (of one network: train_model), the
    # other size and the untrained twin alone
    assert train == [("train_ensemble_0", _outputs("tiny_ugrnn/seed0") + ", " + _outputs("tiny_ugrnn/seed1")),
                     ("train_model", _outputs("tiny_twin/seed1")),
                     ("train_model", _outputs("tiny_ugrnn/seed2")),
                     ("train_model", _outputs("tiny_wide"))]
    plan = next(line for line in text.splitlines() if line.startswith("mec: training plan"))
    assert "4 network(s) to train" in plan and "in 3 training job(s): 1 ensemble(s)" in plan
    assert "train_ensemble_0: tiny_ugrnn/seed0, tiny_ugrnn/seed1]" in plan
    assert "2 network(s) alone (rule train_model)" in plan
    # ensemble_size 3 takes all three seeds; 1 (the default) trains every network alone
    text = _smk(tmp_path, _config(tmp_path, 3), *targets)
    assert [j[0] for j in _jobs(text) if j[0].startswith("train_")] == [
        "train_ensemble_0", "train_model", "train_model"]
    text = _smk(tmp_path, _config(tmp_path, 1), *targets)
    assert [j[0] for j in _jobs(text) if j[0].startswith("train_")] == ["train_model"] * 5
    assert "ensemble" not in next(line for line in text.splitlines()
                                  if line.startswith("mec: training plan"))


@pytest.mark.slow
def test_tiny_ensemble_through_the_rule(tmp_path):
    """One ensemble job trains the 3 seeds: each member gets train_model's files (config.json
    with its own seed and name, a full history, its checkpoints), its rate maps follow as for
    any network, and a rerun has nothing to do."""
    config = _config(tmp_path, 3)
    targets = [f"results/ratemaps/tiny_ugrnn/seed{k}_1.0.h5" for k in range(3)]
    _smk(tmp_path, config, *targets, dry=False)
    res = tmp_path / "results"
    log = (res / "logs" / "train_ensemble" / "ensemble0.log").read_text()
    assert "ensemble of 3: tiny_ugrnn/seed0, tiny_ugrnn/seed1, tiny_ugrnn/seed2" in log
    assert not (res / "logs" / "train_model").exists()
    assert (res / "benchmarks" / "train_ensemble" / "ensemble0.tsv").is_file()
    histories = []
    for k in range(3):
        run = res / "models" / "tiny_ugrnn" / f"seed{k}"
        cfg = json.loads((run / "config.json").read_text())
        assert cfg["model"]["seed"] == k and cfg["extra"]["name"] == f"tiny_ugrnn/seed{k}"
        hist = pd.read_csv(run / "history.csv")
        assert list(hist["epoch"]) == [1, 2]  # scale tiny: 2 epochs
        histories.append(tuple(hist["loss"]))
        assert (run / "checkpoints").is_dir() and (res / "ratemaps" / "tiny_ugrnn" / f"seed{k}_1.0.h5").is_file()
    assert len(set(histories)) == 3  # three networks, not one written three times
    again = _smk(tmp_path, config, *targets)
    assert "Nothing to be done" in again
