"""The file layouts of external models (mec.models.external): rate-map files and samples,
read and checked; every error names the model, the file and the problem.

The layouts are documented in mec.models.external (module docstring) and README "Bring your
own model"; :func:`read_ratemaps` and :func:`read_samples` read one arena of a file,
:func:`samples_maps` bins samples with the coverage check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["ExternalModelError", "DEFAULT_LAYER", "MIN_COVERAGE", "read_ratemaps",
           "read_samples", "samples_maps"]

#: Least fraction of an arena's bins (those where the data have a rate) that samples must
#: visit: a model map NaN in many bins would be fitted on part of the arena only.
MIN_COVERAGE = 0.9
#: Layer name of a single unnamed layer (samples ``activations`` array, a callable's array).
DEFAULT_LAYER = "units"
#: Positions more than this many bins beyond the edges are a frame or unit mistake.
_OUTSIDE_BINS = 1.0
_OUTSIDE_FRACTION = 0.01


class ExternalModelError(ValueError):
    """An external model that cannot be scored; the message names model, file and problem."""


def _where(model: str, path=None) -> str:
    return f"model {model!r}" + (f", file {path}" if path is not None else "")


# ---------------------------------------------------------------------------------------------
# reading files
# ---------------------------------------------------------------------------------------------
def _arrays(path, model: str) -> tuple[dict, dict]:
    """(``{name: array}`` with '/'-joined names, root attributes) of an .h5 or .npz file."""
    path = Path(path)
    if not path.is_file():
        raise ExternalModelError(f"{_where(model, path)}: the file does not exist")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}, {}
        except (OSError, ValueError) as err:
            raise ExternalModelError(f"{_where(model, path)}: cannot be read as .npz ({err})") from None
    import h5py

    out = {}
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                         if isinstance(obj, h5py.Dataset) else None)
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    except OSError as err:
        raise ExternalModelError(f"{_where(model, path)}: cannot be read as HDF5 ({err})") from None
    return out, attrs


def _split_arenas(arrays: dict) -> dict:
    """{arena key or None: {name: array}}: ``arenas/{arena}/...`` groups, or None for a file
    without them."""
    from mec.data.arenas import arena_key

    groups: dict = {}
    for name, a in arrays.items():
        parts = name.split("/")
        if parts[0] == "arenas" and len(parts) >= 3:
            groups.setdefault(arena_key(parts[1]), {})["/".join(parts[2:])] = a
        else:
            groups.setdefault(None, {})[name] = a
    return groups


def _arena_groups(path, model: str, arena) -> tuple[dict, dict, str, str]:
    """A file read and split by arena, for the readers of one arena: ``(groups
    (_split_arenas), attrs, the arena's key, where (for errors))``."""
    from mec.data.arenas import arena_key

    arrays, attrs = _arrays(path, model)
    return _split_arenas(arrays), attrs, arena_key(arena), _where(model, path)


def _finite_edges(e, what: str) -> np.ndarray:
    e = np.asarray(e, dtype=float)
    if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
        raise ExternalModelError(f"{what}: must be finite increasing 1-d bin edges in metres, "
                                 f"got shape {e.shape}")
    return e


def _check_edges(edges, expected, what: str, expected_what: str) -> None:
    from mec.ratemaps import EdgeMismatchError, check_same_edges

    try:
        check_same_edges(edges, expected, f"{what} vs {expected_what}")
    except EdgeMismatchError as err:
        raise ExternalModelError(f"{err} (mec never regrids; make the maps on the dataset's "
                                 f"edges)") from None


def read_ratemaps(path, model: str, arena, edges=None, layers: Sequence[str] | None = None):
    """A ``ratemaps`` file's maps of one arena, validated (module docstring).

    arena: the arena's name; edges: the dataset's (x_edges, y_edges) of that arena (None: not
    compared); layers: the layers wanted (None: every layer of the file). Returns
    ``(maps {layer: (nx, ny, n_units) float64}, (x_edges, y_edges), counts (nx, ny) or None,
    unit_ids {layer: array or None})``; ExternalModelError naming model, file and problem.
    """
    from mec.data.arenas import arena_key

    groups, attrs, key, where = _arena_groups(path, model, arena)
    if key in groups:
        g, here = groups[key], f"{where}, arena {key}"
    elif set(groups) == {None} and (attrs.get("arena") is None
                                    or arena_key(attrs["arena"]) == key):
        g, here = groups[None], f"{where} (one-arena layout)"
    else:
        have = sorted(k for k in groups if k is not None) or (
            [arena_key(attrs["arena"])] if attrs.get("arena") is not None else [])
        raise ExternalModelError(f"{where}: no maps for arena {key} (the file has arenas "
                                 f"{have}; expected group /arenas/{key}/)")
    for e in ("x_edges", "y_edges"):
        if e not in g:
            raise ExternalModelError(f"{here}: no {e}; a rate-map file stores its bin edges "
                                     f"(mec.models.external layout)")
    file_edges = (_finite_edges(g["x_edges"], f"{here}: x_edges"),
                  _finite_edges(g["y_edges"], f"{here}: y_edges"))
    if edges is not None:
        _check_edges(file_edges, edges, f"{here}", f"dataset arena {key}")
    nx, ny = len(file_edges[0]) - 1, len(file_edges[1]) - 1
    found = sorted({n.split("/")[0] for n in g if n.endswith("/resp")})
    if not found:
        raise ExternalModelError(f"{here}: no layer (no {{layer}}/resp maps of shape (nx, ny, "
                                 f"n_units))")
    wanted = found if layers is None else list(layers)
    missing = [la for la in wanted if la not in found]
    if missing:
        raise ExternalModelError(f"{here}: layer(s) {missing} missing (the file has {found})")
    counts = g.get("sample_counts")
    if counts is not None:
        counts = np.asarray(counts, dtype=float)
        if counts.shape != (nx, ny) or not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ExternalModelError(f"{here}: sample_counts must be finite, >= 0 and of shape "
                                     f"({nx}, {ny}), got shape {counts.shape}")
    maps, ids = {}, {}
    for layer in wanted:
        m = np.asarray(g[f"{layer}/resp"])
        if m.dtype.kind not in "fiu":
            raise ExternalModelError(f"{here}, layer {layer}: maps must be numbers, got {m.dtype}")
        m = m.astype(np.float64)
        if m.ndim != 3 or m.shape[:2] != (nx, ny):
            raise ExternalModelError(f"{here}, layer {layer}: maps of shape {m.shape}, expected "
                                     f"(nx, ny, n_units) = ({nx}, {ny}, n) from the edges")
        _check_values(m, counts, f"{here}, layer {layer}")
        maps[layer] = m
        uid = g.get(f"{layer}/unit_ids")
        if uid is not None:
            uid = np.asarray(uid).ravel()
            if len(uid) != m.shape[2] or len(set(uid.tolist())) != len(uid):
                raise ExternalModelError(f"{here}, layer {layer}: {len(uid)} unit_ids for "
                                         f"{m.shape[2]} units (one unique id per unit)")
        ids[layer] = uid
    return maps, file_edges, counts, ids


def _check_values(m: np.ndarray, counts, where: str) -> None:
    """Refuse inf anywhere and NaN outside bins with no samples (:func:`read_ratemaps`)."""
    n_inf = int(np.isinf(m).sum())
    if n_inf:
        raise ExternalModelError(f"{where}: {n_inf} infinite value(s)")
    nan = np.isnan(m)
    if counts is not None:
        nan = nan & (counts > 0)[..., None]
    if nan.any():
        bins = int(nan.any(axis=2).sum())
        units = int(nan.any(axis=(0, 1)).sum())
        extra = "" if counts is not None else " (NaN is allowed only in bins whose sample_counts are 0)"
        raise ExternalModelError(f"{where}: NaN in {bins} bin(s) of {units} unit(s){extra}")


def _check_coverage(counts: np.ndarray, mask, where: str) -> None:
    inside = np.ones(counts.shape, bool) if mask is None else np.asarray(mask, bool)
    n = int(inside.sum())
    if n == 0:
        return
    covered = float(((counts > 0) & inside).sum()) / n
    if covered < MIN_COVERAGE:
        raise ExternalModelError(f"{where}: the samples visit {100 * covered:.0f}% of the arena's "
                                 f"{n} bins, less than {100 * MIN_COVERAGE:.0f}% (coverage check): "
                                 f"give longer trajectories covering the whole arena")


def _check_positions(pos: np.ndarray, x_edges, y_edges, where: str) -> None:
    """Refuse positions far outside the edges (another frame or centimetres)."""
    fin = np.isfinite(pos).all(axis=1)
    p = pos[fin]
    tol_x = _OUTSIDE_BINS * float(np.diff(x_edges).max())
    tol_y = _OUTSIDE_BINS * float(np.diff(y_edges).max())
    out = ((p[:, 0] < x_edges[0] - tol_x) | (p[:, 0] > x_edges[-1] + tol_x)
           | (p[:, 1] < y_edges[0] - tol_y) | (p[:, 1] > y_edges[-1] + tol_y))
    if len(p) and out.mean() > _OUTSIDE_FRACTION:
        raise ExternalModelError(
            f"{where}: {100 * out.mean():.1f}% of positions lie outside the arena's edges "
            f"x [{x_edges[0]:.3f}, {x_edges[-1]:.3f}] m, y [{y_edges[0]:.3f}, {y_edges[-1]:.3f}] m "
            f"(positions span x [{p[:, 0].min():.3f}, {p[:, 0].max():.3f}], y "
            f"[{p[:, 1].min():.3f}, {p[:, 1].max():.3f}]); positions are metres in the "
            f"dataset's frame, centred on the arena")


def read_samples(path, model: str, arena, layer: str | None = None):
    """A ``samples`` file's (positions (n, 2), {layer: (n, n_units)}) for one arena
    (module docstring), checked for shapes and finite values."""
    groups, _, key, where = _arena_groups(path, model, arena)
    if key in groups:
        g, here = groups[key], f"{where}, arena {key}"
    elif None in groups and "positions" in groups[None]:
        g, here = groups[None], where
    else:
        raise ExternalModelError(f"{where}: no samples for arena {key} (need positions and "
                                 f"activations, at the root or under arenas/{key}/)")
    if "positions" not in g:
        raise ExternalModelError(f"{here}: no positions (n, 2) in metres")
    pos = np.asarray(g["positions"], dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ExternalModelError(f"{here}: positions of shape {pos.shape}, expected (n, 2) metres")
    acts = {}
    if "activations" in g:
        acts[layer or DEFAULT_LAYER] = g["activations"]
    for name, a in g.items():
        if name.startswith("activations/"):
            acts[name.split("/", 1)[1]] = a
    if not acts:
        raise ExternalModelError(f"{here}: no activations (n, n_units) or activations/{{layer}}")
    out = {}
    for name, a in acts.items():
        a = np.asarray(a)
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[0] != pos.shape[0]:
            raise ExternalModelError(f"{here}, layer {name}: activations of shape {a.shape}, "
                                     f"expected ({pos.shape[0]}, n_units) like positions")
        if a.dtype.kind not in "fiu" or not np.all(np.isfinite(a)):
            raise ExternalModelError(f"{here}, layer {name}: "
                                     f"{int((~np.isfinite(a.astype(float))).sum())} NaN or "
                                     f"infinite activation(s)")
        out[name] = a
    return pos, out


def samples_maps(positions, activations: Mapping, x_edges, y_edges, where: str, mask=None):
    """Bin samples on the edges (:class:`mec.ratemaps.BinMeans`, the binning of every model),
    after the position and coverage checks. Returns ({layer: (nx, ny, n)}, counts (nx, ny))."""
    from mec.ratemaps import BinMeans

    positions = np.asarray(positions, dtype=float)
    _check_positions(positions, x_edges, y_edges, where)
    binned = BinMeans(x_edges, y_edges)
    binned.add(positions, dict(activations))
    counts = binned.sample_counts()
    _check_coverage(counts, mask, where)
    return binned.means(), counts
