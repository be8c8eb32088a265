"""Tiny randomly initialised SAM2 / CoTracker3 checkpoints for perception tests (test-only helper).

- SAM2 comes from the pip-installed ``sam2==1.1.0`` (scripts/install_perception_test_deps.sh);
  torchvision imports through ``torchvision_compat``.
- CoTracker comes from ``.work/testdeps/cotracker`` (unpacked from a wheel by the same script,
  never installed, never vendored); this module puts that folder on ``sys.path``.

Both helpers skip the calling test when the package is not there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TESTDEPS = REPO / ".work" / "testdeps"
SAM2_TEST_SIZE = 256  # px, model input size for fast CPU tests


def require_sam2() -> None:
    """Import sam2 (with the torchvision shim) or skip the test."""
    import torchvision_compat  # noqa: F401  (defines torchvision::nms before torchvision loads)

    try:
        import sam2  # noqa: F401
        import torchvision.extension
    except ImportError as error:  # pragma: no cover - depends on the machine
        pytest.skip(f"sam2 not installed ({error}); run scripts/install_perception_test_deps.sh")
    # The shim registers a pure-torch torchvision::nms, but torchvision.ops.nms also asks
    # torchvision.extension._has_ops(), which is False without the compiled library.
    torchvision.extension._has_ops = lambda: True


def require_cotracker() -> None:
    """Put .work/testdeps on sys.path and import cotracker, or skip the test."""
    if TESTDEPS.is_dir() and str(TESTDEPS) not in sys.path:
        sys.path.insert(0, str(TESTDEPS))
    try:
        import cotracker.predictor  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the machine
        pytest.skip(f"cotracker not available ({error}); run scripts/install_perception_test_deps.sh")


def save_tiny_sam2(folder: Path, name: str = "sam2.1_hiera_tiny.pt", seed: int = 0) -> tuple[Path, dict]:
    """Build SAM2.1 hiera-t (image size 256) with random weights and save ``{"model": state_dict}``.

    Returns ``(path, state_dict)``.
    """
    import torch

    require_sam2()
    from sam2.build_sam import build_sam2

    torch.manual_seed(seed)
    model = build_sam2(
        "configs/sam2.1/sam2.1_hiera_t.yaml",
        None,
        device="cpu",
        hydra_overrides_extra=[f"++model.image_size={SAM2_TEST_SIZE}"],
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"model": state}, path)
    return path, state


def save_random_cotracker(
    folder: Path, name: str = "scaled_offline.pth", seed: int = 0
) -> tuple[Path, object]:
    """Build CoTracker3 offline with random weights and save its plain state dict (like the release).

    Returns ``(path, predictor)`` (the in-memory predictor, for comparing outputs).
    """
    import torch

    require_cotracker()
    from cotracker.predictor import CoTrackerPredictor

    torch.manual_seed(seed)
    predictor = CoTrackerPredictor(checkpoint=None, offline=True, window_len=60).eval()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    torch.save(predictor.model.state_dict(), path)
    return path, predictor
