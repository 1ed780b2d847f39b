"""Real recordings in any arena: geometry, placement, the checks and their messages.

Real data: ../shared/data/sargolini2006 (read in place). The rectangular arena is made from
those recordings, cropped, in camera pixels with a different camera offset per rat, through
the generic layout exactly as docs/recordings.md "Bring your own recordings" describes.
"""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from mec.data import DatasetError, Dataset, load_dataset, make_dataset, save_dataset
from mec.data.loaders import RecordingError, Session, build_dataset, ingest_dataset
from mec.data.loaders.generic import load_generic
from mec.data.loaders.ingest import session_box_mask
from mec.data.loaders.kavli import load_kavli
from mec.ratemaps import spikes_to_ratemap
from mec.scores import grid_scores
from conftest import requires_shared

ROOT = Path(__file__).parents[1]
SARGOLINI = ROOT / ".." / "shared" / "data" / "sargolini2006"
CYLINDER = "11207-21060501+02"
PX_PER_M = 400.0
# where each rat's box sat in the camera image (m): the same box, filmed at other offsets
CAMERA = {"10073": (0.8, 0.6), "10704": (1.4, 0.7), "11207": (0.9, 1.3), "11343": (2.0, 1.1)}


@pytest.fixture(scope="module")
def box_sessions():
    requires_shared(SARGOLINI)
    return [s for s in load_kavli(SARGOLINI) if s.name != CYLINDER]


@pytest.fixture(scope="module")
def known_grid_cells(box_sessions):
    """Cells scoring > 0.3 in the square 1 m box they were recorded in."""
    ds = build_dataset(box_sessions, {"source": "kavli", "arenas": {"1.0": {}},
                                      "recordings": {"hd_shuffles": 10}})
    scores = {c: g for a in ds[1.0] for c, g in zip(ds[1.0][a]["cell_ids"],
                                                      ds.cell_info[1.0][a]["grid_score"])}
    grid = {c: g for c, g in scores.items() if g > 0.3}
    assert len(grid) == 8                         # of 11 box cells (docs/recordings.md: most are grid cells)
    return grid, ds


def write_generic(path, session: Session, positions, units="m", pixels_per_metre=None,
                  name=None, ids=None):
    """One session in the generic .npz layout (docs/recordings.md table), written by hand."""
    ids = list(ids if ids is not None else [c.split("_", 1)[-1] for c in session.cell_ids])
    extra = {} if pixels_per_metre is None else {"pixels_per_metre": np.array(pixels_per_metre)}
    np.savez(path, t=session.times, x=positions[:, 0], y=positions[:, 1],
             cell_ids=np.array(ids), spike_times=np.concatenate(session.spike_times),
             spike_offsets=np.cumsum([0] + [len(s) for s in session.spike_times]),
             animal=np.array(session.animal), session=np.array(name or session.name),
             position_units=np.array(units), **extra)
    return path


def test_rectangular_arena_keeps_square_bins_and_grid_cells(tmp_path, box_sessions,
                                                            known_grid_cells):
    """The case real recordings must pass: a 1.0 x 0.95 m rectangle (the box cropped at y = 45 cm), positions
    in camera pixels filmed at a different offset per rat: square 5 cm bins, and the known grid
    cells stay above 0.3."""
    grid, _ = known_grid_cells
    for s in box_sessions:
        pos = s.positions.copy()
        pos[pos[:, 1] > 0.45] = np.nan           # the rats never went beyond y = 45 cm
        pix = (pos + np.array(CAMERA[s.animal])) * PX_PER_M
        write_generic(tmp_path / f"{s.name}.npz", s, pix, units="px")
    cfg = {"name": "rect", "source": "generic", "bin_cm": 5.0,
           "arenas": {"wide": {"shape": "rectangle", "width": 1.0, "height": 0.95}},
           "recordings": {"paths": [str(tmp_path)], "pixels_per_metre": PX_PER_M,
                          "hd_shuffles": 10}}
    ds = load_dataset(ingest_dataset(tmp_path / "rect.h5", cfg))
    assert list(ds) == ["wide"]
    xe, ye = ds.edges["wide"]
    assert (len(xe) - 1, len(ye) - 1) == (20, 19)
    np.testing.assert_allclose(np.diff(xe), 0.05)  # square 5 cm bins on both axes
    np.testing.assert_allclose(np.diff(ye), 0.05)
    np.testing.assert_allclose([xe[0], xe[-1], ye[0], ye[-1]], [-0.5, 0.5, -0.475, 0.475])
    assert ds.arenas["wide"] == {"shape": "rectangle", "width": 1.0, "height": 0.95}
    scores = {c: g for a in ds["wide"] for c, g in zip(ds["wide"][a]["cell_ids"],
                                                         ds.cell_info["wide"][a]["grid_score"])}
    assert set(grid) <= set(scores)               # ids "<session>_<cell>", as the NWB loader's
    low = {c: round(float(scores[c]), 3) for c in grid if not scores[c] > 0.3}
    assert not low, f"known grid cells at or below 0.3 in the rectangle: {low}"
    # Each rat's camera offset was removed: its box's extent is centred on the arena.
    sessions = json.loads(ds.attrs["sessions"])
    for rec in sessions:
        mid = (np.array(rec["lo_m"]) + np.array(rec["hi_m"])) / 2
        np.testing.assert_allclose(mid, 0.0, atol=1e-12)
        assert rec["units"] == "px"


