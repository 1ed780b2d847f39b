"""Rule make_dataset: simulate the embedded MEC dataset, ingest recordings, or import a file."""
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from mec.data import make_dataset

make_dataset(
    out_path=snakemake.output.dataset,
    source=snakemake.params.source,
    arenas=dict(snakemake.params.arenas),
    bin_cm=float(snakemake.params.bin_cm),
    synthetic=dict(snakemake.params.synthetic),
    recordings=dict(snakemake.params.recordings),
)
