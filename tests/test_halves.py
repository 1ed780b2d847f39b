"""The halves setting (mec.fits.halves, methods §7.8) and the noise correction (methods §7.9):
independence of the halves (noise scores about 0), per-half counts through the contract and
the loaders, the old-file error, Spearman-Brown, and the settings' plumbing."""

from pathlib import Path

import re

import numpy as np
import pandas as pd
import pytest

from mec.data import load_dataset, save_dataset
from mec.data.contract import Dataset, DatasetError
from mec.fits.core import fit_scores
from mec.fits.halves import HalvesMissingError, half_maps, halves_fit_scores, setting_scores
from mec.fits.reliability import (corrected_scores, half_correlation, reliability_table,
                                  spearman_brown)
from mec.fits.settings import (HALVES_SETTING, SETTING_NAMES, check_fit_settings, dataset_for,
                               make_settings)
from mec.ratemaps import PAPER, bin_spikes, bin_spikes_halves, rates_from_counts, time_halves

N = 20  # bins per side


def _fields(rng, n_cells):
    """(N, N, n_cells) smooth tuning: one Gaussian field per cell at a random place."""
    g = np.arange(N) + 0.5
    cx, cy = rng.uniform(0, N, (2, n_cells))
    return 2.0 + 20.0 * np.exp(-((g[:, None, None] - cx) ** 2 + (g[None, :, None] - cy) ** 2)
                               / (2 * 3.0 ** 2))


def _toy(tuned: bool, n_animals=4, n_cells=25, seed=0, rate_scale=1.0) -> Dataset:
    """A dataset of animals whose cells share the same tuning across animals (tuned) or have
    none (constant rates), with Poisson counts drawn independently in each half; rates
    times ``rate_scale`` (lower: noisier maps)."""
    rng = np.random.default_rng(seed)
    rates = rate_scale * (_fields(rng, n_cells) if tuned else np.full((N, N, n_cells), 5.0))
    edges = (np.linspace(-0.5, 0.5, N + 1), np.linspace(-0.5, 0.5, N + 1))
    ds = Dataset({1.0: {}}, edges={1.0: edges}, arenas={1.0: {"shape": "square", "size": 1.0}},
                 recipes={1.0: PAPER}, attrs={"halves_chunk_s": 60.0})
    for a in range(n_animals):
        name = f"m{a}"
        occ = rng.uniform(1.0, 4.0, (2, N, N))                      # s per bin and half
        hocc = np.repeat(occ[..., None], n_cells, axis=3)
        hc = rng.poisson(rates[None] * hocc).astype(float)
        counts, total = hc.sum(0), hocc.sum(0)
        ds[1.0][name] = {"resp": rates_from_counts(counts, total, PAPER),
                         "cell_ids": np.array([f"{name}_c{c}" for c in range(n_cells)])}
        ds.spike_counts.setdefault(1.0, {})[name] = counts
        ds.occupancy.setdefault(1.0, {})[name] = total
        ds.half_counts.setdefault(1.0, {})[name] = hc
        ds.half_occupancy.setdefault(1.0, {})[name] = hocc
    return ds


def _others(ds, recipe):
    from mec.fits.settings import dataset_for

    data = dataset_for(ds, 1.0, recipe)[1.0]
    maps = {k: np.asarray(r["resp"]) for k, r in data.items()}
    return lambda animal: np.concatenate([maps[k] for k in maps if k != animal], axis=-1)


RIDGE = dict(map_type="sklinear", map_kwargs={"regression_type": "Ridge", "alpha": 1.0})


def test_untuned_noise_scores_zero_in_halves_but_not_in_paper():
    """Known answer: cells with no tuning at all have nothing one half can tell about the
    other, so their inter-animal consistency is about 0 in the halves setting; the paper's
    zero-filled smoothing and random bins score the same noise far above 0."""
    ds = _toy(tuned=False)
    s = make_settings(0.2, robust=False, halves=True)
    halves = np.concatenate(list(setting_scores(ds, 1.0, s[HALVES_SETTING],
                                                _others(ds, s[HALVES_SETTING].source_recipe),
                                                num_splits=4, **RIDGE).values()))
    paper = np.concatenate(list(setting_scores(ds, 1.0, s["paper"], _others(ds, PAPER),
                                               num_splits=4, **RIDGE).values()))
    assert abs(np.median(halves)) < 0.05
    assert np.median(paper) > 0.2


