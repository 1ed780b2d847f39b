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

__all__ = ["atomic_path", "write_table", "read_table"]


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


def redirect_output(log_path: str | os.PathLike, append: bool = False) -> None:
    """Send this process's stdout and stderr, Python's and the C libraries', to a log file.

    Rule scripts call this first, so that messages of compiled code (TensorFlow's C++ logs,
    HDF5 warnings) land in the rule's ``log:`` file too, not on the workflow's console.
    """
    import sys

    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "a" if append else "w", buffering=1)
    for fd in (1, 2):
        os.dup2(stream.fileno(), fd)
    sys.stdout = sys.stderr = stream
