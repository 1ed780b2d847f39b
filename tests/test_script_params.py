"""Every ``snakemake.params`` name a rule's script reads is set by that rule.

A script reading a parameter no rule sets runs on its fallback for ever, and the code behind
the parameter is dead while looking alive (scripts/summarize.py once read ``figure_dir`` and
``figure2_map``, which no rule set). Checked from the text of workflow/rules/*.smk and
workflow/scripts/*.py, so no Snakemake is needed.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "workflow" / "rules"
SCRIPTS = ROOT / "workflow" / "scripts"

# a named rule at the top level, or an anonymous one made in a loop (rules/ensembles.smk)
RULE = re.compile(r"^\s*(?:rule|checkpoint)(?:\s+\w+)?\s*:", re.M)
READ = re.compile(r"snakemake\.params(?:\.get\(\s*[\"'](\w+)[\"']|\.(\w+))")


def rule_params() -> dict[str, set[str]]:
    """script file name -> the params names of the rules that run it."""
    out: dict[str, set[str]] = {}
    for smk in sorted(RULES.glob("*.smk")):
        text = smk.read_text()
        starts = [m.start() for m in RULE.finditer(text)] + [len(text)]
        for a, b in zip(starts, starts[1:]):
            block = text[a:b]
            script = re.search(r"^\s+script:\s*\n\s+[\"']\.\./scripts/(\w+\.py)[\"']", block, re.M)
            if not script:
                continue
            names: set[str] = set()
            params = re.search(r"^( +)params:\s*\n((?:\1    .*\n|\s*\n)+)", block, re.M)
            if params:
                indent = params.group(1) + "    "
                names = set(re.findall(rf"^{indent}(\w+)\s*=", params.group(2), re.M))
            out.setdefault(script.group(1), set()).update(names)
    return out


def script_reads(path: Path) -> set[str]:
    return {a or b for a, b in READ.findall(path.read_text())} - {"get"}


def test_the_parser_sees_the_rules_and_their_params():
    found = rule_params()
    assert len(found) >= 13
    assert {"code", "models", "bootstrap"} <= found["summarize.py"]
    assert script_reads(SCRIPTS / "summarize.py") >= {"models", "bootstrap"}


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_every_param_a_script_reads_is_set_by_its_rule(script):
    reads = script_reads(SCRIPTS / script)
    if not reads:
        return
    set_by_rules = rule_params().get(script)
    assert set_by_rules is not None, f"{script} reads params {sorted(reads)} but no rule runs it"
    unset = sorted(reads - set_by_rules)
    assert not unset, f"workflow/scripts/{script} reads params {unset} that no rule sets"