def test_tuned_cells_keep_their_score_in_halves():
    ds = _toy(tuned=True)
    st = make_settings(0.2, robust=False, halves=True)[HALVES_SETTING]
    sc = np.concatenate(list(setting_scores(ds, 1.0, st, _others(ds, st.source_recipe),
                                            num_splits=4, **RIDGE).values()))
    assert np.median(sc) > 0.6


def test_noise_sources_score_zero_against_tuned_targets_only_unsmoothed():
    """Known answer (methods §7.8): untuned Poisson SOURCES (300 units, each animal's time per
    bin) against tuned targets. Unsmoothed, as the halves setting makes its sources, a noise
    unit's value at a test bin is independent of the fit, so the score is about 0; smoothed,
    the same units form a smooth basis that interpolates the target's tuning from the
    neighbouring training bins and score far above 0. Tuned unsmoothed sources still predict."""
    from mec.ratemaps import ROBUST

    ds = _toy(tuned=True)
    st = make_settings(0.2, robust=False, halves=True)[HALVES_SETTING]
    assert st.source_recipe.sigma_bins == 0 and not st.source_recipe.smooth_model
    rng = np.random.default_rng(7)

    def noise(recipe):
        occ = ds.occupancy[1.0]["m0"][..., 0]          # (N, N) s per bin
        counts = rng.poisson(5.0 * np.repeat(occ[..., None], 300, axis=2)).astype(float)
        return rates_from_counts(counts, occ, recipe)

    def med(source):
        return np.median(np.concatenate(list(setting_scores(
            ds, 1.0, st, source, num_splits=4, **RIDGE).values())))
    raw = [med(noise(st.source_recipe)) for _ in range(2)]
    assert all(abs(r) < 0.05 for r in raw), raw
    assert med(noise(ROBUST)) > 0.3
    assert med(_others(ds, st.source_recipe)) > 0.6


def test_setting_scores_as_model_smooths_bin_means_like_a_models_export():
    from mec.ratemaps import smooth_model_maps

    ds = _toy(tuned=True, n_animals=2, n_cells=6)
    st = make_settings(0.2, robust=True)["robust"]
    model = np.random.default_rng(5).random((N, N, 12))
    got = setting_scores(ds, 1.0, st, model, as_model=True, num_splits=2, **RIDGE)
    want = setting_scores(ds, 1.0, st, smooth_model_maps(model, None, st.recipe), num_splits=2,
                          **RIDGE)
    for a in got:
        np.testing.assert_allclose(got[a], want[a], rtol=1e-12, equal_nan=True)


def test_target_test_is_the_plain_fit_when_equal_and_zero_when_independent():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(N, N, 30))
    tgt = src[..., :5] @ rng.normal(size=(5, 4)) + 0.1 * rng.normal(size=(N, N, 4))
    plain = fit_scores(src, tgt, **RIDGE, num_splits=3)
    np.testing.assert_allclose(fit_scores(src, tgt, target_test=tgt, **RIDGE, num_splits=3),
                               plain, rtol=1e-12, atol=1e-12)
    noise = rng.normal(size=(N, N, 40))
    other = rng.normal(size=(N, N, 40))
    sc = halves_fit_scores(src, noise, other, **RIDGE, num_splits=5)
    assert abs(np.median(sc)) < 0.06
    with pytest.raises(ValueError, match="target_test has shape"):
        fit_scores(src, tgt, target_test=tgt[..., :2], **RIDGE)


def test_a_bin_counts_only_where_both_halves_are_finite():
    rng = np.random.default_rng(2)
    src = rng.normal(size=(N, N, 10))
    a = src[..., :3].copy()
    b = a.copy()
    b[:3] = np.nan                                   # half B never visited the first rows
    direct = fit_scores(src[3:], a[3:], target_test=b[3:], **RIDGE, num_splits=2)
    assert np.isfinite(direct).all()


