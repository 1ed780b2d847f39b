"""The headline of the summary: every score between its floor and its ceiling
(methods §7.3).

One table and one figure, per arena and setting (mec.fits.settings): the ceiling (median
inter-animal consistency), the floor (the highest median of the tuning-free controls,
mec.fits.floors), the cells' within-animal reliability, and each model's median score at its
best layer with its normalized score ``(score - floor) / (ceiling - floor)``. They are drawn
for one map (:func:`headline_map`: ridge where fitted in every setting), so that the two
settings compare like with like; every map is in ``predictivity.csv``.

How to read it: a normalized score of 0 is what a source without spatial tuning scores
through the same recipe and splits, 1 is what another animal's cells score. In the "paper"
setting (the reproduction) the floor is close to the ceiling, because zero-padded smoothing
and random-bin splits let any smooth map score; the "robust" setting (occupancy-normalised
smoothing, blocked splits) keeps untuned noise at 0, and the "halves" setting (methods §7.8;
on in the default run) is the one to report as evidence about models when it is present
(its gap is several times the robust setting's); the robust one otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from mec.data.arenas import arena_key, arena_label, arena_sort_key

__all__ = ["HEADLINE_COLUMNS", "RELIABILITY_COLUMNS", "HEADLINE_MAPS", "headline_map",
           "reliability_table", "headline_table", "headline_markdown", "headline_figure",
           "headline_figure_path"]

#: Map of the headline, in order of preference, among the maps fitted in every setting (the
#: ElasticNet map is fitted in the paper setting only).
HEADLINE_MAPS = ("ridge", "elasticnet")

HEADLINE_COLUMNS = ["arena", "setting", "map", "ceiling", "ceiling_ci_low", "ceiling_ci_high",
                    "floor", "floor_ci_low", "floor_ci_high", "floor_source",
                    "reliability", "unreliable_fraction", "model", "condition", "layer",
                    "score", "score_ci_low", "score_ci_high", "normalized", "fraction_of_ceiling"]
RELIABILITY_COLUMNS = ["arena", "n_cells", "reliability", "n_unreliable", "unreliable_fraction",
                       "threshold"]


def _settings_order(values) -> list[str]:
    from mec.fits.settings import SETTING_NAMES

    values = sorted({str(v) for v in values})
    return [s for s in SETTING_NAMES if s in values] + [s for s in values if s not in SETTING_NAMES]


def headline_map(ceiling: pd.DataFrame, preferred: str | None = None) -> str | None:
    """The headline's map: ``preferred`` if given, else the first of :data:`HEADLINE_MAPS`
    whose ceiling exists in every setting, else the alphabetically first such map (None if no
    map is common to all settings)."""
    if ceiling.empty:
        return None
    per_setting = [set(g["map"]) for _, g in ceiling.groupby("setting")]
    common = sorted(set.intersection(*per_setting)) if per_setting else []
    if preferred is not None:
        if preferred not in common:
            raise ValueError(f"headline map {preferred!r} is not fitted in every setting "
                             f"(maps in all settings: {common})")
        return preferred
    for m in HEADLINE_MAPS:
        if m in common:
            return m
    return common[0] if common else None


def _same_arena(column: pd.Series, arena) -> np.ndarray:
    """(n,) bool: rows of ``column`` naming ``arena`` (numeric names compare as sizes, so
    2.2 read from two tables matches; word names by their text)."""
    key = arena_key(arena)
    return np.array([arena_key(a) == key for a in column], dtype=bool)


def reliability_table(dataset) -> pd.DataFrame:
    """Within-animal reliability per arena (cell_info ``reliability``, odd vs even minutes,
    Spearman-Brown corrected; mec.ratemaps.split_half_reliability): cells with a value, their
    median, and how many fall below :data:`mec.ratemaps.RELIABILITY_THRESHOLD` (flagged
    unreliable). Arenas without the column are left out; None gives an empty table."""
    from mec.ratemaps import RELIABILITY_THRESHOLD

    from mec.data.arenas import arena_id

    rows = []
    for arena in sorted(getattr(dataset, "cell_info", {}) if dataset is not None else {},
                        key=arena_sort_key):
        values = [np.asarray(info["reliability"], dtype=float)
                  for info in dataset.cell_info[arena].values() if "reliability" in info]
        if not values:
            continue
        r = np.concatenate(values)
        r = r[np.isfinite(r)]
        n_bad = int((r < RELIABILITY_THRESHOLD).sum())
        rows.append({"arena": arena_id(arena), "n_cells": int(r.size),
                     "reliability": float(np.median(r)) if r.size else np.nan,
                     "n_unreliable": n_bad,
                     "unreliable_fraction": n_bad / r.size if r.size else np.nan,
                     "threshold": RELIABILITY_THRESHOLD})
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


def headline_table(ceiling: pd.DataFrame, best_layer: pd.DataFrame,
                   reliability: pd.DataFrame | None = None, map_name: str | None = None
                   ) -> pd.DataFrame:
    """One row per arena, setting and model (models at their best layer) for the headline
    map; an arena and setting without models gets one row with an empty model.

    ceiling: ``mec.summary.tables.ceiling_table`` (with floors); best_layer:
    ``best_layer_table``; reliability: :func:`reliability_table`. Columns
    :data:`HEADLINE_COLUMNS`; ``*_ci_low`` / ``*_ci_high`` are the 95 % intervals of the
    ceiling, floor and score medians (hierarchical bootstrap, methods §7.7; NaN when the
    input tables have none).
    """
    from mec.summary.frames import _with_setting
    from mec.summary.tables import reference_ceiling

    ceiling = _with_setting(ceiling)
    chosen = headline_map(ceiling, map_name)
    if chosen is None:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    ref = reference_ceiling(ceiling, ["arena", "map", "setting"])
    ref = ref[ref["map"] == chosen]
    for c in ("floor", "floor_source", "ceiling_ci_low", "ceiling_ci_high", "floor_ci_low",
              "floor_ci_high"):
        if c not in ref.columns:
            ref = ref.assign(**{c: np.nan})
    rel = reliability if reliability is not None and not reliability.empty else \
        pd.DataFrame(columns=RELIABILITY_COLUMNS)
    best = _with_setting(best_layer) if not best_layer.empty else best_layer
    rows = []
    order = {s: i for i, s in enumerate(_settings_order(ref["setting"]))}
    for r in sorted(ref.itertuples(index=False),
                    key=lambda r: (arena_sort_key(r.arena), order[r.setting])):
        rr = rel[_same_arena(rel["arena"], r.arena)]
        base = {"arena": r.arena, "setting": r.setting, "map": chosen,
                "ceiling": r.ceiling, "ceiling_ci_low": r.ceiling_ci_low,
                "ceiling_ci_high": r.ceiling_ci_high, "floor": r.floor,
                "floor_ci_low": r.floor_ci_low, "floor_ci_high": r.floor_ci_high,
                "floor_source": r.floor_source,
                "reliability": rr["reliability"].iloc[0] if len(rr) else np.nan,
                "unreliable_fraction": rr["unreliable_fraction"].iloc[0] if len(rr) else np.nan}
        models = best.iloc[:0] if best.empty else best[
            _same_arena(best["arena"], r.arena)
            & (best["map"] == chosen) & (best["setting"] == r.setting)]
        if models.empty:
            rows.append({**base, "model": "", "condition": "", "layer": "", "score": np.nan,
                         "score_ci_low": np.nan, "score_ci_high": np.nan,
                         "normalized": np.nan, "fraction_of_ceiling": np.nan})
        for m in models.sort_values("model").itertuples(index=False):
            rows.append({**base, "model": m.model, "condition": m.condition,
                         "layer": m.best_layer, "score": m.median,
                         "score_ci_low": getattr(m, "ci_low", np.nan),
                         "score_ci_high": getattr(m, "ci_high", np.nan),
                         "normalized": getattr(m, "normalized", np.nan),
                         "fraction_of_ceiling": m.fraction_of_ceiling})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def _floor_share(table: pd.DataFrame, setting: str) -> str:
    """" (floor = 64-92 % of the ceiling here)" for the setting's rows, "" when undefined."""
    t = table[(table["setting"] == setting) & (table["ceiling"] > 0)]
    share = (t["floor"] / t["ceiling"]).dropna()
    if share.empty:
        return ""
    lo, hi = 100 * share.min(), 100 * share.max()
    span = f"{lo:.0f} %" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f} %"
    return f" (floor = {span} of the ceiling here)"


