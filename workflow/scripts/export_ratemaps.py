"""Rule export_ratemaps: one model's rate maps (pre_g, g, dc) on the data's bins of one arena."""
import sys
from pathlib import Path

from mec.io import redirect_output

redirect_output(snakemake.log[0])

from mec.models.ratemaps import export_ratemaps

export_ratemaps(
    model_dir=Path(snakemake.input.model).parent,
    dataset_path=snakemake.input.dataset,
    arena=float(snakemake.params.arena),
    n_batches=int(snakemake.params.n_batches),
    seeds=list(snakemake.params.seeds),
    layers=list(snakemake.params.layers),
    place_cells=snakemake.params.place_cells,
    out_path=snakemake.output.ratemaps,
)
