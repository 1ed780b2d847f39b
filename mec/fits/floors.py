"""Noise floors: the same fits with sources that have no spatial tuning (methods §7.3).

A score means little without the two references around it: the ceiling above (inter-animal
consistency, methods §4.3) and a floor below - what a source scores that shares the recipe and the
splits but carries no spatial tuning. With the paper's recipe and random-bin splits the floor
is high (smoothed Poisson noise scores 0.83 against the data's 0.87 in the 1.0 m arena of the
embedded data, methods §7.3), because the smoothing kernel and the zero padding at the walls are
shared by every map; in the robust setting it is about 0.

A floor fit is the inter-animal fit with each SOURCE animal replaced by a control made from
its own spike counts and time per bin (the dataset's ``spike_counts`` and ``occupancy``, each
cell in its own session), then turned into maps with the setting's recipe; the TARGET is the
real data, as in the ceiling. One floor per arena, map, setting and control serves every
model, since a model fit has the same targets and splits.

Controls (:data:`CONTROLS`), drawn once per animal and reused for every map and setting:

* ``"poisson"`` - Poisson counts with each cell's mean rate (its spikes / its time) times
  the time spent in each bin: the animal's path and the cell's rate, no tuning.
* ``"permuted"`` - the data with bins permuted: counts and time of the visited bins
  shuffled together by one permutation per animal and session (so the population's joint
  rates per bin are kept, their places are not).
* ``"rotated"`` - the data rotated by 180 degrees (counts, time and the arena mask): real
  tuning, in the wrong place. Not tuning-free (a grid stays a grid), so it is offered but
  not among the default controls.

The summary's floor of an arena, map and setting is the highest median over the controls
computed (mec.summary.tables). One draw per control is enough for a few hundred cells; with
few cells the median of one draw is noisy (12 Sargolini cells: a standard deviation of 0.09
across seeds in the robust setting), so ``draws`` > 1 averages each cell's score over
independent draws first.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

__all__ = ["CONTROLS", "DEFAULT_CONTROLS", "control_counts", "control_source",
           "floor_scores", "floor_table"]

CONTROLS = ("poisson", "permuted", "rotated")
#: Controls computed by default (config fits.floors.controls).
DEFAULT_CONTROLS = ("poisson", "permuted")


def control_counts(kind: str, counts: np.ndarray, occupancy: np.ndarray, mask: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, time per bin and mask of one animal's control (module docstring).

    counts, occupancy: (nx, ny, n_cells) spikes and seconds per bin; mask: (nx, ny, n_cells)
    bool, the bins the animal's maps are defined in (finite ``resp``). Returns
    (counts, occupancy, mask) of the control, same shapes.
    """
    counts = np.asarray(counts, dtype=np.float64)
    occupancy = np.asarray(occupancy, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if kind == "poisson":
        total = occupancy.sum(axis=(0, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(total > 0, counts.sum(axis=(0, 1)) / total, 0.0)
        return rng.poisson(rate[None, None, :] * occupancy).astype(np.float64), occupancy, mask
    if kind == "permuted":
        from mec.data.contract import occupancy_sessions

        sessions, index = occupancy_sessions(occupancy)
        new_c, new_o = counts.copy(), occupancy.copy()
        for k in range(sessions.shape[-1]):
            cells = np.flatnonzero(index == k)
            visited = np.flatnonzero(((sessions[..., k] > 0) & mask[..., cells].all(axis=-1)).ravel())
            perm = visited[rng.permutation(len(visited))]
            for arr, src in ((new_c, counts), (new_o, occupancy)):
                flat = arr.reshape(-1, arr.shape[-1])
                flat[np.ix_(visited, cells)] = src.reshape(-1, src.shape[-1])[np.ix_(perm, cells)]
        return new_c, new_o, mask
    if kind == "rotated":
        return (counts[::-1, ::-1].copy(), occupancy[::-1, ::-1].copy(), mask[::-1, ::-1].copy())
    raise ValueError(f"floor control {kind!r} is not one of {CONTROLS}")


def _rng(seed: int, arena, control: str, animal_index: int, draw: int = 0) -> np.random.Generator:
    """One generator per (arena, control, animal), so a control does not depend on which
    other controls or arenas are computed. The arena enters by its key's text (CRC-32), which
    works for sizes (1.0 -> "1.0") and names alike."""
    import zlib

    key = (zlib.crc32(str(arena).encode()), CONTROLS.index(control), int(animal_index), int(draw))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def control_source(dataset, arena, control: str, seed: int = 0, draw: int = 0) -> dict:
    """Counts of each animal's control: ``{animal: (counts, occupancy, mask)}`` (module
    docstring), from ``dataset.spike_counts`` / ``dataset.occupancy``; the mask is where the
    stored maps are finite; ``draw`` numbers independent draws of the same seed. ValueError
    naming the arena and animal when they are missing."""
    counts = getattr(dataset, "spike_counts", {}).get(arena, {})
    occ = getattr(dataset, "occupancy", {}).get(arena, {})
    out = {}
    for i, (animal, rec) in enumerate(dataset[arena].items()):
        if animal not in counts or animal not in occ:
            raise ValueError(
                f"noise floor: dataset arena {arena} animal {animal} stores no spike_counts/"
                "occupancy, which the controls are made from; rebuild the dataset with this "
                "version of mec (make_dataset) or set config fits.floors.controls: []")
        mask = np.isfinite(np.asarray(rec["resp"], dtype=np.float64))
        out[animal] = control_counts(control, counts[animal], occ[animal], mask,
                                     _rng(seed, arena, control, i, draw))
    return out


def floor_scores(target_data: Mapping, source_maps: Mapping, map_type: str = "sklinear",
                 map_kwargs: dict | None = None, mode: str = "holdout", train_frac=0.2,
                 num_splits: int = 10, split_start_seed: int = 0, map_kwargs_per_cell=None,
                 blas_threads: int | None = 1, where: str = "noise floor") -> dict:
    """Inter-animal fit with control sources: ``{animal: (n_cells,) scores}``.

    target_data: ``{animal: {"resp", "cell_ids"}}`` (the real maps under the setting's
    recipe); source_maps: ``{animal: (nx, ny, n_cells)}`` control maps, same animals. Each
    animal's cells are predicted from the OTHER animals' controls: all of them at once
    ("holdout") or one at a time, averaged ("pairwise"), as in
    :func:`mec.fits.core.interanimal_scores`. where: what the fit is, for messages.
    """
    from mec.fits.core import fit_scores

    animals = list(target_data)
    if len(animals) < 2:
        warnings.warn(f"noise floor needs >= 2 animals, got {animals}", UserWarning)
        return {}
    common = dict(map_type=map_type, map_kwargs=map_kwargs, train_frac=train_frac,
                  num_splits=num_splits, split_start_seed=split_start_seed,
                  map_kwargs_per_cell=map_kwargs_per_cell, blas_threads=blas_threads)
    out = {}
    for animal in animals:
        target = target_data[animal]["resp"]
        ids = target_data[animal]["cell_ids"]
        others = [a for a in animals if a != animal]
        at = f"{where}, target animal {animal}"
        if mode == "holdout":
            source = np.concatenate([source_maps[a] for a in others], axis=-1)
            out[animal] = fit_scores(source, target, cell_ids=ids, where=at, **common)
        elif mode == "pairwise":
            per = [fit_scores(source_maps[a], target, cell_ids=ids,
                              where=f"{at}, source animal {a}", **common) for a in others]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[animal] = np.nanmean(np.stack(per), axis=0)
        else:
            raise ValueError(f"interanimal mode={mode!r} is not one of ('holdout', 'pairwise')")
    return out


def floor_table(dataset, arena, maps_by_setting: Mapping[str, Mapping], settings: Mapping,
                controls: Sequence[str] = DEFAULT_CONTROLS, mode: str = "holdout",
                num_splits: int = 10, split_start_seed: int = 0, seed: int = 0,
                draws: int = 1, progress: bool = True):
    """Noise floors of one arena as a tidy table (results/floors/{arena}.csv).

    dataset: a mec.data.Dataset with spike counts and occupancy; maps_by_setting:
    ``{setting name: {map name: {"map_type", "map_kwargs"[, "map_kwargs_per_cell"]}}}``;
    settings: ``{name: mec.fits.settings.Setting}`` (recipe and split of each); controls:
    names in :data:`CONTROLS`; seed: seed of the controls; draws: independent draws of each
    control, a cell's score being the mean over them. Returns mec.fits.core.TABLE_COLUMNS
    rows, one per target cell, map, setting and control, with source ``"control_<kind>"``
    and layer "-".
    """
    from mec.fits.core import map_settings, score_rows, tidy_table
    from mec.fits.settings import dataset_for
    from mec.ratemaps import rates_from_counts

    bad = [c for c in controls if c not in CONTROLS]
    if bad:
        raise ValueError(f"floor controls {bad} are not among {CONTROLS}")
    if int(draws) < 1:
        raise ValueError(f"floor draws must be >= 1, got {draws!r}")
    frames = []
    for control in controls:
        sources = [control_source(dataset, arena, control, seed, d) for d in range(int(draws))]
        for name, setting in settings.items():
            target = dataset_for(dataset, arena, setting.recipe)
            arena_data = target[arena]
            for map_name, spec in maps_by_setting[name].items():
                map_type, map_kwargs, per_cell = map_settings(map_name, spec)
                if progress:
                    print(f"floor arena {arena} control {control} setting {name} map {map_name}",
                          flush=True)
                per_draw = []
                for source in sources:
                    # the setting's source recipe (unsmoothed in the halves setting, §7.8)
                    src_maps = {a: rates_from_counts(c, o, setting.source_recipe, mask=m)
                                for a, (c, o, m) in source.items()}
                    if getattr(setting, "halves", False):
                        # the target's two recording halves (mec.fits.halves, methods §7.8)
                        from mec.fits.halves import halves_floor_scores

                        per_draw.append(halves_floor_scores(
                            dataset, arena, src_maps, setting, map_type, map_kwargs, mode=mode,
                            num_splits=num_splits, split_start_seed=split_start_seed,
                            map_kwargs_per_cell=per_cell,
                            where=f"noise floor arena {arena}, control {control}, setting "
                                  f"{name}, map {map_name}"))
                        continue
                    per_draw.append(floor_scores(
                        arena_data, src_maps, map_type=map_type, map_kwargs=map_kwargs,
                        mode=mode, train_frac=setting.train_frac, num_splits=num_splits,
                        split_start_seed=split_start_seed, map_kwargs_per_cell=per_cell,
                        where=f"noise floor arena {arena}, control {control}, setting {name}, "
                              f"map {map_name}"))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cell -> NaN
                    scores = {a: np.nanmean(np.stack([d[a] for d in per_draw]), axis=0)
                              for a in per_draw[0]}
                for animal, sc in scores.items():
                    frames.append(score_rows(arena, arena_data, animal, sc, f"control_{control}",
                                             "-", map_name, name))
    return tidy_table(frames)
