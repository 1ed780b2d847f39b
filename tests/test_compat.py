"""The original's API (neuroailab/mec), exactly: signatures, positional calls, defaults, result
type, argument checks, and every code block of both READMEs (this project's now in
docs/api.md) executed as written.

The original's signatures below are reference data read from the original code (its
mec/neural_fits, mec/models/utils.py and mec/core/constants.py); the project's additions must
come after them, keyword-only or as ``**kwargs``.
"""

import inspect
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from mec.fits.core import interanimal_scores, model_scores
from mec.neural_fits import utils as nf_utils
from mec.neural_fits.comparisons import get_fits
from mec.neural_fits.utils import generate_train_test_splits, package_scores, unit_concat
from conftest import requires_shared

xr = pytest.importorskip("xarray")

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL_README = ROOT.parent / "shared" / "reference" / "mec_README.md"
_E = inspect.Parameter.empty

# (name, default) of each positional parameter of the original, in order.
ORIGINAL_SIGNATURES = {
    "get_fits": [("dataset", _E), ("model", None), ("model_resp", None), ("cfg", None),
                 ("arena_sizes", None), ("map_type", "sklinear"), ("map_kwargs", {}),
                 ("train_frac", 0.2), ("num_train_test_splits", 10), ("split_start_seed", 0),
                 ("n_eval_seq", 100), ("interanimal_mode", "holdout"), ("trajectory_seed", 0),
                 ("model_pred_layer", "g"), ("shape_2d", None), ("map_kwargs_per_cell", None)],
    "generate_train_test_splits": [("num_states", _E), ("split_start_seed", 0), ("num_splits", 10),
                                   ("train_frac", 0.2), ("shape_2d", None)],
    "unit_concat": [("d", _E), ("arena_size", _E), ("inner_key", None)],
    "load_trained_model": [("load_dir", None), ("run_ID", None), ("ckpt_file", None), ("options", None),
                           ("rnn_type", "UGRNN"), ("activation", "relu"), ("random_init", False),
                           ("place_cell_identity", False), ("cue_2d_input_kwargs", None)],
    "configure_options": [("save_dir", None), ("rnn_type", "UGRNN"), ("activation", "relu"),
                          ("place_cell_identity", False), ("cue_2d_input_kwargs", None),
                          ("reward_zone_size", None), ("reward_zone_prob", 1.0),
                          ("reward_zone_x_offset", 0.15), ("reward_zone_y_offset", 0.15),
                          ("reward_zone_min_x", None), ("reward_zone_max_x", None),
                          ("reward_zone_min_y", None), ("reward_zone_max_y", None),
                          ("reward_zone_navigate_timesteps", None), ("n_epochs", 100),
                          ("n_steps", 1000), ("box_width", 2.2), ("box_height", 2.2),
                          ("min_x", None), ("min_y", None), ("max_x", None), ("max_y", None),
                          ("run_ID", None)],
}


def _function(name):
    if name in ("load_trained_model", "configure_options"):
        pytest.importorskip("keras")
        import mec.models.utils as mu
        return getattr(mu, name)
    return {"get_fits": get_fits, "generate_train_test_splits": generate_train_test_splits,
            "unit_concat": unit_concat}[name]


@pytest.mark.parametrize("name", sorted(ORIGINAL_SIGNATURES))
def test_signature_is_the_originals(name):
    params = list(inspect.signature(_function(name)).parameters.values())
    positional = [(p.name, p.default) for p in params if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert positional == ORIGINAL_SIGNATURES[name]
    # what the project adds comes after: keyword-only, or **kwargs
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params[len(positional):])


