"""Rule export_baseline: rate maps of a baseline model (no training) on the data's bins."""
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from mec.baselines import export_baseline

export_baseline(
    kind=snakemake.params.kind,
    params=snakemake.params.cfg,
    dataset_path=snakemake.input.dataset,
    arena=snakemake.params.arena,
    out_path=snakemake.output.ratemaps,
    seed=snakemake.params.seeds,
)