def test_padded_arena_bins_outside_a_sessions_box_are_nan(box_sessions, known_grid_cells):
    """A 1.0 x 1.5 m arena holding the 1 m box: the 10 rows beyond the box are NaN (no data),
    not 0 Hz, so the grid scores are those of the square box; filled with 0 they collapse."""
    grid, square = known_grid_cells
    ds = build_dataset(box_sessions, {"source": "kavli", "recordings": {"hd_shuffles": 10},
                                      "arenas": {"tall": {"shape": "rectangle", "width": 1.0,
                                                          "height": 1.5}}})
    xe, ye = ds.edges["tall"]
    assert (len(xe) - 1, len(ye) - 1) == (20, 30)
    rec = ds["tall"]["10073"]
    assert np.isnan(rec["resp"][:, :5]).all() and np.isnan(rec["resp"][:, 25:]).all()
    assert np.isfinite(rec["resp"][:, 5:25]).all()
    np.testing.assert_allclose(rec["resp"][:, 5:25], square[1.0]["10073"]["resp"])
    ids = list(rec["cell_ids"])
    keep = [i for i, c in enumerate(ids) if c in grid]
    assert (grid_scores(rec["resp"])[keep] > 0.3).all()
    zero = np.nan_to_num(rec["resp"])           # what 0 Hz outside the box would do
    assert (grid_scores(zero)[keep] > 0.3).sum() < len(keep)


def _shifted(s: Session, shift) -> Session:
    return dataclasses.replace(s, positions=s.positions + np.asarray(shift))


def test_sessions_filmed_at_offsets_are_placed_in_the_arena(box_sessions):
    s = next(x for x in box_sessions if x.animal == "10704")
    t = next(x for x in box_sessions if x.animal == "11343")
    arenas = {"1.0": {}}
    base = build_dataset([s, t], {"source": "kavli", "arenas": arenas,
                                  "recordings": {"hd_shuffles": 10}})
    moved = build_dataset([_shifted(s, (0.7, -0.3)), t],
                          {"source": "kavli", "arenas": arenas, "recordings": {"hd_shuffles": 10}})
    np.testing.assert_allclose(moved[1.0]["10704"]["resp"], base[1.0]["10704"]["resp"],
                               atol=1e-12)
    with pytest.raises(RecordingError, match=r"session 10704-07070407 .*positions run over x "
                                             r"20 to 120 cm.*not in the arena's frame; set "
                                             r"recordings.align: center, or give "
                                             r"recordings.offsets"):
        build_dataset([_shifted(s, (0.7, -0.3)), t],
                      {"source": "kavli", "arenas": arenas, "recordings": {"align": "none"}})
    fixed = build_dataset([_shifted(s, (0.7, -0.3)), t],
                          {"source": "kavli", "arenas": arenas,
                           "recordings": {"align": "none", "hd_shuffles": 10,
                                          "offsets": {"10704-*": [-0.7, 0.3]}}})
    np.testing.assert_allclose(fixed[1.0]["10704"]["resp"], base[1.0]["10704"]["resp"],
                               atol=1e-9)


