"""Rule train_model: train one path integrator (resumes from its checkpoints after a kill; a
rerun with nothing left to train rewrites its outputs from them)."""
import logging
import sys
from pathlib import Path

from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0], append=True)  # a resumed run keeps the earlier log
threads = limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")["threads"]
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left
# progress and fallbacks are logged (mec.models.train), one line per epoch, into the rule's log
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from mec.models.train import train_model

name = snakemake.wildcards.model
train_model(
    cfg=dict(snakemake.params.cfg),
    out_dir=Path(snakemake.output.model).parent,
    workers=threads,  # trajectory prefetch threads: the same budget
    verbose=2,  # one logged line per epoch, no progress bar
    restart_on_change=True,  # Snakemake reruns training when the model's training settings changed
    # names for config.json only: not params, so renaming a model's scale never retrains it
    metadata={"name": name, "scale": snakemake.config["models"][name].get("scale")},
)