def test_constants_have_the_originals_names_and_values():
    from mec.core import constants as C

    np.testing.assert_allclose(C.ALPHA_RNG, [10.0 ** e for e in np.linspace(-9, 9, 99)], rtol=1e-12)
    np.testing.assert_allclose(C.ALPHA_RNG_SHORT, [10.0 ** e for e in np.linspace(-9, 9, 9)], rtol=1e-12)
    for grid in (C.ALPHA_RNG, C.ALPHA_RNG_SHORT):
        assert np.isclose(grid, 1.0, rtol=1e-12).sum() == 1  # "this includes 1.0"
    for grid, n in ((C.L1_RATIO_RNG, 99), (C.L1_RATIO_RNG_SHORT, 9)):
        assert len(grid) == n + 1 and grid[0] == 1e-16
        np.testing.assert_allclose(np.diff(grid[1:]), 0.99 / (n - 1), rtol=1e-9)
        assert grid[1] == 0.01 and math.isclose(grid[-1], 1.0)
    cues = [C.CUE_1, C.CUE_2, C.CUE_3, C.CUE_4, C.CUE_5]
    assert C.CUE_2D_INPUT_KWARGS == {"cue_extents": cues, "cue_prob": 0.5}
    assert C.CUE_4 == {"center_x": 0.6, "center_y": 0.5, "width": 0.1, "height": 0.1}
    assert C.REWARD_KWARGS == {"reward_zone_size": 0.2, "reward_zone_prob": 0.625,
                               "reward_zone_min_x": 0.65, "reward_zone_max_x": 0.85,
                               "reward_zone_min_y": 0.65, "reward_zone_max_y": 0.85,
                               "reward_zone_navigate_timesteps": 7}


# --------------------------------------------------------------------------------------------
# small data
# --------------------------------------------------------------------------------------------
def smooth(rng, shape, sigma=1.5):
    return gaussian_filter(rng.standard_normal(shape), (sigma, sigma, 0))


def toy_dataset(seed=0, n_animals=3, n_cells=4, nx=9, ny=8, int_ids=False):
    """Animals sharing a latent population, the original's dict form {1.0: {animal: ...}}."""
    rng = np.random.default_rng(seed)
    latent = smooth(rng, (nx, ny, 5))
    out = {}
    for a in range(n_animals):
        resp = latent @ rng.standard_normal((5, n_cells)) + 0.1 * rng.standard_normal((nx, ny, n_cells))
        ids = np.arange(a * 100, a * 100 + n_cells) if int_ids else np.array([f"a{a}_c{j}" for j in range(n_cells)])
        out[f"a{a}"] = {"resp": resp, "cell_ids": ids}
    return {1.0: out}


# --------------------------------------------------------------------------------------------
# positional calls, defaults and results
# --------------------------------------------------------------------------------------------
def test_positional_calls_work_as_in_the_original():
    ds = toy_dataset(seed=1)
    mresp = smooth(np.random.default_rng(2), (9, 8, 6))
    pos = get_fits(ds, None, mresp, None, [1.0])
    kw = get_fits(dataset=ds, model_resp=mresp, arena_sizes=[1.0])
    ref = model_scores(mresp, ds[1.0], num_splits=10)
    for animal in ds[1.0]:
        np.testing.assert_array_equal(pos[1.0][animal]["corr"].values, kw[1.0][animal]["corr"].values)
        np.testing.assert_allclose(pos[1.0][animal]["corr"].values, ref[animal], atol=1e-12)
    # num_train_test_splits is the 9th positional argument; 3 splits differ from the default 10
    three = get_fits(ds, None, mresp, None, [1.0], "sklinear", {}, 0.2, 3)
    np.testing.assert_allclose(three[1.0]["a0"]["corr"].values,
                               model_scores(mresp, ds[1.0], num_splits=3)["a0"], atol=1e-12)

    # generate_train_test_splits(num_states, split_start_seed, num_splits, train_frac)
    sp = generate_train_test_splits(400, 0, 10, 0.2)
    assert len(sp) == 10
    for s, split in enumerate(sp):  # independent: the original's RandomState recipe
        perm = np.random.RandomState(s).permutation(400)
        np.testing.assert_array_equal(split["train"], perm[:80])
        np.testing.assert_array_equal(split["test"], perm[80:])
    seeded = generate_train_test_splits(50, 7, 2, 0.5)
    np.testing.assert_array_equal(seeded[1]["train"], np.random.RandomState(8).permutation(50)[:25])
    quad = generate_train_test_splits(16, 0, 10, "quad", (4, 4))
    assert len(quad) == 4 and sorted(np.concatenate([q["test"] for q in quad])) == list(range(16))