@pytest.mark.parametrize("scale,units,expect", [
    (100.0, "m", r"positions span 10000.0 x 9907.6 cm \(x x y\) but arena '1.0' is a square, "
                 r"side 100 cm: 100 times its width .*centimetres read as m: set "
                 r"recordings.position_units: cm"),
    (400.0, "m", r"400 times its width .*camera pixels\? set recordings.position_units: px "
                 r"and recordings.pixels_per_metre"),
    (0.01, "cm", r"0.00991 times its height .*metres read as cm: set "
                 r"recordings.position_units: m"),
    (0.4, "m", r"0.396 times its height .*check the arena's size in dataset.arenas"),
])
def test_unit_mistakes_are_refused_naming_the_session(box_sessions, scale, units, expect):
    s = next(x for x in box_sessions if x.animal == "10704")
    wrong = dataclasses.replace(s, positions=s.positions * scale, units=units)
    with pytest.raises(RecordingError, match=r"session 10704-07070407 \(.*\): .*" + expect):
        build_dataset([wrong, box_sessions[0]], {"source": "generic", "arenas": {"1.0": {}}})


def test_pixels_need_a_calibration(tmp_path, box_sessions):
    s = next(x for x in box_sessions if x.animal == "10704")
    f = write_generic(tmp_path / "a.npz", s, s.positions * PX_PER_M, units="px")
    with pytest.raises(RecordingError, match=r"a.npz: positions are in camera pixels but no "
                                             r"calibration is given: set "
                                             r"recordings.pixels_per_metre"):
        load_generic(f)
    (back,) = load_generic(f, pixels_per_metre=PX_PER_M)
    np.testing.assert_allclose(back.positions, s.positions, equal_nan=True)
    g = write_generic(tmp_path / "b.npz", s, s.positions * 250.0, units="px", pixels_per_metre=250)
    (own,) = load_generic(g)                      # the file's own calibration
    np.testing.assert_allclose(own.positions, s.positions, equal_nan=True)


def _toy(name, animal, seed, n=15000, ids=("c0", "c1"), spikes=None):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.02
    pos = np.cumsum(rng.normal(0, 0.02, (n, 2)), 0)
    pos = np.abs((pos + 0.5) % 2.0 - 1.0) - 0.5   # reflect into a 1 m box centred on 0
    spikes = spikes if spikes is not None else [np.sort(rng.uniform(0, t[-1], 400))
                                                for _ in ids]
    return Session(name=name, animal=animal, times=t, positions=pos,
                   cell_ids=[f"{name}_{i}" for i in ids], spike_times=spikes)


def test_generic_ids_are_made_unique_like_nwb(tmp_path):
    a, b = _toy("s1", "ratA", 0), _toy("s2", "ratB", 1)
    write_generic(tmp_path / "a.npz", a, a.positions, ids=["t1c1", "t2c1"])
    write_generic(tmp_path / "b.npz", b, b.positions, ids=["t1c1", "t2c1"])   # same raw ids
    sessions = load_generic(tmp_path)
    assert [s.cell_ids for s in sessions] == [["s1_t1c1", "s1_t2c1"], ["s2_t1c1", "s2_t2c1"]]
    # Two files that call their session the same: the ids collide; refused naming both files.
    write_generic(tmp_path / "c.npz", b, b.positions, ids=["t1c1", "t9c9"], name="s1")
    with pytest.raises(RecordingError, match=r"cell id 's1_t1c1' appears in session s1 "
                                             r"\(.*a.npz\) and in session s1 \(.*c.npz\)"):
        build_dataset(load_generic(tmp_path), {"source": "generic", "arenas": {"1.0": {}}})


