"""Tests of mec.summary: summary numbers against hand computations, Markdown rendering,
figures written as valid PNGs, baselines in the Figure 2 tables, the dimensionality control,
the knockout table, and the missing-input policy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mec.dimensionality import participation_ratio
from mec.summary import TABLES, keys_from_paths, participation_ratios, summarize
from mec.summary import figures as figs
from mec.summary.tables import (
    DIMENSIONALITY_COLUMNS,
    KNOCKOUT_TABLE_COLUMNS,
    aggregate_scores,
    baseline_label,
    best_layer_table,
    by_cell_type_table,
    ceiling_table,
    cell_type_group,
    choose_map,
    dimensionality_correlation,
    dimensionality_table,
    figure2_long_table,
    figure2_table,
    knockouts_table,
    load_knockouts,
    load_scores,
    model_descriptor,
    predictivity_table,
    reference_ceiling,
    to_markdown,
    training_condition,
)

COLS = ["arena", "animal", "cell_id", "cell_type", "source", "layer", "map", "score"]
CONDITIONS_ = ["untrained", "trained", "generalization", "position_loss"]

# Two animals in arena 1.0. Holdout "ridge" scores, with one NaN (cell b3):
#   A: a1 .2 grid, a2 .4 grid, a3 .6 border           -> animal median .4
#   B: b1 .8 heterogeneous, b2 .9 head_direction, b3 NaN grid, b4 .5 border -> median .8
# all finite: [.2 .4 .5 .6 .8 .9] -> median .55; per-animal medians [.4 .8] -> median .6,
# q25 .5, q75 .7 (linear interpolation), min .4, max .8.
CELLS = [("A", "a1", "grid"), ("A", "a2", "grid"), ("A", "a3", "border"),
         ("B", "b1", "heterogeneous"), ("B", "b2", "head_direction"), ("B", "b3", "grid"),
         ("B", "b4", "border")]
HOLDOUT = [0.2, 0.4, 0.6, 0.8, 0.9, np.nan, 0.5]
PAIRWISE = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]  # lower, must never be the reference
ELASTIC = [0.3, 0.3, 0.3, 0.7, 0.7, 0.7, 0.7]   # median .7


def _rows(arena, source, layer, mapname, scores):
    return [(arena, a, c, t, source, layer, mapname, s) for (a, c, t), s in zip(CELLS, scores)]


def consistency_df():
    rows = (_rows(1.0, "interanimal_holdout", "-", "ridge", HOLDOUT)
            + _rows(1.0, "interanimal_pairwise", "-", "ridge", PAIRWISE)
            + _rows(1.0, "interanimal_holdout", "-", "elasticnet", ELASTIC))
    return pd.DataFrame(rows, columns=COLS)


# Model scores per layer ("ridge"): medians of the 7 cells (all finite).
FIT_SCORES = {
    ("ugrnn_relu", "pre_g"): [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],   # median .4
    ("ugrnn_relu", "g"): [0.3, 0.3, 0.3, 0.44, 0.5, 0.5, 0.5],      # median .44 (best)
    ("ugrnn_relu", "dc"): [0.0, 0.0, 0.1, 0.2, 0.9, 0.9, 0.9],      # median .2
    ("untrained", "pre_g"): [0.11] * 7,                             # tie with g -> pre_g
    ("untrained", "g"): [0.11] * 7,
    ("gru_gen", "g"): [0.33] * 7,
    ("pos", "g"): [0.22] * 7,
    ("velocity", "velocity"): [0.055] * 7,
    ("nmf100_data", "nmf"): [0.5] * 7,
    ("nmf9_box22", "nmf"): [0.15] * 7,
}
# What the schema's defaults add to every model config, baselines included (train_arena 2.2,
# loss place_cells, UGRNN, relu): a baseline must still be a "baseline", not "generalization".
SCHEMA_DEFAULTS = {"architecture": "UGRNN", "activation": "relu", "loss": "place_cells",
                   "train_arena": 2.2, "untrained": False, "cues": False, "reward_zone": False}
MODEL_CONFIGS = {
    "ugrnn_relu": {"architecture": "UGRNN", "activation": "relu", "loss": "place_cells", "train_arena": 1.0},
    "untrained": {"architecture": "UGRNN", "activation": "relu", "loss": "place_cells", "train_arena": 2.2,
                  "untrained": True},
    "gru_gen": {"architecture": "GRU", "activation": "tanh", "loss": "place_cells", "train_arena": 2.2},
    "pos": {"architecture": "UGRNN", "activation": "relu", "loss": "position", "train_arena": 2.2},
    "velocity": dict(SCHEMA_DEFAULTS, baseline="velocity"),
    "nmf100_data": dict(SCHEMA_DEFAULTS, baseline="nmf", n_components=100, baseline_arena="data"),
    "nmf9_box22": dict(SCHEMA_DEFAULTS, baseline="nmf", n_components=9, baseline_arena=2.2),
}


def fits_df(mapname="ridge"):
    rows = []
    for (model, layer), scores in FIT_SCORES.items():
        rows += _rows(1.0, model, layer, mapname, scores)
    return pd.DataFrame(rows, columns=COLS)


def _write_inputs(tmp_path, with_elastic_fits=False):
    cpath = tmp_path / "consistency" / "1.0.csv"
    cpath.parent.mkdir()
    consistency_df().to_csv(cpath, index=False)
    fpaths = []
    (tmp_path / "fits").mkdir()
    f = fits_df()
    if with_elastic_fits:
        f = pd.concat([f, fits_df("elasticnet")])
    for model, g in f.groupby("source"):
        p = tmp_path / "fits" / f"{model}_1.0.csv"
        g.to_csv(p, index=False)
        fpaths.append(p)
    return [cpath], fpaths


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
def test_ceiling_numbers_by_hand():
    ceil = ceiling_table(consistency_df())
    row = ceil[(ceil["map"] == "ridge") & (ceil["source"] == "interanimal_holdout")].iloc[0]
    assert row["ceiling"] == pytest.approx(0.55)
    assert row["animal_median"] == pytest.approx(0.6)
    assert row["animal_q25"] == pytest.approx(0.5)
    assert row["animal_q75"] == pytest.approx(0.7)
    assert (row["animal_min"], row["animal_max"]) == pytest.approx((0.4, 0.8))
    assert (row["n_cells"], row["n_nan"], row["n_animals"]) == (6, 1, 2)
    pair = ceil[ceil["source"] == "interanimal_pairwise"].iloc[0]
    assert pair["ceiling"] == pytest.approx(0.1) and pair["n_cells"] == 7
    # The reference ceiling prefers holdout over the (lower) pairwise estimate (methods §4.3).
    ref = reference_ceiling(ceil).set_index("map")
    assert ref.loc["ridge", "ceiling"] == pytest.approx(0.55)
    assert ref.loc["ridge", "ceiling_source"] == "interanimal_holdout"
    assert ref.loc["elasticnet", "ceiling"] == pytest.approx(0.7)


def test_reference_ceiling_falls_back_to_pairwise():
    c = consistency_df()
    c = c[c["source"] == "interanimal_pairwise"]
    ref = reference_ceiling(ceiling_table(c))
    assert ref["ceiling_source"].tolist() == ["interanimal_pairwise"]


def test_aggregate_all_nan_group():
    df = pd.DataFrame({"g": ["x", "x"], "animal": ["A", "B"], "score": [np.nan, np.nan]})
    out = aggregate_scores(df, ["g"]).iloc[0]
    assert np.isnan(out["median"]) and out["n_cells"] == 0 and out["n_nan"] == 2
    assert out["n_animals"] == 0 and np.isnan(out["animal_q25"])


def test_predictivity_fraction_and_best_layer():
    pred = predictivity_table(fits_df(), ceiling_table(consistency_df()), MODEL_CONFIGS)
    p = pred.set_index(["model", "layer"])
    assert p.loc[("ugrnn_relu", "pre_g"), "median"] == pytest.approx(0.4)
    assert p.loc[("ugrnn_relu", "g"), "median"] == pytest.approx(0.44)
    assert p.loc[("ugrnn_relu", "dc"), "median"] == pytest.approx(0.2)
    assert p.loc[("ugrnn_relu", "g"), "fraction_of_ceiling"] == pytest.approx(0.44 / 0.55)
    assert p.loc[("ugrnn_relu", "g"), "n_cells"] == 7
    # Per-animal medians of the g layer: A [.3 .3 .3] -> .3, B [.44 .5 .5 .5] -> .5.
    assert p.loc[("ugrnn_relu", "g"), "animal_min"] == pytest.approx(0.3)
    assert p.loc[("ugrnn_relu", "g"), "animal_max"] == pytest.approx(0.5)
    # Layers are listed in model order pre_g, g, dc.
    assert pred[pred["model"] == "ugrnn_relu"]["layer"].tolist() == ["pre_g", "g", "dc"]
    best = best_layer_table(pred).set_index("model")
    assert best.loc["ugrnn_relu", "best_layer"] == "g"
    assert best.loc["ugrnn_relu", "median"] == pytest.approx(0.44)
    assert best.loc["untrained", "best_layer"] == "pre_g"  # tie -> earlier layer
    assert best.loc["gru_gen", "fraction_of_ceiling"] == pytest.approx(0.33 / 0.55)
    assert best.loc["ugrnn_relu", "condition"] == "trained"


def test_training_condition_rules():
    assert training_condition(MODEL_CONFIGS["ugrnn_relu"], 1.0) == "trained"
    assert training_condition(MODEL_CONFIGS["ugrnn_relu"], 2.2) == "generalization"
    assert training_condition(MODEL_CONFIGS["untrained"], 2.2) == "untrained"
    assert training_condition(MODEL_CONFIGS["pos"], 2.2) == "position_loss"
    # Baselines are checked first: schema defaults give them train_arena 2.2.
    assert training_condition(MODEL_CONFIGS["velocity"], 1.0) == "baseline"
    assert training_condition(MODEL_CONFIGS["nmf9_box22"], 2.2) == "baseline"
    assert training_condition(dict(MODEL_CONFIGS["untrained"], baseline="nmf"), 2.2) == "baseline"
    assert training_condition({"architecture": "GRU"}, 1.0) == "any"  # no train_arena
    with pytest.raises(ValueError, match="train_arena"):
        training_condition({"train_arena": "big"}, 1.0)


def test_baseline_labels():
    # The 11 baselines of configs/figure2.yaml get 11 distinct labels.
    cfgs = [{"baseline": "velocity"},
            {"baseline": "place_cells", "n_place_cells": 512, "baseline_arena": "data"},
            {"baseline": "place_cells_mec", "baseline_arena": "data"}]
    cfgs += [{"baseline": "nmf", "n_components": k, "baseline_arena": box}
             for box in ("data", 2.2) for k in (9, 100, 256, 512)]
    labels = [baseline_label(dict(SCHEMA_DEFAULTS, **c)) for c in cfgs]
    assert labels[:3] == ["velocity", "place_cells", "place_cells_mec"]
    assert labels[3:5] == ["nmf k=9 (data arena)", "nmf k=100 (data arena)"]
    assert labels[-1] == "nmf k=512 (2.2 m)"
    assert len(set(labels)) == 11
    assert baseline_label({"baseline": "nmf", "n_components": 100}) == "nmf k=100 (data arena)"
    assert baseline_label({"baseline": "place_cells", "baseline_arena": 2.2}) == "place_cells (2.2 m)"
    d = model_descriptor("nmf9_box22", MODEL_CONFIGS["nmf9_box22"])
    assert d == {"architecture": "baseline", "activation": "nmf k=9 (2.2 m)", "variant": ""}
    with pytest.raises(ValueError, match="baseline_arena"):
        baseline_label({"baseline": "nmf", "baseline_arena": "box"})
    with pytest.raises(ValueError, match="baseline"):
        baseline_label({"architecture": "GRU"})


def test_cell_type_groups():
    got = cell_type_group(["grid", "Border", "heterogeneous", "head_direction", "weakly_spatial", np.nan])
    assert got.tolist() == ["grid", "border", "heterogeneous", "other", "other", "other"]


def test_by_cell_type_numbers():
    con, fits = consistency_df(), fits_df()
    best = best_layer_table(predictivity_table(fits, ceiling_table(con), MODEL_CONFIGS))
    t = by_cell_type_table(con, fits, best)
    key = ["kind", "source", "map", "layer", "cell_type"]
    t = t.set_index(key)
    # Holdout ridge: grid cells a1 .2, a2 .4 (b3 NaN) -> .3; border a3 .6, b4 .5 -> .55;
    # heterogeneous b1 .8; other (head_direction b2) .9.
    h = ("ceiling", "interanimal_holdout", "ridge", "-")
    assert t.loc[h + ("grid",), "median"] == pytest.approx(0.3)
    assert t.loc[h + ("grid",), "n_nan"] == 1
    assert t.loc[h + ("border",), "median"] == pytest.approx(0.55)
    assert t.loc[h + ("heterogeneous",), "median"] == pytest.approx(0.8)
    assert t.loc[h + ("other",), "median"] == pytest.approx(0.9)
    assert t.loc[h + ("grid",), "fraction_of_ceiling"] == pytest.approx(0.3 / 0.55)
    # ugrnn_relu layer g: grid cells a1 .3, a2 .3, b3 .5 -> .3; type ceiling .3 -> fraction 1.
    m = ("model", "ugrnn_relu", "ridge", "g", "grid")
    assert t.loc[m, "median"] == pytest.approx(0.3)
    assert t.loc[m, "type_ceiling"] == pytest.approx(0.3)
    assert t.loc[m, "fraction_of_type_ceiling"] == pytest.approx(1.0)
    assert t.loc[m, "fraction_of_ceiling"] == pytest.approx(0.3 / 0.55)
    assert bool(t.loc[m, "is_best_layer"]) is True
    assert bool(t.loc[("model", "ugrnn_relu", "ridge", "dc", "grid"), "is_best_layer"]) is False
    # border cells for layer g: a3 .3, b4 .5 -> .4 against type ceiling .55
    mb = ("model", "ugrnn_relu", "ridge", "g", "border")
    assert t.loc[mb, "fraction_of_type_ceiling"] == pytest.approx(0.4 / 0.55)


def test_choose_map():
    assert choose_map(["ridge", "elasticnet", "corr"]) == "elasticnet"
    assert choose_map(["corr", "ridge"]) == "ridge"
    assert choose_map(["pls", "corr"]) == "corr"
    assert choose_map([]) is None
    assert choose_map(["ridge", "corr"], "corr") == "corr"
    with pytest.raises(ValueError, match="pls"):
        choose_map(["ridge"], "pls")


def test_figure2_pivot():
    con = consistency_df()
    fits = pd.concat([fits_df(), fits_df("elasticnet")])
    # A second seed of the trained UGRNN-ReLU shares its cell: it must stay a separate row.
    extra = fits[fits["source"] == "ugrnn_relu"].assign(source="ugrnn_relu_s2")
    extra["score"] = extra["score"] + 0.01
    cfgs = dict(MODEL_CONFIGS, ugrnn_relu_s2=MODEL_CONFIGS["ugrnn_relu"])
    best = best_layer_table(predictivity_table(pd.concat([fits, extra]), ceiling_table(con), cfgs))
    long = figure2_long_table(best)
    assert set(long["map"]) == {"elasticnet"}  # preferred map
    wide = figure2_table(long, "median")
    assert list(wide.columns) == ["arena", "map", "architecture", "activation", "variant",
                                  "untrained", "trained", "generalization", "position_loss",
                                  "baseline", "ceiling", "floor"]
    w = wide.set_index(["architecture", "activation", "variant"])
    assert w.loc[("UGRNN", "relu", "ugrnn_relu"), "trained"] == pytest.approx(0.44)
    assert w.loc[("UGRNN", "relu", "ugrnn_relu_s2"), "trained"] == pytest.approx(0.45)
    assert w.loc[("UGRNN", "relu", ""), "untrained"] == pytest.approx(0.11)
    assert w.loc[("UGRNN", "relu", ""), "position_loss"] == pytest.approx(0.22)
    assert w.loc[("GRU", "tanh", ""), "generalization"] == pytest.approx(0.33)
    assert np.isnan(w.loc[("GRU", "tanh", ""), "trained"])
    # Each baseline has its own row, in the "baseline" column only.
    assert w.loc[("baseline", "velocity", ""), "baseline"] == pytest.approx(0.055)
    assert w.loc[("baseline", "nmf k=100 (data arena)", ""), "baseline"] == pytest.approx(0.5)
    assert w.loc[("baseline", "nmf k=9 (2.2 m)", ""), "baseline"] == pytest.approx(0.15)
    assert w.loc[w.index.get_level_values(0) == "baseline", CONDITIONS_].isna().all().all()
    # Rows: the paper's order (GRU before UGRNN), then the baselines (velocity, then NMF in
    # the data arena before the 2.2 m box).
    assert wide["architecture"].tolist() == ["GRU", "UGRNN", "UGRNN", "UGRNN",
                                             "baseline", "baseline", "baseline"]
    assert wide["activation"].tolist()[-3:] == ["velocity", "nmf k=100 (data arena)", "nmf k=9 (2.2 m)"]
    assert wide["ceiling"].iloc[0] == pytest.approx(0.7)  # elasticnet ceiling
    frac = figure2_table(long, "fraction_of_ceiling").set_index(["architecture", "activation", "variant"])
    assert frac.loc[("GRU", "tanh", ""), "generalization"] == pytest.approx(0.33 / 0.7)
    assert frac.loc[("baseline", "nmf k=100 (data arena)", ""), "baseline"] == pytest.approx(0.5 / 0.7)
    assert long["activation"].tolist()[-3:] == wide["activation"].tolist()[-3:]
    with pytest.raises(ValueError, match="value"):
        figure2_table(long, "mean")


def test_figure2_row_order_follows_the_paper():
    archs = ["UGRNN", "GRU", "RNN", "LSTM", "SRNN"]
    acts = ["relu", "sigmoid", "linear", "tanh"]
    cfgs = {f"{a}_{f}": {"architecture": a, "activation": f, "train_arena": 1.0, "loss": "place_cells"}
            for a in archs for f in acts}
    cfgs.update({f"nmf{k}_{b}": {"baseline": "nmf", "n_components": k, "baseline_arena": b}
                 for k in (512, 9, 100) for b in (2.2, "data")})
    cfgs["pc"] = {"baseline": "place_cells"}
    rows = []
    for i, m in enumerate(cfgs):
        rows += _rows(1.0, m, "g", "ridge", [0.01 * i] * 7)
    fits = pd.DataFrame(rows, columns=COLS)
    wide = figure2_table(figure2_long_table(best_layer_table(
        predictivity_table(fits, ceiling_table(consistency_df()), cfgs))))
    labels = list(zip(wide["architecture"], wide["activation"]))
    assert labels[:4] == [("RNN", "linear"), ("RNN", "tanh"), ("RNN", "sigmoid"), ("RNN", "relu")]
    assert [a for a, _ in labels[:20:4]] == ["RNN", "SRNN", "GRU", "LSTM", "UGRNN"]
    assert [f for _, f in labels[20:]] == [
        "place_cells", "nmf k=9 (data arena)", "nmf k=100 (data arena)", "nmf k=512 (data arena)",
        "nmf k=9 (2.2 m)", "nmf k=100 (2.2 m)", "nmf k=512 (2.2 m)"]


# ---------------------------------------------------------------------------
# Dimensionality control (methods §6)
# ---------------------------------------------------------------------------
def _pr_maps():
    """2 x 2-bin maps with hand-computable participation ratios. Flattened (C order):
    u1 = [1, -1, 0, 0], u2 = [0, 0, 1, -1] (centred, orthogonal, equal norm), u3 = 2 u1.
    layer g  = [u1, u2]:     eigenvalues equal -> PR 2;
    layer pre_g = [u1, u2, u3]: squared singular values 2(1 + 4) = 10 and 2 -> PR 12^2 / 104;
    layer dc = [u1]:         PR 1."""
    u1 = np.array([[1.0, -1.0], [0.0, 0.0]])
    u2 = np.array([[0.0, 0.0], [1.0, -1.0]])
    return {"pre_g": np.stack([u1, u2, 2 * u1], -1), "g": np.stack([u1, u2], -1),
            "dc": u1[:, :, None]}


PR_EXPECTED = {"pre_g": 144.0 / 104.0, "g": 2.0, "dc": 1.0}


def test_participation_ratios_from_files(tmp_path):
    from mec.ratemaps import save_model_ratemaps

    edges = (np.array([-0.5, 0.0, 0.5]), np.array([-0.5, 0.0, 0.5]))
    p1 = save_model_ratemaps(tmp_path / "ugrnn_relu_1.0.h5", _pr_maps(), *edges, {})
    p2 = save_model_ratemaps(tmp_path / "nmf100_data_1.0.h5", {"nmf": _pr_maps()["g"]}, *edges, {})
    pr = participation_ratios({("ugrnn_relu", 1.0): p1, ("nmf100_data", 1.0): p2})
    got = {(m, l): v for m, l, v in zip(pr["model"], pr["layer"], pr["participation_ratio"])}
    for layer, want in PR_EXPECTED.items():
        assert got[("ugrnn_relu", layer)] == pytest.approx(want)
    assert got[("nmf100_data", "nmf")] == pytest.approx(2.0)
    assert pr.set_index(["model", "layer"]).loc[("ugrnn_relu", "pre_g"), "n_units"] == 3
    assert participation_ratios({}).empty


def test_dimensionality_table_joins_pr_and_predictivity():
    con = consistency_df()
    pred = predictivity_table(fits_df(), ceiling_table(con), MODEL_CONFIGS)
    best = best_layer_table(pred)
    pr = pd.DataFrame([("ugrnn_relu", 1.0, l, n, PR_EXPECTED[l]) for l, n in
                       (("pre_g", 3), ("g", 2), ("dc", 1))]
                      + [("nmf100_data", 1.0000001, "nmf", 2, 2.0),   # float noise in the arena
                         ("no_fit", 1.0, "g", 4, 3.5)],
                      columns=["model", "arena", "layer", "n_units", "participation_ratio"])
    dim = dimensionality_table(pr, pred, best, "ridge", MODEL_CONFIGS)
    assert list(dim.columns) == DIMENSIONALITY_COLUMNS
    d = dim.set_index(["model", "layer"])
    assert d.loc[("ugrnn_relu", "g"), "participation_ratio"] == pytest.approx(2.0)
    assert d.loc[("ugrnn_relu", "g"), "median"] == pytest.approx(0.44)
    assert d.loc[("ugrnn_relu", "g"), "fraction_of_ceiling"] == pytest.approx(0.44 / 0.55)
    assert d.loc[("ugrnn_relu", "pre_g"), "median"] == pytest.approx(0.4)
    assert d.loc[("ugrnn_relu", "pre_g"), "participation_ratio"] == pytest.approx(144 / 104)
    assert d["is_best_layer"].sum() == best.shape[0]
    assert bool(d.loc[("ugrnn_relu", "g"), "is_best_layer"])
    assert not bool(d.loc[("ugrnn_relu", "dc"), "is_best_layer"])
    assert d.loc[("nmf100_data", "nmf"), "median"] == pytest.approx(0.5)
    assert d.loc[("nmf100_data", "nmf"), "condition"] == "baseline"
    assert d.loc[("nmf100_data", "nmf"), "activation"] == "nmf k=100 (data arena)"
    # A rate map without a fit, and a fit without rate maps, keep NaN for what they lack.
    assert np.isnan(d.loc[("no_fit", "g"), "median"]) and d.loc[("no_fit", "g"), "condition"] == "unknown"
    assert np.isnan(d.loc[("gru_gen", "g"), "participation_ratio"])
    assert dim[dim["model"] == "ugrnn_relu"]["layer"].tolist() == ["pre_g", "g", "dc"]
    # No map, no rate maps: the empty table keeps its columns.
    empty = dimensionality_table(pr.iloc[:0], pred.iloc[:0], best.iloc[:0], None)
    assert empty.empty and list(empty.columns) == DIMENSIONALITY_COLUMNS
    with pytest.raises(ValueError, match="participation_ratio"):
        dimensionality_table(pr.drop(columns="participation_ratio"), pred, best, "ridge")


def _dim_rows():
    """Best-layer rows of 4 networks and a baseline, plus rows the correlation must skip."""
    rows = [("n1", "pre_g", 1.0, 0.1, True, "UGRNN"), ("n2", "g", 2.0, 0.3, True, "GRU"),
            ("n3", "g", 4.0, 0.2, True, "LSTM"), ("n4", "g", 8.0, 0.4, True, "RNN"),
            ("b1", "nmf", 16.0, 0.05, True, "baseline"),
            ("n1", "g", 100.0, 0.01, False, "UGRNN"),       # not the best layer
            ("n5", "g", np.nan, 0.9, True, "UGRNN")]        # no rate maps
    df = pd.DataFrame(rows, columns=["model", "layer", "participation_ratio", "median",
                                     "is_best_layer", "architecture"])
    return df.assign(arena=1.0, map="ridge", condition="trained")


def test_dimensionality_correlation_by_hand():
    corr = dimensionality_correlation(_dim_rows()).set_index("models")
    # networks: PR ranks [1 2 3 4], median ranks [1 3 2 4]: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert corr.loc["networks", "n_models"] == 4
    assert corr.loc["networks", "spearman_rho"] == pytest.approx(0.8)
    # all: median ranks [2 4 3 5 1]: sum d^2 = 22, rho = 1 - 6 * 22 / (5 * 24) = -0.1
    assert corr.loc["all", "n_models"] == 5
    assert corr.loc["all", "spearman_rho"] == pytest.approx(-0.1)
    from scipy import stats
    assert corr.loc["all", "p_value"] == pytest.approx(
        stats.spearmanr([1, 2, 4, 8, 16], [0.1, 0.3, 0.2, 0.4, 0.05]).pvalue)
    # Fewer than three models: NaN, not an error.
    few = dimensionality_correlation(_dim_rows().iloc[:2]).set_index("models")
    assert np.isnan(few.loc["all", "spearman_rho"]) and few.loc["all", "n_models"] == 2


def test_dimensionality_scatter(tmp_path):
    dim = _dim_rows().assign(activation=["relu"] * 4 + ["nmf k=9 (data arena)", "relu", "relu"])
    corr = dimensionality_correlation(dim)
    out = figs.dimensionality_scatter(dim, 1.0, tmp_path / "d.png", ceiling=0.55, correlation=corr)
    _check_png(out)
    assert figs.dimensionality_scatter(dim, 2.2, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


# ---------------------------------------------------------------------------
# Knockouts
# ---------------------------------------------------------------------------
GRID_ERR = [40.0, 42.0, 47.0, 45.0]
HET_ERR = [31.0, 33.0, 32.0, 36.0]


def knockout_df(model="m", het=HET_ERR):
    rows = [(model, "none", 0, 0, 0, 30.0)]
    rows += [(model, "grid", r, 3, 5, e) for r, e in enumerate(GRID_ERR)]
    rows += [(model, "heterogeneous", r, 3, 8, e) for r, e in enumerate(het)]
    return pd.DataFrame(rows, columns=["model", "group", "resample", "n_units_zeroed",
                                       "group_size", "decoding_error_cm"])


def test_knockouts_table_by_hand(tmp_path):
    from scipy import stats

    p1, p2 = tmp_path / "m.csv", tmp_path / "a.csv"
    knockout_df("m").to_csv(p1, index=False)
    # Model "a" has no usable heterogeneous set (rows NaN, as knockout_table writes them).
    knockout_df("a", het=[np.nan] * 4).assign(
        n_units_zeroed=lambda d: np.where(d["group"] == "heterogeneous", 0, d["n_units_zeroed"])
    ).to_csv(p2, index=False)
    t = knockouts_table(load_knockouts([p1, p2]))
    assert list(t.columns) == KNOCKOUT_TABLE_COLUMNS
    assert t["model"].tolist() == ["a"] * 4 + ["m"] * 4  # sorted by model
    m = t[t["model"] == "m"].set_index("group")
    assert m.index.tolist() == ["none", "grid", "heterogeneous", "grid-heterogeneous"]
    # grid: mean 43.5; deviations -3.5 -1.5 3.5 1.5 -> var 29 / 3, sem sqrt(29 / 3) / 2
    assert m.loc["grid", "mean_cm"] == pytest.approx(43.5)
    assert m.loc["grid", "sem_cm"] == pytest.approx(np.sqrt(29 / 3) / 2)
    assert m.loc["heterogeneous", "mean_cm"] == pytest.approx(33.0)
    assert m.loc["heterogeneous", "sem_cm"] == pytest.approx(stats.sem(HET_ERR))
    assert (m.loc["grid", "n_resamples"], m.loc["grid", "set_size"], m.loc["grid", "group_size"]) == (4, 3, 5)
    assert m.loc["heterogeneous", "group_size"] == 8
    assert (m.loc["none", "n_resamples"], m.loc["none", "set_size"]) == (1, 0)
    assert m.loc["none", "mean_cm"] == pytest.approx(30.0) and np.isnan(m.loc["none", "sem_cm"])
    # differences per resample [9 9 15 9]: mean 10.5, sd 3, sem 1.5
    diff = m.loc["grid-heterogeneous"]
    assert diff["mean_cm"] == pytest.approx(10.5) and diff["sem_cm"] == pytest.approx(1.5)
    assert diff["set_size"] == 3 and diff["n_resamples"] == 4
    assert diff["p_welch"] == pytest.approx(stats.ttest_ind(GRID_ERR, HET_ERR, equal_var=False).pvalue)
    assert diff["p_welch"] < 0.01
    a = t[t["model"] == "a"].set_index("group")
    assert a.loc["heterogeneous", "n_resamples"] == 0 and np.isnan(a.loc["heterogeneous", "mean_cm"])
    assert np.isnan(a.loc["grid-heterogeneous", "p_welch"])
    # Markdown shows missing values as empty cells, not "<NA>".
    md = to_markdown(t)
    assert "<NA>" not in md and "nan" not in md.lower()


def test_knockouts_inputs():
    empty = knockouts_table(load_knockouts([]))
    assert empty.empty and list(empty.columns) == KNOCKOUT_TABLE_COLUMNS


def test_knockouts_input_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="ko.csv"):
        load_knockouts([tmp_path / "ko.csv"])
    bad = tmp_path / "bad.csv"
    knockout_df().drop(columns="decoding_error_cm").to_csv(bad, index=False)
    with pytest.raises(ValueError, match="decoding_error_cm"):
        load_knockouts([bad])
    knockout_df().replace({"group": {"grid": "border"}}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="border"):
        load_knockouts([bad])


def test_knockout_plot(tmp_path):
    ko = knockout_df("m")
    _check_png(figs.knockout_plot(ko, tmp_path / "k.png", knockouts_table(ko)))


def test_import_stays_light():
    # import mec.summary (and building the knockout table, which reuses
    # mec.models.knockouts) must not pull in Keras, TensorFlow or pyplot: the workflow's
    # dry run and the summary job import it.
    code = ("import sys, pandas as pd\n"
            "import mec.summary\n"
            "from mec.summary.tables import knockouts_table\n"
            "knockouts_table(pd.DataFrame({'model': ['m', 'm'], 'group': ['grid', 'heterogeneous'],"
            " 'resample': [0, 0], 'n_units_zeroed': [1, 1], 'group_size': [2, 2],"
            " 'decoding_error_cm': [1.0, 2.0]}))\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')"
            " or m == 'matplotlib.pyplot']\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_markdown_renders_numbers():
    df = pd.DataFrame({"arena": [2.2], "name": ["a|b"], "x": [0.123456], "y": [np.nan], "n": [3]})
    md = to_markdown(df).splitlines()
    assert md[0] == "| arena | name | x | y | n |"
    assert md[1] == "|---:|:---|---:|---:|---:|"
    assert md[2] == "| 2.2 | a\\|b | 0.123 |  | 3 |"


# ---------------------------------------------------------------------------
# summarize end to end (tables + figures)
# ---------------------------------------------------------------------------
def _fake_dataset():
    rng = np.random.default_rng(0)
    ds = {1.0: {}}
    for a, n in (("A", 3), ("B", 4)):
        resp = rng.random((20, 20, n)) * 5
        resp[0, 0, :] = np.nan
        ds[1.0][a] = {"resp": resp, "cell_ids": np.array([f"{a}{i}" for i in range(n)]),
                      "cell_types": np.array(["grid", "border", "heterogeneous", "weakly_spatial"][:n])}
    return ds


def _check_png(path):
    import matplotlib.image as mpimg

    assert path.exists() and path.stat().st_size > 1000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert np.ptp(img[..., :3]) > 0  # not a blank image


def test_summarize_end_to_end(tmp_path):
    from mec.data import save_dataset
    from mec.ratemaps import save_model_ratemaps

    cons, fits = _write_inputs(tmp_path, with_elastic_fits=True)
    edges = (np.linspace(-0.5, 0.5, 21), np.linspace(-0.5, 0.5, 21))
    ds_path = save_dataset(tmp_path / "ds.h5", _fake_dataset(), edges={1.0: edges})
    rng = np.random.default_rng(1)
    x = np.linspace(0, 6 * np.pi, 20)
    wave = (np.cos(x)[:, None] + np.cos(x)[None, :])[:, :, None]
    maps = {"pre_g": rng.random((20, 20, 5)), "g": wave + 0.1 * rng.random((20, 20, 5)),
            "dc": rng.random((20, 20, 3))}
    (tmp_path / "ratemaps").mkdir()
    rm_path = save_model_ratemaps(tmp_path / "ratemaps" / "ugrnn_relu_1.0.h5", maps, *edges,
                                  {"model": "ugrnn_relu"})
    hist = tmp_path / "models" / "ugrnn_relu" / "history.csv"
    hist.parent.mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [3.0, 2.0, 1.5],
                  "decoding_error_cm": [40.0, 20.0, 10.0]}).to_csv(hist, index=False)
    histories, ratemaps = keys_from_paths([hist], [rm_path], MODEL_CONFIGS)
    assert histories == {"ugrnn_relu": str(hist)}
    assert ratemaps == {("ugrnn_relu", 1.0): str(rm_path)}
    ko_path = tmp_path / "knockouts" / "ugrnn_relu.csv"
    ko_path.parent.mkdir()
    knockout_df("ugrnn_relu").to_csv(ko_path, index=False)

    out, figdir = tmp_path / "summary", tmp_path / "summary" / "figures"
    written = summarize(cons, fits, histories, MODEL_CONFIGS, ds_path, ratemaps, out, figdir,
                        units_shown=4, knockout_csvs=[ko_path])

    for name in TABLES:
        assert (out / f"{name}.csv").exists() and (out / f"{name}.md").exists()
    ceil = pd.read_csv(out / "ceiling.csv")
    r = ceil[(ceil["map"] == "ridge") & (ceil["source"] == "interanimal_holdout")].iloc[0]
    assert r["ceiling"] == pytest.approx(0.55)
    # The Markdown holds the CSV's numbers (3 decimals).
    assert "| 0.550 |" in (out / "ceiling.md").read_text()
    best = pd.read_csv(out / "best_layer.csv")
    b = best[(best["model"] == "ugrnn_relu") & (best["map"] == "ridge")].iloc[0]
    assert b["best_layer"] == "g" and b["fraction_of_ceiling"] == pytest.approx(0.8)
    assert "| 0.800 |" in (out / "best_layer.md").read_text()
    f2 = pd.read_csv(out / "figure2.csv")
    assert set(f2["map"]) == {"elasticnet"}
    assert "| 0.440 |" in (out / "figure2.md").read_text()
    summary = (out / "summary.md").read_text()
    assert "Figure 2 map: elasticnet" in summary and "| 0.550 |" in summary
    assert "- Constant cells (zero-variance rate maps" in summary  # mec.data.constant_cells

    # Baselines have their own rows in every Figure 2 table and in the Markdown.
    f2 = f2.set_index("activation")
    assert f2.loc["nmf k=100 (data arena)", "baseline"] == pytest.approx(0.5)
    assert f2.loc["nmf k=9 (2.2 m)", "baseline"] == pytest.approx(0.15)
    assert pd.read_csv(out / "figure2_fraction.csv").set_index("activation").loc[
        "velocity", "baseline"] == pytest.approx(0.055 / 0.7)
    long = pd.read_csv(out / "figure2_long.csv").set_index("model")
    assert long.loc["nmf9_box22", "condition"] == "baseline"
    assert long.loc["nmf9_box22", "activation"] == "nmf k=9 (2.2 m)"
    assert "| nmf k=9 (2.2 m) |" in (out / "figure2.md").read_text()

    # Dimensionality: PR of every layer of the rate-map file beside the elasticnet medians.
    dim = pd.read_csv(out / "dimensionality.csv")
    assert list(dim.columns) == DIMENSIONALITY_COLUMNS
    d = dim[dim["model"] == "ugrnn_relu"].set_index("layer")
    assert d.index.tolist() == ["pre_g", "g", "dc"]
    for layer, m in maps.items():
        assert d.loc[layer, "participation_ratio"] == pytest.approx(participation_ratio(m))
        assert d.loc[layer, "n_units"] == m.shape[-1]
    assert d.loc["g", "median"] == pytest.approx(0.44) and bool(d.loc["g", "is_best_layer"])
    assert d.loc["g", "fraction_of_ceiling"] == pytest.approx(0.44 / 0.7)
    assert set(dim["map"]) == {"elasticnet"}
    # Fitted models without rate maps keep their rows, PR NaN.
    assert np.isnan(dim.set_index("model").loc["gru_gen", "participation_ratio"])
    assert "Spearman rho between participation ratio" in summary

    # Knockouts: the table's numbers and the summary line.
    ko = pd.read_csv(out / "knockouts.csv")
    assert list(ko.columns) == KNOCKOUT_TABLE_COLUMNS
    assert ko["group"].tolist() == ["none", "grid", "heterogeneous", "grid-heterogeneous"]
    assert ko.set_index("group").loc["grid", "mean_cm"] == pytest.approx(43.5)
    assert "Knockouts of ugrnn_relu: grid - heterogeneous decoding error 10.5" in summary
    assert "| grid-heterogeneous |" in (out / "knockouts.md").read_text()
    # Model health: the trained network's rows (no untrained twin configured here) and the
    # scorer named in the summary.
    health = pd.read_csv(out / "model_health.csv")
    assert set(health["model"]) == {"ugrnn_relu"} and set(health["arena"]) == {1.0}
    assert "adaptive rings" in summary and "Model health of ugrnn_relu (untrained twin: none" in summary

    index = pd.read_csv(out / "figures.csv")
    assert sorted(index["kind"].unique()) == sorted(figs.FIGURE_KINDS)
    # 1 data gallery, 3 layers, 7 models' scatters, 1 distribution plot, 1 training curve,
    # 1 dimensionality scatter (arena 1.0), 1 knockout plot, 1 model-health figure, 1 headline.
    assert len(written) == len(index) == 1 + 3 + 7 + 1 + 1 + 1 + 1 + 1 + 1
    assert [str(p) for p in written] == index["path"].tolist()
    for rel in ("unit_gallery/ugrnn_relu_1.0_g.png", "scatter/ugrnn_relu_1.0.png",
                "data_ratemaps/1.0.png", "distributions/1.0.png", "training/ugrnn_relu.png",
                "dimensionality/1.0.png", "knockouts/ugrnn_relu.png", "model_health/ugrnn_relu.png"):
        assert figdir / rel in written
    for p in written:
        _check_png(p)


def test_keys_from_paths_errors():
    with pytest.raises(ValueError, match="not a configured model"):
        keys_from_paths(["r/models/other/history.csv"], [], ["m"])
    with pytest.raises(ValueError, match="not an arena"):
        keys_from_paths([], ["r/ratemaps/m_b@d.h5"], ["m"])
    assert keys_from_paths([], ["r/ratemaps/ugrnn_relu_2.2.h5"], ["ugrnn_relu"])[1] == {
        ("ugrnn_relu", 2.2): "r/ratemaps/ugrnn_relu_2.2.h5"}
    # arenas may be named by words (mec.data.arenas): the key is the name
    assert keys_from_paths([], ["r/ratemaps/ugrnn_relu_wide.h5"], ["ugrnn_relu"])[1] == {
        ("ugrnn_relu", "wide"): "r/ratemaps/ugrnn_relu_wide.h5"}


def test_summarize_without_fits_is_partial(tmp_path):
    cons, _ = _write_inputs(tmp_path)
    out, figdir = tmp_path / "s", tmp_path / "s" / "f"
    written = summarize(cons, [], {}, {}, None, {}, out, figdir)
    assert pd.read_csv(out / "ceiling.csv").shape[0] == 3
    for name in ("predictivity", "best_layer", "figure2", "figure2_long", "dimensionality",
                 "knockouts"):
        assert pd.read_csv(out / f"{name}.csv").empty
    # Header-only tables keep their columns, so readers downstream see the schema.
    assert list(pd.read_csv(out / "knockouts.csv").columns) == KNOCKOUT_TABLE_COLUMNS
    assert list(pd.read_csv(out / "dimensionality.csv").columns) == DIMENSIONALITY_COLUMNS
    assert "No knockout experiments" in (out / "summary.md").read_text()
    assert "No model fits yet" in (out / "summary.md").read_text()
    # Ceiling rows per type are still there.
    assert set(pd.read_csv(out / "by_cell_type.csv")["kind"]) == {"ceiling"}
    # The headline figure shows the ceiling (and floor) even without models.
    assert [p.parent.name for p in written] == ["headline", "distributions"]
    for kind in figs.FIGURE_KINDS:  # every declared folder exists
        assert (figdir / kind).is_dir()


def test_summarize_input_errors(tmp_path):
    cons, fits = _write_inputs(tmp_path)
    with pytest.raises(ValueError, match="consistency"):
        summarize([], fits, {}, {}, None, {}, tmp_path / "s", tmp_path / "f")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        summarize(cons, [tmp_path / "nope.csv"], {}, {}, None, {}, tmp_path / "s", tmp_path / "f")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"arena": [1.0], "score": [0.5]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="lacks column"):
        load_scores([bad], "fit")


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------
def test_rank_units_by_score():
    rng = np.random.default_rng(2)
    maps = rng.random((6, 6, 10))
    means = maps.mean(axis=(0, 1))
    units, scores, ok = figs.rank_units_by_score(maps, lambda m: float(m.mean()))
    assert ok and units.tolist() == np.argsort(-means).tolist()
    # Default scorer: mec.scores' grid score; a hexagonal pattern ranks above noise.
    k = [np.array([np.cos(a), np.sin(a)]) * 2 * np.pi / 0.3 for a in (0, np.pi / 3, 2 * np.pi / 3)]
    xy = np.stack(np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 20), indexing="ij"), -1)
    hexmap = sum(np.cos(xy @ kk) for kk in k)
    stack = np.random.default_rng(5).random((20, 20, 4))
    stack[:, :, 2] = hexmap
    units, scores, ok = figs.rank_units_by_score(stack)
    assert ok and units[0] == 2 and scores[0] > 0.3
    assert np.all(np.diff(scores) <= 0)
    # NaN scores go last; a subset of max_scored units is drawn with the seed, reproducibly.
    units, scores, _ = figs.rank_units_by_score(maps, lambda m: np.nan if m[0, 0] > 0.5 else 1.0)
    assert np.all(np.isfinite(scores[: np.isfinite(scores).sum()]))
    u1, _, _ = figs.rank_units_by_score(maps, lambda m: 0.0, max_scored=4, seed=3)
    u2, _, _ = figs.rank_units_by_score(maps, lambda m: 0.0, max_scored=4, seed=3)
    assert len(u1) == 4 and u1.tolist() == u2.tolist()
    with pytest.raises(ValueError, match="shape"):
        figs.rank_units_by_score(maps[:, :, 0])


def test_unit_gallery_without_scorer(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mec.scores", None)  # import fails -> unsorted
    maps = np.random.default_rng(4).random((8, 8, 5))
    units, scores, ok = figs.rank_units_by_score(maps)
    assert not ok and units.tolist() == list(range(5)) and np.isnan(scores).all()
    _check_png(figs.unit_gallery(maps, tmp_path / "u.png", title="test"))


def test_data_gallery_and_training_curves(tmp_path):
    ds = _fake_dataset()
    _check_png(figs.data_ratemap_gallery(ds, 1.0, tmp_path / "d.png", n_per_animal=3))
    with pytest.raises(ValueError, match="arena"):
        figs.data_ratemap_gallery(ds, 2.2, tmp_path / "x.png")
    h = pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5]})  # no decoding error column
    _check_png(figs.training_curves(h, tmp_path / "t.png", title="m"))
    with pytest.raises(ValueError, match="epoch"):
        figs.training_curves(pd.DataFrame({"loss": [1.0]}), tmp_path / "t2.png", title="m")


def test_pick_cells_covers_types():
    types_ = np.array(["grid", "grid", "grid", "border", "weakly_spatial", "heterogeneous"])
    assert figs._pick_cells(types_, 4) == [0, 3, 4, 5]
    assert figs._pick_cells(types_, 10) == list(range(6))


def test_figure_path_names():
    got = figs.figure_path("f", "unit_gallery", model="m", arena=2.2, layer="g")
    assert str(got) == "f/unit_gallery/m_2.2_g.png"
    assert str(figs.figure_path("f", "data_ratemaps", arena=1)) == "f/data_ratemaps/1.0.png"
    with pytest.raises(ValueError, match="kind"):
        figs.figure_path("f", "nope", arena=1.0)


def test_summarize_with_a_word_named_arena_beside_a_numeric_one(tmp_path):
    """Arenas named by words (mec.data.arenas, e.g. a rectangle "wide") go through every table
    and figure beside numeric ones; the tables then carry canonical names as text."""
    from mec.data import Dataset, save_dataset
    from mec.ratemaps import save_model_ratemaps

    cons, fits, rms = [], [], {}
    edges = {"1.0": (np.linspace(-0.5, 0.5, 21), np.linspace(-0.5, 0.5, 21)),
             "wide": (np.linspace(-0.5, 0.5, 21), np.linspace(-0.45, 0.45, 19))}
    rng = np.random.default_rng(2)
    data, arenas = {}, {"wide": {"shape": "rectangle", "width": 1.0, "height": 0.9}}
    for arena, (xe, ye) in edges.items():
        c = consistency_df().assign(arena=arena)
        f = fits_df().assign(arena=arena)
        f = f[f["source"].isin(["ugrnn_relu", "velocity"])]
        cons.append(tmp_path / f"c_{arena}.csv")
        c.to_csv(cons[-1], index=False)
        for model, g in f.groupby("source"):
            fits.append(tmp_path / f"{model}_{arena}.csv")
            g.to_csv(fits[-1], index=False)
        shape = (len(xe) - 1, len(ye) - 1)
        rms[("ugrnn_relu", arena)] = save_model_ratemaps(
            tmp_path / f"ugrnn_relu_{arena}.h5", {"g": rng.random(shape + (4,))}, xe, ye,
            {"model": "ugrnn_relu"})
        data[arena] = {a: {"resp": rng.random(shape + (2,)) * 3,
                           "cell_ids": np.array([f"{arena}{a}{i}" for i in range(2)])}
                       for a in ("A", "B")}
    ds_path = save_dataset(tmp_path / "ds.h5", Dataset(data, edges=edges, arenas=arenas))
    out, figdir = tmp_path / "summary", tmp_path / "summary" / "figures"
    written = summarize(cons, fits, {}, MODEL_CONFIGS, ds_path,
                        {(m, a): str(p) for (m, a), p in rms.items()}, out, figdir, units_shown=2)
    ceil = pd.read_csv(out / "ceiling.csv", dtype={"arena": str})
    assert set(ceil["arena"]) == {"1.0", "wide"}
    best = pd.read_csv(out / "best_layer.csv", dtype={"arena": str})
    wide = best[(best["arena"] == "wide") & (best["model"] == "ugrnn_relu")].iloc[0]
    assert wide["best_layer"] == "g" and wide["fraction_of_ceiling"] == pytest.approx(0.8)
    long = pd.read_csv(out / "figure2_long.csv", dtype={"arena": str}).set_index(["model", "arena"])
    # trained in 1.0 m: "trained" there, "generalization" in the rectangle
    assert long.loc[("ugrnn_relu", "1.0"), "condition"] == "trained"
    assert long.loc[("ugrnn_relu", "wide"), "condition"] == "generalization"
    names = {p.relative_to(figdir).as_posix() for p in written}
    assert {"data_ratemaps/wide.png", "scatter/ugrnn_relu_wide.png", "distributions/wide.png",
            "unit_gallery/ugrnn_relu_wide_g.png", "data_ratemaps/1.0.png"} <= names


# ---------------------------------------------------------------------------
# Model health (mec.summary.health)
# ---------------------------------------------------------------------------
def test_knockout_readings():
    from mec.summary.health import KNOCKOUT_READING, knockout_agrees

    assert KNOCKOUT_READING == "heterogeneous_as_involved"
    table = [(0.8, 0.001), (-0.3, 0.001), (0.3, 0.2), (-0.3, 0.2)]
    assert [knockout_agrees(d, p) for d, p in table] == [False, True, True, True]
    assert [knockout_agrees(d, p, "grid_matters_more") for d, p in table] == [True, False, False, False]
    assert knockout_agrees(np.nan, 0.01) is None
    with pytest.raises(ValueError, match="knockout reading 'grid' is not one of"):
        knockout_agrees(1.0, 0.01, "grid")


def test_untrained_twins():
    from mec.summary.health import untrained_twins

    base = {"architecture": "UGRNN", "activation": "relu", "seed": 0, "train_arena": 2.2,
            "n_units": 64, "scale": "demo"}
    cfgs = {"a": dict(base, name="a"), "a_u": dict(base, name="a_u", untrained=True),
            "a_u_seed1": dict(base, name="x", untrained=True, seed=1),
            "b": dict(base, name="b", activation="tanh"),
            "v": dict(base, baseline="velocity")}
    assert untrained_twins(cfgs) == {"a": "a_u", "b": None}


def test_model_health_table_by_hand(tmp_path):
    """The table's numbers are those of the rate-map files recomputed here: grid fractions
    under both scorer forms over live units, flat units counted dead, the decoding error
    and weight RMS from the files' attributes, the knockout difference from the table."""
    from mec.ratemaps import save_model_ratemaps
    from mec.scores import grid_scores
    from mec.summary.health import HEALTH_COLUMNS, model_health_table

    x, y = np.meshgrid(np.arange(20) + 0.5, np.arange(20) + 0.5, indexing="ij")

    def hexg(spacing, angle):
        k = 4 * np.pi / (np.sqrt(3) * spacing)
        return np.maximum(sum(np.cos(k * (np.cos(np.deg2rad(a + angle)) * x + np.sin(np.deg2rad(a + angle)) * y))
                              for a in (0, 60, 120)), 0)

    rng = np.random.default_rng(0)
    from scipy.ndimage import gaussian_filter
    smooth = [gaussian_filter(rng.standard_normal((20, 20)), 1.5) for _ in range(6)]
    trained = np.stack([hexg(6, 0), hexg(8, 20), hexg(7, 40)] + smooth[:3] + [np.zeros((20, 20))], -1)
    untrained = np.stack(smooth[3:] + [hexg(6, 10)] + [rng.random((20, 20)) for _ in range(3)], -1)
    edges = (np.linspace(-0.5, 0.5, 21),) * 2
    files = {}
    for name, maps, err, rms in (("net", trained, 5.0, 0.2), ("net_u", untrained, 90.0, 0.04)):
        files[(name, 1.0)] = save_model_ratemaps(
            tmp_path / f"{name}_1.0.h5", {"g": maps, "dc": maps[:, :, :2]}, *edges,
            {"model": name, "decoding_error_cm": err, "recurrent_rms": rms, "recurrent_norm": 10 * rms})
    cfg = {"architecture": "UGRNN", "activation": "relu", "train_arena": 1.0, "seed": 0}
    configs = {"net": dict(cfg, name="net"), "net_u": dict(cfg, name="net_u", untrained=True)}
    ko = pd.DataFrame({"model": ["net"], "group": ["grid-heterogeneous"], "mean_cm": [0.8],
                       "p_welch": [0.001]})
    t = model_health_table(configs, files, ko)
    assert list(t.columns) == HEALTH_COLUMNS
    t = t.set_index("measure")
    assert set(t["untrained_twin"]) == {"net_u"} and set(t["arena"]) == {1.0}
    assert t.loc["dead_g_units", "trained"] == 1 and t.loc["dead_g_units", "untrained"] == 0
    live = trained[:, :, :6]
    assert t.loc["grid_fraction_adaptive", "trained"] == pytest.approx(np.mean(grid_scores(live) > 0.3))
    assert t.loc["grid_fraction_mean_form", "trained"] == pytest.approx(
        np.mean(grid_scores(live, mode="mean") > 0.3))
    assert t.loc["grid_fraction_adaptive", "untrained"] == pytest.approx(
        np.mean(grid_scores(untrained) > 0.3))
    assert t.loc["grid_fraction_adaptive", "trained"] >= 0.5
    assert t.loc["decoding_error_cm", "trained"] == 5.0 and t.loc["decoding_error_cm", "untrained"] == 90.0
    assert t.loc["recurrent_rms", "trained"] == pytest.approx(0.2)
    assert t.loc["recurrent_norm", "untrained"] == pytest.approx(0.4)
    k = t.loc["knockout_grid_minus_heterogeneous_cm"]
    # grid units significantly more important: against "just as involved" (the default reading)
    assert k["trained"] == 0.8 and k["p_value"] == 0.001 and not bool(k["agrees"])
    for m in ("decoding_error_cm", "recurrent_rms", "grid_fraction_adaptive",
              "grid_fraction_mean_form"):
        assert bool(t.loc[m, "agrees"]), m
    assert not bool(t.loc["dead_g_units", "agrees"])        # 1 of 7 units is not "few" (< 10 %)
    assert pd.isna(t.loc["recurrent_norm", "agrees"])        # nothing expected
    # the wrong direction is called out
    from mec.summary.health import health_notes
    assert any("against the paper's direction: dead_g_units, knockout_grid_minus_heterogeneous_cm"
               in line for line in health_notes(t.reset_index()))
    # heterogeneous sets hurting more agrees; a non-significant difference too
    for diff, p in ((-0.3, 0.001), (0.3, 0.2)):
        ok = model_health_table(configs, files, ko.assign(mean_cm=[diff], p_welch=[p]))
        assert bool(ok.set_index("measure").loc["knockout_grid_minus_heterogeneous_cm", "agrees"])
    # without a twin and knockouts, the note counts what it judged and names what it could not
    lone = t.reset_index().copy()
    lone.loc[lone["measure"].isin(["decoding_error_cm", "grid_fraction_adaptive",
                                   "grid_fraction_mean_form",
                                   "knockout_grid_minus_heterogeneous_cm"]), "agrees"] = None
    lone.loc[lone["measure"] == "dead_g_units", "agrees"] = True
    note = [line for line in health_notes(lone) if line.startswith("- Model health")]
    assert note == ["- Model health of net (untrained twin: net_u): 2 of 6 measures judged, all "
                    "in the paper's direction; not judged: decoding_error_cm, "
                    "grid_fraction_adaptive, grid_fraction_mean_form, "
                    "knockout_grid_minus_heterogeneous_cm."], note
    # figure: trained above twin, a valid PNG
    from mec.summary.health import health_figures
    out = health_figures(configs, files, tmp_path / "figs")
    assert [(m, a) for m, a, _ in out] == [("net", 1.0)]
    _check_png(out[0][2])


