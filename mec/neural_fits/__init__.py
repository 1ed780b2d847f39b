"""The original API of neuroailab/mec for neural fits (README "Computing inter-animal
consistency and model neural fits"): ``comparisons.get_fits`` and ``utils.unit_concat``,
thin wrappers around :mod:`mec.fits`."""