def test_spikes_outside_the_tracking_window_and_empty_cells(caplog):
    rng = np.random.default_rng(5)
    t_end = 15000 * 0.02
    inside = np.sort(rng.uniform(0, t_end, 500))
    late = np.r_[inside[:400], t_end + 1 + np.arange(20.0)]       # 20 spikes after tracking
    shifted = inside + 2 * t_end                                   # all spikes outside
    a = _toy("s1", "ratA", 0, ids=("c0", "c1", "c2", "c3"),
             spikes=[inside, late, shifted, np.zeros(0)])
    b = _toy("s2", "ratB", 1)
    cfg = {"source": "generic", "arenas": {"1.0": {}}, "recordings": {"hd_shuffles": 10}}
    with caplog.at_level(logging.WARNING, logger="mec.data.loaders.ingest"):
        ds = build_dataset([a, b], cfg)
    assert list(ds[1.0]["ratA"]["cell_ids"]) == ["s1_c0", "s1_c1"]      # c2, c3 dropped
    np.testing.assert_array_equal(ds.cell_info[1.0]["ratA"]["n_spikes_outside"], [0, 20])
    warns = json.loads(ds.attrs["warnings"])
    assert warns == [w for w in caplog.messages]   # every warning logged and kept in the file
    assert any("session s1: 520 of 1420 spikes fall outside the tracking window 0-299.98 s"
               in w for w in warns)
    assert any("cell s1_c2 has no spike at a tracked position inside the tracking window "
               "(500 spikes in all); dropped" in w for w in warns)
    assert any("cell s1_c3" in w and "(0 spikes in all)" in w for w in warns)
    with pytest.raises(RecordingError, match=r"session s1 \(<memory>\): cell\(s\) \['s1_c2', "
                                             r"'s1_c3'\] have no spike .*empty_cells: drop"):
        build_dataset([a, b], {**cfg, "recordings": {"empty_cells": "error"}})
    # Most spikes outside: another clock or unit (ms), not a few late spikes.
    ms = _toy("s3", "ratC", 2, spikes=[inside * 1000, inside * 1000])
    with pytest.raises(RecordingError, match=r"session s3 \(<memory>\): 996 of its 1000 spikes "
                                             r"\(100%\) fall outside the tracking window .*one "
                                             r"clock, in seconds"):
        build_dataset([ms, b], cfg)


def test_an_arena_with_one_animal_is_refused_everywhere(tmp_path):
    """make_dataset (all sources), interanimal and elasticnet_grid give the same error."""
    from mec.fits.elasticnet import run_elasticnet_grid
    from mec.fits.pipeline import interanimal

    a, b = _toy("s1", "ratA", 0), _toy("s2", "ratA", 1)
    cfg = {"source": "generic", "arenas": {"1.0": {}}, "recordings": {"hd_shuffles": 10}}
    with pytest.raises(ValueError, match=r"arena '1.0': recordings of 1 animal\(s\) \(ratA; "
                                         r"sessions \['s1', 's2'\]\).*at least 2 animals"):
        build_dataset([a, b], cfg)
    one = build_dataset([a, b], cfg, min_animals=1)
    path = save_dataset(tmp_path / "one.h5", one)   # the contract allows it; the workflow not
    expect = r"arena '1.0' has 1 animal\(s\) \(ratA\); the noise ceiling"
    with pytest.raises(ValueError, match=expect):
        make_dataset(tmp_path / "out.h5", "hdf5", {"1.0": {}}, recordings={"paths": [str(path)]})
    with pytest.raises(ValueError, match=expect):
        interanimal(path, "1.0", {"r": {"map_type": "corr"}}, tmp_path / "c.csv")
    with pytest.raises(ValueError, match=expect):
        run_elasticnet_grid(path, 1.0, "ratA", num_splits=1, progress=False)
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "c.csv").exists()


def test_make_dataset_log_reads_like_a_report(tmp_path, caplog):
    a, b = _toy("s1", "ratA", 0), _toy("s2", "ratB", 1)
    write_generic(tmp_path / "a.npz", a, a.positions * 100, units="cm")
    write_generic(tmp_path / "b.npz", b, b.positions)
    with caplog.at_level(logging.INFO):
        out = make_dataset(tmp_path / "d.h5", "generic", {"box": {"size": 1.0}}, bin_cm=5.0,
                           recordings={"paths": [str(tmp_path / "a.npz"),
                                                 str(tmp_path / "b.npz")], "hd_shuffles": 10},
                           name="toy")
    text = "\n".join(caplog.messages)
    assert f"dataset toy (source generic) -> {out}" in text
    assert "arena box: square, side 100 cm; 20 x 20 bins of 5 x 5 cm; edges x -50..50 cm" in text
    assert "session s1 (animal ratA, read in cm): extent" in text
    assert "cm into the arena's frame, coverage" in text
    assert "0/800 spikes outside the tracking window" in text
    assert "2 animals, 4 cells; per type {" in text and "bins without data (NaN)" in text
    assert text.rstrip().endswith("warnings: 0")


