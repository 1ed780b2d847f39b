"""Small I/O helpers shared by every stage: atomic writes and tidy tables.

Every artefact is written to a temporary name in the destination folder and renamed into
place only when complete, so an interrupted job never leaves a half-written file that a
later run would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_table", "read_table", "redirect_output", "job_header", "JOB_LINE"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched. The
    temporary name keeps the destination's suffix, so libraries that look at the
    extension (h5py, pandas, matplotlib, keras) behave as for the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            # mkstemp creates mode 600; give the result the usual umask-governed mode.
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(df, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as CSV (no index) atomically; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path


def read_table(path: str | os.PathLike):
    """Read a tidy CSV written by :func:`write_table`, keeping ids as strings."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"table {path} does not exist")
    return pd.read_csv(path, dtype={"animal": str, "cell_id": str, "layer": str, "map": str,
                                    "source": str, "cell_type": str},
                       keep_default_na=True)


#: Prefix of the header line :func:`redirect_output` writes (parsed by mec.summary.executors).
JOB_LINE = "# mec job:"


def job_header() -> str:
    """One line saying where and how this process runs, for the top of a job's log.

    ``executor`` is ``slurm`` when SLURM_JOB_ID is set (a batch job, or a local run inside an
    allocation), else ``local``; the SLURM job id, array task, partition, node and CPUs come
    from SLURM's environment, ``gpus`` from CUDA_VISIBLE_DEVICES (``-``: not set). Values are
    shell-quoted where needed, so ``shlex.split`` reads the line back.
    """
    import datetime
    import shlex
    import socket

    env = os.environ
    fields = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "executor": "slurm" if env.get("SLURM_JOB_ID") else "local",
    }
    if env.get("SLURM_JOB_ID"):
        fields["slurm_job_id"] = env["SLURM_JOB_ID"]
        if env.get("SLURM_ARRAY_TASK_ID"):
            fields["slurm_job_id"] = f"{env.get('SLURM_ARRAY_JOB_ID', env['SLURM_JOB_ID'])}_" \
                                     f"{env['SLURM_ARRAY_TASK_ID']}"
        for key, var in (("slurm_partition", "SLURM_JOB_PARTITION"),
                         ("slurm_node", "SLURMD_NODENAME"),
                         ("slurm_cpus_per_task", "SLURM_CPUS_PER_TASK")):
            if env.get(var):
                fields[key] = env[var]
    fields["gpus"] = env.get("CUDA_VISIBLE_DEVICES") or "-"
    return f"{JOB_LINE} " + " ".join(f"{k}={shlex.quote(str(v))}" for k, v in fields.items())


def redirect_output(log_path: str | os.PathLike, append: bool = False) -> None:
    """Send this process's stdout and stderr, Python's and the C libraries', to a log file.

    Rule scripts call this first, so that messages of compiled code (TensorFlow's C++ logs,
    HDF5 warnings) land in the rule's ``log:`` file too, not on the workflow's console.
    The log starts with :func:`job_header` (host, pid, local or SLURM job id, node, GPUs),
    so every job's log says which executor ran it; with ``append`` each run adds its own.
    """
    import sys

    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a" if append else "w", buffering=1)
    for fd in (1, 2):
        os.dup2(stream.fileno(), fd)
    sys.stdout = sys.stderr = stream
    print(job_header(), flush=True)
