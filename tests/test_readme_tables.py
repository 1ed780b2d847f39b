"""tools/readme_tables.py: the README's result tables from a run's results/summary/:
round trip (write, then check passes), an altered table fails the check, and the
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


def test_the_readme_has_one_block_per_table():
    text = (ROOT / "README.md").read_text()
    for name in rt.TABLES:
        assert text.count(f"<!-- readme-tables:{name} -->") == 1, name
        assert text.count(f"<!-- /readme-tables:{name} -->") == 1, name


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
