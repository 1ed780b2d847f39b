"""Task-driven path integrators in Keras 3 (methods §2): cells, networks, training, loading.

The only part of mec that imports Keras (and its backend, TensorFlow by default or JAX with
KERAS_BACKEND=jax). Submodules are imported on use so that ``import mec.models.utils`` stays
cheap until a model is built.
"""