def test_time_halves_and_binned_halves_add_up():
    t = np.arange(0, 300, 0.02)
    np.testing.assert_array_equal(time_halves(t, 60.0)[[0, 2999, 3000, 6000, 9000]],
                                  [0, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="chunk length"):
        time_halves(t, 0.0)
    rng = np.random.default_rng(3)
    pos = rng.uniform(-0.5, 0.5, (len(t), 2))
    spikes = [np.sort(rng.uniform(0, 300, 500)) for _ in range(3)]
    edges = np.linspace(-0.5, 0.5, 11)
    c, o = bin_spikes(pos, t, spikes, edges, edges, min_occupancy_s=0.3)
    hc, ho = bin_spikes_halves(pos, t, spikes, edges, edges, chunk_s=60.0, min_occupancy_s=0.3)
    assert hc.shape == (2,) + c.shape and ho.shape == (2,) + o.shape
    np.testing.assert_allclose(hc.sum(0), c)
    np.testing.assert_allclose(ho.sum(0), o, rtol=1e-12)
    assert hc[0].sum() > 0 and hc[1].sum() > 0


def test_halves_round_trip_through_the_contract(tmp_path):
    ds = _toy(tuned=True, n_animals=2, n_cells=3)
    back = load_dataset(save_dataset(tmp_path / "d.h5", ds))
    for a in ds[1.0]:
        np.testing.assert_array_equal(back.half_counts[1.0][a], ds.half_counts[1.0][a])
        np.testing.assert_allclose(back.half_occupancy[1.0][a], ds.half_occupancy[1.0][a])
    assert back.attrs["halves_chunk_s"] == 60.0
    bad = _toy(tuned=True, n_animals=2, n_cells=3)
    bad.half_counts[1.0]["m0"] = bad.half_counts[1.0]["m0"] + 1.0
    with pytest.raises(DatasetError, match="do not add up"):
        save_dataset(tmp_path / "bad.h5", bad)


def test_old_file_without_halves_says_how_to_remake_it(tmp_path):
    ds = _toy(tuned=True, n_animals=2, n_cells=3)
    old = Dataset(dict(ds), edges=ds.edges, arenas=ds.arenas, recipes=ds.recipes,
                  spike_counts=ds.spike_counts, occupancy=ds.occupancy)
    back = load_dataset(save_dataset(tmp_path / "old.h5", old))   # loads: halves optional
    with pytest.raises(HalvesMissingError, match=r"animal m0.*make_dataset.*fits\.halves"):
        half_maps(back, 1.0, where=str(tmp_path / "old.h5"))
    from mec.fits.pipeline import interanimal

    with pytest.raises(HalvesMissingError, match="old.h5 arena 1.0"):
        interanimal(tmp_path / "old.h5", 1.0, {"ridge": RIDGE}, tmp_path / "c.csv",
                    halves={"enabled": True}, num_splits=2)


def test_simulator_and_ingest_store_halves(tmp_path):
    from mec.data.loaders import Session, build_dataset
    from mec.data.synthetic import simulate_dataset

    ds = simulate_dataset(arenas={"1.0": {}}, n_animals=2, cells_per_animal=(4, 4),
                          session_min=4, progress=False, halves_chunk_s=30.0)
    assert ds.attrs["halves_chunk_s"] == 30.0
    for a in ds[1.0]:
        np.testing.assert_allclose(ds.half_counts[1.0][a].sum(0), ds.spike_counts[1.0][a])
        assert (ds.half_counts[1.0][a].sum(axis=(1, 2)) > 0).all()
    rng = np.random.default_rng(0)
    sessions = []
    for k, animal in enumerate(("ratA", "ratB")):
        t = np.arange(12000) * 0.02
        pos = np.clip(np.cumsum(rng.normal(0, 0.01, (len(t), 2)), 0), -0.5, 0.5)
        spikes = [np.sort(rng.uniform(0, t[-1], 400)) for _ in range(2)]
        sessions.append(Session(name=f"s{k}", animal=animal, times=t, positions=pos,
                                cell_ids=[f"s{k}_c0", f"s{k}_c1"], spike_times=spikes))
    cfg = {"source": "generic", "arenas": {"1.0": {"shape": "square"}},
           "recordings": {"hd_shuffles": 5, "halves_chunk_s": 45.0}}
    built = build_dataset(sessions, cfg)
    back = load_dataset(save_dataset(tmp_path / "ing.h5", built))
    assert back.attrs["halves_chunk_s"] == 45.0
    for a in back[1.0]:
        np.testing.assert_allclose(back.half_counts[1.0][a].sum(0), back.spike_counts[1.0][a])
        np.testing.assert_allclose(back.half_occupancy[1.0][a].sum(0), back.occupancy[1.0][a])


def test_reliability_matches_the_simulators_own():
    """An independent computation: reliability_table's r_full from the stored halves equals
    the per-cell reliability the simulator computed from spike times (same odd/even
    minutes, ROBUST recipe, Spearman-Brown)."""
    from mec.data.synthetic import simulate_dataset

    ds = simulate_dataset(arenas={"1.0": {}}, n_animals=2, cells_per_animal=(5, 5),
                          session_min=6, progress=False)
    rel = reliability_table(ds, 1.0)
    want = np.concatenate([ds.cell_info[1.0][a]["reliability"] for a in ds[1.0]])
    np.testing.assert_allclose(rel["r_full"].to_numpy(), want, rtol=1e-9, atol=1e-12)


def test_spearman_brown_and_half_correlation_known_answers():
    np.testing.assert_allclose(spearman_brown([0.0, 0.5, 1.0, 1 / 3]), [0.0, 2 / 3, 1.0, 0.5])
    assert np.isnan(spearman_brown(-1.0))
    np.testing.assert_allclose(spearman_brown(0.5, factor=3), 0.75)
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, N, N, 3))
    b[..., 0] = a[..., 0] * 2 + 1
    a[0, 0, 1] = np.nan
    r = half_correlation(a, b)
    assert r[0] == pytest.approx(1.0)
    ok = np.isfinite(a[..., 1].ravel())
    assert r[1] == pytest.approx(np.corrcoef(a[..., 1].ravel()[ok], b[..., 1].ravel()[ok])[0, 1])


