"""Issue 12, case by case: each case of the issue and the message it must give.

"Never stuck, never silent": bad inputs are refused with a message naming the bad value and
where it came from, one bad cell never takes down the others, a failed or killed write leaves
nothing behind, and results follow the code. Most cases are tested here on tiny inputs; the
training cases, which need a trained model, live beside the training tests and are listed in
:data:`ELSEWHERE` (a test below checks that each of them exists).
"""

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

# fixtures of the tiny workflow run, shared with test_workflow.py (one run per session)
from test_workflow import tiny_run  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "workflow" / "scripts").glob("*.py"))

#: Cases of the issue tested in other files (need a trained model or a whole run): case ->
#: "file::test".
ELSEWHERE = {
    "a rerun with no epochs left rewrites its outputs (no MissingOutputException)":
        "test_training.py::test_rerun_with_nothing_left_rewrites_the_outputs",
    "a forced rerun of a finished train_model job, with the same weights":
        "test_workflow.py::test_only_training_settings_retrain",
    "a crash between the checkpoint and the history falls back":
        "test_training.py::test_state_ahead_of_history_falls_back",
    "a truncated newest checkpoint falls back to the one before":
        "test_training.py::test_truncated_newest_state_falls_back",
    "a kill at any point of training resumes to the same weights":
        "test_training.py::test_kill_and_resume_is_bit_identical",
    "n_eval_batches or a scale's name does not retrain (workflow)":
        "test_workflow.py::test_only_training_settings_retrain",
    "same seed, same initial weights for every architecture":
        "test_training.py::test_seed_decides_the_initial_weights",
    "same seed, same network in two processes":
        "test_training.py::test_same_seed_same_network_in_two_processes",
    "config mistakes stop a dry run before any job":
        "test_checks.py::test_dry_run_names_every_mistake_before_any_job",
    "a YAML error in a --configfile is named by python -m mec.checks":
        "test_checks.py::test_yaml_error_in_a_configfile_is_named_by_mec_checks",
    "TensorFlow's thread pools follow the rule's threads":
        "test_threads.py::test_tensorflow_pools_follow_the_budget",
    "every workflow script limits its threads":
        "test_threads.py::test_every_workflow_script_limits_threads_right_after_redirecting_its_log",
    "training removes the temporary files of a killed run":
        "test_training.py::test_temp_files_of_a_killed_run_are_removed",
    "a whole run killed with SIGKILL is recovered by the same command, bit-identical":
        "test_recovery.py::test_sigkill_during_training_is_recovered_by_the_same_command",
}


def test_cases_tested_elsewhere_exist():
    for case, ref in ELSEWHERE.items():
        file, name = ref.split("::")
        text = (ROOT / "tests" / file).read_text()
        assert re.search(rf"^def {re.escape(name)}\(", text, re.M), f"{case}: {ref} is gone"


# =============================================================================================
# helpers
# =============================================================================================
def _dataset(n_animals=3, n_cells=4, n=10, seed=0):
    """A small mec.data.Dataset: one 1 m square arena, n x n bins, shared structure plus
    noise (so cells predict each other), an unvisited corner bin."""
    from mec.data import Dataset
    from mec.ratemaps import make_edges

    rng = np.random.default_rng(seed)
    e = make_edges(-0.5, 0.5, bin_cm=100 / n)
    base = rng.gamma(2.0, 2.0, size=(n, n, 6))
    data = {}
    for k in range(n_animals):
        mix = rng.random((6, n_cells))
        resp = base @ mix + rng.gamma(1.0, 0.5, size=(n, n, n_cells))
        resp[0, 0, :] = np.nan
        data[f"rat{k}"] = {"resp": resp,
                           "cell_ids": np.array([f"rat{k}_c{i}" for i in range(n_cells)])}
    return Dataset({1.0: data}, edges={1.0: (e, e.copy())},
                   arenas={1.0: {"shape": "square", "size": 1.0}},
                   attrs={"name": "t", "source": "test"})


