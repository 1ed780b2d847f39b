"""Thread budgets (mec.threads), job headers (mec.io.job_header) and the executor table.

limit_threads changes process-wide state (environment, BLAS pools), so its behaviour is
checked in child processes; the pure parts (header, parsing) run in-process.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_py(code: str, env_extra: dict | None = None, timeout: int = 300) -> str:
    """Run ``code`` in a fresh interpreter (this tree first on the path); return its stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "SLURM_JOB_ID",
                "SLURM_CPUS_PER_TASK"):
        env.pop(var, None)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def last_json(out: str):
    return json.loads(out.strip().splitlines()[-1])


def test_blas_limited_to_one_thread_in_this_process_and_its_children():
    # numpy (and its OpenBLAS) is loaded before the call, as in a workflow script whose
    # imports pulled numpy in; the child process starts after it.
    out = run_py(
        "import json, subprocess, sys, numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "before = [i['num_threads'] for i in threadpool_info()]\n"
        "from mec.threads import limit_threads\n"
        "info = limit_threads(1)\n"
        "after = {i['internal_api']: i['num_threads'] for i in threadpool_info()}\n"
        "child = subprocess.run([sys.executable, '-c', 'import json, numpy; from threadpoolctl "
        "import threadpool_info; print(json.dumps([i[\"num_threads\"] for i in "
        "threadpool_info()]))'], capture_output=True, text=True).stdout\n"
        "print(json.dumps({'before': before, 'after': after, 'child': json.loads(child), "
        "'info': info}))\n")
    res = last_json(out)
    assert "# mec threads: threads=1" in out
    assert res["after"] and set(res["after"].values()) == {1}, res
    assert res["child"] and set(res["child"]) == {1}, res
    assert res["info"]["threads"] == 1 and res["info"]["blas"] == res["after"]


def test_libraries_loaded_after_the_call_follow_the_budget():
    # scikit-learn's OpenMP runtime loads with it, after limit_threads: it reads the
    # environment that limit_threads set.
    out = run_py(
        "import json\n"
        "from mec.threads import limit_threads\n"
        "limit_threads(1, quiet=True)\n"
        "import numpy, sklearn.cluster\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps({i['internal_api']: i['num_threads'] for i in threadpool_info()}))\n")
    libs = last_json(out)
    assert libs and set(libs.values()) == {1}, libs


def test_budget_sets_the_trajectory_workers():
    # mec.task.prefetch uses the job's budget for its worker pool (export_ratemaps used to
    # hard-code 2): with a budget of 1 every batch is built by one and the same thread.
    out = run_py(
        "import json, threading\n"
        "from mec.threads import limit_threads, thread_budget\n"
        "from mec.task import prefetch\n"
        "assert thread_budget() is None\n"
        "def make(i):\n"
        "    return threading.current_thread().name\n"
        "unset = set(prefetch(make, 0, 40, depth=8))\n"
        "limit_threads(1, quiet=True)\n"
        "one = set(prefetch(make, 0, 40, depth=8))\n"
        "limit_threads(3, quiet=True)\n"
        "three = set(prefetch(make, 0, 40, depth=8))\n"
        "print(json.dumps([len(unset), len(one), len(three), thread_budget()]))\n")
    n_unset, n_one, n_three, budget = last_json(out)
    assert n_one == 1
    assert n_unset <= 2 and n_three <= 3
    assert budget == 3


@pytest.mark.slow
def test_tensorflow_pools_follow_the_budget():
    # TensorFlow sizes its intra-op and inter-op pools when its runtime starts; the threads
    # of the process after a few ops grow with the budget (one thread per pool slot).
    code = ("import os\n"
            "from mec.threads import limit_threads\n"
            "limit_threads({n}, quiet=True)\n"
            "import tensorflow as tf\n"
            "x = tf.random.normal((256, 256))\n"
            "for _ in range(3):\n"
            "    y = tf.matmul(x, x)\n"
            "_ = y.numpy()\n"
            "print(len(os.listdir('/proc/self/task')))\n")
    counts = {n: int(run_py(code.format(n=n)).split()[-1]) for n in (1, 4)}
    # two pools, each 3 threads larger
    assert counts[4] - counts[1] >= 4, counts


def test_ensemble_intra_op_pool_is_each_members_share():
    """An ensemble's TensorFlow runs its members side by side on the inter-op pool (the job's
    budget) with an intra-op pool of each member's share of the cores; the pools TensorFlow
    starts are those; other jobs keep both pools at the budget."""
    from mec.threads import ensemble_intra_op

    assert [ensemble_intra_op(2, k) for k in (1, 2, 3, 4)] == [2, 1, 1, 1]
    assert ensemble_intra_op(16, 4) == 4 and ensemble_intra_op(16, 3) == 5
    code = ("import json, os\n"
            "from mec.threads import limit_threads\n"
            "info = limit_threads(4, quiet=True, tf_intra_op={k})\n"
            "import tensorflow as tf\n"
            "x = tf.random.normal((256, 256))\n"
            "for _ in range(3):\n"
            "    y = tf.matmul(x, x)\n"
            "_ = y.numpy()\n"
            "print(json.dumps([info['tf_intra_op'], os.environ['TF_NUM_INTRAOP_THREADS'],"
            " os.environ['TF_NUM_INTEROP_THREADS'], len(os.listdir('/proc/self/task'))]))\n")
    one, full, capped = (last_json(run_py(code.format(k=k))) for k in (1, None, 9))
    assert one[:3] == [1, "1", "4"] and full[:3] == [4, "4", "4"]
    assert capped[:3] == [4, "4", "4"]  # never above the budget
    assert full[3] - one[3] >= 2, (one, full)  # the intra-op pool TensorFlow started is smaller
    out = run_py("from mec.threads import limit_threads\nlimit_threads(2, tf_intra_op=1)\n")
    assert "tf_intra_op=1" in out  # the job's log says so


