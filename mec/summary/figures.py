# Long because: the figures share the lazy pyplot import, the figure index and the layout helpers;
# next seam: one module per figure kind.
"""Summary figures (PNG): rate-map galleries, predictivity against the ceiling, score
distributions, training curves, the dimensionality control (methods §6) and the in-silico
knockouts.

matplotlib is used through its object-oriented API (``matplotlib.figure.Figure``, rendered
by Agg) and never through ``pyplot``: no global backend or figure state is touched, so the
functions are safe in a headless Snakemake job and in tests. Each function writes one PNG
atomically (``mec.io.atomic_path``) and returns its path. matplotlib is imported inside the
functions so ``import mec.summary`` stays light.

Maps follow the contract: ``resp[ix, iy]`` with ix along x, so images are drawn transposed
with ``origin="lower"`` (x to the right, y up).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from mec.data.arenas import arena_key, arena_label, arena_sort_key
from mec.summary.tables import (
    BASELINE_ARCHITECTURE,
    CEILING_SOURCES,
    CELL_TYPE_GROUPS,
    CONDITIONS,
    KNOCKOUT_DIFFERENCE,
    KNOCKOUT_GROUPS,
    cell_type_group,
)

__all__ = [
    "FIGURE_KINDS",
    "figure_path",
    "data_ratemap_gallery",
    "rank_units_by_score",
    "unit_gallery",
    "predictivity_scatter",
    "score_distributions",
    "training_curves",
    "dimensionality_scatter",
    "knockout_plot",
]

#: Figure kinds: sub-folder of the figure directory and caption file
#: ``workflow/report/{kind}.rst``.
FIGURE_KINDS = ("data_ratemaps", "unit_gallery", "scatter", "distributions", "training",
                "dimensionality", "knockouts", "model_health", "headline")

TYPE_COLOURS = {"grid": "tab:red", "border": "tab:blue", "heterogeneous": "tab:gray",
                "other": "tab:green"}
CONDITION_COLOURS = {"untrained": "tab:gray", "trained": "tab:blue", "generalization": "tab:orange",
                     "position_loss": "tab:purple"}
KNOCKOUT_COLOURS = {"none": "black", "grid": "tab:red", "heterogeneous": "tab:gray"}
DPI = 110


def same_arena(column, arena) -> np.ndarray:
    """Rows of a table's arena column that name ``arena`` (1.0 == "1.0"; word names too)."""
    key = arena_key(arena)
    return np.array([arena_key(v) == key for v in column], dtype=bool)


def figure_path(figure_dir: str | os.PathLike, kind: str, *, model: str | None = None,
                arena: float | None = None, layer: str | None = None) -> Path:
    """Path of one figure: ``{figure_dir}/{kind}/{name}.png`` with name
    data_ratemaps: ``{arena}``; unit_gallery: ``{model}_{arena}_{layer}``; scatter:
    ``{model}_{arena}``; distributions: ``{arena}``; training: ``{model}``;
    dimensionality: ``{arena}``; knockouts, model_health: ``{model}`` (arena written with one
    decimal, contract). The one "headline" figure is named by mec.summary.headline."""
    if kind not in FIGURE_KINDS:
        raise ValueError(f"figure kind {kind!r} is not one of {FIGURE_KINDS}")
    parts = [p for p in (model, None if arena is None else arena_key(arena), layer) if p is not None]
    if not parts:
        raise ValueError(f"figure {kind!r} needs a model and/or arena to be named")
    return Path(figure_dir) / kind / ("_".join(parts) + ".png")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig, out_path: str | os.PathLike) -> Path:
    from mec.io import atomic_path

    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return out_path


def _empty(fig, message: str):
    ax = fig.add_subplot(1, 1, 1)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    ax.set_axis_off()