def _without(ds, animal, cell):
    """A copy of ds[1.0] without one cell (the reference for 'the others are unchanged')."""
    out = {}
    for a, rec in ds[1.0].items():
        keep = np.asarray(rec["cell_ids"]) != cell if a == animal else slice(None)
        out[a] = {"resp": np.asarray(rec["resp"])[..., keep], "cell_ids": np.asarray(rec["cell_ids"])[keep]}
    return out


def _messages(record):
    return [str(w.message) for w in record]


# =============================================================================================
# item 3: fits that check their inputs
# =============================================================================================
def test_all_nan_cell_is_refused_by_the_contract(tmp_path):
    """Before: an all-NaN cell was accepted and later broke every holdout fit of its arena
    with scikit-learn's "Found array with 0 sample(s)"."""
    import h5py

    from mec.data import DatasetError, load_dataset, save_dataset

    ds = _dataset()
    ds[1.0]["rat1"]["resp"][..., 2] = np.nan
    with pytest.raises(DatasetError) as err:
        save_dataset(tmp_path / "d.h5", ds)
    msg = str(err.value)
    for part in ("d.h5", "arena 1.0", "animal rat1", "'rat1_c2' (column 2)", "no finite rate"):
        assert part in msg, msg
    assert not (tmp_path / "d.h5").exists()
    # The same cell in a file written by other means is refused when it is read.
    good = save_dataset(tmp_path / "good.h5", _dataset())
    with h5py.File(good, "r+") as f:
        resp = f["arenas/1.0/animals/rat1/resp"]
        resp[:, :, 2] = np.nan
    with pytest.raises(DatasetError, match=r"good.h5, arena 1.0, animal rat1: 1 of 4 cell\(s\) "
                                           r"have no finite rate.*'rat1_c2'"):
        load_dataset(good)


def test_one_all_nan_cell_leaves_the_other_cells_as_they_were():
    """Before: one all-NaN cell left no bin for the holdout fit of any animal of its arena
    ("Found array with 0 sample(s)"). Now it is not scored (NaN), left out of the sources,
    and every other cell scores exactly as if it were not there, with a warning naming it."""
    from mec.fits.core import FitInputWarning, interanimal_scores

    ds = _dataset()
    reference = interanimal_scores(_without(ds, "rat1", "rat1_c2"), num_splits=3)
    ds[1.0]["rat1"]["resp"][..., 2] = np.nan
    with pytest.warns(FitInputWarning) as record:
        scores = interanimal_scores(ds[1.0], num_splits=3, where="arena 1.0, map ridge")
    msgs = _messages(record)
    assert any("target animal rat1: cell 'rat1_c2' has no finite bin; not scored" in m for m in msgs), msgs
    assert any("target animal rat0: source unit 'rat1_c2' has no finite bin; left out of the "
               "source" in m for m in msgs), msgs
    assert np.isnan(scores["rat1"][2])
    np.testing.assert_allclose(np.delete(scores["rat1"], 2), reference["rat1"], rtol=1e-12)
    for a in ("rat0", "rat2"):
        np.testing.assert_allclose(scores[a], reference[a], rtol=1e-12)


