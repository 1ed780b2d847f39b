"""Rule export_ratemaps: one model's rate maps (pre_g, g, dc) on the data's bins of one arena."""
from pathlib import Path

from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.models.export import export_ratemaps

export_ratemaps(
    model_dir=Path(snakemake.input.model).parent,
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,  # float for numeric names, else the name
    n_batches=int(snakemake.params.n_batches),
    seeds=list(snakemake.params.seeds),
    layers=list(snakemake.params.layers),
    place_cells=snakemake.params.place_cells,
    out_path=snakemake.output.ratemaps,
)
