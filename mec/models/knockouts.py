"""In-silico knockouts: zero grid units versus heterogeneous units of a trained model and
compare the path-integration decoding error (the paper's in-silico experiment, methods §2.1, 5).

Procedure of :func:`knockout_table`:

1. Rate maps of the ``g`` layer (methods §2.1) in the model's TRAINING box (a square of side
   ``train_arena`` centred on 0, 5 cm bins), from ``ratemap_batches`` batches of fresh
   trajectories of seed ``seed`` in the evaluation stream (mec.models.export.model_ratemaps,
   methods §3.1; never the training batches).
2. Unit types from those maps (methods §5, thresholds of mec.scores.types): grid = grid score
   (mec.scores.grid_scores, form ``grid_mode``, default the adaptive rings) >
   ``grid_threshold`` (GRID_THRESHOLD, 0.3); heterogeneous = neither grid nor border (border
   score > BORDER_THRESHOLD, 0.5, Solstad et al. 2008), as the methods §5 type "heterogeneous"
   (head direction is not assessed for model units: the task's inputs carry no
   head-direction signal separate from velocity). ``heterogeneous="rest"`` counts every
   non-grid unit instead. Silent units (flat maps, e.g. dead ReLUs) are in neither group; a
   live unit the scorer cannot score (NaN) is not grid.
3. Set size k = ``set_size`` or half the smaller group's size (at least 1), so that the sets
   of both groups vary between resamples (zeroing a whole group would draw the same set
   every time). For each resample r, k units drawn
   without replacement from each group (``numpy.random.default_rng([seed, r])``, grid set
   first) are zeroed in the g layer (their activity multiplied by 0 before the decoder).
4. Decoding error (cm; top-3 place-cell decoding, methods §1.2) on FIXED evaluation trajectories:
   ``n_batches`` batches of trajectory seed ``seed + 1`` (evaluation stream) in the training
   box, the same for
   every knockout, so differences come from the zeroed units only. The g activity of those
   batches is computed once and every mask is applied to it (the decoder is a Dense layer of
   g), which equals mec.models.export.evaluate_decoding_error with that ``unit_mask``.

Only this subpackage imports Keras.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from mec.scores.grid import DEFAULT_MODE
from mec.scores.types import BORDER_THRESHOLD, GRID_THRESHOLD

__all__ = ["silent_units", "knockout_table", "knockout_groups", "knockout_summary", "run_knockouts",
           "KNOCKOUT_COLUMNS", "KnockoutEvaluator"]

KNOCKOUT_COLUMNS = ["model", "group", "resample", "n_units_zeroed", "group_size", "decoding_error_cm"]
GROUPS = ("none", "grid", "heterogeneous")


def silent_units(maps: np.ndarray) -> np.ndarray:
    """(n,) bool: units whose rate map is flat (max - min over finite bins <= 1e-9 of the
    layer's largest absolute activity) or has fewer than 3 finite bins - dead ReLUs and the
    like. maps: (nx, ny, n)."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (nx, ny, n_units), got shape {maps.shape}")
    finite = np.isfinite(maps)
    hi = np.where(finite, maps, -np.inf).max(axis=(0, 1))
    lo = np.where(finite, maps, np.inf).min(axis=(0, 1))
    scale = np.nanmax(np.abs(np.where(finite, maps, np.nan))) if finite.any() else 0.0
    with np.errstate(invalid="ignore"):
        flat = ~(hi - lo > 1e-9 * max(scale, 1e-30))
    return flat | (finite.sum(axis=(0, 1)) < 3)


def knockout_groups(g_maps: np.ndarray, grid_threshold: float = GRID_THRESHOLD,
                    border_threshold: float = BORDER_THRESHOLD,
                    heterogeneous: str = "non_grid_non_border", bin_cm: float = 5.0,
                    grid_mode: str = DEFAULT_MODE) -> dict:
    """Unit groups of a layer from its rate maps (methods §5).

    g_maps: (nx, ny, Ng). Returns {"grid": int array, "heterogeneous": int array, "silent":
    int array, "grid_score": (Ng,), "border_score": (Ng,) or None}. grid: score (form
    ``grid_mode`` of mec.scores.grid_scores) > grid_threshold; silent: flat maps
    (:func:`silent_units`), in no group; heterogeneous: the other units, minus border units
    (score > border_threshold) unless ``heterogeneous="rest"``.
    """
    from mec.scores import border_scores, grid_scores

    if heterogeneous not in ("non_grid_non_border", "rest"):
        raise ValueError(f"heterogeneous must be 'non_grid_non_border' or 'rest', got {heterogeneous!r}")
    g_maps = np.asarray(g_maps, dtype=np.float64)
    if g_maps.ndim != 3:
        raise ValueError(f"g_maps must be (nx, ny, Ng), got shape {g_maps.shape}")
    gs = grid_scores(g_maps, mode=grid_mode)
    # silent units (flat or empty maps, e.g. dead ReLUs) belong to no group: zeroing them
    # cannot change the output, which would flatter the heterogeneous group
    silent = silent_units(g_maps)
    with np.errstate(invalid="ignore"):
        is_grid = gs > float(grid_threshold)
    bs = None
    if heterogeneous == "rest":
        is_het = ~is_grid & ~silent
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bs = border_scores(g_maps, bin_cm=bin_cm)
        with np.errstate(invalid="ignore"):
            is_het = ~is_grid & ~silent & ~(bs > float(border_threshold))
    return {"grid": np.flatnonzero(is_grid), "heterogeneous": np.flatnonzero(is_het),
            "silent": np.flatnonzero(silent), "grid_score": gs, "border_score": bs}


