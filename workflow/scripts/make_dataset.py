"""Rule make_dataset: simulate the embedded MEC dataset, ingest recordings, or import a file."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

import logging
import sys

from mec.data import make_dataset

# The log says what was made: arenas, bins, sessions, coverage, cell types, every warning.
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
make_dataset(
    out_path=snakemake.output.dataset,
    source=snakemake.params.source,
    arenas=dict(snakemake.params.arenas),
    bin_cm=float(snakemake.params.bin_cm),
    synthetic=dict(snakemake.params.synthetic),
    recordings=dict(snakemake.params.recordings),
    name=snakemake.params.name,
    constant_cells=snakemake.params.constant_cells,
)
