"""Atomic file output and numbered output names (no ComfyUI, standard library only).

Every writer in :mod:`kinesonic.media` writes into a temporary file in the destination folder
and renames it onto the final name only after the write finished; on any error (including an
interruption) the temporary file and any folder created for it are removed, so a failed save
never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path


class MediaError(ValueError):
    """A media file or an array could not be read or written; the message says why."""


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    Missing parent folders are created; if the block raises, the temporary file is deleted and
    the folders created here are removed again (when empty). The temporary name starts with a
    dot and ends in ``.part``, so writers must name their format explicitly.
    """
    final = Path(path)
    created = _make_parents(final.parent)
    tmp = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        yield tmp
        if not tmp.is_file():
            raise MediaError(f"nothing was written for {final}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        for folder in created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` (and missing parents); return the created folders, deepest first."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def numbered_output_path(root: str | os.PathLike, prefix: str, extension: str) -> tuple[Path, str, str]:
    """Next free ``<root>/<prefix>_NNNNN.<extension>`` (counter starts at 1, five digits).

    ``prefix`` may contain ``/`` to name a subfolder ("kinesonic/clip" -> ``<root>/kinesonic/
    clip_00001.mp4``); it must stay inside ``root``. Returns (path, file name, subfolder with
    '/' separators, "" for the root itself). Raises :class:`MediaError` for an empty prefix or
    one that leaves ``root``.
    """
    root_path = Path(root).resolve()
    clean = str(prefix).strip().replace("\\", "/").strip("/")
    if not clean:
        raise MediaError("the filename prefix is empty")
    target = (root_path / clean).resolve()
    if root_path != target and root_path not in target.parents:
        raise MediaError(f"the filename prefix {prefix!r} points outside the output folder")
    folder, stem = target.parent, target.name
    ext = extension.lstrip(".")
    pattern = re.compile(rf"^{re.escape(stem)}_(\d{{5,}})\.{re.escape(ext)}$")
    highest = 0
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
    name = f"{stem}_{highest + 1:05d}.{ext}"
    subfolder = folder.relative_to(root_path).as_posix()
    return folder / name, name, "" if subfolder == "." else subfolder
