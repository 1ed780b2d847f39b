"""Rule knockouts: zero grid vs heterogeneous units of a trained model, decoding error per set."""
from pathlib import Path

from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.models.knockouts import run_knockouts

run_knockouts(
    model_dir=Path(snakemake.input.model).parent,
    cfg=snakemake.params.cfg,
    out_path=snakemake.output.table,
    summary_path=snakemake.output.summary,
    n_resamples=snakemake.params.n_resamples,
    set_size=snakemake.params.set_size,
    n_batches=snakemake.params.n_batches,
    seed=snakemake.params.seed,
    grid_threshold=snakemake.params.grid_threshold,
)
