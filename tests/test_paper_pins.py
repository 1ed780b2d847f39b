"""The paper's setting stays bit for bit what it was before the metric work (issue 13).

``tests/data/paper_pins.json`` was computed with the code as it stood before floors, recipes
and blocked splits were added (commit 0f47738): sha256 of the synthetic dataset's rate maps
and of ``spikes_to_ratemap`` on a fixed toy session, and every per-cell score (as float hex)
of inter-animal and model fits with the three maps and random / structured splits. Any change
to these numbers is a change to the reproduction and must be made on purpose.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from mec.data.synthetic import simulate_dataset
from mec.fits.core import interanimal_scores, model_scores
from mec.ratemaps import spikes_to_ratemap

PINS = json.loads((Path(__file__).parent / "data" / "paper_pins.json").read_text())
MAPS = {"ridge": ("sklinear", {"regression_type": "Ridge", "alpha": 1.0}),
        "corr": ("corr", {}), "pls": ("pls", {"n_components": 3})}


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes()).hexdigest()


def _hex(scores: dict) -> dict:
    return {a: [float(x).hex() for x in v] for a, v in scores.items()}


@pytest.fixture(scope="module")
def pinned_dataset():
    return simulate_dataset(arenas={"1.0": {"shape": "square"}}, n_animals=3,
                            cells_per_animal=(5, 7), session_min=3.0, bin_cm=10.0, seed=7,
                            progress=False)


def test_synthetic_rate_maps_are_unchanged(pinned_dataset):
    got = {a: _sha(pinned_dataset[1.0][a]["resp"]) for a in sorted(pinned_dataset[1.0])}
    assert got == PINS["resp_sha256"]


@pytest.mark.parametrize("name", sorted(MAPS))
@pytest.mark.parametrize("train_frac", [0.2, "topbottom", "quad"])
def test_interanimal_scores_are_unchanged(pinned_dataset, name, train_frac):
    map_type, kw = MAPS[name]
    sc = interanimal_scores(pinned_dataset[1.0], map_type=map_type, map_kwargs=kw,
                            train_frac=train_frac, num_splits=3)
    assert _hex(sc) == PINS["scores"][f"interanimal/{name}/{train_frac}"]


@pytest.mark.parametrize("name", sorted(MAPS))
def test_model_scores_are_unchanged(pinned_dataset, name):
    rng = np.random.default_rng(3)
    model = rng.gamma(2.0, 1.0, size=pinned_dataset[1.0]["m01"]["resp"].shape[:2] + (12,))
    model[0, 0, :] = np.nan
    map_type, kw = MAPS[name]
    sc = model_scores(model, pinned_dataset[1.0], map_type=map_type, map_kwargs=kw,
                      train_frac=0.2, num_splits=3)
    assert _hex(sc) == PINS["scores"][f"model/{name}/0.2"]


def test_spikes_to_ratemap_is_unchanged():
    rng = np.random.default_rng(3)
    rng.gamma(2.0, 1.0, size=(10, 10, 12))  # the pin script drew the model maps first
    t = np.arange(0, 60, 0.02)
    pos = np.stack([0.4 * np.sin(t / 3.0), 0.4 * np.cos(t / 5.0)], axis=1)
    pos[100:120] = np.nan
    st = [np.sort(rng.uniform(0, 60, 300)), np.sort(rng.uniform(0, 60, 50))]
    xe, ye = np.linspace(-0.5, 0.5, 11), np.linspace(-0.5, 0.5, 9)
    assert _sha(spikes_to_ratemap(pos, t, st, xe, ye)) == PINS["spikes_to_ratemap_sha256"]
    mask = np.ones((10, 8), bool) & (np.arange(8)[None, :] > 0)
    got = spikes_to_ratemap(pos, t, st, xe, ye, sigma_bins=1.5, min_occupancy_s=0.1, mask=mask)
    assert _sha(got) == PINS["spikes_to_ratemap_mask_sha256"]
