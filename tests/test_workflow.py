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
from conftest import requires_shared

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
    # the demo model's three seeds in one ensemble (config ensemble_size 3); its untrained
    # twin's three seeds each save their initialisation
    assert jobs.get("train_ensemble_0") == 1
    assert jobs.get("train_model") == 3
    assert jobs.get("export_ratemaps") == 12    # 2 models x 3 seeds, in both arenas
    assert jobs.get("fit_model") == 12
    assert jobs.get("summarize") == 1


def test_one_fit_builds_only_what_it_needs(tmp_path):
    proc = smk("-n", "--cores", "2", "--directory", str(tmp_path),
               "results/fits/ugrnn_relu_2.2.csv", check=True)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    # the single-seed name is a copy of the first seed's fit (config: n_seeds 3)
    assert jobs.get("first_seed_fit") == 1
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
    (["--set-threads", "train_model=4", "-n"], "export_ratemaps, export_training_box, knockouts"),
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
def tiny_run(tmp_path_factory, worker_id):
    """Run the whole workflow once on the tiny experiment (a minute or two on 2 cores).

    Under pytest-xdist the workers share one run: the first to get here makes it under a
    file lock, the others reuse it (the suite pays for it once). Tests that run more jobs
    do so in a copy (``_copy_run``), never in this folder.
    """
    import fcntl
    import types

    root = (tmp_path_factory.mktemp("tiny_shared") if worker_id == "master"
            else tmp_path_factory.getbasetemp().parent)  # shared by this session's workers
    work, out = root / "tiny_run", root / "tiny_run.out"
    with open(root / "tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            work.mkdir(exist_ok=True)
            proc = smk("--cores", "2", "--directory", str(work), "--configfile", str(TINY),
                       timeout=1200)
            assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
            out.write_text(proc.stdout + proc.stderr)
    return work, types.SimpleNamespace(stdout=out.read_text(), stderr="")


def _copy_run(work: Path, dest: Path) -> Path:
    """A copy of a finished run (outputs with their times, and Snakemake's records)."""
    shutil.copytree(work / "results", dest / "results")
    shutil.copytree(work / ".snakemake" / "metadata", dest / ".snakemake" / "metadata")
    return dest


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
    from mec.constants import ALPHA_RNG_SHORT, L1_RATIO_RNG_SHORT
    en = pd.concat([pd.read_csv(res / "elasticnet" / "1.0" / f"{a}.csv") for a in animals])
    assert len(en) == n_cells * cfg["fits"]["num_splits"]
    assert np.isin(np.round(en["alpha"], 12), np.round(ALPHA_RNG_SHORT, 12)).all()
    assert np.isin(np.round(en["l1_ratio"], 12), np.round(L1_RATIO_RNG_SHORT, 12)).all()

    # Every table has both settings (methods §7.2); the ElasticNet map is the paper setting's only.
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


@pytest.mark.slow
def test_only_training_settings_retrain(tiny_run, tmp_path):
    """Issue 12: a rate-map setting (n_eval_batches) or a scale's name never retrains a model,
    and a forced rerun of a finished train_model rewrites its outputs from the checkpoints (it
    used to end in MissingOutputException) with the same weights."""
    work = _copy_run(tiny_run[0], tmp_path / "work")
    from mec.models.scales import PRESETS

    cfg = yaml.safe_load(TINY.read_text())
    tiny = PRESETS[cfg["models"]["tiny_ugrnn"]["scale"]]
    cfg["scales"] = {"renamed": dict(tiny, n_eval_batches=tiny["n_eval_batches"] + 1)}
    cfg["models"]["tiny_ugrnn"]["scale"] = "renamed"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(cfg))  # sorted keys: the order of a config's keys retrains nothing
    plan = smk("-n", "--cores", "1", "--directory", str(work), "--configfile", str(changed), check=True)
    jobs = planned_jobs(plan.stdout + plan.stderr)
    assert "train_model" not in jobs and jobs.get("export_ratemaps", 0) >= 1, jobs

    run = work / "results" / "models" / "tiny_ugrnn"
    from mec.models.utils import load_trained_model
    before = load_trained_model(load_dir=run.parent, run_ID=run.name).keras_model.get_weights()
    smk("--cores", "1", "--directory", str(work), "--configfile", str(TINY), "--forcerun", "train_model",
        "results/models/tiny_ugrnn/model.keras", check=True)
    log = (work / "results" / "logs" / "train_model" / "tiny_ugrnn.log").read_text()
    assert "Nothing left to train" in log
    after = load_trained_model(load_dir=run.parent, run_ID=run.name).keras_model.get_weights()
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


# --- mistakes caught before training; experiments kept apart ----------------------------------

