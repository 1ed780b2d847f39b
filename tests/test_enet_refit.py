"""benchmarks/enet_refit.py on a small case it can finish in seconds: the exact refit reproduces
the grid's own test scores, the coordinate-descent refit is measured against the same
reference, and the printed verdict follows from the table."""

from __future__ import annotations

import numpy as np
from conftest import benchmark_module


def _module():
    return benchmark_module("enet_refit")


def test_deviation_counts_nan_agreement_as_zero_and_disagreement_as_infinite():
    dev = _module()._dev(np.array([0.5, np.nan, np.nan, 0.2]), np.array([0.4, np.nan, 0.1, np.nan]))
    np.testing.assert_allclose(dev, [0.1, 0.0, np.inf, np.inf])


def test_exact_refits_reproduce_the_grid(tmp_path, capsys):
    _module().main(["--dataset", str(tmp_path / "none.h5"), "--animals", "1", "--splits", "2",
                    "--units", "60"])
    out = capsys.readouterr().out
    assert "smooth random maps" in out  # no file: the stand-in data
    last = out.strip().splitlines()[-1]
    assert last.startswith("speedup: ") and last.endswith("exact: true")
    row = [line for line in out.splitlines() if line.startswith("| animal00 |")]
    assert len(row) == 1
    enet_max = float(row[0].split("|")[9].split("/")[0])
    assert enet_max < 1e-6
