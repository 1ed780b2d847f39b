"""The per-cell ElasticNet grid search (methods §4.4), exact and fast.

Procedure (methods §4.4), for every target cell and every outer train/test split:

1. inner 2-fold cross-validation on that split's training bins. The folds are
   ``sklearn.model_selection.KFold(n_splits=2, shuffle=False)`` over the split's ``train``
   index array *in the order the split gives it* (for random splits that order is already a
   random permutation, methods §4.2): fold 0 validates on ``train[:ceil(n/2)]`` and fits on the
   rest, fold 1 the other way round;
2. for every (alpha, l1_ratio) of the grid: fit an ElasticNet on the fold's fit bins, score
   the Pearson r of its predictions on the fold's validation bins, average the two folds
   (a NaN r - constant predictions, e.g. all coefficients zero - makes the mean NaN, and NaN
   ranks below every number);
3. pick the combination with the best mean r (first in grid order, alpha-major, among exact
   ties; the user's ``alphas`` / ``l1_ratios`` order is the grid order);
4. refit on the whole training part with that choice and score Pearson r on the test bins.

Alpha convention. ``alpha`` is in the user's convention (methods §4.4, ``mec.constants``);
scikit-learn's ElasticNet gets ``alpha / n_fit`` where **n_fit is the number of bins of the
fit being done**: the inner fold's fit half (about n_train / 2) for the cross-validation fits,
the whole training part (n_train) for the refit - exactly what ``mec.mappers.SKLinearMap``
does with ``X.shape[0]`` when the choices are reused through ``map_kwargs_per_cell``. With it
the problem solved is, on bins centred by the fit bins' means (``fit_intercept=True``),

    minimise_w  0.5 ||y - X w||^2 + alpha * (l1_ratio ||w||_1 + 0.5 (1 - l1_ratio) ||w||^2),

so ``ElasticNet(alpha=a / n_fit, l1_ratio -> 0)`` is ``Ridge(alpha=a)`` and one user alpha
means the same penalty in the inner fits and in the refit.

Exactness. Every fit is solved to machine precision (the exact minimiser), not to
scikit-learn's default ``tol=1e-4`` duality gap: that tolerance leaves validation r values
wrong in the 4th-6th digit, and at tiny alphas with more sources than bins coordinate descent
stops at ``max_iter`` far from the minimiser, so "the same choice as scikit-learn with default
tolerance" is not well defined. The brute-force reference in the tests is scikit-learn's
``ElasticNet`` run to convergence (``tol=0``, large ``max_iter``) on well-conditioned cases.

How it is fast (same answers, see tests/test_elasticnet.py):

* the design matrix of an animal's source is shared by all its target cells: the fit bins are
  centred and rotated once per fold into an (n_fit - 1)-dimensional orthonormal basis of the
  centred subspace (``Z``), with the Gram matrix ``Z^T Z`` precomputed;
* for each l1_ratio < 1 the alphas are walked from large to small with warm starts, each point
  solved exactly by a semi-smooth Newton method on the dual (the residual r in n_fit - 1
  dimensions): given the active set A = {j : |z_j^T r| > alpha l1} and its signs, the
  minimiser is one linear solve, in the primal (|A| x |A|, Gram) or dual ((n-1) x (n-1),
  incrementally updated Z_A Z_A^T) form, whichever is smaller; the iteration stops when the
  solve reproduces the active set and signs it came from (then the KKT conditions hold
  exactly). Warm starts make that one or two solves per grid point;
* screening: when alpha * l1_ratio >= max_j |x_j^T y| (KKT bound) every coefficient is exactly
  zero, predictions are constant and r is NaN - no solve;
* l1_ratio == 1 (the Lasso, no ridge term) is solved along its exact piecewise-linear path
  by the LARS homotopy (Efron et al. 2004, Lasso modification) and read at every alpha;
* the inner loops are compiled with numba (cached on disk after the first run).

Validation. tests/test_elasticnet.py compares every grid score, choice and test score with a
brute-force scikit-learn search, and checks the KKT conditions where coordinate descent cannot
converge; benchmarks/elasticnet_grid.py times both on data shaped like the synthetic dataset.

The code: the compiled kernels in :mod:`mec.fits.enet_kernels` (Newton path) and
:mod:`mec.fits.lasso_kernel` (LARS path), the search on arrays in :mod:`mec.fits.enet_search`
(re-exported here), and here the dataset-level entry points the workflow runs.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from mec.data.arenas import arena_id, arena_key, find_arena
# the search on arrays (re-exported: this module is the public face of the ElasticNet grid)
from mec.fits.enet_search import (  # noqa: F401
    _choose,
    elasticnet_coef,
    elasticnet_cv_grid,
    elasticnet_fit,
    elasticnet_grid_search,
    grid_constants,
    inner_folds,
)

__all__ = [
    "elasticnet_grid_search",
    "elasticnet_cv_grid",
    "elasticnet_animal_table",
    "inner_folds",
    "grid_constants",
    "elasticnet_coef",
    "elasticnet_fit",
    "run_elasticnet_grid",
    "gather_elasticnet",
]


# ---------------------------------------------------------------------------------------------
# dataset level
# ---------------------------------------------------------------------------------------------
def _cell_slice(cells, n_cells: int) -> np.ndarray:
    """Target cell indices from None (all), a slice, an index array, or (i, k) = chunk i of k."""
    if cells is None:
        return np.arange(n_cells)
    if isinstance(cells, slice):
        return np.arange(n_cells)[cells]
    if isinstance(cells, tuple) and len(cells) == 2:
        i, k = int(cells[0]), int(cells[1])
        if k < 1 or not 0 <= i < k:
            raise ValueError(f"cell chunk (i={i}, k={k}) needs k >= 1 and 0 <= i < k")
        return np.array_split(np.arange(n_cells), k)[i]
    idx = np.asarray(cells, dtype=int).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n_cells):
        raise ValueError(f"cell indices {idx.tolist()} out of range for {n_cells} cells")
    return idx


def elasticnet_animal_table(dataset, arena, animal, alphas, l1_ratios, train_frac=0.2,
                            num_splits=10, split_start_seed=0, cells=None, progress=True):
    """ElasticNet choices of one animal's cells with the inter-animal holdout source (methods §4.3,
    4.4): results/elasticnet/{arena}/{animal}.csv rows.

    dataset: ``dataset[arena][animal] = {"resp": (nx, ny, n_cells), "cell_ids": ...}``.
    arena: float key (m); animal: key of ``dataset[arena]``.
    cells: None (all), a slice / index array, or (i, k) = chunk i of k (np.array_split order).
    The kept bins (finite in every source cell and every target cell of the animal, not only
    the chunk, with mec.fits.bins' exceptions for single broken units) and the splits are
    those of mec.fits.core's inter-animal holdout fit, so the choices line up with its splits.
    Returns a DataFrame: arena, animal, cell_id, split, alpha (user convention), l1_ratio,
    cv_score, test_score; rows cell-major (cells in dataset order, then split).
    """
    from mec.fits.bins import FitInputError, FitInputWarning, kept_bins
    from mec.fits.splits import generate_train_test_splits

    adata = dataset[find_arena(dataset, arena)]  # 1.0, "1.0": one arena
    if animal not in adata:
        raise ValueError(f"animal {animal!r} not in arena {arena!r} (animals: {list(adata)})")
    others = [a for a in adata if a != animal]
    if not others:
        raise ValueError(f"arena {arena!r} has only animal {animal!r}; holdout needs >= 2")
    target = np.asarray(adata[animal]["resp"], dtype=float)
    nx, ny, n_cells = target.shape
    source = np.concatenate([np.asarray(adata[a]["resp"], dtype=float) for a in others], axis=-1)
    if source.shape[:2] != (nx, ny):
        raise ValueError(f"arena {arena!r}: source maps {source.shape[:2]} differ from target "
                         f"animal {animal!r} maps {(nx, ny)}")
    X = source.reshape(-1, source.shape[-1])
    Y = target.reshape(-1, n_cells)
    ids = np.asarray(adata[animal]["cell_ids"]).astype(str)
    src_ids = [str(c) for a in others for c in np.asarray(adata[a]["cell_ids"]).ravel()]
    where = f"ElasticNet grid, arena {arena_key(arena)}, target animal {animal}"
    cols = ["arena", "animal", "cell_id", "split", "alpha", "l1_ratio", "cv_score", "test_score"]
    sel = _cell_slice(cells, n_cells)
    if sel.size == 0:
        return pd.DataFrame(columns=cols)
    # The bins and units of mec.fits.core's holdout fit (mec.fits.bins): the animal's cells
    # together on the bins they share; a cell left out of that fit on its own bins.
    kept = kept_bins(np.isfinite(X), np.isfinite(Y), src_ids, ids, where)
    fits = []
    if kept.targets[sel].any():
        fits.append((sel[kept.targets[sel]], kept, where))
    for j in sel[np.isin(sel, kept.alone)]:
        at = f"{where}, cell {ids[j]!r} on its own bins"
        try:
            fits.append((np.array([j]), kept_bins(np.isfinite(X), np.isfinite(Y[:, [j]]), src_ids,
                                                  ids[[j]], at), at))
        except FitInputError as err:
            warnings.warn(f"{err}; no choice made", FitInputWarning, stacklevel=2)
    parts = []
    for tgt, kb, at in fits:
        try:
            splits = generate_train_test_splits(nx * ny, train_frac=train_frac,
                                                num_splits=num_splits,
                                                split_start_seed=split_start_seed,
                                                grid_shape=(nx, ny), valid=kb.valid)
            part = elasticnet_grid_search(X[kb.valid][:, kb.sources], Y[kb.valid][:, tgt], splits,
                                          alphas, l1_ratios, progress=progress)
        except ValueError as err:
            if at != where:  # one cell on its own bins: the others go on (as in mec.fits.core)
                warnings.warn(f"{at}: {err}; no choice made", FitInputWarning, stacklevel=2)
                continue
            raise type(err)(f"{at}: {err}") from None
        part["target"] = tgt[part["target"].to_numpy()]
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=cols)
    df = pd.concat(parts, ignore_index=True)
    # cell-major rows (cell order of the dataset, then split): chunks concatenate in order
    df = df.sort_values(["target", "split"], kind="stable").reset_index(drop=True)
    df.insert(0, "cell_id", ids[df["target"].to_numpy()])
    df.insert(0, "animal", str(animal))
    df.insert(0, "arena", arena_id(arena))
    return df[cols]




# ---------------------------------------------------------------------------------------------
# pipeline entry points (workflow/scripts/elasticnet_grid.py, elasticnet_gather.py)
# ---------------------------------------------------------------------------------------------
def run_elasticnet_grid(dataset_path, arena, animal, grid="short", train_frac=0.2, num_splits=10,
                        split_start_seed=0, chunk=None, out_path=None, progress=True):
    """One job of the grid: one arena, one animal, optionally chunk i of k of its cells.

    dataset_path: HDF5 dataset (mec.data.load_dataset); arena: float (m); animal: str;
    grid: "short" | "full" (mec.constants); chunk: None or (i, k); out_path: CSV written
    atomically (the results/elasticnet/{arena}/{animal}.csv columns). Returns the table.
    """
    from mec.data import load_dataset
    from mec.data.report import check_animals
    from mec.io import write_table

    arena = arena_id(arena)
    alphas, l1s = grid_constants(grid)
    ds = load_dataset(dataset_path, arenas=[arena])
    check_animals(ds, where=f"dataset {dataset_path}")  # as interanimal: one rule, one error
    cells = None if chunk is None else (int(chunk[0]), int(chunk[1]))
    t0 = time.perf_counter()
    df = elasticnet_animal_table(ds, arena, animal, alphas, l1s, train_frac=train_frac,
                                 num_splits=num_splits, split_start_seed=split_start_seed,
                                 cells=cells, progress=progress)
    print(f"elasticnet grid {grid} ({len(alphas)} x {len(l1s)}), arena {arena_key(arena)}, animal "
          f"{animal}, chunk {chunk}: {df['cell_id'].nunique()} cells x {num_splits} splits in "
          f"{time.perf_counter() - t0:.1f} s")
    if out_path is not None:
        write_table(df, out_path)
    return df


def gather_elasticnet(chunk_paths, out_path=None):
    """Concatenate chunk tables of one animal into results/elasticnet/{arena}/{animal}.csv.

    Rows keep the chunks' order (chunk i of k holds consecutive cells, cell-major), so the
    result equals the unchunked table; a cell in two chunks is an error.
    """
    from mec.io import write_table

    parts = [pd.read_csv(p, dtype={"cell_id": str, "animal": str}) for p in chunk_paths]
    if not parts:
        raise ValueError("gather_elasticnet needs at least one chunk table")
    df = pd.concat(parts, ignore_index=True)
    dup = df.duplicated(["cell_id", "split"])
    if dup.any():
        raise ValueError(f"cells in more than one chunk: {sorted(set(df.loc[dup, 'cell_id']))[:5]}")
    if out_path is not None:
        write_table(df, out_path)
    return df
