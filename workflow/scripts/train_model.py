"""Rule train_model: train one path integrator (resumes from its checkpoints after a kill)."""
import sys
from pathlib import Path

sys.stdout = sys.stderr = open(snakemake.log[0], "a", buffering=1)

from mec.models.train import train_model

train_model(
    cfg=dict(snakemake.params.cfg),
    out_dir=Path(snakemake.output.model).parent,
    workers=max(1, int(snakemake.threads)),
    verbose=2,
)
