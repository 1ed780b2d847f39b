"""Loaders of real recordings (Kavli .mat, NWB, generic) and ingest into the dataset contract.

Real data: ../shared/data/sargolini2006 (read in place, never copied).
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from mec.data import load_dataset
from mec.data.loaders import RecordingError, Session, build_dataset, ingest_dataset
from mec.data.loaders.generic import load_generic, save_generic
from mec.data.loaders.ingest import session_box_mask
from mec.data.loaders.kavli import load_kavli
from mec.ratemaps import spikes_to_ratemap
from conftest import requires_shared

DATA = Path(__file__).parents[1] / ".." / "shared" / "data"
SARGOLINI = DATA / "sargolini2006"


@pytest.fixture(scope="module")
def sargolini():
    requires_shared(SARGOLINI)
    return {s.name + "/" + s.cell_ids[0]: s for s in load_kavli(SARGOLINI)}


def _by_name(sessions, name):
    return [s for s in sessions.values() if s.name == name]


def test_kavli_pos_plus_cell_layout(sargolini):
    (s,) = _by_name(sargolini, "10073-17010302")
    assert s.animal == "10073"
    assert s.times.shape == (30000,) and s.positions.shape == (30000, 2)
    assert len(s.cell_ids) == 8 and s.cell_ids[0] == "10073-17010302_T1C1"
    assert [len(x) for x in s.spike_times][:2] == [1759, 901]
    # cm -> m: the files span -50..50 cm in x
    assert np.nanmin(s.positions[:, 0]) == pytest.approx(-0.5)
    assert np.nanmax(s.positions[:, 0]) == pytest.approx(0.5)
    assert s.head_direction is None              # posx2/posy2 are empty in these files


def test_kavli_two_led_layout_nan_and_joined_sessions(sargolini):
    (s,) = _by_name(sargolini, "11207-21060501+02")
    assert s.parts == ["21060501", "21060502"]
    assert s.animal == "11207" and s.cell_ids == ["11207-21060501+02_t6c1"]
    assert s.times.shape == (59712,) and s.times[-1] == pytest.approx(1199.98)   # 2 x 10 min
    lost = ~np.isfinite(s.positions).all(axis=1)
    assert lost.sum() == 2                       # tracking lost at the join, kept as NaN
    assert s.head_direction is not None and s.head_direction.shape == (59712,)
    assert np.nanmax(np.abs(s.head_direction)) <= np.pi
    assert np.abs(s.positions[~lost]).max() < 0.53


def test_kavli_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        load_kavli(tmp_path / "nothere")
    bad = tmp_path / "1-2_t1c1.mat"
    savemat(bad, {"foo": np.zeros(3)})
    with pytest.raises(RecordingError, match=r"1-2_t1c1\.mat.*found variables \['foo'\]"):
        load_kavli(bad)
    short = tmp_path / "1-3_t1c1.mat"
    savemat(short, {"x1": np.zeros(10), "y1": np.zeros(9), "x2": np.zeros(10),
                    "y2": np.zeros(10), "t": np.arange(10) * 0.02, "ts": np.array([0.1])})
    with pytest.raises(RecordingError, match=r"1-3_t1c1\.mat: y1 has 9 samples but t has 10"):
        load_kavli(short)
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    savemat(orphan / "5-6_T1C1.mat", {"cellTS": np.array([0.5])})
    with pytest.raises(RecordingError, match="5-6_POS.mat"):
        load_kavli(orphan)
    with pytest.raises(RecordingError, match="Kavli convention"):
        savemat(tmp_path / "noname.mat", {"ts": np.zeros(1)})
        load_kavli(tmp_path / "noname.mat")


SARGOLINI_CFG = {"name": "sargolini2006", "source": "kavli", "bin_cm": 5.0,
                 "arenas": {"1.0": {"shape": "square"}},
                 "recordings": {"paths": ["../shared/data/sargolini2006"], "position_units": "cm",
                                "circle_sessions": ["11207-21060501+02"], "hd_shuffles": 100}}


def test_ingest_shared_recordings(tmp_path, sargolini):
    out = ingest_dataset(tmp_path / "sarg.h5", SARGOLINI_CFG,
                         base_dir=Path(__file__).parents[1])
    ds = load_dataset(out)                       # validates the contract
    assert list(ds) == [1.0]
    assert sorted(ds[1.0]) == ["10073", "10704", "11207", "11343"]
    assert ds.arenas[1.0] == {"size": 1.0, "shape": "square", "width": 1.0, "height": 1.0}
    xe, ye = ds.edges[1.0]
    # 20 x 20 bins of 5 cm over the declared 1 m box, centred: the models' bins exactly
    np.testing.assert_allclose(xe, np.linspace(-0.5, 0.5, 21))
    np.testing.assert_allclose(ye, np.linspace(-0.5, 0.5, 21))
    n_cells = sum(r["resp"].shape[2] for r in ds[1.0].values())
    assert n_cells == 12
    for animal, rec in ds[1.0].items():
        assert rec["resp"].shape[:2] == (20, 20)
        info = ds.cell_info[1.0][animal]
        for col in ("grid_score", "border_score", "hd_mvl", "hd_significant", "session"):
            assert info[col].shape == (rec["resp"].shape[2],)
        assert set(rec["cell_types"]) <= {"grid", "border", "head_direction", "heterogeneous"}
    # The cylinder cell: NaN outside the circle only; every box cell is finite everywhere.
    r11207 = ds[1.0]["11207"]
    i = list(r11207["cell_ids"]).index("11207-21060501+02_t6c1")
    cyl = r11207["resp"][:, :, i]
    assert np.isnan(cyl[0, 0]) and np.isnan(cyl[-1, -1]) and np.isfinite(cyl[6:14, :]).all()
    assert 40 < np.isnan(cyl).sum() < 90         # bins wholly outside the circle (64)
    others = np.concatenate([r["resp"].reshape(400, -1) for a, r in ds[1.0].items()], 1)
    assert np.isnan(others).sum() == np.isnan(cyl).sum()
    # The readme: most cells are grid cells; 10073 T3C4 is not grid-like.
    j = list(ds[1.0]["10073"]["cell_ids"]).index("10073-17010302_T3C4")
    assert ds.cell_info[1.0]["10073"]["grid_score"][j] < 0.3
    grid = np.concatenate([ds.cell_info[1.0][a]["grid_score"] for a in ds[1.0]])
    assert (grid > 0.3).sum() >= 9
    # Maps are spikes_to_ratemap's, on the dataset's edges.
    (s,) = _by_name(sargolini, "10704-07070407")
    np.testing.assert_allclose(ds[1.0]["10704"]["resp"],
                               spikes_to_ratemap(s.positions, s.times, s.spike_times, xe, ye))


def _toy_session(name, animal, seed, extent=0.5, n=6000, hd=True):
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.02
    pos = np.clip(np.cumsum(rng.normal(0, 0.01, (n, 2)), 0), -extent, extent)
    pos[5] = np.nan                               # a lost sample
    spikes = [np.sort(rng.uniform(0, t[-1], 300)), np.sort(rng.uniform(0, t[-1], 50))]
    return Session(name=name, animal=animal, times=t, positions=pos,
                   cell_ids=[f"{name}_c0", f"{name}_c1"], spike_times=spikes,
                   head_direction=rng.uniform(-np.pi, np.pi, n) if hd else None)


def _same(a: Session, b: Session):
    assert (a.name, a.animal, a.cell_ids) == (b.name, b.animal, b.cell_ids)
    np.testing.assert_allclose(a.times, b.times)
    np.testing.assert_allclose(a.positions, b.positions, equal_nan=True)
    for x, y in zip(a.spike_times, b.spike_times):
        np.testing.assert_allclose(x, y)
    if a.head_direction is None:
        assert b.head_direction is None
    else:
        np.testing.assert_allclose(a.head_direction, b.head_direction, atol=1e-9)


def test_generic_round_trip_npz_and_h5(tmp_path):
    s1, s2 = _toy_session("s1", "ratA", 0), _toy_session("s2", "ratB", 1, hd=False)
    save_generic(tmp_path / "one.npz", [s1])
    (back,) = load_generic(tmp_path / "one.npz")
    _same(s1, back)
    save_generic(tmp_path / "two.h5", [s1, s2])
    back = load_generic(tmp_path / "two.h5")
    _same(s1, back[0])
    _same(s2, back[1])


def test_generic_errors_name_the_file(tmp_path):
    s = _toy_session("s1", "ratA", 0)
    np.savez(tmp_path / "bad.npz", t=s.times, x=s.positions[:, 0], y=s.positions[:-1, 1],
             cell_ids=np.array(["a"]), spike_times=np.array([1.0]),
             spike_offsets=np.array([0, 1]), animal=np.array("ratA"))
    with pytest.raises(RecordingError, match=r"bad\.npz: t, x, y have 6000, 6000, 5999"):
        load_generic(tmp_path / "bad.npz")
    np.savez(tmp_path / "missing.npz", t=s.times)
    with pytest.raises(RecordingError, match=r"missing\.npz: missing \['x', 'y'"):
        load_generic(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="absent.h5"):
        load_generic(tmp_path / "absent.h5")


def test_nwb_round_trip(tmp_path):
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.behavior import CompassDirection, Position
    from pynwb.file import Subject

    s = _toy_session("sessA", "mouse7", 3)
    nwb = NWBFile(session_description="toy", identifier="toy-1", session_id="sessA",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
                  subject=Subject(subject_id="mouse7", species="Mus musculus"))
    behavior = nwb.create_processing_module("behavior", "tracking")
    position = Position(name="Position")
    position.create_spatial_series(name="led", data=s.positions * 100.0, unit="cm",
                                   timestamps=s.times, reference_frame="box centre")
    behavior.add(position)
    compass = CompassDirection(name="CompassDirection")
    compass.create_spatial_series(name="hd", data=s.head_direction, unit="radians",
                                  timestamps=s.times, reference_frame="east")
    behavior.add(compass)
    for st in s.spike_times:
        nwb.add_unit(spike_times=st)
    with NWBHDF5IO(str(tmp_path / "toy.nwb"), "w") as io:
        io.write(nwb)

    from mec.data.loaders.nwb import load_nwb

    (back,) = load_nwb(tmp_path / "toy.nwb")
    assert back.name == "sessA" and back.animal == "mouse7"
    assert back.cell_ids == ["sessA_0", "sessA_1"]
    np.testing.assert_allclose(back.positions, s.positions, equal_nan=True)   # cm -> m
    np.testing.assert_allclose(back.times, s.times)
    np.testing.assert_allclose(back.head_direction, s.head_direction)
    for x, y in zip(back.spike_times, s.spike_times):
        np.testing.assert_allclose(x, y)


def test_build_dataset_edges_from_the_arena_and_options():
    a = _toy_session("s1", "ratA", 0, extent=0.45)
    b = _toy_session("s2", "ratB", 1, extent=0.5)
    cfg = {"source": "generic", "bin_cm": 5.0, "arenas": {"1.0": {"shape": "square"}},
           "recordings": {"hd_shuffles": 50}}
    ds = build_dataset([a, b], cfg)
    xe, ye = ds.edges[1.0]
    # Bins come from the declared 1 m box, not from where the animals went.
    np.testing.assert_allclose(xe, np.linspace(-0.5, 0.5, 21))
    np.testing.assert_allclose(ye, xe)
    # align: center moves each session's extent to the middle; bins outside its box are NaN.
    lo, hi = np.nanmin(a.positions, 0), np.nanmax(a.positions, 0)
    placed = a.positions - (lo + hi) / 2
    mask = session_box_mask(placed, xe, ye)
    expect = spikes_to_ratemap(placed, a.times, a.spike_times, xe, ye, mask=mask)
    np.testing.assert_allclose(ds[1.0]["ratA"]["resp"], expect)
    assert np.isfinite(ds.cell_info[1.0]["ratA"]["hd_mvl"]).all()
    # Speed filter and minimum occupancy change the maps.
    filt = build_dataset([a, b], {**cfg, "recordings": {"speed_range": [0.02, 0.8],
                                                        "min_occupancy_s": 0.5,
                                                        "hd_shuffles": 50}})
    assert not np.allclose(filt[1.0]["ratA"]["resp"], ds[1.0]["ratA"]["resp"], equal_nan=True)
    # Config errors are ValueErrors that say what is wrong.
    with pytest.raises(ValueError, match="unknown key"):
        build_dataset([a], {**cfg, "recordings": {"bogus": 1}})
    with pytest.raises(ValueError, match="'bins_from' was removed: bins now come from the "
                                         "arena's geometry"):
        build_dataset([a], {**cfg, "recordings": {"bins_from": "size"}})
    with pytest.raises(ValueError, match="matches no arena"):
        build_dataset([a, b], {**cfg, "arenas": {"1.0": {}, "2.2": {}},
                               "recordings": {"arena_sessions": {"1.0": ["s1"], "2.2": ["x*"]}}})


def test_session_validation_names_the_source():
    with pytest.raises(RecordingError, match="file.mat: positions have shape"):
        Session(name="s", animal="a", times=np.arange(5.0), positions=np.zeros((4, 2)),
                cell_ids=[], spike_times=[], source="file.mat")
    with pytest.raises(RecordingError, match="not strictly increasing"):
        Session(name="s", animal="a", times=np.array([0, 1, 1, 2.0]),
                positions=np.zeros((4, 2)), cell_ids=[], spike_times=[], source="f")
