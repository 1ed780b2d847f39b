"""Benchmark: what the hierarchical bootstrap (mec.stats, methods §7.7) costs the summary.

    .venv/bin/python benchmarks/bootstrap.py [--n-boot 1000] [--models 2] [--no-figures]

Builds tidy score tables shaped like the default run's (2 arenas, 12 animals of 30-60
cells, 3 maps plus the ElasticNet map in the 1 m arena's paper setting, settings paper and
robust, layers pre_g, g, dc, 2 floor controls, the holdout ceiling) with ``--models``
networks (2 = the default run's trained network and its twin; 44 = about a Figure 2 run),
writes them as CSV and times ``mec.summary.summarize`` on them (no dataset, no rate maps:
the tables, the per-cell figures and the headline). It then times the two new pieces
alone: the intervals of the tables (``predictivity_table`` etc.) and
``comparisons_table``.

Run it against an older checkout (PYTHONPATH) to get the "before" number: on a summarize
without the ``bootstrap`` argument only the total is timed. Wall seconds
(time.perf_counter) and CPU seconds of this process (time.process_time, robust to other
users of a shared machine), single-threaded BLAS. The last line reads
``summarize_s: <wall> cpu_s: <cpu> n_boot: <n> models: <m>``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ARENAS = ("1.0", "2.2")
MAPS = ("ridge", "corr", "pls")
SETTINGS = ("paper", "robust")
LAYERS = ("pre_g", "g", "dc")


def make_tables(folder: Path, n_models: int, seed: int = 0) -> dict:
    """Write consistency, floor and fit CSVs into ``folder``; return their paths and the
    model configs (pairs of trained networks and untrained twins)."""
    rng = np.random.default_rng(seed)
    paths = {"consistency": [], "floors": [], "fits": []}
    configs = {}
    for k in range(n_models):
        name = f"net{k // 2}" + ("_untrained" if k % 2 else "")
        configs[name] = {"architecture": "UGRNN", "activation": "relu", "train_arena": 2.2,
                         "seed": k // 2, **({"untrained": True} if k % 2 else {})}
    for arena in ARENAS:
        cells = []
        for a in range(12):
            off = rng.normal(0, 0.05)
            for c in range(int(rng.integers(30, 61))):
                cells.append((f"m{a}", f"c{c}", rng.choice(["grid", "border", "heterogeneous"]),
                              off + rng.normal(0, 0.15)))
        cells = pd.DataFrame(cells, columns=["animal", "cell_id", "cell_type", "base"])
        maps = {s: MAPS + (("elasticnet",) if arena == "1.0" and s == "paper" else ())
                for s in SETTINGS}

        def rows(source, layer, level, noise):
            out = []
            for setting in SETTINGS:
                for m in maps[setting]:
                    out.append(cells[["animal", "cell_id", "cell_type"]].assign(
                        arena=arena, source=source, layer=layer, map=m, setting=setting,
                        score=(level + cells["base"] + rng.normal(0, noise, len(cells))
                               if setting == "paper" else 0.1 * cells["base"]
                               + rng.normal(0, noise, len(cells)))))
            return pd.concat(out, ignore_index=True)

        path = folder / f"consistency_{arena}.csv"
        rows("interanimal_holdout", "-", 0.8, 0.05).to_csv(path, index=False)
        paths["consistency"].append(path)
        path = folder / f"floors_{arena}.csv"
        pd.concat([rows(c, "-", 0.7, 0.05) for c in ("control_poisson", "control_permuted")]
                  ).to_csv(path, index=False)
        paths["floors"].append(path)
        for name in configs:
            level = 0.6 if "untrained" in name else 0.75
            path = folder / f"fits_{name}_{arena}.csv"
            pd.concat([rows(name, layer, level + 0.01 * i, 0.05) for i, layer in enumerate(LAYERS)]
                      ).to_csv(path, index=False)
            paths["fits"].append(path)
    return {**paths, "configs": configs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--models", type=int, default=2)
    parser.add_argument("--no-summarize", action="store_true",
                        help="time only the tables and comparisons (summarize draws a figure "
                             "per model: minutes at --models 44)")
    parser.add_argument("--keep", metavar="DIR", help="write the summary into DIR and keep it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from mec.summary import summarize
    from mec.summary import tables as tb

    has_boot = "bootstrap" in inspect.signature(summarize).parameters
    total = total_cpu = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = make_tables(tmp, args.models)
        kwargs = {"bootstrap": {"n_boot": args.n_boot, "seed": 0}} if has_boot else {}
        out = Path(args.keep) if args.keep else tmp / "out"
        start, cpu = time.perf_counter(), time.process_time()
        if not args.no_summarize:
            summarize(t["consistency"], t["fits"], {}, t["configs"], None, {}, out,
                      out / "figures", floor_csvs=t["floors"], **kwargs)
        total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
        n_rows = sum(len(pd.read_csv(p)) for p in t["fits"] + t["consistency"] + t["floors"])
        print(f"| tidy rows | {n_rows} |")
        if args.no_summarize:
            total = total_cpu = float("nan")
        else:
            print(f"| summarize, wall (s) | {total:.2f} |")
            print(f"| summarize, CPU (s) | {total_cpu:.2f} |")
        if has_boot:
            from mec.stats import Bootstrap
            from mec.summary.comparisons import comparisons_table

            cons = tb.load_scores(t["consistency"], "consistency")
            fits = tb.load_scores(t["fits"], "fit")
            floors = tb.load_scores(t["floors"], "floor")
            for label, boot in (("no intervals", False), ("intervals", Bootstrap(args.n_boot, 0))):
                start = time.process_time()
                ceil = tb.ceiling_table(cons, floors, bootstrap=boot)
                tb.floors_table(floors, bootstrap=boot)
                pred = tb.predictivity_table(fits, ceil, t["configs"], bootstrap=boot)
                best = tb.best_layer_table(pred)
                tb.by_cell_type_table(cons, fits, best, floors, bootstrap=boot)
                print(f"| tables, {label}, CPU (s) | {time.process_time() - start:.2f} |")
            start = time.process_time()
            cmp = comparisons_table(fits, best, floors, t["configs"], Bootstrap(args.n_boot, 0))
            print(f"| comparisons_table, {len(cmp)} rows, CPU (s) | "
                  f"{time.process_time() - start:.2f} |")
    print(f"summarize_s: {total:.2f} cpu_s: {total_cpu:.2f} n_boot: {args.n_boot if has_boot else 0} "
          f"models: {args.models}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