def test_results_are_dataarrays_along_units_as_in_the_original(monkeypatch):
    ds = toy_dataset(seed=3, int_ids=True)
    res = get_fits(ds, arena_sizes=[1.0], num_splits=2)
    corr = res[1.0]["a1"]["corr"]
    assert isinstance(corr, xr.DataArray) and corr.dims == ("units",)
    assert list(corr["units"].values) == [100, 101, 102, 103]  # ids kept as given (ints here)
    assert float(corr.sel(units=102)) == float(corr.values[2])
    ref = interanimal_scores(ds[1.0], num_splits=2)
    np.testing.assert_allclose(corr.values, ref["a1"], atol=1e-12)
    allc = unit_concat(res, 1.0, "corr")
    assert isinstance(allc, xr.DataArray) and allc.sizes["units"] == 12
    np.testing.assert_allclose(np.median(allc), np.median(np.concatenate(list(ref.values()))), atol=1e-12)

    # without xarray: a pandas Series with index "units"; xr.DataArray(series) converts back
    monkeypatch.setattr(nf_utils, "has_xarray", lambda: False)
    plain = get_fits(ds, arena_sizes=[1.0], num_splits=2)[1.0]["a1"]["corr"]
    import pandas as pd
    assert isinstance(plain, pd.Series) and plain.index.name == "units"
    assert xr.DataArray(plain).equals(corr)
    assert plain.loc[102] == float(corr.sel(units=102))
    s = unit_concat({1.0: {a: r["corr"] for a, r in get_fits(ds, arena_sizes=[1.0], num_splits=2)[1.0].items()}},
                    1.0)
    assert isinstance(s, pd.Series) and len(s) == 12


def test_unit_concat_defaults_to_inner_key_none():
    """Per-animal values (grid scores, say) concatenate with the default inner_key=None; the
    project's earlier default "corr" silently returned [] for them."""
    grid = {2.2: {"m1": package_scores([0.1, 0.5], ["m1_0", "m1_1"]),
                  "m2": package_scores([0.9], ["m2_0"])}}
    out = unit_concat(grid, 2.2)
    assert list(out.values) == [0.1, 0.5, 0.9] and list(out["units"].values) == ["m1_0", "m1_1", "m2_0"]
    assert list(unit_concat({1.0: {"a": np.array([1.0, 2.0]), "b": [3.0]}}, 1.0)) == [1.0, 2.0, 3.0]
    fits = get_fits(toy_dataset(seed=4), num_splits=2)
    with pytest.raises(ValueError, match="inner_key"):
        unit_concat(fits, 1.0)  # dicts of metrics need inner_key="corr"
    with pytest.raises(ValueError, match="inner_key='pearson'"):
        unit_concat(fits, 1.0, inner_key="pearson")
    with pytest.raises(ValueError, match="arena 2.2"):
        unit_concat(fits, 2.2, "corr")


def test_per_cell_kwargs_in_the_originals_form_with_int_ids():
    ds = toy_dataset(seed=5, int_ids=True)
    per_cell = {int(c): {"map_kwargs": {"regression_type": "Ridge", "alpha": 10.0 ** (c % 3)}}
                for r in ds[1.0].values() for c in r["cell_ids"]}
    res = get_fits(ds, arena_sizes=[1.0], num_splits=2, map_kwargs_per_cell=per_cell)
    one = [c for c in ds[1.0]["a2"]["cell_ids"] if c % 3 == 2][0]
    j = list(ds[1.0]["a2"]["cell_ids"]).index(one)
    src = np.concatenate([ds[1.0][a]["resp"] for a in ("a0", "a1")], axis=-1)
    ref = model_scores(src, {"a2": {"resp": ds[1.0]["a2"]["resp"][..., j:j + 1], "cell_ids": [one]}},
                       "sklinear", {"alpha": 100.0}, num_splits=2)["a2"][0]
    assert res[1.0]["a2"]["corr"].sel(units=one) == pytest.approx(ref, abs=1e-12)


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def test_negative_split_start_seed_is_named():
    with pytest.raises(ValueError, match=r"split_start_seed.*-1"):
        generate_train_test_splits(100, -1)
    from mec.fits.splits import generate_train_test_splits as core_splits
    with pytest.raises(ValueError, match=r"split_start_seed.*-3"):
        core_splits(100, split_start_seed=-3)
    with pytest.raises(ValueError, match="split_start_seed"):
        core_splits(100, split_start_seed=2.5)
    ds = toy_dataset()

    class Exploding:  # get_fits must refuse the seed before it touches the model
        def __getattr__(self, name):
            raise AssertionError("model used before the arguments were checked")

    with pytest.raises(ValueError, match=r"split_start_seed.*-1"):
        get_fits(ds, Exploding(), None, {"box_width": 1.0, "box_height": 1.0}, [1.0], split_start_seed=-1)
    with pytest.raises(ValueError, match=r"split_start_seed"):
        get_fits(ds, split_start_seed=-1)


