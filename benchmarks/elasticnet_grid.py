"""Benchmark: the fast ElasticNet grid (mec.fits.elasticnet) vs the per-combination scikit-learn
loop, in the same run, on data shaped like the default synthetic dataset (methods §4.4).

    .venv/bin/python benchmarks/elasticnet_grid.py [--quick] [--dataset PATH] [--arena 1.0]

Data: results/data/synthetic.h5 (mec.data.load_dataset) when present, else smooth random rate
maps of the same shape (1 m arena, 20 x 20 bins, 12 animals of 30-60 cells). Target = one
animal's cells; source = all other animals' cells (inter-animal holdout, ~500 sources).

1. The straightforward way: for each sampled cell, split, grid point and inner fold, one
   ``sklearn.linear_model.ElasticNet(alpha=alpha / n_fit, l1_ratio=...)`` fit (scikit-learn's
   default tol / max_iter), validation Pearson r, choice, refit, test r. Timed on a subsample
   the loop can finish (6 cells x 2 splits, --quick 3 x 1, of the paper's 99 alphas x 5 of
   its l1 ratios).
2. The engine on the same subsample: same choices? ("identical": for every cell and split the
   engine's (alpha, l1_ratio) is the loop's, or - where they differ - scikit-learn's solvers
   run to convergence on both choices give the engine's a cross-validation r at least the
   loop's minus 1e-9 and within 1e-6 of the engine's own; no choice worse, none undecided.
   Test r of the same choices is compared and its largest difference printed, not bounded.)
3. The engine on the full paper grid (99 x 100) for a sample of cells, projected to a
   12-animal, 620-cell dataset with 10 splits on 2 cores (two jobs in parallel).

Times are CPU seconds of this process (time.process_time), single-threaded BLAS: robust to
other users of a shared machine; wall seconds are printed beside them.
The last line reads ``speedup: <x> identical: <true|false>``.
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

PAPER_CELLS = 620  # methods §3.3 / 4.4: 12 mice, 620 cells
PAPER_SPLITS = 10
CORES = 2


def _synthetic_arena(seed: int = 0, n_animals: int = 12, nbins: int = 20) -> dict:
    """Smooth random rate maps (Hz) shaped like the default synthetic dataset's 1 m arena."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    arena = {}
    for k in range(n_animals):
        n = int(rng.integers(30, 61))
        base = gaussian_filter(rng.gamma(1.0, 1.0, size=(nbins, nbins, n)),
                               sigma=(1.5, 1.5, 0), mode="wrap")
        resp = 10.0 * base / base.max(axis=(0, 1)) + rng.gamma(1.0, 0.3, size=(nbins, nbins, n))
        arena[f"animal{k:02d}"] = {"resp": resp,
                                   "cell_ids": np.array([f"a{k}_c{i}" for i in range(n)])}
    return arena


def _load(dataset, arena):
    if dataset and Path(dataset).exists():
        from mec.data import load_dataset

        ds = load_dataset(dataset)
        if arena not in ds:
            raise ValueError(f"arena {arena} not in {dataset} (arenas: {list(ds)})")
        return ds[arena], f"{dataset} arena {arena}"
    return _synthetic_arena(), "smooth random maps (12 animals, 20 x 20 bins, 30-60 cells)"


def _holdout(arena_data, animal):
    target = np.asarray(arena_data[animal]["resp"], float)
    source = np.concatenate([np.asarray(arena_data[a]["resp"], float)
                             for a in arena_data if a != animal], axis=-1)
    X = source.reshape(-1, source.shape[-1])
    Y = target.reshape(-1, target.shape[-1])
    valid = np.isfinite(X).all(1) & np.isfinite(Y).all(1)
    nx, ny = target.shape[:2]
    return X, Y, valid, (nx, ny)


def _r(pred, y):
    pc = pred - pred.mean()
    yc = y - y.mean()
    den = np.sqrt((pc @ pc) * (yc @ yc))
    return float(pc @ yc / den) if den > 0 else np.nan


