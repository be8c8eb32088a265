"""Path confinement: the one check that a file name stays inside an allowed folder (no ComfyUI).

Every Kinesonic reader and writer that takes a file or folder name from a workflow passes it
through :func:`inside` (one allowed folder) or :func:`inside_any` (several). The check is lexical
(``os.path.abspath`` + ``normpath``, as ComfyUI's own ``/view`` and ``/upload`` handlers do): it
never touches the disk, so an error cannot tell whether a path outside the folders exists, and a
symlink an administrator placed inside an allowed folder keeps working. The allowed folders come
in as arguments (``nodes/bridge.py`` knows ComfyUI's folders; this module does not).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


class PathOutsideError(ValueError):
    """A file name points outside the folders it may use; the message names the folders."""


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def is_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """True when ``path`` is ``folder`` or lies below it (lexically, after normalisation)."""
    target, root = _absolute(path), _absolute(folder)
    return target == root or root in target.parents


def inside(root: str | os.PathLike, name: str | os.PathLike, *, what: str = "the path") -> Path:
    """``name`` resolved against ``root`` (relative, or absolute inside it), normalised.

    Raises :class:`PathOutsideError` when the result leaves ``root`` (``../x``, an absolute path
    elsewhere, ``~/x``). The result may equal ``root`` itself; callers that need a file name
    inside check that.
    """
    base = _absolute(root)
    raw = os.path.expanduser(os.fspath(name))
    target = Path(os.path.normpath(os.path.join(base, raw)))
    if not is_inside(target, base):
        raise PathOutsideError(f"{what} {os.fspath(name)!r} points outside {base}")
    return target


def inside_any(
    roots: Iterable[str | os.PathLike], name: str | os.PathLike, *, what: str = "the path"
) -> list[Path]:
    """``name`` resolved against each of ``roots`` where it stays inside that root (in order).

    Raises :class:`PathOutsideError` (naming every root) when it stays inside none of them.
    """
    folders = [_absolute(r) for r in roots]
    found: list[Path] = []
    for folder in folders:
        try:
            found.append(inside(folder, name, what=what))
        except PathOutsideError:
            continue
    if not found:
        where = ", ".join(str(f) for f in folders) or "(no folder)"
        raise PathOutsideError(f"{what} {os.fspath(name)!r} is outside the allowed folders ({where})")
    return found