def test_get_fits_checks_map_kwargs_before_any_work():
    ds = toy_dataset()
    with pytest.raises(ValueError, match=r"map_kwargs\.regression_type.*'Ridgee'.*did you mean 'Ridge'"):
        get_fits(ds, map_kwargs={"regression_type": "Ridgee"})
    with pytest.raises(ValueError, match=r"map_kwargs\.percentil\b.*percentil=90.*'percentile'"):
        get_fits(ds, map_type="corr", map_kwargs={"percentil": 90})
    with pytest.raises(ValueError, match=r"map_kwargs\.n_components.*got 0"):
        get_fits(ds, map_type="pls", map_kwargs={"n_components": 0})


@pytest.mark.parametrize("kwargs,expect", [
    ({"box_width": -2.2}, r"box_width.*-2\.2"),
    ({"box_height": 0}, r"box_height.*=0"),
    ({"box_width": float("nan")}, r"box_width.*nan"),
    ({"box_width": "2.2"}, r"box_width.*'2\.2'"),
    ({"n_epochs": -1}, r"n_epochs.*-1"),
    ({"n_steps": 0}, r"n_steps.*=0"),
    ({"n_steps": 2.5}, r"n_steps.*2\.5"),
    ({"reward_zone_size": -0.2}, r"reward_zone_size.*-0\.2"),
    ({"reward_zone_size": 0.2, "reward_zone_prob": 1.5}, r"reward_zone_prob.*1\.5"),
    ({"reward_zone_size": 0.2, "reward_zone_navigate_timesteps": 0}, r"reward_zone_navigate_timesteps.*=0"),
    ({"min_x": -1.0}, r"min_x=-1\.0.*max_x=None"),
    ({"box_width": 1.0, "box_height": 1.0, "min_x": 0.0, "max_x": 2.0, "min_y": 0.0, "max_y": 1.0},
     r"do not span.*box_width=1\.0"),
    ({"Ng": 0}, r"Ng.*=0"),
    ({"batch_size": 8.0}, r"batch_size.*8\.0"),
    ({"place_cell_identity": "yes"}, r"place_cell_identity.*'yes'"),
    ({"box_widht": 2.2}, r"'box_widht'.*did you mean 'box_width'"),
])
def test_configure_options_refuses_bad_arguments(kwargs, expect):
    pytest.importorskip("keras")
    from mec.models.utils import configure_options

    with pytest.raises(ValueError, match=expect) as err:
        configure_options(**kwargs)
    assert "configure_options" in str(err.value)


def test_configure_options_accepts_the_originals_calls():
    pytest.importorskip("keras")
    from mec.core.constants import REWARD_KWARGS
    from mec.models.utils import configure_options

    o = configure_options(box_width=1.0, box_height=1.0)
    assert (o.min_x, o.max_x, o.min_y, o.max_y) == (-0.5, 0.5, -0.5, 0.5)
    assert o.box_width == 1.0 and o.Ng == 4096 and o.Np == 512
    o = configure_options(place_cell_identity=True, **REWARD_KWARGS)
    assert o.Np == 2 and o.reward_zone_prob == 0.625 and o.reward_zone_navigate_timesteps == 7
    o = configure_options(box_width=1, box_height=1, min_x=0, max_x=1, min_y=0, max_y=1, Ng=16)
    assert (o.min_x, o.max_y, o.Ng) == (0.0, 1.0, 16)


