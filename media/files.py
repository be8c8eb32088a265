"""Atomic file output and numbered output names (no ComfyUI, standard library only).

This is the one place in Kinesonic that writes a finished file:

- :func:`atomic_output` yields a temporary path in the destination folder; the caller writes its
  format there and the file is renamed onto the final name only after the write finished. On any
  error (including an interruption) the temporary file and any folder created for it are removed,
  so a failed save never leaves a partial file behind. New files get the normal mode of the
  process (``0o666`` minus the umask, like ``open(path, "w")``); a replaced file keeps its mode.
- :func:`atomic_write_bytes` / :func:`atomic_write_text` do the same for bytes and text.
- :func:`reserve_numbered_path` / :func:`numbered_output` pick ``<prefix>_NNNNN.<ext>`` and
  *reserve* it by creating the name with ``O_CREAT | O_EXCL``: two processes saving into one
  folder with one prefix never get the same number (no check-then-write race).
- :func:`record_writes` collects the final paths written by this thread / context, so a run can
  list exactly its own files even when another run writes into the same folder.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from .paths import PathOutsideError, inside


class MediaError(ValueError):
    """A media file or an array could not be read or written; the message says why."""


_journal: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("kinesonic_writes", default=None)


@contextlib.contextmanager
def record_writes() -> Iterator[list[Path]]:
    """Collect the final paths written by :func:`atomic_output` inside the block (this context only)."""
    written: list[Path] = []
    token = _journal.set(written)
    try:
        yield written
    finally:
        _journal.reset(token)


def _note_written(path: Path) -> None:
    journal = _journal.get()
    if journal is not None and path not in journal:
        journal.append(path)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, reserved: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    Missing parent folders are created; if the block raises, the temporary file is deleted and
    the folders created here are removed again (when empty). The temporary name starts with a
    dot and ends in ``.part``, so writers must name their format explicitly. The temporary file
    exists (empty) when the block starts; writers may overwrite or replace it. With
    ``reserved=True`` ``path`` is an empty placeholder made by :func:`reserve_numbered_path`; it
    is removed again if the write fails.
    """
    final = Path(path)
    created = _make_parents(final.parent)
    tmp, mode = _create_temp(final)
    try:
        yield tmp
        if not tmp.is_file():
            raise MediaError(f"nothing was written for {final}")
        with contextlib.suppress(FileNotFoundError):
            if not reserved:
                mode = stat.S_IMODE(final.stat().st_mode)  # a replaced file keeps its mode
        os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if reserved:
            _drop_placeholder(final)
        for folder in created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    _note_written(final)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, reserved: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); returns the path."""
    with atomic_output(path, reserved=reserved) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, reserved: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_output`); returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"), reserved=reserved)


def _create_temp(final: Path) -> tuple[Path, int]:
    """An empty, new temporary file next to ``final`` and the mode a new file gets (umask applied)."""
    while True:
        tmp = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        return tmp, mode


def release_reserved(path: str | os.PathLike) -> None:
    """Give back a name from :func:`reserve_numbered_path` whose write failed (only if still empty)."""
    _drop_placeholder(Path(path))


def _drop_placeholder(path: Path) -> None:
    """Remove a reserved name that is still an empty placeholder."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


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


def _split_prefix(root: str | os.PathLike, prefix: str) -> tuple[Path, Path, str]:
    """(root, folder, stem) of a filename prefix, checked to stay strictly inside ``root``."""
    root_path = Path(os.path.abspath(root))
    clean = str(prefix).strip().replace("\\", "/").strip("/")
    if not clean:
        raise MediaError("the filename prefix is empty")
    try:
        target = inside(root_path, clean, what="the filename prefix")
    except PathOutsideError as error:
        raise MediaError(f"{error} (the output folder)") from None
    if target == root_path or target.name in ("", ".", ".."):
        raise MediaError(f"the filename prefix {prefix!r} names the output folder itself, not a file name")
    return root_path, target.parent, target.name


def reserve_numbered_path(root: str | os.PathLike, prefix: str, extension: str) -> tuple[Path, str, str]:
    """Reserve the next free ``<root>/<prefix>_NNNNN.<extension>`` (counter from 1, five digits).

    ``prefix`` may contain ``/`` to name a subfolder ("kinesonic/clip" -> ``<root>/kinesonic/
    clip_00001.mp4``); it must name a file strictly inside ``root`` ("", ".", "sub/..", "../x"
    are refused). The name is created as an empty placeholder with ``O_CREAT | O_EXCL`` (the
    number after the highest existing one; on a clash the next), so concurrent savers never share
    a name; write it with ``atomic_output(path, reserved=True)`` (or use :func:`numbered_output`).
    Returns (path, file name, subfolder with '/' separators, "" for the root itself). Raises
    :class:`MediaError` for a bad prefix.
    """
    root_path, folder, stem = _split_prefix(root, prefix)
    ext = extension.lstrip(".")
    pattern = re.compile(rf"^{re.escape(stem)}_(\d{{5,}})\.{re.escape(ext)}$")
    created = _make_parents(folder)
    highest = 0
    for entry in os.listdir(folder):
        match = pattern.match(entry)
        if match:
            highest = max(highest, int(match.group(1)))
    number = highest + 1
    while True:
        name = f"{stem}_{number:05d}.{ext}"
        try:
            os.close(os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            number += 1
        except OSError:
            for made in created:
                with contextlib.suppress(OSError):
                    made.rmdir()
            raise
    subfolder = folder.relative_to(root_path).as_posix()
    return folder / name, name, "" if subfolder == "." else subfolder


def reserve_free_path(path: str | os.PathLike) -> Path:
    """Reserve ``path``, or ``<stem>-1<suffix>``, ``-2``, ... if taken (``O_CREAT | O_EXCL``).

    Never overwrites: an existing file keeps its content. Write the returned path with
    ``atomic_output(..., reserved=True)``; give it back with :func:`release_reserved` on failure.
    """
    wanted = Path(path)
    _make_parents(wanted.parent)
    candidate, k = wanted, 0
    while True:
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return candidate
        except FileExistsError:
            k += 1
            candidate = wanted.with_name(f"{wanted.stem}-{k}{wanted.suffix}")


# The historical name: every caller now reserves.
numbered_output_path = reserve_numbered_path


@contextlib.contextmanager
def numbered_output(root: str | os.PathLike, prefix: str, extension: str) -> Iterator[tuple[Path, str, str]]:
    """Reserve a numbered name (see :func:`reserve_numbered_path`); drop it if the block fails.

    Yields (path, file name, subfolder); write the file with ``atomic_output(path, reserved=True)``
    inside the block.
    """
    path, name, subfolder = reserve_numbered_path(root, prefix, extension)
    try:
        yield path, name, subfolder
    except BaseException:
        _drop_placeholder(path)
        raise