@pytest.mark.parametrize("bad", [0, -2, 1.5, "two", None, True])
def test_bad_budget_names_value_and_where(bad):
    from mec.threads import limit_threads

    with pytest.raises(ValueError, match=re.escape(f"rule fit_model: threads must be a positive "
                                                   f"integer, got {bad!r}")):
        limit_threads(bad, where="rule fit_model", quiet=True)


def test_every_workflow_script_limits_threads_right_after_redirecting_its_log():
    scripts = sorted((ROOT / "workflow" / "scripts").glob("*.py"))
    assert scripts
    for path in scripts:
        lines = [l for l in path.read_text().splitlines() if l.strip()
                 and not l.lstrip().startswith("#")]
        i = next(k for k, l in enumerate(lines) if l.startswith("redirect_output("))
        assert "limit_threads(snakemake.threads" in lines[i + 1], path.name


def test_job_header_local_and_slurm(monkeypatch):
    from mec.io import JOB_LINE, job_header

    for var in ("SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_PARTITION", "SLURMD_NODENAME",
                "SLURM_CPUS_PER_TASK", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)
    line = job_header()
    assert line.startswith(JOB_LINE)
    fields = dict(p.split("=", 1) for p in shlex.split(line[len(JOB_LINE):]))
    assert fields["executor"] == "local" and fields["pid"] == str(os.getpid())
    assert "slurm_job_id" not in fields and fields["gpus"] == "-"

    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_JOB_PARTITION", "gpu")
    monkeypatch.setenv("SLURMD_NODENAME", "node 7")  # a space survives the round trip
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    fields = dict(p.split("=", 1) for p in shlex.split(job_header()[len(JOB_LINE):]))
    assert fields["executor"] == "slurm" and fields["slurm_job_id"] == "4242"
    assert fields["slurm_partition"] == "gpu" and fields["slurm_node"] == "node 7"
    assert fields["gpus"] == "0"


def test_redirect_output_starts_the_log_with_the_header(tmp_path):
    log = tmp_path / "logs" / "fit_model" / "m_1.0.log"
    run_py("from mec.io import redirect_output\n"
           "from mec.threads import limit_threads\n"
           f"redirect_output({str(log)!r})\n"
           "limit_threads(2)\n"
           "print('work')\n", env_extra={"SLURM_JOB_ID": "77", "SLURM_CPUS_PER_TASK": "2"})
    lines = log.read_text().splitlines()
    assert lines[0].startswith("# mec job:") and "slurm_job_id=77" in lines[0]
    assert lines[1].startswith("# mec threads: threads=2") and "slurm_cpus_per_task=2" in lines[1]
    assert lines[2] == "work"


def test_executor_table_reads_the_last_header_of_each_log(tmp_path):
    from mec.summary.job_logs import EXECUTOR_COLUMNS, executor_table, write_executor_table

    logs = tmp_path / "logs"
    (logs / "train_model").mkdir(parents=True)
    (logs / "fit_model").mkdir()
    (logs / "summarize").mkdir()
    # a resumed training: two runs appended, the second under SLURM
    (logs / "train_model" / "ugrnn.log").write_text(
        "# mec job: started=2025-01-01T00:00:00+00:00 host=a pid=1 executor=local gpus=-\n"
        "# mec threads: threads=2 blas=openblas:2 tensorflow=env workers=2\n"
        "epoch 1\n"
        "# mec job: started=2025-01-02T00:00:00+00:00 host=n1 pid=9 executor=slurm "
        "slurm_job_id=31 slurm_partition=gpu slurm_node=n1 slurm_cpus_per_task=2 gpus=0\n"
        "# mec threads: threads=2 blas=openblas:2 tensorflow=env workers=2\n")
    (logs / "fit_model" / "ugrnn_1.0.log").write_text(
        "# mec job: started=2025-01-02T01:00:00+00:00 host=n2 pid=5 executor=slurm "
        "slurm_job_id=32 slurm_partition=cpu slurm_node=n2 gpus=-\n"
        "# mec threads: threads=1 blas=openblas:1 tensorflow=env workers=1\n")
    (logs / "summarize" / "summarize.log").write_text("Traceback: died before its header\n")
    t = executor_table(logs).set_index("rule")
    assert list(t.reset_index().columns) == EXECUTOR_COLUMNS
    assert t.loc["train_model", "executor"] == "slurm"
    assert t.loc["train_model", "slurm_job_id"] == "31" and t.loc["train_model", "gpus"] == "0"
    assert t.loc["train_model", "threads"] == "2"
    assert t.loc["fit_model", "partition"] == "cpu" and t.loc["fit_model", "threads"] == "1"
    assert t.loc["summarize", "executor"] == "unknown"
    note = write_executor_table(logs, tmp_path / "summary")
    assert "3 job logs" in note and "2 slurm" in note and "1 unknown" in note
    assert "partitions cpu, gpu" in note and "nodes n1, n2" in note
    back = pd.read_csv(tmp_path / "summary" / "executors.csv", dtype=str)
    assert sorted(back["slurm_job_id"].dropna()) == ["31", "32"]
    assert "| train_model |" in (tmp_path / "summary" / "executors.md").read_text()
    assert executor_table(tmp_path / "nowhere").empty
