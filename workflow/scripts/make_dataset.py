"""Rule make_dataset: simulate the embedded MEC dataset or ingest real recordings."""
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

if snakemake.params.source == "synthetic":
    from mec.data.synthetic import make_synthetic_dataset

    make_synthetic_dataset(
        snakemake.output.dataset,
        arenas=dict(snakemake.params.arenas),
        bin_cm=float(snakemake.params.bin_cm),
        **dict(snakemake.params.synthetic),
    )
else:
    from mec.data.loaders import ingest_dataset

    ingest_dataset(
        snakemake.output.dataset,
        {"source": snakemake.params.source, "arenas": dict(snakemake.params.arenas),
         "bin_cm": float(snakemake.params.bin_cm),
         "recordings": dict(snakemake.params.recordings)},
    )