def _interval(low, high) -> list[str]:
    """"[0.801, 0.862]" per row; "" where an end is missing."""
    return [f"[{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) and np.isfinite(hi) else ""
            for lo, hi in zip(pd.to_numeric(low, errors="coerce").astype(float),
                              pd.to_numeric(high, errors="coerce").astype(float))]


def seeds_headline(table: pd.DataFrame, spread: pd.DataFrame | None) -> pd.DataFrame:
    """The headline's models with seeds, one row each per arena and setting: the mean score
    and normalized score over the seeds with the score's 95 % t-interval over seeds
    (``spread``: seeds.csv, mec.summary.seeds.seed_spread), for the headline's map.
    Columns arena, setting, model, seeds, score, "score 95% t-interval", normalized; empty
    when no model of ``table`` has more than one seed."""
    cols = ["arena", "setting", "model", "seeds", "score", "score 95% t-interval", "normalized"]
    if spread is None or spread.empty or table.empty:
        return pd.DataFrame(columns=cols)
    from mec.sweeps import split_member

    m = table["map"].iloc[0]
    models = {split_member(name)[0] for name in table["model"].dropna()
              if split_member(name)[1] is not None}
    sp = spread[(spread["map"] == m) & spread["model"].isin(models) & (spread["n_seeds"] > 1)]
    sp = sp.assign(_arena=[arena_key(a) for a in sp["arena"]])
    rows = []
    for arena, setting in dict.fromkeys(zip(table["arena"], table["setting"])):
        for model in sorted(models):
            g = sp[(sp["_arena"] == arena_key(arena)) & (sp["setting"] == setting)
                   & (sp["model"] == model)]
            score, norm = g[g["measure"] == "score"], g[g["measure"] == "normalized"]
            if score.empty:
                continue
            r = score.iloc[0]
            rows.append({"arena": arena, "setting": setting, "model": model,
                         "seeds": r["seeds"], "score": r["mean"],
                         "score 95% t-interval": _interval([r["ci_low"]], [r["ci_high"]])[0],
                         "normalized": norm["mean"].iloc[0] if len(norm) else np.nan})
    return pd.DataFrame(rows, columns=cols)