def test_a_mostly_nan_unit_does_not_shrink_everyone_s_bins():
    """Before: a cell finite in 30 % of the bins cut every fit of its arena to those bins.
    Now it is left out of the sources (other animals score as without it) and fitted on its
    own bins as a target, each with a warning naming it."""
    from mec.fits.core import FitInputWarning, fit_scores, interanimal_scores

    ds = _dataset()
    reference = interanimal_scores(_without(ds, "rat1", "rat1_c2"), num_splits=3)
    ds[1.0]["rat1"]["resp"][:7, :, 2] = np.nan  # finite in 30 of the 100 bins
    with pytest.warns(FitInputWarning) as record:
        scores = interanimal_scores(ds[1.0], num_splits=3, where="arena 1.0, map ridge")
    msgs = _messages(record)
    assert any("target animal rat0: source unit 'rat1_c2' is finite in only 30 of the 99 bins "
               "all other units share (keeping it would leave 30); left out of the source" in m
               for m in msgs), msgs
    assert any("cell 'rat1_c2' is finite in only 30 of the 99 bins" in m
               and "fitted on its own bins" in m for m in msgs), msgs
    for a in ("rat0", "rat2"):
        np.testing.assert_allclose(scores[a], reference[a], rtol=1e-12)
    np.testing.assert_allclose(np.delete(scores["rat1"], 2), reference["rat1"], rtol=1e-12)
    # the cell itself: scored on its own bins, as a fit of that cell alone
    source = np.concatenate([ds[1.0][a]["resp"] for a in ("rat0", "rat2")], axis=-1)
    alone = fit_scores(source, ds[1.0]["rat1"]["resp"][..., [2]], num_splits=3)
    assert np.isfinite(scores["rat1"][2])
    assert scores["rat1"][2] == pytest.approx(alone[0], rel=1e-12)


