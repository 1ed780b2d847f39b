"""Benchmark: refitting the ElasticNet grid's per-cell choices in a model fit, exactly (map
"enet", mec.mappers.ExactElasticNetMap) against scikit-learn's ElasticNet at its default
tolerance (what the workflow's map "elasticnet" used before), in the same run (methods §4.4).

    .venv/bin/python benchmarks/enet_refit.py [--dataset PATH] [--arena 1.0] [--units 512]
                                              [--splits 10] [--animals 3]

Data: as benchmarks/elasticnet_grid.py loads it (its ``_load`` and ``_holdout``):
results/data/synthetic.h5 when present, else smooth random rate maps shaped like it (1 m
arena, 20 x 20 bins, 12 animals of 30-60 cells). For each of the first
``--animals`` animals: target = its cells; "model" = ``--units`` random non-negative mixtures
of the other animals' cells (a stand-in for a model layer: more sources than the ~80 training
bins of a 20 % split, as a 512-unit layer has). The grid (short, 9 x 10) picks each cell's
(alpha, l1_ratio) per split and scores the refit on the test bins; then both maps refit
every choice on the same training bins (cells sharing a choice fitted together, as
mec.fits.fitting does) and are scored on the test bins.

Columns: CPU seconds of the refits (single-threaded BLAS, time.process_time), and each map's
largest and median |test r - the grid's own test r| over cells and splits: the grid's refit
is exact (tests/test_elasticnet.py), so this is how far each refit is from the problem the
inter-animal ceiling solved. The last line reads ``speedup: <x> exact: <true|false>``
(exact: the enet map within 1e-6 of the grid everywhere).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single-threaded BLAS: fair per-core numbers
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mec.fits import elasticnet as en  # noqa: E402
from mec.fits.splits import generate_train_test_splits  # noqa: E402
from mec.mappers import make_map, pearson_columns  # noqa: E402


def _grid_benchmark():
    """benchmarks/elasticnet_grid.py, whose data loading and holdout this benchmark shares."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("elasticnet_grid",
                                                  Path(__file__).with_name("elasticnet_grid.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _refit(kind: str, X, Y, splits, table) -> tuple[np.ndarray, float]:
    """Test r of every (cell, split) refitted with map ``kind``; CPU seconds of the fits."""
    r = np.full(len(table), np.nan)
    cpu = 0.0
    for s, sp in enumerate(splits):
        rows = np.flatnonzero(table["split"].to_numpy() == s)
        groups: dict = {}
        for i in rows:
            key = (table["alpha"].iat[i], table["l1_ratio"].iat[i])
            groups.setdefault(key, []).append(i)
        for (alpha, l1), idx in groups.items():
            cols = table["target"].to_numpy()[idx]
            if kind == "enet":
                m = make_map("enet", alpha=alpha, l1_ratio=l1)
            else:
                m = make_map("sklinear", regression_type="ElasticNet", alpha=alpha, l1_ratio=l1)
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning, by design
                m.fit(X[sp["train"]], Y[sp["train"]][:, cols])
            cpu += time.process_time() - t0
            r[idx] = pearson_columns(Y[sp["test"]][:, cols], m.predict2d(X[sp["test"]]))
    return r, cpu


def _dev(r: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|r - ref|: 0 where both are NaN (all coefficients zero), inf where only one is."""
    d = np.abs(r - ref)
    d[np.isnan(r) & np.isnan(ref)] = 0.0
    d[np.isnan(d)] = np.inf
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="results/data/synthetic.h5")
    ap.add_argument("--arena", type=float, default=1.0)
    ap.add_argument("--units", type=int, default=512, help="'model' units (sources)")
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--animals", type=int, default=3, help="target animals")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    grid_bench = _grid_benchmark()
    data, what = grid_bench._load(args.dataset, args.arena)
    animals = sorted(data)[: args.animals]
    rng = np.random.default_rng(args.seed)
    print(f"data: {what}; {len(animals)} target animals; "
          f"{args.units} model units; {args.splits} random 20 % splits; short grid")
    rows = []
    for animal in animals:
        others, Y, keep, _ = grid_bench._holdout(data, animal)
        mix = rng.random((others.shape[1], args.units)) * (rng.random((others.shape[1], args.units)) < 0.05)
        X = np.maximum(others[keep] @ mix + rng.normal(0, 0.5, (keep.sum(), args.units)), 0)
        Yk = Y[keep]
        splits = generate_train_test_splits(int(keep.sum()), 0.2, args.splits, 0)
        t0 = time.process_time()
        table = en.elasticnet_grid_search(X, Yk, splits, *en.grid_constants("short"),
                                          progress=False)
        grid_cpu = time.process_time() - t0
        r_en, cpu_en = _refit("enet", X, Yk, splits, table)
        r_sk, cpu_sk = _refit("sklearn", X, Yk, splits, table)
        ref = table["test_score"].to_numpy()
        rows.append((animal, Yk.shape[1], len(splits[0]["train"]), grid_cpu, cpu_sk, cpu_en,
                     _dev(r_sk, ref), _dev(r_en, ref), float(np.mean(table["alpha"] <= 1e-9))))

    print("\n| animal | cells | train bins | grid CPU s | scikit-learn refits CPU s | enet refits "
          "CPU s | speedup | scikit-learn: max / median abs(dr) | enet: max / median abs(dr) "
          "| choices at alpha 1e-9 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for a, n, ntr, g, sk, ex, dsk, dex, tiny in rows:
        print(f"| {a} | {n} | {ntr} | {g:.1f} | {sk:.1f} | {ex:.2f} | {sk / ex:.0f}x | "
              f"{dsk.max():.3f} / {np.median(dsk):.1e} | {dex.max():.1e} / "
              f"{np.median(dex):.1e} | {tiny:.0%} |")
    sk = sum(r[4] for r in rows)
    ex = sum(r[5] for r in rows)
    exact = all(r[7].max() < 1e-6 for r in rows)
    print(f"\nspeedup: {sk / ex:.1f} exact: {str(exact).lower()}")


if __name__ == "__main__":
    main()
