"""In-silico knockouts (mec.models.knockouts) on a tiny, briefly trained model."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("keras")

from mec.models.knockouts import (KNOCKOUT_COLUMNS, KnockoutEvaluator, knockout_groups,  # noqa: E402
                                  knockout_summary, knockout_table)

# small enough to train in ~15 s on one core, trained enough to path-integrate a little
TINY = dict(n_units=32, n_place_cells=32, batch_size=32, sequence_length=10, epochs=2,
            steps_per_epoch=40, learning_rate=0.01, train_arena=1.0, architecture="UGRNN")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from mec.models.train import train_model

    d = tmp_path_factory.mktemp("ko") / "tiny_ugrnn"
    train_model(TINY, d, verbose=0, workers=1)
    return d


@pytest.fixture(scope="module")
def model(model_dir):
    from mec.models.utils import load_run

    return load_run(model_dir)


def test_evaluator_matches_evaluate_decoding_error_and_zeroing_all_hurts(model):
    from mec.models.export import evaluate_decoding_error

    ev = KnockoutEvaluator(model, n_batches=3, seed=5)
    mask = np.ones(32)
    mask[:10] = 0
    box = {"box_width": 1.0, "box_height": 1.0}
    assert ev.error_cm(mask) == pytest.approx(evaluate_decoding_error(model, box, 3, 5, unit_mask=mask), rel=1e-5)
    assert ev.error_cm(None) == pytest.approx(evaluate_decoding_error(model, box, 3, 5), rel=1e-5)
    assert ev.error_cm(np.zeros(32)) > ev.error_cm(None) + 3.0  # cm
    # in another box both use that evaluation's place cells (redrawn there, as released)
    small = KnockoutEvaluator(model, n_batches=2, seed=5, box=(-0.25, 0.25, -0.25, 0.25))
    half = {"box_width": 0.5, "box_height": 0.5}
    assert small.error_cm(mask) == pytest.approx(evaluate_decoding_error(model, half, 2, 5, unit_mask=mask),
                                                 rel=1e-5)
    with pytest.raises(ValueError, match="shape"):
        ev.error_cm(np.ones(5))


def test_groups_from_scores():
    rng = np.random.default_rng(0)
    x, y = np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 20), indexing="ij")
    k = 2 * np.pi / 0.3
    grid = sum(np.cos(k * (np.cos(a) * x + np.sin(a) * y)) for a in (0, np.pi / 3, 2 * np.pi / 3))
    maps = np.stack([grid, grid.T, np.exp(-((x - 0.3) ** 2 + (y - 0.6) ** 2) / 0.02),
                     rng.random((20, 20)), np.zeros((20, 20))], -1)
    g = knockout_groups(maps, grid_threshold=0.3, heterogeneous="rest")
    assert set(g["grid"]) == {0, 1}
    assert set(g["heterogeneous"]) == {2, 3}  # the flat unit 4 is silent, in no group
    assert list(g["silent"]) == [4]


def test_knockout_table_groups_sizes_and_summary(model_dir, model):
    from mec.models.export import model_ratemaps
    from mec.ratemaps import make_edges

    # a threshold that splits this model's units, from the same maps knockout_table computes
    e = make_edges(-0.5, 0.5)
    g_maps = model_ratemaps(model, {"box_width": 1.0, "box_height": 1.0}, e, e, n_batches=4,
                            seeds=[0], layers=("g",))["g"]
    groups = knockout_groups(g_maps, grid_threshold=-np.inf, heterogeneous="rest")
    thr = float(np.nanmedian(groups["grid_score"]))
    n_grid = int(np.sum(groups["grid_score"] > thr))
    n_het = int(np.sum(np.isfinite(groups["grid_score"]))) - n_grid
    assert n_grid > 0 and n_het > 0

    table = knockout_table(model_dir, {"name": "tiny", "n_eval_batches": 4}, n_resamples=4,
                           n_batches=2, seed=0, grid_threshold=thr, heterogeneous="rest")
    assert list(table.columns) == KNOCKOUT_COLUMNS
    assert (table["group"] == "none").sum() == 1
    assert (table["group"] == "grid").sum() == 4 and (table["group"] == "heterogeneous").sum() == 4
    k = max(1, min(n_grid, n_het) // 2)
    zeroed = table[table["group"] != "none"]["n_units_zeroed"]
    assert (zeroed == k).all()
    assert set(table.loc[table["group"] == "grid", "group_size"]) == {n_grid}
    assert table["decoding_error_cm"].notna().all() and set(table["model"]) == {"tiny"}
    # a fixed seed gives the same table
    again = knockout_table(model_dir, {"name": "tiny", "n_eval_batches": 4}, n_resamples=4,
                           n_batches=2, seed=0, grid_threshold=thr, heterogeneous="rest")
    pd.testing.assert_frame_equal(table, again)

    s = knockout_summary(table)
    assert list(s["group"]) == ["none", "grid", "heterogeneous", "grid-heterogeneous"]
    row = s.set_index("group").loc["grid"]
    v = table.loc[table["group"] == "grid", "decoding_error_cm"]
    assert row["mean_cm"] == pytest.approx(v.mean())
    assert row["sem_cm"] == pytest.approx(v.std(ddof=1) / 2.0)  # sqrt(4)
    d = s.set_index("group").loc["grid-heterogeneous"]
    het = table.loc[table["group"] == "heterogeneous", "decoding_error_cm"].to_numpy()
    assert d["mean_cm"] == pytest.approx(np.mean(v.to_numpy() - het))


def test_empty_group_gives_nan_rows_with_a_warning(model_dir):
    with pytest.warns(UserWarning, match="rows of group 'grid' are NaN"):
        table = knockout_table(model_dir, {"name": "tiny", "n_eval_batches": 2}, n_resamples=2,
                               n_batches=1, grid_threshold=10.0, set_size=1)
    assert table.loc[table["group"] == "grid", "decoding_error_cm"].isna().all()
    assert table.loc[table["group"] == "heterogeneous", "decoding_error_cm"].notna().all()


def test_thresholds_come_from_the_cell_types_module():
    """One source for methods §5's thresholds: the knockout defaults are
    mec.scores.types' constants, not literals."""
    import inspect

    from mec.scores.types import BORDER_THRESHOLD, GRID_THRESHOLD

    for fn in (knockout_groups, knockout_table):
        params = inspect.signature(fn).parameters
        assert params["grid_threshold"].default is GRID_THRESHOLD
        assert params["border_threshold"].default is BORDER_THRESHOLD
    src = inspect.getsource(knockout_groups) + inspect.getsource(knockout_table)
    assert "= 0.3" not in src and "= 0.5" not in src


def test_silent_units_are_flat_maps_and_in_no_group():
    from mec.models.knockouts import silent_units

    rng = np.random.default_rng(1)
    maps = np.stack([rng.random((20, 20)), np.zeros((20, 20)), np.full((20, 20), 3.0),
                     np.full((20, 20), np.nan), rng.random((20, 20))], -1)
    maps[:, :, 4] *= 1e-6                            # weak but alive
    assert list(silent_units(maps)) == [False, True, True, True, False]
    g = knockout_groups(maps, heterogeneous="rest")
    assert list(g["silent"]) == [1, 2, 3]
    assert set(g["heterogeneous"]) | set(g["grid"]) == {0, 4}
    with pytest.raises(ValueError, match=r"\(20, 20\)"):
        silent_units(np.zeros((20, 20)))
