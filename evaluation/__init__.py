"""Kinesonic evaluation of generators on held-out physics-world clips (no ComfyUI imports).

Above ``models``, ``data``, ``perception`` and ``metrics``: generates each clip with every model,
measures tracks on the result and scores it with :mod:`kinesonic.metrics`. Entry points:
:func:`.world.evaluate_world` and ``kinesonic eval --world`` (:mod:`.cli`). Importing this package
imports nothing heavy; the modules import torch and the lower layers.
"""
