"""Which executor ran each job: a table read back from the jobs' own logs.

Every workflow script starts its log with :func:`mec.io.job_header` (host, pid, ``local`` or
the SLURM job id, partition, node, GPUs) followed by :func:`mec.threads.limit_threads`' line
(the thread budget and the BLAS libraries it limited). This module reads those lines back,
so a cluster run can be audited from ``results/summary/executors.csv``: which jobs ran under
SLURM, with which job id, on which node and partition, with how many threads.

A log written with ``append`` (training resumes) holds one header per run; the last one is
the run that produced the current outputs. A log without a header (a job that failed before
its first line, or written by an older version) gets a row with executor ``unknown``.

Command line, for an audit without the summary::

    python -m mec.summary.job_logs results/logs
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pandas as pd

from mec.io import JOB_LINE
from mec.threads import THREADS_LINE

__all__ = ["read_job_header", "executor_table", "executor_note", "write_executor_table",
           "EXECUTOR_COLUMNS"]

#: Columns of executors.csv, one row per job log.
EXECUTOR_COLUMNS = ["rule", "job", "executor", "slurm_job_id", "partition", "node", "host",
                    "threads", "slurm_cpus_per_task", "gpus", "started", "log"]


def _fields(line: str, prefix: str) -> dict:
    try:
        parts = shlex.split(line[len(prefix):])
    except ValueError:  # an unbalanced quote: a truncated line
        return {}
    return dict(p.split("=", 1) for p in parts if "=" in p)


def read_job_header(log_path: str | os.PathLike) -> dict:
    """The last job header of one log and the thread line after it ({} if there is none).

    Keys: those of :func:`mec.io.job_header` (started, host, pid, executor, slurm_job_id,
    slurm_partition, slurm_node, slurm_cpus_per_task, gpus) plus ``threads`` when the job
    limited its threads.
    """
    header: dict = {}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(JOB_LINE):
                header = _fields(line.rstrip("\n"), JOB_LINE)
            elif line.startswith(THREADS_LINE) and header:
                header["threads"] = _fields(line.rstrip("\n"), THREADS_LINE).get("threads", "")
    return header


def executor_table(log_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per job log under ``log_dir`` (``{log_dir}/{rule}/{job}.log``, the job
    ``{model}/seed{k}_...`` one folder deeper for a seed of a model with seeds), sorted by rule
    and job, with the columns of EXECUTOR_COLUMNS. A missing folder gives an empty table."""
    log_dir = Path(log_dir)
    rows = []
    # a seed of a model with seeds logs one folder deeper: {rule}/{model}/seed{k}_... (mec.sweeps)
    paths = [p for p in log_dir.rglob("*.log") if len(p.relative_to(log_dir).parts) >= 2] \
        if log_dir.is_dir() else []
    for path in sorted(paths):
        h = read_job_header(path)
        rule, *job = path.relative_to(log_dir).with_suffix("").parts
        rows.append({
            "rule": rule,
            "job": "/".join(job),
            "executor": h.get("executor", "unknown"),
            "slurm_job_id": h.get("slurm_job_id", ""),
            "partition": h.get("slurm_partition", ""),
            "node": h.get("slurm_node", ""),
            "host": h.get("host", ""),
            "threads": h.get("threads", ""),
            "slurm_cpus_per_task": h.get("slurm_cpus_per_task", ""),
            "gpus": h.get("gpus", ""),
            "started": h.get("started", ""),
            "log": str(path),
        })
    return pd.DataFrame(rows, columns=EXECUTOR_COLUMNS)


def executor_note(table: pd.DataFrame) -> str:
    """One summary line: how many jobs ran where (for summary.md)."""
    if table.empty:
        return "- Executors: no job logs found."
    counts = table["executor"].value_counts()
    parts = [f"{counts[e]} {e}" for e in sorted(counts.index)]
    slurm = table[table["executor"] == "slurm"]
    where = ""
    if not slurm.empty:
        parts_p = sorted({p for p in slurm["partition"] if p})
        nodes = sorted({n for n in slurm["node"] if n})
        where = (f" (SLURM partitions {', '.join(parts_p) or 'n/a'}; nodes "
                 f"{', '.join(nodes) or 'n/a'})")
    return (f"- Executors: {len(table)} job logs, {', '.join(parts)}{where}; one row per job "
            "with its SLURM job id in executors.csv.")


def write_executor_table(log_dir: str | os.PathLike, out_dir: str | os.PathLike) -> str:
    """Write ``executors.csv`` and ``executors.md`` to out_dir; return :func:`executor_note`."""
    from mec.io import atomic_path, write_table
    from mec.summary.markdown import to_markdown

    out_dir = Path(out_dir)
    table = executor_table(log_dir)
    write_table(table, out_dir / "executors.csv")
    md = ("# Executors: which executor ran each job (from the header of its log)\n\n"
          + to_markdown(table.drop(columns=["log"])))
    with atomic_path(out_dir / "executors.md") as tmp:
        tmp.write_text(md, encoding="utf-8")
    return executor_note(table)


if __name__ == "__main__":  # python -m mec.summary.job_logs results/logs
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m mec.summary.job_logs LOG_DIR   (e.g. results/logs)")
    t = executor_table(sys.argv[1])
    with pd.option_context("display.width", 200, "display.max_rows", None,
                           "display.max_columns", None):
        print(t.drop(columns=["log"]).to_string(index=False))
    print(executor_note(t))
