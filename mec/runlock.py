"""A killed run's Snakemake lock, told apart from a live run's (README "Troubleshooting").

A Snakemake killed outright (SIGKILL, a crashed node) leaves its lock in
``.snakemake/locks/``; the next run stops with ``LockException`` and suggests ``--unlock``,
which removes every lock, a live run's too. This module removes a lock only when it can prove
the run that took it is over, so that the same command goes on by itself after a hard kill:

- each run records itself when it starts (:func:`record_run`, from the Snakefile's
  ``onstart``, which Snakemake calls once it holds the lock): host, boot, pid and the pid's
  start time (pids are reused), its process group, its command line, and whether its jobs ran
  on this machine (the local executor) or elsewhere (SLURM);
- the lock is stale (:func:`lock_state`) when every lock file is older than the newest record,
  every recorded run is on this host and boot and its process is gone, its jobs ran locally,
  and no process of this host still runs in the same folder with "snakemake" in its command
  line (a job left running after only the main process was killed) or in a group the dead
  run led.

Anything else (a run on another host, SLURM jobs that may still run, a lock with no record)
is not touched: :func:`check_lock` returns a message naming the exact command that removes
it, to be run once the user has made sure that run is over. Linux only (``/proc``); elsewhere
every lock is left to that message. No Snakemake import: the Snakefile passes plain values.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from mec.io import atomic_path

RUNS_DIR = Path(".snakemake") / "mec-runs"
LOCKS_DIR = Path(".snakemake") / "locks"


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _boot_id() -> str | None:
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip() if text else None


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
    None when no such process runs: with the pid it names one process, since pids are reused."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    return text.rsplit(")", 1)[1].split()[19]


def record_run(workdir: str | os.PathLike, argv: list[str], local_jobs: bool) -> Path:
    """Record the run of this process in ``workdir/.snakemake/mec-runs/HOST.PID.json``.

    argv: the command line (``sys.argv``); local_jobs: whether its jobs run on this machine
    (Snakemake's local executor) rather than through a cluster's scheduler.
    """
    pid = os.getpid()
    rec = {"host": socket.gethostname(), "boot_id": _boot_id(), "pid": pid,
           "start_ticks": _start_ticks(pid), "pgid": os.getpgid(pid), "argv": list(argv),
           "local_jobs": bool(local_jobs), "started": time.time(),
           "workdir": str(Path(workdir).resolve())}
    out = Path(workdir) / RUNS_DIR / f"{rec['host']}.{pid}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(rec, indent=1))
    return out


def _records(workdir: Path) -> list[tuple[Path, dict]]:
    out = []
    for p in sorted((workdir / RUNS_DIR).glob("*.json")):
        try:
            out.append((p, json.loads(p.read_text())))
        except (OSError, ValueError):
            continue  # a record being written; an unreadable one proves nothing
    return out


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        text = _read(f"/proc/{pid}/stat")
        if not text:
            break
        pid = int(text.rsplit(")", 1)[1].split()[1])
    return pids


def _processes_in(workdir: Path, leaders: set[int]) -> list[str]:
    """Processes of this host, other than this one and its ancestors, that run in workdir with
    'snakemake' in their command line (a Snakemake, or a job of one: its scripts run from
    .snakemake/scripts/), or in a process group one of ``leaders`` led."""
    found, skip = [], _ancestors()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        pid = int(entry.name)
        stat = _read(f"/proc/{pid}/stat")
        cmd = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
        if not stat or not cmd:
            continue
        pgid = int(stat.rsplit(")", 1)[1].split()[2])
        try:
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            cwd = None
        if pgid in leaders or (cwd == workdir and "snakemake" in cmd):
            found.append(f"pid {pid}: {cmd[:120]}")
    return found


@dataclass
class LockState:
    """What holds the lock of a folder: ``free`` (no lock), ``stale`` (a killed run's, safe to
    remove), or ``held`` (a live run's, or one this module cannot prove over)."""

    state: str
    lock_files: list[Path] = field(default_factory=list)
    records: list[tuple[Path, dict]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def lock_state(workdir: str | os.PathLike) -> LockState:
    """Whether the Snakemake lock in ``workdir`` is free, stale or held (see the module)."""
    workdir = Path(workdir).resolve()
    locks = sorted(p for p in (workdir / LOCKS_DIR).glob("*.lock") if p.is_file())
    if not locks:
        return LockState("free")
    records = _records(workdir)
    reasons = []
    if not Path("/proc/self/stat").exists():
        return LockState("held", locks, records, ["no /proc here to tell a live run from a killed one"])
    if not records:
        reasons.append("no run recorded taking it (a run of an older version, or one killed before its first job)")
    host, boot = socket.gethostname(), _boot_id()
    for _, rec in records:
        who = f"pid {rec.get('pid')} on {rec.get('host')}"
        if rec.get("host") != host or rec.get("boot_id") != boot:
            reasons.append(f"it may be the run of {who}, another host or boot, which this host cannot see")
        elif _start_ticks(int(rec["pid"])) == rec.get("start_ticks"):
            reasons.append(f"the run of {who} is still running")
        elif not rec.get("local_jobs", False):
            reasons.append(f"the run of {who} is gone but sent its jobs to a cluster, where they may still run")
    newest = max((rec.get("started", 0.0) for _, rec in records), default=0.0)
    newer = [p.name for p in locks if p.stat().st_mtime > newest + 1.0]
    if records and newer:
        reasons.append(f"lock file(s) {newer} were written after the last recorded run started")
    leaders = {int(rec["pid"]) for _, rec in records if rec.get("pgid") == rec.get("pid")}
    reasons += [f"a process still runs in this folder: {p}" for p in _processes_in(workdir, leaders)]
    return LockState("held" if reasons else "stale", locks, records, reasons)


def _command(argv: list[str], extra: list[str]) -> str:
    return shlex.join(["snakemake", *extra, *argv[1:]])


def _prune(workdir: Path) -> None:
    """Forget the records of runs of this host and boot that are over (no lock is held)."""
    host, boot = socket.gethostname(), _boot_id()
    for p, rec in _records(workdir):
        if (rec.get("host") == host and rec.get("boot_id") == boot and boot is not None
                and _start_ticks(int(rec["pid"])) != rec.get("start_ticks")):
            p.unlink(missing_ok=True)


def check_lock(workdir: str | os.PathLike, argv: list[str]) -> str | None:
    """Remove a killed run's lock (and its records), or say what to do about a lock that may
    be live. Returns the message to print, or None when the folder holds no lock.

    argv: this run's command line (``sys.argv``), to name the exact commands.
    """
    st = lock_state(workdir)
    if st.state == "free":
        _prune(Path(workdir))
        return None
    if st.state == "stale":
        for p in st.lock_files:
            p.unlink(missing_ok=True)
        for p, _ in st.records:
            p.unlink(missing_ok=True)
        runs = "; ".join(f"pid {r['pid']}, started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(r['started']))}: "
                         f"{_command(r.get('argv', ['snakemake']), [])}" for _, r in st.records)
        return (f"mec: removed the lock of a run that was killed ({runs}): it runs no more, nor "
                "do its jobs. Its unfinished jobs are rerun (rerun-incomplete, "
                "profiles/default/); training resumes from its last checkpoint.")
    return ("mec: this folder holds a Snakemake lock that may belong to a live run, so it is "
            "left alone:\n" + "".join(f"  - {r}\n" for r in st.reasons)
            + "If that run is over (its jobs too: `squeue --me` on a cluster), remove the lock "
            f"with\n    {_command(argv, ['--unlock'])}\nthen run the same command again. "
            "If it still runs, wait for it: two runs writing the same files corrupt them.")
