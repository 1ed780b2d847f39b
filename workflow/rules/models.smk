# Path integrators: training (GPU when there is one) and rate maps on the data's bins.


rule train_model:
    wildcard_constraints:
        model=_regex_choice(ALONE_NETWORKS),  # ensembles' members: rules train_ensemble_{i}
    input:
        # Data errors surface before any training job: make_dataset runs first. ancient():
        # a remade dataset file does not retrain the model (training never reads it).
        dataset=ancient(DATASET_FILE),
    output:
        model=f"{RESULTS}/models/{{model}}/model.keras",
        config=f"{RESULTS}/models/{{model}}/config.json",
        history=f"{RESULTS}/models/{{model}}/history.csv",
    # Training settings only decide retraining, and no code fingerprint (mec.fingerprint): a rerun
    # after a code change would find its checkpoints complete and only rewrite model.keras
    # (and so rerun everything downstream) without training anything, while real retraining
    # costs hours to days at paper scale. A training-code change that should retrain is made
    # explicit: delete results/models/{model}/ (its checkpoints included). Every rule that
    # reads the model (export_ratemaps, knockouts) follows the code.
    params:
        cfg=lambda wc: train_settings(wc.model),
    log:
        f"{RESULTS}/logs/train_model/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_model/{{model}}.tsv"
    threads: 2
    # Training is the run's long pole and everything model-side waits for it: started first, the
    # one-core data jobs (ElasticNet grid, floors, ceiling) fill the cores beside the exports
    # and fits afterwards instead of leaving one idle before it (docs/results.md, run timings).
    priority: TRAIN_PRIORITY
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
    # A job stopped at its wall time (or with its node) resumes from its last checkpoint when
    # resubmitted, so one retry makes progress; other rules would fail the same way again.
    # Only the submitting Snakemake retries: inside a cluster job a retry would rerun a
    # failure in the same allocation and the resubmission would repeat it (4 runs, not 2).
    retries: 1 if workflow.is_main_process else 0
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/train_model.py"


rule export_ratemaps:
    wildcard_constraints:
        model=_regex_choice(NETWORKS),
    input:
        model=f"{RESULTS}/models/{{model}}/model.keras",
        dataset=DATASET_FILE,
    output:
        ratemaps=f"{RESULTS}/ratemaps/{{model}}_{{arena}}.h5",
    params:
        code=code_fingerprint("export_ratemaps"),  # the mec code it runs: edits rerun it
        arena=arena_param,
        n_batches=lambda wc: model_cfg(wc.model)["n_eval_batches"],
        seeds=config["ratemaps"]["seeds"],
        layers=config["ratemaps"]["layers"],
        place_cells=config["ratemaps"]["place_cells"],
    log:
        f"{RESULTS}/logs/export_ratemaps/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_ratemaps/{{model}}_{{arena}}.tsv"
    # one core: a demo export keeps one busy (13.8 CPU s in 14 s wall with two), and a second
    # declared core only kept a fit from running beside it
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/export_ratemaps.py"


# The model-health table measures a network in its training box; where the data have no arena
# of that size, this exports maps there (never fitted: their bins are not the data's).
rule export_training_box:
    wildcard_constraints:
        model=_regex_choice(NETWORKS),
    input:
        model=f"{RESULTS}/models/{{model}}/model.keras",
    output:
        ratemaps=f"{RESULTS}/health/{{model}}.h5",
    params:
        code=code_fingerprint("export_training_box"),  # the mec code it runs: edits rerun it
        bin_cm=config["dataset"]["bin_cm"],
        n_batches=lambda wc: model_cfg(wc.model)["n_eval_batches"],
        seeds=config["ratemaps"]["seeds"],
        layers=config["ratemaps"]["layers"],
        place_cells=config["ratemaps"]["place_cells"],
    log:
        f"{RESULTS}/logs/export_training_box/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_training_box/{{model}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/export_training_box.py"
