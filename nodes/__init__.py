"""ComfyUI-facing node classes.

Every module in this package that defines ``NODE_CLASS_MAPPINGS`` (and optionally
``NODE_DISPLAY_NAME_MAPPINGS``) is collected here, so adding a node module needs no edit of this
file. Node modules must import only cheap things at module level (numpy, torch, our own maths);
heavy libraries (librosa, cv2, av, matplotlib, sam2, ...) are imported inside the node function.
"""

from __future__ import annotations

import importlib
import pkgutil

NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}

_NOT_NODE_MODULES = {"bridge", "base"}


def _collect() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _NOT_NODE_MODULES:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes = getattr(module, "NODE_CLASS_MAPPINGS", {})
        for key in classes:
            if key in NODE_CLASS_MAPPINGS:
                raise RuntimeError(f"Kinesonic: node type {key!r} is defined twice (in {info.name})")
        NODE_CLASS_MAPPINGS.update(classes)
        names = getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", {})
        NODE_DISPLAY_NAME_MAPPINGS.update(names)
        for key in classes:
            NODE_DISPLAY_NAME_MAPPINGS.setdefault(key, key)


_collect()
