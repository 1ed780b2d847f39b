"""Row labels and row order of the summary tables: what a model is (architecture, activation,
variant, condition) and where its row goes.

Baselines (config ``baseline: kind``, mec.baselines, methods §4.6) are summarised like models:
their condition is "baseline" and their row label names the kind, the NMF components and the
box the baseline was built in (``baseline_label``). Models the pipeline did not train
(mec.models.external) are "external". Rows follow the paper's order (``ARCHITECTURE_ORDER``,
``ACTIVATION_ORDER``, then ``BASELINE_ORDER``).
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mec.models.architectures import ARCHITECTURES
from mec.models.conditions import ArenaShapeError, training_condition
from mec.models.external import is_external, model_source

#: The paper's Figure 2 conditions, in its column order (methods §2.3, 4.6), and the rule that
#: gives a model its condition: mec.models.conditions (imported above), the one definition.
#: Baselines get the extra column ``"baseline"``; a network config without a training arena
#: gets ``"any"``; a model without a config, or in a word-named arena whose geometry is not
#: given, ``"unknown"``.
UNKNOWN_CONDITION = "unknown"
#: Condition and architecture label of models the pipeline did not train (mec.models.external).
EXTERNAL_CONDITION = "external"

#: Row order of the Figure 2 pivot: the paper's architectures and activations (methods §4.6
#: table), then its baselines in the order it lists them (velocity, place cells, place cells
#: through MEC, NMF; mec.baselines.BASELINE_KINDS). Unknown names sort after, alphabetically.
ARCHITECTURE_ORDER = tuple(ARCHITECTURES)  # the registry's order (mec.models.architectures)
ACTIVATION_ORDER = ("linear", "tanh", "sigmoid", "relu")
BASELINE_ORDER = ("velocity", "place_cells", "place_cells_mec", "nmf")
BASELINE_ARCHITECTURE = "baseline"

#: Cell-type groups of the per-type summary (methods §5). Head-direction, weakly spatial and
#: untyped cells are all "other".
CELL_TYPE_GROUPS = ("grid", "border", "heterogeneous", "other")

#: Display order of model layers (methods §2.1: RNN -> dense -> decoder).
LAYER_ORDER = ("pre_g", "g", "dc")


def cell_type_group(cell_types: Iterable) -> np.ndarray:
    """Map raw cell types (methods §5, contract) onto ``CELL_TYPE_GROUPS``.

    ``grid``, ``border`` and ``heterogeneous`` keep their name (case-insensitive); every other
    value (``head_direction``, ``weakly_spatial``, missing) becomes ``"other"``.
    """
    out = []
    for t in cell_types:
        t = str(t).strip().lower() if isinstance(t, str) else ""
        out.append(t if t in ("grid", "border", "heterogeneous") else "other")
    return np.asarray(out, dtype=object)


def _is_data_arena(baseline_arena) -> bool:
    return baseline_arena is None or (isinstance(baseline_arena, str) and baseline_arena == "data")


def baseline_label(cfg: Mapping) -> str:
    """Row label of a baseline config (``cfg["baseline"]`` = kind), unique per baseline of
    the paper's Figure 2 (methods §4.6): the kind, then ``k={n_components}`` when set, then the
    box it was built in - "(data arena)" or "({size} m)" - for NMF always (both boxes are
    in the table) and for other kinds only when not the data's arena. Examples:
    "velocity", "place_cells", "place_cells_mec", "nmf k=100 (data arena)",
    "nmf k=512 (2.2 m)", "place_cells (2.2 m)".
    Raises ValueError for a config without ``baseline`` or with a bad ``baseline_arena`` /
    ``n_components``.
    """
    kind = cfg.get("baseline")
    if not kind:
        raise ValueError(f"baseline_label: config has no 'baseline' kind ({dict(cfg)!r})")
    label = str(kind)
    k = cfg.get("n_components")
    if k is not None:
        try:
            label += f" k={int(k)}"
        except (TypeError, ValueError):
            raise ValueError(f"baseline config n_components={k!r} is not an integer") from None
    box = cfg.get("baseline_arena")
    if _is_data_arena(box):
        if str(kind) == "nmf":
            label += " (data arena)"
    else:
        try:
            label += f" ({float(box):g} m)"
        except (TypeError, ValueError):
            raise ValueError(f"baseline config baseline_arena={box!r} is neither 'data' nor a "
                             "size in metres") from None
    return label


def model_descriptor(model: str, cfg: Mapping | None) -> dict:
    """Row labels of a model in the Figure 2 pivot: architecture, activation, variant.

    Baselines (``cfg["baseline"] = kind``, checked first) get architecture "baseline" and
    activation = ``baseline_label(cfg)``, so each baseline has its own row. ``variant``
    lists the options that make a network differ from the paper's plain models ("cues",
    "reward_zone"), "" for none and for baselines.
    """
    cfg = cfg or {}
    if cfg.get("baseline"):
        return {"architecture": BASELINE_ARCHITECTURE, "activation": baseline_label(cfg), "variant": ""}
    if is_external(cfg):  # where it came from: mec.models.external's source (+ population)
        label = model_source(cfg) + (f" {cfg['population']}" if cfg.get("population") else "")
        return {"architecture": EXTERNAL_CONDITION, "activation": label, "variant": ""}
    arch = str(cfg.get("architecture", model))
    act = str(cfg.get("activation", "-"))
    variant = [name for name in ("cues", "reward_zone") if cfg.get(name, False)]
    return {"architecture": arch, "activation": act, "variant": "+".join(variant)}


def _rank(value: str, order: Sequence[str]) -> int:
    return order.index(value) if value in order else len(order)


def _row_sort_columns(architecture: Iterable, activation: Iterable) -> pd.DataFrame:
    """Sort keys (columns _k0.._k6) putting rows in the paper's order (``ARCHITECTURE_ORDER``,
    ``ACTIVATION_ORDER``), baselines last in ``BASELINE_ORDER``, then data-arena before other
    boxes (by size), then by NMF components k (numerically, so k=9 precedes k=100)."""
    pattern = re.compile(r"^(?P<kind>\S+)(?: k=(?P<k>\d+))?(?: \((?P<box>[^)]*)\))?$")
    keys = []
    for arch, act in zip(architecture, activation):
        arch, act = str(arch), str(act)
        if arch != BASELINE_ARCHITECTURE:
            keys.append((0, _rank(arch, ARCHITECTURE_ORDER), arch, _rank(act, ACTIVATION_ORDER),
                         0.0, 0, act))
            continue
        m = pattern.match(act)
        kind = m.group("kind") if m else act
        k = int(m.group("k")) if m and m.group("k") else 0
        box = m.group("box") if m else None
        if box is None or box == "data arena":
            box_rank, box_size = 0, 0.0
        else:
            try:
                box_rank, box_size = 1, float(box.split()[0])
            except (ValueError, IndexError):
                box_rank, box_size = 2, 0.0
        keys.append((1, _rank(kind, BASELINE_ORDER), kind, box_rank, box_size, k, act))
    return pd.DataFrame(keys, columns=[f"_k{i}" for i in range(7)])


def _sort_rows(df: pd.DataFrame, before: Sequence[str], after: Sequence[str]) -> pd.DataFrame:
    """``df`` sorted by ``before``, then the pivot's row order, then ``after``."""
    keys = _row_sort_columns(df["architecture"], df["activation"]).set_index(df.index)
    tmp = pd.concat([df, keys], axis=1)
    tmp = tmp.sort_values(list(before) + list(keys.columns) + list(after), kind="stable")
    return tmp[df.columns]


