"""Train the appearance material classifier of the physics layer on world renders.

    python scripts/train_material_classifier.py [--clips 600] [--seed 0]

Objects of training clips ``synth_clip(clip_seed(seed, i))`` (the generator's training seeds, never the
held-out evaluation seeds ``clip_seed(1000, i)``), half at 64 px and half at 128 px; features are
measured exactly as at estimation time (:func:`kinesonic.physics.mass.measure_blobs` on the frames,
with the ground-truth track points). Prints the accuracy on a 20 % validation split, then fits
on all and writes ``physics/material_classifier.json`` (atomically).
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    from kinesonic.data import OBJECT_MATERIALS, clip_seed, synth_clip
    from kinesonic.media.files import atomic_write_text
    from kinesonic.physics.mass import measure_blobs
    from kinesonic.physics.materials import CLASSIFIER_PATH, classify, train_classifier

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(CLASSIFIER_PATH))
    args = ap.parse_args()
    classes = list(OBJECT_MATERIALS)
    X, y = [], []
    for i in range(args.clips):
        clip = synth_clip(clip_seed(args.seed, i), size=64 if i % 2 == 0 else 128)
        blobs = measure_blobs(clip.frames, clip.tracks.points, clip.tracks.visible)
        for n, blob in enumerate(blobs):
            if blob.colour is not None:
                X.append(blob.colour)
                y.append(classes.index(clip.params["objects"][n]["material"]))
    X, y = np.array(X), np.array(y)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    cut = int(0.8 * len(X))
    params = train_classifier(X[order[:cut]], y[order[:cut]], classes)
    pred = [classes.index(max(classify(x, params).items(), key=lambda kv: kv[1])[0]) for x in X[order[cut:]]]
    truth = y[order[cut:]]
    print(
        f"objects: {len(X)}; validation accuracy {np.mean(np.array(pred) == truth):.3f} "
        f"({len(truth)} objects)"
    )
    for c, name in enumerate(classes):
        sel = truth == c
        print(f"  {name:8s} recall {np.mean(np.array(pred)[sel] == c):.3f} ({sel.sum()})")
    params = train_classifier(X, y, classes)
    params["trained_on"] = f"{len(X)} objects of world clips clip_seed({args.seed}, i), i < {args.clips}"
    atomic_write_text(args.out, json.dumps(params, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
