"""benchmarks/ridge_loo.py on shapes it can finish in a second: the table has one row per
shape, the two leave-one-out choosers agree, and the verdict line follows from the table."""

from __future__ import annotations

from conftest import benchmark_module


def _module():
    return benchmark_module("ridge_loo")


def test_ridge_loo_benchmark_agrees_with_ridgecv(capsys):
    _module().main(["--repeats", "1", "--targets", "5", "--shapes", "60x20", "40x90"])
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line for line in lines if line.startswith("| 60 x 20 |") or line.startswith("| 40 x 90 |")]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        loo, cv = cells[6].split(" / ")
        assert loo == cv                      # the same alpha
        assert float(cells[7]) < 1e-8         # the same predictions
    assert lines[-1].startswith("speedup: ") and lines[-1].endswith("same: true")
