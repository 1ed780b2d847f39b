"""Rule train_model: train one path integrator (resumes from its checkpoints after a kill)."""
from pathlib import Path

from mec.io import redirect_output

redirect_output(snakemake.log[0], append=True)  # a resumed run keeps the earlier log

from mec.models.train import train_model

train_model(
    cfg=dict(snakemake.params.cfg),
    out_dir=Path(snakemake.output.model).parent,
    workers=max(1, int(snakemake.threads)),
    verbose=2,
    restart_on_change=True,  # Snakemake reruns training when the model's config changed
)