def test_noise_correction_one_convention_never_twice():
    rel = pd.DataFrame({"arena": [1.0, 1.0], "animal": ["m0", "m0"], "cell_id": ["a", "b"],
                        "r_half": [0.64, -0.1], "r_full": [spearman_brown(0.64), np.nan]})
    table = pd.DataFrame({"arena": [1.0] * 4, "animal": ["m0"] * 4,
                          "cell_id": ["a", "a", "b", "a"], "cell_type": "grid",
                          "source": "x", "layer": "-", "map": "ridge",
                          "setting": ["halves", "paper", "halves", "robust"],
                          "score": [0.4, 0.4, 0.3, 0.2]})
    out = corrected_scores(table, rel)
    np.testing.assert_allclose(out["score_corrected"].to_numpy(),
                               [0.4 / 0.8, 0.4 / np.sqrt(spearman_brown(0.64)), np.nan,
                                0.2 / np.sqrt(spearman_brown(0.64))], equal_nan=True)
    assert list(out["score"]) == list(table["score"])           # raw scores beside
    with pytest.raises(ValueError, match="once"):
        corrected_scores(out, rel)


def test_settings_list_and_config_check():
    assert HALVES_SETTING in SETTING_NAMES
    assert HALVES_SETTING not in make_settings(0.2)               # off unless asked for
    s = check_fit_settings({"halves": {"enabled": True, "train_frac": "blocks"}})
    assert s[HALVES_SETTING].halves and s[HALVES_SETTING].train_frac.startswith("blocks:")
    assert s[HALVES_SETTING].recipe.name == "robust"
    # sources unsmoothed in halves only (methods §7.8); the others' sources are their recipe
    assert s[HALVES_SETTING].source_recipe.sigma_bins == 0
    assert s["paper"].source_recipe == s["paper"].recipe
    assert s["robust"].source_recipe == s["robust"].recipe
    assert not s["paper"].halves and not s["robust"].halves
    with pytest.raises(ValueError, match=r"fits\.halves: unknown key"):
        check_fit_settings({"halves": {"enabeld": True}})