def test_health_note_says_when_maps_are_not_from_the_training_box():
    from mec.summary.health import HEALTH_COLUMNS, health_notes

    rows = [{"model": "net", "untrained_twin": "net_u", "arena": a, "measure": "decoding_error_cm",
             "trained": 5.0, "untrained": 90.0, "p_value": np.nan,
             "expected": "lower than untrained", "agrees": True} for a in (1.0,)]
    t = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    note = [x for x in health_notes(t, {"net": {"train_arena": 2.2}}) if "Model health" in x][0]
    assert "Measured in arena 1.0, not in the 2.2 m training box" in note
    same = [x for x in health_notes(t, {"net": {"train_arena": 1.0}}) if "Model health" in x][0]
    assert "Measured in" not in same
    wide = [x for x in health_notes(t.assign(arena="wide"), {"net": {"train_arena": 1.0}})
            if "Model health" in x][0]
    assert "Measured in arena wide" in wide


def test_with_training_box_adds_the_box_and_refuses_a_clash():
    from mec.summary.health import _ratemap_file, with_training_box

    cfgs = {"net": {"train_arena": 2.2}, "net_u": {"train_arena": 2.2, "untrained": True}}
    data = {("net", 1.0): "net_1.0.h5", ("net_u", 1.0): "net_u_1.0.h5"}
    merged = with_training_box(data, {"net": "health/net.h5", "net_u": "health/net_u.h5"}, cfgs)
    assert merged[("net", 2.2)] == "health/net.h5" and merged[("net", 1.0)] == "net_1.0.h5"
    assert _ratemap_file("net", cfgs["net"], merged) == (2.2, "health/net.h5")  # box first
    assert _ratemap_file("net", cfgs["net"], data) == (1.0, "net_1.0.h5")       # else first
    assert with_training_box(data, None, cfgs) == data
    with pytest.raises(ValueError, match=r"model net: a training-box rate-map file"):
        with_training_box({("net", 2.2): "net_2.2.h5"}, {"net": "health/net.h5"}, cfgs)


