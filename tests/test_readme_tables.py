"""tools/readme_tables.py: the result tables of README.md and docs/results.md from a run's
results/summary/: round trip (write, then check passes), an altered table fails the check, and the
errors name the missing file or marker."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "tools" / "readme_tables.py")
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)


@pytest.fixture
def summary(tmp_path):
    """A small summary folder: one trained model and its twin in two arenas."""
    s = tmp_path / "summary"
    s.mkdir()
    pd.DataFrame({
        "model": ["net"] * 2, "untrained_twin": ["net_untrained"] * 2, "arena": ["2.2"] * 2,
        "measure": ["decoding_error_cm", "knockout_grid_minus_heterogeneous_cm"],
        "trained": [4.6234, -0.35247], "untrained": [95.7, float("nan")],
        "p_value": [float("nan"), 0.0154819], "expected": ["lower than untrained", "<= 0"],
        "agrees": [True, False]}).to_csv(s / "model_health.csv", index=False)
    pd.DataFrame({"arena": ["1.0", "2.2"], "map": ["ridge", "ridge"], "setting": ["paper"] * 2,
                  "ceiling": [0.86755, 0.69942]}).to_csv(s / "ceiling.csv", index=False)
    rows = []
    for model, med in (("net", 0.8344), ("net_untrained", 0.5786)):
        for arena in ("1.0", "2.2"):
            for setting in ("paper", "robust"):
                rows.append({"model": model, "arena": arena, "map": "ridge", "setting": setting,
                             "best_layer": "dc", "median": med if setting == "paper" else 0.05,
                             "fraction_of_ceiling": med / 0.86755})
    pd.DataFrame(rows).to_csv(s / "best_layer.csv", index=False)
    pd.DataFrame({"arena": ["1.0"], "setting": ["robust"], "map": ["ridge"], "ceiling": [0.0687],
                  "floor": [0.0089], "floor_source": ["control_poisson"], "model": ["net"],
                  "layer": ["dc"], "score": [0.0647], "normalized": [0.9339]}
                 ).to_csv(s / "headline.csv", index=False)
    return s


def _readme(names=tuple(rt.TABLES)) -> str:
    blocks = "\n\n".join(f"<!-- readme-tables:{n} -->\nold\n<!-- /readme-tables:{n} -->"
                         for n in names)
    return f"# Title\n\nText before.\n\n{blocks}\n\nText after.\n"


def test_tables_print_the_summary_numbers(summary):
    tables = rt.make_tables(summary)
    assert "| 1.0 | ridge | 0.868 | 0.834 (dc) | 0.96 | 0.579 (dc) | 0.67 |" in tables["predictivity"]
    assert "0.05" not in tables["predictivity"]  # the robust rows are not the paper setting's
    assert "| decoding error (cm) | 4.62 | 95.70 | lower than untrained | yes |" in tables["health"]
    assert "-0.35 (p = 0.015)" in tables["health"]
    assert "| 1.0 | robust | ridge | 0.069 | 0.009 | control_poisson | net | dc | 0.065 | 0.93 |" \
        in tables["headline"]


def test_write_then_check_round_trip_and_an_altered_table_fails(summary, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(_readme())
    assert rt.main(["--summary", str(summary), "--check", str(readme)]) == 1  # "old" differs
    assert rt.main(["--summary", str(summary), "--write", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\nText before.\n\n") and text.endswith("\n\nText after.\n")
    assert rt.main(["--summary", str(summary), "--check", str(readme)]) == 0
    # writing again changes nothing
    assert rt.main(["--summary", str(summary), "--write", str(readme)]) == 0
    assert readme.read_text() == text
    readme.write_text(text.replace("0.868", "0.870", 1))
    capsys.readouterr()
    assert rt.main(["--summary", str(summary), "--check", str(readme)]) == 1
    out = capsys.readouterr()
    assert "(predictivity)" in out.out and "-| 1.0 | ridge | 0.870" in out.out
    assert "1 table(s) differ" in out.err


def test_missing_marker_and_missing_summary_file_are_named(summary, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(_readme(["health", "predictivity"]))  # no headline block
    assert rt.main(["--summary", str(summary), "--write", str(readme)]) == 2
    assert "'<!-- readme-tables:headline -->'" in capsys.readouterr().err
    assert readme.read_text() == _readme(["health", "predictivity"])  # nothing written
    (summary / "ceiling.csv").unlink()
    assert rt.main(["--summary", str(summary), "--tables", "predictivity"]) == 2
    assert f"{summary / 'ceiling.csv'}: no such summary table" in capsys.readouterr().err


def test_the_docs_have_one_block_per_table_and_the_readme_the_headline():
    from doctext import doc_files

    texts = {f.relative_to(ROOT).as_posix(): f.read_text() for f in doc_files()}
    assert rt.locate_tables(texts, rt.TABLES) == {
        "headline": "README.md", "health": "docs/results.md", "predictivity": "docs/results.md",
        "seeds": "docs/results.md"}
    for name in rt.TABLES:
        for marker in (f"<!-- readme-tables:{name} -->", f"<!-- /readme-tables:{name} -->"):
            assert sum(t.count(marker) for t in texts.values()) == 1, marker


def test_tables_spread_over_two_files_round_trip(summary, tmp_path, capsys):
    readme, results = tmp_path / "README.md", tmp_path / "results.md"
    readme.write_text(_readme(["headline"]))
    results.write_text(_readme(["health", "predictivity", "seeds"]))
    assert rt.main(["--summary", str(summary), "--write", str(readme)]) == 2  # three missing
    assert "readme-tables:health" in capsys.readouterr().err
    assert rt.main(["--summary", str(summary), "--write", str(readme), str(results)]) == 0
    assert "| net | dc | 0.065 | 0.93 |" in readme.read_text()
    assert "decoding error (cm)" in results.read_text()
    assert "decoding error (cm)" not in readme.read_text()
    assert rt.main(["--summary", str(summary), "--check", str(readme), str(results)]) == 0
    results.write_text(results.read_text().replace("4.62", "4.63"))
    assert rt.main(["--summary", str(summary), "--check", str(readme), str(results)]) == 1
    # one table in two files is refused, naming both counts, and nothing is written
    both = _readme(["headline", "health", "predictivity", "seeds"])
    results.write_text(both)
    before = readme.read_text()
    capsys.readouterr()
    assert rt.main(["--summary", str(summary), "--write", str(readme), str(results)]) == 2
    err = capsys.readouterr().err
    assert f"{readme}: 1, {results}: 1" in err and readme.read_text() == before


def test_intervals_follow_the_medians_where_the_summary_has_them(summary):
    # a summary written with intervals (hierarchical bootstrap, methods §7.7)
    h = pd.read_csv(summary / "headline.csv")
    h.assign(ceiling_ci_low=0.0512, ceiling_ci_high=0.0871, score_ci_low=0.0403,
             score_ci_high=float("nan")).to_csv(summary / "headline.csv", index=False)
    b = pd.read_csv(summary / "best_layer.csv")
    b.assign(ci_low=b["median"] - 0.02, ci_high=b["median"] + 0.03).to_csv(
        summary / "best_layer.csv", index=False)
    tables = rt.make_tables(summary)
    assert "| 1.0 | robust | ridge | 0.069 [0.051, 0.087] | 0.009 | control_poisson | net | dc " \
           "| 0.065 | 0.93 |" in tables["headline"]  # a missing end: no interval
    assert "| 0.834 [0.814, 0.864] (dc) | 0.96 |" in tables["predictivity"]


@pytest.fixture
def seeded(tmp_path):
    """A summary of a model with two seeds and its twin with two seeds, as summarize writes it
    (seed_values.csv and seeds.csv by mec.summary.seeds)."""
    from mec.summary.seeds import seed_spread, seed_values

    s = tmp_path / "seeded"
    s.mkdir()
    members = {"net": ("net/seed0", "net/seed1"), "tw": ("tw/seed0", "tw/seed1")}
    health = pd.DataFrame({
        "model": ["net/seed0", "net/seed1"] * 2, "untrained_twin": ["tw/seed0", "tw/seed1"] * 2,
        "arena": ["2.2"] * 4,
        "measure": ["decoding_error_cm"] * 2 + ["knockout_grid_minus_heterogeneous_cm"] * 2,
        "trained": [4.5, 4.7, -0.30, -0.40], "untrained": [95.0, 93.0, float("nan"), float("nan")],
        "p_value": [float("nan")] * 2 + [0.0123, 0.0456],
        "expected": ["lower than untrained"] * 2 + ["<= 0"] * 2,
        "agrees": [True, True, True, False]})
    health.to_csv(s / "model_health.csv", index=False)
    pd.DataFrame({"arena": ["1.0"], "map": ["ridge"], "setting": ["paper"], "ceiling": [0.86755]}
                 ).to_csv(s / "ceiling.csv", index=False)
    scores = {"net/seed0": 0.40, "net/seed1": 0.44, "tw/seed0": 0.17, "tw/seed1": 0.15}
    layers = {"net/seed0": "dc", "net/seed1": "g", "tw/seed0": "g", "tw/seed1": "g"}
    best = pd.DataFrame([{"model": m, "arena": "1.0", "map": "ridge", "setting": setting,
                          "best_layer": layers[m], "median": v, "normalized": v / 0.4,
                          "fraction_of_ceiling": v / 0.8}
                         for m, v in scores.items() for setting in ("paper", "halves")])
    best.to_csv(s / "best_layer.csv", index=False)
    pd.DataFrame([{"arena": "1.0", "setting": "halves", "map": "ridge", "ceiling": 0.397,
                   "floor": 0.003, "floor_source": "control_permuted", "model": m,
                   "layer": layers[m], "score": v, "score_ci_low": v - 0.05,
                   "score_ci_high": v + 0.05, "normalized": v / 0.4} for m, v in scores.items()]
                 ).to_csv(s / "headline.csv", index=False)
    configs = {m: {"seed": int(m[-1])} for ms in members.values() for m in ms}
    values = seed_values(best, health, configs)
    values.to_csv(s / "seed_values.csv", index=False)
    seed_spread(values).to_csv(s / "seeds.csv", index=False)
    return s


def _t95(values) -> str:
    """The 95 % t-interval over seeds, computed here with scipy (independent of mec)."""
    import numpy as np
    from scipy import stats

    x = np.asarray(values, float)
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return f"{x.mean():.3f} [{x.mean() - half:.3f}, {x.mean() + half:.3f}]"


def test_a_model_with_seeds_is_one_row_with_the_mean_and_t_interval_over_seeds(seeded):
    tables = rt.make_tables(seeded)
    head = tables["headline"]
    # one row per model, not per seed; each seed's best layer; the t-interval over seeds
    assert "net/seed" not in head and "tw/seed" not in head
    assert (f"| net (2 seeds) | dc, g | {_t95([0.40, 0.44])} | {(0.40 + 0.44) / 2 / 0.4:.2f} |"
            in head)
    assert f"| tw (2 seeds) | g | {_t95([0.17, 0.15])} |" in head
    assert "0.360" not in head  # the per-seed bootstrap interval of seed 0 is not shown
    assert "t-interval over seeds (`seeds.csv`)" in head
    pred = tables["predictivity"]
    assert "net (2 seeds): median (layer)" in pred
    assert f"| {_t95([0.40, 0.44])} (dc, g) | {(0.40 / 0.8 + 0.44 / 0.8) / 2:.2f} |" in pred
    health = tables["health"]
    assert ("| net (2 seeds) | tw (2 seeds) | 2.2 | decoding error (cm) | 4.60 [" in health)
    assert "| 94.00 [" in health  # the twin's mean over its seeds
    # knockouts: the seeds' p-values as a range; one seed disagrees
    assert "(p = 0.012–0.046)" in health and "| no (1 of 2 seeds) |" in health
    # the seeds table keeps each seed's number
    seeds = tables["seeds"]
    assert "| seed 0 | seed 1 |" in seeds
    assert f"| net | 1.0 | score, halves setting, ridge (best layer) | 0.400 | 0.440 | " \
           f"{_t95([0.40, 0.44])} |" in seeds
    assert "| net | 2.2 | knockouts: grid − heterogeneous (cm) | -0.30 | -0.40 |" in seeds


def test_a_summary_without_seeds_keeps_its_per_network_rows(summary):
    tables = rt.make_tables(summary)
    assert "seeds)" not in tables["headline"] and "t-interval" not in tables["headline"]
    assert tables["seeds"].startswith("No model of this run has seeds.")


def test_a_seeds_table_missing_a_number_is_named(seeded, capsys):
    t = pd.read_csv(seeded / "seeds.csv")
    t[t["measure"] != "normalized"].to_csv(seeded / "seeds.csv", index=False)
    assert rt.main(["--summary", str(seeded), "--tables", "headline"]) == 2
    err = capsys.readouterr().err
    assert f"{seeded / 'seeds.csv'}: no row for model net, arena 1.0, map ridge, setting " \
           f"halves, measure normalized" in err
