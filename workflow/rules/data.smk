# The MEC dataset: simulated (embedded default) or ingested from recordings.


checkpoint make_dataset:
    output:
        dataset=DATASET_FILE,
    params:
        code=code_fingerprint("make_dataset"),  # the mec code it runs: edits rerun it
        source=config["dataset"]["source"],
        arenas=config["dataset"]["arenas"],
        bin_cm=config["dataset"]["bin_cm"],
        synthetic=config["dataset"]["synthetic"],
        recordings=RECORDINGS,  # paths made absolute when planning (mec.data.plan)
        name=DATASET,
        constant_cells=config["dataset"]["constant_cells"],
    log:
        f"{RESULTS}/logs/make_dataset/{DATASET}.log",
    benchmark:
        f"{RESULTS}/benchmarks/make_dataset/{DATASET}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/make_dataset.py"
