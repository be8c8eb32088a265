"""The only module that touches ComfyUI.

Inside a running ComfyUI (its ``folder_paths`` and ``comfy`` modules already imported) it uses
ComfyUI's progress bar, interruption flag and model/input/output folders (including paths from
``extra_model_paths.yaml``). Anywhere else (headless runner, scripts, tests) it falls back to
tqdm progress, no interruption, and local folders:

- models: ``$KINESONIC_MODELS/<kind>`` (default ``./models/<kind>``), plus the pack's own
  ``checkpoints/<kind>`` folder for files that ship with Kinesonic;
- outputs: ``$KINESONIC_OUTPUT`` (default ``./output``), or what the runner sets;
- inputs: ``$KINESONIC_INPUT`` (default ``./input``); absolute paths are always accepted.

Lower layers (models, data, perception) never import this module: nodes pass them a plain
``callback(done, total)`` made by :func:`progress_callback`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent.parent

_output_override: Path | None = None
_input_override: Path | None = None


def in_comfyui() -> bool:
    """True when running inside a ComfyUI process (its modules are already loaded)."""
    return "folder_paths" in sys.modules and "comfy.utils" in sys.modules


# --------------------------------------------------------------------------- progress


class Progress:
    """Progress over ``total`` steps: ComfyUI's bar inside ComfyUI, tqdm elsewhere.

    Use as a context manager; ``update(n)`` advances by n steps and checks for interruption.
    """

    def __init__(self, total: int, desc: str = "Kinesonic") -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self._bar = None
        self._tqdm = None
        if in_comfyui():
            import comfy.utils  # type: ignore[import-not-found]

            self._bar = comfy.utils.ProgressBar(self.total)
        elif os.environ.get("KINESONIC_PROGRESS", "1") != "0":
            from tqdm.auto import tqdm

            self._tqdm = tqdm(total=self.total, desc=desc, leave=False, file=sys.stderr)

    def update(self, n: int = 1) -> None:
        self.set(self.done + n)

    def set(self, value: int) -> None:
        check_interrupted()
        value = min(int(value), self.total)
        if self._bar is not None:
            self._bar.update_absolute(value, self.total)
        if self._tqdm is not None:
            self._tqdm.update(value - self.done)
        self.done = value

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_callback(total: int, desc: str = "Kinesonic") -> tuple[Callable[[int, int], None], Progress]:
    """A ``callback(done, total)`` for lower layers plus the :class:`Progress` behind it.

    The callback raises ComfyUI's interruption exception when the user cancels.
    Close the returned Progress (or use it as a context manager) when the work ends.
    """
    bar = Progress(total, desc)

    def callback(done: int, total_: int | None = None) -> None:
        if total_ is not None and total_ != bar.total:
            bar.total = max(int(total_), 1)
        bar.set(done)

    return callback, bar


def check_interrupted() -> None:
    """Raise ComfyUI's interruption exception if the user pressed cancel; no-op elsewhere."""
    if in_comfyui():
        import comfy.model_management  # type: ignore[import-not-found]

        comfy.model_management.throw_exception_if_processing_interrupted()


# --------------------------------------------------------------------------- folders


def models_root() -> Path:
    """Local model root used outside ComfyUI: ``$KINESONIC_MODELS`` or ``./models``."""
    return Path(os.environ.get("KINESONIC_MODELS", "models")).expanduser().resolve()


def model_folders(kind: str) -> list[Path]:
    """Folders searched for model files of ``kind`` (e.g. ``"kinesonic"``, ``"sam2"``)."""
    folders: list[Path] = []
    if in_comfyui():
        import folder_paths  # type: ignore[import-not-found]

        if kind not in folder_paths.folder_names_and_paths:
            folder_paths.add_model_folder_path(kind, os.path.join(folder_paths.models_dir, kind))
        folders.extend(Path(p) for p in folder_paths.get_folder_paths(kind))
    else:
        folders.append(models_root() / kind)
    shipped = PACK_DIR / "checkpoints" / kind
    if shipped.is_dir():
        folders.append(shipped)
    return folders


def list_models(kind: str, extensions: Iterable[str]) -> list[str]:
    """File names (relative to their folder, '/'-separated) of ``kind`` models with these extensions."""
    exts = {e.lower() for e in extensions}
    names: set[str] = set()
    for folder in model_folders(kind):
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix.lower() in exts:
                names.add(path.relative_to(folder).as_posix())
    return sorted(names)


def resolve_model(kind: str, name: str, node: str, input_name: str) -> Path:
    """Full path of model file ``name`` of ``kind``; a clear error says where it should go."""
    candidate = Path(name).expanduser()
    if candidate.is_absolute() and candidate.is_file():
        return candidate
    folders = model_folders(kind)
    for folder in folders:
        path = folder / name
        if path.is_file():
            return path
    where = ", ".join(str(f) for f in folders) or f"models/{kind}"
    raise FileNotFoundError(
        f"[{node}] input '{input_name}': model file {name!r} was not found. Put it in one of: {where}"
    )


def set_output_dir(path: str | os.PathLike | None) -> None:
    """Override the output folder (used by the headless runner's --output)."""
    global _output_override
    _output_override = None if path is None else Path(path).expanduser().resolve()


def set_input_dir(path: str | os.PathLike | None) -> None:
    """Override the input folder (relative media paths are looked up there first)."""
    global _input_override
    _input_override = None if path is None else Path(path).expanduser().resolve()


def output_dir() -> Path:
    """Folder where save nodes write (ComfyUI's output folder inside ComfyUI)."""
    if _output_override is not None:
        return _output_override
    if in_comfyui():
        import folder_paths  # type: ignore[import-not-found]

        return Path(folder_paths.get_output_directory())
    return Path(os.environ.get("KINESONIC_OUTPUT", "output")).expanduser().resolve()


def input_dir() -> Path:
    """Folder where load nodes look for relative file names (ComfyUI's input folder inside ComfyUI)."""
    if _input_override is not None:
        return _input_override
    if in_comfyui():
        import folder_paths  # type: ignore[import-not-found]

        return Path(folder_paths.get_input_directory())
    return Path(os.environ.get("KINESONIC_INPUT", "input")).expanduser().resolve()


def temp_dir() -> Path:
    """Folder for previews that are not outputs (ComfyUI's temp folder inside ComfyUI)."""
    if in_comfyui():
        import folder_paths  # type: ignore[import-not-found]

        return Path(folder_paths.get_temp_directory())
    return output_dir() / "temp"


def resolve_input_file(name: str, node: str, input_name: str, what: str = "file") -> Path:
    """Find an input file: absolute path, then the input folder, then the pack, then the cwd."""
    raw = str(name).strip()
    if not raw:
        raise FileNotFoundError(f"[{node}] input '{input_name}': expected a {what} path, got an empty string")
    candidate = Path(raw).expanduser()
    tries = [candidate] if candidate.is_absolute() else [input_dir() / raw, PACK_DIR / raw, Path.cwd() / raw]
    for path in tries:
        if path.is_file():
            return path.resolve()
    looked = ", ".join(str(p) for p in tries)
    raise FileNotFoundError(
        f"[{node}] input '{input_name}': {what} {raw!r} was not found (looked at: {looked})"
    )


def list_input_files(extensions: Iterable[str]) -> list[str]:
    """Files in the input folder with these extensions (for combo widgets)."""
    exts = {e.lower() for e in extensions}
    root = input_dir()
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts
    )