class KnockoutEvaluator:
    """Decoding error (cm) of a model on fixed trajectories with units of ``g`` zeroed.

    model: mec.models.loading.TrainedModel; n_batches batches of trajectory ``seed`` (evaluation
    stream) in the box ``box`` (min_x, max_x, min_y, max_y) m (default: the training box),
    plain walks (no reward-zone episodes), with the place cells of an evaluation in that box
    (mec.models.export.evaluation_place_cells). ``error_cm(mask)`` with mask (Ng,) (1 keep,
    0 zero; None = intact).
    """

    def __init__(self, model, n_batches: int, seed: int, box=None, batch_size: int | None = None):
        from mec.models.export import evaluation_place_cells
        from mec.models.config import generator_from_cfg

        if int(n_batches) < 1:
            raise ValueError(f"n_batches must be >= 1, got {n_batches}")
        self.model = model
        cfg = dict(model.cfg, reward_zone=False)
        self._pc = model.place_cells if box is None else evaluation_place_cells(model, box)
        gen = generator_from_cfg(cfg, place_cells=self._pc, box=box, seed=int(seed),
                                 batch_size=batch_size, check_cues=box is None, stream="evaluation")
        self._dc = model.keras_model.get_layer("dc")
        self._g, self._pos = [], []
        for i in range(int(n_batches)):
            b = gen.batch(i, place_targets=False)
            self._g.append(model.g(b))
            self._pos.append(np.asarray(b.positions, dtype=np.float64))
        self.n_units = int(self._g[0].shape[-1])

    def error_cm(self, mask=None) -> float:
        """Mean decoding error in cm over the fixed batches with g multiplied by ``mask``."""
        from mec.models.export import decode_error_cm

        if mask is not None:
            mask = np.asarray(mask, dtype=np.float32)
            if mask.shape != (self.n_units,):
                raise ValueError(f"mask must have shape ({self.n_units},), got {mask.shape}")
        errs = []
        for g, pos in zip(self._g, self._pos):
            x = g if mask is None else g * mask
            dc = np.asarray(self._dc(x), dtype=np.float32)
            errs.append(decode_error_cm(self.model, dc, pos, self._pc))
        return float(np.mean(errs))


