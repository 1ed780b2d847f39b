"""Hand-made RatInABox populations scored on the embedded data, beside the demo network.

Each population (mec.models.references; config ``source: ratinabox``) is scored with
``mec.score`` under config.yaml's fit settings (holdout ceiling, 10 random splits of 20 % of
bins in the paper setting, blocked splits in the robust setting, noise floors from Poisson and
permuted controls), Ridge only, best layer, median over cells; the default run's demo
UGRNN-ReLU and its untrained twin (README "What the default run gives", headline table) are
printed beside it as :data:`DEMO`.

Usage: .venv/bin/python benchmarks/references.py [--data results/data/synthetic.h5]
       [--populations grid bvc place mixed]
Without ``--data`` the default dataset is simulated (about 20 s). Grid: about 2 minutes on 2
cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: The default run's headline (README, Ridge, best layer): (arena, setting) -> (trained,
#: untrained twin) scores and normalized scores.
DEMO = {
    ("1.0", "paper"): (0.834, -0.03, 0.579, -8.02),
    ("1.0", "robust"): (0.065, 0.93, 0.043, 0.57),
    ("2.2", "paper"): (0.723, 1.40, 0.253, -6.61),
    ("2.2", "robust"): (0.025, 0.35, 0.019, 0.25),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--populations", nargs="+", default=["grid"])
    args = ap.parse_args(argv)

    import mec
    from mec.data import save_dataset
    from mec.data.synthetic import DEFAULT_ARENAS, simulate_dataset

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["fits"]["maps"] = {"ridge": cfg["fits"]["maps"]["ridge"]}
    cfg.pop("knockouts", None)
    cfg.pop("elasticnet", None)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            t0 = time.perf_counter()
            data = save_dataset(Path(tmp) / "synthetic.h5", simulate_dataset(DEFAULT_ARENAS, progress=False))
            print(f"# embedded dataset simulated in {time.perf_counter() - t0:.0f} s")
        print("| population | arena | setting | ceiling | floor | score (layer) | normalized "
              "| demo trained | normalized | untrained twin | normalized |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for pop in args.populations:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = mec.score({"source": "ratinabox", "population": pop}, data, config=cfg,
                                  name=f"ratinabox_{pop}")
            for _, r in table.iterrows():
                arena = f"{float(r['arena']):.1f}"
                d = DEMO.get((arena, r["setting"]), (float("nan"),) * 4)
                print(f"| {pop} | {arena} | {r['setting']} | {r['ceiling']:.3f} | {r['floor']:.3f} "
                      f"| {r['median']:.3f} ({r['best_layer']}) | {r['normalized']:.2f} "
                      f"| {d[0]:.3f} | {d[1]:.2f} | {d[2]:.3f} | {d[3]:.2f} |")
            print(f"# {pop}: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
