"""Rule summarize: summary tables (CSV + Markdown) and figures over every stage."""
from mec.io import redirect_output, remove_stale_temp_files
from mec.threads import limit_threads

redirect_output(snakemake.log[0])
limit_threads(snakemake.threads, where=f"rule {snakemake.rule}")  # BLAS, TF, own pools
remove_stale_temp_files(snakemake.output)  # temporary files a killed run of this job left

import logging
import sys
from pathlib import Path

from mec.summary import summarize, keys_from_paths, model_of_file

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
models = dict(snakemake.params.models)
out_dir = Path(snakemake.output.ceiling).parent
# Model names are read back from the contract's file names (results/models/{model}/
# history.csv, results/ratemaps/{model}_{arena}.h5), checked against the configured models.
histories, ratemaps = keys_from_paths(list(snakemake.input.histories),
                                      list(snakemake.input.ratemaps), models)

summarize(
    consistency_csvs=list(snakemake.input.consistency),
    fit_csvs=list(snakemake.input.fits),
    history_csvs=histories,
    model_configs=models,
    dataset_path=snakemake.input.get("dataset"),
    ratemap_files=ratemaps,
    out_dir=out_dir,
    figure_dir=out_dir / "figures",  # rule summarize's outputs: summary/figures/{kind}
    # results/knockouts/{model}.csv of config knockouts.models (empty: header-only table)
    knockout_csvs=list(snakemake.input.get("knockouts", [])),
    # results/floors/{arena}.csv: noise floors of every arena, map and setting (methods §7.3)
    floor_csvs=list(snakemake.input.get("floors", [])),
    log_dir=Path(snakemake.log[0]).parents[1],  # results/logs: executors.csv (who ran each job)
    # results/health/{model}.h5: maps in a network's training box where no data arena is it
    training_box_files={model_of_file(p, models): p for p in snakemake.input.get("training_box", [])},
    # config summary.bootstrap: n_boot and seed of every interval (mec.stats, methods §7.7)
    bootstrap=dict(snakemake.params.get("bootstrap") or {}),
)