def test_halves_maps_set_the_settings_ridge_alpha_and_exact_pls():
    from mec.fits.halves import halves_maps

    maps = {"ridge": {"map_type": "sklinear", "map_kwargs": {"regression_type": "Ridge", "alpha": 1.0}},
            "pls": {"map_type": "pls", "map_kwargs": {"n_components": 10}},
            "pls_own": {"map_type": "pls", "map_kwargs": {"n_components": 3, "algorithm": "nipals"}},
            "corr": {"map_type": "corr", "map_kwargs": {}}}
    out = halves_maps(maps, {"enabled": True, "ridge_alpha": 50.0})
    assert out["ridge"]["map_kwargs"] == {"regression_type": "Ridge", "alpha": 50.0}
    assert out["pls"]["map_kwargs"] == {"n_components": 10, "algorithm": "svd"}
    assert out["pls_own"] == maps["pls_own"]  # a map that names its algorithm keeps it
    assert out["corr"] == maps["corr"]
    assert maps["pls"]["map_kwargs"] == {"n_components": 10}  # the config is not changed
    # the default: a grid, each fit choosing its alpha by leave-one-out (map ridge_loo)
    for halves in ({"enabled": True}, True):
        out = halves_maps(maps, halves)
        assert out["ridge"] == {"map_type": "ridge_loo",
                                "map_kwargs": {"alphas": [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]}}
    out = halves_maps(maps, {"enabled": True, "ridge_alpha": [3, 30]})
    assert out["ridge"]["map_kwargs"] == {"alphas": [3.0, 30.0]}
    assert halves_maps(maps, {"enabled": True, "ridge_alpha": None})["ridge"] == maps["ridge"]


@pytest.mark.parametrize("bad", [0, -1.0, [], [10.0, 0.0], ["100"], True, "cv", {"a": 1}])
def test_halves_ridge_alpha_refuses_bad_values_naming_them(bad):
    from mec.fits.settings import halves_options

    with pytest.raises(ValueError, match=r"fits\.halves\.ridge_alpha .*got " + re.escape(repr(bad))):
        halves_options({"enabled": True, "ridge_alpha": bad})


def test_ridge_loo_in_the_halves_setting_keeps_untuned_noise_at_zero_and_tuning_high():
    """The alpha choice sees only the fit half: untuned targets score about 0 whichever alpha
    wins, tuned ones well above (a toy of the setting, 4 animals)."""
    from mec.fits.halves import halves_maps, setting_scores

    st = make_settings(0.2, robust=False, halves=True)["halves"]
    ridge = halves_maps({"r": RIDGE}, True)["r"]
    assert ridge["map_type"] == "ridge_loo"
    for tuned, lo, hi in ((False, -0.1, 0.1), (True, 0.3, 1.0)):
        ds = _toy(tuned=tuned, n_animals=4, n_cells=6)
        data = dataset_for(ds, 1.0, st.source_recipe)[1.0]
        maps = {a: np.asarray(r["resp"]) for a, r in data.items()}
        sc = setting_scores(ds, 1.0, st, lambda a: np.concatenate(
            [maps[k] for k in maps if k != a], axis=-1), num_splits=3, **ridge)
        med = np.nanmedian(np.concatenate(list(sc.values())))
        assert lo < med < hi, (tuned, med)


