"""Rule elasticnet_gather: chunk tables of one animal -> results/elasticnet/{arena}/{animal}.csv."""
from mec.io import redirect_output

redirect_output(snakemake.log[0])

from mec.fits.elasticnet import gather_elasticnet

gather_elasticnet(list(snakemake.input.chunks), out_path=snakemake.output.table)