def headline_markdown(table: pd.DataFrame, elasticnet_note: bool = False,
                      comparisons: pd.DataFrame | None = None,
                      seeds: pd.DataFrame | None = None) -> str:
    """The headline section at the top of summary.md: what each number means, the table
    (each median with its 95 % interval), which setting to report and, given
    ``comparisons`` (mec.summary.comparisons.comparisons_table), which paired differences
    are resolved and which are not; given ``seeds`` (seeds.csv) and models with seeds, their
    mean over seeds with its t-interval (:func:`seeds_headline`) after the table."""
    from mec.summary.markdown import to_markdown

    if table.empty:
        return ("## Headline\n\n_No map was fitted in every setting; see the tables below._\n")
    m = table["map"].iloc[0]
    table = table.assign(**{c: table[c] if c in table.columns else np.nan
                            for c in HEADLINE_COLUMNS})
    show = table[["arena", "setting", "ceiling", "floor", "reliability", "model", "layer",
                  "score", "normalized"]]
    shown = show.assign(**{"ceiling 95% CI": _interval(table["ceiling_ci_low"], table["ceiling_ci_high"]),
                           "score 95% CI": _interval(table["score_ci_low"], table["score_ci_high"])})
    shown = shown[["arena", "setting", "ceiling", "ceiling 95% CI", "floor", "reliability",
                   "model", "layer", "score", "score 95% CI", "normalized"]]
    lines = [
        f"## Headline: every score between its floor and its ceiling (map {m})",
        "",
        "- **ceiling**: median inter-animal consistency (another animal's cells as the "
        "source); **floor**: the median score of sources without spatial tuning (Poisson "
        "noise with each cell's rate and path, or the data with bins permuted) through the "
        "same rate-map recipe and splits; **reliability**: median within-animal reliability "
        "(odd vs even minutes, Spearman-Brown); **score**: a model's median at its best "
        "layer; **normalized** = (score - floor) / (ceiling - floor): 0 = no better than "
        "untuned noise, 1 = as good as another animal. **95% CI**: the median's interval "
        "from a hierarchical bootstrap (animals, then cells within them; methods §7.7).",
        "- **paper**: the reproduction (zero-filled smoothing, random 20 % of bins); its "
        f"floor is high{_floor_share(show, 'paper')}, so its raw scores say little about "
        "models. **robust**: occupancy-normalised smoothing and blocked splits with a guard "
        "band; noise scores about 0."
        + ("" if "halves" in set(show["setting"])
           else " Report the robust setting's normalized scores."),
    ]
    if "halves" in set(show["setting"]):
        lines.append(
            "- **halves**: fitted on one half of the recording time, tested on the other "
            "(methods §7.8), with unsmoothed sources so that an untuned source cannot "
            "interpolate a cell's tuning from the training bins, and every model recorded "
            "as one more animal (Poisson cells with the recorded cells' rates and "
            "dispersion) so that models and the ceiling's sources carry the same noise: its "
            "floor is about 0 and its ceiling-floor gap several times the robust setting's. "
            "Report the halves setting's scores with their intervals, the robust setting's "
            "beside them; a model can still pass the ceiling in a large arena, where any "
            "dense smooth basis beats the few cells of another animal (methods §7.8).")
    above = show[show["normalized"] > 1]
    if len(above):
        which = "; ".join(f"{r.model} in arena {r.arena}, {r.setting} ({r.normalized:.2f})"
                          for r in above.itertuples())
        lines.append(
            f"- **Above the ceiling** (normalized > 1): {which}. The ceiling's sources are "
            "other animals' noisy recorded maps and a model's maps are noise-free, and in the "
            "paper setting a smooth source also interpolates held-out bins from the training "
            "bins around them: a score above the ceiling is not by itself evidence of a "
            "better model (docs/metric.md).")
    if show["normalized"].isna().any() and show["ceiling"].notna().any():
        lines.append("- normalized is left empty where the ceiling is not above the floor: "
                     "there the setting cannot tell the data from untuned noise.")
    if elasticnet_note:
        lines.append("- The ElasticNet map is fitted in the paper setting only (its "
                     "per-cell grid is the costliest step); see predictivity.csv.")
    from mec.summary.comparisons import comparison_notes

    lines += comparison_notes(comparisons, m)
    lines += ["", to_markdown(shown)]
    over = seeds_headline(table, seeds)
    if len(over):
        lines += ["", "Models with seeds (one row per seed above): the mean over the seeds, "
                  "with the score's 95 % t-interval over seeds (seeds.csv, methods §7.11).",
                  "", to_markdown(over)]
    return "\n".join(lines)


