"""Rule elasticnet_gather: chunk tables of one animal -> results/elasticnet/{arena}/{animal}.csv."""
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from mec.fits.elasticnet import gather_elasticnet

gather_elasticnet(list(snakemake.input.chunks), out_path=snakemake.output.table)
