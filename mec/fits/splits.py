"""Train/test splits of rate-map bins (methods §4.2).

Random splits reproduce the original code exactly: for split ``s`` the kept bins are permuted
with ``np.random.RandomState(split_start_seed + s).permutation(n_kept)`` and the first
``ceil(train_frac * n_kept)`` are train, the rest test.

Structured splits ("topbottom", "leftright", "diag1", "diag2", "quad") cut the nx x ny grid of
bins (bin index = ix * ny + iy, C order, rows = x). The original code builds them on the bins
left after NaN filtering, which only works when no bin is NaN. Here they also work with
non-finite bins (e.g. a circular arena inside its square bounding box):

1. the folds are assigned on the FULL grid (every bin, kept or not), exactly as the original
   does for a grid without NaN;
2. bins that are not kept (``valid`` False) are dropped from every fold;
3. the remaining indices are re-indexed into the kept bins (0 .. n_kept - 1, in grid order), so
   they index the rows of the filtered ``(n_kept, n_units)`` arrays;
4. a fold whose train or test part is left with fewer than :data:`MIN_SPLIT_BINS` bins is
   skipped with a ``UserWarning`` naming it (it could not be fitted or scored). If every
   fold is skipped, :class:`SplitError`.

With ``valid`` all True the result equals the original's.

Blocked splits (methods §7.2; not in the original): ``train_frac="blocks"`` or
``blocks_split(k, guard_bins)`` (the string ``"blocks:k=4,g=4"``) cuts the grid into k x k
blocks (block edges ``round(linspace(0, n, k + 1))`` per axis, so nx != ny works), holds each
block out in turn (k * k folds, row-major) and drops from training every bin within
``guard_bins`` bins of the test block (Chebyshev distance, the square support of a separable
Gaussian kernel). With ``guard_bins`` at least the smoothing radius of the maps
(mec.ratemaps.Recipe.radius_bins), no training bin shares a smoothing kernel with a test bin,
so a fit cannot score by reading a test bin's own noise off its smoothed neighbours. Dropped
(non-finite) bins are handled as for the structured splits above.

Random splits need ``0 < train_frac < 1``: ``train_frac=1`` would train on every bin and
leave none to score on (a score is a correlation on held-out bins), so it is refused, like 0.
A split left with fewer than :data:`MIN_SPLIT_BINS` training or test bins (few bins finite in
both source and target) raises :class:`SplitError`, which says how many bins were kept.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

STRUCTURED_SPLITS = ("topbottom", "leftright", "diag1", "diag2", "quad")
#: Name of the blocked split (methods §7.2).
BLOCKS = "blocks"
#: Blocks per axis of ``train_frac="blocks"`` without parameters.
DEFAULT_BLOCK_K = 3
#: Guard band in bins of ``train_frac="blocks"`` without parameters: the kernel radius of a
#: Gaussian of sigma 1 bin cut at 4 sigma (scipy's default; the paper's recipe), which also
#: covers the robust recipe's radius of 3 (mec.ratemaps.ROBUST).
DEFAULT_BLOCK_GUARD = 4

#: Fewest bins on either side of a split: a Pearson r on the test bins needs two, and so does
#: any fit worth scoring.
MIN_SPLIT_BINS = 2

__all__ = ["generate_train_test_splits", "STRUCTURED_SPLITS", "BLOCKS", "DEFAULT_BLOCK_K",
           "DEFAULT_BLOCK_GUARD", "MIN_SPLIT_BINS", "SplitError", "blocks_split",
           "parse_blocks", "check_split_start_seed", "check_train_frac"]


class SplitError(ValueError):
    """A train/test split that cannot be made: too few kept bins on one side. The message
    names the split and the reason; callers add the arena and the cells."""


def check_train_frac(train_frac, where: str = "train_frac"):
    """``train_frac`` checked: a number with ``0 < train_frac < 1`` (returned as a float), a
    structured split name or a blocked split (returned as given). ValueError naming ``where``
    and the value otherwise; ``train_frac=1`` is refused with the reason (module docstring)."""
    if isinstance(train_frac, str):
        if train_frac in STRUCTURED_SPLITS or parse_blocks(train_frac) is not None:
            return train_frac
        raise ValueError(f"{where}={train_frac!r} is not a split: use a number in (0, 1), one "
                         f"of {STRUCTURED_SPLITS} or '{BLOCKS}'")
    try:
        frac = float(train_frac)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a number in (0, 1) or one of {STRUCTURED_SPLITS}, "
                         f"got {train_frac!r}") from None
    if isinstance(train_frac, bool) or not 0.0 < frac < 1.0:
        why = {1.0: ": it would train on every bin and leave none to test on (a score is a "
                    "correlation on held-out bins); the paper uses 0.2",
               0.0: ": it would leave no bin to train on"}.get(frac, "")
        raise ValueError(f"{where} must be in (0, 1), got {train_frac!r}{why}")
    return frac


def blocks_split(k: int = DEFAULT_BLOCK_K, guard_bins: int = DEFAULT_BLOCK_GUARD) -> str:
    """The ``train_frac`` string of a blocked split: ``"blocks:k=<k>,g=<guard_bins>"``."""
    k, g = _block_params(k, guard_bins, f"blocks_split({k!r}, {guard_bins!r})")
    return f"{BLOCKS}:k={k},g={g}"


def _block_params(k, g, where: str) -> tuple[int, int]:
    try:
        k_i, g_i = int(k), int(g)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: k and guard_bins must be integers, got k={k!r}, "
                         f"guard_bins={g!r}") from None
    if k_i != k or g_i != g or k_i < 2 or g_i < 0:
        raise ValueError(f"{where}: need an integer k >= 2 and guard_bins >= 0, got k={k!r}, "
                         f"guard_bins={g!r}")
    return k_i, g_i


def parse_blocks(train_frac) -> tuple[int, int] | None:
    """(k, guard_bins) of a blocked-split ``train_frac`` ("blocks" or "blocks:k=4,g=4"), or
    None for any other split. ValueError for a malformed blocks string."""
    if not isinstance(train_frac, str) or not train_frac.startswith(BLOCKS):
        return None
    if train_frac == BLOCKS:
        return DEFAULT_BLOCK_K, DEFAULT_BLOCK_GUARD
    rest = train_frac[len(BLOCKS):]
    try:
        if not rest.startswith(":"):
            raise ValueError
        params = dict(item.split("=", 1) for item in rest[1:].split(","))
        if set(params) != {"k", "g"}:
            raise ValueError
        return _block_params(int(params["k"]), int(params["g"]), f"train_frac={train_frac!r}")
    except ValueError as err:
        if "train_frac=" in str(err):
            raise
        raise ValueError(f"train_frac={train_frac!r} is not a blocked split; write 'blocks' or "
                         "'blocks:k=<int>,g=<int>'") from None




def check_split_start_seed(split_start_seed, num_splits=1) -> int:
    """``split_start_seed`` as an int, or ValueError naming it.

    Split s draws from ``RandomState(split_start_seed + s)``, whose seed must lie in
    [0, 2**32 - 1]; numpy's own error for a negative seed does not say which argument it was.
    """
    if isinstance(split_start_seed, (bool, np.bool_)) or not isinstance(split_start_seed, (int, np.integer)):
        raise ValueError(f"split_start_seed must be an integer >= 0, got {split_start_seed!r}")
    seed = int(split_start_seed)
    last = seed + max(int(num_splits), 1) - 1
    if seed < 0 or last > 2**32 - 1:
        raise ValueError(f"split_start_seed must be an integer >= 0 with split_start_seed + "
                         f"num_splits - 1 <= 2**32 - 1 (numpy RandomState seeds), got "
                         f"split_start_seed={split_start_seed!r}, num_splits={num_splits!r}")
    return seed


def _grid_shape(num_states: int, grid_shape) -> tuple[int, int]:
    if grid_shape is None:
        side = int(round(math.sqrt(num_states)))
        if side * side != num_states:
            raise ValueError(
                f"structured splits need grid_shape=(nx, ny): num_states={num_states} "
                "is not a perfect square"
            )
        return side, side
    if len(grid_shape) != 2:
        raise ValueError(f"grid_shape must be (nx, ny), got {grid_shape!r}")
    nx, ny = int(grid_shape[0]), int(grid_shape[1])
    if nx * ny != num_states:
        raise ValueError(
            f"grid_shape={tuple(grid_shape)!r} has {nx * ny} bins but num_states={num_states}"
        )
    return nx, ny


def _block_folds(nx: int, ny: int, k: int, guard: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) full-grid indices of the k x k blocked folds with a guard band."""
    if k > nx or k > ny:
        raise ValueError(f"blocked split: k={k} blocks per axis do not fit a grid of "
                         f"{nx} x {ny} bins (need k <= {min(nx, ny)})")
    xb = np.round(np.linspace(0, nx, k + 1)).astype(int)
    yb = np.round(np.linspace(0, ny, k + 1)).astype(int)
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    folds = []
    for i in range(k):
        for j in range(k):
            test = (ix >= xb[i]) & (ix < xb[i + 1]) & (iy >= yb[j]) & (iy < yb[j + 1])
            near = ((ix >= xb[i] - guard) & (ix < xb[i + 1] + guard)
                    & (iy >= yb[j] - guard) & (iy < yb[j + 1] + guard))
            folds.append((np.flatnonzero(~near.ravel()), np.flatnonzero(test.ravel())))
    return folds


