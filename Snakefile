# mec: task-driven path integrators compared with medial entorhinal cortex.
# A table of contents; the rules live in workflow/rules/, the logic in the `mec` package.
#
#   snakemake --cores 8 --resources gpu=1            everything in config.yaml
#   snakemake --cores 2 results/fits/ugrnn_relu_2.2.csv     one fit and what it needs
#   snakemake --cores 2 --configfile configs/sargolini2006.yaml   another experiment
import os
import sys

from snakemake.utils import min_version

from mec.checks import check_yaml
from mec.runlock import check_lock, record_run

min_version("9.0")

# A run killed outright (SIGKILL, a lost node) leaves Snakemake's lock behind: removed here
# when provably stale, so the same command goes on; otherwise the message names the command
# that removes it (mec/runlock.py; README "Troubleshooting").
if workflow.is_main_process and (lock_note := check_lock(os.getcwd(), sys.argv)):
    print(lock_note, file=sys.stderr)

# A --configfile on the command line is used instead of config.yaml, not merged into it key
# by key: every config file (config.yaml, configs/*.yaml) holds what its experiment sets
# beyond the schema's defaults, which common.smk fills in (workflow/schemas/).
if not workflow.overwrite_configfiles:
    # Snakemake's own message for a YAML error names no line; this one names file and line.
    check_yaml(f"{workflow.basedir}/config.yaml")

    configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/ensembles.smk"
include: "workflow/rules/fits.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/external.smk"
include: "workflow/rules/summary.smk"


onstart:
    record_run(os.getcwd(), sys.argv, local_jobs=workflow.executor_plugin.common_settings.local_exec)


# A dry run (snakemake -n) prints what the training will cost: networks, jobs and projected
# GPU-hours from the measured step time (mec.costs).
if workflow.output_settings.dryrun and workflow.is_main_process:
    print(training_cost_text(), file=sys.stderr)


onsuccess:
    print(f"\nmec: done. Summary tables: {RESULTS}/summary/ (summary.md has them all); figures: "
          f"{RESULTS}/summary/figures/; HTML report: snakemake --report {RESULTS}/report.html")


rule all:
    input:
        summary_outputs(),
        knockout_targets(),
    default_target: True
