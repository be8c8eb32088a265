"""The only module that touches ComfyUI.

Inside a running ComfyUI (its ``folder_paths`` and ``comfy`` modules already imported) it uses
ComfyUI's progress bar, interruption flag and model/input/output folders (including paths from
``extra_model_paths.yaml``). Anywhere else (headless runner, scripts, tests) it falls back to
tqdm progress, no interruption, and local folders:

- models: ``$KINESONIC_MODELS/<kind>`` (default ``./models/<kind>``), plus the pack's own
  ``checkpoints/<kind>`` folder for files that ship with Kinesonic;
- outputs: ``$KINESONIC_OUTPUT`` (default ``./output``), or what the runner sets;
- inputs: ``$KINESONIC_INPUT`` (default ``./input``), the pack folder, then the working folder.

Confinement (docs/files.md): load nodes read only inside the input folder (and, headless, the pack
and working folders; inside ComfyUI the pack's ``assets/`` folder); writers stay inside the output
folder or the model folders. Headless runs may opt in to free paths with ``kinesonic run
--allow-any-path`` or ``KINESONIC_ALLOW_ANY_PATH=1``; inside ComfyUI that opt-in is ignored.

Lower layers (models, data, perception) never import this module: nodes pass them a plain
``callback(done, total)`` made by :func:`progress_callback`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PACK_DIR = Path(__file__).resolve().parent.parent

_output_override: Path | None = None
_input_override: Path | None = None
_allow_any_path_override: bool | None = None
ALLOW_ANY_PATH_ENV = "KINESONIC_ALLOW_ANY_PATH"


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
    from ..media.paths import is_inside

    candidate = Path(name).expanduser()
    if allow_any_path() and candidate.is_absolute() and candidate.is_file():
        return candidate
    folders = model_folders(kind)
    for folder in folders:
        path = Path(os.path.normpath(os.path.join(folder, os.path.expanduser(name))))
        if is_inside(path, folder) and path.is_file():  # no ../ or absolute path out of the folder
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


def set_allow_any_path(flag: bool | None) -> None:
    """Headless opt-in to read and write paths outside the allowed folders (None: use the env var)."""
    global _allow_any_path_override
    _allow_any_path_override = None if flag is None else bool(flag)


def allow_any_path() -> bool:
    """True when free paths are allowed: headless only, after ``--allow-any-path`` or the env var."""
    if in_comfyui():
        return False
    if _allow_any_path_override is not None:
        return _allow_any_path_override
    return os.environ.get(ALLOW_ANY_PATH_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def opt_in_hint() -> str:
    """How to use a file the confinement refused (upload inside ComfyUI, the opt-in headless)."""
    if in_comfyui():
        return "put the file in ComfyUI's input folder (or upload it) and pick it in 'file'"
    return f"or run with --allow-any-path / {ALLOW_ANY_PATH_ENV}=1 to use any path"


def input_roots() -> list[tuple[Path, Path]]:
    """(base, fence) pairs for relative input names: looked up in base, allowed inside fence.

    Inside ComfyUI: the input folder, and the pack's shipped ``assets/`` (named relative to the
    pack, as the shipped workflows do). Headless: the input folder, the pack and the working folder.
    """
    root = input_dir()
    if in_comfyui():
        return [(root, root), (PACK_DIR, PACK_DIR / "assets")]
    cwd = Path.cwd()
    return [(root, root), (PACK_DIR, PACK_DIR), (cwd, cwd)]


def resolve_input_file(name: str, node: str, input_name: str, what: str = "file") -> Path:
    """Find an input file inside the folders loaders may read (see :func:`input_roots`).

    Raises FileNotFoundError when it is not there and :class:`PathOutsideError` (a ValueError)
    when the name leaves those folders; that check never touches the disk, so the error does not
    tell whether a file outside exists. With :func:`allow_any_path` absolute paths and ``../`` work.
    """
    from ..media.paths import PathOutsideError, is_inside

    raw = str(name).strip()
    if not raw:
        raise FileNotFoundError(f"[{node}] input '{input_name}': expected a {what} path, got an empty string")
    candidate = Path(raw).expanduser()
    if allow_any_path():
        tries = [candidate] if candidate.is_absolute() else [base / raw for base, _ in input_roots()]
    else:
        tries = []
        for base, fence in input_roots():
            path = Path(os.path.normpath(os.path.join(base, os.path.expanduser(raw))))
            if is_inside(path, fence) and path not in tries:
                tries.append(path)
        if not tries:
            fences = ", ".join(str(f) for _, f in input_roots())
            raise PathOutsideError(
                f"[{node}] input '{input_name}': {what} {raw!r} is outside the folders Kinesonic reads "
                f"from ({fences}); {opt_in_hint()}"
            )
    for path in tries:
        if path.is_file():
            return Path(os.path.abspath(path))
    looked = ", ".join(str(p) for p in tries)
    raise FileNotFoundError(
        f"[{node}] input '{input_name}': {what} {raw!r} was not found (looked at: {looked})"
    )


def writable_model_folders(kind: str) -> list[Path]:
    """Model folders of ``kind`` that nodes may write into (the pack's shipped folder is not one)."""
    shipped = PACK_DIR / "checkpoints" / kind
    return [f for f in model_folders(kind) if Path(os.path.abspath(f)) != Path(os.path.abspath(shipped))]


def confined_write_path(
    name: str, roots: Iterable[Path], node: str, input_name: str, what: str = "file"
) -> Path:
    """Where a writer may put ``name``: relative to the first root, and inside one of ``roots``.

    Raises :class:`PathOutsideError` for a name that leaves every root (or names a root itself);
    with :func:`allow_any_path` an absolute path is taken as given.
    """
    from ..media.paths import PathOutsideError, is_inside

    raw = os.path.expanduser(str(name).strip())
    folders = [Path(os.path.abspath(r)) for r in roots]
    if not raw or not folders:
        raise PathOutsideError(f"[{node}] input '{input_name}': expected a {what} name, got {name!r}")
    target = Path(os.path.normpath(os.path.join(folders[0], raw)))
    if allow_any_path() and target not in folders:
        return target
    if target in folders or not any(is_inside(target, f) for f in folders):
        where = ", ".join(str(f) for f in folders)
        hint = "" if in_comfyui() else f" (or run with --allow-any-path / {ALLOW_ANY_PATH_ENV}=1)"
        raise PathOutsideError(
            f"[{node}] input '{input_name}': {what} {str(name)!r} must name a file or folder inside "
            f"{where}{hint}"
        )
    return target


def list_input_files(extensions: Iterable[str]) -> list[str]:
    """Files in the input folder with these extensions (for combo widgets)."""
    exts = {e.lower() for e in extensions}
    root = input_dir()
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts
    )


