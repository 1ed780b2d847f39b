# Summary tables and figures over every stage.


rule summarize:
    input:
        dataset=DATASET_FILE,
        consistency=consistency_targets(),
        fits=fit_targets(),
        histories=list(history_targets().values()),
        ratemaps=list(ratemap_targets().values()),
    output:
        ceiling=f"{RESULTS}/summary/ceiling.csv",
        predictivity=f"{RESULTS}/summary/predictivity.csv",
    params:
        models={m: model_cfg(m) for m in MODELS},
    log:
        f"{RESULTS}/logs/summarize/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize.py"
