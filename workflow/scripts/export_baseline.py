"""Rule export_baseline: rate maps of a baseline model (no training) on the data's bins."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.baselines import export_baseline

export_baseline(
    kind=snakemake.params.kind,
    params=snakemake.params.cfg,
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,
    out_path=snakemake.output.ratemaps,
    seed=snakemake.params.seeds,
)