def test_units_sharing_their_mask_keep_the_original_rule():
    """A whole animal with fewer bins (a session that covered less) is not dropped: the
    kept bins are the intersection, as in the original (no warning)."""
    from mec.fits.bins import kept_bins

    src = np.ones((100, 6), bool)
    src[:60, 3:] = False  # the second source animal (3 cells) covers 40 bins
    tgt = np.ones((100, 4), bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = kept_bins(src, tgt)
    assert kept.valid.sum() == 40 and kept.sources.all() and kept.targets.all()


def test_model_maps_with_no_finite_bin_are_refused_by_fit_model(tmp_path):
    """Before: all-NaN model maps (a diverged model) gave "Found array with 0 sample(s)".
    Now fit_model names the file, the layer and the units."""
    from mec.data import save_dataset
    from mec.fits.bins import FitInputError
    from mec.fits.pipeline import fit_model
    from mec.ratemaps import save_model_ratemaps

    ds = _dataset()
    data = save_dataset(tmp_path / "d.h5", ds)
    x, y = ds.edges[1.0]
    rng = np.random.default_rng(1)
    g = rng.random((10, 10, 5))
    g[..., [1, 3]] = np.nan
    maps = save_model_ratemaps(tmp_path / "m_1.0.h5", {"g": g, "dc": rng.random((10, 10, 5))},
                               x, y, {"model": "m"})
    with pytest.raises(FitInputError) as err:
        fit_model(data, maps, "m", 1.0, {"ridge": {"map_type": "sklinear", "map_kwargs": {}}},
                  tmp_path / "fit.csv", layers=["dc", "g"], num_splits=2)
    msg = str(err.value)
    for part in ("m_1.0.h5", "layer g", "2 of 5 units", "unit 1, unit 3", "did training diverge"):
        assert part in msg, msg
    assert not (tmp_path / "fit.csv").exists()


def test_source_and_target_on_different_bins_name_the_fit():
    """No bin finite in both: before, "Found array with 0 sample(s)"; now an error naming
    the fit and the bins each side has."""
    from mec.fits.core import FitInputError, fit_scores

    src = np.ones((10, 10, 3))
    src[5:] = np.nan
    tgt = np.ones((10, 10, 2))
    tgt[:5] = np.nan
    with pytest.raises(FitInputError, match=r"model m, layer g, arena 1.0: no bin is finite in "
                                            r"both the source and the target: of 100 bins the "
                                            r"source units share 50, the target cells 50"):
        fit_scores(src, tgt, where="model m, layer g, arena 1.0")


def test_split_with_too_few_bins_names_arena_split_and_reason():
    """Before: scikit-learn's "Found array with 0 sample(s)" (or a silent NaN with 1 bin).
    Now: the arena, the map, the split and how many bins there were."""
    from mec.fits.core import interanimal_table
    from mec.fits.splits import SplitError

    ds = _dataset()
    for a in ds[1.0]:
        ds[1.0][a]["resp"][3:, :, :] = np.nan
        ds[1.0][a]["resp"][:, 1:, :] = np.nan  # 3 bins left, 1 of them the unvisited corner
    with pytest.raises(SplitError) as err:
        interanimal_table(ds, 1.0, {"ridge": {"map_type": "sklinear", "map_kwargs": {}}},
                          progress=False)
    msg = str(err.value)
    for part in ("arena 1.0", "map ridge", "target animal rat0", "split train_frac=0.2",
                 "2 of 100 bins kept", "1 training and 1 test bins", "at least 2 of each"):
        assert part in msg, msg


@pytest.mark.parametrize("call", ["fit_scores", "get_fits", "generate_train_test_splits",
                                  "make_settings"])
def test_train_frac_one_is_refused_with_the_reason(call):
    """train_frac=1.0 was documented as allowed and gave "Found array with 0 sample(s)" (no
    test bins). It is refused, in the API and when a workflow is planned, saying why."""
    ds = _dataset()
    with pytest.raises(ValueError) as err:
        if call == "fit_scores":
            from mec.fits.core import fit_scores
            fit_scores(ds[1.0]["rat0"]["resp"], ds[1.0]["rat1"]["resp"], train_frac=1.0)
        elif call == "get_fits":
            from mec.neural_fits.comparisons import get_fits
            get_fits(ds, train_frac=1.0)
        elif call == "generate_train_test_splits":
            from mec.neural_fits.utils import generate_train_test_splits
            generate_train_test_splits(100, train_frac=1.0)
        else:
            from mec.fits.settings import check_fit_settings
            check_fit_settings({"train_frac": 1.0})
    assert re.search(r"train_frac must be in \(0, 1\), got 1.0: it would train on every bin and "
                     r"leave none to test on", str(err.value)), str(err.value)


def test_train_frac_one_in_the_config_is_refused_with_the_reason():
    """The schema (docs, schema and code agree): 0 < fits.train_frac < 1."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    spec = schema["properties"]["fits"]["properties"]["train_frac"]
    assert {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1} in spec["oneOf"]
    assert "1 would leave no bin to test on" in spec["description"]
    from doctext import doc_text

    assert "`train_frac=1` (no test bins)" in doc_text()  # docs/api.md


# =============================================================================================
# errors that name nothing
# =============================================================================================
def test_corrupt_dataset_at_its_final_path_is_named(tmp_path):
    """Before: common.smk's dataset_animals raised h5py's bare OSError."""
    from mec.data import DatasetError, load_dataset, save_dataset
    from mec.data.contract import dataset_animals

    good = save_dataset(tmp_path / "good.h5", _dataset())
    assert dataset_animals(good, "1.0") == ["rat0", "rat1", "rat2"]
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # a killed copy
    for call in (lambda: dataset_animals(cut, "1.0"), lambda: load_dataset(cut)):
        with pytest.raises(DatasetError, match=r"cut.h5.*delete it and run the workflow again "
                                               r"to remake it \(rule make_dataset\)"):
            call()
    with pytest.raises(DatasetError, match=r"good.h5: arena 2.2 has no animals in this file "
                                           r"\(arenas in it: \['1.0'\]\)"):
        dataset_animals(good, 2.2)


@pytest.mark.slow
def test_corrupt_dataset_stops_planning_naming_the_file(tmp_path):
    (tmp_path / "results" / "data").mkdir(parents=True)
    (tmp_path / "results" / "data" / "tiny.h5").write_bytes(b"\x89HDF garbage" * 100)
    proc = _smk("-n", "--cores", "1", "--directory", str(tmp_path), "--configfile",
                str(ROOT / "tests" / "data" / "tiny.yaml"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"DatasetError: results/data/tiny.h5: not a readable HDF5 file .*delete it "
                     r"and run the workflow again", out), out[-3000:]


def test_object_array_in_an_npz_names_the_file_and_array(tmp_path):
    """Before: numpy's "Object arrays cannot be loaded when allow_pickle=False"."""
    from mec.data.loaders import RecordingError
    from mec.data.loaders.generic import load_generic

    t = np.arange(10.0)
    path = tmp_path / "s1.npz"
    np.savez(path, t=t, x=t, y=t, cell_ids=np.array(["a"], dtype=object), spike_times=t,
             spike_offsets=np.array([0, 10]), animal=np.array("r"))
    with pytest.raises(RecordingError, match=r"s1.npz: array 'cell_ids' is an array of Python "
                                             r"objects.*dtype=str"):
        load_generic([path])
    np.savez(path, t=np.array(["a"] * 10), x=t, y=t, cell_ids=np.array(["a"]), spike_times=t,
             spike_offsets=np.array([0, 10]), animal=np.array("r"))
    with pytest.raises(RecordingError, match=r"s1.npz: 't' must hold numbers, got an array of "
                                             r"dtype <U1"):
        load_generic([path])


def test_unreadable_rate_maps_and_tables_are_named(tmp_path):
    """h5py's bare OSError for a truncated rate-map file, a KeyError for a layer without
    maps, pandas' EmptyDataError for an empty table: each now names the file."""
    import h5py

    from mec.io import UnreadableFileError, read_table
    from mec.ratemaps import load_model_ratemaps, make_edges, save_model_ratemaps

    e = make_edges(-0.5, 0.5)
    n = len(e) - 1
    path = save_model_ratemaps(tmp_path / "m.h5", {"g": np.ones((n, n, 3))}, e, e, {})
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UnreadableFileError, match=r"model rate-map file .*cut.h5 is not a "
                                                  r"readable HDF5 file.*export_ratemaps"):
        load_model_ratemaps(cut)
    with h5py.File(path, "r+") as f:
        f.create_group("dc")
    with pytest.raises(ValueError, match=r"m.h5: layer\(s\) \['dc'\] have no 'resp' maps"):
        load_model_ratemaps(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UnreadableFileError, match=r"table .*empty.csv is not a readable CSV"):
        read_table(tmp_path / "empty.csv")