@pytest.mark.parametrize("changes,expect", [
    ({"dataset.source": "kavli", "dataset.arenas": {"1.0": {"shape": "square"}},
      "dataset.recordings.paths": ["nowhere"]},
     r"config dataset.recordings.paths: 'nowhere' \(resolved to .*/nowhere.*does not exist"),
    ({"dataset.source": "hdf5", "dataset.arenas": {"1.0": {"shape": "square"}}},
     r"config dataset.recordings.paths: dataset.source 'hdf5' needs the recordings"),
    ({"dataset.arenas": {"wide": {"shape": "rectangle", "width": 1.0}}},
     # listed with the other problem this change makes (elasticnet.arenas names "1.0")
     r"  - dataset.arenas.wide: arena 'wide': a rectangle needs \['height'\]"),
    ({"experiment": "models"}, r"config experiment: 'models' is a folder of the default"),
])
def test_recording_mistakes_stop_planning(tmp_path, changes, expect):
    cfg = write_config(tmp_path, **changes)
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(cfg))
    assert proc.returncode != 0
    assert re.search(expect, proc.stdout + proc.stderr), proc.stderr[-2000:]
    assert not (tmp_path / "results").exists()


def _tiny_with(dataset: dict, experiment=None) -> dict:
    cfg = yaml.safe_load(TINY.read_text())
    cfg["dataset"] = dataset
    if experiment:
        cfg["experiment"] = experiment
    return cfg


@pytest.mark.slow
def test_data_errors_stop_before_any_training(tmp_path):
    """Duplicate cell ids are found by make_dataset; even with --keep-going no training job
    starts (train_model waits for the dataset)."""
    from mec.data.loaders import Session
    from mec.data.loaders.generic import save_generic

    rng = np.random.default_rng(0)
    t = np.arange(3000) * 0.02
    for k, f in enumerate(("a.npz", "b.npz")):
        pos = rng.uniform(-0.5, 0.5, (3000, 2))
        save_generic(tmp_path / f, [Session(name="s1", animal=f"rat{k}", times=t, positions=pos,
                                            cell_ids=["s1_c0"], spike_times=[t[::7]])])
    cfg = tmp_path / "dup.yaml"
    cfg.write_text(yaml.safe_dump(_tiny_with(
        {"name": "dup", "source": "generic", "arenas": {"1.0": {"shape": "square"}},
         "recordings": {"paths": ["a.npz", "b.npz"]}})))
    proc = smk("--cores", "2", "--keep-going", "--directory", str(tmp_path / "work"),
               "--configfile", str(cfg))
    assert proc.returncode != 0
    log = (tmp_path / "work" / "results" / "logs" / "make_dataset" / "dup.log").read_text()
    assert re.search(r"cell id 's1_c0' appears in session s1 \(.*a.npz.*\) and in session s1 "
                     r"\(.*b.npz", log), log[-2000:]
    assert not (tmp_path / "work" / "results" / "models").exists()
    assert not (tmp_path / "work" / "results" / "logs" / "train_model").exists()


def _readme_block(marker: str) -> str:
    """A code block of the documentation (README.md or docs/*.md) by its first line."""
    from doctext import doc_text

    m = re.search(r"```\w+\n# " + re.escape(marker) + r"\n(.*?)```", doc_text(), re.S)
    assert m, f"documented block {marker!r} not found"
    return m.group(1)


def _snapshot(folder: Path, skip: Path) -> dict:
    import hashlib

    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns,
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file() and skip not in p.parents}


