"""Projected device time of a config's training, from measured step times (no Keras).

One measured figure, the time of one training step of the paper-scale UGRNN on one GPU
(:data:`REFERENCE`), is carried to every planned network by its share of the arithmetic:
each network's step costs the reference's time x its FLOPs / the reference's FLOPs
(:func:`step_flops`: the matrix products of its layers, forward and backward). That assumes
every network runs at the reference's efficiency, which holds for networks as large as the
reference (the products dominate) and overstates the speed of small ones (a 128-unit step is
bound by latency, not arithmetic; then the projection is a lower bound).

:func:`training_projection` sums it over the planned networks (mec.sweeps.expand_seeds), in
both measured kinds of step: the bare ``jax.lax.scan`` of the same math (what the fused
Keras step aims for) and ``train_model`` end to end (data and checkpoints included, before
the fused step). ``snakemake -n`` prints it (the Snakefile) and so does
``python -m mec.checks --cost``.
"""

from __future__ import annotations

from typing import Mapping

from mec.models.architectures import get_architecture

__all__ = ["REFERENCE", "step_flops", "training_projection", "projection_text"]

#: The measured figure: ms per training step of the paper-scale UGRNN-ReLU (Ng 4096, Np 512,
#: batch 200, T 20) on one NVIDIA H200 with JAX, float32 (TF32 products) and mixed bfloat16:
#: the bare jax.lax.scan and train_model end to end at 500 steps per epoch. Source: the
#: reference lines of benchmarks/gpu_check.sh (README "Scales and GPUs"). Replace them when
#: gpu_check.sh measures the fused step.
REFERENCE = {
    "device": "one NVIDIA H200 (JAX)",
    "model": {"architecture": "UGRNN", "n_units": 4096, "n_place_cells": 512, "batch_size": 200,
              "sequence_length": 20, "loss": "place_cells", "cues": False},
    "ms_per_step": {"float32": {"bare scan": 12.1, "train_model": 21.5},
                    "bfloat16": {"bare scan": 6.1, "train_model": 16.0}},
    "source": "benchmarks/gpu_check.sh (reference lines)",
}

_N_CUES = 5  # the five cue distances fed with the velocity (methods §1.3)


def step_flops(cfg: Mapping) -> float:
    """FLOPs of one training step of a network (forward + backward = 3 x the forward
    products; 2 FLOPs per multiply-add).

    cfg: a model's settings (architecture, n_units Ng, n_place_cells Np, batch_size,
    sequence_length T, loss, cues; mec.sweeps.model_settings). Per sample and time step
    the three-stage model (methods §2.1) runs M (d_in x Ng), the cell's input and recurrent
    products (2 x gates x Ng x Ng; gates: products per step of the cell in units of Ng x Ng,
    mec.models.architectures: the candidate, plus the UGRNN's update gate, the GRU's two
    gates, the LSTM's three), g (Ng x Ng) and dc (Ng x Np; 2 outputs with the position
    loss); the Sorscher RNN runs its cell on the raw input (d_in x Ng) and recurrence (Ng x Ng)
    and dc. The encoders (Np x Ng) run once per sequence.
    """
    arch = get_architecture(cfg["architecture"])
    ng = int(cfg["n_units"])
    np_ = 2 if cfg.get("loss") == "position" else int(cfg["n_place_cells"])
    d_in = 2 + (_N_CUES if cfg.get("cues") else 0)
    gates = arch.gates
    if arch.single_layer:
        per_step = d_in * ng + ng * ng + ng * np_
    else:
        per_step = d_in * ng + 2 * gates * ng * ng + ng * ng + ng * np_
    encoders = arch.n_states * np_ * ng
    t = int(cfg["sequence_length"])
    return 3 * 2 * int(cfg["batch_size"]) * (t * per_step + encoders)


def training_projection(members: Mapping[str, Mapping], scales: Mapping,
                        ensembles: list | None = None) -> dict:
    """The planned training's projected device time.

    members: the planned models (mec.sweeps.expand_seeds); scales: the scales they name;
    ensembles: mec.sweeps.ensemble_groups (jobs). Returns networks (trained), jobs, steps
    (all networks), hours {kind: GPU-hours} for kind "bare scan" and "train_model" (each
    network in its precision: bfloat16 with mixed_precision), per_network {name: (steps,
    ms per step for each kind)} and the reference. Baselines and untrained models take no
    training step and count nothing.
    """
    from mec.sweeps import model_settings

    ref_flops = step_flops(REFERENCE["model"])
    kinds = ("bare scan", "train_model")
    hours = dict.fromkeys(kinds, 0.0)
    per_network, total_steps = {}, 0
    for name, entry in members.items():
        if entry.get("baseline") or entry.get("untrained"):
            continue
        cfg = model_settings(entry, scales)
        steps = int(cfg["epochs"]) * int(cfg["steps_per_epoch"])
        if steps == 0:
            continue
        ms = REFERENCE["ms_per_step"]["bfloat16" if cfg.get("mixed_precision") else "float32"]
        scaled = {k: ms[k] * step_flops(cfg) / ref_flops for k in kinds}
        per_network[name] = (steps, scaled)
        total_steps += steps
        for k in kinds:
            hours[k] += steps * scaled[k] / 3.6e6
    jobs = len(ensembles) if ensembles is not None else len(per_network)
    return {"networks": len(per_network), "jobs": jobs, "steps": total_steps, "hours": hours,
            "per_network": per_network, "reference": REFERENCE}


def projection_text(projection: Mapping, ensemble_size: int = 1, ensembles: list | None = None) -> str:
    """One paragraph for the console: networks, jobs, steps and the projected GPU-hours.

    ensembles: the groups of more than one network that the workflow trains together (rules
    train_ensemble_{i}, in that order; workflow/rules/ensembles.smk); the text names them.
    """
    n, h = projection["networks"], projection["hours"]
    ref = projection["reference"]
    if n == 0:
        return "mec: no network to train in this config (baselines and untrained models only)."
    ensembles = [list(g) for g in ensembles or [] if len(g) > 1]
    grouping = ""
    if ensemble_size > 1:
        together = sum(len(g) for g in ensembles)
        grouping = (f", in {projection['jobs']} training job(s): {len(ensembles)} ensemble(s) of "
                    f"networks that differ only in seed ({together} networks, ensemble_size "
                    f"{ensemble_size}, one GPU each, rules train_ensemble_0..) and "
                    f"{n - together} network(s) alone (rule train_model)")
        shown = [f"train_ensemble_{i}: {', '.join(g)}" for i, g in enumerate(ensembles[:8])]
        if len(ensembles) > 8:
            shown.append(f"... {len(ensembles) - 8} more")
        if shown:
            grouping += " [" + "; ".join(shown) + "]"
    text = (f"mec: training plan: {n} network(s) to train, {projection['steps']:,} Adam steps "
            f"in all{grouping}. Projected "
            f"GPU time on {ref['device']}: {h['bare scan']:.1f} GPU-hours at the bare scan's "
            f"step time, {h['train_model']:.1f} at train_model's (each network's FLOPs x the "
            f"paper-scale UGRNN's measured ms per step; mec.costs, {ref['source']}).")
    if ensemble_size > 1:
        text += (" Ensembles: each member's steps count in full (a shared step's saving on a "
                 "GPU is not measured yet).")
    if any(s[1]["bare scan"] < 0.05 * ref["ms_per_step"]["float32"]["bare scan"]
           for s in projection["per_network"].values()):
        text += (" Networks far smaller than the reference are bound by latency on a GPU, "
                 "not arithmetic: for them the figure is a lower bound.")
    return text
