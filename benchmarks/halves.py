"""Ceiling, noise floor and cost of the paper, robust and halves settings (methods §7.8).

On the embedded simulator (mec.data.synthetic; a reduced animal count by default) prints, per
arena and setting (holdout, Ridge alpha 1; in the halves setting its own defaults, config
fits.halves: half the bins for training, each Ridge fit choosing its alpha by leave-one-out
over its training bins, map ridge_loo; medians over cells):

* ceiling: inter-animal consistency; ceiling corrected: the same noise-corrected (§7.9);
* floor, floor |r|: the sources replaced by mec.fits.floors' "poisson" control (untuned
  noise with each cell's rate and the animal's path) against the real targets - the
  floors of the workflow;
* noise set, noise set |r|: a dataset whose every cell is untuned Poisson noise (targets
  and sources, each half drawn independently) - its own "ceiling";
* truth: the other animals' noise-free maps (ground truth) as the source; truth rec.: the
  same scored as a model (``as_model``: in the halves setting recorded as one more animal,
  mec.fits.as_recorded) - about the ceiling when models and animals are on one scale;
* r_half, r_full: split-half reliability and its Spearman-Brown value;
* seconds of the ceiling fit and of a model fit (a 256-unit smooth random "model", every
  animal), per setting.

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

    from mec.data.contract import Dataset
    from mec.data.synthetic import simulate_dataset
    from mec.fits.floors import control_source
    from mec.fits.halves import halves_maps, setting_scores
    from mec.fits.reliability import reliability_table, spearman_brown
    from mec.fits.settings import dataset_for, make_settings
    from mec.ratemaps import rates_from_counts

    settings = make_settings(0.2, robust=True, halves=True)
    ridge1 = dict(map_type="sklinear", map_kwargs={"regression_type": "Ridge", "alpha": 1.0})
    ridge_h = halves_maps({"r": ridge1}, True)["r"]
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
        noise_ds = _noise_dataset(ds, a, Dataset, rates_from_counts, args.seed)
        rng = np.random.default_rng(args.seed)
        nx, ny = ds.edges[a][0].size - 1, ds.edges[a][1].size - 1
        from scipy.ndimage import gaussian_filter

        model = gaussian_filter(rng.random((nx, ny, 256)), (2, 2, 0))
        truth = {k: np.asarray(v) for k, v in ds.truth[a].items()}
        for name, st in settings.items():
            ridge = ridge_h if st.halves else ridge1
            # sources under the setting's source recipe (unsmoothed in halves, methods §7.8)
            data = dataset_for(ds, a, st.source_recipe)[a]
            maps = {k: np.asarray(r["resp"]) for k, r in data.items()}
            noise = {k: rates_from_counts(c, o, st.source_recipe, mask=m)
                     for k, (c, o, m) in control.items()}

            def others(src):
                return lambda animal: np.concatenate(
                    [src[k] for k in src if k != animal], axis=-1)

            t0 = time.perf_counter()
            ceil = setting_scores(ds, a, st, others(maps), num_splits=args.splits, **ridge)
            t_ceil = time.perf_counter() - t0
            floor = setting_scores(ds, a, st, others(noise), num_splits=args.splits, **ridge)
            nd = dataset_for(noise_ds, a, st.source_recipe)[a]
            nmaps = {k: np.asarray(r["resp"]) for k, r in nd.items()}
            nset = np.concatenate(list(setting_scores(noise_ds, a, st, others(nmaps),
                                                      num_splits=args.splits, **ridge).values()))
            tr = np.concatenate(list(setting_scores(ds, a, st, others(truth),
                                                    num_splits=args.splits, **ridge).values()))
            trm = np.concatenate(list(setting_scores(ds, a, st, others(truth), as_model=True,
                                                     model_key="truth", num_splits=args.splits,
                                                     **ridge).values()))
            t0 = time.perf_counter()
            setting_scores(ds, a, st, model, num_splits=args.splits, **ridge)
            t_model = time.perf_counter() - t0
            c = np.concatenate(list(ceil.values()))
            f = np.concatenate(list(floor.values()))
            r = rel["r_half"].to_numpy() if name == "halves" else rel["r_full"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.where(r > 0, c / np.sqrt(r), np.nan)
            rows.append({"arena": arena, "setting": name, "ceiling": np.nanmedian(c),
                         "ceiling corr.": np.nanmedian(corr),
                         "floor": np.nanmedian(f), "floor |r|": np.nanmedian(np.abs(f)),
                         "ceil-floor": np.nanmedian(c) - np.nanmedian(f),
                         "noise set": np.nanmedian(nset),
                         "noise set |r|": np.nanmedian(np.abs(nset)),
                         "ceil-noise set": np.nanmedian(c) - np.nanmedian(nset),
                         "truth": np.nanmedian(tr), "truth rec.": np.nanmedian(trm),
                         "r_half": np.nanmedian(rel["r_half"]),
                         "r_full": np.nanmedian(spearman_brown(rel["r_half"])),
                         "ceiling s": t_ceil, "model s": t_model,
                         "cells": len(c)})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _noise_dataset(ds, arena, Dataset, rates_from_counts, seed):
    """The dataset with every cell replaced by untuned Poisson noise: each half's counts drawn
    with the cell's mean rate times that half's time per bin (independent halves)."""
    from mec.ratemaps import PAPER

    rng = np.random.default_rng(seed + 1)
    out = Dataset({arena: {}}, edges=ds.edges, arenas=ds.arenas, recipes={arena: PAPER},
                  spike_counts={arena: {}}, occupancy={arena: {}}, half_counts={arena: {}},
                  half_occupancy={arena: {}})
    for an, rec in ds[arena].items():
        c, o = ds.spike_counts[arena][an], ds.occupancy[arena][an]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.nan_to_num(c.sum((0, 1)) / o.sum((0, 1)))
        ho = ds.half_occupancy[arena][an]
        hc = rng.poisson(rate * ho).astype(float)
        mask = np.isfinite(np.asarray(rec["resp"], dtype=float))
        out[arena][an] = {**rec, "resp": rates_from_counts(hc.sum(0), o, PAPER, mask=mask)}
        out.spike_counts[arena][an], out.occupancy[arena][an] = hc.sum(0), o
        out.half_counts[arena][an], out.half_occupancy[arena][an] = hc, ho
    return out


if __name__ == "__main__":
    main()
