#!/usr/bin/env bash
# Install Kinesonic (editable) and its dependencies from the package registries.
#   bash scripts/setup.sh         # the pack + runtime dependencies
#   bash scripts/setup.sh --dev   # + test tools and the test-only extras
# torch is pinned to the CPU build verified on these machines; set KINESONIC_TORCH to change it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${KINESONIC_TORCH:-torch==2.13.0}
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ "${1:-}" = "--dev" ]; then
  "$PY" -m pip install -q "$TORCH" -e ".[dev]"
  # Test-only: torchvision (for SAM2 / ComfyUI) without letting pip replace the pinned torch.
  "$PY" -m pip install -q --no-deps "torchvision==0.28.0"
  # Test-only: SAM2 (+ its pure-Python deps) and the CoTracker package (unpacked under .work/testdeps).
  bash scripts/install_perception_test_deps.sh
  # Test-only Debian package: espeak-ng (speech for the demixing mixtures, docs/demixing.md).
  if ! command -v espeak-ng >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
      apt-get install -y -q espeak-ng >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q espeak-ng >/dev/null; } \
        || echo "setup: could not install espeak-ng; speech mixtures and their tests will be skipped" >&2
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
      sudo apt-get install -y -q espeak-ng >/dev/null || echo "setup: could not install espeak-ng" >&2
    else
      echo "setup: espeak-ng not installed (apt-get install -y espeak-ng); speech mixtures need it" >&2
    fi
  fi
  # Test-only Debian packages: FluidSynth and the small TimGM6mb General MIDI soundfont (soundfont music
  # for the demixing mixtures; the held-out soundfont, fluid-soundfont-gm, is 148 MB and left to the user).
  if ! command -v fluidsynth >/dev/null 2>&1 || [ ! -f /usr/share/sounds/sf2/TimGM6mb.sf2 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
      apt-get install -y -q fluidsynth timgm6mb-soundfont >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q fluidsynth timgm6mb-soundfont >/dev/null; } \
        || echo "setup: could not install fluidsynth timgm6mb-soundfont; soundfont music tests will be skipped" >&2
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
      sudo apt-get install -y -q fluidsynth timgm6mb-soundfont >/dev/null \
        || echo "setup: could not install fluidsynth timgm6mb-soundfont" >&2
    else
      echo "setup: fluidsynth / timgm6mb-soundfont not installed (apt-get install -y fluidsynth timgm6mb-soundfont); soundfont music needs them" >&2
    fi
  fi
else
  "$PY" -m pip install -q "$TORCH" -e .
fi
"$PY" -c "import torch, kinesonic; print('kinesonic', kinesonic.__version__, 'torch', torch.__version__, len(kinesonic.NODE_CLASS_MAPPINGS), 'nodes')"
