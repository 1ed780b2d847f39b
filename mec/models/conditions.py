"""The Figure 2 condition of a model evaluated in an arena (methods §2.3): the one rule.

Rate-map files record it (mec.models.export.export_ratemaps, attribute ``condition``) and
the summary tables label every model row with it (mec.summary.tables); both call
:func:`training_condition`. Only numbers and names here (no Keras, no pandas).
"""

from __future__ import annotations

import math
from typing import Mapping

__all__ = ["CONDITIONS", "BASELINE_CONDITION", "NO_CONDITION", "ArenaShapeError",
           "training_condition", "is_training_box"]

#: The paper's training conditions, in its order (methods §2.3).
CONDITIONS = ("untrained", "trained", "generalization", "position_loss")
#: The condition of a model with no training step (config ``baseline:``, mec.baselines).
BASELINE_CONDITION = "baseline"
#: The condition of a network config that names no training box.
NO_CONDITION = "any"
#: Sides closer than this (m) are the same box.
SIDE_TOLERANCE = 1e-6


class ArenaShapeError(ValueError):
    """The evaluation arena is named by a word and given without its geometry."""


def _evaluation_square(arena):
    """The side (m) of the evaluation arena when it is a square, else None.

    arena: a mec.data.arenas.ArenaGeometry (its shape and sides decide), a side in metres (a
    square), or an arena name: a numeric name is the square of that side (the default
    geometry of a numeric name); a word name has no geometry of its own (ValueError).
    """
    from mec.data.arenas import ArenaGeometry, is_numeric_name

    if isinstance(arena, ArenaGeometry):
        if arena.shape == "square" or (arena.shape == "rectangle"
                                        and math.isclose(arena.width, arena.height,
                                                         abs_tol=SIDE_TOLERANCE)):
            return float(arena.width)
        return None
    if is_numeric_name(arena):
        return float(arena)
    raise ArenaShapeError(f"training_condition: arena {arena!r} is named by a word, which says "
                     "nothing of its shape; pass its geometry (mec.data.arenas.ArenaGeometry, "
                     "e.g. Dataset.geometry(arena))")


def training_condition(cfg: Mapping, arena) -> str:
    """The Figure 2 condition of model config ``cfg`` evaluated in ``arena`` (methods §2.3).

    cfg: a model config (config ``models:`` entry or a resolved one); arena: the evaluation
    arena as an ArenaGeometry, a side in metres or a numeric name (see _evaluation_square;
    a word name needs its geometry).

    "baseline" if ``cfg["baseline"]`` is set (checked first: the schema's defaults give
    every model config, baselines included, ``train_arena`` 2.2 and ``loss`` place_cells);
    "untrained" if ``cfg["untrained"]``; else "position_loss" if ``cfg["loss"] ==
    "position"``; else "trained" if the arena is a square whose side is the training box's
    ``cfg["train_arena"]`` (within 1e-6 m; models train in square boxes), "generalization"
    otherwise (another size, a rectangle, a circle). A network config without
    ``train_arena`` gets "any". Raises ValueError for a train_arena that is not a size and
    ArenaShapeError (a ValueError) for a word-named arena given without its geometry.
    """
    if cfg.get("baseline"):
        return BASELINE_CONDITION
    if cfg.get("untrained", False):
        return "untrained"
    if cfg.get("loss") == "position":
        return "position_loss"
    train_arena = cfg.get("train_arena")
    if train_arena is None:
        return NO_CONDITION
    try:
        train_side = float(train_arena)
    except (TypeError, ValueError):
        raise ValueError(f"model config train_arena={train_arena!r} is not a size in metres") from None
    return "trained" if _same_square(train_side, _evaluation_square(arena)) else "generalization"


def _same_square(train_side: float, side: float | None) -> bool:
    return side is not None and math.isclose(train_side, side, abs_tol=SIDE_TOLERANCE)


def is_training_box(train_arena, arena) -> bool:
    """Is ``arena`` the square training box of side ``train_arena`` (m)? arena: as for
    :func:`training_condition`, except that a word-named arena given without its geometry is
    never the training box (nothing says it is a square of that side)."""
    try:
        side = _evaluation_square(arena)
    except ArenaShapeError:
        return False
    return _same_square(float(train_arena), side)