@pytest.mark.slow
def test_second_experiment_leaves_the_first_intact_and_runs_a_rectangle(tiny_run, tmp_path):
    """The tiny default-like run (results/), then the documented rectangular-arena example
    (docs/recordings.md) as a second experiment (results/wide_box/): both results intact, the
    rectangle end to end."""
    sargolini = ROOT / ".." / "shared" / "data" / "sargolini2006"
    requires_shared(sargolini)
    work = _copy_run(tiny_run[0], tmp_path / "work")
    first = _snapshot(work / "results", work / "results" / "wide_box")
    assert any(k.startswith("fits/") for k in first)
    # The README's worked example: recordings, then its config on the tiny models.
    code = _readme_block("example: rectangle recordings")
    code = code.replace('"../shared/data/sargolini2006"', repr(str(sargolini)))
    code = code.replace('Path("my_recordings")', f"Path({str(tmp_path / 'my_recordings')!r})")
    exec(compile(code, "README example", "exec"), {})
    example = yaml.safe_load(_readme_block("example: rectangle config"))
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    cfg = _tiny_with(example["dataset"], example["experiment"])
    cfg["dataset"]["recordings"]["hd_shuffles"] = 20
    (cfg_dir / "wide_box.yaml").write_text(yaml.safe_dump(cfg))
    proc = smk("--cores", "2", "--directory", str(work), "--configfile",
               str(cfg_dir / "wide_box.yaml"), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "results/wide_box/summary/" in proc.stdout + proc.stderr
    # The first experiment's files are untouched (same bytes, same times).
    assert _snapshot(work / "results", work / "results" / "wide_box") == first
    res = work / "results" / "wide_box"
    from mec.data import load_dataset
    from mec.ratemaps import load_model_ratemaps

    ds = load_dataset(res / "data" / "wide_box.h5")
    assert list(ds) == ["wide"] and len(ds["wide"]) == 4
    xe, ye = ds.edges["wide"]
    _, (mx, my), attrs = load_model_ratemaps(res / "ratemaps" / "tiny_ugrnn_wide.h5")
    np.testing.assert_array_equal(mx, xe)          # the model walked the same 1.0 x 0.95 box
    np.testing.assert_array_equal(my, ye)
    # the README's example box (1.0 x 0.95 m since the example changed; 20 x 19 bins)
    assert (len(mx), len(my)) == (21, 20) and attrs["condition"] == "generalization"
    fits = pd.read_csv(res / "fits" / "tiny_ugrnn_wide.csv")
    assert set(fits["arena"]) == {"wide"} and len(fits) == 11 * 2 * (3 + 2)  # paper + robust
    cons = pd.read_csv(res / "consistency" / "wide.csv")
    assert set(cons["map"]) == {"ridge", "corr", "elasticnet"}
    pred = pd.read_csv(res / "summary" / "predictivity.csv")
    assert set(pred["arena"]) == {"wide"} and pred["fraction_of_ceiling"].notna().any()
    assert (res / "summary" / "figures" / "scatter" / "tiny_ugrnn_wide.png").exists()
    log = (res / "logs" / "make_dataset" / "wide_box.log").read_text()
    assert "arena wide: rectangle 100 x 95 cm; 20 x 19 bins of 5 x 5 cm" in log
    # no data arena is the model's 1.0 m training box: model health reads maps made there
    _, (hx, hy), hattrs = load_model_ratemaps(res / "health" / "tiny_ugrnn.h5")
    assert (hx[0], hx[-1], len(hx)) == (-0.5, 0.5, 21) and hattrs["condition"] == "trained"
    health = pd.read_csv(res / "summary" / "model_health.csv")
    assert set(health["arena"].astype(str)) == {"1.0"}, health
    assert not (work / "results" / "health").exists()  # the first experiment's box is an arena
    # Both experiments are complete: nothing to redo for either.
    for config in (cfg_dir / "wide_box.yaml", TINY):
        again = smk("-n", "--cores", "1", "--directory", str(work), "--configfile", str(config))
        assert "Nothing to be done" in again.stdout + again.stderr, config


# --- external models (mec.models.external) ------------------------------------------------------

def test_external_models_are_imported_not_trained_and_bad_ones_stop_planning(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["models"]["grid_ref"] = {"source": "ratinabox", "population": "grid"}
    cfg["models"]["toy"] = {"source": "python", "callable": "tests.test_external:toy_callable"}
    path = tmp_path / "ext.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(path), check=True)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["import_model"] == 2 and jobs["train_model"] == 1 and jobs["fit_model"] == 3
    # a missing file and a malformed callable: one error before any job, naming both
    cfg["models"]["toy"]["callable"] = "no_such_module_x:f"
    cfg["models"]["maps"] = {"source": "ratemaps", "path": "missing.h5"}
    path.write_text(yaml.safe_dump(cfg))
    proc = smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile", str(path))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and not (tmp_path / "results").exists()
    assert "models.maps.path: 'missing.h5' (resolved to" in out
    assert "models.toy.callable: module 'no_such_module_x'" in out


@pytest.mark.slow
def test_score_equals_the_workflow_table(tiny_run):
    """mec.score of the tiny run's network, given as its rate-map file, is the run's
    best_layer.csv (the maps the summary fitted; the ElasticNet map is the workflow's only)."""
    import mec

    res = tiny_run[0] / "results"
    got = mec.score({"source": "ratemaps", "path": str(res / "ratemaps" / "tiny_ugrnn_1.0.h5"),
                     "layers": ["g", "dc"]}, res / "data" / "tiny.h5", config=TINY, name="tiny_ugrnn")
    wf = pd.read_csv(res / "summary" / "best_layer.csv")
    m = got.merge(wf[wf["model"] == "tiny_ugrnn"], on=["model", "arena", "map", "setting"],
                  suffixes=("", "_wf"))
    assert len(m) == len(got) == 4  # ridge, corr x paper, robust
    # the intervals too: the bootstrap draws follow the cells and the config's seed (mec.stats)
    for col in ("median", "ci_low", "ci_high", "ceiling", "floor", "normalized"):
        np.testing.assert_allclose(m[col], m[f"{col}_wf"], rtol=0, atol=1e-12, equal_nan=True)
    assert (m["best_layer"] == m["best_layer_wf"]).all()