def sklearn_loop(X, Y, splits, alphas, l1s, tol=1e-4, max_iter=1000):
    """The straightforward way: one scikit-learn fit per cell, split, combination and fold.

    Returns (choices {(cell, split): (ai, li, cv, test_r, cv_grid)}, number of fits).
    """
    from sklearn.linear_model import ElasticNet
    from sklearn.exceptions import ConvergenceWarning

    out, nfits = {}, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for s, sp in enumerate(splits):
            folds = en.inner_folds(sp["train"])
            for t in range(Y.shape[1]):
                cv = np.zeros((len(alphas), len(l1s)))
                for ai, a in enumerate(alphas):
                    for li, l1 in enumerate(l1s):
                        rs = []
                        for fit, val in folds:
                            m = ElasticNet(alpha=a / len(fit), l1_ratio=l1, tol=tol,
                                           max_iter=max_iter).fit(X[fit], Y[fit, t])
                            nfits += 1
                            rs.append(_r(m.predict(X[val]), Y[val, t]))
                        cv[ai, li] = np.mean(rs)
                flat = np.where(np.isnan(cv), -np.inf, cv).ravel()
                ai, li = np.unravel_index(int(np.argmax(flat)), cv.shape)
                tr, te = sp["train"], sp["test"]
                m = ElasticNet(alpha=alphas[ai] / len(tr), l1_ratio=l1s[li], tol=tol,
                               max_iter=max_iter).fit(X[tr], Y[tr, t])
                nfits += 1
                out[(t, s)] = (ai, li, cv[ai, li], _r(m.predict(X[te]), Y[te, t]), cv)
    return out, nfits


def _timed(fn, *args, **kwargs):
    c0, w0 = time.process_time(), time.perf_counter()
    res = fn(*args, **kwargs)
    return res, time.process_time() - c0, time.perf_counter() - w0