def test_headline_figure_draws_a_model_with_seeds_as_its_mean_and_t_interval(tmp_path,
                                                                               monkeypatch):
    """Seeds of one model are one legend entry: the mean of the seeds' scores with the
    t-interval over seeds (the numbers of seeds.csv), each seed a small dot; a model without
    seeds keeps its own score and bootstrap interval."""
    from scipy import stats

    import mec.summary.figures as figures
    from mec.summary.headline import headline_figure

    shown = {}

    def keep(fig, out_path):
        shown["fig"] = fig
        return out_path

    monkeypatch.setattr(figures, "_save", keep)
    base = {"arena": "1.0", "setting": "halves", "map": "ridge", "ceiling": 0.40,
            "ceiling_ci_low": 0.35, "ceiling_ci_high": 0.45, "floor": 0.0, "floor_ci_low": -0.01,
            "floor_ci_high": 0.01, "layer": "g"}
    scores = {"net/seed0": 0.38, "net/seed1": 0.40, "net/seed2": 0.43, "other": 0.20}
    table = pd.DataFrame([{**base, "model": m, "score": v, "score_ci_low": v - 0.05,
                           "score_ci_high": v + 0.05, "normalized": v / 0.4}
                          for m, v in scores.items()])
    headline_figure(table, tmp_path / "h.png")
    ax = shown["fig"].axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["net (mean of 3 seeds)", "other"]
    x = np.array([0.38, 0.40, 0.43])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    # the error bars drawn: net's spans the t-interval over seeds, other's its own interval
    bars = [c for c in ax.collections if hasattr(c, "get_segments")]
    spans = sorted((round(float(seg[0][1]), 6), round(float(seg[1][1]), 6))
                   for c in bars for seg in c.get_segments())
    assert (round(x.mean() - half, 6), round(x.mean() + half, 6)) in spans
    assert (0.15, 0.25) in spans
    assert (0.33, 0.43) not in spans  # seed 0's own bootstrap interval is not drawn
