"""Still images: read with Pillow into RGB uint8 ``[H, W, 3]`` plus alpha ``[H, W]``; fit to a size;
encode as PNG (bytes, a data URL for the browser, or an atomically written file)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .files import MediaError, atomic_write_bytes

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


FIT_MODES = ("crop", "stretch", "pad")


def fit_image(image: np.ndarray, width: int, height: int, mode: str = "crop") -> np.ndarray:
    """``image [H, W, C]`` (float or uint8) resized to ``[height, width, C]``, same dtype.

    ``crop``: scale to cover the target, then cut the centre (nothing is distorted, edges are
    lost); ``stretch``: scale each axis on its own (everything kept, shapes distorted); ``pad``:
    scale to fit inside, then centre on black (everything kept, black bars). Downscaling uses
    area averaging, upscaling bilinear interpolation. An image already at the size is returned
    unchanged (the same values).
    """
    import cv2

    if mode not in FIT_MODES:
        raise ValueError(f"mode must be one of {list(FIT_MODES)}, got {mode!r}")
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"image must have shape [H, W, C], got {img.shape}")
    width, height = int(width), int(height)
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img.copy()

    def resize(a: np.ndarray, size_w: int, size_h: int) -> np.ndarray:
        shrink = size_w * size_h < a.shape[0] * a.shape[1]
        out = cv2.resize(a, (size_w, size_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        return out.reshape(size_h, size_w, a.shape[2])

    if mode == "stretch":
        return resize(img, width, height)
    if mode == "crop":
        scale = max(width / w, height / h)
        sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
        big = resize(img, sw, sh)
        x0, y0 = (sw - width) // 2, (sh - height) // 2
        return big[y0 : y0 + height, x0 : x0 + width].copy()
    scale = min(width / w, height / h)
    sw, sh = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    out = np.zeros((height, width, img.shape[2]), dtype=img.dtype)
    x0, y0 = (width - sw) // 2, (height - sh) // 2
    out[y0 : y0 + sh, x0 : x0 + sw] = resize(img, sw, sh)
    return out


def png_bytes(image: np.ndarray, max_side: int = 0) -> bytes:
    """RGB uint8 ``image [H, W, 3]`` encoded as PNG.

    ``max_side`` > 0: an image whose longer side is larger is first downscaled (area averaging,
    aspect kept, each side rounded, at least 1 px) so that side is ``max_side`` pixels.
    Raises :class:`MediaError` if OpenCV cannot encode it.
    """
    import cv2

    frame = np.asarray(image)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise MediaError(f"a PNG is made from RGB uint8 [H, W, 3], got {frame.dtype} {frame.shape}")
    h, w = frame.shape[:2]
    if max_side > 0 and max(h, w) > max_side:
        f = max_side / max(h, w)
        frame = cv2.resize(frame, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]))
    if not ok:
        raise MediaError(f"OpenCV could not encode a {w}x{h} image as PNG")
    return png.tobytes()


def png_data_url(image: np.ndarray, max_side: int = 0) -> str:
    """``data:image/png;base64,...`` of RGB uint8 ``image [H, W, 3]`` (see :func:`png_bytes`)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(image, max_side)).decode("ascii")


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write RGB uint8 ``image [H, W, 3]`` as a PNG file at ``path`` (atomically); returns the path."""
    return atomic_write_bytes(path, png_bytes(image))
