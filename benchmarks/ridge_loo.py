"""Benchmark: the halves setting's Ridge with its alpha chosen by leave-one-out (map
"ridge_loo", mec.ridge_loo.RidgeLOOMap) against scikit-learn's ``RidgeCV`` with the same
grid and the same criterion (mean Pearson r of the leave-one-out predictions), and against
one fixed-alpha ``Ridge`` (what the setting fitted before), in the same run (methods §7.8).

    .venv/bin/python benchmarks/ridge_loo.py [--repeats 5] [--targets 30] [--seed 0]

Shapes: the fits of the default run's halves setting, training bins x source units: 200 x
330 (1.0 m ceiling: half of 400 bins, some 330 cells of 11 animals), 200 x 128 and 200 x 512
(1.0 m model layers), 968 x 330, 968 x 128 and 968 x 512 (2.2 m: half of 1,936 bins). Data:
smooth random "tuning" mixed into the units plus Poisson-like noise, ``--targets`` cells.

Columns: median wall milliseconds of one fit over ``--repeats`` (single-threaded BLAS, as
the workflow's fits run: mec.fits.fitting._blas); the speed-up of ridge_loo over RidgeCV and
its cost over the fixed Ridge; the two choosers' alphas and the largest difference of their
predictions. The last line reads ``speedup: <min>-<max>x same: <true|false>`` (same: equal
alphas and predictions within 1e-8 everywhere).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single-threaded BLAS: fair per-core numbers
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from mec.mappers import LOO_ALPHAS, RidgeLOOMap, pearson_columns  # noqa: E402

SHAPES = ((200, 330), (200, 128), (200, 512), (968, 330), (968, 128), (968, 512))


def _data(n: int, p: int, n_targets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, p) sources and (n, n_targets) targets sharing 10 smooth tuning curves, with noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)[:, None]
    tuning = np.sin(2 * np.pi * (t * rng.uniform(1, 4, 10) + rng.uniform(0, 1, 10))) + 1.5
    X = rng.poisson(tuning @ rng.uniform(0, 1, (10, p))).astype(float)
    Y = tuning @ rng.uniform(0, 1, (10, n_targets)) + rng.normal(0, 0.5, (n, n_targets))
    return X, Y


def _ms(fit, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main(argv=None) -> None:
    from sklearn.linear_model import Ridge, RidgeCV

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--targets", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shapes", nargs="+", default=None, metavar="NxP",
                    help="training bins x units, e.g. 200x330 (default: the default run's)")
    args = ap.parse_args(argv)
    shapes = SHAPES if args.shapes is None else [tuple(int(v) for v in s.split("x"))
                                                 for s in args.shapes]

    def mean_r(est, X, y):
        return float(np.nanmean(pearson_columns(y, est.predict(X))))

    print("| bins x units | ridge_loo ms | RidgeCV ms | Ridge(100) ms | speed-up vs RidgeCV | "
          "cost vs Ridge | alpha (loo / RidgeCV) | max abs pred. difference |")
    print("|---|---|---|---|---|---|---|---|")
    speedups, same = [], True
    for n, p in shapes:
        X, Y = _data(n, p, args.targets, args.seed)
        mine = RidgeLOOMap().fit(X, Y)
        ref = RidgeCV(alphas=list(LOO_ALPHAS), scoring=mean_r).fit(X, Y)
        diff = float(np.abs(mine.predict(X) - ref.predict(X)).max())
        same &= bool(mine.alpha_ == ref.alpha_ and diff < 1e-8)
        t_loo = _ms(lambda: RidgeLOOMap().fit(X, Y), args.repeats)
        t_cv = _ms(lambda: RidgeCV(alphas=list(LOO_ALPHAS), scoring=mean_r).fit(X, Y),
                   args.repeats)
        t_fix = _ms(lambda: Ridge(alpha=100.0).fit(X, Y), args.repeats)
        speedups.append(t_cv / t_loo)
        print(f"| {n} x {p} | {t_loo:.1f} | {t_cv:.1f} | {t_fix:.1f} | {t_cv / t_loo:.2f}x | "
              f"{t_loo / t_fix:.2f}x | {mine.alpha_:g} / {ref.alpha_:g} | {diff:.1e} |")
    print(f"speedup: {min(speedups):.2f}-{max(speedups):.2f}x same: {str(same).lower()}")


if __name__ == "__main__":
    main()
