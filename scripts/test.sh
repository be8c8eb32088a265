#!/usr/bin/env bash
# Lint, format check and the whole test suite (unit + real-ComfyUI integration).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not integration"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m pytest "$@"
