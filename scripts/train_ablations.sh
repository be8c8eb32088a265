#!/usr/bin/env bash
# The four ablations of the evaluation table (docs/model_card.md), each the default recipe
# (scripts/train_default.sh) plus one switch, on the same data, seed and DiT budget. Like the default
# model they start from the shipped model's video autoencoder (AE_FROM) and the same seeded DiT
# initialisation, so the rows differ only in what the DiT was trained with. Run from the repository
# root; re-running resumes. no-physics (--no-physics: no mass / speed conditioning) is recorded in the
# checkpoint as the ablation "no_physics", so the world table samples it without physics:
#   kinesonic eval --world --model checkpoints/kinesonic/kinesonic_tiny.safetensors \
#     --ablation "no kinematics=checkpoints/ablations/no-kinematics.safetensors" ... \
#     --ablation "no physics conditioning=checkpoints/ablations/no-physics.safetensors"
#   ABLATIONS="no-hybrid-flow" bash scripts/train_ablations.sh   # only some
set -euo pipefail
RUNS=${RUNS:-runs}
ABLATIONS=${ABLATIONS:-no-kinematics no-hybrid-flow no-trajectory no-physics}
for a in $ABLATIONS; do
  OUT="$RUNS/$a" EXPORT="checkpoints/ablations/$a.safetensors" bash scripts/train_default.sh "--$a"
done
