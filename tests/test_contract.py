"""The dataset contract: HDF5 round trip and one clear error per kind of bad file."""

import h5py
import numpy as np
import pytest

from mec.data import Dataset, DatasetError, arena_key, load_dataset, save_dataset
from mec.ratemaps import make_edges


def _dataset(rng, arenas=(1.0,), animals=("m01", "m02"), n_cells=3):
    data, edges, info, truth, cell_info = {}, {}, {}, {}, {}
    for arena in arenas:
        e = make_edges(-arena / 2, arena / 2)
        n = len(e) - 1
        edges[arena] = (e, e.copy())
        info[arena] = {"size": arena, "shape": "square"}
        data[arena], truth[arena], cell_info[arena] = {}, {}, {}
        for animal in animals:
            resp = rng.gamma(2.0, 2.0, size=(n, n, n_cells))
            resp[0, 0, :] = np.nan  # an unvisited bin
            data[arena][animal] = {
                "resp": resp,
                "cell_ids": np.array([f"{arena}_{animal}_c{i}" for i in range(n_cells)]),
                "cell_types": np.array(["grid", "border", "heterogeneous"][:n_cells]),
            }
            truth[arena][animal] = resp * 0.5
            cell_info[arena][animal] = {"grid_score": rng.normal(size=n_cells)}
    return Dataset(data, edges=edges, arenas=info, attrs={"name": "t", "source": "test",
                                                           "provenance": {"seed": 1}},
                   truth=truth, cell_info=cell_info)


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ds = _dataset(rng, arenas=(1.0, 2.2))
    path = save_dataset(tmp_path / "d.h5", ds)
    back = load_dataset(path)
    assert sorted(back) == [1.0, 2.2]
    for arena in ds:
        np.testing.assert_array_equal(back.edges[arena][0], ds.edges[arena][0])
        # geometry attributes: width and height beside format 1's size and shape
        assert back.arenas[arena] == {"size": arena, "shape": "square", "width": arena,
                                      "height": arena}
        for animal, rec in ds[arena].items():
            np.testing.assert_array_equal(back[arena][animal]["resp"], rec["resp"])
            assert list(back[arena][animal]["cell_ids"]) == list(rec["cell_ids"])
            assert list(back[arena][animal]["cell_types"]) == list(rec["cell_types"])
            np.testing.assert_array_equal(back.truth[arena][animal], ds.truth[arena][animal])
            np.testing.assert_allclose(back.cell_info[arena][animal]["grid_score"],
                                       ds.cell_info[arena][animal]["grid_score"])
    assert back.attrs["source"] == "test"
    assert back.attrs["format"] == "mec-dataset"
    assert len(back.cells(1.0)) == 6
    # Reading one arena only.
    assert list(load_dataset(path, arenas=[2.2])) == [2.2]


def test_original_dict_form_is_plain_dict(tmp_path):
    rng = np.random.default_rng(1)
    ds = _dataset(rng)
    plain = {a: {k: dict(v) for k, v in animals.items()} for a, animals in ds.items()}
    save_dataset(tmp_path / "d.h5", plain, edges=ds.edges)
    back = load_dataset(tmp_path / "d.h5")
    assert isinstance(back, dict)
    assert set(back[1.0]["m01"]) == {"resp", "cell_ids", "cell_types"}


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    rng = np.random.default_rng(2)
    ds = _dataset(rng)
    ds[1.0]["m02"]["cell_ids"] = ds[1.0]["m01"]["cell_ids"]
    with pytest.raises(DatasetError):
        save_dataset(tmp_path / "d.h5", ds)
    assert list(tmp_path.iterdir()) == []


def _write_and_break(tmp_path, breaker):
    rng = np.random.default_rng(3)
    path = save_dataset(tmp_path / "bad.h5", _dataset(rng))
    with h5py.File(path, "a") as f:
        breaker(f)
    return path


def _replace(f, name, data):
    del f[name]
    f.create_dataset(name, data=data)


A = "arenas/1.0"
M = "arenas/1.0/animals/m01"
BAD_FILES = {
    "not a mec-dataset file": lambda f: f.attrs.__setitem__("format", "other"),
    "format_version 7": lambda f: f.attrs.__setitem__("format_version", 7),
    "no arenas": lambda f: f.__delitem__("arenas"),
    "missing x_edges": lambda f: f.__delitem__(f"{A}/x_edges"),
    "x_edges are not strictly increasing": lambda f: _replace(
        f, f"{A}/x_edges", np.linspace(0.5, -0.5, 21)),
    "y_edges contain non-finite": lambda f: _replace(
        f, f"{A}/y_edges", np.r_[np.nan, np.linspace(-0.45, 0.5, 20)]),
    "rate maps have 20 bins along x": lambda f: _replace(
        f, f"{A}/x_edges", np.linspace(-0.5, 0.5, 30)),
    "resp must be (nx, ny, n_cells)": lambda f: _replace(f, f"{M}/resp", np.ones((400, 3))),
    "2 cell_ids for 3 cells": lambda f: _replace(
        f, f"{M}/cell_ids", np.array([b"a", b"b"])),
    "is not unique": lambda f: _replace(f, f"{M}/cell_ids", np.array([b"x", b"y", b"x"])),
    "no animals": lambda f: f.__delitem__(f"{A}/animals"),
    "infinite values": lambda f: f[f"{M}/resp"].__setitem__((1, 1, 0), np.inf),
    # positions in cm read as metres give edges 100 times the arena
    "x_edges span 100 m but the arena's width (x) is 1 m (square, side 100 cm)": lambda f: _replace(
        f, f"{A}/x_edges", np.linspace(-50, 50, 21)),
    "y_edges span 0.5 m but the arena's height (y) is 1 m": lambda f: _replace(
        f, f"{A}/y_edges", np.linspace(-0.25, 0.25, 21)),
    "resp has 1 negative rate(s) (lowest -0.5 Hz)": lambda f: f[f"{M}/resp"].__setitem__(
        (1, 1, 0), -0.5),
    "rectangle needs ['height']": lambda f: (f[A].attrs.__setitem__("shape", "rectangle"),
                                            f[A].attrs.__delitem__("height")),
    "shape 'hexagon'": lambda f: f[A].attrs.__setitem__("shape", "hexagon"),
    "missing resp": lambda f: f.__delitem__(f"{M}/resp"),
    "2 cell_types for 3 cells": lambda f: _replace(
        f, f"{M}/cell_types", np.array([b"grid", b"grid"])),
}


