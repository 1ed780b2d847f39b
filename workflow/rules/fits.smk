# Neural fits: the inter-animal ceiling, the per-cell ElasticNet grid, model-to-data fits.


rule elasticnet_grid:
    input:
        dataset=DATASET_FILE,
    output:
        table=f"{RESULTS}/elasticnet/{{arena}}/chunks/{{animal}}_{{chunk}}.csv",
    params:
        code=code_fingerprint("elasticnet_grid"),  # the mec code it runs: edits rerun it
        arena=arena_param,
        animal=lambda wc: wc.animal,
        grid=config["elasticnet"]["grid"],
        train_frac=PAPER_TRAIN_FRAC,
        num_splits=config["fits"]["num_splits"],
        split_start_seed=config["fits"]["split_start_seed"],
        chunk=lambda wc: [int(wc.chunk), config["elasticnet"]["cell_chunks"]],
    log:
        f"{RESULTS}/logs/elasticnet_grid/{{arena}}_{{animal}}_{{chunk}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/elasticnet_grid/{{arena}}_{{animal}}_{{chunk}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=360,
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/elasticnet_grid.py"


rule elasticnet_gather:
    input:
        chunks=elasticnet_chunks,
    output:
        table=f"{RESULTS}/elasticnet/{{arena}}/{{animal}}.csv",
    params:
        code=code_fingerprint("elasticnet_gather"),  # the mec code it runs: edits rerun it
    log:
        f"{RESULTS}/logs/elasticnet_gather/{{arena}}_{{animal}}.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/elasticnet_gather.py"


rule interanimal:
    input:
        dataset=DATASET_FILE,
        elasticnet=elasticnet_tables,
    output:
        table=f"{RESULTS}/consistency/{{arena}}.csv",
    params:
        code=code_fingerprint("interanimal"),  # the mec code it runs: edits rerun it
        arena=arena_param,
        maps=fit_maps(),
        mode=config["fits"]["interanimal_mode"],
        train_frac=config["fits"]["train_frac"],
        num_splits=config["fits"]["num_splits"],
        split_start_seed=config["fits"]["split_start_seed"],
        robust=config["fits"]["robust"],
        blocks=config["fits"]["blocks"],
        halves=config["fits"]["halves"],
    log:
        f"{RESULTS}/logs/interanimal/{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/interanimal/{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/interanimal.py"


rule fit_model:
    wildcard_constraints:
        model=_regex_choice([m for m in MODELS if m not in TWO_STAGE]),
    input:
        dataset=DATASET_FILE,
        ratemaps=f"{RESULTS}/ratemaps/{{model}}_{{arena}}.h5",
        elasticnet=elasticnet_tables,
    output:
        table=f"{RESULTS}/fits/{{model}}_{{arena}}.csv",
    params:
        code=code_fingerprint("fit_model"),  # the mec code it runs: edits rerun it
        model=lambda wc: wc.model,
        arena=arena_param,
        maps=fit_maps(),
        layers=fit_layers,
        train_frac=config["fits"]["train_frac"],
        num_splits=config["fits"]["num_splits"],
        split_start_seed=config["fits"]["split_start_seed"],
        robust=config["fits"]["robust"],
        blocks=config["fits"]["blocks"],
        halves=config["fits"]["halves"],
    log:
        f"{RESULTS}/logs/fit_model/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/fit_model/{{model}}_{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/fit_model.py"


# A model with seeds has one fit per seed, results/fits/{model}/seed{k}_{arena}.csv, which the
# summary reads. Its single-seed name results/fits/{model}_{arena}.csv still names one fit, a
# copy of its first seed's, so that `snakemake results/fits/ugrnn_relu_2.2.csv` builds one fit
# whether or not the model has seeds (docs/configuration.md, seeds).
rule first_seed_fit:
    wildcard_constraints:
        seeded=_regex_choice(list(FIRST_SEED)),
    input:
        table=lambda wc: f"{RESULTS}/fits/{FIRST_SEED[wc.seeded]}_{wc.arena}.csv",
    output:
        table=f"{RESULTS}/fits/{{seeded}}_{{arena}}.csv",
    log:
        f"{RESULTS}/logs/first_seed_fit/{{seeded}}_{{arena}}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    shell:
        # a temporary name, then a rename: never a half-written table under the final name
        "(cp {input.table:q} {output.table:q}.tmp && mv {output.table:q}.tmp {output.table:q})"
        " 2> {log:q}"


rule floors:
    input:
        dataset=DATASET_FILE,
        elasticnet=elasticnet_tables,
    output:
        table=f"{RESULTS}/floors/{{arena}}.csv",
    params:
        code=code_fingerprint("floors"),  # the mec code it runs: edits rerun it
        arena=arena_param,
        maps=fit_maps(),
        mode=config["fits"]["interanimal_mode"],
        train_frac=config["fits"]["train_frac"],
        num_splits=config["fits"]["num_splits"],
        split_start_seed=config["fits"]["split_start_seed"],
        robust=config["fits"]["robust"],
        blocks=config["fits"]["blocks"],
        halves=config["fits"]["halves"],
        controls=config["fits"]["floors"]["controls"],
        seed=config["fits"]["floors"]["seed"],
        draws=config["fits"]["floors"]["draws"],
    log:
        f"{RESULTS}/logs/floors/{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/floors/{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/floors.py"