# --------------------------------------------------------------------------- torch devices

PRECISIONS = ("fp32", "bf16", "fp16")


def load_device() -> Any:
    """Where the generator runs: ComfyUI's torch device inside ComfyUI; headless ``$KINESONIC_DEVICE``
    (``kinesonic --device``: cpu, cuda, cuda:1, mps, ...), default the CPU."""
    import torch

    if in_comfyui():
        import comfy.model_management  # type: ignore[import-not-found]

        return comfy.model_management.get_torch_device()
    return torch.device(os.environ.get("KINESONIC_DEVICE") or "cpu")


def offload_device() -> Any:
    """Where an idle generator waits: ComfyUI's offload device inside ComfyUI; headless the load
    device (nothing is moved between runs)."""
    if in_comfyui():
        import comfy.model_management  # type: ignore[import-not-found]

        return comfy.model_management.unet_offload_device()
    return load_device()


def precision() -> str:
    """``fp32`` (default), ``bf16`` or ``fp16``: ``$KINESONIC_PRECISION`` (``kinesonic --precision``),
    read in ComfyUI too (ComfyUI's own precision flags are for its models, not this one)."""
    value = (os.environ.get("KINESONIC_PRECISION") or "fp32").lower()
    if value not in PRECISIONS:
        raise ValueError(f"KINESONIC_PRECISION must be one of {PRECISIONS}, got {value!r}")
    return value


def autocast(device: Any) -> Any:
    """A context that runs the generator at :func:`precision` on ``device``: nothing for fp32, else
    ``torch.autocast`` with bf16 / fp16 where the device supports it (fp16 on a CPU falls back to bf16;
    a device without either runs fp32)."""
    import contextlib

    import torch

    mode = precision()
    kind = torch.device(device).type
    if mode == "fp32" or kind == "meta":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if mode == "bf16" else torch.float16
    if kind == "cpu":
        dtype = torch.bfloat16
    elif kind == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    try:
        return torch.autocast(kind, dtype=dtype)
    except RuntimeError:  # this device type has no autocast
        return contextlib.nullcontext()


# --------------------------------------------------------------------------- web routes


def add_json_route(path: str, handler: Callable[[dict], dict]) -> bool:
    """Serve ``POST path`` (and ``/api`` + path) from ComfyUI's server; no-op outside ComfyUI.

    ``handler`` takes the request's JSON object and returns a JSON-able dict; a ``ValueError``
    becomes a 400 answer ``{"error": message}``. Returns True when the route was registered.
    """
    server = sys.modules.get("server")
    instance = getattr(getattr(server, "PromptServer", None), "instance", None)
    if instance is None:
        return False
    from aiohttp import web  # ComfyUI's own dependency

    async def endpoint(request):
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("the request body must be a JSON object")
            return web.json_response(handler(body))
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)

    instance.routes.post(path)(endpoint)
    return True