@pytest.mark.parametrize("problem", sorted(BAD_FILES))
def test_bad_file_gives_clear_error(tmp_path, problem):
    path = _write_and_break(tmp_path, BAD_FILES[problem])
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    msg = str(err.value)
    assert problem in msg
    assert str(path) in msg
    if problem not in ("not a mec-dataset file", "format_version 7", "no arenas"):
        assert "arena 1.0" in msg
    if any(k in problem for k in ("resp", "cell_ids", "unique", "infinite", "cell_types",
                                  "negative")):
        assert "animal m01" in msg


def test_not_hdf5_and_missing(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("hello")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        load_dataset(bad)
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        load_dataset(tmp_path / "nope.h5")


def test_arena_keys():
    assert arena_key(1) == "1.0"
    assert arena_key("2.2") == "2.2"
    assert arena_key("big") == "big"             # a word names an arena too
    with pytest.raises(DatasetError, match="no '_'"):
        arena_key("big_box")                     # would parse two ways in {model}_{arena}
    with pytest.raises(DatasetError):
        arena_key(-1)


def test_any_spelling_finds_an_arena():
    rng = np.random.default_rng(4)
    ds = _dataset(rng)
    assert ds["1.0"] is ds[1.0] is ds[1]
    assert "1.0" in ds and 1 in ds.edges and "2.2" not in ds and "a_b" not in ds
    assert ds.geometry("1.0").width == 1.0


def test_named_rectangle_round_trip(tmp_path):
    """A word-named rectangular arena: string key, square 5 cm bins, geometry kept."""
    from mec.data.arenas import arena_edges, arena_geometry

    rng = np.random.default_rng(6)
    geom = arena_geometry("wide", {"shape": "rectangle", "width": 1.0, "height": 0.6})
    xe, ye, notes = arena_edges(geom, 5.0)
    assert notes == [] and (len(xe), len(ye)) == (21, 13)
    np.testing.assert_allclose(np.diff(xe), 0.05)
    np.testing.assert_allclose(np.diff(ye), 0.05)
    ds = Dataset({"wide": {"m01": {"resp": rng.gamma(2, 2, (20, 12, 2)),
                                   "cell_ids": np.array(["a", "b"])}}},
                 edges={"wide": (xe, ye)},
                 arenas={"wide": {"shape": "rectangle", "width": 1.0, "height": 0.6}})
    back = load_dataset(save_dataset(tmp_path / "r.h5", ds), arenas=["wide"])
    assert list(back) == ["wide"]
    assert back.arenas["wide"] == {"shape": "rectangle", "width": 1.0, "height": 0.6}
    assert back.geometry("wide").describe() == "rectangle 100 x 60 cm"
    with h5py.File(tmp_path / "r.h5") as f:
        assert list(f["arenas"]) == ["wide"]
    # Edges that span a square when the arena is a rectangle are refused.
    ds.edges["wide"] = (xe, np.linspace(-0.5, 0.5, 13))
    with pytest.raises(DatasetError, match=r"arena wide: y_edges span 1 m but the arena's "
                                           r"height \(y\) is 0.6 m"):
        save_dataset(tmp_path / "r2.h5", ds)


def test_make_dataset_imports_a_ready_file(tmp_path):
    from mec.data import make_dataset

    rng = np.random.default_rng(5)
    src = save_dataset(tmp_path / "src.h5", _dataset(rng, arenas=(1.0, 2.2)))
    out = make_dataset(tmp_path / "out.h5", source="hdf5", arenas={"1.0": {"shape": "square"}},
                       recordings={"paths": [str(src)]})
    back = load_dataset(out)
    assert list(back) == [1.0]
    np.testing.assert_array_equal(back[1.0]["m01"]["resp"], load_dataset(src)[1.0]["m01"]["resp"])
    with pytest.raises(ValueError, match="exactly one file"):
        make_dataset(tmp_path / "x.h5", source="hdf5", arenas={"1.0": {}}, recordings={})
    with pytest.raises(DatasetError, match=r"arena\(s\) \['3.0'\] not in file"):
        make_dataset(tmp_path / "x.h5", source="hdf5", arenas={"3.0": {}},
                     recordings={"paths": [str(src)]})
