"""Arena names and geometry: squares, rectangles and circles, and their square bins.

An arena is named by the user (a key of config ``dataset.arenas``). Two kinds of names:

* **numeric** (``"1.0"``, ``"2.2"``): the side of a square (or the diameter of a circle) in
  metres, written with a decimal point. These keep the original API's float keys:
  ``dataset[1.0]``.
* **words** (``"wide"``, ``"linear-box"``, ``"cage2"``): letters, digits, ``.`` and ``-``,
  starting with a letter; the geometry is then given explicitly. They are string keys:
  ``dataset["wide"]``.

Names never contain ``_`` or ``/``: output files are named ``{model}_{arena}`` (model names
may contain ``_``), so the part after the last ``_`` is always the arena, and arena names
are folder names.

Geometry (metres, the arena centred on (0, 0)):

* ``square``: side ``size`` (default: the numeric name);
* ``rectangle``: ``width`` (along x) x ``height`` (along y);
* ``circle``: ``diameter`` (default: ``size``, else the numeric name); bins wholly outside
  the circle are NaN in every data map.

Bins are square, ``bin_cm`` on both axes, laid from the arena's centre: an axis of length L
gets ``round(L / bin)`` bins (at least one) spanning ``[-n * bin / 2, n * bin / 2]``, so
they cover the arena exactly when L is a multiple of the bin and miss (or overhang) less
than half a bin per side otherwise (:func:`arena_edges` says so). ``bins: [nx, ny]`` asks
for a bin count instead (bins then span the arena exactly and may be non-square).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["ARENA_SHAPES", "ArenaGeometry", "ArenaNameError", "arena_geometry", "arena_edges",
           "arena_id", "arena_key", "arena_label", "arena_sort_key", "check_arena_name",
           "find_arena", "is_numeric_name", "EDGE_SPAN_TOLERANCE"]

#: Shapes an arena may have.
ARENA_SHAPES = ("square", "rectangle", "circle")

#: Edges of a dataset arena may span at most this fraction more or less than the arena's
#: width / height (load_dataset refuses the file otherwise). Tracking overshoots the walls
#: by a few cm (one Sargolini et al. 2006 session spans 104.8 cm of a 100 cm box) and the
#: synthetic dataset's edges run from the walkers' extremes (~99 cm of 100); a unit mistake
#: is off by a factor of 100 (cm read as m) or 1000s (pixels).
EDGE_SPAN_TOLERANCE = 0.1

_NUMERIC = re.compile(r"^[0-9]+\.[0-9]+$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*$")
#: Keys an arena entry may carry (besides the synthetic simulator's ``session_min``).
GEOMETRY_KEYS = ("shape", "size", "width", "height", "diameter", "bins")


class ArenaNameError(ValueError):
    """An arena name or geometry that cannot be used; the message names it."""


def is_numeric_name(name) -> bool:
    """True for a number (``1.0``) or a numeric name (``"1.0"``, ``"2.2"``)."""
    if isinstance(name, (int, float, np.integer, np.floating)) and not isinstance(name, bool):
        return math.isfinite(float(name)) and float(name) > 0
    return isinstance(name, str) and bool(_NUMERIC.match(name.strip()))


def _canonical_number(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else repr(value)


def arena_key(arena) -> str:
    """The canonical text form of an arena name: ``1`` / ``1.0`` / ``"1.00"`` -> ``"1.0"``;
    a word name is returned as is. Used for HDF5 group names, file names and table joins."""
    if is_numeric_name(arena):
        return _canonical_number(float(arena))
    if isinstance(arena, str):
        try:  # "1" or "2.20": a number not written in the canonical way
            value = float(arena)
        except ValueError:
            value = None
        if value is not None and math.isfinite(value) and value > 0:
            return _canonical_number(value)
        if _WORD.match(arena):
            return arena
    raise ArenaNameError(
        f"arena {arena!r} is not an arena name: use a size in metres written with a decimal "
        f"point ('1.0') or a word of letters, digits, '.' and '-' starting with a letter "
        f"('wide'); no '_' (output files are named {{model}}_{{arena}}) and no '/'")


def arena_id(arena):
    """The key of an arena in a :class:`mec.data.Dataset`: a float (metres) for a numeric
    name (the original API's ``dataset[1.0]``), the name itself for a word."""
    key = arena_key(arena)
    return float(key) if is_numeric_name(key) else key


def find_arena(mapping: Mapping, arena, what: str = "the dataset"):
    """The key under which ``mapping`` holds ``arena``, whatever form each uses: ``1.0``,
    ``1``, ``"1.0"`` and ``"1.00"`` name one arena, ``"wide"`` another. The key itself first
    (a dict keyed ``"1.0"`` and ``1.0`` alike answers for the form asked); ValueError naming
    the arena, ``what`` and the arenas it has when none names it.

    Results are keyed as the data key them, so every function taking an arena (the original
    API's ``get_fits`` and ``unit_concat``, the fit tables) finds it in any of its forms.
    """
    try:
        want = arena_key(arena)
    except (ArenaNameError, TypeError):
        want = None
    match = []
    for key in mapping:
        if key == arena and type(key) is type(arena):
            return key
        try:
            if want is not None and arena_key(key) == want:
                match.append(key)
        except (ArenaNameError, TypeError):
            continue
    if match:
        return match[0]
    raise ValueError(f"arena {arena!r} not in {what} (arenas: {list(mapping)})")


def arena_label(arena) -> str:
    """Text for titles and messages: ``"1.0 m"`` for a numeric name, ``"'wide'"`` else."""
    key = arena_key(arena)
    return f"{key} m" if is_numeric_name(key) else repr(key)


def arena_sort_key(arena) -> tuple:
    """Sort numeric names by size first, then word names alphabetically."""
    key = arena_key(arena)
    return (0, float(key), "") if is_numeric_name(key) else (1, 0.0, key)


def check_arena_name(name, where: str = "dataset.arenas") -> str:
    """``name`` if it is a usable config key (canonical numeric text or a word); else
    ArenaNameError naming ``where``."""
    if not isinstance(name, str):
        raise ArenaNameError(f"config {where}: arena name {name!r} must be a string "
                             f"(quote numbers: \"1.0\")")
    try:
        key = arena_key(name)
    except ArenaNameError as err:
        raise ArenaNameError(f"config {where}: {err}") from None
    if key != name:
        raise ArenaNameError(f"config {where}: arena name {name!r} must be written {key!r} "
                             f"(one canonical spelling per arena, used in file names)")
    return name


@dataclass(frozen=True)
class ArenaGeometry:
    """One arena: ``shape`` in :data:`ARENA_SHAPES`, ``width`` (x) and ``height`` (y) in
    metres (a circle's diameter for both), centred on (0, 0); ``bins``: an explicit
    (nx, ny) bin count, or None for square bins of ``bin_cm``."""

    name: str
    shape: str
    width: float
    height: float
    bins: tuple | None = None

    @property
    def size(self) -> float | None:
        """Side (square) or diameter (circle) in metres; None for a rectangle."""
        return None if self.shape == "rectangle" else self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_x, max_x, min_y, max_y) metres."""
        return (-self.width / 2, self.width / 2, -self.height / 2, self.height / 2)

    def describe(self) -> str:
        if self.shape == "rectangle":
            return f"rectangle {100 * self.width:g} x {100 * self.height:g} cm"
        if self.shape == "circle":
            return f"circle, diameter {100 * self.width:g} cm"
        return f"square, side {100 * self.width:g} cm"

    def inside(self, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """(nx, ny) bool: bins that overlap the arena (any part of the bin inside it)."""
        x_edges, y_edges = np.asarray(x_edges, float), np.asarray(y_edges, float)
        if self.shape != "circle":
            return np.ones((len(x_edges) - 1, len(y_edges) - 1), dtype=bool)
        return disc_mask((0.0, 0.0), self.width / 2, x_edges, y_edges)

    def attrs(self) -> dict:
        """HDF5 attributes of the dataset's arena group (``size`` kept for squares and
        circles, as format version 1 always had it)."""
        out = {"shape": self.shape, "width": float(self.width), "height": float(self.height)}
        if self.size is not None:
            out["size"] = float(self.size)
        if self.bins is not None:
            out["bins"] = np.asarray(self.bins, dtype=np.int64)
        return out


def disc_mask(centre, radius: float, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """(nx, ny) bool: bins any part of which lies inside the disc (nearest point of each
    bin to the centre closer than ``radius``), so that no bin an animal could visit is lost."""
    cx, cy = float(centre[0]), float(centre[1])
    nx = np.clip(cx, x_edges[:-1], x_edges[1:])
    ny = np.clip(cy, y_edges[:-1], y_edges[1:])
    return np.hypot(nx[:, None] - cx, ny[None, :] - cy) < radius


def _positive(value, what: str, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ArenaNameError(f"arena {name!r}: {what} {value!r} is not a number (metres)") from None
    if not math.isfinite(v) or v <= 0:
        raise ArenaNameError(f"arena {name!r}: {what} must be a positive length in metres, "
                             f"got {value!r}")
    return v


def arena_geometry(name, spec: Mapping | None = None) -> ArenaGeometry:
    """The geometry of arena ``name`` from its config entry (``dataset.arenas[name]``).

    spec keys: ``shape`` (square | rectangle | circle; default square), ``size`` (square
    side / circle diameter, m; default the numeric name), ``width`` and ``height`` (m, a
    rectangle's), ``diameter`` (m, a circle's), ``bins`` ([nx, ny], optional). Other keys
    (e.g. the simulator's ``session_min``) are ignored here. Raises ArenaNameError naming
    the arena and the missing or contradictory key.
    """
    key = arena_key(name)
    spec = dict(spec or {})
    shape = spec.get("shape", "square")
    if shape not in ARENA_SHAPES:
        raise ArenaNameError(f"arena {key!r}: shape {shape!r} is not one of {ARENA_SHAPES}")
    numeric = float(key) if is_numeric_name(key) else None
    bins = spec.get("bins")
    if bins is not None:
        if len(bins) != 2 or any(int(b) != b or int(b) < 1 for b in bins):
            raise ArenaNameError(f"arena {key!r}: bins {bins!r} must be two positive integers "
                                 f"[nx, ny]")
        bins = (int(bins[0]), int(bins[1]))
    if shape == "rectangle":
        extra = [k for k in ("size", "diameter") if spec.get(k) is not None]
        if extra:
            raise ArenaNameError(f"arena {key!r}: a rectangle takes width and height, not {extra}")
        missing = [k for k in ("width", "height") if spec.get(k) is None]
        if missing:
            raise ArenaNameError(f"arena {key!r}: a rectangle needs {missing} (metres)")
        return ArenaGeometry(key, shape, _positive(spec["width"], "width", key),
                             _positive(spec["height"], "height", key), bins)
    extra = [k for k in ("width", "height") if spec.get(k) is not None]
    if extra:
        raise ArenaNameError(f"arena {key!r}: a {shape} takes "
                             f"{'size' if shape == 'square' else 'diameter (or size)'}, not "
                             f"{extra}; use shape: rectangle for width x height")
    given = [(k, spec[k]) for k in (("size",) if shape == "square" else ("diameter", "size"))
             if spec.get(k) is not None]
    if len(given) > 1 and float(given[0][1]) != float(given[1][1]):
        raise ArenaNameError(f"arena {key!r}: diameter {given[0][1]} and size {given[1][1]} "
                             f"disagree")
    if given:
        side = _positive(given[0][1], given[0][0], key)
        if numeric is not None and not math.isclose(side, numeric, rel_tol=1e-9):
            raise ArenaNameError(f"arena {key!r}: {given[0][0]} {side} m contradicts the name, "
                                 f"which says {numeric} m; name it by a word to give it a "
                                 f"different size")
    elif numeric is not None:
        side = numeric
    else:
        what = "size (side, m)" if shape == "square" else "diameter (m)"
        raise ArenaNameError(f"arena {key!r}: a {shape} named by a word needs its {what}, or "
                             f"a numeric name such as '1.0'")
    return ArenaGeometry(key, shape, side, side, bins)


def geometry_from_attrs(key: str, attrs: Mapping) -> ArenaGeometry:
    """Geometry of a dataset file's arena group, or of a ``Dataset.arenas`` entry (format
    version 1 files that predate ``width``/``height`` have ``size`` and ``shape`` only; older
    still, only the numeric name). ArenaNameError when a needed attribute is missing."""
    def get(k):
        v = attrs.get(k)
        return v.decode() if isinstance(v, bytes) else v

    shape = str(get("shape") or "square")
    bins = get("bins")
    bins = None if bins is None else [int(b) for b in np.asarray(bins).ravel()]
    if shape == "rectangle":
        return arena_geometry(key, {"shape": shape, "width": get("width"),
                                    "height": get("height"), "bins": bins})
    side = get("size") if get("size") is not None else get("width")
    return arena_geometry(key, {"shape": shape, "size": side, "bins": bins})


def arena_edges(geometry: ArenaGeometry, bin_cm: float) -> tuple[np.ndarray, np.ndarray, list]:
    """(x_edges, y_edges, notes): bins of an arena in its centred frame (module docstring).

    Square bins of ``bin_cm`` (or ``geometry.bins`` when given). ``notes`` lists, in words,
    where the bins do not cover the arena exactly (a side that is not a multiple of the bin).
    """
    if not bin_cm > 0:
        raise ValueError(f"bin_cm must be positive, got {bin_cm!r}")
    b = float(bin_cm) / 100.0
    edges, notes = [], []
    for axis, length, n_given in (("x", geometry.width, None if geometry.bins is None else
                                   geometry.bins[0]),
                                  ("y", geometry.height, None if geometry.bins is None else
                                   geometry.bins[1])):
        if n_given is not None:
            edges.append(np.linspace(-length / 2, length / 2, n_given + 1))
            continue
        n = max(1, int(round(length / b)))
        span = n * b
        if not math.isclose(span, length, rel_tol=0, abs_tol=1e-9):
            notes.append(f"arena {geometry.name!r}: {axis} side {100 * length:g} cm is not a "
                         f"multiple of the {bin_cm:g} cm bin; {n} bins span {100 * span:g} cm, "
                         f"centred")
        edges.append(np.linspace(-span / 2, span / 2, n + 1))
    return edges[0], edges[1], notes
