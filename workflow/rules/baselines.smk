# Baselines (no training step) and the in-silico knockouts (mec.baselines, mec.models.knockouts).


rule export_baseline:
    input:
        dataset=DATASET_FILE,
    output:
        ratemaps=f"{RESULTS}/ratemaps/{{model}}_{{arena}}.h5",
    params:
        code=code_fingerprint("export_baseline"),  # the mec code it runs: edits rerun it
        kind=lambda wc: config["models"][wc.model]["baseline"],
        cfg=lambda wc: model_cfg(wc.model),
        arena=arena_param,
        seeds=config["ratemaps"]["seeds"],
    wildcard_constraints:
        model=_regex_choice(BASELINES),
    log:
        f"{RESULTS}/logs/export_baseline/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_baseline/{{model}}_{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/export_baseline.py"


rule fit_two_stage:
    input:
        dataset=DATASET_FILE,
        ratemaps=f"{RESULTS}/ratemaps/{{model}}_{{arena}}.h5",
        elasticnet=elasticnet_tables,
    output:
        table=f"{RESULTS}/fits/{{model}}_{{arena}}.csv",
    params:
        code=code_fingerprint("fit_two_stage"),  # the mec code it runs: edits rerun it
        model=lambda wc: wc.model,
        arena=arena_param,
        maps=fit_maps(),
        train_frac=PAPER_TRAIN_FRAC,
        num_splits=config["fits"]["num_splits"],
        split_start_seed=config["fits"]["split_start_seed"],
    wildcard_constraints:
        model=_regex_choice(TWO_STAGE),
    log:
        f"{RESULTS}/logs/fit_two_stage/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/fit_two_stage/{{model}}_{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/fit_two_stage.py"


rule knockouts:
    input:
        model=f"{RESULTS}/models/{{model}}/model.keras",
    output:
        table=f"{RESULTS}/knockouts/{{model}}.csv",
        summary=f"{RESULTS}/knockouts/{{model}}_summary.csv",
    params:
        code=code_fingerprint("knockouts"),  # the mec code it runs: edits rerun it
        cfg=lambda wc: model_cfg(wc.model),
        n_resamples=config["knockouts"]["n_resamples"],
        set_size=config["knockouts"]["set_size"],
        n_batches=config["knockouts"]["n_batches"],
        seed=config["knockouts"]["seed"],
        grid_threshold=config["knockouts"]["grid_threshold"],
    wildcard_constraints:
        model=_regex_choice(NETWORKS),
    log:
        f"{RESULTS}/logs/knockouts/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/knockouts/{{model}}.tsv"
    threads: 1  # as export_ratemaps: a demo network's knockouts keep one core busy
    resources:
        gpu=1,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/knockouts.py"
