"""One thread budget per job: BLAS/OpenMP, TensorFlow, JAX and mec's own worker pools.

A workflow job is given ``threads`` CPUs (Snakemake's ``--cores`` share locally, SLURM's
``--cpus-per-task`` on a cluster), but every numerical library sizes its thread pools from the
whole machine: OpenBLAS and OpenMP start one thread per core, TensorFlow two pools of one
thread per core each. On a shared node that oversubscribes the CPUs the job was given.
:func:`limit_threads` sets every pool this package uses to the job's budget; each workflow
script calls it right after :func:`mec.io.redirect_output`, before the heavy imports::

    redirect_output(snakemake.log[0])
    limit_threads(snakemake.threads)

What is limited, and how:

- **BLAS and OpenMP** (numpy/scipy's OpenBLAS, scikit-learn's OpenMP, MKL where present):
  through ``threadpoolctl`` for the libraries already loaded, and through the
  ``*_NUM_THREADS`` environment variables for those loaded later (they read them when they
  start) and for child processes. Code that asks for fewer threads for a stretch (the fits
  use one BLAS thread: ``mec.fits.core``) still may; none asks for more.
- **TensorFlow**: ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``, read when
  TensorFlow's runtime starts; if TensorFlow was already imported, its
  ``tf.config.threading`` setters too (they fail once the runtime has started; the log line
  then says so).
- **JAX** (``KERAS_BACKEND=jax``): XLA sizes its CPU pool from the process's CPU affinity
  mask, which SLURM narrows to the job's CPUs where the cluster binds tasks to cores
  (``TaskPlugin=task/affinity`` or ``task/cgroup``); with a budget of 1 XLA's multi-threaded
  Eigen kernels are switched off as well (``--xla_cpu_multi_thread_eigen=false``).
- **numba** (the ElasticNet kernels are single-threaded): ``NUMBA_NUM_THREADS``.
- **mec's own pools**: :func:`thread_budget` returns the budget; ``mec.task.prefetch`` uses
  it as its default number of trajectory workers.

The budget is process-wide, like the environment it sets; a second call replaces it.
"""

from __future__ import annotations

import numbers
import os
import sys

__all__ = ["limit_threads", "thread_budget", "THREAD_ENV_VARS", "THREADS_LINE"]

#: Environment variables set to the budget: OpenMP, the BLAS flavours (OpenBLAS, MKL, BLIS,
#: Apple Accelerate), numexpr, numba, and TensorFlow's two pools.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                   "NUMBA_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

#: Prefix of the line :func:`limit_threads` prints (parsed by mec.summary.job_logs).
THREADS_LINE = "# mec threads:"

_XLA_SINGLE = "--xla_cpu_multi_thread_eigen=false"

_budget: int | None = None
_limiter = None  # the threadpoolctl limiter; kept so that its limits stay applied


def _check_threads(threads, where: str) -> int:
    """threads as a positive int, or ValueError naming the value and where it came from."""
    bad = ValueError(f"{where}: threads must be a positive integer, got {threads!r}")
    if isinstance(threads, str) and threads.strip().isdigit():
        threads = int(threads)
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise bad
    return int(threads)


def thread_budget() -> int | None:
    """The budget set by :func:`limit_threads` in this process, or None if it was never set."""
    return _budget


def ensemble_intra_op(threads: int, members: int) -> int:
    """TensorFlow's intra-op pool for an ensemble of ``members`` networks on ``threads`` cores:
    each member's share, at least 1.

    Why: the K members are K independent branches of one graph, which TensorFlow's inter-op
    pool (``threads``) already runs side by side; splitting each of their small products
    across cores as well only adds synchronisation. Measured on 2 idle cores, demo shapes,
    three members: the default run's ensemble job stepped in 64 ms with an intra-op pool of
    1 against 88 with 2 (docs/models.md; benchmarks/train_step.py: 67 ms). Thread counts do
    not change a member's bits (checked: weights after 200 steps and after the demo's 10,000
    equal to the networks trained alone with both pools at 2).
    """
    return max(1, int(threads) // max(1, int(members)))


def limit_threads(threads, *, where: str = "limit_threads", quiet: bool = False,
                  tf_intra_op: int | None = None) -> dict:
    """Limit every thread pool of this process (and of its children) to ``threads``.

    threads: the job's CPU budget, a positive integer (a rule's ``threads``).
    where: named in the error for a bad value (e.g. ``"rule fit_model"``).
    quiet: do not print the summary line (``# mec threads: ...``) to stdout.
    tf_intra_op: TensorFlow's intra-op pool, at most ``threads`` (None: ``threads``; an
        ensemble's: :func:`ensemble_intra_op`); its inter-op pool is ``threads``.

    Returns what was set: ``threads``; ``blas``: {library: threads} of the BLAS/OpenMP
    libraries loaded now; ``tensorflow``: ``"env"`` (set before TensorFlow starts),
    ``"set"`` (already imported, setters applied) or an explanation why it could not be
    changed; ``slurm_cpus``: SLURM_CPUS_PER_TASK if set (a mismatch is worth a look).
    """
    global _budget, _limiter
    n = _check_threads(threads, where)
    intra = n if tf_intra_op is None else min(n, _check_threads(tf_intra_op, f"{where} (tf_intra_op)"))
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(intra)
    flags = os.environ.get("XLA_FLAGS", "").split()
    if n == 1 and _XLA_SINGLE not in flags:
        os.environ["XLA_FLAGS"] = " ".join([*flags, _XLA_SINGLE])

    import numpy  # noqa: F401  loads numpy's BLAS now, so that its pool is limited and reported
    from threadpoolctl import threadpool_info, threadpool_limits

    _limiter = threadpool_limits(limits=n)
    blas = {f"{i['internal_api']}": i["num_threads"] for i in threadpool_info()}

    tf_state = "env"
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(intra)
            tf.config.threading.set_inter_op_parallelism_threads(n)
            tf_state = "set"
        except RuntimeError as err:  # runtime already started: its pools keep their size
            tf_state = f"unchanged ({err})"
    _budget = n
    info = {"threads": n, "blas": blas, "tensorflow": tf_state, "tf_intra_op": intra,
            "slurm_cpus": os.environ.get("SLURM_CPUS_PER_TASK")}
    if not quiet:
        libs = ",".join(f"{k}:{v}" for k, v in sorted(blas.items())) or "none-loaded"
        line = (f"{THREADS_LINE} threads={n} blas={libs} tensorflow={tf_state.split(' ')[0]} "
                f"workers={n}")
        if intra != n:
            line += f" tf_intra_op={intra}"
        if info["slurm_cpus"] is not None:
            line += f" slurm_cpus_per_task={info['slurm_cpus']}"
        print(line, flush=True)
    return info
