"""Rule train_ensemble_{i}: train the networks of one ensemble together (mec.models.ensemble;
every member resumes from its checkpoints after a kill; a rerun with nothing left to train
rewrites their outputs from them)."""
import logging
import sys
from pathlib import Path

from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import ensemble_intra_op, limit_threads

# the members run side by side on TensorFlow's inter-op pool; each op gets its member's share
# of the cores (mec.threads.ensemble_intra_op: 88 -> 64 ms per step, 3 members on 2 cores)
intra_op = ensemble_intra_op(snakemake.threads, len(snakemake.params.members))
redirect_output(snakemake.log[0], append=True)  # a resumed run keeps the earlier log
threads = limit_threads(snakemake.threads, where=f"rule {snakemake.rule}", tf_intra_op=intra_op)["threads"]
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

from mec.models.ensemble import train_ensemble

members = list(snakemake.params.members)
logging.info(f"ensemble of {len(members)}: {', '.join(members)}")
# every member's outputs are results/models/{member}/{model.keras,config.json,history.csv}
out_dirs = [Path(snakemake.output[3 * k]).parent for k in range(len(members))]
train_ensemble(
    [dict(c) for c in snakemake.params.cfgs],
    out_dirs,
    workers=threads,  # trajectory prefetch threads: the same budget
    verbose=2,  # one logged line per epoch
    restart_on_change=True,  # Snakemake reruns training when a member's settings changed
    # names for config.json only: not params, so renaming a model's scale never retrains it
    metadata=[{"name": m, "scale": snakemake.config["models"][m].get("scale")} for m in members],
)
