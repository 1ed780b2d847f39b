"""The Figure 2 table of a run, per setting, with intervals (docs/figure2.md; methods §7.7 and §7.8).

Prints Markdown: for each architecture x activation network of a Figure 2 run
(configs/figure2.yaml), the trained network's median (best layer, one map and arena) with its
95 % hierarchical-bootstrap interval in every setting, its untrained twin's, and trained -
untrained with the paired interval; then per setting the ceiling and floor, the mean width of
the trained networks' intervals against a tenth of ceiling - floor, and how many adjacent
pairs of the trained networks' ranking and how many trained-vs-untrained pairs are resolved
(interval excludes 0; mec.summary.comparisons).

Every number comes from the summary's own tables: results/{experiment}/summary/ (best_layer,
ceiling, comparisons .csv) when the summarize rule has run; otherwise they are built from the
per-cell tables the workflow wrote (fits/{model}_{arena}.csv, consistency/{arena}.csv,
floors/{arena}.csv) with the same functions summarize calls (mec.summary.tables,
mec.summary.comparisons), restricted to the models whose fit tables exist, e.g. only the
trained and untrained networks:

    PYTHONPATH=$PWD python benchmarks/figure2_table.py [--config configs/figure2.yaml]
        [--arena 1.0] [--map ridge] [--settings paper halves] [--from fits|summary]
        [--summary results/figure2/summary] [--corrected] [--animals 12 16 20 24]

``--animals N ...`` adds a power analysis: the trained networks' mean interval width, per
setting, had the run recorded N animals like its own (mec.stats.projected_width), against
the run's ceiling - floor.

``--corrected`` prints the noise-corrected medians, ceiling and floor (methods §7.9) in place
of the raw ones; the paired differences stay raw.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _interval(m: float, lo: float, hi: float, signed: bool = False) -> str:
    if not np.isfinite(m):
        return "–"
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(m)} [{f.format(lo)}, {f.format(hi)}]".replace("-", "−")


def _num(v: float, signed: bool = False) -> str:
    return ("{:+.3f}" if signed else "{:.3f}").format(v).replace("-", "−") if np.isfinite(v) else "–"


def _in(table: pd.DataFrame, map_name: str, arena: float) -> pd.DataFrame:
    """The rows of one map and arena (arena compared as a number)."""
    return table[(table["map"] == map_name) & np.isclose(table["arena"].astype(float), arena)]


def figure2_twins(models: dict) -> dict:
    """{trained network: its untrained counterpart} by the sweep's names (mec.sweeps):
    ``{arch}_{act}_trained`` -> ``{arch}_{act}_untrained`` where that is a configured untrained
    model. By name, not mec.summary.health.untrained_twins: in configs/figure2.yaml the
    untrained networks share the 2.2 m training box's place cells with the generalization
    networks, so the summary pairs them with those (kind trained_vs_untrained) and lists the
    trained-untrained pair of Figure 2 as model_vs_model."""
    out = {}
    for m, cfg in models.items():
        if m.endswith("_trained") and not cfg.get("baseline") and not cfg.get("untrained"):
            twin = m[: -len("_trained")] + "_untrained"
            if models.get(twin, {}).get("untrained"):
                out[m] = twin
    return out


def build_tables(results: Path, arena: str, models: dict, bootstrap: dict) -> dict:
    """best_layer, ceiling and comparisons tables from the per-cell tables of ``results``
    (the models whose fits/{model}_{arena}.csv exist), as mec.summary.summarize builds them."""
    from mec.stats import Bootstrap
    from mec.summary.comparisons import comparisons_table
    from mec.summary.corrected import ceiling_with_corrected, predictivity_with_corrected
    from mec.summary.tables import best_layer_table, load_scores

    boot = Bootstrap.from_config(bootstrap)
    fit_csvs = [results / "fits" / f"{m}_{arena}.csv" for m in models
                if (results / "fits" / f"{m}_{arena}.csv").exists()]
    if not fit_csvs:
        raise FileNotFoundError(f"no fit tables {results}/fits/{{model}}_{arena}.csv of the "
                                "config's models: run the fit_model jobs first")
    floor_csv = results / "floors" / f"{arena}.csv"
    fits = load_scores(fit_csvs, "fit")
    consistency = load_scores([results / "consistency" / f"{arena}.csv"], "consistency")
    floors = load_scores([floor_csv] if floor_csv.exists() else [], "floor")
    fitted = {m: models[m] for m in sorted(set(fits["source"]))}
    # the noise-corrected medians beside the raw ones (methods §7.9), as summarize makes them
    from mec.data import load_dataset
    from mec.fits.reliability import dataset_reliability

    data = sorted((results / "data").glob("*.h5"))
    dataset = load_dataset(data[0], arenas=[arena]) if len(data) == 1 else None
    reliability = dataset_reliability(dataset)
    ceiling = ceiling_with_corrected(consistency, floors, reliability, bootstrap=boot)
    predictivity = predictivity_with_corrected(fits, ceiling, fitted, None, reliability,
                                               bootstrap=boot)
    best = best_layer_table(predictivity)
    comparisons = comparisons_table(fits, best, floors, fitted, bootstrap=boot)
    return {"best_layer": best, "ceiling": ceiling, "comparisons": comparisons}


def read_tables(summary: Path) -> dict:
    return {name: pd.read_csv(summary / f"{name}.csv")
            for name in ("best_layer", "ceiling", "comparisons")}


def figure2_markdown(tables: dict, models: dict, arena: float, map_name: str,
                     settings: list[str], corrected: bool = False) -> str:
    """The Markdown table and the per-setting numbers (module docstring). corrected: the
    noise-corrected medians, ceiling and floor (methods §7.9: ÷ √reliability of the map each
    score was tested against) instead of the raw ones; the paired differences and what they
    resolve stay those of comparisons.csv (raw scores)."""
    from mec.summary.comparisons import _oriented, resolved_adjacent_pairs
    from mec.summary.tables import reference_ceiling

    twins = figure2_twins(models)
    best = _in(tables["best_layer"], map_name, arena)
    comp = _in(tables["comparisons"], map_name, arena)
    ceil = _in(reference_ceiling(tables["ceiling"], ["arena", "map", "setting"]), map_name, arena)
    present = set(best["setting"])
    settings = [s for s in settings if s in present]
    trained = [m for m in twins if m in set(best["model"])]
    # the paper's row order: architectures, then activations, as in configs/figure2.yaml
    trained.sort(key=lambda m: (list(models).index(m)))

    sfx = "_corrected" if corrected else ""
    for col in (f"median{sfx}", f"ceiling{sfx}", f"floor{sfx}"):
        t = best if col.startswith("median") else ceil
        if col not in t.columns or not t[col].notna().any():
            raise ValueError(f"the tables have no {col!r} values: made without the dataset's "
                             "recording halves (results/{experiment}/data/*.h5), or by an "
                             "older summarize (run it again)")

    def row_of(model, setting):
        r = best[(best["model"] == model) & (best["setting"] == setting)]
        if not len(r):
            return None
        r = r.iloc[0].copy()
        r["median"], r["ci_low"], r["ci_high"] = (r[f"median{sfx}"], r[f"ci_low{sfx}"],
                                                  r[f"ci_high{sfx}"])
        return r

    def pair_of(model, setting):
        # the pair's row, whatever its kind (figure2_twins), as trained - untrained
        c = comp[(comp["kind"] != "model_vs_floor") & (comp["setting"] == setting)
                 & (((comp["model_a"] == model) & (comp["model_b"] == twins[model]))
                    | ((comp["model_b"] == model) & (comp["model_a"] == twins[model])))]
        if not len(c):
            return None
        r = c.iloc[0]
        d, lo, hi, resolved = _oriented(r, model)
        return {"difference": d, "ci_low": lo, "ci_high": hi, "resolved": resolved}

    head = ["network"]
    for s in settings:
        head += [f"{s}: trained", f"{s}: untrained", f"{s}: trained − untrained"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in trained:
        cells = [m.rsplit("_", 1)[0]]
        for s in settings:
            t, u, p = row_of(m, s), row_of(twins[m], s), pair_of(m, s)
            cells.append(_interval(t["median"], t["ci_low"], t["ci_high"]) + f" ({t['best_layer']})"
                         if t is not None else "–")
            cells.append(_interval(u["median"], u["ci_low"], u["ci_high"]) if u is not None else "–")
            if p is None:
                cells.append("–")
            else:
                mark = "" if p["resolved"] else " ~"
                cells.append(_interval(p["difference"], p["ci_low"], p["ci_high"], True) + mark)
        lines.append("| " + " | ".join(cells) + " |")

    summary = ["", "| setting | ceiling | floor | ceiling − floor | mean width of the trained "
               "medians' intervals | width / (ceiling − floor) | adjacent pairs resolved "
               "(trained ranking) | trained vs untrained resolved (of which trained higher) |",
               "|---|---|---|---|---|---|---|---|"]
    for s in settings:
        c = ceil[ceil["setting"] == s]
        ceiling = float(c[f"ceiling{sfx}"].iloc[0]) if len(c) else np.nan
        floor = float(c[f"floor{sfx}"].iloc[0]) if len(c) and f"floor{sfx}" in c else np.nan
        b = best[(best["setting"] == s) & best["model"].isin(trained)]
        width = float((b[f"ci_high{sfx}"] - b[f"ci_low{sfx}"]).mean())
        adj = resolved_adjacent_pairs(comp[comp["setting"] == s], trained)
        n_adj = f"{int(adj['n_resolved'].iloc[0])} of {int(adj['n_adjacent'].iloc[0])}" \
            if len(adj) else "–"
        pairs = [p for p in (pair_of(m, s) for m in trained) if p is not None]
        res = [p for p in pairs if p["resolved"]]
        gap = ceiling - floor
        summary.append(
            f"| {s} | {_num(ceiling)} | {_num(floor, True)} | {_num(gap)} | {_num(width)} | "
            f"{_num(width / gap) if np.isfinite(gap) and gap > 0 else '–'} | {n_adj} | "
            f"{len(res)} of {len(pairs)} ({sum(p['difference'] > 0 for p in res)}) |")
    return "\n".join(lines + summary) + "\n"


def projection_markdown(results: Path, tables: dict, models: dict, arena: str, map_name: str,
                        settings: list[str], n_animals: list[int], bootstrap: dict) -> str:
    """Power analysis (mec.stats.projected_width): per setting, the mean width of the trained
    networks' intervals (best layer, raw scores) had the run recorded N animals like its own,
    for each N of ``n_animals``, against ceiling - floor as measured (held fixed: more source
    animals would raise the ceiling a little, so the ratio is conservative). Reads each
    network's per-cell fits, results/fits/{model}_{arena}.csv."""
    from mec.stats import Bootstrap, projected_width
    from mec.summary.tables import reference_ceiling

    boot = Bootstrap.from_config(bootstrap)
    twins = figure2_twins(models)
    best = _in(tables["best_layer"], map_name, float(arena))
    ceil = _in(reference_ceiling(tables["ceiling"], ["arena", "map", "setting"]), map_name,
               float(arena))
    cells = {}
    for m in twins:
        path = results / "fits" / f"{m}_{arena}.csv"
        if path.exists():
            f = pd.read_csv(path)
            cells[m] = f[f["map"] == map_name]
    if not cells:
        raise FileNotFoundError(f"--animals needs the per-cell fits {results}/fits/"
                                f"{{model}}_{arena}.csv of the trained networks")
    lines = ["", f"Projected with N animals like these (mec.stats.projected_width; map {map_name}, "
             "best layer, raw scores; ceiling − floor held at the run's):", "",
             "| setting | animals in the run | N | mean width of the trained medians' intervals "
             "| width / (ceiling − floor) |", "|---|---|---|---|---|"]
    for s in settings:
        c = ceil[ceil["setting"] == s]
        if not len(c):
            continue
        gap = float(c["ceiling"].iloc[0] - c["floor"].iloc[0])
        per_model = []
        for m, f in cells.items():
            b = best[(best["model"] == m) & (best["setting"] == s)]
            if len(b):
                x = f[(f["setting"] == s) & (f["layer"] == b["best_layer"].iloc[0])]
                per_model.append((m, x["score"].to_numpy(float), x["animal"].to_numpy()))
        if not per_model:
            continue
        n_obs = len(set(per_model[0][2]))
        for n in n_animals:
            w = float(np.mean([projected_width(v, a, n, boot, key=m) for m, v, a in per_model]))
            lines.append(f"| {s} | {n_obs} | {n} | {_num(w)} | {_num(w / gap) if gap > 0 else '–'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/figure2.yaml")
    ap.add_argument("--arena", default="1.0")
    ap.add_argument("--map", default="ridge")
    ap.add_argument("--settings", nargs="+", default=["paper", "halves"])
    ap.add_argument("--summary", default=None,
                    help="folder of the summary tables (default results/{experiment}/summary)")
    ap.add_argument("--from", dest="source", choices=["auto", "fits", "summary"], default="auto",
                    help="summary: the summarize rule's tables; fits: build them from the "
                         "per-cell tables; auto: summary when it exists")
    ap.add_argument("--corrected", action="store_true",
                    help="noise-corrected medians, ceiling and floor (methods §7.9)")
    ap.add_argument("--animals", type=int, nargs="+", default=None, metavar="N",
                    help="also project the interval widths to runs of N animals like these "
                         "(power analysis; reads the per-cell fits)")
    args = ap.parse_args(argv)

    from mec.checks import load_config

    config = load_config(args.config, check_files=False)
    models = dict(config["models"])
    results = Path("results") / config["experiment"] if config.get("experiment") else Path("results")
    summary = Path(args.summary) if args.summary else results / "summary"
    t0 = time.perf_counter()
    if args.source == "summary" or (args.source == "auto" and (summary / "comparisons.csv").exists()):
        tables, where = read_tables(summary), f"{summary}/"
    else:
        tables = build_tables(results, args.arena, models, config["summary"]["bootstrap"])
        where = f"{results}/fits, consistency, floors (mec.summary functions)"
    print(f"<!-- {args.config}, arena {args.arena} m, map {args.map}, from {where}, "
          f"{'noise-corrected, ' if args.corrected else ''}{time.perf_counter() - t0:.0f} s -->")
    print(figure2_markdown(tables, models, float(args.arena), args.map, args.settings,
                           corrected=args.corrected))
    if args.animals:
        print(projection_markdown(results, tables, models, args.arena, args.map, args.settings,
                                  args.animals, config["summary"]["bootstrap"]))


if __name__ == "__main__":
    main()