def test_load_trained_model_arguments(tmp_path):
    pytest.importorskip("keras")
    from mec.models.utils import configure_options, load_trained_model

    opts = configure_options(save_dir=str(tmp_path), run_ID="nothing", Ng=12, Np=20, batch_size=4,
                             sequence_length=5, box_width=1.0, box_height=1.0, activation="tanh")
    m = load_trained_model(options=opts, random_init=True)  # no config.json: the options define it
    assert (m.cfg["n_units"], m.cfg["n_place_cells"], m.cfg["train_arena"], m.cfg["activation"]) == (12, 20, 1.0, "tanh")
    with pytest.raises(ValueError, match="run_ID"):
        load_trained_model(load_dir=tmp_path)
    with pytest.raises(ValueError, match=r"reward_zone_sise.*did you mean 'reward_zone_size'"):
        load_trained_model(load_dir=tmp_path, run_ID="x", random_init=True, reward_zone_sise=0.2)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing" / "config.json")):
        load_trained_model(options=opts)  # load_dir and run_ID come from options, as in the original


# --------------------------------------------------------------------------------------------
# the READMEs' code blocks, executed as written
# --------------------------------------------------------------------------------------------
SHELL_START = re.compile(r"^(conda |git |cd |pip |python \S+\.py|\./|\.venv/)")
CODE_START = re.compile(r"^(from [\w.]+ import|import \w|[A-Za-z_][\w.]*\s*=[^=]|[A-Za-z_][\w.]*\()")


def original_readme_blocks(text):
    """Code blocks of the original README (plain text, no fences): runs of paragraphs that
    start like code, as (kind, code); kind is python, shell or bibtex."""
    blocks, current = [], None
    for para in re.split(r"\n\s*\n", text):
        first = para.strip().splitlines()[0] if para.strip() else ""
        kind = ("shell" if SHELL_START.match(first) else "bibtex" if first.startswith("@")
                else "python" if CODE_START.match(first) else None)
        if kind == "python" and current is not None and current[0] == "python":
            current[1].append(para.strip("\n"))
            continue
        if kind is not None:
            current = (kind, [para.strip("\n")])
            blocks.append(current)
        else:
            current = None
    return [(k, "\n\n".join(parts)) for k, parts in blocks]


def project_readme_blocks(text):
    return [(lang or "text", code) for lang, code in re.findall(r"```(\w*)\n(.*?)```", text, re.S)]


def write_original_checkpoint(keras_model, prefix):
    """The weights of a model in the released TF2 checkpoint layout (mec.models.utils
    _ORIGINAL_KEYS), written at exactly ``prefix`` (e.g. .../ckpts/ckpt-101)."""
    import tensorflow as tf

    class Obj(tf.Module):
        pass

    def dense(layer):
        o = Obj()
        o.kernel = tf.Variable(np.asarray(layer.kernel))
        o.bias = tf.Variable(np.asarray(layer.bias))
        return o

    net = Obj()
    net.encoder, net.M, net.dense, net.decoder = (dense(keras_model.get_layer(n)) for n in ("encoder", "M", "g", "dc"))
    cell = keras_model.get_layer("pre_g").cell
    net.RNN = Obj()
    net.RNN.cell = Obj()
    net.RNN.cell.weight = tf.Variable(np.concatenate([np.asarray(cell.kernel), np.asarray(cell.recurrent_kernel)], 0))
    net.RNN.cell.bias = tf.Variable(np.asarray(cell.bias))
    tf.train.Checkpoint(step=tf.Variable(0), net=net).write(str(prefix))


TINY_MODEL = dict(n_units=12, n_place_cells=16, batch_size=8, sequence_length=10, epochs=1,
                  steps_per_epoch=2, learning_rate=1e-3, train_arena=2.2)