def test_bad_arguments_name_themselves():
    """A negative split_start_seed and configure_options(box_width=-2.2): clear errors."""
    from mec.fits.splits import generate_train_test_splits

    with pytest.raises(ValueError, match=r"split_start_seed must be an integer >= 0.*"
                                         r"split_start_seed=-1"):
        generate_train_test_splits(100, split_start_seed=-1)
    from mec.models.utils import configure_options

    with pytest.raises(ValueError, match=r"box_width.*box_width=-2.2"):
        configure_options(box_width=-2.2)


@pytest.mark.parametrize("change,expect", [
    ({"fits.maps.ridge.map_kwargs.regression_type": "Ridgee"},
     "fits.maps.ridge.map_kwargs.regression_type"),
    ({"fits.maps.corr.map_kwargs": {"percentil": 90}}, "fits.maps.corr.map_kwargs.percentil"),
    ({"fits.maps.pls": {"map_type": "pls", "map_kwargs": {"n_components": 0}}},
     "fits.maps.pls.map_kwargs.n_components"),
    ({"dataset.synthetic.cells_min": 9, "dataset.synthetic.cells_max": 3},
     "dataset.synthetic.cells_min: 9 is more than cells_max 3"),
    ({"models.nmf9": {"scale": "demo", "baseline": "nmf"}}, "models.nmf9.n_components"),
])
def test_config_mistakes_are_named_when_planned(change, expect):
    """Before: found only after training and export."""
    from mec.checks import ConfigError, check_config, load_config

    config = load_config(ROOT / "config.yaml")
    for dotted, value in change.items():
        node = config
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert expect in str(err.value), str(err.value)


