#!/usr/bin/env bash
# Test-only perception dependencies (called by `scripts/setup.sh --dev`); idempotent.
#   - SAM2 1.1.0 (no CUDA extension, built against the pinned torch) + its pure-Python deps.
#   - CoTracker: the top-level `cotracker/` package from the `autosegmentor==3.0.1` wheel,
#     unpacked into .work/testdeps/ (the tests put that folder on sys.path). The wheel itself is
#     never installed: it would overwrite `sam2/`. CoTracker is CC-BY-NC and is not vendored.
# Needs torchvision importable (tests import tests/support/torchvision_compat.py first).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${KINESONIC_TORCH:-torch==2.13.0}
export PIP_DISABLE_PIP_VERSION_CHECK=1
TESTDEPS=.work/testdeps

# SAM2's runtime deps, pinned (hydra-core 1.3.2 wants omegaconf<2.4 and antlr4 4.9.*); torch stays pinned.
"$PY" -m pip install -q "$TORCH" "hydra-core==1.3.2" "omegaconf==2.3.0" "antlr4-python3-runtime==4.9.3" \
  "iopath==0.1.10" "portalocker==2.10.1"
if ! "$PY" -m pip show -q sam2 >/dev/null 2>&1; then
  SAM2_BUILD_CUDA=0 "$PY" -m pip install -q --no-build-isolation --no-deps "sam2==1.1.0"
fi

if [ ! -f "$TESTDEPS/cotracker/predictor.py" ]; then
  mkdir -p "$TESTDEPS"
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  "$PY" -m pip download -q --no-deps --only-binary=:all: "autosegmentor==3.0.1" -d "$TMP"
  "$PY" - "$TMP" "$TESTDEPS" <<'PYEOF'
import glob, os, shutil, sys, zipfile

tmp, dest = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(tmp, "autosegmentor-3.0.1-*.whl"))
stage = os.path.join(tmp, "stage")
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist() if m.startswith("cotracker/")]
    if not members:
        sys.exit("autosegmentor wheel has no top-level cotracker/ package")
    zf.extractall(stage, members)
target = os.path.join(dest, "cotracker")
shutil.rmtree(target, ignore_errors=True)
shutil.move(os.path.join(stage, "cotracker"), target)  # rename = complete or absent
print(f"cotracker test package: {len(members)} files -> {target}")
PYEOF
fi
"$PY" - <<'PYEOF'
import torch

print("perception test deps ok; torch", torch.__version__)
PYEOF