def knockout_table(model_dir: str | os.PathLike, cfg: Mapping | None = None, n_resamples: int = 100,
                   set_size: int | None = None, n_batches: int = 10, seed: int = 0,
                   grid_threshold: float = GRID_THRESHOLD, border_threshold: float = BORDER_THRESHOLD,
                   heterogeneous: str = "non_grid_non_border", ratemap_batches: int | None = None,
                   bin_cm: float = 5.0, model_name: str | None = None, grid_mode: str = DEFAULT_MODE):
    """The in-silico knockout experiment of one trained model (module docstring).

    model_dir: results/models/{model} (config.json + model.keras). cfg: the model's config
    entry (config.yaml ``models:``, e.g. from the workflow's model_cfg); read for ``name`` and
    ``n_eval_batches`` only (the model itself is defined by its saved config.json).
    n_resamples: random sets per group; set_size: units zeroed per set (default: half the smaller
    group's size); n_batches: evaluation batches (fixed trajectories, seed + 1);
    ratemap_batches: batches for the g rate maps (default cfg n_eval_batches, else 20).
    Returns a DataFrame with KNOCKOUT_COLUMNS: one "none" row (resample 0, nothing zeroed),
    then n_resamples rows per group "grid" and "heterogeneous". If a group is empty (or
    smaller than set_size) its rows have NaN error and a warning is issued.
    """
    import pandas as pd

    from mec.models.export import model_ratemaps
    from mec.ratemaps import make_edges

    cfg = dict(cfg or {})
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if set_size is not None and int(set_size) < 1:
        raise ValueError(f"set_size must be >= 1 or None, got {set_size}")
    name = model_name or cfg.get("name") or Path(model_dir).name
    from mec.models.loading import load_run

    model = load_run(model_dir)
    a = float(model.cfg["train_arena"])
    edges = make_edges(-a / 2, a / 2, bin_cm)
    rm_batches = int(ratemap_batches or cfg.get("n_eval_batches") or 20)
    g_maps = model_ratemaps(model, {"box_width": a, "box_height": a}, edges, edges,
                            n_batches=rm_batches, seeds=[int(seed)], layers=("g",))["g"]
    groups = knockout_groups(g_maps, grid_threshold, border_threshold, heterogeneous, bin_cm, grid_mode)
    n_grid, n_het = len(groups["grid"]), len(groups["heterogeneous"])
    k = int(set_size) if set_size is not None else max(1, min(n_grid, n_het) // 2)
    print(f"{name}: {n_grid} grid units (score > {grid_threshold}), {n_het} heterogeneous units, "
          f"{len(groups['silent'])} silent units of {g_maps.shape[-1]}; zeroing sets of {k}", flush=True)

    ev = KnockoutEvaluator(model, n_batches=n_batches, seed=int(seed) + 1)
    rows = [{"model": name, "group": "none", "resample": 0, "n_units_zeroed": 0,
             "group_size": 0, "decoding_error_cm": ev.error_cm(None)}]
    usable = {g: 0 < k <= len(groups[g]) for g in ("grid", "heterogeneous")}
    for g, ok in usable.items():
        if not ok:
            why = (f"the set size is 0 (grid units: {n_grid}, heterogeneous units: {n_het})"
                   if k == 0 else f"group {g!r} has {len(groups[g])} units, fewer than the set size {k}")
            warnings.warn(f"knockouts of {name}: {why}; the rows of group {g!r} are NaN",
                          UserWarning, stacklevel=2)
    for r in range(int(n_resamples)):
        rng = np.random.default_rng([int(seed), r])
        for g in ("grid", "heterogeneous"):
            err = np.nan
            if usable[g]:
                chosen = rng.choice(groups[g], size=k, replace=False)
                mask = np.ones(ev.n_units, dtype=np.float32)
                mask[chosen] = 0.0
                err = ev.error_cm(mask)
            rows.append({"model": name, "group": g, "resample": r,
                         "n_units_zeroed": k if usable[g] else 0, "group_size": len(groups[g]),
                         "decoding_error_cm": err})
    return pd.DataFrame(rows, columns=KNOCKOUT_COLUMNS)


def knockout_summary(table):
    """Mean and SEM of the decoding error per model and group, and grid vs heterogeneous.

    table: rows of :func:`knockout_table` (one or several models). Returns a DataFrame with
    columns model, group, n, mean_cm, sem_cm, p_welch, p_paired. Rows per group ("none",
    "grid", "heterogeneous"), plus a row "grid-heterogeneous" whose mean/sem are those of the
    per-resample differences (resample r's grid set minus resample r's heterogeneous set: the
    same fixed trajectories), p_paired the Wilcoxon signed-rank p of those differences, and
    p_welch Welch's t-test between the two groups. The sets of the two groups are drawn
    independently, so Welch's test is the primary one; the paired test is reported as asked
    for a paired design.
    """
    import pandas as pd
    from scipy import stats

    need = {"model", "group", "resample", "decoding_error_cm"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"knockout table lacks column(s) {sorted(missing)}")
    out = []
    for model, t in table.groupby("model", sort=False):
        for g in GROUPS:
            v = t.loc[t["group"] == g, "decoding_error_cm"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            out.append({"model": model, "group": g, "n": len(v),
                        "mean_cm": float(v.mean()) if len(v) else np.nan,
                        "sem_cm": float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan,
                        "p_welch": np.nan, "p_paired": np.nan})
        gr = t[t["group"] == "grid"].set_index("resample")["decoding_error_cm"]
        he = t[t["group"] == "heterogeneous"].set_index("resample")["decoding_error_cm"]
        both = pd.concat([gr.rename("grid"), he.rename("het")], axis=1).dropna()
        d = (both["grid"] - both["het"]).to_numpy(dtype=float)
        p_w = p_p = np.nan
        if len(both) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                p_w = float(stats.ttest_ind(both["grid"], both["het"], equal_var=False).pvalue)
                if np.any(d != 0):
                    p_p = float(stats.wilcoxon(d).pvalue)
        out.append({"model": model, "group": "grid-heterogeneous", "n": len(d),
                    "mean_cm": float(d.mean()) if len(d) else np.nan,
                    "sem_cm": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan,
                    "p_welch": p_w, "p_paired": p_p})
    return pd.DataFrame(out, columns=["model", "group", "n", "mean_cm", "sem_cm", "p_welch", "p_paired"])


def run_knockouts(model_dir: str | os.PathLike, cfg: Mapping | None, out_path: str | os.PathLike,
                  summary_path: str | os.PathLike | None = None, **kwargs) -> Path:
    """Rule knockouts: :func:`knockout_table` -> ``out_path`` (results/knockouts/{model}.csv)
    and, if given, :func:`knockout_summary` -> ``summary_path``; both written atomically.
    kwargs: those of :func:`knockout_table` (n_resamples, set_size, n_batches, seed,
    grid_threshold, ...)."""
    from mec.io import write_table

    table = knockout_table(model_dir, cfg, **kwargs)
    if summary_path is not None:
        write_table(knockout_summary(table), summary_path)
    return write_table(table, out_path)