def _layer_key(layers: pd.Series) -> pd.Series:
    order = {name: i for i, name in enumerate(LAYER_ORDER)}
    return layers.map(lambda x: order.get(x, len(order)))


def _model_condition(cfg: Mapping | None, arena, arenas: Mapping | None) -> str:
    """training_condition of a table row: the arena's geometry from ``arenas`` (arena key ->
    mec.data.arenas.ArenaGeometry) when given, else its name; "unknown" without a config or
    for a word-named arena whose geometry is not given (its name says nothing of its shape)."""
    from mec.data.arenas import arena_key

    if cfg is None:
        return UNKNOWN_CONDITION
    if is_external(cfg):
        return EXTERNAL_CONDITION
    geometry = dict(arenas or {}).get(arena_key(arena))
    try:
        return training_condition(cfg, arena if geometry is None else geometry)
    except ArenaShapeError:
        return UNKNOWN_CONDITION


def _add_model_columns(df: pd.DataFrame, model_configs: Mapping[str, Mapping] | None,
                       arenas: Mapping | None = None) -> pd.DataFrame:
    model_configs = model_configs or {}
    arch, act, var, cond = [], [], [], []
    for model, arena in zip(df["model"], df["arena"]):
        cfg = model_configs.get(model)
        d = model_descriptor(model, cfg)
        arch.append(d["architecture"])
        act.append(d["activation"])
        var.append(d["variant"])
        cond.append(_model_condition(cfg, arena, arenas))
    return df.assign(architecture=arch, activation=act, variant=var, condition=cond)