def test_load_dataset_refuses_edges_that_are_not_the_arena(tmp_path):
    """Positions in cm labelled metres once gave 100 m edges for arena '1.0'."""
    e = np.linspace(-50, 50, 21)
    ds = Dataset({1.0: {"a": {"resp": np.ones((20, 20, 1)), "cell_ids": np.array(["x"])}}},
                 edges={1.0: (e, e)})
    with pytest.raises(DatasetError, match=r"arena 1.0: x_edges span 100 m but the arena's "
                                           r"width \(x\) is 1 m \(square, side 100 cm\), 100 "
                                           r"times it.*position_units"):
        save_dataset(tmp_path / "x.h5", ds)


def test_session_box_mask():
    xe = ye = np.linspace(-0.5, 0.5, 21)
    pos = np.array([[-0.18, -0.5], [0.18, 0.08]])
    m = session_box_mask(pos, xe, ye)
    assert m.shape == (20, 20)
    assert m[6:14, 0:12].all() and m.sum() == 8 * 12
    # a session running past the arena's edge keeps the outermost bins
    assert session_box_mask(np.array([[-0.6, -0.6], [0.6, 0.6]]), xe, ye).all()


def test_ratemap_of_a_placed_session_is_the_recipe(box_sessions):
    """align: center subtracts the extent's middle; the map is spikes_to_ratemap's, with NaN
    outside the session's box: nothing else happens to the numbers."""
    s = next(x for x in box_sessions if x.animal == "10704")
    t = next(x for x in box_sessions if x.animal == "11343")
    ds = build_dataset([s, t], {"source": "kavli", "arenas": {"1.0": {}},
                                "recordings": {"hd_shuffles": 10}})
    lo, hi = np.nanmin(s.positions, 0), np.nanmax(s.positions, 0)
    placed = s.positions - (lo + hi) / 2
    xe, ye = ds.edges[1.0]
    expect = spikes_to_ratemap(placed, s.times, s.spike_times, xe, ye,
                               mask=session_box_mask(placed, xe, ye))
    np.testing.assert_allclose(ds[1.0]["10704"]["resp"], expect)


# --- planning-time checks (mec.data.plan, called from workflow/rules/common.smk) -------------

def _cfg(source="kavli", arenas=None, **rec):
    return {"dataset": {"source": source, "arenas": arenas or {"1.0": {"shape": "square"}},
                        "recordings": rec}}


