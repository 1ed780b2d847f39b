"""Rule floors: the inter-animal fits of one arena with tuning-free control sources."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.fits.pipeline import floors

floors(
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,
    maps=snakemake.params.maps,
    out_path=snakemake.output.table,
    mode=snakemake.params.mode,
    train_frac=snakemake.params.train_frac,
    num_splits=snakemake.params.num_splits,
    split_start_seed=snakemake.params.split_start_seed,
    elasticnet_tables=list(snakemake.input.elasticnet),
    robust=snakemake.params.robust,
    halves=dict(snakemake.params.halves),
    blocks=snakemake.params.blocks,
    controls=snakemake.params.controls,
    seed=snakemake.params.seed,
    draws=snakemake.params.draws,
)