def _structured_folds(kind: str, nx: int, ny: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) full-grid bin indices of each fold, in the original's order."""
    blocks = parse_blocks(kind)
    if blocks is not None:
        return _block_folds(nx, ny, *blocks)
    idx = np.arange(nx * ny).reshape(nx, ny)
    if kind == "quad":
        folds = []
        flat = idx.ravel()
        for rows, cols in (
            (slice(None, nx // 2), slice(None, ny // 2)),
            (slice(None, nx // 2), slice(ny // 2, None)),
            (slice(nx // 2, None), slice(None, ny // 2)),
            (slice(nx // 2, None), slice(ny // 2, None)),
        ):
            test = idx[rows, cols].ravel()
            train = flat[~np.isin(flat, test)]
            folds.append((train, test))
        return folds
    if kind == "topbottom":
        half_1, half_2 = idx[: nx // 2, :].ravel(), idx[nx // 2 :, :].ravel()
    elif kind == "leftright":
        half_1, half_2 = idx[:, : ny // 2].ravel(), idx[:, ny // 2 :].ravel()
    elif kind in ("diag1", "diag2"):
        # upper triangle incl. the diagonal vs strictly lower, of the grid or its mirror
        mat = idx if kind == "diag1" else np.fliplr(idx)
        half_1 = mat[np.triu_indices(n=nx, k=0, m=ny)].ravel()
        half_2 = mat[np.tril_indices(n=nx, k=-1, m=ny)].ravel()
    else:
        raise ValueError(
            f"train_frac={kind!r} is not a structured split; use one of {STRUCTURED_SPLITS}, "
            f"'{BLOCKS}' or a number in (0, 1)"
        )
    return [(half_1, half_2), (half_2, half_1)]


def generate_train_test_splits(
    num_states: int,
    train_frac=0.2,
    num_splits: int = 10,
    split_start_seed: int = 0,
    grid_shape=None,
    valid=None,
) -> list[dict]:
    """Train/test splits of bins (methods §4.2).

    num_states: number of bins of the full grid (nx * ny). When ``valid`` is None every bin is
        kept (the original's behaviour, where num_states is the number of bins after NaN
        filtering).
    train_frac: float in (0, 1) (random splits), one of STRUCTURED_SPLITS, or a blocked split
        ("blocks" or ``blocks_split(k, guard_bins)``, module docstring).
    num_splits: number of random splits (ignored for structured splits: 2, or 4 for "quad",
        k * k for blocks).
    split_start_seed: split s uses np.random.RandomState(split_start_seed + s).
    grid_shape: (nx, ny) of the grid, for structured splits (default: square grid).
    valid: optional (num_states,) bool, bins kept for the fit (finite in source and target).
    Returns: list of {"train": int array, "test": int array} indexing the KEPT bins
        (0 .. n_kept - 1, grid order). See the module docstring for structured splits with
        dropped bins.
    """
    num_states = int(num_states)
    check_split_start_seed(split_start_seed, num_splits if not isinstance(train_frac, str) else 1)
    if num_states < 0:
        raise ValueError(f"num_states must be >= 0, got {num_states}")
    if valid is None:
        valid = np.ones(num_states, dtype=bool)
    else:
        valid = np.asarray(valid, dtype=bool).ravel()
        if valid.shape[0] != num_states:
            raise ValueError(
                f"valid has {valid.shape[0]} entries but num_states={num_states}"
            )
    n_kept = int(valid.sum())

    if isinstance(train_frac, str):
        nx, ny = _grid_shape(num_states, grid_shape)
        # full-grid index -> kept-bin index (-1 for dropped bins)
        remap = np.full(num_states, -1, dtype=np.int64)
        remap[valid] = np.arange(n_kept)
        splits = []
        for k, (train, test) in enumerate(_structured_folds(train_frac, nx, ny)):
            train_k = remap[train][valid[train]]
            test_k = remap[test][valid[test]]
            if train_k.size < MIN_SPLIT_BINS or test_k.size < MIN_SPLIT_BINS:
                warnings.warn(
                    f"structured split {train_frac!r} fold {k} has {train_k.size} kept train "
                    f"and {test_k.size} kept test bins ({n_kept} of {num_states} bins kept; "
                    f"need {MIN_SPLIT_BINS} of each); skipping that fold",
                    UserWarning,
                    stacklevel=2,
                )
                continue
            splits.append({"train": train_k, "test": test_k})
        if not splits:
            raise SplitError(
                f"split train_frac={train_frac!r}: every fold has fewer than {MIN_SPLIT_BINS} "
                f"train or test bins after dropping non-finite bins ({n_kept} of {num_states} "
                f"bins kept)"
            )
        return splits

    frac = check_train_frac(train_frac)
    if int(num_splits) < 1:
        raise ValueError(f"num_splits must be >= 1, got {num_splits!r}")
    num_train = int(math.ceil(frac * n_kept))
    if num_train < MIN_SPLIT_BINS or n_kept - num_train < MIN_SPLIT_BINS:
        raise SplitError(
            f"split train_frac={train_frac!r}: {n_kept} of {num_states} bins kept (finite in "
            f"source and target) give {num_train} training and {n_kept - num_train} test bins; "
            f"need at least {MIN_SPLIT_BINS} of each"
        )
    splits = []
    for s in range(int(num_splits)):
        perm = np.random.RandomState(seed=int(split_start_seed) + s).permutation(n_kept)
        splits.append({"train": perm[:num_train], "test": perm[num_train:]})
    return splits
