"""Floors, normalized scores and the headline in the summary (methods §7.3), against hand
computations."""

import numpy as np
import pandas as pd
import pytest

from mec.summary import summarize
from mec.summary.headline import (
    HEADLINE_COLUMNS,
    headline_map,
    headline_table,
    reliability_table,
)
from mec.summary.tables import (
    best_layer_table,
    by_cell_type_table,
    ceiling_table,
    floor_summary,
    load_scores,
    predictivity_table,
)

COLS = ["arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "setting", "score"]
CELLS = [("A", "a1", "grid"), ("A", "a2", "border"), ("B", "b1", "grid"), ("B", "b2", "heterogeneous")]


def _rows(source, layer, mapname, setting, scores, arena=1.0):
    return [(arena, a, c, t, source, layer, mapname, setting, s)
            for (a, c, t), s in zip(CELLS, scores)]


# Per setting (map ridge): ceiling medians, floor controls' medians, model medians per layer.
#   paper:  ceiling [.8 .9 .85 .95] -> .875; poisson [.7 .8 .75 .9] -> .775,
#           permuted [.6 .7 .7 .8] -> .7 (floor = max = .775, poisson);
#           model g [.8 .82 .84 .86] -> .83, dc [.1 .1 .1 .1] -> .1  (best g)
#           normalized = (.83 - .775) / (.875 - .775) = .55
#   robust: ceiling [.1 .2 .3 .4] -> .25; poisson [0 .02 -.02 .0] -> 0, permuted [.05 .05 .05 .05]
#           -> .05 (floor .05, permuted); model g [.1 .2 .1 .2] -> .15, dc [.0 .3 .3 .3] -> .3 (best)
#           normalized = (.3 - .05) / (.25 - .05) = 1.25
CONS = pd.DataFrame(_rows("interanimal_holdout", "-", "ridge", "paper", [.8, .9, .85, .95])
                    + _rows("interanimal_holdout", "-", "ridge", "robust", [.1, .2, .3, .4]),
                    columns=COLS)
FLOORS = pd.DataFrame(_rows("control_poisson", "-", "ridge", "paper", [.7, .8, .75, .9])
                      + _rows("control_permuted", "-", "ridge", "paper", [.6, .7, .7, .8])
                      + _rows("control_poisson", "-", "ridge", "robust", [0, .02, -.02, 0])
                      + _rows("control_permuted", "-", "ridge", "robust", [.05] * 4),
                      columns=COLS)
FITS = pd.DataFrame(_rows("net", "g", "ridge", "paper", [.8, .82, .84, .86])
                    + _rows("net", "dc", "ridge", "paper", [.1] * 4)
                    + _rows("net", "g", "ridge", "robust", [.1, .2, .1, .2])
                    + _rows("net", "dc", "ridge", "robust", [0, .3, .3, .3])
                    + _rows("net", "g", "elasticnet", "paper", [.5] * 4), columns=COLS)
CONFIGS = {"net": {"architecture": "UGRNN", "activation": "relu", "loss": "place_cells",
                   "train_arena": 1.0}}


def test_floor_is_the_highest_control_median():
    f = floor_summary(FLOORS).set_index("setting")
    assert np.isclose(f.loc["paper", "floor"], 0.775) and f.loc["paper", "floor_source"] == "control_poisson"
    assert np.isclose(f.loc["robust", "floor"], 0.05) and f.loc["robust", "floor_source"] == "control_permuted"


def test_ceiling_predictivity_best_layer_carry_floor_and_normalized():
    ceil = ceiling_table(CONS, FLOORS).set_index("setting")
    assert np.isclose(ceil.loc["paper", "ceiling"], 0.875) and np.isclose(ceil.loc["paper", "floor"], 0.775)
    pred = predictivity_table(FITS, ceiling_table(CONS, FLOORS), CONFIGS)
    row = pred[(pred["setting"] == "paper") & (pred["layer"] == "g") & (pred["map"] == "ridge")].iloc[0]
    assert np.isclose(row["median"], 0.83) and np.isclose(row["normalized"], 0.55)
    assert np.isclose(row["fraction_of_ceiling"], 0.83 / 0.875)
    best = best_layer_table(pred).set_index(["map", "setting"])
    assert best.loc[("ridge", "paper"), "best_layer"] == "g"
    assert best.loc[("ridge", "robust"), "best_layer"] == "dc"          # chosen per setting
    assert np.isclose(best.loc[("ridge", "robust"), "normalized"], 1.25)
    # ElasticNet has no ceiling or floor here: its normalized score is NaN, not invented.
    assert np.isnan(best.loc[("elasticnet", "paper"), "normalized"])
    # Without floors every number is still there, floors and normalized NaN.
    bare = predictivity_table(FITS, ceiling_table(CONS), CONFIGS)
    assert bare["floor"].isna().all() and bare["normalized"].isna().all()
    np.testing.assert_allclose(bare["median"], pred["median"])


def test_tables_without_setting_are_the_papers():
    old = CONS[CONS["setting"] == "paper"].drop(columns="setting")
    c = ceiling_table(old)
    assert list(c["setting"]) == ["paper"] and np.isclose(c["ceiling"].item(), 0.875)


def test_by_cell_type_has_type_floors():
    t = by_cell_type_table(CONS, FITS, None, FLOORS)
    g = t[(t["kind"] == "ceiling") & (t["setting"] == "paper") & (t["cell_type"] == "grid")].iloc[0]
    # grid cells a1, b1: ceiling [.8 .85] -> .825; poisson [.7 .75] -> .725, permuted [.6 .7] -> .65
    assert np.isclose(g["type_ceiling"], 0.825) and np.isclose(g["type_floor"], 0.725)
    m = t[(t["kind"] == "model") & (t["setting"] == "paper") & (t["cell_type"] == "grid")
          & (t["layer"] == "g") & (t["map"] == "ridge")].iloc[0]
    assert np.isclose(m["type_normalized"], (0.82 - 0.725) / (0.825 - 0.725))
    assert np.isclose(m["floor"], 0.775)


def test_headline_table_and_reliability():
    ceil = ceiling_table(CONS, FLOORS)
    best = best_layer_table(predictivity_table(FITS, ceil, CONFIGS))
    assert headline_map(ceil) == "ridge"
    with pytest.raises(ValueError, match="'elasticnet' is not fitted in every setting"):
        headline_map(ceil, "elasticnet")

    class DS:
        cell_info = {1.0: {"A": {"reliability": np.array([0.9, 0.2, np.nan])},
                           "B": {"reliability": np.array([0.6, 0.4])}}}

    rel = reliability_table(DS())
    assert rel["n_cells"].item() == 4 and np.isclose(rel["reliability"].item(), 0.5)
    assert rel["n_unreliable"].item() == 2 and np.isclose(rel["unreliable_fraction"].item(), 0.5)
    h = headline_table(ceil, best, rel)
    assert list(h.columns) == HEADLINE_COLUMNS and list(h["setting"]) == ["paper", "robust"]
    r = h.set_index("setting")
    assert np.isclose(r.loc["robust", "score"], 0.3) and r.loc["robust", "layer"] == "dc"
    assert np.isclose(r.loc["paper", "normalized"], 0.55) and np.isclose(r.loc["paper", "reliability"], 0.5)
    # No models: one row per arena and setting with the references only.
    none = headline_table(ceil, best.iloc[:0], rel)
    assert len(none) == 2 and (none["model"] == "").all() and none["ceiling"].notna().all()


def test_summary_page_opens_with_the_headline(tmp_path):
    paths = {}
    for name, df in (("consistency", CONS), ("floors", FLOORS), ("fits", FITS)):
        paths[name] = tmp_path / f"{name}_1.0.csv"
        df.to_csv(paths[name], index=False)
    out = tmp_path / "s"
    written = summarize([paths["consistency"]], [paths["fits"]], {}, CONFIGS, None, {}, out,
                        out / "figures", floor_csvs=[paths["floors"]])
    page = (out / "summary.md").read_text()
    assert page.splitlines()[2].startswith("## Headline")
    # each median with its 95 % interval beside it (hierarchical bootstrap, methods §7.7)
    robust = [line for line in page.splitlines() if line.startswith("| 1.0 | robust | 0.250 | [")]
    assert len(robust) >= 1 and "| 0.050 |" in robust[0]
    assert "Paired comparisons" in page and (out / "comparisons.csv").is_file()
    assert "paper setting only" in page                # ElasticNet fitted in paper only
    assert (out / "figures" / "headline" / "headline.png").stat().st_size > 5000
    assert any(p.name == "headline.png" for p in written)
    fl = pd.read_csv(out / "floors.csv")
    assert set(fl["source"]) == {"control_poisson", "control_permuted"} and len(fl) == 4
    # The Figure 2 pivot stays the paper's.
    assert set(pd.read_csv(out / "figure2_long.csv")["map"]) == {"elasticnet"}
    assert load_scores([paths["fits"]], "fit")["setting"].nunique() == 2


def test_headline_text_names_scores_above_the_ceiling_and_the_papers_floor_share():
    from mec.summary.headline import headline_markdown

    t = pd.DataFrame({
        "arena": ["1.0", "1.0", "1.0"], "setting": ["paper", "robust", "paper"],
        "map": "ridge", "ceiling": [0.40, 0.14, 0.40], "floor": [0.24, 0.0, 0.24],
        "reliability": 0.9, "model": ["net", "net", "twin"], "layer": "dc",
        "score": [0.90, 0.03, 0.30]})
    t["normalized"] = (t["score"] - t["floor"]) / (t["ceiling"] - t["floor"])
    text = headline_markdown(t)
    assert "floor = 60 % of the ceiling here" in text          # 0.24 / 0.40
    above = [line for line in text.splitlines() if line.startswith("- **Above the ceiling**")]
    assert len(above) == 1 and "net in arena 1.0, paper (4.12)" in above[0]  # (0.9-0.24)/0.16
    assert "twin" not in above[0] and "robust" not in above[0]
    # nothing above the ceiling: no such line
    assert "Above the ceiling" not in headline_markdown(t[t["score"] < 0.5])


def test_headline_text_gives_a_model_with_seeds_its_mean_and_t_interval_over_seeds():
    """summary.md's headline: after the per-seed rows, one row per model with seeds, the mean
    of its seeds' scores with the t-interval over seeds (computed here with scipy) and the
    mean normalized score; a run without seeds has no such table."""
    from scipy import stats

    from mec.summary.headline import headline_markdown, seeds_headline
    from mec.summary.seeds import seed_spread, seed_values

    scores = {"net/seed0": 0.38, "net/seed1": 0.40, "net/seed2": 0.43, "other": 0.20}
    t = pd.DataFrame({"arena": "1.0", "setting": "halves", "map": "ridge", "ceiling": 0.40,
                      "floor": 0.0, "reliability": 0.7, "model": list(scores), "layer": "g",
                      "score": list(scores.values())})
    t["normalized"] = t["score"] / 0.40
    best = t.rename(columns={"layer": "best_layer", "score": "median"}).assign(
        fraction_of_ceiling=t["score"] / 0.40)
    configs = {m: {} for m in scores}
    spread = seed_spread(seed_values(best, pd.DataFrame(columns=[
        "model", "untrained_twin", "arena", "measure", "trained", "untrained"]), configs))
    over = seeds_headline(t, spread)
    assert list(over["model"]) == ["net"]  # "other" has no seeds
    x = np.array([0.38, 0.40, 0.43])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    row = over.iloc[0]
    assert row["score"] == pytest.approx(x.mean()) and row["seeds"] == "0,1,2"
    assert row["score 95% t-interval"] == f"[{x.mean() - half:.3f}, {x.mean() + half:.3f}]"
    assert row["normalized"] == pytest.approx(x.mean() / 0.40)
    text = headline_markdown(t, seeds=spread)
    assert "Models with seeds (one row per seed above)" in text
    assert f"| 1.0 | halves | net | 0,1,2 | {x.mean():.3f} |" in text
    assert "Models with seeds" not in headline_markdown(t)
    assert "Models with seeds" not in headline_markdown(t[t["model"] == "other"], seeds=spread)
