"""Shared pytest set-up: isolated model/input/output folders, test-support modules on the path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent / "support"
sys.path.insert(0, str(SUPPORT))

# Quiet progress bars in test logs.
os.environ.setdefault("KINESONIC_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees empty local model/input/output folders (never the developer's own)."""
    root = tmp_path_factory.mktemp("kinesonic_dirs")
    for name in ("MODELS", "INPUT", "OUTPUT"):
        folder = root / name.lower()
        folder.mkdir()
        monkeypatch.setenv(f"KINESONIC_{name}", str(folder))
