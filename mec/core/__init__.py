"""The original API's package ``mec.core`` (its ``mec.core.constants``); the constants live in
:mod:`mec.constants`."""
