"""Validation ladder: can each fit setting rank models of known, graded quality? (methods §7.10)

On the embedded simulator (mec.data.synthetic; a reduced dataset by default) a graded series
of "models" is built from the ground truth: every target animal is predicted from the OTHER
animals' noise-free maps (``Dataset.truth``, bin means, Hz), degraded step by step. Rung k of
n (t = k / (n - 1)) applies, to every unit independently and with the same random draws on
every rung (so the degradation is nested, never re-drawn):

* blur: a Gaussian of ``2 t`` bins (NaN bins outside the arena filled with the unit's mean
  first, then restored);
* partial bin shuffle: the values of a random fraction ``t / 2`` of the arena's bins permuted
  among those bins;
* added spatial noise: the result standardised and mixed with white Gaussian noise at
  variance fractions ``1 - t`` and ``t`` (back at the unit's mean and spatial standard
  deviation), so the signal's share falls evenly;
* the last rung (t = 1) is pure noise: the same white noise alone.

So rung 0 is the noise-free truth and the true order is rung0 > rung1 > ... > rung{n-1}.
Each rung is scored as a model (``as_model=True``) against every recorded cell in every
setting ("paper", "robust", "halves": mec.fits.settings.make_settings, the halves setting
with its defaults: half the bins for training, each rung recorded as one more animal,
mec.fits.as_recorded) with mec.fits.halves.setting_scores (Ridge alpha 1; in the halves
setting its Ridge, config fits.halves.ridge_alpha: by default each fit choosing its alpha by
leave-one-out over its training bins, map ridge_loo), made into a fit-shaped tidy table
(mec.fits.core.TABLE_COLUMNS, ``source`` = "rung0".."rung{n-1}"), and compared in pairs by
mec.summary.comparisons (paired hierarchical bootstrap over animals, then cells; mec.stats).
Printed per setting: the rung medians, the Spearman correlation of the medians with the true
order, and how many adjacent rungs (in the true order) the 95 % intervals resolve in the
right direction, beside the setting's inter-animal ceiling (the other animals' recorded
maps as the source, the same fits): rung 0, the truth, should score about the ceiling.

    PYTHONPATH=$PWD python benchmarks/metric.py [--animals 6] [--arena 1.0] [--rungs 8]
        [--splits 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

RIDGE = dict(map_type="sklinear", map_kwargs={"regression_type": "Ridge", "alpha": 1.0})


def ridge_for(setting) -> dict:
    """The Ridge map of a setting: alpha 1, or the halves setting's Ridge (fits.halves:
    map ridge_loo over the default grid)."""
    from mec.fits.halves import halves_maps

    if not setting.halves:
        return RIDGE
    spec = halves_maps({"ridge": RIDGE}, True)["ridge"]
    return dict(map_type=spec["map_type"], map_kwargs=spec["map_kwargs"])


def ceilings(ds, arena, settings: dict, num_splits: int = 2) -> dict:
    """``{setting: median inter-animal ceiling}``: each animal's cells predicted from the
    other animals' recorded maps under the setting's source recipe."""
    from mec.fits.halves import setting_scores
    from mec.fits.settings import dataset_for

    a = float(arena)
    out = {}
    for name, st in settings.items():
        src = dataset_for(ds, a, st.source_recipe)[a]
        maps = {k: np.asarray(r["resp"]) for k, r in src.items()}

        def others(target, maps=maps):
            return np.concatenate([maps[m] for m in maps if m != target], axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sc = setting_scores(ds, a, st, others, num_splits=num_splits, where="ceiling",
                                **ridge_for(st))
        out[name] = float(np.nanmedian(np.concatenate(list(sc.values()))))
    return out


def degrade(maps: np.ndarray, t: float, seed: int) -> np.ndarray:
    """One rung of the ladder: ``maps`` (nx, ny, n_units) bin means, NaN outside the arena,
    degraded to level ``t`` in [0, 1] (module docstring). The random draws depend on ``seed``
    and the shape only, so rungs of one seed are nested. Returns (nx, ny, n_units)."""
    from scipy.ndimage import gaussian_filter

    if not 0.0 <= t <= 1.0:
        raise ValueError(f"ladder level t = {t} is outside [0, 1]")
    maps = np.asarray(maps, dtype=float)
    nx, ny, n = maps.shape
    rng = np.random.default_rng(seed)
    inside = np.isfinite(maps).all(axis=-1)
    idx = np.flatnonzero(inside.ravel())
    noise = rng.standard_normal((idx.size, n))
    order = np.argsort(rng.random((idx.size, n)), axis=0)        # per-unit shuffle ranks
    shuffled = rng.random((idx.size, n))                         # which bins take part
    flat = maps.reshape(nx * ny, n)[idx]                         # (n_in, n)
    mean, sd = flat.mean(axis=0), flat.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    x = flat
    if 0 < t < 1:
        full = np.where(inside[..., None], maps, mean)
        x = gaussian_filter(full, (2 * t, 2 * t, 0)).reshape(nx * ny, n)[idx].copy()
        for u in range(n):
            part = np.flatnonzero(shuffled[:, u] < t / 2)
            if part.size > 1:
                x[part, u] = x[part[np.argsort(order[part, u])], u]
    # signal and noise mixed at variance fractions 1 - t and t, so the signal's share falls
    # evenly along the ladder (t = 1: pure noise with the unit's mean and spread)
    xs = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(xs > 0, xs, 1.0)
    out_in = mean + sd * (np.sqrt(1.0 - t) * z + np.sqrt(t) * noise)
    out = np.full((nx * ny, n), np.nan)
    out[idx] = out_in
    return out.reshape(nx, ny, n)


def ladder_fits(ds, arena, settings: dict, n_rungs: int = 8, num_splits: int = 2,
                seed: int = 0):
    """The ladder's tidy fit table (TABLE_COLUMNS): every rung ("rung0".."rung{n-1}", layer
    "-", map "ridge") scored against every recorded cell of ``arena`` in every setting."""
    from mec.fits.core import score_rows, tidy_table
    from mec.fits.halves import setting_scores
    from mec.fits.settings import dataset_for

    if n_rungs < 2:
        raise ValueError(f"the ladder needs >= 2 rungs (the truth and pure noise), got {n_rungs}")
    a = float(arena)
    truth = {k: np.asarray(v, dtype=float) for k, v in ds.truth[a].items()}
    animals = list(truth)
    frames = []
    for k in range(n_rungs):
        t = k / (n_rungs - 1)
        # the other animals' maps, degraded; per animal a fixed seed so rungs are nested
        rung = {m: degrade(truth[m], t, seed * 1000 + i) for i, m in enumerate(animals)}

        def source(target, rung=rung):
            return np.concatenate([rung[m] for m in animals if m != target], axis=-1)

        for name, st in settings.items():
            data = dataset_for(ds, a, st.recipe)[a]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sc = setting_scores(ds, a, st, source, num_splits=num_splits, as_model=True,
                                    where=f"ladder rung {k}", model_key=f"rung{k}",
                                    **ridge_for(st))
            for animal, s in sc.items():
                frames.append(score_rows(a, data, animal, s, f"rung{k}", "-", "ridge", name))
    return tidy_table(frames)


def ladder_summary(fits, n_rungs: int, bootstrap=None):
    """Per setting: rung medians, Spearman of the medians with the true order and how many
    adjacent rungs (k vs k+1, true order) the paired 95 % interval resolves with rung k
    higher. Returns a DataFrame (setting, medians, spearman, resolved, n_adjacent)."""
    import pandas as pd
    from scipy.stats import spearmanr

    from mec.summary.comparisons import comparisons_table

    rungs = [f"rung{k}" for k in range(n_rungs)]
    best = (fits[["source", "arena", "map", "setting"]].drop_duplicates()
            .rename(columns={"source": "model"}).assign(best_layer="-"))
    comp = comparisons_table(fits, best, bootstrap=bootstrap)
    rows = []
    for setting, g in fits.groupby("setting", sort=False):
        med = g.groupby("source")["score"].median().reindex(rungs).to_numpy(dtype=float)
        rho = float(spearmanr(-np.arange(n_rungs), med).statistic)
        c = comp[comp["setting"] == setting]
        ok = 0
        for k in range(n_rungs - 1):
            hi, lo = rungs[k], rungs[k + 1]
            r = c[((c["model_a"] == hi) & (c["model_b"] == lo))
                  | ((c["model_a"] == lo) & (c["model_b"] == hi))]
            if r.empty:
                continue
            r = r.iloc[0]
            sign = 1.0 if r["model_a"] == hi else -1.0
            ok += int(bool(r["resolved"]) and sign * r["difference"] > 0)
        rows.append({"setting": setting, "medians": med, "spearman": rho, "resolved": ok,
                     "n_adjacent": n_rungs - 1})
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--animals", type=int, default=6)
    ap.add_argument("--arena", default="1.0")
    ap.add_argument("--rungs", type=int, default=8)
    ap.add_argument("--splits", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from mec.data.synthetic import simulate_dataset
    from mec.fits.settings import make_settings

    t0 = time.perf_counter()
    ds = simulate_dataset(arenas={args.arena: {}}, n_animals=args.animals, seed=args.seed,
                          progress=False)
    t_sim = time.perf_counter() - t0
    settings = make_settings(0.2, robust=True, halves=True)
    t0 = time.perf_counter()
    fits = ladder_fits(ds, args.arena, settings, args.rungs, args.splits, args.seed)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = ladder_summary(fits, args.rungs)
    t_boot = time.perf_counter() - t0
    ceiling = ceilings(ds, args.arena, settings, args.splits)
    print(f"arena {args.arena} m, {args.animals} animals, {fits.groupby('setting').size().iloc[0] // args.rungs} "
          f"cells, {args.rungs} rungs, {args.splits} splits; simulate {t_sim:.0f} s, fits "
          f"{t_fit:.0f} s, bootstrap {t_boot:.0f} s")
    print(f"{'setting':8} | {'rung medians (rung0 .. rung' + str(args.rungs - 1) + ')':56} | "
          f"Spearman | adjacent resolved | ceiling")
    for r in summary.itertuples(index=False):
        meds = " ".join(f"{m:+.3f}" for m in r.medians)
        print(f"{r.setting:8} | {meds:56} | {r.spearman:8.3f} | {r.resolved} of "
              f"{r.n_adjacent}{'':10} | {ceiling[r.setting]:+.3f}")


if __name__ == "__main__":
    main()
