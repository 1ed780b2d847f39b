"""mec.summary.comparisons: paired comparisons of models on shared cells (methods §7.7), with
known answers: identical models differ by exactly 0 with interval [0, 0], a shifted model is
resolved, twins and the floor are found, only shared cells count, any setting name works,
and the ranking helper counts the resolved adjacent pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mec.stats import Bootstrap
from mec.summary.comparisons import (
    COMPARISON_COLUMNS,
    comparison_notes,
    comparisons_table,
    ranking_table,
    resolved_adjacent_pairs,
)
from mec.summary.tables import best_layer_table, ceiling_table, predictivity_table

BOOT = Bootstrap(n_boot=300, seed=0)
CONFIGS = {"net": {"architecture": "UGRNN", "activation": "relu", "seed": 0},
           "net_untrained": {"architecture": "UGRNN", "activation": "relu", "seed": 0,
                             "untrained": True},
           "copy": {"architecture": "LSTM", "activation": "relu"}}


def _cells(rng, n_animals=8, n_cells=30, sd_animal=0.1):
    rows = []
    for a in range(n_animals):
        off = rng.normal(0, sd_animal)
        for c in range(n_cells):
            rows.append({"animal": f"m{a}", "cell_id": f"c{c}", "base": 0.3 + off + rng.normal(0, 0.1)})
    return pd.DataFrame(rows)


def _fits(cells, shifts, settings=("paper",), layers=("g",), noise=0.0, seed=1, arena=1.0):
    """Tidy fit rows: each model's score = the cell's base + its shift (+ optional noise)."""
    rng = np.random.default_rng(seed)
    out = []
    for setting in settings:
        for model, shift in shifts.items():
            for layer in layers:
                s = cells["base"] + shift + (rng.normal(0, noise, len(cells)) if noise else 0.0)
                out.append(cells[["animal", "cell_id"]].assign(
                    arena=arena, cell_type="grid", source=model, layer=layer, map="ridge",
                    setting=setting, score=s.to_numpy()))
    return pd.concat(out, ignore_index=True)


def _floors(cells, settings=("paper",)):
    rng = np.random.default_rng(9)
    out = []
    for setting in settings:
        for kind, level in (("control_poisson", 0.0), ("control_permuted", 0.05)):
            out.append(cells[["animal", "cell_id"]].assign(
                arena=1.0, cell_type="grid", source=kind, layer="-", map="ridge", setting=setting,
                score=level + rng.normal(0, 0.05, len(cells))))
    return pd.concat(out, ignore_index=True)


def _best(fits, floors=None):
    cons = fits[fits["source"] == fits["source"].iloc[0]].assign(source="interanimal_holdout",
                                                                 layer="-")
    ceil = ceiling_table(cons.drop_duplicates(["animal", "cell_id", "setting"]), floors,
                         bootstrap=BOOT)
    return best_layer_table(predictivity_table(fits, ceil, CONFIGS, bootstrap=BOOT))


def test_identical_models_differ_by_exactly_zero_and_a_shift_is_resolved():
    cells = _cells(np.random.default_rng(0))
    fits = _fits(cells, {"net": 0.0, "copy": 0.0, "net_untrained": -0.08})
    t = comparisons_table(fits, _best(fits), None, CONFIGS, BOOT)
    assert list(t.columns) == COMPARISON_COLUMNS and len(t) == 3
    same = t[(t["model_a"] == "copy") & (t["model_b"] == "net")].iloc[0]
    assert same["kind"] == "model_vs_model"
    assert (same["difference"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    assert not same["resolved"] and same["p_bootstrap"] == 1.0 and same["p_wilcoxon"] == 1.0
    twin = t[t["kind"] == "trained_vs_untrained"].iloc[0]
    # the trained network comes first; a shift of every cell moves each replicate by it
    assert (twin["model_a"], twin["model_b"]) == ("net", "net_untrained")
    assert twin["difference"] == pytest.approx(0.08, abs=1e-12)
    assert twin["ci_low"] == pytest.approx(0.08, abs=1e-12) and twin["resolved"]
    assert twin["p_bootstrap"] == pytest.approx(2 / 301)
    assert (twin["n_cells"], twin["n_animals"]) == (240, 8)


def test_a_noisy_shift_is_resolved_and_a_tiny_one_is_not():
    cells = _cells(np.random.default_rng(1))
    fits = _fits(cells, {"net": 0.05, "net_untrained": 0.0, "copy": 0.049}, noise=0.03)
    t = comparisons_table(fits, _best(fits), None, CONFIGS, BOOT).set_index(["model_a", "model_b"])
    big = t.loc[("net", "net_untrained")]
    assert big["resolved"] and big["ci_low"] > 0 and big["p_bootstrap"] < 0.05
    assert big["difference"] == pytest.approx(0.05, abs=0.01)
    tiny = t.loc[("copy", "net")]
    assert not tiny["resolved"] and tiny["ci_low"] < 0 < tiny["ci_high"]
    # ranking: net ~ copy (unresolved) > net_untrained (resolved)
    adj = resolved_adjacent_pairs(t.reset_index())
    assert adj[["n_models", "n_adjacent", "n_resolved"]].iloc[0].tolist() == [3, 2, 1]
    assert adj["ranking"].iloc[0] == "net ~ copy > net_untrained"
    ranks = ranking_table(t.reset_index())
    assert ranks["higher"].tolist() == ["net", "copy"]
    np.testing.assert_allclose(ranks["difference"], ranks["median_higher"] - ranks["median_lower"])
    assert (ranks["difference"] >= 0).all() and (ranks["ci_low"] <= ranks["difference"]).all()
    # a subset of models: only the pairs among them
    sub = resolved_adjacent_pairs(t.reset_index(), models=["net", "net_untrained"])
    assert sub["ranking"].iloc[0] == "net > net_untrained"


def test_floor_rows_use_the_highest_control_and_shared_cells_only():
    cells = _cells(np.random.default_rng(2))
    fits = _fits(cells, {"net": 0.0, "net_untrained": 0.0})
    floors = _floors(cells)
    # the untrained twin lacks the first animal's cells and has one NaN score
    twin = fits["source"] == "net_untrained"
    fits = fits[~(twin & (fits["animal"] == "m0"))].copy()
    fits.loc[fits.index[(fits["source"] == "net_untrained")][0], "score"] = np.nan
    t = comparisons_table(fits, _best(fits, floors), floors, CONFIGS, BOOT)
    fl = t[t["kind"] == "model_vs_floor"]
    assert set(fl["model_b"]) == {"control_permuted"} and set(fl["layer_b"]) == {"-"}
    assert fl.set_index("model_a")["n_cells"].to_dict() == {"net": 240, "net_untrained": 209}
    assert fl["resolved"].all() and (fl["ci_low"] > 0).all()
    pair = t[t["kind"] == "trained_vs_untrained"].iloc[0]
    assert (pair["n_cells"], pair["n_animals"]) == (209, 7)
    # same scores on the shared cells: exactly 0
    assert pair["difference"] == 0.0 and (pair["ci_low"], pair["ci_high"]) == (0.0, 0.0)


def test_any_setting_name_is_compared_apart_and_draws_are_reproducible():
    cells = _cells(np.random.default_rng(3))
    fits = _fits(cells, {"net": 0.02, "net_untrained": 0.0}, settings=("paper", "halves"),
                 noise=0.05)
    best = _best(fits)
    t = comparisons_table(fits, best, None, CONFIGS, BOOT)
    assert sorted(t["setting"]) == ["halves", "paper"]
    again = comparisons_table(fits, best, None, CONFIGS, BOOT)
    pd.testing.assert_frame_equal(t, again)
    # another seed: other draws, the same point estimates
    other = comparisons_table(fits, best, None, CONFIGS, Bootstrap(300, 7))
    np.testing.assert_array_equal(other["difference"], t["difference"])
    assert not np.array_equal(other["ci_low"], t["ci_low"])


def test_best_layer_is_the_one_compared_and_arena_names_match_as_sizes():
    cells = _cells(np.random.default_rng(4))
    fits = _fits(cells, {"net": 0.0, "net_untrained": 0.0}, layers=("g", "dc"))
    fits.loc[(fits["source"] == "net") & (fits["layer"] == "dc"), "score"] += 0.1
    best = _best(fits)
    best["arena"] = "1.0"  # read back from a CSV as text
    t = comparisons_table(fits, best, None, CONFIGS, BOOT)
    r = t.iloc[0]
    assert (r["layer_a"], r["layer_b"]) == ("dc", "g")
    assert r["difference"] == pytest.approx(0.1, abs=1e-12)


def test_repeated_cells_and_empty_inputs():
    cells = _cells(np.random.default_rng(5), n_animals=2, n_cells=3)
    fits = _fits(cells, {"net": 0.0, "net_untrained": 0.0})
    best = _best(fits)
    dup = pd.concat([fits, fits.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="model net, arena 1.0, map ridge, setting paper, layer g"
                                         " has 2 rows for repeated cells"):
        comparisons_table(dup, best, None, CONFIGS, BOOT)
    empty = comparisons_table(fits.iloc[:0], best.iloc[:0], None, CONFIGS, BOOT)
    assert empty.empty and list(empty.columns) == COMPARISON_COLUMNS
    assert ranking_table(empty).empty and resolved_adjacent_pairs(empty).empty
    assert comparison_notes(empty, "ridge") == []


def test_notes_say_which_differences_are_resolved():
    cells = _cells(np.random.default_rng(6))
    fits = _fits(cells, {"net": 0.04, "net_untrained": 0.0, "copy": 0.0399}, noise=0.02)
    floors = _floors(cells)
    t = comparisons_table(fits, _best(fits, floors), floors, CONFIGS, BOOT)
    text = "\n".join(comparison_notes(t, "ridge"))
    assert "trained vs untrained twin: net - net_untrained = +0.0" in text
    assert "resolved; p_bootstrap" in text and "3 of 3 models resolved" in text
    assert "1 of 2 adjacent pairs resolved" in text and " ~ " in text
    # beyond max_ranked models only the count is given
    assert ": net" not in "\n".join(comparison_notes(t, "ridge", max_ranked=2)).split("ranking")[-1]
    assert comparison_notes(t, "pls") == []


def test_table_intervals_depend_only_on_their_cells_and_bracket_the_median():
    from mec.summary.tables import aggregate_scores

    cells = _cells(np.random.default_rng(7))
    fits = _fits(cells, {"net": 0.0, "net_untrained": -0.05}, noise=0.05)
    one = aggregate_scores(fits[fits["source"] == "net"], ["source", "layer"], BOOT)
    both = aggregate_scores(fits.sample(frac=1.0, random_state=0), ["source", "layer"], BOOT)
    # another group beside it and another row order: the same interval
    pd.testing.assert_frame_equal(one, both[both["source"] == "net"].reset_index(drop=True))
    assert ((both["ci_low"] <= both["median"]) & (both["median"] <= both["ci_high"])).all()
    assert (both["ci_high"] - both["ci_low"] < 0.15).all()
    no_ci = aggregate_scores(fits, ["source", "layer"], bootstrap=False)
    np.testing.assert_array_equal(no_ci["median"], both["median"])
    assert no_ci["ci_low"].isna().all()
    # paired: a model against a copy of itself shifted by c has the interval [c, c] (a
    # model's own spread cancels), and the table interval of each is c apart
    shifted = _fits(cells, {"net": 0.0, "copy": 0.03}, noise=0.0)
    best = _best(shifted).set_index("model")
    t = comparisons_table(shifted, best.reset_index(), None, CONFIGS, BOOT)
    assert (t["model_a"].iloc[0], t["model_b"].iloc[0]) == ("copy", "net")  # a before b by name
    np.testing.assert_allclose(t[["difference", "ci_low", "ci_high"]].iloc[0], 0.03, atol=1e-12)
    np.testing.assert_allclose(best.loc["copy", ["ci_low", "ci_high"]].to_numpy(dtype=float),
                               best.loc["net", ["ci_low", "ci_high"]].to_numpy(dtype=float) + 0.03,
                               atol=1e-12)