def test_pipeline_tables_carry_the_halves_setting(tmp_path):
    from mec.fits.pipeline import floors, interanimal

    ds = _toy(tuned=True, n_animals=3, n_cells=4)
    path = save_dataset(tmp_path / "d.h5", ds)
    maps = {"ridge": RIDGE}
    t = pd.read_csv(interanimal(path, 1.0, maps, tmp_path / "c.csv", num_splits=2,
                                halves={"enabled": True}))
    assert sorted(set(t["setting"])) == ["halves", "paper"]
    assert (t["setting"] == "halves").sum() == 12
    f = pd.read_csv(floors(path, 1.0, maps, tmp_path / "f.csv", num_splits=2,
                           halves={"enabled": True}, controls=["poisson"]))
    assert sorted(set(f["setting"])) == ["halves", "paper"]
    # the ElasticNet map: the grid's per-split choices refitted with the halves protocol when
    # fits.halves.elasticnet asks for it (off by default, for its cost)
    ids = [(a, c) for a, rec in ds[1.0].items() for c in rec["cell_ids"]]
    choices = pd.DataFrame([{"arena": 1.0, "animal": a, "cell_id": c, "split": k, "alpha": 1.0,
                             "l1_ratio": 0.5, "cv_score": 0.5, "test_score": 0.5}
                            for a, c in ids for k in range(2)])
    choices.to_csv(tmp_path / "en.csv", index=False)
    t = pd.read_csv(interanimal(path, 1.0, maps, tmp_path / "c1.csv", num_splits=2,
                                halves={"enabled": True}, elasticnet_tables=[tmp_path / "en.csv"]))
    assert not ((t["map"] == "elasticnet") & (t["setting"] == "halves")).any()
    assert ((t["map"] == "elasticnet") & (t["setting"] == "paper")).sum() == 12
    on = {"enabled": True, "elasticnet": True}
    t = pd.read_csv(interanimal(path, 1.0, maps, tmp_path / "c2.csv", num_splits=2,
                                halves=on, elasticnet_tables=[tmp_path / "en.csv"]))
    en = t[(t["map"] == "elasticnet") & (t["setting"] == "halves")]
    assert len(en) == 12 and en["score"].notna().all() and en["score"].median() > 0.3
    f = pd.read_csv(floors(path, 1.0, maps, tmp_path / "f2.csv", num_splits=2, halves=on,
                           controls=["poisson"], elasticnet_tables=[tmp_path / "en.csv"]))
    assert ((f["map"] == "elasticnet") & (f["setting"] == "halves")).sum() == 12
    t = pd.read_csv(interanimal(path, 1.0, maps, tmp_path / "c3.csv", num_splits=2,
                                halves={**on, "train_frac": "blocks"},
                                elasticnet_tables=[tmp_path / "en.csv"]))
    assert not ((t["map"] == "elasticnet") & (t["setting"] == "halves")).any()


def test_sargolini_recordings_load_with_halves(tmp_path):
    data = Path(__file__).parents[1] / ".." / "shared" / "data" / "sargolini2006"
    if not data.exists():
        pytest.skip(f"shared data {data} absent")
    from mec.data.loaders import ingest_dataset

    cfg = {"source": "kavli", "arenas": {"1.0": {"shape": "square"}},
           "recordings": {"paths": [str(data)], "position_units": "cm", "hd_shuffles": 5,
                          "circle_sessions": ["11207-21060501+02"]}}
    ds = load_dataset(ingest_dataset(tmp_path / "s.h5", cfg))
    rel = reliability_table(ds, 1.0)
    assert len(rel) == 12 and (rel["r_half"] > 0.3).all()
    # the stored reliability (split_half_reliability from spike times) is the same number
    want = np.concatenate([ds.cell_info[1.0][a]["reliability"] for a in ds[1.0]])
    np.testing.assert_allclose(rel["r_full"].to_numpy(), want, rtol=1e-9)


def test_halves_elasticnet_option_is_checked():
    from mec.fits.settings import halves_options

    assert halves_options({"enabled": True})["elasticnet"] is False
    assert halves_options({"enabled": True, "elasticnet": True})["elasticnet"] is True
    with pytest.raises(ValueError, match="fits.halves.elasticnet.*'yes'"):
        halves_options({"enabled": True, "elasticnet": "yes"})


