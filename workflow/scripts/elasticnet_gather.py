"""Rule elasticnet_gather: chunk tables of one animal -> results/elasticnet/{arena}/{animal}.csv."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

from mec.fits.elasticnet import gather_elasticnet

gather_elasticnet(list(snakemake.input.chunks), out_path=snakemake.output.table)
