# Networks that differ only in seed, trained together in one compiled step (methods §7.11):
# one rule per ensemble of config ensemble_size (mec.sweeps.ensemble_groups), named
# train_ensemble_{i}. It writes every member's usual outputs, so that rate maps, fits and
# knockouts read a member as a network trained alone; rule train_model trains the networks in
# no ensemble. A kill resumes every member from its checkpoints (mec.models.ensemble), and like
# train_model the rule carries no code fingerprint: only training settings retrain.


for _i, _members in enumerate(ENSEMBLES):

    rule:
        name:
            f"train_ensemble_{_i}"
        input:
            dataset=ancient(DATASET_FILE),
        output:
            [f"{RESULTS}/models/{m}/{f}" for m in _members
             for f in ("model.keras", "config.json", "history.csv")],
        params:
            members=_members,
            cfgs=[train_settings(m) for m in _members],
        log:
            f"{RESULTS}/logs/train_ensemble/ensemble{_i}.log",
        benchmark:
            f"{RESULTS}/benchmarks/train_ensemble/ensemble{_i}.tsv"
        threads: ensemble_threads()
        priority: TRAIN_PRIORITY  # first, as rule train_model (models.smk)
        resources:
            **ensemble_resources(),
        retries: 1 if workflow.is_main_process else 0
        conda:
            "../../envs/train.yaml"
        script:
            "../scripts/train_ensemble.py"
