# Path integrators: training (GPU when there is one) and rate maps on the data's bins.


rule train_model:
    wildcard_constraints:
        model=_regex_choice(NETWORKS),
    output:
        model=f"{RESULTS}/models/{{model}}/model.keras",
        config=f"{RESULTS}/models/{{model}}/config.json",
        history=f"{RESULTS}/models/{{model}}/history.csv",
    params:
        cfg=lambda wc: model_cfg(wc.model),
    log:
        f"{RESULTS}/logs/train_model/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_model/{{model}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=720,
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
        arena=lambda wc: float(wc.arena),
        n_batches=lambda wc: model_cfg(wc.model)["n_eval_batches"],
        seeds=config["ratemaps"]["seeds"],
        layers=config["ratemaps"]["layers"],
        place_cells=config["ratemaps"]["place_cells"],
    log:
        f"{RESULTS}/logs/export_ratemaps/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/export_ratemaps/{{model}}_{{arena}}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
    conda:
        "../../envs/train.yaml"
    script:
        "../scripts/export_ratemaps.py"
