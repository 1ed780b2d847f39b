"""Arena keys behave the same whatever their form: ``1.0``, ``1``, ``"1.0"`` name one arena,
``"wide"`` another, through the original API (get_fits -> unit_concat) and the fit tables.
Results are keyed as the dataset keys its arenas (mec.data.arenas.find_arena)."""

import itertools

import numpy as np
import pytest

from mec.data import Dataset
from mec.data.arenas import find_arena
from mec.ratemaps import make_edges

NUMERIC_FORMS = [1.0, "1.0", 1, "1.00", np.float64(1.0)]


def _animals(rng, nx, ny, n_animals=3, n_cells=4):
    base = rng.gamma(2.0, 2.0, size=(nx, ny, 5))
    out = {}
    for k in range(n_animals):
        resp = base @ rng.random((5, n_cells)) + rng.gamma(1.0, 0.5, size=(nx, ny, n_cells))
        out[f"rat{k}"] = {"resp": resp, "cell_ids": np.array([f"rat{k}_c{i}" for i in range(n_cells)])}
    return out


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(0)
    e1 = make_edges(-0.5, 0.5, bin_cm=10.0)
    ex, ey = make_edges(-0.5, 0.5, bin_cm=10.0), make_edges(-0.25, 0.25, bin_cm=10.0)
    return Dataset({1.0: _animals(rng, 10, 10), "wide": _animals(rng, 10, 5)},
                   edges={1.0: (e1, e1.copy()), "wide": (ex, ey)},
                   arenas={1.0: {"shape": "square", "size": 1.0},
                           "wide": {"shape": "rectangle", "width": 1.0, "height": 0.5}},
                   attrs={"name": "t", "source": "test"})


def _median(results, arena):
    from mec.neural_fits.utils import unit_concat

    return float(np.median(np.asarray(unit_concat(results, arena, inner_key="corr"), dtype=float)))


@pytest.fixture(scope="module")
def reference(ds):
    from mec.neural_fits.comparisons import get_fits

    res = get_fits(dataset=ds, arena_sizes=[1.0, "wide"], map_type="corr", num_splits=2)
    return res


def test_find_arena_matches_every_form():
    d = {1.0: "a", "wide": "b"}
    for form in NUMERIC_FORMS:
        assert find_arena(d, form) == 1.0 and isinstance(find_arena(d, form), float)
    assert find_arena(d, "wide") == "wide"
    assert find_arena({"1.0": 0}, 1.0) == "1.0"       # a plain dict keyed by text
    assert find_arena({"1.0": 0, 1.0: 1}, "1.0") == "1.0"  # the form asked, where both are there
    with pytest.raises(ValueError, match=r"arena 2.2 not in the dataset \(arenas: \[1.0, 'wide'\]\)"):
        find_arena(d, 2.2)
    with pytest.raises(ValueError, match=r"arena 'narrow' not in the results"):
        find_arena(d, "narrow", "the results")


@pytest.mark.parametrize("asked,concat", list(itertools.product(NUMERIC_FORMS, NUMERIC_FORMS)))
def test_get_fits_then_unit_concat_in_any_form(ds, reference, asked, concat):
    """Each pair of forms: get_fits(arena_sizes=[asked]) then unit_concat(.., concat)."""
    from mec.neural_fits.comparisons import get_fits

    res = get_fits(dataset=ds, arena_sizes=[asked], map_type="corr", num_splits=2)
    assert list(res) == [1.0] and isinstance(next(iter(res)), float)  # keyed as the dataset
    assert _median(res, concat) == _median(reference, 1.0)


def test_named_arena_in_any_call(ds, reference):
    from mec.neural_fits.comparisons import get_fits

    res = get_fits(dataset=ds, arena_sizes=["wide"], map_type="corr", num_splits=2)
    assert list(res) == ["wide"]
    assert _median(res, "wide") == _median(reference, "wide")
    with pytest.raises(ValueError, match=r"unit_concat: arena 'narrow' not in the results \(arenas: \['wide'\]\)"):
        _median(res, "narrow")
    with pytest.raises(ValueError, match=r"arena 'narrow' not in the dataset"):
        get_fits(dataset=ds, arena_sizes=["narrow"], map_type="corr", num_splits=2)


@pytest.mark.parametrize("data_key", [1.0, "1.0"])
@pytest.mark.parametrize("asked", [1.0, "1.0", 1])
def test_plain_dict_dataset_keeps_its_own_keys(ds, reference, data_key, asked):
    """A plain dict (the original's datasets) keyed either way; results keyed like it."""
    from mec.neural_fits.comparisons import get_fits

    plain = {data_key: {a: dict(rec) for a, rec in ds[1.0].items()}}
    res = get_fits(dataset=plain, arena_sizes=[asked], map_type="corr", num_splits=2)
    assert list(res) == [data_key] and type(next(iter(res))) is type(data_key)
    for concat in (1.0, "1.0"):
        assert _median(res, concat) == _median(reference, 1.0)


@pytest.mark.parametrize("resp_key,asked", list(itertools.product([1.0, "1.0"], [1.0, "1.0", 1])))
def test_model_resp_dict_in_any_form(ds, resp_key, asked):
    from mec.neural_fits.comparisons import get_fits

    maps = np.random.default_rng(1).gamma(2.0, 1.0, size=(10, 10, 6))
    want = get_fits(dataset=ds, model_resp=maps, arena_sizes=[1.0], map_type="corr", num_splits=2)
    got = get_fits(dataset=ds, model_resp={resp_key: maps}, arena_sizes=[asked], map_type="corr",
                   num_splits=2)
    assert list(got) == [1.0] and _median(got, asked) == _median(want, 1.0)


@pytest.mark.parametrize("form", [1.0, "1.0", 1])
def test_fit_tables_take_any_form(ds, form):
    """The pipeline's table builders on a plain dict keyed by text: same rows for each form."""
    from mec.fits.core import interanimal_table, model_fit_table
    from mec.fits.elasticnet import elasticnet_animal_table

    plain = {"1.0": {a: dict(rec) for a, rec in ds[1.0].items()}}
    maps = {"corr": {"map_type": "corr", "map_kwargs": {}}}
    ref = interanimal_table(ds, 1.0, maps, num_splits=2)
    got = interanimal_table(plain, form, maps, num_splits=2)
    np.testing.assert_array_equal(got["score"].to_numpy(), ref["score"].to_numpy())
    assert set(got["arena"]) == {1.0}
    model = {"g": np.random.default_rng(2).gamma(2.0, 1.0, size=(10, 10, 5))}
    a = model_fit_table(model, ds, 1.0, "m", maps, num_splits=2)
    b = model_fit_table(model, plain, form, "m", maps, num_splits=2)
    np.testing.assert_array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    en = elasticnet_animal_table(plain, form, "rat0", alphas=[0.1], l1_ratios=[0.5], num_splits=2)
    assert len(en) == 4 * 2
