"""Ceiling, noise floor and cost of the paper, robust and halves settings (methods §7.8).

On the embedded simulator (mec.data.synthetic; a reduced animal count by default) prints, per
arena and setting: the median inter-animal ceiling (holdout, Ridge alpha 1), the median
|r| of untuned Poisson noise (the sources replaced by mec.fits.floors' "poisson" control),
ceiling - floor, the median split-half reliability (r_half and its Spearman-Brown r_full),
the median noise-corrected ceiling (methods §7.9) and the seconds each setting's two fits
took.

    PYTHONPATH=$PWD python benchmarks/halves.py [--animals 6] [--arenas 1.0 2.2] [--splits 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--animals", type=int, default=6)
    ap.add_argument("--arenas", nargs="+", default=["1.0", "2.2"])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--chunk", type=float, default=60.0, help="halves chunk length, s")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import pandas as pd

    from mec.data.synthetic import simulate_dataset
    from mec.fits.floors import control_source
    from mec.fits.halves import setting_scores
    from mec.fits.reliability import reliability_table, spearman_brown
    from mec.fits.settings import dataset_for, make_settings
    from mec.ratemaps import rates_from_counts

    settings = make_settings(0.2, robust=True, halves=True)
    ridge = dict(map_type="sklinear", map_kwargs={"regression_type": "Ridge", "alpha": 1.0})
    rows = []
    for arena in args.arenas:
        t0 = time.perf_counter()
        ds = simulate_dataset(arenas={arena: {}}, n_animals=args.animals, seed=args.seed,
                              halves_chunk_s=args.chunk, progress=False)
        a = float(arena)
        print(f"arena {arena}: simulated {args.animals} animals in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        rel = reliability_table(ds, a)
        control = control_source(ds, a, "poisson", seed=args.seed)
        for name, st in settings.items():
            data = dataset_for(ds, a, st.recipe)[a]
            maps = {k: np.asarray(r["resp"]) for k, r in data.items()}
            noise = {k: rates_from_counts(c, o, st.recipe, mask=m)
                     for k, (c, o, m) in control.items()}

            def others(src):
                return lambda animal: np.concatenate(
                    [src[k] for k in src if k != animal], axis=-1)

            t0 = time.perf_counter()
            ceil = setting_scores(ds, a, st, others(maps), num_splits=args.splits, **ridge)
            t_ceil = time.perf_counter() - t0
            t0 = time.perf_counter()
            floor = setting_scores(ds, a, st, others(noise), num_splits=args.splits, **ridge)
            t_floor = time.perf_counter() - t0
            c = np.concatenate(list(ceil.values()))
            f = np.concatenate(list(floor.values()))
            r = rel["r_half"].to_numpy() if name == "halves" else rel["r_full"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.where(r > 0, c / np.sqrt(r), np.nan)
            rows.append({"arena": arena, "setting": name, "ceiling": np.nanmedian(c),
                         "floor |r|": np.nanmedian(np.abs(f)),
                         "ceiling-floor": np.nanmedian(c) - np.nanmedian(np.abs(f)),
                         "ceiling corrected": np.nanmedian(corr),
                         "r_half": np.nanmedian(rel["r_half"]),
                         "r_full": np.nanmedian(spearman_brown(rel["r_half"])),
                         "ceiling s": t_ceil, "floor s": t_floor, "cells": len(c)})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