def headline_figure_path(figure_dir: str | os.PathLike) -> Path:
    """``{figure_dir}/headline/headline.png``."""
    return Path(figure_dir) / "headline" / "headline.png"


def _error_bar(ax, x: float, y: float, low, high, colour) -> None:
    """A vertical 95 % interval at x (nothing when an end or y is missing)."""
    low, high = float(low), float(high)
    if np.isfinite(y) and np.isfinite(low) and np.isfinite(high):
        ax.errorbar([x], [y], yerr=[[max(y - low, 0.0)], [max(high - y, 0.0)]], fmt="none",
                    ecolor=colour, elinewidth=1.0, capsize=2.5)


def _model_marks(ax, axn, x: float, width: float, model: str, names: list[str],
                 rows: pd.DataFrame, colour, labelled: bool, clip: tuple[float, float]) -> None:
    """One model's marks at x in one setting: its score with its interval on ``ax`` and its
    normalized score as a bar on ``axn`` (clipped to ``clip``, the value printed).

    names: the table's rows of the model, ``[model]`` for one network or its seeds'
    ``{model}/seed{k}`` (:func:`headline_figure`); rows: those rows of the setting."""
    from mec.summary.seeds import t_interval

    scores = rows["score"].astype(float).to_numpy()
    if rows.empty or not np.isfinite(scores).any():
        return
    if len(names) == 1:  # one network (or one seed): its score and bootstrap interval
        y, low, high = scores[0], rows["score_ci_low"].iloc[0], rows["score_ci_high"].iloc[0]
        nz, each, label = float(rows["normalized"].iloc[0]), [], names[0]
    else:  # seeds: each seed, and their mean with the t-interval over seeds
        n, y, _, low, high = t_interval(scores)
        each = rows["normalized"].astype(float).to_numpy()
        nz = float(np.nanmean(each)) if np.isfinite(each).any() else np.nan
        label = f"{model} (mean of {n} seeds)"
        ax.plot([x] * len(scores), scores, ".", color=colour, ms=3, alpha=0.6)
    ax.plot([x], [y], "o" if len(names) == 1 else "D", color=colour, ms=5,
            label=label if labelled else None)
    _error_bar(ax, x, y, low, high, colour)
    if np.isfinite(nz):
        shown = min(max(nz, clip[0]), clip[1])
        axn.bar(x, shown, width=width * 0.9, color=colour)
        axn.text(x, shown, f"{nz:.2f}", fontsize=6, ha="center",
                 va="bottom" if shown >= 0 else "top")
        finite = [min(max(v, clip[0]), clip[1]) for v in each if np.isfinite(v)]
        axn.plot([x] * len(finite), finite, ".", color="black", ms=2.5, zorder=3)


