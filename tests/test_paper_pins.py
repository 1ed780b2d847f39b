"""The paper's setting stays what it was before the metric work (docs/methods.md §4.2).

``tests/data/paper_pins.json`` was computed with the code as it stood before floors, recipes
and blocked splits were added (commit 0f47738): every per-cell score (as float hex) of
inter-animal and model fits with the three maps and random / structured splits, and sha256
digests of the synthetic dataset's rate maps and of ``spikes_to_ratemap`` on a fixed toy
session. ``tests/data/paper_pins_maps.npz`` holds those rate maps themselves (its arrays hash
to the recorded digests, checked below). Any change to these numbers is a change to the
reproduction and must be made on purpose.

Tolerance: the pins were recorded on one CPU. numpy's and scipy's OpenBLAS pick their
kernels per CPU, and the kernels differ in the last bits (about 1e-16 relative; 7e-14 at
worst on these scores, measured under four OpenBLAS core types). So values are compared to
``RTOL = 1e-12`` relative, ``ATOL = 1e-12`` absolute for scores near zero: a hundred times
the largest difference measured between kernels, and nine digits below the three decimals
the tables print. Exact equality is kept for comparisons made within one process (the paper
setting against the release's algorithm, tests/test_fits.py).
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mec.data.synthetic import simulate_dataset
from mec.fits.core import interanimal_scores, model_scores
from mec.ratemaps import spikes_to_ratemap

DATA = Path(__file__).parent / "data"
PINS = json.loads((DATA / "paper_pins.json").read_text())
MAPS = {"ridge": ("sklinear", {"regression_type": "Ridge", "alpha": 1.0}),
        "corr": ("corr", {}), "pls": ("pls", {"n_components": 3})}
RTOL = ATOL = 1e-12


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes()).hexdigest()


def _pinned_maps(name: str) -> np.ndarray:
    with np.load(DATA / "paper_pins_maps.npz") as f:
        return f[name]


def _assert_scores_match(got: dict, key: str):
    pinned = PINS["scores"][key]
    assert sorted(got) == sorted(pinned), key
    for animal, hexes in pinned.items():
        want = np.array([float.fromhex(h) for h in hexes])
        np.testing.assert_allclose(np.asarray(got[animal], dtype=np.float64), want,
                                   rtol=RTOL, atol=ATOL, equal_nan=True,
                                   err_msg=f"{key}, animal {animal}")


def test_stored_maps_are_the_pinned_ones():
    """The stored arrays hash to the digests recorded before the metric work (the file is
    read, not computed, so this holds on any machine)."""
    for animal, digest in PINS["resp_sha256"].items():
        assert _sha(_pinned_maps(f"resp.{animal}")) == digest, animal
    assert _sha(_pinned_maps("spikes_to_ratemap")) == PINS["spikes_to_ratemap_sha256"]
    assert _sha(_pinned_maps("spikes_to_ratemap_mask")) == PINS["spikes_to_ratemap_mask_sha256"]


@pytest.fixture(scope="module")
def pinned_dataset():
    return simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=3,
                            cells_per_animal=(5, 7), session_min=3.0, bin_cm=10.0, seed=7,
                            progress=False)


def test_synthetic_rate_maps_are_unchanged(pinned_dataset):
    assert sorted(pinned_dataset[1.0]) == sorted(PINS["resp_sha256"])
    for animal in sorted(pinned_dataset[1.0]):
        np.testing.assert_allclose(pinned_dataset[1.0][animal]["resp"],
                                   _pinned_maps(f"resp.{animal}"), rtol=RTOL, atol=ATOL,
                                   equal_nan=True, err_msg=animal)


@pytest.mark.parametrize("name", sorted(MAPS))
@pytest.mark.parametrize("train_frac", [0.2, "topbottom", "quad"])
def test_interanimal_scores_are_unchanged(pinned_dataset, name, train_frac):
    map_type, kw = MAPS[name]
    sc = interanimal_scores(pinned_dataset[1.0], map_type=map_type, map_kwargs=kw,
                            train_frac=train_frac, num_splits=3)
    _assert_scores_match(sc, f"interanimal/{name}/{train_frac}")


@pytest.mark.parametrize("name", sorted(MAPS))
def test_model_scores_are_unchanged(pinned_dataset, name):
    rng = np.random.default_rng(3)
    model = rng.gamma(2.0, 1.0, size=pinned_dataset[1.0]["m01"]["resp"].shape[:2] + (12,))
    model[0, 0, :] = np.nan
    map_type, kw = MAPS[name]
    sc = model_scores(model, pinned_dataset[1.0], map_type=map_type, map_kwargs=kw,
                      train_frac=0.2, num_splits=3)
    _assert_scores_match(sc, f"model/{name}/0.2")


def test_spikes_to_ratemap_is_unchanged():
    rng = np.random.default_rng(3)
    rng.gamma(2.0, 1.0, size=(10, 10, 12))  # the pin script drew the model maps first
    t = np.arange(0, 60, 0.02)
    pos = np.stack([0.4 * np.sin(t / 3.0), 0.4 * np.cos(t / 5.0)], axis=1)
    pos[100:120] = np.nan
    st = [np.sort(rng.uniform(0, 60, 300)), np.sort(rng.uniform(0, 60, 50))]
    xe, ye = np.linspace(-0.5, 0.5, 11), np.linspace(-0.5, 0.5, 9)
    np.testing.assert_allclose(spikes_to_ratemap(pos, t, st, xe, ye),
                               _pinned_maps("spikes_to_ratemap"), rtol=RTOL, atol=ATOL,
                               equal_nan=True)
    mask = np.ones((10, 8), bool) & (np.arange(8)[None, :] > 0)
    got = spikes_to_ratemap(pos, t, st, xe, ye, sigma_bins=1.5, min_occupancy_s=0.1, mask=mask)
    np.testing.assert_allclose(got, _pinned_maps("spikes_to_ratemap_mask"), rtol=RTOL,
                               atol=ATOL, equal_nan=True)


#: OpenBLAS kernels old enough to run on any x86-64 CPU (SSE3, SSE4.2, AVX): forcing one of
#: them changes the arithmetic (not only the speed) without risking an instruction the CPU
#: lacks.
OTHER_KERNELS = ("Nehalem", "Sandybridge", "Prescott")


def _openblas_kernel() -> str | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    kernels = [i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return kernels[0] if kernels else None


@pytest.mark.slow
def test_pins_hold_under_another_blas_kernel():
    """The pins above, rerun in a subprocess whose OpenBLAS is forced to another core type
    than this process's (OPENBLAS_CORETYPE): the check a machine with another CPU makes."""
    import platform

    current = _openblas_kernel()
    if platform.machine() not in ("x86_64", "AMD64") or current is None:
        pytest.skip(f"needs numpy's OpenBLAS on x86-64 (here: {platform.machine()}, BLAS kernel {current})")
    kernel = next(k for k in OTHER_KERNELS if k.lower() != current.lower())
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel)
    probe = subprocess.run([sys.executable, "-c", "import numpy, scipy.linalg; from threadpoolctl "
                            "import threadpool_info; print(sorted({i.get('architecture') for i in "
                            "threadpool_info() if i.get('internal_api') == 'openblas'}))"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert current not in probe.stdout, f"OPENBLAS_CORETYPE={kernel} left the kernel {current}: {probe.stdout}"
    proc = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider",
                           "-m", "not slow"], env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, f"under OPENBLAS_CORETYPE={kernel}:\n{proc.stdout[-4000:]}"
