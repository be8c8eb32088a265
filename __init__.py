"""Kinesonic: a ComfyUI node pack for trajectory-guided sounding-video generation.

ComfyUI imports this file when the repository sits in ``custom_nodes/``; ``pip install -e .``
exposes the same folder as the ``kinesonic`` package. Importing it must stay cheap: it only
collects node classes (no model loads, no heavy libraries).
"""

from typing import Any

WEB_DIRECTORY = "./web"
__version__ = "0.1.0"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]


def __getattr__(name: str) -> Any:
    """The node mappings, collected on first access (ComfyUI reads them right after the import).

    Lazy so that ``kinesonic`` commands start without loading torch first: the CLI installs its
    Ctrl-C handling before the node modules (and torch) are imported.
    """
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"):
        from . import nodes

        return getattr(nodes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
