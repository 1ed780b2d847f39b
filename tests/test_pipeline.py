"""The fit stages as the workflow runs them (mec.fits.pipeline)."""

import numpy as np
import pandas as pd
import pytest

from mec.data import Dataset, save_dataset
from mec.fits.pipeline import fit_model, interanimal
from mec.ratemaps import EdgeMismatchError, make_edges, save_model_ratemaps

RIDGE = {"ridge": {"map_type": "sklinear", "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}}}


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    e = make_edges(-0.5, 0.5, bin_cm=10)
    shared = rng.normal(size=(10, 10, 4))
    data = {1.0: {}}
    for i, animal in enumerate(["a", "b", "c"]):
        mix = rng.normal(size=(4, 5))
        resp = shared @ mix + 0.3 * rng.normal(size=(10, 10, 5))
        resp -= resp.min()  # rates are never negative (contract); fits ignore the shift
        data[1.0][animal] = {"resp": resp, "cell_ids": np.array([f"{animal}{k}" for k in range(5)])}
    ds_path = save_dataset(tmp_path / "d.h5", Dataset(data, edges={1.0: (e, e)}))
    maps_path = save_model_ratemaps(tmp_path / "m_1.0.h5", {"g": shared}, e, e, {"model": "m"})
    bad_path = save_model_ratemaps(tmp_path / "bad.h5", {"g": shared}, e + 0.01, e, {"model": "m"})
    return tmp_path, ds_path, maps_path, bad_path


def test_fit_model_writes_tidy_table_and_refuses_other_bins(files):
    tmp, ds_path, maps_path, bad_path = files
    out = fit_model(ds_path, maps_path, "m", 1.0, RIDGE, tmp / "fit.csv", layers=["g"],
                    num_splits=3)
    table = pd.read_csv(out)
    assert len(table) == 15 and set(table["layer"]) == {"g"} and set(table["source"]) == {"m"}
    assert table["score"].median() > 0.8  # the cells are mixtures of the model's maps
    with pytest.raises(EdgeMismatchError, match="x bin edges differ"):
        fit_model(ds_path, bad_path, "m", 1.0, RIDGE, tmp / "bad.csv", layers=["g"])
    assert not (tmp / "bad.csv").exists()


def test_interanimal_adds_elasticnet_scores_from_the_grid(files):
    tmp, ds_path, _, _ = files
    rows = [{"arena": 1.0, "animal": a, "cell_id": f"{a}{k}", "split": s, "alpha": 1.0,
             "l1_ratio": 0.5, "cv_score": 0.5, "test_score": 0.1 * s + 0.01 * k}
            for a in "abc" for k in range(5) for s in range(2)]
    en = tmp / "en.csv"
    pd.DataFrame(rows).to_csv(en, index=False)
    table = pd.read_csv(interanimal(ds_path, 1.0, RIDGE, tmp / "c.csv", num_splits=2,
                                    elasticnet_tables=[en]))
    el = table[table["map"] == "elasticnet"].set_index("cell_id")["score"]
    assert len(el) == 15
    assert np.isclose(el["b3"], np.mean([0.03, 0.13]))  # mean of the grid's test scores
    assert set(table["map"]) == {"ridge", "elasticnet"}
    assert (table["layer"] == "-").all() and (table["source"] == "interanimal_holdout").all()