def _exact_cv(X, y, train, alpha, l1, max_iter=50000):
    """Mean inner-CV r of one combination from solvers independent of the engine's grid code,
    and how it was decided (None: undecidable).

    l1_ratio <= 1e-12: Ridge(alpha) closed form (SVD) - ElasticNet(alpha / n, l1 -> 0) is
    Ridge(alpha) up to the 1e-16 L1 term; l1_ratio == 1: LassoLars(alpha / n) (exact path);
    otherwise ElasticNet run to convergence (tol=1e-13). When coordinate descent does not
    converge (small alphas, more sources than bins), mec.fits.elasticnet.elasticnet_coef's
    solution is used if it satisfies the KKT conditions (to 1% of alpha * l1, rounding
    dominates there) and its objective is below both scikit-learn's unconverged coordinate
    descent and LassoLars on the Zou & Hastie (2005) augmented data.
    """
    from sklearn.linear_model import ElasticNet, LassoLars, Ridge

    rs, how = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fit, val in en.inner_folds(train):
            if l1 <= 1e-12:
                coef, how = Ridge(alpha=alpha, solver="svd").fit(X[fit], y[fit]).coef_, "ridge"
            elif l1 == 1.0:
                coef = LassoLars(alpha=alpha / len(fit), max_iter=10000).fit(X[fit], y[fit]).coef_
                how = "lars"
            else:
                m = ElasticNet(alpha=alpha / len(fit), l1_ratio=l1, tol=1e-13, max_iter=max_iter)
                coef = m.fit(X[fit], y[fit]).coef_
                how = "cd"
                if m.n_iter_ >= max_iter:
                    Xc = X[fit] - X[fit].mean(0)
                    yc = y[fit] - y[fit].mean()
                    lam1, lam2 = alpha * l1, alpha * (1 - l1)
                    Xa = np.vstack([Xc, np.sqrt(lam2) * np.eye(X.shape[1])])
                    ya = np.concatenate([yc, np.zeros(X.shape[1])])
                    wl = LassoLars(alpha=lam1 / Xa.shape[0], fit_intercept=False,
                                   max_iter=100 * Xa.shape[1]).fit(Xa, ya).coef_
                    w = en.elasticnet_coef(X[fit], y[fit], alpha, l1)[0]

                    def obj(v):
                        res = yc - Xc @ v
                        return 0.5 * res @ res + lam1 * np.abs(v).sum() + 0.5 * lam2 * v @ v

                    g = Xc.T @ (yc - Xc @ w) - lam2 * w
                    nz = w != 0
                    viol = max(np.abs(g[nz] - lam1 * np.sign(w[nz])).max(initial=0.0),
                               (np.abs(g[~nz]) - lam1).max(initial=0.0))
                    if viol > 1e-2 * lam1 or obj(w) > min(obj(coef), obj(wl)) * (1 + 1e-12):
                        return np.nan, None
                    coef, how = w, "kkt"
            rs.append(_r(X[val] @ coef, y[val]))
    return float(np.mean(rs)), how


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small subsample (~3 min on 2 cores)")
    ap.add_argument("--dataset", default="results/data/synthetic.h5")
    ap.add_argument("--arena", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0, help="which cells are sampled")
    args = ap.parse_args(argv)

    n_ref_cells, n_ref_splits = (3, 1) if args.quick else (6, 2)
    n_full_cells, n_full_splits = (6, 1) if args.quick else (16, 2)

    arena_data, what = _load(args.dataset, args.arena)
    animal = sorted(arena_data)[0]
    X, Y, valid, grid = _holdout(arena_data, animal)
    Xk, Yk = X[valid], Y[valid]
    splits = generate_train_test_splits(X.shape[0], 0.2, PAPER_SPLITS, 0, grid_shape=grid,
                                        valid=valid)
    rng = np.random.default_rng(args.seed)
    n_total_cells = sum(np.asarray(v["resp"]).shape[-1] for v in arena_data.values())
    print(f"data: {what}; target {animal}: {Y.shape[1]} cells, source {X.shape[1]} cells, "
          f"{int(valid.sum())} kept bins, {len(splits[0]['train'])} training bins per split")

    # compile the kernels once (cached on disk by numba) outside the timings
    _, c_comp, w_comp = _timed(en.elasticnet_grid_search, Xk[:, :30], Yk[:, :1], splits[:1],
                               [1e3, 1.0], [0.5, 1.0], progress=False)
    print(f"numba compile / cache load: {c_comp:.1f} s CPU")

    # sub-grid: the paper's 99 alphas (dense path, as in the full grid) x 5 of its l1 ratios
    alphas_f, l1s_f = en.grid_constants("full")
    alphas_s, l1s_s = alphas_f, l1s_f[[0, 25, 50, 75, 99]]
    cells = np.sort(rng.choice(Y.shape[1], size=min(n_ref_cells, Y.shape[1]), replace=False))
    sub_splits = splits[:n_ref_splits]
    n_points = len(cells) * len(sub_splits) * len(alphas_s) * len(l1s_s) * 2

    (ref, nfits), c_ref, w_ref = _timed(sklearn_loop, Xk, Yk[:, cells], sub_splits, alphas_s,
                                        l1s_s)
    df, c_fast, w_fast = _timed(en.elasticnet_grid_search, Xk, Yk[:, cells], sub_splits,
                                alphas_s, l1s_s, progress=False)

    # identical: same choice as the loop, or the loop's choice was wrong because of its
    # tolerance - decided by exact scikit-learn solvers (_exact_cv) on both choices
    same = better = undecided = worse = 0
    hows = set()
    max_dtest = max_dcv = 0.0
    for row in df.itertuples():
        ai, li, _, test_r, cv = ref[(row.target, row.split)]
        fa = int(np.flatnonzero(alphas_s == row.alpha)[0])
        fl = int(np.flatnonzero(l1s_s == row.l1_ratio)[0])
        if (fa, fl) == (ai, li):
            same += 1
            if np.isfinite(test_r) or np.isfinite(row.test_score):
                max_dtest = max(max_dtest, abs(test_r - row.test_score))
            continue
        y = Yk[:, cells[row.target]]
        train = sub_splits[row.split]["train"]
        ours, how1 = _exact_cv(Xk, y, train, alphas_s[fa], l1s_s[fl])
        theirs, how2 = _exact_cv(Xk, y, train, alphas_s[ai], l1s_s[li])
        hows.update({how1, how2})
        if how1 is None or how2 is None:
            undecided += 1
            print(f"  undecided: cell {cells[row.target]} split {row.split}: engine "
                  f"{row.alpha:.3g}/{row.l1_ratio:.3g} ({how1}) vs loop "
                  f"{alphas_s[ai]:.3g}/{l1s_s[li]:.3g} ({how2})")
        elif ours >= theirs - 1e-9 and abs(ours - row.cv_score) <= 1e-6:
            better += 1
            max_dcv = max(max_dcv, abs(ours - row.cv_score))
        else:
            worse += 1
            print(f"  cell {cells[row.target]} split {row.split}: engine {row.alpha:.3g}/"
                  f"{row.l1_ratio:.3g} cv {row.cv_score:.9f} (exact {ours:.9f}, {how1}) vs "
                  f"loop {alphas_s[ai]:.3g}/{l1s_s[li]:.3g} (exact {theirs:.9f}, {how2})")
    identical = worse == 0 and undecided == 0
    speedup = c_ref / c_fast

    # the full paper grid on a sample of cells, projected
    fcells = np.sort(rng.choice(Y.shape[1], size=min(n_full_cells, Y.shape[1]), replace=False))
    (dff, stats), c_full, w_full = _timed(en.elasticnet_grid_search, Xk, Yk[:, fcells],
                                          splits[:n_full_splits], alphas_f, l1s_f,
                                          progress=False, return_stats=True)
    per_cell_split = c_full / (len(fcells) * n_full_splits)
    proj_cpu = per_cell_split * PAPER_CELLS * PAPER_SPLITS
    proj_wall_h = proj_cpu / CORES / 3600
    full_points = PAPER_CELLS * PAPER_SPLITS * len(alphas_f) * len(l1s_f) * 2
    sk_per_point = c_ref / n_points
    sk_full_h = sk_per_point * full_points / CORES / 3600

    print()
    print("| run | cells x splits x grid | fits / grid points | CPU s | wall s | us CPU / point |")
    print("|---|---|---|---|---|---|")
    sub = f"99x{len(l1s_s)}"
    print(f"| scikit-learn loop (tol=1e-4, max_iter=1000) | {len(cells)} x {len(sub_splits)} x "
          f"{sub} | {nfits} fits | {c_ref:.1f} | {w_ref:.1f} | {1e6 * sk_per_point:.0f} |")
    print(f"| mec engine, same subsample | {len(cells)} x {len(sub_splits)} x {sub} | "
          f"{n_points} points | {c_fast:.2f} | {w_fast:.2f} | {1e6 * c_fast / n_points:.1f} |")
    n_fp = len(fcells) * n_full_splits * len(alphas_f) * len(l1s_f) * 2
    print(f"| mec engine, full paper grid | {len(fcells)} x {n_full_splits} x 99x100 | "
          f"{n_fp} points | {c_full:.1f} | {w_full:.1f} | {1e6 * c_full / n_fp:.1f} |")
    print()
    print(f"choices: {same}/{len(df)} same as the loop; {better} differ where exact solvers "
          f"({', '.join(sorted(h for h in hows if h))}) confirm the engine's choice (the loop's "
          f"unconverged tol=1e-4 fits misjudged it; engine cv r within {max_dcv:.1e} of the "
          f"exact one); {undecided} undecidable; {worse} wrong. Max |test r difference| on "
          f"same choices {max_dtest:.1e}")
    print(f"engine solver stats (full grid): linear solves {stats[0]}, points {stats[1]}, "
          f"not converged {stats[2]}, continuations {stats[4]}")
    print(f"full paper grid, {PAPER_CELLS} cells x {PAPER_SPLITS} splits x 9,900 x 2 folds "
          f"({full_points:.2e} fits): engine {per_cell_split:.2f} CPU s per cell and split -> "
          f"projected {proj_cpu / 3600:.2f} CPU h = {proj_wall_h:.2f} h on {CORES} cores "
          f"(goal <= 1 h); scikit-learn loop projected {sk_full_h:.0f} h on {CORES} cores")
    print(f"(this dataset: {n_total_cells} cells in arena {args.arena})")
    print(f"speedup: {speedup:.0f} identical: {'true' if identical else 'false'}")


if __name__ == "__main__":
    main()
