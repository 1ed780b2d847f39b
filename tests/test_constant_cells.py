"""Cells with a constant rate map (mec.data.constant_cells): named per arena and animal with
their ids, counted in the summary, kept (scored NaN) or dropped by config."""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from mec.data import load_dataset, make_dataset, save_dataset
from mec.data.constant_cells import (DROPPED_ATTR, ConstantCellWarning, check_constant_cells,
                                     constant_cell_note, constant_cells, drop_cells)

sys.path.insert(0, str(Path(__file__).parent))
from test_reliability import _dataset, _without  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _with_constant_cells():
    ds = _dataset(n_animals=3, n_cells=4)
    ds[1.0]["rat1"]["resp"][..., 2] = 0.0          # all zeros (the corner bin stays NaN)
    ds[1.0]["rat1"]["resp"][0, 0, 2] = np.nan
    ds[1.0]["rat2"]["resp"][..., 0] = 3.5          # one rate everywhere
    ds[1.0]["rat2"]["resp"][0, 0, 0] = np.nan
    return ds


def test_constant_cells_are_found_and_only_they():
    ds = _with_constant_cells()
    assert constant_cells(ds) == {"1.0": {"rat1": ["rat1_c2"], "rat2": ["rat2_c0"]}}
    assert constant_cells(_dataset()) == {}
    ds[1.0]["rat0"]["resp"][..., 1] = 0.0
    ds[1.0]["rat0"]["resp"][5, 5, 1] = 1e-9        # a single spike is variance
    assert "rat0" not in constant_cells(ds)["1.0"]


def test_keep_warns_per_arena_and_animal_and_leaves_the_file(tmp_path):
    path = save_dataset(tmp_path / "d.h5", _with_constant_cells())
    before = path.read_bytes()
    with pytest.warns(ConstantCellWarning) as rec:
        found = check_constant_cells(path, "keep")
    msgs = [str(w.message) for w in rec]
    assert len(msgs) == 2
    assert "arena 1.0, animal rat1: 1 cell(s) with a constant rate map" in msgs[0]
    assert "'rat1_c2'" in msgs[0] and "kept, scored NaN" in msgs[0] and str(path) in msgs[0]
    assert "animal rat2" in msgs[1] and "'rat2_c0'" in msgs[1]
    assert found == {"1.0": {"rat1": ["rat1_c2"], "rat2": ["rat2_c0"]}}
    assert path.read_bytes() == before
    note = constant_cell_note(load_dataset(path))
    assert "kept and scored NaN: 2 in arena 1.0 (rat1: rat1_c2, rat2: rat2_c0); dropped: none" in note


def test_drop_removes_them_everywhere_and_records_them(tmp_path):
    ds = _with_constant_cells()
    path = save_dataset(tmp_path / "d.h5", ds)
    with pytest.warns(ConstantCellWarning, match="dropped from the dataset"):
        check_constant_cells(path, "drop")
    got = load_dataset(path)
    assert constant_cells(got) == {}
    assert list(got[1.0]["rat1"]["cell_ids"]) == ["rat1_c0", "rat1_c1", "rat1_c3"]
    ref = _without(ds, "rat1", "rat1_c2")
    np.testing.assert_array_equal(got[1.0]["rat1"]["resp"], ref["rat1"]["resp"])
    np.testing.assert_array_equal(got[1.0]["rat0"]["resp"], ds[1.0]["rat0"]["resp"])
    assert json.loads(got.attrs[DROPPED_ATTR]) == {"1.0": {"rat1": ["rat1_c2"], "rat2": ["rat2_c0"]}}
    assert "kept and scored NaN: none; dropped: 2 in arena 1.0" in constant_cell_note(got)
    with warnings.catch_warnings():  # nothing left to name
        warnings.simplefilter("error")
        assert check_constant_cells(path, "drop") == {}


def test_drop_filters_every_per_cell_array():
    from mec.data.synthetic import simulate_dataset

    ds = simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=2, cells_per_animal=(3, 3),
                          session_min=1.0, bin_cm=20.0, seed=7, progress=False)
    cid = str(ds[1.0]["m01"]["cell_ids"][1])
    out = drop_cells(ds, {"1.0": {"m01": [cid]}})
    keep = [0, 2]
    assert list(out[1.0]["m01"]["cell_ids"]) == [str(c) for c in np.asarray(ds[1.0]["m01"]["cell_ids"])[keep]]
    np.testing.assert_array_equal(out[1.0]["m01"]["cell_types"], np.asarray(ds[1.0]["m01"]["cell_types"])[keep])
    np.testing.assert_array_equal(out.truth[1.0]["m01"], np.asarray(ds.truth[1.0]["m01"])[..., keep])
    for col, v in ds.cell_info[1.0]["m01"].items():
        np.testing.assert_array_equal(out.cell_info[1.0]["m01"][col], np.asarray(v)[keep])
    np.testing.assert_array_equal(out.spike_counts[1.0]["m01"], np.asarray(ds.spike_counts[1.0]["m01"])[..., keep])
    np.testing.assert_array_equal(out[1.0]["m02"]["resp"], ds[1.0]["m02"]["resp"])


def test_drop_that_leaves_one_animal_is_refused(tmp_path):
    ds = _dataset(n_animals=2, n_cells=2)
    ds[1.0]["rat1"]["resp"][..., :] = 0.0
    path = save_dataset(tmp_path / "d.h5", ds)
    with pytest.warns(ConstantCellWarning), pytest.raises(ValueError, match="rat1|animal"):
        check_constant_cells(path, "drop")


def test_unknown_policy_is_named(tmp_path):
    path = save_dataset(tmp_path / "d.h5", _dataset())
    with pytest.raises(ValueError, match=r"dataset.constant_cells: 'remove' is not one of \['keep', 'drop'\]"):
        check_constant_cells(path, "remove")


@pytest.mark.parametrize("map_type,kw", [("corr", {}), ("pls", {"n_components": 2}),
                                         ("sklinear", {"regression_type": "Ridge", "alpha": 1.0})])
def test_a_kept_constant_cell_is_nan_and_changes_no_other_score(map_type, kw):
    """Why keep is a safe default: the constant cell scores NaN, and as a source it changes
    no other cell's score (to rounding)."""
    from mec.fits.core import interanimal_scores

    ds = _with_constant_cells()
    got = interanimal_scores(ds[1.0], map_type=map_type, map_kwargs=kw, train_frac=0.5, num_splits=2)
    assert np.isnan(got["rat1"][2]) and np.isnan(got["rat2"][0])
    ref = interanimal_scores(_without(ds, "rat1", "rat1_c2"), map_type=map_type, map_kwargs=kw,
                             train_frac=0.5, num_splits=2)
    np.testing.assert_allclose(got["rat0"], ref["rat0"], rtol=1e-12, atol=1e-12)


def test_make_dataset_applies_the_config_option(tmp_path):
    src = save_dataset(tmp_path / "ready.h5", _with_constant_cells())
    for policy, n_rat1 in (("keep", 4), ("drop", 3)):
        out = tmp_path / f"{policy}.h5"
        with pytest.warns(ConstantCellWarning):
            make_dataset(out, "hdf5", {"1.0": {"shape": "square"}}, bin_cm=10.0,
                         recordings={"paths": [str(src)]}, constant_cells=policy)
        assert len(load_dataset(out)[1.0]["rat1"]["cell_ids"]) == n_rat1


def test_schema_default_is_keep():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    key = schema["properties"]["dataset"]["properties"]["constant_cells"]
    assert key["default"] == "keep" and key["enum"] == ["keep", "drop"]
    assert "least surprising" in key["description"]