def test_yaml_error_names_file_and_line(tmp_path):
    from mec.checks import ConfigError, check_yaml

    path = tmp_path / "c.yaml"
    path.write_text("fits:\n  train_frac: 0.2\n  maps: [ridge\n")
    with pytest.raises(ConfigError, match=r"c.yaml, line \d+, column \d+: YAML syntax error"):
        check_yaml(path)


# =============================================================================================
# item 5: clean files
# =============================================================================================
def test_temporary_files_have_a_recognisable_name(tmp_path):
    from mec.io import TEMP_TAG, atomic_path, is_temp_file, stale_temp_files

    target = tmp_path / "model.keras"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert re.fullmatch(r"\.model\.keras\.[a-z0-9_]+\.mec-tmp\.keras", tmp.name), tmp.name
        assert TEMP_TAG in tmp.name and is_temp_file(tmp)
        assert stale_temp_files([target]) == [tmp]  # (the file exists while being written)
        tmp.write_text("x")
    assert target.read_text() == "x" and stale_temp_files([target]) == []
    assert not is_temp_file(target)


def test_a_failed_write_on_a_full_disk_leaves_nothing(tmp_path):
    """ENOSPC midway through a write: no temporary file, no output, and the error names the
    file it was writing."""
    from mec.io import atomic_path, write_table

    import pandas as pd

    target = tmp_path / "fit.csv"
    with pytest.raises(OSError) as err:
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"arena,animal\n" * 1000)
                raise OSError(errno.ENOSPC, "No space left on device")
    assert err.value.errno == errno.ENOSPC
    assert any(f"writing {target}: the disk is full" in n for n in err.value.__notes__)
    assert list(tmp_path.iterdir()) == []

    class Full(pd.DataFrame):  # pandas writing half a table, then the disk is full
        def to_csv(self, path, **kw):
            Path(path).write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

    with pytest.raises(OSError):
        write_table(Full({"a": [1]}), target)
    assert list(tmp_path.iterdir()) == []


_FILL_DISK = textwrap.dedent("""
    import resource, signal, sys
    import numpy as np
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a file-size limit: EFBIG, like ENOSPC
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    from mec.ratemaps import make_edges, save_model_ratemaps
    e = make_edges(-0.5, 0.5)
    n = len(e) - 1
    try:
        save_model_ratemaps(sys.argv[1], {"g": np.random.default_rng(0).random((n, n, 1000))},
                            e, e, {})
    except OSError as err:
        print("refused:", err, err.__notes__)
    import gc; gc.collect()
    print("alive")
""")


@pytest.mark.slow
def test_a_real_failed_hdf5_write_leaves_nothing_and_does_not_crash(tmp_path):
    """h5py writing to disk segfaulted after a failed write (the temp file kept the
    disk full); a real write past a file-size limit now fails cleanly and leaves nothing."""
    target = tmp_path / "maps.h5"
    proc = subprocess.run([sys.executable, "-c", _FILL_DISK, str(target)], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused:" in proc.stdout and f"writing {target}" in proc.stdout, proc.stdout
    assert "alive" in proc.stdout
    assert list(tmp_path.iterdir()) == []


_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from mec.io import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"half a file")
        print(tmp, flush=True)
        time.sleep(60)