def _show_map(ax, rate_map: np.ndarray, edges=None, cmap: str = "viridis"):
    """Draw one (nx, ny) map; NaN bins (unvisited / outside the arena) stay white."""
    import matplotlib

    cm = matplotlib.colormaps[cmap].with_extremes(bad="white")
    extent = None
    if edges is not None:
        xe, ye = edges
        extent = (float(xe[0]), float(xe[-1]), float(ye[0]), float(ye[-1]))
    m = np.ma.masked_invalid(np.asarray(rate_map, dtype=float).T)
    ax.imshow(m, origin="lower", cmap=cm, extent=extent, interpolation="nearest", aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _pick_cells(types: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` cell indices covering the types: round-robin over the type groups in
    ``CELL_TYPE_GROUPS`` order, each group in file order (deterministic, no randomness)."""
    groups = cell_type_group(types)
    queues = {g: [i for i in range(len(groups)) if groups[i] == g] for g in CELL_TYPE_GROUPS}
    picked: list[int] = []
    while len(picked) < n and any(queues.values()):
        for g in CELL_TYPE_GROUPS:
            if queues[g] and len(picked) < n:
                picked.append(queues[g].pop(0))
    return sorted(picked)


# ---------------------------------------------------------------------------
# Rate-map galleries
# ---------------------------------------------------------------------------
def data_ratemap_gallery(dataset: Mapping, arena: float, out_path: str | os.PathLike, *,
                         edges=None, n_per_animal: int = 6, max_animals: int = 12) -> Path:
    """Gallery of data rate maps in one arena: one row per animal (first ``max_animals`` in
    sorted order), up to ``n_per_animal`` cells each chosen to cover the cell types
    (``_pick_cells``), each titled with its cell id, type and peak rate (Hz).

    dataset: the contract's ``dataset[arena][animal] = {"resp": (nx, ny, n_cells) Hz,
    "cell_ids": (n_cells,), "cell_types": optional (n_cells,)}``; ``edges``: optional
    (x_edges, y_edges) metres for the axes extent (``Dataset.edges[arena]``).
    """
    found = _find_arena(dataset, arena)
    animals = sorted(dataset[found], key=str)[:max_animals]
    most = max((np.shape(dataset[found][a]["resp"])[-1] for a in animals), default=1)
    ncol = max(1, min(n_per_animal, most))
    fig = _figure(1.7 * ncol + 0.6, 1.9 * max(1, len(animals)) + 0.5)
    fig.suptitle(f"Data rate maps, arena {arena_label(arena)} "
                 f"({len(animals)} of {len(dataset[found])} animals)")
    if not animals:
        _empty(fig, f"no animals in arena {arena_label(arena)}")
        return _save(fig, out_path)
    axes = fig.subplots(len(animals), ncol, squeeze=False)
    for r, animal in enumerate(animals):
        entry = dataset[found][animal]
        resp = np.asarray(entry["resp"], dtype=float)
        ids = np.asarray(entry["cell_ids"]).astype(str)
        types = np.asarray(entry.get("cell_types", ["unknown"] * resp.shape[-1])).astype(str)
        picked = _pick_cells(types, ncol)
        for c in range(ncol):
            ax = axes[r, c]
            if c >= len(picked):
                ax.set_axis_off()
                continue
            i = picked[c]
            _show_map(ax, resp[:, :, i], edges)
            peak = np.nanmax(resp[:, :, i]) if np.isfinite(resp[:, :, i]).any() else np.nan
            ax.set_title(f"{ids[i]}\n{types[i]}, {peak:.1f} Hz", fontsize=7)
            if c == 0:
                ax.set_ylabel(f"animal {animal}", fontsize=8)
    return _save(fig, out_path)


def _find_arena(dataset: Mapping, arena: float):
    for key in dataset:
        if arena_key(key) == arena_key(arena):
            return key
    raise ValueError(f"arena {arena!r} not in the dataset (arenas: {sorted(dataset, key=arena_sort_key)})")


def rank_units_by_score(maps: np.ndarray, score_fn: Callable[[np.ndarray], float] | None = None,
                        max_scored: int = 256, seed: int = 0):
    """Order units for a gallery by decreasing score.

    maps: (nx, ny, n_units). When ``n_units > max_scored`` a random subset of
    ``max_scored`` units (``numpy.random.default_rng(seed)``) is scored, since grid scores
    cost a 2-D autocorrelogram and five rotations each. ``score_fn`` maps one (nx, ny) map
    to a float; by default the grid score (methods §5) of ``mec.scores.grid_scores``,
    vectorised over units. If ``mec.scores`` cannot be imported the units are returned
    unsorted. Returns (units (k,) int indices, scores (k,) float, sorted: bool), NaN last.
    """
    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"model rate maps must be (nx, ny, n_units), got shape {maps.shape}")
    n_units = maps.shape[-1]
    units = np.arange(n_units)
    if n_units > max_scored:
        units = np.sort(np.random.default_rng(seed).choice(n_units, size=max_scored, replace=False))
    if score_fn is None:
        try:
            from mec.scores import grid_scores
        except ImportError:
            return units, np.full(units.size, np.nan), False
        scores = np.asarray(grid_scores(np.asarray(maps[:, :, units], dtype=float)), dtype=float)
    else:
        scores = np.array([float(score_fn(maps[:, :, u])) for u in units], dtype=float)
    key = np.where(np.isfinite(scores), -scores, np.inf)
    order = np.argsort(key, kind="stable")
    return units[order], scores[order], True


def unit_gallery(maps: np.ndarray, out_path: str | os.PathLike, *, title: str, edges=None,
                 n_show: int = 16, max_scored: int = 256, seed: int = 0,
                 score_fn: Callable[[np.ndarray], float] | None = None) -> Path:
    """Gallery of the ``n_show`` model units of one layer with the highest grid score
    (``rank_units_by_score``), each titled with its unit index and score.

    maps: (nx, ny, n_units) mean activity per bin; edges: optional (x_edges, y_edges) m.
    """
    maps = np.asarray(maps, dtype=float)
    units, scores, is_sorted = rank_units_by_score(maps, score_fn, max_scored, seed)
    units, scores = units[:n_show], scores[:n_show]
    ncol = int(np.ceil(np.sqrt(max(1, len(units)))))
    nrow = int(np.ceil(len(units) / ncol)) if len(units) else 1
    fig = _figure(1.6 * ncol + 0.4, 1.75 * nrow + 0.6)
    n_scored = min(maps.shape[-1], max_scored)
    how = (f"top {len(units)} of {n_scored} scored units by grid score" if is_sorted
           else f"first {len(units)} units, unsorted (no grid scorer available)")
    fig.suptitle(f"{title}\n{how} ({maps.shape[-1]} units)", fontsize=9)
    if not len(units):
        _empty(fig, "no units")
        return _save(fig, out_path)
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax, u, s in zip(axes, units, scores):
        _show_map(ax, maps[:, :, u], edges)
        ax.set_title(f"unit {u}" + (f"\ngs {s:.2f}" if np.isfinite(s) else ""), fontsize=7)
    for ax in axes[len(units):]:
        ax.set_axis_off()
    return _save(fig, out_path)


# ---------------------------------------------------------------------------
# Predictivity against the ceiling
# ---------------------------------------------------------------------------
def _reference_consistency(consistency: pd.DataFrame, arena: float, map_name: str) -> pd.DataFrame:
    """Per-cell ceiling scores of one arena and map, from the preferred source
    (holdout before pairwise, ``CEILING_SOURCES``)."""
    c = consistency[same_arena(consistency["arena"], arena) & (consistency["map"] == map_name)]
    if c.empty:
        return c
    sources = sorted(c["source"].unique(), key=lambda s: (CEILING_SOURCES.index(s) if s in CEILING_SOURCES
                                                          else len(CEILING_SOURCES), s))
    return c[c["source"] == sources[0]]


def _best_layer_scores(fits: pd.DataFrame, best_layer: pd.DataFrame, model: str, arena: float,
                       map_name: str) -> tuple[pd.DataFrame, str | None]:
    b = best_layer[(best_layer["model"] == model) & same_arena(best_layer["arena"], arena)
                   & (best_layer["map"] == map_name)]
    if b.empty:
        return fits.iloc[:0], None
    layer = b["best_layer"].iloc[0]
    f = fits[(fits["source"] == model) & same_arena(fits["arena"], arena)
             & (fits["map"] == map_name) & (fits["layer"] == layer)]
    return f, layer


def predictivity_scatter(fits: pd.DataFrame, consistency: pd.DataFrame, best_layer: pd.DataFrame,
                         model: str, arena: float, out_path: str | os.PathLike) -> Path:
    """Per-cell predictivity against the ceiling for one model and arena, one panel per map:
    x = the cell's inter-animal consistency (holdout preferred), y = its model predictivity
    at the model's best layer for that map, colour = cell-type group, with the identity
    line. Cells are matched on (animal, cell_id). Inputs are the tidy tables as loaded by
    ``mec.summary.tables.load_scores`` and ``best_layer_table``."""
    sel = (fits["source"] == model) & same_arena(fits["arena"], arena)
    maps = sorted(fits.loc[sel, "map"].unique())
    fig = _figure(3.6 * max(1, len(maps)) + 0.4, 3.9)
    fig.suptitle(f"{model}, arena {arena_label(arena)}: per-cell predictivity vs inter-animal consistency")
    if not maps:
        _empty(fig, f"no fits of {model} in arena {arena_label(arena)}")
        return _save(fig, out_path)
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, m in zip(axes, maps):
        f, layer = _best_layer_scores(fits, best_layer, model, arena, m)
        c = _reference_consistency(consistency, arena, m)
        j = f[["animal", "cell_id", "cell_type", "score"]].merge(
            c[["animal", "cell_id", "score"]].rename(columns={"score": "ceiling"}),
            on=["animal", "cell_id"], how="inner")
        j = j[np.isfinite(j["score"]) & np.isfinite(j["ceiling"])]
        groups = cell_type_group(j["cell_type"])
        for g in CELL_TYPE_GROUPS:
            k = groups == g
            if k.any():
                ax.scatter(j["ceiling"][k], j["score"][k], s=9, alpha=0.7, color=TYPE_COLOURS[g],
                           label=f"{g} ({int(k.sum())})", edgecolors="none")
        lo = float(np.nanmin([j["ceiling"].min(), j["score"].min(), 0.0])) if len(j) else 0.0
        ax.plot([lo, 1], [lo, 1], color="black", lw=0.8, ls="--", label="identity")
        ax.set_xlim(lo - 0.02, 1.02)
        ax.set_ylim(lo - 0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_xlabel("inter-animal consistency (Pearson r)")
        ax.set_ylabel(f"model predictivity, layer {layer} (r)")
        med = (f"{len(j)} cells, median {j['score'].median():.2f} vs {j['ceiling'].median():.2f}"
               if len(j) else "no matched cells")
        ax.set_title(f"map {m}: {med}", fontsize=9)
        ax.legend(fontsize=6, loc="upper left", markerscale=1.5)
    return _save(fig, out_path)


def _interval_of(table: pd.DataFrame | None, select: Mapping, low: str, high: str):
    """(low, high) of the first row of ``table`` matching ``select`` (column -> value;
    arena by size), or None when the table, the row or a finite end is missing."""
    if table is None or table.empty or low not in table.columns:
        return None
    keep = np.ones(len(table), dtype=bool)
    for col, value in select.items():
        if col not in table.columns:
            continue
        keep &= same_arena(table[col], value) if col == "arena" else \
            (table[col].astype(str) == str(value)).to_numpy()
    rows = table[keep]
    if rows.empty:
        return None
    lo, hi = float(rows[low].iloc[0]), float(rows[high].iloc[0])
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None


def _draw_interval(ax, x: float, interval, colour: str = "black") -> None:
    """The 95 % interval of a median as a thick vertical bar with caps at x (methods §7.7)."""
    if interval is not None:
        ax.errorbar([x], [0.5 * (interval[0] + interval[1])],
                    yerr=[[0.5 * (interval[1] - interval[0])]], fmt="none", ecolor=colour,
                    elinewidth=2.5, capsize=4, zorder=5)


def score_distributions(fits: pd.DataFrame, consistency: pd.DataFrame, best_layer: pd.DataFrame,
                        arena: float, out_path: str | os.PathLike,
                        ceiling: pd.DataFrame | None = None) -> Path:
    """Distributions of per-cell scores in one arena, one panel per map: box plots (median,
    quartiles, 1.5 IQR whiskers) of the inter-animal consistency ("ceiling") and of each
    model at its best layer, with the ceiling median as a dashed line. The 95 % interval of
    each median (hierarchical bootstrap, methods §7.7) is drawn as a thick bar over its
    box where the tables have it: ``best_layer``'s ci_low / ci_high for the models, and
    ``ceiling`` (``ceiling_table``) for the ceiling, in the setting of ``fits``."""
    settings = sorted(set(fits["setting"])) if "setting" in fits.columns else []
    setting = {"setting": settings[0]} if len(settings) == 1 else {}
    a_fit = fits[same_arena(fits["arena"], arena)]
    a_con = consistency[same_arena(consistency["arena"], arena)]
    maps = sorted(set(a_fit["map"]) | set(a_con["map"]))
    models = sorted(a_fit["source"].unique())
    width = max(4.0, 0.55 * (len(models) + 1) + 1.5)
    fig = _figure(width, 3.4 * max(1, len(maps)) + 0.3)
    fig.suptitle(f"Per-cell scores, arena {arena_label(arena)} (models at their best layer)")
    if not maps:
        _empty(fig, f"no scores in arena {arena_label(arena)}")
        return _save(fig, out_path)
    axes = fig.subplots(len(maps), 1, squeeze=False)[:, 0]
    for ax, m in zip(axes, maps):
        data, labels = [], []
        c = _reference_consistency(consistency, arena, m)
        cs = c["score"].to_numpy(dtype=float)
        cs = cs[np.isfinite(cs)]
        data.append(cs)
        labels.append(f"ceiling\n({c['source'].iloc[0].replace('interanimal_', '')})" if len(c) else "ceiling")
        intervals = [_interval_of(ceiling, {"arena": arena, "map": m, **setting,
                                            "source": c["source"].iloc[0] if len(c) else ""},
                                  "ceiling_ci_low", "ceiling_ci_high")]
        for model in models:
            f, layer = _best_layer_scores(fits, best_layer, model, arena, m)
            s = f["score"].to_numpy(dtype=float)
            data.append(s[np.isfinite(s)])
            labels.append(f"{model}\n{layer}" if layer else model)
            intervals.append(_interval_of(best_layer, {"model": model, "arena": arena, "map": m,
                                                       **setting}, "ci_low", "ci_high"))
        positions = [i for i, d in enumerate(data) if len(d)]
        if positions:
            ax.boxplot([data[i] for i in positions], positions=positions, widths=0.6,
                       showfliers=True, flierprops={"markersize": 2}, patch_artist=False)
            for i in positions:
                _draw_interval(ax, i, intervals[i], "tab:red" if i == 0 else "black")
        if len(cs):
            ax.axhline(float(np.median(cs)), color="tab:red", ls="--", lw=0.9,
                       label=f"ceiling median {np.median(cs):.2f}")
            ax.legend(fontsize=7, loc="best")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylabel("Pearson r")
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.0), max(hi, 1.0))  # the same 0..1 frame for every map
        ax.set_title(f"map {m}", fontsize=9)
    return _save(fig, out_path)


# ---------------------------------------------------------------------------
# Training curves
# ---------------------------------------------------------------------------
def training_curves(history: pd.DataFrame | str | os.PathLike, out_path: str | os.PathLike, *,
                    title: str) -> Path:
    """Loss and decoding error (cm) per epoch from a model's ``history.csv`` (columns
    epoch, loss, decoding_error_cm); a missing column is shown as "not recorded"."""
    if not isinstance(history, pd.DataFrame):
        p = Path(history)
        if not p.exists():
            raise FileNotFoundError(f"training history {p} does not exist")
        history = pd.read_csv(p)
    if "epoch" not in history.columns:
        raise ValueError(f"training history for {title!r} lacks an 'epoch' column "
                         f"(columns: {list(history.columns)})")
    from matplotlib.ticker import MaxNLocator

    fig = _figure(8.0, 3.2)
    fig.suptitle(f"Training: {title}")
    axes = fig.subplots(1, 2, squeeze=False)[0]
    for ax, col, label in ((axes[0], "loss", "loss"), (axes[1], "decoding_error_cm", "decoding error (cm)")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        if col in history.columns and pd.to_numeric(history[col], errors="coerce").notna().any():
            y = pd.to_numeric(history[col], errors="coerce")
            ax.plot(history["epoch"], y, marker="o", ms=2.5, lw=1)
            ax.set_title(f"final {y.dropna().iloc[-1]:.4g}", fontsize=8)
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, out_path)


# ---------------------------------------------------------------------------
# Dimensionality control (methods §6)
# ---------------------------------------------------------------------------
def _median_error_bars(ax, rows: pd.DataFrame, colour: str) -> None:
    """Vertical 95 % intervals (ci_low, ci_high) of the rows' medians, where finite."""
    if rows.empty or "ci_low" not in rows.columns:
        return
    lo, hi = (rows[c].to_numpy(dtype=float) for c in ("ci_low", "ci_high"))
    y = rows["median"].to_numpy(dtype=float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if ok.any():
        ax.errorbar(rows["participation_ratio"].to_numpy(dtype=float)[ok], y[ok],
                    yerr=[np.maximum(y[ok] - lo[ok], 0), np.maximum(hi[ok] - y[ok], 0)],
                    fmt="none", ecolor=colour, elinewidth=0.9, capsize=2, alpha=0.8)


def dimensionality_scatter(dimensionality: pd.DataFrame, arena: float, out_path: str | os.PathLike, *,
                           ceiling: float = float("nan"),
                           correlation: pd.DataFrame | None = None) -> Path | None:
    """Participation ratio (x, log scale) against median predictivity (y) at each model's
    best layer in one arena, one point per model (Schaeffer et al.'s control, methods §6),
    with the median's 95 % interval (ci_low, ci_high; methods §7.7) as an error bar.

    dimensionality: ``mec.summary.tables.dimensionality_table`` (rows with
    ``is_best_layer`` and finite PR and median are drawn). Networks are circles coloured by
    condition; baselines are black triangles labelled with their row label. ``ceiling``:
    the arena's noise ceiling (dashed line); ``correlation``:
    ``dimensionality_correlation`` rows, quoted in the title. Returns the path, or None
    (nothing written) when the arena has no point to draw.
    """
    d = dimensionality[same_arena(dimensionality["arena"], arena)
                       & dimensionality["is_best_layer"].astype(bool)]
    d = d[np.isfinite(d["participation_ratio"].to_numpy(dtype=float))
          & np.isfinite(d["median"].to_numpy(dtype=float))]
    d = d[d["participation_ratio"].to_numpy(dtype=float) > 0]
    if d.empty:
        return None
    map_name = str(d["map"].iloc[0])
    fig = _figure(6.4, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    is_base = (d["architecture"] == BASELINE_ARCHITECTURE).to_numpy()
    nets = d[~is_base]
    conds = [c for c in CONDITIONS if c in set(nets["condition"])] + \
        sorted(set(nets["condition"]) - set(CONDITIONS))
    for c in conds:
        k = nets["condition"] == c
        ax.scatter(nets.loc[k, "participation_ratio"], nets.loc[k, "median"], s=22, alpha=0.8,
                   color=CONDITION_COLOURS.get(c, "tab:green"), edgecolors="none",
                   label=f"{c} ({int(k.sum())})")
        _median_error_bars(ax, nets[k], CONDITION_COLOURS.get(c, "tab:green"))
    base = d[is_base]
    if len(base):
        ax.scatter(base["participation_ratio"], base["median"], s=34, marker="^", color="black",
                   label=f"baselines ({len(base)})")
        _median_error_bars(ax, base, "black")
        for x, y, label in zip(base["participation_ratio"], base["median"], base["activation"]):
            ax.annotate(str(label), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6)
    if np.isfinite(ceiling):
        ax.axhline(float(ceiling), color="tab:red", ls="--", lw=0.9,
                   label=f"noise ceiling {float(ceiling):.2f}")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    lo_x, hi_x = ax.get_xlim()
    if hi_x / lo_x < 30:  # under ~1.5 decades the minor ticks are the only labels
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("participation ratio of the best layer's rate maps")
    ax.set_ylabel(f"median predictivity, map {map_name} (Pearson r)")
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, 0.0), max(hi, 1.0))
    title = f"Dimensionality vs predictivity, arena {arena_label(arena)}"
    if correlation is not None and not correlation.empty:
        c = correlation[same_arena(correlation["arena"], arena)]
        parts = [f"{r.models}: rho {r.spearman_rho:.2f} (n={r.n_models})"
                 for r in c.itertuples(index=False) if np.isfinite(r.spearman_rho)]
        if parts:
            title += "\nSpearman " + "; ".join(parts)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, out_path)


# ---------------------------------------------------------------------------
# In-silico knockouts
# ---------------------------------------------------------------------------
def knockout_plot(knockouts: pd.DataFrame, out_path: str | os.PathLike,
                  summary: pd.DataFrame | None = None) -> Path:
    """Decoding error (cm) per knockout group of one model: box plots (median, quartiles,
    1.5 IQR whiskers) with every resample as a point (evenly spread across the box width,
    no random jitter), groups "none", "grid", "heterogeneous".

    knockouts: the rows of one model's results/knockouts/{model}.csv (columns model, group,
    resample, n_units_zeroed, group_size, decoding_error_cm); summary: optional
    ``knockouts_table`` rows, whose grid - heterogeneous difference and Welch p go in the
    title.
    """
    models = sorted(set(knockouts["model"]))
    model = models[0] if models else "?"
    fig = _figure(5.2, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    labels, data = [], []
    for g in KNOCKOUT_GROUPS:
        rows = knockouts[knockouts["group"] == g]
        v = rows["decoding_error_cm"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        size = int(rows["n_units_zeroed"].max()) if len(rows) else 0
        labels.append(f"{g}\n({size} zeroed, n={len(v)})" if g != "none" else f"none\n(n={len(v)})")
        data.append(v)
    positions = [i for i, v in enumerate(data) if len(v)]
    if positions:
        ax.boxplot([data[i] for i in positions], positions=positions, widths=0.55, showfliers=False)
    for i, v in enumerate(data):
        if len(v):
            x = i + (np.linspace(-0.18, 0.18, len(v)) if len(v) > 1 else np.zeros(1))
            ax.scatter(x, v, s=12, alpha=0.7, color=KNOCKOUT_COLOURS[KNOCKOUT_GROUPS[i]],
                       edgecolors="none", zorder=3)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel("decoding error (cm)")
    title = f"Knockouts: {model}"
    if summary is not None and not summary.empty:
        r = summary[(summary["model"] == model) & (summary["group"] == KNOCKOUT_DIFFERENCE)]
        if len(r) and np.isfinite(float(r["mean_cm"].iloc[0])):
            title += (f"\ngrid - heterogeneous {float(r['mean_cm'].iloc[0]):.3g} cm, "
                      f"Welch p = {float(r['p_welch'].iloc[0]):.3g}")
    ax.set_title(title, fontsize=9)
    if not positions:
        ax.text(0.5, 0.5, "no finite decoding error", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, out_path)
