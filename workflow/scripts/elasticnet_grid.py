"""Rule elasticnet_grid: per-cell ElasticNet choices of one animal (a chunk of its cells)."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.fits.elasticnet import run_elasticnet_grid

run_elasticnet_grid(
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,  # float for numeric names, else the name
    animal=snakemake.params.animal,
    grid=snakemake.params.grid,
    train_frac=snakemake.params.train_frac,
    num_splits=int(snakemake.params.num_splits),
    split_start_seed=int(snakemake.params.split_start_seed),
    chunk=snakemake.params.chunk,
    out_path=snakemake.output.table,
)
