"""Small I/O helpers shared by every stage: atomic writes, temporary files, tidy tables.

Every artefact is written to a temporary name in the destination folder and renamed into
place only when complete, so an interrupted job never leaves a half-written file that a
later run would mistake for a finished one.

Temporary files carry a recognisable name, ``.<name>.<8 random characters>.mec-tmp<suffix>``
beside ``<name>`` (e.g. ``.model.keras.k2j3h4l5.mec-tmp.keras``). A write that fails with a
Python exception (a full disk included) removes its own; one killed outright (SIGKILL, a
node lost, a library crashing the process) cannot, so each workflow job starts by removing
those its outputs left (:func:`remove_stale_temp_files`; the job owns its outputs while
Snakemake holds their lock).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["atomic_path", "write_table", "read_table", "redirect_output", "job_header", "JOB_LINE",
           "TEMP_TAG", "is_temp_file", "stale_temp_files", "remove_stale_temp_files",
           "atomic_hdf5", "open_hdf5", "UnreadableFileError"]

#: Tag in the name of every temporary file of :func:`atomic_path`.
TEMP_TAG = "mec-tmp"
# mkstemp's random part: characters of [a-z0-9_] (tempfile._RandomNameSequence), no dot, so
# the temporary files of "a.csv" and of "a.b.csv" are told apart.
_RANDOM = r"[a-z0-9_]+"
# Any temporary file of atomic_path: this version's names, and the earlier ".<stem>.<random>
# .tmp<suffix>" (files a run of an earlier version may have left).
_ANY_TEMP = re.compile(r"\..+\." + _RANDOM + r"\.(?:" + re.escape(TEMP_TAG) + r"|tmp)(?:\.[^.]*)?")


class UnreadableFileError(ValueError):
    """A file that exists but cannot be read (corrupt, truncated, not the expected format);
    the message names the file, what it should be and what to do."""


def _temp_patterns(path: Path) -> list[re.Pattern]:
    """Names of the temporary files of ``path`` (this version's and the earlier form)."""
    return [re.compile(re.escape(f".{path.name}.") + _RANDOM + re.escape(f".{TEMP_TAG}{path.suffix}")),
            re.compile(re.escape(f".{path.stem}.") + _RANDOM + re.escape(f".tmp{path.suffix}"))]


def is_temp_file(path: str | os.PathLike) -> bool:
    """True for a name :func:`atomic_path` gives its temporary files (this version or earlier)."""
    return bool(_ANY_TEMP.fullmatch(Path(path).name))


def stale_temp_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Temporary files of :func:`atomic_path` left for ``paths``.

    A file path gives the temporary files of that file (beside it); a folder (a directory
    output, a training run's folder) gives every temporary file inside it, at any depth.
    """
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found += [q for q in sorted(p.rglob(".*")) if q.is_file() and is_temp_file(q)]
        elif p.parent.is_dir():
            pats = _temp_patterns(p)
            found += [q for q in sorted(p.parent.iterdir())
                      if q.name.startswith(".") and any(m.fullmatch(q.name) for m in pats)
                      and q.is_file()]
    return found


def remove_stale_temp_files(paths: Iterable[str | os.PathLike], log=print) -> list[Path]:
    """Delete the temporary files a killed run left for ``paths`` (see :func:`stale_temp_files`)
    and say so with ``log``; returns them. Call it only for outputs this process owns (a
    workflow job's outputs while Snakemake holds their lock): a temporary file is stale only
    when no one is writing it."""
    removed = []
    for q in stale_temp_files(paths):
        try:
            size = q.stat().st_size
            q.unlink()
        except FileNotFoundError:
            continue
        if log is not None:
            log(f"removing {q}, left by an interrupted run ({size} bytes)")
        removed.append(q)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched; an
    ``OSError`` (a full disk: ENOSPC, a file-size limit: EFBIG) gets a note naming ``path``.
    The temporary name (module docstring) keeps the destination's suffix, so libraries that
    look at the extension (h5py, pandas, matplotlib, keras) behave as for the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{TEMP_TAG}{path.suffix}",
                               dir=path.parent)
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
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
                    errno.EFBIG: "the file is larger than allowed"}.get(err.errno, "the write failed")
            err.add_note(f"writing {path}: {what}; nothing was written there (the partial "
                         f"temporary file was removed)")
        raise


@contextlib.contextmanager
def atomic_hdf5(path: str | os.PathLike):
    """An HDF5 file (``h5py.File``) to write; it reaches ``path`` atomically when the block ends.

    The file is built in memory and written out by Python (through :func:`atomic_path`).
    h5py writing straight to a file on disk crashes the process after a failed write (a full
    disk, a file-size limit): the error is raised, then freeing the broken file object
    segfaults (measured with h5py 3.14 under RLIMIT_FSIZE), so no cleanup would run and the
    partial file would keep the disk full. Written by Python, a full disk is a
    plain OSError and the partial temporary file is removed. Costs memory of the file's size
    (the largest here, a paper-scale model's rate maps, is about 100 MB).
    """
    import io

    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        yield f
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out:
            out.write(buf.getbuffer())


def open_hdf5(path: str | os.PathLike, what: str, remedy: str = ""):
    """``h5py.File(path, "r")``, or an error naming the file: FileNotFoundError when it does
    not exist, :class:`UnreadableFileError` when it is not a readable HDF5 file (truncated by
    a killed writer, corrupt, another format). what: what the file should be ("dataset file");
    remedy: what to do about it, appended to the message."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise UnreadableFileError(f"{what} {path} is not a readable HDF5 file ({err})"
                                  f"{'; ' + remedy if remedy else ''}") from None


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
    try:
        return pd.read_csv(path, dtype={"animal": str, "cell_id": str, "layer": str, "map": str,
                                        "source": str, "cell_type": str},
                           keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UnreadableFileError(f"table {path} is not a readable CSV table "
                                  f"({type(err).__name__}: {err}); delete it and rerun to "
                                  f"remake it") from None


#: Prefix of the header line :func:`redirect_output` writes (parsed by mec.summary.job_logs).
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
