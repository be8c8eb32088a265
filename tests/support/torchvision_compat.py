"""Test-environment shim: lets PyPI's CUDA torchvision 0.28 import next to torch 2.13+cpu.

PyPI's torchvision for torch 2.13 is a CUDA build whose compiled ops do not load with the CPU
torch, so ``import torchvision`` fails with "operator torchvision::nms does not exist". Real
users install a matching torchvision; our tests (SAM2, ComfyUI) only need torchvision to import,
so we define the two operators its Python code registers fake kernels for at import time:
``nms`` (a plain-torch CPU implementation) and ``qnms`` (quantized; raises if called).
Import this module before anything imports torchvision; it is a no-op when
torchvision already imports cleanly or the operator already exists.
"""

from __future__ import annotations

import torch


def _nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression; boxes [N,4] (x1, y1, x2, y2), returns kept indices."""
    order = scores.argsort(descending=True)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        x1 = torch.maximum(boxes[i, 0], boxes[:, 0])
        y1 = torch.maximum(boxes[i, 1], boxes[:, 1])
        x2 = torch.minimum(boxes[i, 2], boxes[:, 2])
        y2 = torch.minimum(boxes[i, 3], boxes[:, 3])
        inter = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
        iou = inter / (areas[i] + areas - inter).clamp(min=1e-12)
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def _qnms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    raise NotImplementedError("quantized nms is not available in the test torchvision shim")


def install() -> None:
    """Define ``torchvision::nms`` and ``torchvision::qnms`` if they are missing (idempotent)."""
    try:
        torch.ops.torchvision.nms  # noqa: B018
        return
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("nms", _nms, "CPU")
    lib.impl("nms", _nms, "CompositeExplicitAutograd")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("qnms", _qnms, "CPU")
    install.library = lib  # keep the registration alive


install()