""")


@pytest.mark.slow
def test_a_killed_write_leaves_a_temp_file_that_the_next_job_removes(tmp_path, capsys):
    from mec.io import remove_stale_temp_files

    target = tmp_path / "fit_a.csv"
    other = tmp_path / "fit_a.b.csv"  # a neighbour whose temp file must stay
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)],
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        tmp = Path(proc.stdout.readline().strip())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert tmp.exists() and not target.exists()  # what a SIGKILL leaves
    neighbour = tmp_path / ".fit_a.b.csv.abcd1234.mec-tmp.csv"
    neighbour.write_text("being written")
    legacy = tmp_path / ".fit_a.q1w2e3r4.tmp.csv"  # an earlier version's name
    legacy.write_text("old")
    assert remove_stale_temp_files([target]) == sorted([legacy, tmp])
    assert not tmp.exists() and not legacy.exists() and neighbour.exists()
    assert f"removing {tmp}, left by an interrupted run" in capsys.readouterr().out
    assert remove_stale_temp_files([other]) == [neighbour]


def test_every_job_starts_by_removing_the_stale_temp_files_of_its_outputs():
    """Before: nothing removed the temporary files a killed job left (only training did)."""
    assert SCRIPTS
    for path in SCRIPTS:
        lines = [ln for ln in path.read_text().splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
        i = next(k for k, ln in enumerate(lines) if "limit_threads(snakemake.threads" in ln)
        assert lines[i + 1].startswith("remove_stale_temp_files(snakemake.output)"), path.name


def test_training_uses_the_same_temp_file_mechanism():
    import mec.models.train as train

    src = Path(train.__file__).read_text()
    assert "remove_stale_temp_files" in src and 'glob(".*.tmp*")' not in src


# =============================================================================================
# item 6: reruns that follow the code
# =============================================================================================
def test_closures_keep_fitting_and_training_apart():
    from mec.fingerprint import module_closure

    scripts = ROOT / "workflow" / "scripts"
    fit = module_closure(scripts / "fit_model.py")
    train = module_closure(scripts / "train_model.py")
    export = module_closure(scripts / "export_ratemaps.py")
    assert {"mec", "mec.fits", "mec.fits.core", "mec.fits.pipeline", "mec.mappers",
            "mec.data.contract"} <= set(fit)
    assert not [m for m in fit if m.startswith("mec.models")]
    assert not [m for m in train if m.startswith("mec.fits") or m == "mec.mappers"]
    assert "mec.models.train" in train and "mec.models.network" in train
    assert not [m for m in export if m.startswith("mec.fits")]


def test_fingerprint_follows_code_not_comments(tmp_path):
    from mec.fingerprint import script_fingerprint

    pkg = tmp_path / "mec"
    shutil.copytree(ROOT / "mec", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    fit, train = ROOT / "workflow" / "scripts" / "fit_model.py", ROOT / "workflow" / "scripts" / "train_model.py"
    before = {s: script_fingerprint(s, pkg) for s in (fit, train)}
    assert before[fit] == script_fingerprint(fit)  # independent of where the package lives
    core = pkg / "fits" / "core.py"
    text = core.read_text()
    # comments, docstrings and blank lines: no change
    core.write_text(text.replace('"""Scoring any source', '"""Scoring, edited, any source', 1)
                    + "\n\n# a comment\n")
    assert {s: script_fingerprint(s, pkg) for s in (fit, train)} == before
    # code: fit_model's fingerprint changes, train_model's does not
    core.write_text(text + "\nMIN_SCORE = 0\n")
    after = {s: script_fingerprint(s, pkg) for s in (fit, train)}
    assert after[fit] != before[fit] and after[train] == before[train]
    # a module imported inside a function counts too (mec.fits.pipeline imports mec.ratemaps)
    core.write_text(text)
    rm = pkg / "ratemaps.py"
    rm.write_text(rm.read_text() + "\nX = 1\n")
    assert script_fingerprint(fit, pkg) != before[fit]


def test_every_rule_but_training_carries_its_code_fingerprint():
    """Before: editing mec reran nothing (Snakemake hashes only workflow/scripts/)."""
    found = {}
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        # rules defined in a loop (ensembles.smk) are indented and named by a name: directive
        for block in re.split(r"^(?=[ \t]*(?:rule|checkpoint)[ :])", smk.read_text(), flags=re.M)[1:]:
            head = re.match(r'\s*(?:rule|checkpoint)\s*(\w*):\s*(?:name:\s*f?"([\w{}]+)")?', block)
            name = head.group(1) or re.sub(r"_\{\w+\}$", "", head.group(2))  # train_ensemble_{_i}
            script = re.search(r'"\.\./scripts/(\w+)\.py"', block)
            if script:
                code = re.search(r'^\s+code=code_fingerprint\("(\w+)"\)', block, re.M)
                found[name] = (script.group(1), code.group(1) if code else None)
    assert found and set(found) == {s.stem for s in SCRIPTS}
    for rule, (script, code) in found.items():
        # training carries none (workflow/rules/models.smk says why)
        assert code == (None if rule in ("train_model", "train_ensemble") else script), rule


# --- the workflow: editing fitting code reruns fits and not training ------------------------
def _smk(*args, env=None, snakefile=ROOT / "Snakefile", timeout=600):
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    # run from the Snakefile's folder: "python -m" puts the working folder first on sys.path,
    # and that is where its mec package must come from
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(snakefile), *args],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=Path(snakefile).parent)


@pytest.mark.slow
def test_editing_fitting_code_reruns_fits_not_training(tiny_run, tmp_path):  # noqa: F811
    from test_workflow import TINY, _copy_run, planned_jobs

    work = _copy_run(tiny_run[0], tmp_path / "work")
    code = tmp_path / "code"  # the workflow and the package, to edit
    code.mkdir()
    for part in ("Snakefile", "config.yaml"):
        shutil.copy2(ROOT / part, code / part)
    for part in ("workflow", "mec", "envs"):
        shutil.copytree(ROOT / part, code / part, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(code))

    def plan():
        proc = _smk("-n", "--cores", "1", "--directory", str(work), "--configfile", str(TINY),
                    env=env, snakefile=code / "Snakefile")
        assert proc.returncode == 0, proc.stderr[-3000:]
        return planned_jobs(proc.stdout + proc.stderr)

    assert plan() == {}  # the same code: nothing to do
    probe = subprocess.run([sys.executable, "-c", "import mec; print(mec.__file__)"], cwd=code,
                           env=env, capture_output=True, text=True)
    assert probe.stdout.startswith(str(code)), probe  # the copy is the code planned with
    core = code / "mec" / "fits" / "core.py"
    text = core.read_text()
    core.write_text(text + "\n# only a comment\n")
    assert plan() == {}
    core.write_text(text + "\nMIN_SCORE = 0  # a code change\n")
    jobs = plan()
    assert jobs.get("fit_model", 0) >= 1 and jobs.get("interanimal", 0) >= 1, jobs
    assert jobs.get("elasticnet_grid", 0) >= 1 and jobs.get("floors", 0) >= 1, jobs
    assert "train_model" not in jobs and "export_ratemaps" not in jobs, jobs
    assert "make_dataset" not in jobs, jobs
    # a training-code change reruns what reads the model, not the training (models.smk)
    core.write_text(text)
    train = code / "mec" / "models" / "train.py"
    train.write_text(train.read_text() + "\nEDITED = 1\n")
    jobs = plan()
    assert jobs.get("export_ratemaps", 0) >= 1 and "train_model" not in jobs, jobs



# =============================================================================================
# training settings (fast; the trained cases are in ELSEWHERE)
# =============================================================================================
def test_rate_map_settings_are_not_training_settings():
    """Before: n_eval_batches (a rate-map setting) was in train_model's params."""
    from mec.models.train import training_settings

    cfg = {"architecture": "UGRNN", "n_units": 16, "epochs": 2, "n_eval_batches": 4,
           "name": "m", "scale": "tiny"}
    assert training_settings(cfg) == training_settings({**cfg, "n_eval_batches": 9, "scale": "x",
                                                        "name": "other"})
    assert training_settings(cfg) != training_settings({**cfg, "epochs": 3})
