"""Shared test helpers.

The real recordings (Sargolini et al. 2006, the BNT grid maps) and the original's README live
in ``../shared/`` beside the repository, read in place, never copied. A clone on its own has
no ``../shared``: tests that need it skip with a one-line reason naming the path. CI sets
``MEC_REQUIRE_SHARED_DATA=1`` (.ci/run), which turns each such skip into a failure, so there
nothing is skipped for want of the recordings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
#: Set (to 1) where the shared recordings must be present: a missing one fails the test.
REQUIRE_ENV = "MEC_REQUIRE_SHARED_DATA"


def requires_shared(path: str | os.PathLike) -> Path:
    """``path`` (under ../shared/) if it exists; else skip the test with a one-line reason,
    or fail it where ``MEC_REQUIRE_SHARED_DATA=1`` (CI)."""
    path = Path(path)
    if path.exists():
        return path
    caller = sys._getframe(1).f_code.co_name  # the test or fixture that needs it
    reason = (f"{caller} needs the shared recordings: {path.resolve()} is absent (a clone "
              "without ../shared)")
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{reason}; {REQUIRE_ENV}={os.environ[REQUIRE_ENV]} requires it", pytrace=False)
    pytest.skip(reason)


def benchmark_module(name: str):
    """``benchmarks/{name}.py`` loaded as a module (the scripts are not a package), so that a
    test can call its ``main`` or helpers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
