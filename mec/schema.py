"""Where the workflow's config schema is, and its parsed text (no Snakemake, no jsonschema).

The schema (``workflow/schemas/config.schema.yaml``) is read by mec.checks (validation with
defaults), mec.sweeps (the order of a model's keys) and the test that holds each of its
``enum`` lists equal to the registry it names (tests/test_registries.py).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SCHEMA_PATH", "load_schema"]

#: The workflow's schema, when mec is used from a checkout of the repository.
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def load_schema(path=SCHEMA_PATH) -> dict:
    """The schema as a mapping (PyYAML)."""
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
