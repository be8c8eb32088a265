"""A disk cache for arrays that a library computes from a few numbers (e.g. librosa's mel filterbank).

The cached file is the library's own output, written the first time it is needed, and its name
holds the library's installed version and the arguments, so a new version recomputes it. It exists
so that a process that only needs the array does not pay for importing the library (librosa pulls
in numba: ~0.2-0.3 s of CPU at every start of ``kinesonic run``).

Folder: ``$KINESONIC_CACHE`` if set (empty or ``off``: no cache, always compute), else
``$XDG_CACHE_HOME/kinesonic`` or ``~/.cache/kinesonic``. A folder that cannot be written, or a file
that cannot be read back as the expected array, means the array is computed as without a cache.
Writes are atomic and are not listed among a run's output files.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

#: environment variable naming the cache folder ("" or "off" turns the cache off)
CACHE_ENV = "KINESONIC_CACHE"


def cache_folder() -> Path | None:
    """The cache folder, or None when the cache is off."""
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip() in ("", "off") else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kinesonic"


def cache_name(library: str, function: str, **arguments: object) -> str | None:
    """File name for ``library.function(**arguments)`` at the installed version (None if not installed)."""
    try:
        installed = version(library)
    except PackageNotFoundError:
        return None
    words = [library, installed, function] + [f"{k}={arguments[k]!r}" for k in sorted(arguments)]
    return re.sub(r"[^A-Za-z0-9=.+-]+", "_", "_".join(words)) + ".npy"


def cached_array(
    library: str,
    function: str,
    arguments: dict[str, object],
    compute: Callable[[], np.ndarray],
) -> np.ndarray:
    """``compute()`` (which must call ``library.function(**arguments)`` and nothing else), read from
    the cache when it holds this version's result; otherwise computed and stored."""
    folder = cache_folder()
    name = cache_name(library, function, **arguments) if folder is not None else None
    if folder is None or name is None:
        return compute()
    path = folder / name
    try:
        with open(path, "rb") as handle:
            return np.load(handle, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        pass
    array = compute()
    data = io.BytesIO()
    np.save(data, array, allow_pickle=False)
    try:
        from ..media.files import atomic_write_bytes, record_writes

        with record_writes():  # a cache file is not one of the run's outputs
            atomic_write_bytes(path, data.getvalue())
    except OSError:
        pass
    return array