def test_summary_tables_carry_corrected_medians_beside_the_raw_ones():
    """predictivity / best_layer: median_corrected is the median of score / sqrt(r_half) in the
    halves setting (r_full in the others), with its own interval; the ceiling table's
    floor_corrected is the highest corrected median of the controls; without reliabilities
    the columns are NaN (nothing corrected silently)."""
    from mec.fits.reliability import corrected_ceiling
    from mec.summary.corrected import corrected_medians, with_corrected_medians
    from mec.summary.tables import best_layer_table, ceiling_table, predictivity_table

    rng = np.random.default_rng(7)
    cells = [(f"m{a}", f"c{a}{k}") for a in range(4) for k in range(6)]
    r_half = rng.uniform(0.2, 0.9, len(cells))
    rel = pd.DataFrame({"arena": 1.0, "animal": [a for a, _ in cells],
                        "cell_id": [c for _, c in cells], "r_half": r_half,
                        "r_full": spearman_brown(r_half)})

    def rows(source, layer, setting, scores):
        return pd.DataFrame({"arena": 1.0, "animal": [a for a, _ in cells],
                             "cell_id": [c for _, c in cells], "cell_type": "grid",
                             "source": source, "layer": layer, "map": "ridge",
                             "setting": setting, "score": scores})

    s_h, s_p = rng.uniform(0.1, 0.5, len(cells)), rng.uniform(0.3, 0.9, len(cells))
    fits = pd.concat([rows("net", "g", "halves", s_h), rows("net", "g", "paper", s_p)])
    consistency = pd.concat([rows("interanimal_holdout", "-", st, rng.uniform(0.2, 0.6, len(cells)))
                             for st in ("halves", "paper")])
    f1, f2 = rng.normal(0, 0.02, len(cells)), rng.normal(0.01, 0.02, len(cells))
    floors = pd.concat([rows("control_poisson", "-", "halves", f1),
                        rows("control_permuted", "-", "halves", f2)])
    ceiling = ceiling_table(consistency, floors, bootstrap={"n_boot": 50})

    ceiling = corrected_ceiling(ceiling, consistency, rel, floors)
    h = ceiling[ceiling["setting"] == "halves"].iloc[0]
    want_floor = max(np.median(f1 / np.sqrt(r_half)), np.median(f2 / np.sqrt(r_half)))
    assert h["floor_corrected"] == pytest.approx(want_floor)
    assert h["ceiling_corrected"] == pytest.approx(np.median(
        consistency[consistency["setting"] == "halves"]["score"].to_numpy() / np.sqrt(r_half)))

    pred = with_corrected_medians(predictivity_table(fits, ceiling, bootstrap={"n_boot": 50}),
                                  fits, rel, bootstrap={"n_boot": 50})
    ph = pred[pred["setting"] == "halves"].iloc[0]
    pp = pred[pred["setting"] == "paper"].iloc[0]
    assert ph["median_corrected"] == pytest.approx(np.median(s_h / np.sqrt(r_half)))
    assert pp["median_corrected"] == pytest.approx(np.median(s_p / np.sqrt(spearman_brown(r_half))))
    assert ph["median"] == pytest.approx(np.median(s_h))                     # raw kept
    assert ph["ci_low_corrected"] <= ph["median_corrected"] <= ph["ci_high_corrected"]
    assert ph["ceiling_corrected"] == pytest.approx(h["ceiling_corrected"])
    best = best_layer_table(pred)
    assert best.loc[best["setting"] == "halves", "median_corrected"].iloc[0] == \
        pytest.approx(ph["median_corrected"])
    # the same draws as the raw median's interval: a constant reliability scales it exactly
    flat = rel.assign(r_half=0.25)
    c = corrected_medians(rows("net", "g", "halves", s_h), ["source", "arena", "map", "setting"],
                          flat, {"n_boot": 50})
    raw = pred[pred["setting"] == "halves"].iloc[0]
    assert c["ci_low_corrected"].iloc[0] == pytest.approx(raw["ci_low"] / 0.5)
    assert c["ci_high_corrected"].iloc[0] == pytest.approx(raw["ci_high"] / 0.5)
    # no reliabilities: NaN, never the raw numbers under a corrected name
    none = with_corrected_medians(predictivity_table(
        fits, ceiling_table(consistency, floors, bootstrap=False), bootstrap=False), fits, None)
    assert none["median_corrected"].isna().all() and none["ceiling_corrected"].isna().all()
