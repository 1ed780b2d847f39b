# Summary tables and figures over every stage; every output appears in `snakemake --report`.

# The names come from mec.summary, which writes them (one list each).
from mec.summary import WORKFLOW_TABLES as SUMMARY_TABLES
from mec.summary.figures import FIGURE_KINDS


rule summarize:
    input:
        dataset=DATASET_FILE,
        consistency=consistency_targets(),
        floors=floor_targets(),
        fits=fit_targets(),
        histories=list(history_targets().values()),
        ratemaps=list(ratemap_targets().values()),
        training_box=list(training_box_targets().values()),
        knockouts=knockout_targets(),
    output:
        **{t: report(f"{RESULTS}/summary/{t}.csv", category="Tables") for t in SUMMARY_TABLES},
        markdown=f"{RESULTS}/summary/summary.md",
        figure_index=f"{RESULTS}/summary/figures.csv",
        **{
            f"fig_{k}": report(directory(f"{RESULTS}/summary/figures/{k}"),
                               patterns=["{name}.png"], caption=f"../report/{k}.rst",
                               category="Figures", subcategory=k)
            for k in FIGURE_KINDS
        },
    params:
        code=code_fingerprint("summarize"),  # the mec code it runs: edits rerun it
        models={m: model_cfg(m) for m in MODELS},
        bootstrap=config["summary"]["bootstrap"],  # intervals and paired comparisons (methods §7.7)
    log:
        f"{RESULTS}/logs/summarize/summarize.log",
    benchmark:
        f"{RESULTS}/benchmarks/summarize/summarize.tsv"
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize.py"
