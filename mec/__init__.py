"""mec: task-driven path integrators compared with medial entorhinal cortex.

A reproduction and extension of Nayebi et al., NeurIPS 2021, "Explaining heterogeneity in
medial entorhinal cortex with task-driven neural networks" (code: neuroailab/mec).

Only :mod:`mec.models` imports TensorFlow/Keras; everything else (data, rate maps, fits,
scores, summaries) imports without it, so analysis never pays for a deep-learning import.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # mec.score (mec.scoring), loaded on first use so that `import mec` stays light; through
    # importlib, so that the package's __init__ does not make mec.scoring (fits, summary,
    # external models) part of every rule's code fingerprint (mec.fingerprint reads import
    # statements)
    if name == "score":
        import importlib

        return importlib.import_module("mec.scoring").score
    raise AttributeError(f"module 'mec' has no attribute {name!r}")
