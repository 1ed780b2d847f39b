"""Benchmark of the whole fit stage against a straightforward per-cell scikit-learn loop.

Stages (methods §4.3, 4.5), on a dataset shaped like the default one:
- inter-animal consistency, Ridge(alpha=1) holdout, every arena;
- a model fit of 3 layers of random "model" rate maps (256-512 units) in every arena.

"ours" is mec.fits (one multi-output solve per split for all target cells, vectorised Pearson
r, animals sharing their bins fitted together); "loop" is a plain loop over target cells and
splits with one scikit-learn Ridge per cell and scipy.stats.pearsonr. Both run in this process
on the same data; the table gives the seconds, the speedup and the largest |score difference|.

Data: ``--data PATH`` (a mec dataset file, read with mec.data.load_dataset); by default
results/data/synthetic.h5 when it exists, else random smooth maps: arenas of 20 x 20 and
44 x 44 bins, 12 animals with 30-60 cells each.

Usage: .venv/bin/python benchmarks/fits.py [--data PATH] [--splits 10] [--loop-cells N]
(``--loop-cells N`` runs the loop on the first N cells of every animal only and scales its time
by the number of cells, to keep a quick run quick; the default runs it on every cell.)
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.stats import pearsonr
from sklearn.linear_model import Ridge

from mec.fits.core import interanimal_scores, model_scores
from mec.fits.splits import generate_train_test_splits

DEFAULT_DATA = Path("results/data/synthetic.h5")


def random_maps(rng, nx, ny, n, sigma=2.0, scale=5.0):
    """(nx, ny, n) non-negative smooth random rate maps (Hz-like)."""
    z = gaussian_filter(rng.standard_normal((nx, ny, n)), (sigma, sigma, 0))
    return scale * np.maximum(z / z.std() + 0.5, 0.0)


def synthetic_dataset(seed=0):
    rng = np.random.default_rng(seed)
    data = {}
    for arena, nb in ((1.0, 20), (2.2, 44)):
        latent = random_maps(rng, nb, nb, 40)
        data[arena] = {}
        for a in range(12):
            n = int(rng.integers(30, 61))
            w = rng.standard_normal((40, n)) * (rng.random((40, n)) < 0.2)
            resp = np.maximum(latent @ w, 0) + rng.gamma(1.0, 0.5, (nb, nb, n))
            data[arena][f"animal{a:02d}"] = {
                "resp": resp,
                "cell_ids": np.array([f"a{a}_c{j}" for j in range(n)]),
            }
    return data


def model_layers(rng, nx, ny):
    """Random 'model' maps of 3 layers (pre_g 512, g 512, dc 256 units)."""
    return {"pre_g": random_maps(rng, nx, ny, 512), "g": random_maps(rng, nx, ny, 512, sigma=1.0),
            "dc": random_maps(rng, nx, ny, 256, sigma=3.0)}


def loop_scores(source, target, n_cells, num_splits):
    """Per-cell loop: one Ridge(alpha=1) per target cell and split, pearsonr, nanmean."""
    X = source.reshape(-1, source.shape[-1])
    Y = target.reshape(-1, target.shape[-1])
    keep = np.isfinite(X).all(1) & np.isfinite(Y).all(1)
    X, Y = X[keep], Y[keep]
    splits = generate_train_test_splits(len(X), train_frac=0.2, num_splits=num_splits)
    out = np.full(n_cells, np.nan)
    for j in range(n_cells):
        rs = []
        for sp in splits:
            tr, te = sp["train"], sp["test"]
            pred = Ridge(alpha=1.0).fit(X[tr], Y[tr, j]).predict(X[te])
            rs.append(pearsonr(pred, Y[te, j])[0])
        out[j] = np.nanmean(rs)
    return out


def run(data, num_splits, loop_cells, blas_threads=1, seed=0):
    rng = np.random.default_rng(seed + 1)
    rows = []
    totals = {"ours": 0.0, "loop": 0.0}
    for arena in data:
        animals = list(data[arena])
        grid = np.asarray(data[arena][animals[0]]["resp"]).shape[:2]
        n_total = sum(np.asarray(data[arena][a]["resp"]).shape[-1] for a in animals)

        t = time.perf_counter()
        ours = interanimal_scores(data[arena], "sklinear", {}, mode="holdout", num_splits=num_splits,
                                  blas_threads=blas_threads)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        diff, n_looped = 0.0, 0
        for a in animals:
            src = np.concatenate([np.asarray(data[arena][b]["resp"]) for b in animals if b != a], -1)
            tgt = np.asarray(data[arena][a]["resp"])
            n = tgt.shape[-1] if loop_cells is None else min(loop_cells, tgt.shape[-1])
            ref = loop_scores(src, tgt, n, num_splits)
            diff = max(diff, float(np.nanmax(np.abs(ref - ours[a][:n]))))
            n_looped += n
        t_loop = (time.perf_counter() - t) * n_total / n_looped
        rows.append((f"inter-animal holdout {arena} m {grid}", t_ours, t_loop, diff))
        totals["ours"] += t_ours
        totals["loop"] += t_loop

        layers = model_layers(rng, *grid)
        t_ours = t_loop = 0.0
        diff = 0.0
        for layer, resp in layers.items():
            t = time.perf_counter()
            ours = model_scores(resp, data[arena], "sklinear", {}, num_splits=num_splits,
                                blas_threads=blas_threads)
            t_ours += time.perf_counter() - t
            t = time.perf_counter()
            n_looped = 0
            for a in animals:
                tgt = np.asarray(data[arena][a]["resp"])
                n = tgt.shape[-1] if loop_cells is None else min(loop_cells, tgt.shape[-1])
                ref = loop_scores(resp, tgt, n, num_splits)
                diff = max(diff, float(np.nanmax(np.abs(ref - ours[a][:n]))))
                n_looped += n
            t_loop += (time.perf_counter() - t) * n_total / n_looped
        rows.append((f"model fit 3 layers {arena} m", t_ours, t_loop, diff))
        totals["ours"] += t_ours
        totals["loop"] += t_loop
    rows.append(("total", totals["ours"], totals["loop"], max(r[3] for r in rows)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--splits", type=int, default=10)
    p.add_argument("--loop-cells", type=int, default=None)
    p.add_argument("--blas-threads", type=int, default=1)
    args = p.parse_args(argv)
    path = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else None)
    if path is not None:
        from mec.data import load_dataset

        data = load_dataset(path)
        desc = str(path)
    else:
        data = synthetic_dataset()
        desc = "random smooth maps (2 arenas 20x20 / 44x44, 12 animals x 30-60 cells)"
    n_cells = {a: sum(np.asarray(r["resp"]).shape[-1] for r in data[a].values()) for a in data}
    print(f"data: {desc}; cells per arena {n_cells}; {args.splits} splits; "
          f"loop on {'all' if args.loop_cells is None else args.loop_cells} cells per animal")
    from threadpoolctl import threadpool_limits

    # both sides single-threaded BLAS (mec.fits does this itself; the loop gets the same)
    with warnings.catch_warnings(), threadpool_limits(limits=args.blas_threads, user_api="blas"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = run(data, args.splits, args.loop_cells, args.blas_threads)
    print(f"{'stage':<40} {'ours s':>8} {'loop s':>9} {'speedup':>8} {'max |diff|':>11}")
    for name, t_o, t_l, d in rows:
        print(f"{name:<40} {t_o:8.2f} {t_l:9.2f} {t_l / t_o:7.1f}x {d:11.2e}")
    if args.loop_cells is not None:
        print("(loop times scaled from the looped cells to all cells)")


if __name__ == "__main__":
    main()
