"""benchmarks/figure2_table.py: the Figure 2 table per setting from a run's per-cell tables
(docs/figure2.md). Known answers on hand-made fits: medians, ceiling and floor, and how many
adjacent and trained-vs-untrained pairs are resolved."""

import numpy as np
import pandas as pd
import pytest
from conftest import benchmark_module


@pytest.fixture(scope="module")
def table_mod():
    return benchmark_module("figure2_table")


def _net(arch, untrained):
    # as configs/figure2.yaml: the untrained networks use the 2.2 m box's place cells
    cfg = {"architecture": arch, "activation": "relu", "train_arena": 2.2 if untrained else 1.0}
    return {**cfg, "untrained": True} if untrained else cfg


MODELS = {"rnn_relu_untrained": _net("RNN", True), "rnn_relu_trained": _net("RNN", False),
          "gru_relu_untrained": _net("GRU", True), "gru_relu_trained": _net("GRU", False),
          "place_cells": {"baseline": "place_cells"}}


def _rows(source, scores, setting, layer="g"):
    rng_cells = [(f"m{a}", f"c{a}_{c}") for a in range(4) for c in range(10)]
    return pd.DataFrame({"arena": 1.0, "animal": [a for a, _ in rng_cells],
                         "cell_id": [c for _, c in rng_cells], "cell_type": "grid",
                         "source": source, "layer": layer, "map": "ridge", "setting": setting,
                         "score": scores})


def test_figure2_twins_by_name(table_mod):
    # by name, though the untrained networks' train_arena differs from the trained ones'
    assert table_mod.figure2_twins(MODELS) == {"rnn_relu_trained": "rnn_relu_untrained",
                                               "gru_relu_trained": "gru_relu_untrained"}


def test_table_from_fits_known_answers(table_mod, tmp_path):
    base = np.random.default_rng(0).uniform(0.0, 0.4, 40)
    # paper: every trained network above its twin by a constant, GRU above RNN by 0.2;
    # halves: GRU trained = RNN trained and GRU untrained = GRU trained (unresolved, [0, 0])
    scores = {"paper": {"rnn_relu_trained": base + 0.3, "rnn_relu_untrained": base,
                        "gru_relu_trained": base + 0.5, "gru_relu_untrained": base},
              "halves": {"rnn_relu_trained": base + 0.2, "rnn_relu_untrained": base,
                         "gru_relu_trained": base + 0.2, "gru_relu_untrained": base + 0.2}}
    (tmp_path / "fits").mkdir()
    for model in scores["paper"]:
        pd.concat([_rows(model, scores[s][model], s) for s in scores]).to_csv(
            tmp_path / "fits" / f"{model}_1.0.csv", index=False)
    (tmp_path / "consistency").mkdir()
    pd.concat([_rows("interanimal_holdout", np.full(40, c), s, "-")
               for s, c in (("paper", 0.9), ("halves", 0.5))]).to_csv(
        tmp_path / "consistency" / "1.0.csv", index=False)
    (tmp_path / "floors").mkdir()
    pd.concat([_rows("control_poisson", np.full(40, f), s, "-")
               for s, f in (("paper", 0.8), ("halves", 0.0))]).to_csv(
        tmp_path / "floors" / "1.0.csv", index=False)

    tables = table_mod.build_tables(tmp_path, "1.0", MODELS, {"n_boot": 200, "seed": 0})
    text = table_mod.figure2_markdown(tables, MODELS, 1.0, "ridge", ["paper", "halves"])
    lines = text.splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| ")}
    # each trained network's row: its median in both settings, the twin's, the difference
    med = np.median(base)
    gru = rows["gru_relu"]
    assert f"{med + 0.5:.3f}" in gru and f"{med + 0.2:.3f}" in gru and "+0.500" in gru
    assert "+0.000 [+0.000, +0.000] ~" in gru  # halves: identical scores, unresolved
    assert "+0.300" in rows["rnn_relu"] and "~" not in rows["rnn_relu"]

    def setting_row(name):
        return [c.strip() for c in rows[name].strip("|").split("|")]

    paper, halves = setting_row("paper"), setting_row("halves")
    assert paper[1:4] == ["0.900", "+0.800", "0.100"]       # ceiling, floor, ceiling - floor
    assert halves[1:4] == ["0.500", "+0.000", "0.500"]
    assert paper[6:] == ["1 of 1", "2 of 2 (2)"]               # adjacent; trained vs untrained
    assert halves[6:] == ["0 of 1", "1 of 2 (1)"]
    # the mean interval width is that of the trained networks' medians (best layer)
    b = tables["best_layer"]
    b = b[(b["setting"] == "halves") & b["model"].str.endswith("_trained")]
    assert float(halves[4]) == pytest.approx((b["ci_high"] - b["ci_low"]).mean(), abs=6e-4)
    # the power analysis: at the run's own 4 animals about the table's mean width, at 16
    # animals (4x the cells) about half of it; ceiling - floor as measured (0.5)
    proj = table_mod.projection_markdown(tmp_path, tables, MODELS, "1.0", "ridge", ["halves"],
                                         [4, 16], {"n_boot": 2000, "seed": 0})
    prow = {int(c[2]): [float(x) for x in c[3:5]] for c in
            ([x.strip() for x in line.strip("|").split("|")] for line in proj.splitlines()
             if line.startswith("| halves"))}
    assert prow[4][0] == pytest.approx(float(halves[4]), rel=0.25)
    assert prow[16][0] == pytest.approx(prow[4][0] / 2, rel=0.3)
    assert prow[16][1] == pytest.approx(prow[16][0] / 0.5, abs=2e-3)
    with pytest.raises(FileNotFoundError, match="per-cell fits"):
        table_mod.projection_markdown(tmp_path / "none", tables, MODELS, "1.0", "ridge",
                                      ["halves"], [4], {"n_boot": 10, "seed": 0})
    # no dataset beside the fits: nothing to correct, and --corrected says so
    with pytest.raises(ValueError, match="median_corrected"):
        table_mod.figure2_markdown(tables, MODELS, 1.0, "ridge", ["halves"], corrected=True)
