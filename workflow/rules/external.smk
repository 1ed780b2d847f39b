# External models (config models.X.source; mec.models.external): rate maps from a file, from
# samples, from a Python callable or from a RatInABox population, on the data's bins.


rule import_model:
    input:
        dataset=DATASET_FILE,
        # a file-based model reruns when its file changes
        source=lambda wc: [external_path(wc.model)] if external_path(wc.model) else [],
    output:
        ratemaps=f"{RESULTS}/ratemaps/{{model}}_{{arena}}.h5",
    params:
        code=code_fingerprint("import_model"),  # the mec code it runs: edits rerun it
        entry=lambda wc: model_cfg(wc.model),
        arena=arena_param,
        seeds=config["ratemaps"]["seeds"],
        config_dir=str(CONFIG_DIR),
    wildcard_constraints:
        model=_regex_choice(EXTERNAL),
    log:
        f"{RESULTS}/logs/import_model/{{model}}_{{arena}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/import_model/{{model}}_{{arena}}.tsv"
    threads: 1
    conda:
        "../../envs/external.yaml"
    script:
        "../scripts/import_model.py"
