"""SAM2 adapter: load a local checkpoint, segment a frame, propagate masks through a clip.

Needs the ``sam2`` package (``SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2==1.1.0``)
and a checkpoint file the user put in ComfyUI's ``models/sam2`` folder: a ``.pt`` holding
``{"model": state_dict}`` (Meta's release format, loaded by sam2's own loader with
``torch.load(weights_only=True)``) or a ``.safetensors`` holding the state dict. The model
config (a hydra yaml shipped inside the sam2 package) is inferred from the file name or given.
Nothing is downloaded.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import Callback, PerceptionError, as_frames, as_masks, report, require
from .segment import Prompt

SAM2_CONFIGS: dict[str, str] = {
    "sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
    "sam2_hiera_t": "configs/sam2/sam2_hiera_t.yaml",
    "sam2_hiera_s": "configs/sam2/sam2_hiera_s.yaml",
    "sam2_hiera_b+": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2_hiera_l": "configs/sam2/sam2_hiera_l.yaml",
}
CONFIG_CHOICES = ["auto", *SAM2_CONFIGS]
EXTENSIONS = (".pt", ".pth", ".safetensors")

_SIZES = (
    ("tiny", "t"),
    ("small", "s"),
    ("base_plus", "b+"),
    ("baseplus", "b+"),
    ("b+", "b+"),
    ("large", "l"),
)


def infer_sam2_config(file_name: str) -> str:
    """Config key (see :data:`SAM2_CONFIGS`) for a checkpoint file name.

    ``sam2.1_hiera_tiny.pt`` → ``"sam2.1_hiera_t"``; ``sam2_hiera_large.safetensors`` →
    ``"sam2_hiera_l"``. Raises :class:`PerceptionError` when the size cannot be read from the name.
    """
    name = Path(file_name).name.lower()
    version = "sam2.1" if re.search(r"2[._]1", name) else "sam2"
    for word, size in _SIZES:
        if word in name:
            return f"{version}_hiera_{size}"
    match = re.search(r"hiera[_-]?(t|s|b\+|l)(?![a-z])", name)
    if match:
        return f"{version}_hiera_{match.group(1)}"
    raise PerceptionError(
        f"cannot tell the SAM2 model size from the file name {Path(file_name).name!r}; choose the config "
        f"explicitly (one of {', '.join(SAM2_CONFIGS)})"
    )


@dataclass
class SAM2Model:
    """A loaded SAM2 video predictor (also usable for single images).

    Attributes:
        model: the ``sam2.sam2_video_predictor.SAM2VideoPredictor`` module (eval mode).
        config: the config key used; path: the checkpoint file; image_size: model input size (px).
    """

    model: Any
    config: str
    path: Path
    image_size: int


def load_sam2(
    path: str | Path, config: str = "auto", device: str = "cpu", image_size: int | None = None
) -> SAM2Model:
    """Build SAM2 from its packaged hydra config and load the weights in ``path``.

    Args:
        path: ``.pt``/``.pth`` (``{"model": state_dict}``) or ``.safetensors`` (state dict).
        config: a key of :data:`SAM2_CONFIGS` or ``"auto"`` (inferred from the file name).
        device: torch device string.
        image_size: override the model input size in pixels (multiple of 32; default: the
            config's 1024). Smaller is faster and less accurate.

    Raises:
        MissingDependencyError: sam2 is not installed.
        PerceptionError: unknown config, or weights that do not fit the config.
    """
    require("sam2")
    build_sam = require("sam2.build_sam")

    path = Path(path)
    key = infer_sam2_config(path.name) if config == "auto" else config
    if key not in SAM2_CONFIGS:
        raise PerceptionError(
            f"unknown SAM2 config {config!r}; expected 'auto' or one of {', '.join(SAM2_CONFIGS)}"
        )
    overrides: list[str] = []
    if image_size:
        if image_size % 32:
            raise PerceptionError(f"SAM2 image_size must be a multiple of 32, got {image_size}")
        overrides.append(f"++model.image_size={int(image_size)}")
    safetensors = path.suffix.lower() == ".safetensors"
    try:
        model = build_sam.build_sam2_video_predictor(
            SAM2_CONFIGS[key],
            ckpt_path=None if safetensors else str(path),
            device=device,
            hydra_overrides_extra=overrides,
        )
        if safetensors:
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
            model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as error:
        raise PerceptionError(
            f"SAM2 weights {path.name!r} do not fit config {key!r} ({type(error).__name__}: {error}). "
            "Choose the config that matches the checkpoint."
        ) from error
    model.eval()
    return SAM2Model(model=model, config=key, path=path, image_size=int(model.image_size))


def _image_predictor(sam: SAM2Model) -> Any:
    predictor_mod = require("sam2.sam2_image_predictor")
    predictor = predictor_mod.SAM2ImagePredictor(sam.model)
    _fix_feat_sizes(predictor, sam.image_size)
    return predictor


def _fix_feat_sizes(predictor: Any, image_size: int) -> None:
    # SAM2ImagePredictor hard-codes the backbone feature sizes of a 1024 px model.
    predictor._bb_feat_sizes = [(image_size // 4,) * 2, (image_size // 8,) * 2, (image_size // 16,) * 2]


def sam2_segment(
    sam: SAM2Model,
    image: Any,
    prompts: list[Prompt] | None = None,
    points_per_side: int = 16,
    pred_iou_thresh: float = 0.7,
    stability_score_thresh: float = 0.85,
    min_area: int = 12,
    max_area_fraction: float = 0.3,
    max_objects: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Segment one RGB frame with SAM2.

    Args:
        sam: from :func:`load_sam2`.
        image: ``[H, W, 3]`` uint8 or float 0..1.
        prompts: one :class:`~.segment.Prompt` per object (pixel coordinates); ``None`` or empty =
            automatic masks from a ``points_per_side`` x ``points_per_side`` point grid.
        pred_iou_thresh, stability_score_thresh: automatic-mask quality filters (SAM2's own).
        min_area: masks with fewer pixels are dropped; max_area_fraction: automatic masks larger
            than this fraction of the image (floor, wall, sky) are dropped.
        max_objects: keep at most this many automatic masks (largest first).

    Returns:
        ``(masks bool [K, H, W], scores float [K])``; prompted masks keep the prompt order.
    """
    import torch

    frame = as_frames(image)[0]
    H, W = frame.shape[:2]
    with torch.inference_mode():
        if prompts:
            predictor = _image_predictor(sam)
            predictor.set_image(frame)
            masks, scores = [], []
            for prompt in prompts:
                coords = [*prompt.points, *prompt.negative]
                labels = [1] * len(prompt.points) + [0] * len(prompt.negative)
                out_masks, out_scores, _ = predictor.predict(
                    point_coords=np.asarray(coords, np.float32) if coords else None,
                    point_labels=np.asarray(labels, np.int32) if coords else None,
                    box=None if prompt.box is None else np.asarray(prompt.box, np.float32),
                    multimask_output=len(prompt.points) == 1 and prompt.box is None,
                )
                best = int(np.argmax(out_scores))
                masks.append(out_masks[best] > 0.5)
                scores.append(float(out_scores[best]))
            return np.stack(masks).astype(bool).reshape(-1, H, W), np.asarray(scores, dtype=np.float64)
        amg = require("sam2.automatic_mask_generator")
        generator = amg.SAM2AutomaticMaskGenerator(
            sam.model,
            points_per_side=points_per_side,
            pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh,
            min_mask_region_area=0,
        )
        _fix_feat_sizes(generator.predictor, sam.image_size)
        records = generator.generate(frame)
    records = [r for r in records if min_area <= int(r["area"]) <= max_area_fraction * H * W]
    records.sort(key=lambda r: -int(r["area"]))
    records = records[:max_objects]
    if not records:
        return np.zeros((0, H, W), dtype=bool), np.zeros(0)
    masks = np.stack([np.asarray(r["segmentation"], dtype=bool) for r in records])
    return masks, np.asarray([float(r["predicted_iou"]) for r in records])


def sam2_propagate(sam: SAM2Model, frames: Any, masks: Any, callback: Callback = None) -> np.ndarray:
    """Propagate frame-0 object masks through the clip with SAM2's video predictor.

    Args:
        sam: from :func:`load_sam2`.
        frames: ``[T, H, W, 3]`` uint8 or float 0..1 (written as JPEG frames to a temp folder,
            the input SAM2's video predictor reads).
        masks: ``[K, H, W]`` frame-0 masks, one per object.
        callback: ``callback(done, total)`` per frame.

    Returns:
        ``bool [T, K, H, W]`` masks (frame 0 is SAM2's own refinement of the given masks).
    """
    cv2 = require("cv2")
    import torch

    frames = as_frames(frames)
    T, H, W = frames.shape[:3]
    obj_masks = as_masks(masks, H, W)
    K = len(obj_masks)
    out = np.zeros((T, K, H, W), dtype=bool)
    if K == 0:
        return out
    with tempfile.TemporaryDirectory(prefix="kinesonic_sam2_") as folder:
        for t in range(T):
            cv2.imwrite(
                str(Path(folder) / f"{t:05d}.jpg"), frames[t][..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95]
            )
        with torch.inference_mode():
            state = sam.model.init_state(folder, offload_video_to_cpu=True, offload_state_to_cpu=True)
            for k in range(K):
                sam.model.add_new_mask(state, frame_idx=0, obj_id=k, mask=obj_masks[k])
            done = 0
            for frame_idx, obj_ids, logits in sam.model.propagate_in_video(state):
                pred = (logits[:, 0] > 0.0).cpu().numpy()
                for i, obj in enumerate(obj_ids):
                    out[frame_idx, int(obj)] = pred[i]
                done += 1
                report(callback, done, T)
    return out
