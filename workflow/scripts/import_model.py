"""Rule import_model: an external model's rate maps on the data's bins of one arena."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.models.external import import_model

import_model(
    model=snakemake.wildcards.model,
    entry=dict(snakemake.params.entry),
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,
    out_path=snakemake.output.ratemaps,
    seeds=list(snakemake.params.seeds),
    config_dir=snakemake.params.config_dir,
)
