"""Packaging: the core installs without TensorFlow or Snakemake, the extras
hold the rest, and each conda env installs what its rules import."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Packages the analysis core must not need (training, workflow and optional formats).
NOT_CORE = {"tensorflow", "keras", "jax", "jaxlib", "snakemake",
            "snakemake-executor-plugin-slurm", "pynwb", "xarray", "ratinabox"}


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()


def _core() -> dict[str, str]:
    return {_name(r): r for r in PYPROJECT["project"]["dependencies"]}


def _env(name: str) -> tuple[set[str], list[str]]:
    """(conda package names, pip lines) of envs/{name}.yaml."""
    deps = yaml.safe_load((ROOT / "envs" / f"{name}.yaml").read_text())["dependencies"]
    conda = {re.split(r"[=<> ]", d)[0].lower() for d in deps if isinstance(d, str)}
    pip = [p for d in deps if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


def test_core_dependencies_leave_out_training_workflow_and_formats():
    core = _core()
    assert not (set(core) & NOT_CORE), sorted(set(core) & NOT_CORE)
    # mec.mappers imports sklearn.utils.validation.validate_data, new in scikit-learn 1.6
    assert re.search(r">=\s*1\.(6|[7-9])", core["scikit-learn"]), core["scikit-learn"]
    extras = {k: {_name(r) for r in v} for k, v in
              PYPROJECT["project"]["optional-dependencies"].items()}
    assert {"tensorflow", "keras"} <= extras["train"]
    assert {"keras", "jax"} <= extras["jax"]
    assert "keras" in extras["gpu"] and any("cuda" in r for r in
                                            PYPROJECT["project"]["optional-dependencies"]["gpu"])
    assert {"snakemake", "snakemake-executor-plugin-slurm"} <= extras["workflow"]
    # the tests need every extra but the GPU ones: [test] names them
    test = PYPROJECT["project"]["optional-dependencies"]["test"]
    selfref = [r for r in test if _name(r) == "mec"]
    assert selfref and set(re.search(r"\[(.*)\]", selfref[0]).group(1).split(",")) >= {
        "train", "jax", "workflow", "nwb", "compat"}


def _rules() -> dict[str, tuple[str, str]]:
    """rule (or checkpoint) -> (conda env file name, script name) from workflow/rules/*.smk."""
    out = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=(?:rule|checkpoint) )", smk.read_text()):
            rule = re.search(r"^(?:rule|checkpoint) (\w+):", block, re.MULTILINE)
            env = re.search(r"conda:\s*\n\s*\"[./]*envs/(\w+)\.yaml\"", block)
            script = re.search(r"script:\s*\n\s*\"[./]*scripts/(\w+)\.py\"", block)
            if rule and script:
                assert env, f"{smk.name}: rule {rule.group(1)} has a script but no conda env"
                out[rule.group(1)] = (env.group(1), script.group(1))
    return out


def test_each_rule_uses_the_env_its_script_needs():
    rules = _rules()
    assert len(rules) >= 12, rules  # every rule with a script (make_dataset ... summarize)
    for rule, (env, script) in rules.items():
        text = (ROOT / "workflow" / "scripts" / f"{script}.py").read_text()
        needs_keras = re.search(r"^\s*from mec\.models\.(?!scales|conditions|external)\w+ import",
                                text, re.MULTILINE)
        # external models: the analysis env plus RatInABox (mec.models.references)
        external = re.search(r"^\s*from mec\.models\.external import", text, re.MULTILINE)
        expected = "train" if needs_keras else "external" if external else "analysis"
        assert env == expected, f"rule {rule} (script {script}.py) uses envs/{env}.yaml, " \
                                f"expected envs/{expected}.yaml"


def test_envs_install_the_core_and_only_what_their_rules_import():
    core = set(_core())
    for name in ("analysis", "train"):
        conda, pip = _env(name)
        pip_names = {_name(p) for p in pip if not p.startswith("-")}
        missing = core - conda - pip_names
        assert not missing, f"envs/{name}.yaml lacks core dependencies {sorted(missing)}"
        editable = [p for p in pip if p.startswith("-e")]
        # mec from the checkout by absolute path: Snakemake copies the env file into
        # .snakemake/conda/ first, where a relative "-e .." would point elsewhere
        assert len(editable) == 1 and "${MEC_ROOT}" in editable[0], editable
    conda, pip = _env("analysis")
    heavy = (conda | {_name(p) for p in pip if not p.startswith("-")}) & NOT_CORE
    assert heavy == {"pynwb"}, heavy  # make_dataset reads NWB recordings
    assert _env("analysis")[1] == ["-e ${MEC_ROOT}"]  # the core only, no extra
    conda, pip = _env("train")
    assert {"tensorflow", "keras"} <= {_name(p) for p in pip if not p.startswith("-")}
    assert "snakemake" not in conda | {_name(p) for p in pip}
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r"os\.environ\.update\(MEC_ROOT=", common)


def test_the_core_imports_with_training_workflow_and_formats_hidden():
    """Every module outside mec.models, and the Keras-free parts of mec.models that planning
    and the summary use, import with TensorFlow, Keras, JAX, Snakemake, pynwb and xarray
    made unimportable."""
    code = textwrap.dedent(f"""
        import importlib, importlib.abc, pkgutil, sys
        HIDDEN = {sorted(n.replace('-', '_') for n in NOT_CORE)!r}
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in HIDDEN:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)")
                return None
        sys.meta_path.insert(0, Hide())
        import mec
        failed = []
        for m in pkgutil.walk_packages(mec.__path__, "mec."):
            if m.name.startswith("mec.models.") and m.name not in (
                    "mec.models.scales", "mec.models.conditions", "mec.models.knockouts",
                    "mec.models.external", "mec.models.external_files", "mec.models.references"):
                continue
            try:
                importlib.import_module(m.name)
            except Exception as err:
                failed.append(f"{{m.name}}: {{type(err).__name__}}: {{err}}")
        print("\\n".join(failed))
        sys.exit(1 if failed else 0)
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
