"""External models (mec.models.external): a pipeline network exported as a rate-map file, as
samples and as a callable scores exactly as the network itself; malformed input is refused
before any fit, naming model, file and problem; mec.score; RatInABox references."""

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from mec.models.external import ExternalModelError, external_problems, import_model

RIDGE = {"map_type": "sklinear", "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}}
MAPS = {"ridge": RIDGE, "corr": {"map_type": "corr", "map_kwargs": {}}}
# small enough to train in seconds (tests/test_knockouts.py's tiny network, shorter)
NET = dict(n_units=16, n_place_cells=16, batch_size=16, sequence_length=10, epochs=1,
           steps_per_epoch=5, learning_rate=0.01, train_arena=1.0, architecture="UGRNN")
EVAL = dict(n_batches=6, seeds=[0, 1])
LAYERS = ["g", "dc"]
FIT = dict(num_splits=2, robust=True, blocks={"k": 2})


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small synthetic dataset (1 m, 10 cm bins), a briefly trained network and its
    pipeline rate-map file (mec.models.export.export_ratemaps)."""
    pytest.importorskip("keras")
    from mec.data import save_dataset
    from mec.data.synthetic import simulate_dataset
    from mec.models.export import export_ratemaps
    from mec.models.train import train_model

    d = tmp_path_factory.mktemp("external")
    ds = simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=3, cells_per_animal=(6, 8),
                          session_min=4.0, bin_cm=10.0, seed=3, progress=False)
    ds_path = save_dataset(d / "data.h5", ds)
    train_model(NET, d / "net", verbose=0, workers=1)
    own = d / "net_1.0.h5"
    export_ratemaps(d / "net", ds_path, 1.0, EVAL["n_batches"], EVAL["seeds"], LAYERS, own)
    return d, ds_path, own


def _fit(ds_path, maps_path, out, layers=LAYERS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from mec.fits.pipeline import fit_model

        return pd.read_csv(fit_model(ds_path, maps_path, "m", 1.0, MAPS, out, layers=layers, **FIT))


def _network_batches(d, edges):
    """(batches, activations) of the network on the evaluation trajectories export_ratemaps
    walks (its own generator, in the box the data's edges span), for the samples."""
    from mec.models.loading import load_run
    from mec.models.export import _eval_generator

    model = load_run(d / "net")
    box = {"min_x": edges[0][0], "max_x": edges[0][-1], "min_y": edges[1][0], "max_y": edges[1][-1]}
    out = []
    for s in EVAL["seeds"]:
        gen = _eval_generator(model, box, s)
        for i in range(EVAL["n_batches"]):
            b = gen.batch(i, place_targets=False)
            out.append((b, model.activations(b, LAYERS)))
    return model, out


_MODEL = {}


def network_callable(positions, velocity, head_direction, init_position, box):
    """The pipeline network as a user's function: its place cells encode the start."""
    from mec.task import TaskBatch

    model = _MODEL["net"]
    b = TaskBatch(velocity=velocity, init_pos=init_position, positions=positions,
                  place_targets=None, init_place=model.place_cells.activation(init_position,
                                                                              dtype=np.float32))
    return model.activations(b, LAYERS)


def _assert_same_scores(a, b):
    assert len(a) == len(b) > 0
    keys = ["animal", "cell_id", "layer", "map", "setting"]
    m = a.merge(b, on=keys, suffixes=("_a", "_b"))
    assert len(m) == len(a)
    np.testing.assert_allclose(m["score_a"], m["score_b"], rtol=0, atol=1e-12, equal_nan=True)
    assert m["score_a"].notna().any()


def test_file_samples_and_callable_score_as_the_network(setup, tmp_path):
    d, ds_path, own = setup
    from mec.ratemaps import load_model_ratemaps, read_sample_counts

    ref = _fit(ds_path, own, tmp_path / "ref.csv")
    entry = {"n_eval_batches": EVAL["n_batches"], "batch_size": NET["batch_size"],
             "sequence_length": NET["sequence_length"]}

    # 1. rate maps, in the per-arena layout
    maps, (xe, ye), _ = load_model_ratemaps(own)
    f = tmp_path / "maps.h5"
    with h5py.File(f, "w") as h:
        h["arenas/1.0/x_edges"], h["arenas/1.0/y_edges"] = xe, ye
        h["arenas/1.0/sample_counts"] = read_sample_counts(own)
        for la, m in maps.items():
            h[f"arenas/1.0/{la}/resp"] = m
            h[f"arenas/1.0/{la}/unit_ids"] = np.arange(m.shape[2])
    out = import_model("m", {"source": "ratemaps", "path": str(f)}, ds_path, 1.0, tmp_path / "a.h5")
    _assert_same_scores(ref, _fit(ds_path, out, tmp_path / "a.csv"))

    # 2. samples: the network's activations along the trajectories, written with NumPy
    model, batches = _network_batches(d, (xe, ye))
    pos = np.concatenate([b.positions.reshape(-1, 2) for b, _ in batches]).astype(np.float64)
    acts = {la: np.concatenate([a[la].reshape(-1, a[la].shape[-1]) for _, a in batches])
            for la in LAYERS}
    np.savez(tmp_path / "samples.npz", positions=pos, **{f"activations/{k}": v for k, v in acts.items()})
    out = import_model("m", {"source": "samples", "path": str(tmp_path / "samples.npz")}, ds_path,
                       1.0, tmp_path / "b.h5")
    _assert_same_scores(ref, _fit(ds_path, out, tmp_path / "b.csv"))

    # 3. a callable on mec's own evaluation trajectories
    _MODEL["net"] = model
    out = import_model("m", dict(entry, source="python", callable=f"{__name__}:network_callable"),
                       ds_path, 1.0, tmp_path / "c.h5", seeds=EVAL["seeds"])
    _assert_same_scores(ref, _fit(ds_path, out, tmp_path / "c.csv"))
    # same maps bit for bit (float32 files), same sample counts
    np.testing.assert_array_equal(read_sample_counts(out), read_sample_counts(own))


def _maps_file(path, edges, layers=("g",), n_units=5, nan=False, unit_ids=None, arena="1.0"):
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h:
        h[f"arenas/{arena}/x_edges"], h[f"arenas/{arena}/y_edges"] = edges
        for la in layers:
            m = rng.random((len(edges[0]) - 1, len(edges[1]) - 1, n_units))
            if nan:
                m[2, 3, 1] = np.nan
            h[f"arenas/{arena}/{la}/resp"] = m
            if unit_ids is not None:
                h[f"arenas/{arena}/{la}/unit_ids"] = unit_ids
    return path


def _raise(**kw):
    raise RuntimeError("CUDA out of memory")


def _wrong_shape(positions, **kw):
    return {"g": np.zeros(positions.shape[:2] + (3,))[:, :-1]}


def _nan_output(positions, **kw):
    return {"g": np.full(positions.shape[:2] + (3,), np.nan)}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A dataset without a network: the refusals need no training."""
    from mec.data import load_dataset, save_dataset
    from mec.data.synthetic import simulate_dataset

    d = tmp_path_factory.mktemp("refusals")
    ds = simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=2, cells_per_animal=(4, 4),
                          session_min=3.0, bin_cm=10.0, seed=1, progress=False)
    p = save_dataset(d / "data.h5", ds)
    return d, p, tuple(np.asarray(e) for e in load_dataset(p).edges[1.0])


@pytest.mark.parametrize("case,match", [
    ("wrong_edges", r"bin edges differ: 11 bins .* vs 10 bins"),
    ("wrong_units", r"layer g: 3 unit_ids for 5 units"),
    ("missing_layer", r"layer\(s\) \['dc'\] missing \(the file has \['g'\]\)"),
    ("nan", r"layer g: NaN in 1 bin\(s\) of 1 unit\(s\)"),
    ("missing_arena", r"no maps for arena 1.0 \(the file has arenas \['2.2'\]"),
    ("samples_cm", r"positions lie outside the arena's edges"),
    ("samples_coverage", r"the samples visit \d+% of the arena's \d+ bins"),
    ("samples_nan", r"layer units: 1 NaN or infinite activation"),
])
def test_malformed_files_are_refused_naming_model_file_and_problem(small, tmp_path, case, match):
    d, ds_path, edges = small
    f = tmp_path / "m.h5"
    entry = {"source": "ratemaps", "path": str(f)}
    if case == "wrong_edges":
        _maps_file(f, (np.linspace(-0.55, 0.55, 12), edges[1]))
    elif case == "wrong_units":
        _maps_file(f, edges, unit_ids=np.arange(3))
    elif case == "missing_layer":
        _maps_file(f, edges)
        entry["layers"] = ["g", "dc"]
    elif case == "nan":
        _maps_file(f, edges, nan=True)
    elif case == "missing_arena":
        _maps_file(f, edges, arena="2.2")
    else:
        rng = np.random.default_rng(0)
        pos = rng.uniform(-0.5, 0.5, (4000, 2))
        acts = rng.random((4000, 3))
        if case == "samples_cm":
            pos = 100 * pos
        elif case == "samples_coverage":
            pos = pos * 0.5  # the central quarter only
        else:
            acts[5, 1] = np.nan
        f = tmp_path / "s.npz"
        np.savez(f, positions=pos, activations=acts)
        entry = {"source": "samples", "path": str(f)}
    with pytest.raises(ExternalModelError, match=match) as err:
        import_model("mynet", entry, ds_path, 1.0, tmp_path / "out.h5")
    assert "model 'mynet'" in str(err.value) and str(f) in str(err.value)
    assert not (tmp_path / "out.h5").exists()
    # the same problems are found when the workflow is planned (coverage needs binning: later)
    if case not in ("samples_coverage",):
        problems = external_problems({"mynet": entry}, tmp_path, ["1.0"], ds_path)
        assert len(problems) == 1 and problems[0].startswith("models.mynet.")
        assert "model 'mynet'" in problems[0] and str(f) in problems[0]


@pytest.mark.parametrize("fn,match", [
    ("_raise", r"model 'mynet': callable tests\.test_external:_raise raised RuntimeError: CUDA out of memory"),
    ("_wrong_shape", r"layer 'g': returned shape \(4, 4, 3\), expected \(batch, time, units\) = \(4, 5, n_units\)"),
    ("_nan_output", r"layer 'g': returned NaN or infinite values"),
])
def test_bad_callables_are_refused_with_the_models_name(small, tmp_path, fn, match):
    d, ds_path, _ = small
    entry = {"source": "python", "callable": f"tests.test_external:{fn}", "batch_size": 4,
             "sequence_length": 5, "n_eval_batches": 2}
    with pytest.raises(ExternalModelError, match=match):
        import_model("mynet", entry, ds_path, 1.0, tmp_path / "out.h5")


def test_planning_refuses_malformed_entries(tmp_path):
    models = {
        "a": {"source": "ratemaps"},                                   # no path
        "b": {"source": "samples", "path": "nowhere.h5"},              # no file
        "c": {"source": "python", "callable": "no_such_module_x:f"},   # not importable
        "d": {"source": "python", "callable": "justaname"},            # malformed
        "e": {"source": "ratinabox", "population": "grid", "path": "x.h5"},  # path of a file source
        "f": {"architecture": "UGRNN", "callable": "m:f"},             # a trained network
        "g": {"source": "ratinabox", "population": "grid", "kwargs": {"n_grids": 3}},  # typo
    }
    problems = external_problems(models, tmp_path, ["1.0"])
    text = "\n".join(problems)
    assert len(problems) == 7, text
    for needle in ("models.a.path: source 'ratemaps' needs the path",
                   "models.b.path: 'nowhere.h5' (resolved to", "models.c.callable: module 'no_such_module_x'",
                   "models.d.callable: 'justaname'", "models.e.path: used by source",
                   "models.f.callable: used by external models only",
                   "models.g.kwargs: ['n_grids'] are not sizes of a RatInABox population"):
        assert needle in text


def test_ratinabox_grid_population_is_seeded_and_leaves_numpy_alone(small):
    pytest.importorskip("ratinabox")
    from mec.models.references import POPULATIONS, reference_maps
    from mec.scores import grid_scores

    _, _, (xe, ye) = small
    state = np.random.get_state()[1].copy()
    a = reference_maps("grid", xe, ye, seed=4, n_grid=12)["grid"]
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state restored
    np.testing.assert_array_equal(a, reference_maps("grid", xe, ye, seed=4, n_grid=12)["grid"])
    assert a.shape == (10, 10, 12) and np.isfinite(a).all() and a.min() >= 0
    assert not np.array_equal(a, reference_maps("grid", xe, ye, seed=5, n_grid=12)["grid"])
    # a finer grid shows the hexagonal pattern: most of these cells score as grid cells
    e = np.linspace(-0.5, 0.5, 41)
    fine = reference_maps("grid", e, e, seed=0, n_grid=12, min_spacing=0.35)["grid"]
    assert np.mean(grid_scores(fine) > 0.3) > 0.5
    assert set(POPULATIONS) == {"grid", "bvc", "place", "mixed"}


def test_score_equals_the_pipeline_tables(small, tmp_path):
    """mec.score of samples is the same table as the workflow functions make by hand."""
    import mec
    from mec.fits.pipeline import fit_model, floors, interanimal
    from mec.summary import best_layer_table, ceiling_table, predictivity_table
    from mec.summary.tables import load_scores

    d, ds_path, edges = small
    f = _maps_file(tmp_path / "m.h5", edges, layers=("g", "h"))
    cfg = {"fits": {"maps": {"ridge": RIDGE}, "num_splits": 2, "blocks": {"k": 2},
                    "floors": {"controls": ["poisson"]}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        got = mec.score(str(f), ds_path, config=cfg, name="mine")
        kw = dict(num_splits=2, robust=True, blocks={"k": 2})
        c = interanimal(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "c.csv", **kw)
        fl = floors(ds_path, 1.0, {"ridge": RIDGE}, tmp_path / "fl.csv", controls=["poisson"], **kw)
        imp = import_model("mine", {"source": "ratemaps", "path": str(f)}, ds_path, 1.0,
                           tmp_path / "mine_1.0.h5")
        fi = fit_model(ds_path, imp, "mine", 1.0, {"ridge": RIDGE}, tmp_path / "fi.csv", layers=None, **kw)
    ceil = ceiling_table(load_scores([c], "consistency"), load_scores([fl], "floor"))
    want = best_layer_table(predictivity_table(load_scores([fi], "fit"), ceil))
    assert list(got["setting"]) == ["paper", "robust"] and (got["source"] == "ratemaps").all()
    assert (got["condition"] == "external").all()
    for col in ("median", "ceiling", "floor", "normalized"):
        np.testing.assert_allclose(got[col], want[col], rtol=0, atol=1e-12)
    assert list(got["best_layer"]) == list(want["best_layer"])


def toy_callable(positions, velocity, head_direction, init_position, box, frequency=6.0):
    """A user's model of two layers: spatial cosines and a speed cell (tests and the README)."""
    speed = np.linalg.norm(velocity, axis=-1, keepdims=True)
    return {"cos": 1.0 + np.cos(frequency * positions), "speed": speed}


def test_readme_example_runs(small, tmp_path, monkeypatch, capsys):
    """docs/external.md "Bring your own model": the block runs as written (here on a small dataset at
    the path it reads) and prints one row per setting."""
    import re
    import shutil

    from doctext import doc_text

    text = doc_text()  # the block is in docs/external.md
    code = re.search(r"```python\n(# example: bring your own model.*?)```", text, re.S).group(1)
    (tmp_path / "results" / "data").mkdir(parents=True)
    shutil.copy(small[1], tmp_path / "results" / "data" / "synthetic.h5")
    monkeypatch.chdir(tmp_path)
    ns = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(code, "README example", "exec"), ns)  # noqa: S102
    t = ns["table"]
    assert list(t["setting"]) == ["paper", "robust"] and (t["source"] == "samples").all()
    assert t["median"].notna().all() and "normalized" in capsys.readouterr().out
