"""Kinesonic: a ComfyUI node pack for trajectory-guided sounding-video generation.

ComfyUI imports this file when the repository sits in ``custom_nodes/``; ``pip install -e .``
exposes the same folder as the ``kinesonic`` package. Importing it must stay cheap: it only
collects node classes (no model loads, no heavy libraries).
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"
__version__ = "0.1.0"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
