#!/usr/bin/env bash
# The three ablations of the evaluation table (docs/model_card.md), each the default recipe
# (scripts/train_default.sh) plus one switch, on the same data. They share the default run's
# autoencoder stage: it is trained once (the same seed, data and settings give the default model's
# autoencoder) and every ablation starts its twin-DiT stage from that end-of-autoencoder state, so the
# rows differ only in the DiT. Run from the repository root; re-running resumes.
#   ABLATIONS="no-hybrid-flow" bash scripts/train_ablations.sh   # only some
set -euo pipefail
RUNS=${RUNS:-runs}
ABLATIONS=${ABLATIONS:-no-kinematics no-hybrid-flow no-trajectory}

if [ ! -f "$RUNS/autoencoder_only/train_state.pt" ]; then
  OUT="$RUNS/autoencoder_only" EXPORT="$RUNS/autoencoder_only/export.safetensors" \
    bash scripts/train_default.sh --dit-steps 0
fi
for a in $ABLATIONS; do
  mkdir -p "$RUNS/$a"
  [ -f "$RUNS/$a/train_state.pt" ] || cp "$RUNS/autoencoder_only/train_state.pt" "$RUNS/$a/train_state.pt"
  OUT="$RUNS/$a" EXPORT="checkpoints/ablations/$a.safetensors" bash scripts/train_default.sh "--$a"
done