@pytest.fixture(scope="module")
def readme_world(tmp_path_factory):
    """A working directory with what the READMEs expect: results/data/synthetic.h5 (arenas
    1.0 and 2.2 m, 5 cm bins, three animals), a trained tiny results/models/ugrnn_relu, and
    [DIR_PATH]/mecmodels/ with the three released runs in the original checkpoint layout
    (ckpts/ckpt-101), each a tiny model with its config.json."""
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from mec.data import save_dataset
    from mec.models.train import train_model
    from mec.models.utils import load_trained_model
    from mec.ratemaps import make_edges

    work = tmp_path_factory.mktemp("readme")
    rng = np.random.default_rng(0)
    data, edges = {}, {}
    for arena in (1.0, 2.2):
        e = make_edges(-arena / 2, arena / 2)
        n = len(e) - 1
        latent = smooth(rng, (n, n, 5), sigma=2.0)
        data[arena] = {f"rat{a}": {"resp": np.abs(latent @ rng.standard_normal((5, 4))),
                                   "cell_ids": np.array([f"rat{a}_cell{j}" for j in range(4)])}
                       for a in range(3)}
        edges[arena] = (e, e)
    save_dataset(work / "results" / "data" / "synthetic.h5", data, edges=edges)
    train_model(dict(TINY_MODEL), work / "results" / "models" / "ugrnn_relu", verbose=0, workers=1)
    mecmodels = work / "DIR" / "mecmodels"
    for run, extra in (("UGRNN_relu", {}), ("CueUGRNN_relu", {"cues": True}),
                       ("UGRNN_relu_reward", {"reward_zone": True})):
        train_model(dict(TINY_MODEL, untrained=True, **extra), mecmodels / run, verbose=0, workers=1)
        keras_model = load_trained_model(load_dir=mecmodels, run_ID=run, rnn_type=None).keras_model
        write_original_checkpoint(keras_model, mecmodels / run / "ckpts" / "ckpt-101")
    return work


def run_blocks(blocks, namespace, substitutions):
    for _, code in blocks:
        for placeholder, value in substitutions.items():
            code = code.replace(placeholder, value)
        exec(compile(textwrap.dedent(code), "<README block>", "exec"), namespace)  # noqa: S102