@pytest.mark.parametrize("cfg,expect", [
    (_cfg(paths=["nowhere"]), r"config dataset.recordings.paths: 'nowhere' \(resolved to "
                              r"{base}/nowhere; relative paths are taken from the config "
                              r"file's folder {base}.*does not exist"),
    (_cfg(), r"config dataset.recordings.paths: dataset.source 'kavli' needs the recordings"),
    (_cfg("hdf5"), r"dataset.source 'hdf5' needs the recordings"),
    (_cfg("hdf5", paths=["a.h5", "b.h5"]), r"source hdf5 needs exactly one dataset file, got 2"),
    (_cfg(paths=["$MEC_TEST_UNSET_VAR/x"]), r"uses environment variable \$MEC_TEST_UNSET_VAR, "
                                            r"which is not set"),
    (_cfg(paths=["empty"]), r"folder 'empty' \(resolved to .*\) holds no .mat file for "
                            r"dataset.source 'kavli'"),
    (_cfg(arenas={"big_box": {"size": 1.0}}, paths=["."]),
     r"config dataset.arenas: arena 'big_box' is not an arena name.*no '_'"),
    (_cfg(arenas={"1": {}}, paths=["."]), r"arena name '1' must be written '1.0'"),
    (_cfg(arenas={"wide": {"shape": "rectangle", "width": 1.0}}, paths=["."]),
     r"config dataset.arenas.wide: arena 'wide': a rectangle needs \['height'\]"),
    (_cfg(arenas={"box": {}}, paths=["."]), r"arena 'box': a square named by a word needs its "
                                            r"size"),
    (_cfg(arenas={"2.0": {"size": 1.0}}, paths=["."]), r"size 1.0 m contradicts the name"),
    (_cfg("synthetic", arenas={"wide": {"shape": "rectangle", "width": 1, "height": 0.5}}),
     r"config dataset.arenas.wide: the synthetic simulator makes square or circular arenas"),
    (_cfg(paths=["."], position_units="cm", pixels_per_metre=400),
     r"pixels_per_metre: 400 is given but position_units is 'cm'"),
    (_cfg(paths=["."], position_units="px"), r"'px' \(camera pixels\) needs "
                                             r"dataset.recordings.pixels_per_metre"),
    (_cfg(paths=["."], arena_sessions={"2.2": ["*"]}), r"arena_sessions: \['2.2'\] are not "
                                                       r"arenas"),
    ({**_cfg(paths=["."]), "experiment": "fits"}, r"config experiment: 'fits' is a folder of "
                                                  r"the default experiment"),
])
def test_planning_checks_name_the_key_and_value(tmp_path, cfg, expect):
    from mec.data.plan import ConfigError, check_dataset_config

    (tmp_path / "empty").mkdir()
    savemat = pytest.importorskip("scipy.io").savemat
    savemat(tmp_path / "x.mat", {"a": np.zeros(1)})   # "." holds a .mat file
    with pytest.raises(ConfigError, match=expect.format(base=str(tmp_path))):
        check_dataset_config(cfg, tmp_path)


def test_planning_resolves_paths_from_the_config_folder_and_variables(tmp_path, monkeypatch):
    from mec.data.plan import check_dataset_config, expand_path, results_dir

    data = tmp_path / "data" / "rats"
    data.mkdir(parents=True)
    (data / "a.npz").write_bytes(b"")
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    rec = check_dataset_config(_cfg("generic", paths=["../data/rats"]), cfg_dir)
    assert rec["paths"] == [str(data)]
    monkeypatch.delenv("MEC_DATA", raising=False)
    assert expand_path("${MEC_DATA:-../data}/rats", cfg_dir, "k") == data
    monkeypatch.setenv("MEC_DATA", str(tmp_path / "data"))
    assert expand_path("${MEC_DATA:-nope}/rats", cfg_dir, "k") == data
    assert expand_path("$MEC_DATA/rats", "/elsewhere", "k") == data
    assert results_dir({}) == "results" and results_dir({"experiment": None}) == "results"
    assert results_dir({"experiment": "sargolini2006"}) == "results/sargolini2006"


def test_every_config_has_its_own_results_folder():
    """Every file in configs/ names its experiment, and no two share a folder."""
    import yaml

    from mec.data.plan import results_dir

    folders = {p.name: results_dir(yaml.safe_load(p.read_text()))
               for p in sorted((ROOT / "configs").glob("*.yaml"))}
    default = results_dir(yaml.safe_load((ROOT / "config.yaml").read_text()))
    assert default == "results"
    assert all(f.startswith("results/") for f in folders.values()), folders
    assert len(set(folders.values())) == len(folders), folders
    assert folders["sargolini2006.yaml"] == "results/sargolini2006"


def test_ready_dataset_file_must_have_the_configured_geometry(tmp_path):
    a, b = _toy("s1", "ratA", 0), _toy("s2", "ratB", 1)
    ds = build_dataset([a, b], {"source": "generic", "arenas": {"1.0": {}},
                                "recordings": {"hd_shuffles": 10}})
    src = save_dataset(tmp_path / "src.h5", ds)
    out = make_dataset(tmp_path / "ok.h5", "hdf5", {"1.0": {"shape": "square"}},
                       recordings={"paths": [str(src)]})
    assert list(load_dataset(out)) == [1.0]
    with pytest.raises(ValueError, match=r"config dataset.arenas.1.0: circle, diameter 100 cm, "
                                         r"but the dataset file .*src.h5 has a square, side "
                                         r"100 cm"):
        make_dataset(tmp_path / "x.h5", "hdf5", {"1.0": {"shape": "circle"}},
                     recordings={"paths": [str(src)]})
