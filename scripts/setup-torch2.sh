#!/usr/bin/env bash
# The 2.x lane's set-up (docs/platform.md, "The LibTorch 2.x lane"): a Python virtual environment OUTSIDE the clone,
# in a per-user cache directory, with torch (whose wheel carries LibTorch 2.x with CUDA), torchvision, timm,
# safetensors, tensorboard and webdataset (the interoperability test of sgmim-pack's shards) from PyPI. CI on the same machine reuses it, so only the first run downloads.
# Idempotent: a venv whose packages already import is left as it is.
#   scripts/setup-torch2.sh            set up (if needed) and print the LibTorch version and CMake prefix
#   scripts/setup-torch2.sh --print-prefix   print only torch.utils.cmake_prefix_path (for make)
#   scripts/setup-torch2.sh --print-python   print only the venv's python
# Environment: SGMIM_TORCH2_VENV overrides the venv path; SGMIM_TORCH2_SPEC the torch requirement;
# SGMIM_TORCH2_PYTHON names a python that already has torch (a GPU machine's, scripts/device/gpu-check.sh): it is
# used as it is, nothing is installed, and the interoperability tests skip for what it lacks.
set -euo pipefail

VENV="${SGMIM_TORCH2_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sgmim/torch2-venv}"
TORCH_SPEC="${SGMIM_TORCH2_SPEC:-torch>=2.1}"
PACKAGES=("$TORCH_SPEC" torchvision timm safetensors tensorboard webdataset numpy pillow pyyaml)
PY="$VENV/bin/python"
MODE="${1:-}"

log() { [ -n "$MODE" ] || echo "setup-torch2: $*"; }

if [ -n "${SGMIM_TORCH2_PYTHON:-}" ]; then
  PY="$SGMIM_TORCH2_PYTHON"
  "$PY" -c 'import torch' >/dev/null 2>&1 || { echo "setup-torch2: error: SGMIM_TORCH2_PYTHON=$PY cannot import torch" >&2; exit 1; }
  venv_ready() { true; }
else
venv_ready() {
  [ -x "$PY" ] && "$PY" -c 'import torch, torchvision, timm, safetensors, tensorboard, webdataset, numpy, PIL, yaml' >/dev/null 2>&1
}
fi

if ! venv_ready; then
  # The set-up of the Debian lane (scripts/setup.sh) is not required here, but venv needs python3-venv on a bare
  # Debian: install it when python3 cannot make a venv.
  base_py="$(command -v python3 || true)"
  if [ -z "$base_py" ]; then
    echo "setup-torch2: error: no python3 on PATH; install python3 and python3-venv" >&2
    exit 1
  fi
  if [ ! -x "$PY" ]; then
    if ! "$base_py" -m venv "$VENV" >/dev/null 2>&1; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$VENV"
        "$base_py" -m venv "$VENV"
      else
        echo "setup-torch2: error: '$base_py -m venv $VENV' failed; install python3-venv" >&2
        exit 1
      fi
    fi
  fi
  log "installing ${PACKAGES[*]} into $VENV (first run only: the torch wheel and its CUDA libraries are several GB)"
  "$PY" -m pip install --quiet --upgrade pip >/dev/null
  "$PY" -m pip install --quiet "${PACKAGES[@]}"
  venv_ready || { echo "setup-torch2: error: packages installed into $VENV but do not import" >&2; exit 1; }
fi

case "$MODE" in
  --print-prefix) "$PY" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' ;;
  --print-python) echo "$PY" ;;
  "")
    "$PY" - <<'EOF'
import torch, torch.utils
print(f"setup-torch2: LibTorch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN "
      f"{torch.backends.cudnn.version()}, C++11 ABI {int(torch._C._GLIBCXX_USE_CXX11_ABI)})")
print(f"setup-torch2: torch.utils.cmake_prefix_path = {torch.utils.cmake_prefix_path}")
EOF
    echo "setup-torch2: venv python = $PY" ;;
  *) echo "setup-torch2: unknown option '$MODE' (use --print-prefix or --print-python)" >&2; exit 2 ;;
esac