@pytest.mark.slow
def test_original_readme_code_runs(readme_world, monkeypatch):
    """Every Python block of the original's README, in order, in one namespace. Substituted:
    [DIR_PATH] (the folder of the released checkpoints: tiny ones in the original layout here),
    and the two names the README leaves to the reader, ``dataset`` and ``ARENA_SIZE``."""
    from mec.data import load_dataset
    from mec.models.utils import TrainedModel

    blocks = original_readme_blocks(requires_shared(ORIGINAL_README).read_text())
    skipped = [(k, c.splitlines()[0]) for k, c in blocks if k != "python"]
    # Not Python, so not run: installation and training commands (this project trains with
    # Snakemake), the checkpoint download, and the citation.
    assert skipped == [
        ("shell", "conda create -y -n your_env python=3.6.10 anaconda"),
        ("shell", "git clone https://github.com/neuroailab/mec"),
        ("shell", 'python run_trainer.py --gpu=[GPU_ID] --rnn_type="UGRNN" --activation="relu" '
                  '--save_dir=[MODEL_SAVE_DIR] --run_ID="ugrnn_relu"'),
        ("shell", 'python run_trainer.py --gpu=[GPU_ID] --rnn_type="CueUGRNN" --activation="relu" '
                  '--train_with_cues=True --cue_prob=0.5 --save_dir=[MODEL_SAVE_DIR] --run_ID="cueugrnn_relu"'),
        ("shell", 'python run_trainer.py --gpu=[GPU_ID] --rnn_type="UGRNN" --activation="relu" '
                  '--reward_zone_size=0.2 --save_dir=[MODEL_SAVE_DIR] --run_ID="ugrnn_relu_reward"'),
        ("shell", "./get_checkpoints.sh"),
        ("bibtex", "@inproceedings{mectask2021,"),
    ]
    # "# example: ..." blocks need the shared recordings and run in
    # tests/test_workflow.py::test_second_experiment_leaves_the_first_intact_and_runs_a_rectangle
    examples = [c for k, c in blocks if k == "python" and c.startswith("# example:")]
    # "# example: bring your own model" runs in tests/test_external.py on a synthetic dataset
    assert examples == [c for c in examples if c.startswith(("# example: rectangle recordings",
                                                             "# example: bring your own model"))]
    python = [(k, c) for k, c in blocks if k == "python" and not c.startswith("# example:")]
    assert len(python) == 6
    monkeypatch.chdir(readme_world)
    ns = {"dataset": load_dataset("results/data/synthetic.h5"), "ARENA_SIZE": 1.0}
    run_blocks(python, ns, {"[DIR_PATH]": str(readme_world / "DIR")})

    for name in ("ugrnn_relu_model", "cue_ugrnn_relu_model", "reward_ugrnn_relu_model"):
        assert isinstance(ns[name], TrainedModel)
    assert ns["cue_ugrnn_relu_model"].cfg["cues"] and ns["reward_ugrnn_relu_model"].cfg["reward_zone"]
    # the released-layout checkpoint carries the weights it was written from
    import keras
    ref = keras.models.load_model(readme_world / "DIR" / "mecmodels" / "UGRNN_relu" / "model.keras", compile=False)
    for a, b in zip(ns["ugrnn_relu_model"].keras_model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    results, model_results = ns["results"], ns["model_results"]
    assert set(results) == {1.0, 2.2} and set(model_results) == {2.2}
    ref = interanimal_scores(ns["dataset"][1.0])
    np.testing.assert_allclose(results[1.0]["rat0"]["corr"].values, ref["rat0"], atol=1e-12)
    for animal, res in model_results[2.2].items():
        assert res["corr"].dims == ("units",) and res["corr"].sizes["units"] == 4
        assert np.isfinite(res["corr"].values).all()


@pytest.mark.slow
def test_project_readme_code_runs(readme_world, monkeypatch):
    """Every Python block of this project's README and docs/*.md (the original API's snippets
    are in docs/api.md), as written, in a folder holding the results/ it reads (made by the
    fixture, not by the workflow)."""
    from doctext import doc_text

    blocks = project_readme_blocks(doc_text())
    # "# example: ..." blocks need the shared recordings and run in
    # tests/test_workflow.py::test_second_experiment_leaves_the_first_intact_and_runs_a_rectangle
    # (docs/recordings.md)
    examples = [c for k, c in blocks if k == "python" and c.startswith("# example:")]
    # "# example: bring your own model" runs in tests/test_external.py on a synthetic dataset
    # (docs/external.md)
    assert examples == [c for c in examples if c.startswith(("# example: rectangle recordings",
                                                             "# example: bring your own model"))]
    python = [(k, c) for k, c in blocks if k == "python" and not c.startswith("# example:")]
    others = {k for k, _ in blocks if k != "python"}
    # shell commands and config examples: run by test_workflow, not here
    assert others <= {"bash", "text", "yaml"}, others
    assert len(python) >= 3
    monkeypatch.chdir(readme_world)
    # docs/extending.md registers a toy architecture and loader: this process only, undone here
    from mec.data.loaders import LOADERS
    from mec.models.architectures import ARCHITECTURES
    saved = dict(ARCHITECTURES), dict(LOADERS)
    ns = {}
    try:
        run_blocks(python, ns, {})
    finally:
        for registry, before in zip((ARCHITECTURES, LOADERS), saved):
            registry.clear()
            registry.update(before)
    ds = ns["dataset"]
    med = np.median(unit_concat(ns["results"], 1.0, "corr"))
    ref = np.median(np.concatenate(list(interanimal_scores(ds[1.0]).values())))
    assert med == pytest.approx(ref, abs=1e-12)
    assert set(ns["model_results"]) == {2.2}
    assert isinstance(ns["corr"], xr.DataArray)
    assert list(ns["series"].index) == list(ns["corr"]["units"].values)

