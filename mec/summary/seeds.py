"""Every per-model number over its seeds: mean and a t-interval, with the per-seed rows kept
(methods §7.11).

A model with seeds (config ``models.X.seeds`` / ``n_seeds``) is trained once per seed; each
seed is a network of its own, named ``X/seed{k}`` in every table (mec.sweeps). One seed is one
draw: at 128 units the sign of the knockout difference changed between seeds. This module
collects each seed's numbers into one long table and reports, per model, their mean and a
Student-t interval over seeds:

- ``seed_values`` (table ``seed_values.csv``): one row per model, seed, arena, map, setting
  and measure - ``score`` (median r at the best layer, ``best_layer.csv``), ``normalized``
  ((score - floor) / (ceiling - floor)) and ``fraction_of_ceiling`` per map and setting, and
  the model-health measures (``model_health.csv``: decoding error, grid fractions, dead
  units, recurrent weights, the knockout difference grid - heterogeneous in cm) with map and
  setting ``-``. An untrained twin's health numbers are its own rows.
- ``seed_spread`` (table ``seeds.csv``): per model, arena, map, setting and measure the seeds
  used, their mean, standard deviation (ddof 1) and the ``level`` t-interval
  mean +/- t_{(1+level)/2, n-1} sd / sqrt(n) over seeds (seeds taken as independent draws of
  the network; the cells and splits inside each value are not resampled here). With one seed
  the interval is NaN: nothing is said about the spread.

A model without seeds is one row (its ``seed``) with n_seeds 1, so that seeds.csv lists every
model. Comparisons between two models with seeds should pair the seeds both have (the same
seed draws the same trajectories in training).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["SEED_VALUE_COLUMNS", "SEED_SPREAD_COLUMNS", "SCORE_MEASURES", "INTERVAL",
           "seed_values", "seed_spread", "t_interval"]

SEED_VALUE_COLUMNS = ["model", "seed", "member", "arena", "map", "setting", "measure", "layer",
                      "value"]
SEED_SPREAD_COLUMNS = ["model", "arena", "map", "setting", "measure", "n_seeds", "seeds", "mean",
                       "sd", "ci_low", "ci_high", "interval"]
#: best_layer.csv column -> measure name in the seed tables
SCORE_MEASURES = {"median": "score", "normalized": "normalized",
                  "fraction_of_ceiling": "fraction_of_ceiling"}
#: how the interval of seeds.csv is made (its ``interval`` column)
INTERVAL = "t95"
_NONE = "-"  # map / setting of a measure that has none (model health)


def t_interval(values, level: float = 0.95) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, low, high) of the finite ``values``: sd with ddof 1 and the two-sided
    Student-t interval mean +/- t_{(1+level)/2, n-1} * sd / sqrt(n). With fewer than two
    values sd, low and high are NaN; with none, the mean too."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return 0, np.nan, np.nan, np.nan, np.nan
    mean = float(x.mean())
    if n < 2:
        return n, mean, np.nan, np.nan, np.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / np.sqrt(n)
    return n, mean, sd, mean - half, mean + half


def _model_and_seed(member: str, model_configs: Mapping[str, Mapping]) -> tuple[str, int]:
    from mec.sweeps import split_member

    model, seed = split_member(member)
    if seed is None:
        seed = int((model_configs.get(member) or {}).get("seed", 0) or 0)
    return model, seed


def seed_values(best_layer: pd.DataFrame, model_health: pd.DataFrame,
                model_configs: Mapping[str, Mapping]) -> pd.DataFrame:
    """The per-seed rows (module docstring), ``SEED_VALUE_COLUMNS``, sorted by model, arena,
    map, setting, measure and seed.

    best_layer: the summary's best_layer table (model, arena, map, setting, best_layer,
    median, normalized, fraction_of_ceiling); model_health: its model_health table (model,
    untrained_twin, arena, measure, trained, untrained); model_configs: model -> config entry
    (a member ``X/seed{k}`` is model X, seed k; another model is its own, seed its ``seed``).
    """
    rows = []
    for r in best_layer.itertuples(index=False):
        model, seed = _model_and_seed(r.model, model_configs)
        for column, measure in SCORE_MEASURES.items():
            rows.append({"model": model, "seed": seed, "member": r.model, "arena": r.arena,
                         "map": r.map, "setting": r.setting, "measure": measure,
                         "layer": r.best_layer, "value": float(getattr(r, column))})
    seen = set()
    for r in model_health.itertuples(index=False):
        for member, value in ((r.model, r.trained), (r.untrained_twin, r.untrained)):
            if not member or (member, r.arena, r.measure) in seen:
                continue
            value = pd.to_numeric(value, errors="coerce")
            if member != r.model and not np.isfinite(value):
                continue  # a twin without a number in this arena
            seen.add((member, r.arena, r.measure))
            model, seed = _model_and_seed(member, model_configs)
            rows.append({"model": model, "seed": seed, "member": member, "arena": r.arena,
                         "map": _NONE, "setting": _NONE, "measure": r.measure, "layer": "g",
                         "value": float(value)})
    out = pd.DataFrame(rows, columns=SEED_VALUE_COLUMNS)
    if out.empty:
        return out
    out["seed"] = out["seed"].astype(int)
    return out.sort_values(["model", "arena", "map", "setting", "measure", "seed"],
                           kind="stable").reset_index(drop=True)


def seed_spread(values: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per model, arena, map, setting and measure of :func:`seed_values`: the seeds
    (``"0,1,2"``), n_seeds (finite values), mean, sd and the ``level`` t-interval over
    seeds (:func:`t_interval`), ``SEED_SPREAD_COLUMNS``; ``interval`` names it (``t95``)."""
    keys = ["model", "arena", "map", "setting", "measure"]
    if values.empty:
        return pd.DataFrame(columns=SEED_SPREAD_COLUMNS)
    label = f"t{round(100 * level):d}"
    rows = []
    for key, g in values.groupby(keys, sort=True):
        n, mean, sd, lo, hi = t_interval(g["value"], level)
        rows.append({**dict(zip(keys, key)), "n_seeds": n,
                     "seeds": ",".join(str(s) for s in sorted(g["seed"])), "mean": mean, "sd": sd,
                     "ci_low": lo, "ci_high": hi, "interval": label})
    return pd.DataFrame(rows, columns=SEED_SPREAD_COLUMNS)