def headline_figure(table: pd.DataFrame, out_path: str | os.PathLike) -> Path:
    """One column of panels per arena. Top: per setting, the band from floor to ceiling and
    each model's score (dots), with their 95 % intervals as error bars where the table has
    them (hierarchical bootstrap, methods §7.7). Bottom: each model's normalized score per setting (bars; 0 =
    floor, 1 = ceiling; values beyond [-1, 1.5] are clipped and printed).

    A model with seeds (rows ``{model}/seed{k}``, mec.sweeps) is one entry: its seeds' scores
    as small dots, their mean (diamond) with the 95 % t-interval over seeds
    (:func:`mec.summary.seeds.t_interval`, the numbers of seeds.csv), and the bar of the
    seeds' mean normalized score with each seed's as a dot."""
    from mec.summary.figures import _empty, _figure, _save
    from mec.sweeps import split_member

    table = table.assign(**{c: np.nan for c in HEADLINE_COLUMNS if c not in table.columns})
    arenas = sorted({arena_key(a) for a in table["arena"]}, key=arena_sort_key) \
        if not table.empty else []
    fig = _figure(4.2 * max(1, len(arenas)) + 0.4, 6.6)
    if not arenas:
        fig.suptitle("Headline")
        _empty(fig, "no map fitted in every setting")
        return _save(fig, out_path)
    fig.suptitle(f"Scores between floor and ceiling (map {table['map'].iloc[0]})")
    axes = fig.subplots(2, len(arenas), squeeze=False, height_ratios=[3, 2])
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    lo_clip, hi_clip = -1.0, 1.5
    for col, arena in enumerate(arenas):
        ax, axn = axes[0, col], axes[1, col]
        t = table[_same_arena(table["arena"], arena)]
        settings = _settings_order(t["setting"])
        members: dict[str, list[tuple[int, str]]] = {}  # model -> [(seed, row name)]
        for name in sorted(m for m in set(t["model"]) if m):
            model, seed = split_member(name)
            members.setdefault(model, []).append((-1 if seed is None else seed, name))
        models = sorted(members)
        width = 0.7 / max(1, len(models))
        for x, setting in enumerate(settings):
            s = t[t["setting"] == setting]
            ceil, floor = float(s["ceiling"].iloc[0]), float(s["floor"].iloc[0])
            if np.isfinite(floor):
                ax.fill_between([x - 0.35, x + 0.35], floor, ceil, color="0.88", lw=0)
                ax.hlines(floor, x - 0.35, x + 0.35, color="0.3", lw=1.2, ls=":")
                ax.text(x + 0.37, floor, f"floor {floor:.2f}", fontsize=6, va="top")
            ax.hlines(ceil, x - 0.35, x + 0.35, color="black", lw=1.5)
            for ref, name in ((ceil, "ceiling"), (floor, "floor")):
                _error_bar(ax, x - 0.37, ref, s[f"{name}_ci_low"].iloc[0],
                           s[f"{name}_ci_high"].iloc[0], "black")
            ax.text(x + 0.37, ceil, f"ceiling {ceil:.2f}", fontsize=6, va="bottom")
            for k, model in enumerate(models):
                names = [name for _, name in sorted(members[model])]
                _model_marks(ax, axn, x - 0.35 + width * (k + 0.5), width, model, names,
                             s[s["model"].isin(names)], colours[k % len(colours)],
                             labelled=x == 0, clip=(lo_clip, hi_clip))
        for a in (ax, axn):
            a.set_xticks(range(len(settings)))
            a.set_xticklabels(settings)
            a.set_xlim(-0.6, len(settings) - 0.4 + 0.5)
        lo = float(np.nanmin([0.0, *t["floor"].astype(float), *t["score"].astype(float)]))
        ax.set_ylim(lo - 0.05, 1.0)
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.set_ylabel("median Pearson r")
        ax.set_title(f"arena {arena_label(arena)}", fontsize=9)
        if models:
            ax.legend(fontsize=6, loc="upper right")
        axn.axhline(0.0, color="0.3", lw=1.0, ls=":")
        axn.axhline(1.0, color="black", lw=1.2)
        axn.set_ylim(lo_clip - 0.1, hi_clip + 0.1)
        axn.set_ylabel("normalized (0 floor, 1 ceiling)")
    return _save(fig, out_path)
