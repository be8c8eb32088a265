"""Materials: densities, materials named in a prompt, and a small appearance classifier.

Order of trust (see :func:`kinesonic.physics.estimate.estimate_physics`): a material the user gives
per object, then the prompt's words, then the appearance classifier.

**Densities** (kg/m³, nominal and a typical range of real materials of that name): the nominal
values are those of the Kinesonic world (docs/world.md), so a world clip with the right material
and size gets the exact mass.

**Prompt words.** A material word (e.g. "steel", "wooden") counts for an object when the next
noun (within :data:`WINDOW` words) names an object (ball, box, cube, ...), not a surface (floor,
table, ramp, ...). The phrases are returned in the order of the prompt with the shape word.

**Appearance classifier.** Multinomial logistic regression (numpy) on :func:`.mass.appearance`
features of an object's inner pixels, trained on world renders by
``python scripts/train_material_classifier.py`` (training seeds only); its weights and feature
standardisation are in ``physics/material_classifier.json`` (a few hundred bytes).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

#: name -> (nominal, low, high) density in kg/m³
DENSITY: dict[str, tuple[float, float, float]] = {
    "rubber": (1100.0, 950.0, 1250.0),
    "wood": (650.0, 450.0, 850.0),
    "metal": (7800.0, 7000.0, 8900.0),
    "glass": (2500.0, 2400.0, 2800.0),
    "plastic": (1000.0, 900.0, 1400.0),
    "aluminium": (2700.0, 2600.0, 2800.0),
    "stone": (2400.0, 2200.0, 2800.0),
}

#: words -> material name
WORDS: dict[str, str] = {
    "rubber": "rubber", "rubbery": "rubber",
    "wood": "wood", "wooden": "wood", "timber": "wood",
    "metal": "metal", "metallic": "metal", "steel": "metal", "iron": "metal", "brass": "metal",
    "copper": "metal",
    "glass": "glass", "glassy": "glass", "crystal": "glass",
    "plastic": "plastic",
    "aluminium": "aluminium", "aluminum": "aluminium",
    "stone": "stone", "rock": "stone", "marble": "stone", "granite": "stone",
}  # fmt: skip

OBJECT_NOUNS: dict[str, str] = {
    "ball": "ball", "balls": "ball", "sphere": "ball", "marble": "ball", "orb": "ball",
    "box": "box", "boxes": "box", "cube": "box", "block": "box", "brick": "box", "crate": "box",
    "object": "", "thing": "", "piece": "",
}  # fmt: skip
SURFACE_NOUNS = {"floor", "table", "ramp", "ground", "surface", "wall", "shelf", "plank", "slope", "board"}
WINDOW = 3
CLASSIFIER_PATH = Path(__file__).with_name("material_classifier.json")


def parse_material(text: str) -> str | None:
    """A single material name from a word (``"steel"`` -> ``"metal"``); None when unknown."""
    word = text.strip().lower()
    if word in DENSITY:
        return word
    return WORDS.get(word)


def prompt_objects(prompt: str) -> list[tuple[str | None, str | None]]:
    """``[(material or None, shape or None), ...]`` for each object phrase of ``prompt``, in order.

    An object phrase is an object noun; its material is the last material word among the
    :data:`WINDOW` words before it (not separated by another noun).
    """
    words = re.findall(r"[a-z]+", prompt.lower())
    out = []
    for i, w in enumerate(words):
        if w in OBJECT_NOUNS and not (w == "marble" and i + 1 < len(words) and words[i + 1] in OBJECT_NOUNS):
            material = None
            for j in range(i - 1, max(i - 1 - WINDOW, -1), -1):
                if words[j] in OBJECT_NOUNS or words[j] in SURFACE_NOUNS:
                    break
                if words[j] in WORDS:
                    material = WORDS[words[j]]
                    break
            out.append((material, OBJECT_NOUNS[w] or None))
    return out


@lru_cache(maxsize=1)
def _classifier() -> dict:
    return json.loads(CLASSIFIER_PATH.read_text(encoding="utf-8"))


def classifier_available() -> bool:
    return CLASSIFIER_PATH.is_file()


def classify(features: np.ndarray, params: dict | None = None) -> dict[str, float]:
    """Class probabilities ``{material: p}`` of an object's appearance features (:func:`.mass.appearance`).

    ``params``: classifier parameters (default: the stored ``material_classifier.json``).
    """
    c = params if params is not None else _classifier()
    x = (np.asarray(features, dtype=np.float64) - np.array(c["mean"])) / np.array(c["std"])
    logits = np.array(c["weights"]) @ x + np.array(c["bias"])
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {name: float(v) for name, v in zip(c["classes"], p, strict=True)}


def train_classifier(
    X: np.ndarray, y: np.ndarray, classes: list[str], l2: float = 1e-2, steps: int = 3000, lr: float = 0.5
) -> dict:
    """Fit the softmax regression (full-batch gradient descent) on features ``X [M, F]``, labels ``y [M]``.

    Returns the JSON-able parameters (``classes``, ``mean``, ``std``, ``weights`` [C, F], ``bias`` [C]).
    """
    X = np.asarray(X, dtype=np.float64)
    mean, std = X.mean(0), X.std(0) + 1e-6
    Z = (X - mean) / std
    C, F = len(classes), Z.shape[1]
    W, b = np.zeros((C, F)), np.zeros(C)
    Y = np.eye(C)[np.asarray(y)]
    for _ in range(steps):
        logits = Z @ W.T + b
        logits -= logits.max(1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / len(Z)
        W -= lr * (G.T @ Z + l2 * W)
        b -= lr * G.sum(0)
    return {
        "classes": list(classes),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "weights": W.tolist(),
        "bias": b.tolist(),
    }
