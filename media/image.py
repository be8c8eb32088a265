"""Still images: read with Pillow into RGB uint8 ``[H, W, 3]`` plus alpha ``[H, W]``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .files import MediaError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def read_image(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode an image file: ``(rgb uint8 [H, W, 3], alpha uint8 [H, W] or None)``.

    EXIF orientation is applied; 16-bit and palette images are converted; an animated image
    gives its first frame. alpha is None when the image has no transparency.
    Raises FileNotFoundError (missing) or :class:`MediaError` (not an image).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I;16") or image.mode == "I":
                array = np.asarray(image, dtype=np.float64)
                scale = 65535.0 if array.max(initial=0) > 255 else 255.0
                image = Image.fromarray((np.clip(array / scale, 0, 1) * 255 + 0.5).astype(np.uint8))
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            if has_alpha:
                rgba = np.asarray(image.convert("RGBA"))
                return np.array(rgba[..., :3]), np.array(rgba[..., 3])
            return np.array(image.convert("RGB")), None
    except (UnidentifiedImageError, OSError) as error:
        raise MediaError(f"{path.name!r} is not a readable image ({error})") from None
