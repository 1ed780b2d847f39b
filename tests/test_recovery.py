"""A run killed outright (SIGKILL of the whole process group, as a crashed node or `kill -9`
does) is recovered by the same command: the Snakefile removes the killed run's lock when it
can prove that run over (mec.runlock), the default workflow profile reruns its incomplete
jobs (profiles/default/), and training resumes from its last checkpoint, bit-identical to an
uninterrupted run. README "Troubleshooting"."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from mec.runlock import LOCKS_DIR, RUNS_DIR, check_lock, lock_state, record_run
from test_workflow import tiny_run  # noqa: F401  (the uninterrupted tiny run, one per session)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
MODEL = Path("results") / "models" / "tiny_ugrnn"


# --- mec.runlock on its own ----------------------------------------------------------------
def _lock(work: Path, name="0.output.lock") -> Path:
    (work / LOCKS_DIR).mkdir(parents=True, exist_ok=True)
    p = work / LOCKS_DIR / name
    p.write_text(str(work / "results" / "x.csv") + "\n")
    return p


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_no_lock_no_message(tmp_path):
    assert lock_state(tmp_path).state == "free"
    assert check_lock(tmp_path, ["snakemake"]) is None


def test_lock_of_a_killed_local_run_is_removed(tmp_path):
    lock = _lock(tmp_path)
    rec = record_run(tmp_path, ["snakemake", "--cores", "2"], local_jobs=True)
    data = json.loads(rec.read_text())
    data["pid"] = _dead_pid()  # the run that took the lock is gone
    rec.write_text(json.dumps(data))
    msg = check_lock(tmp_path, ["snakemake", "--cores", "2"])
    assert msg.startswith("mec: removed the lock of a run that was killed"), msg
    assert "snakemake --cores 2" in msg
    assert not lock.exists() and not rec.exists()


def test_lock_of_a_live_run_is_kept_and_the_command_named(tmp_path):
    lock = _lock(tmp_path)
    record_run(tmp_path, ["snakemake", "--cores", "2"], local_jobs=True)  # this process: alive
    msg = check_lock(tmp_path, ["snakemake", "--cores", "2", "--configfile", "my config.yaml"])
    assert lock.exists()
    assert f"the run of pid {os.getpid()} on {socket.gethostname()} is still running" in msg
    assert "snakemake --unlock --cores 2 --configfile 'my config.yaml'" in msg, msg


@pytest.mark.parametrize("change,reason", [
    ({"host": "elsewhere"}, "another host or boot"),
    ({"local_jobs": False}, "sent its jobs to a cluster"),
    ({"started": 0.0}, "were written after the last recorded run started"),
])
def test_locks_that_cannot_be_proven_stale_are_kept(tmp_path, change, reason):
    lock = _lock(tmp_path)
    rec = record_run(tmp_path, ["snakemake"], local_jobs=True)
    data = dict(json.loads(rec.read_text()), pid=_dead_pid(), **change)
    rec.write_text(json.dumps(data))
    msg = check_lock(tmp_path, ["snakemake"])
    assert lock.exists() and reason in msg, msg
    assert "snakemake --unlock" in msg


def test_lock_with_no_record_is_kept(tmp_path):
    lock = _lock(tmp_path)
    msg = check_lock(tmp_path, ["snakemake", "-n"])
    assert lock.exists() and "no run recorded taking it" in msg and "snakemake --unlock -n" in msg


def test_a_job_left_running_keeps_the_lock(tmp_path):
    """Only the main Snakemake was killed: its job still runs in the folder."""
    lock = _lock(tmp_path)
    rec = record_run(tmp_path, ["snakemake"], local_jobs=True)
    rec.write_text(json.dumps(dict(json.loads(rec.read_text()), pid=_dead_pid())))
    (tmp_path / ".snakemake" / "scripts").mkdir(parents=True)
    script = tmp_path / ".snakemake" / "scripts" / "tmpjob.train_model.py"
    script.write_text("import time; time.sleep(60)")
    job = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    try:
        time.sleep(0.2)
        msg = check_lock(tmp_path, ["snakemake"])
        assert lock.exists() and f"a process still runs in this folder: pid {job.pid}" in msg, msg
    finally:
        job.kill()
        job.wait()
    assert check_lock(tmp_path, ["snakemake"]).startswith("mec: removed the lock")


def test_records_of_finished_runs_are_forgotten(tmp_path):
    rec = record_run(tmp_path, ["snakemake"], local_jobs=True)
    rec.write_text(json.dumps(dict(json.loads(rec.read_text()), pid=_dead_pid())))
    assert check_lock(tmp_path, ["snakemake"]) is None and not rec.exists()
    assert list((tmp_path / RUNS_DIR).glob("*.json")) == []


# --- the whole run, killed ------------------------------------------------------------------
def _config(tmp_path: Path) -> Path:
    """tiny.yaml with six epochs, so that the kill lands inside training."""
    from mec.models.scales import PRESETS

    cfg = yaml.safe_load(TINY.read_text())
    cfg["scales"] = {"killable": dict(PRESETS["tiny"], epochs=6)}
    cfg["models"]["tiny_ugrnn"]["scale"] = "killable"
    path = tmp_path / "killable.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _command(work: Path, cfg: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", str(MODEL / "model.keras"), "-s",
            str(ROOT / "Snakefile"), "--cores", "2", "--directory", str(work), "--configfile", str(cfg)]


def _env():
    return dict(os.environ, PYTHONUNBUFFERED="1", CUDA_VISIBLE_DEVICES="")


@pytest.mark.slow
def test_sigkill_during_training_is_recovered_by_the_same_command(tmp_path):
    cfg = _config(tmp_path)
    ref, work = tmp_path / "ref", tmp_path / "work"
    done = subprocess.run(_command(ref, cfg), env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]

    proc = subprocess.Popen(_command(work, cfg), env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = work / MODEL / "checkpoints"
    deadline = time.time() + 600
    try:  # the whole process group, inside training: epoch 2's weights, no model yet
        while not (ckpt / "epoch_0002.weights.npz").exists():
            assert proc.poll() is None and time.time() < deadline, "training ended before the kill"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not (work / MODEL / "model.keras").exists()
    assert list((work / LOCKS_DIR).glob("*.lock")), "the kill left no lock: nothing tested"

    again = subprocess.run(_command(work, cfg), env=_env(), capture_output=True, text=True, timeout=900)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-4000:]
    assert "mec: removed the lock of a run that was killed" in out
    assert "IncompleteFilesException" not in out and "LockException" not in out
    log = (work / "results" / "logs" / "train_model" / "tiny_ugrnn.log").read_text()
    assert "Resuming from epoch" in log, log[-2000:]

    from mec.models.utils import load_trained_model

    got = load_trained_model(load_dir=work / MODEL.parent, run_ID=MODEL.name).keras_model.get_weights()
    want = load_trained_model(load_dir=ref / MODEL.parent, run_ID=MODEL.name).keras_model.get_weights()
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)  # same machine, same code: bit for bit
    assert (work / MODEL / "history.csv").read_text() == (ref / MODEL / "history.csv").read_text()


@pytest.mark.slow
def test_sigkill_during_the_dataset_write_is_recovered_by_the_same_command(tiny_run, tmp_path):  # noqa: F811
    """Killed while make_dataset runs (its log begun, its file not yet written; a kill inside
    the write itself, which lasts milliseconds, was checked by hand and leaves the same
    state plus a temporary file that the job removes): the same command makes the dataset,
    the same as the uninterrupted tiny run's."""
    from mec.data import load_dataset

    work = tmp_path / "work"
    cmd = [*_command(work, TINY)[:3], "results/data/tiny.h5", *_command(work, TINY)[4:]]
    proc = subprocess.Popen(cmd, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    try:
        log = work / "results" / "logs" / "make_dataset" / "tiny.log"
        while not (log.exists() and log.stat().st_size > 0):
            assert proc.poll() is None and time.time() < deadline, "make_dataset ended before the kill"
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert not (work / "results" / "data" / "tiny.h5").exists()
    again = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=900)
    out = again.stdout + again.stderr
    assert again.returncode == 0 and "mec: removed the lock of a run that was killed" in out, out[-4000:]
    assert not list((work / "results" / "data").glob(".tiny.h5.*mec-tmp*"))
    got, want = (load_dataset(w / "results" / "data" / "tiny.h5") for w in (work, tiny_run[0]))
    assert sorted(got[1.0]) == sorted(want[1.0])
    for animal in want[1.0]:
        np.testing.assert_array_equal(got[1.0][animal]["resp"], want[1.0][animal]["resp"])


def test_readme_troubleshooting_comes_first_and_names_the_remedies():
    """Where a newcomer looks first: the README's Troubleshooting section, before the
    pipeline, is the first place naming `python -m mec.checks FILE` (Snakemake reports a YAML
    error in a --configfile with no file or line) and the recovery from a hard kill."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## Troubleshooting")
    section = text[start:text.index("\n## ", start + 1)]
    assert start < text.index("## Pipeline")
    assert text.index("python -m mec.checks") > start and "python -m mec.checks FILE" in section
    assert "run the same command again" in section and "profiles/default/" in section
    assert "snakemake --unlock" in section and "MEC_REQUIRE_SHARED_DATA=1" in section
    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    assert profile == {"rerun-incomplete": True}  # nothing unsafe (no nolock) by default
