"""The original API's path of the paper's constants (neuroailab/mec: ``from mec.core.constants
import CUE_2D_INPUT_KWARGS``); they live in :mod:`mec.constants`, re-exported here so that the
original README's code runs as written."""

from mec.constants import *  # noqa: F401,F403
