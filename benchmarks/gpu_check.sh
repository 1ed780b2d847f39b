#!/usr/bin/env bash
# Issue 14's table on one GPU with the JAX backend and no TensorFlow, in under 5 minutes:
# the Keras step against a bare jax.lax.scan of the same math (float32 with TF32 matmuls, and
# mixed bfloat16), Keras' generic RNN layer (the implementation before the fused layer), and
# train_model end to end (data and checkpoints included) at paper scale (Ng 4096, Np 512,
# batch 200, T 20); then ensembles (mec.models.ensemble) at paper scale: K = 1, 2, 4, 8
# networks in one compiled step (jax.vmap over the members) against K steps one after another,
# in TFLOP/s of all K networks and as a fraction of the GPU's peak (train_step.py
# DEVICE_PEAKS). Output: the tables, also written to $OUT/gpu_check.log when OUT is set.
#
# Needs python3 with jax (CUDA), numpy, h5py, ml_dtypes, absl-py, rich, packaging; Keras and
# two of its dependencies travel as wheels when the machine has no package index. Once, in the
# repository root, on a machine with pip access:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0
# then run this script from the repository root there (with the device tool: command
# "bash benchmarks/gpu_check.sh", carry [".whl"]). Environment knobs: PYTHON (python3),
# UNITS (4096), STEPS (30 timed steps), E2E_STEPS (500 steps per epoch), LIMIT_S (270);
# ensembles: ENSEMBLE ("1 2 4 8"; empty skips them), ENS_PRECISION ("bfloat16"; "bfloat16
# float32" for both), ENS_BATCHING ("vmap"; "vmap loop" for both), ENS_STEPS (10),
# ENS_LIMIT_S (240), FIRST (1; 0 skips the first table).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
UNITS=${UNITS:-4096}
STEPS=${STEPS:-30}
E2E_STEPS=${E2E_STEPS:-500}
LIMIT_S=${LIMIT_S:-270}
ENSEMBLE=${ENSEMBLE-1 2 4 8}
ENS_PRECISION=${ENS_PRECISION:-bfloat16}
ENS_BATCHING=${ENS_BATCHING:-vmap}
ENS_STEPS=${ENS_STEPS:-10}
ENS_LIMIT_S=${ENS_LIMIT_S:-240}
FIRST=${FIRST:-1}
LOG=${OUT:+$OUT/gpu_check.log}
LOG=${LOG:-/dev/null}

if compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/mec-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/mec-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3

{
  echo "== gpu_check $(date -u +%FT%TZ) git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null
  "$PY" - <<'EOF'
import importlib.util, sys
import jax, keras
print(f"python {sys.version.split()[0]}, jax {jax.__version__} on {jax.devices()}, keras {keras.__version__} "
      f"({keras.backend.backend()}), tensorflow installed: {importlib.util.find_spec('tensorflow') is not None}")
EOF
  if [ "$FIRST" != 0 ]; then
    timeout "$LIMIT_S" "$PY" benchmarks/train_step.py --backend jax --units "$UNITS" --steps "$STEPS" \
      --repeats 3 --e2e-steps "$E2E_STEPS"
    rc=$?
    [ $rc -eq 124 ] && echo "stopped after ${LIMIT_S} s (LIMIT_S); rows above are complete"
  fi
  if [ -n "$ENSEMBLE" ]; then
    # shellcheck disable=SC2086  # the knobs are lists
    timeout "$ENS_LIMIT_S" "$PY" benchmarks/train_step.py --backend jax --units "$UNITS" \
      --steps "$ENS_STEPS" --repeats 2 --ensemble-only --ensemble $ENSEMBLE \
      --precision $ENS_PRECISION --batching $ENS_BATCHING
    rc=$?
    [ $rc -eq 124 ] && echo "stopped after ${ENS_LIMIT_S} s (ENS_LIMIT_S); ensemble rows above are complete"
  fi
  cat <<'EOF'
Reference (one H200, Keras 3.15.1 + JAX, before the fused step), ms/step:
  bare jax.lax.scan 12.1 (float32) / 6.1 (bfloat16); Keras train_on_batch 18.2 (1.62x) / 14.2 (2.48x);
  train_model, 500 steps per epoch, 21.5 / 16.0. Goals: Keras step <= 1.15x the bare scan in both
  precisions; train_model <= 7 ms/step in bfloat16 (100k steps in 12 minutes).
EOF
} 2>&1 | grep -v -e "^I0000" -e "^WARNING: All log messages" | tee "$LOG"
