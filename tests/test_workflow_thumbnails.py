"""Every template in workflows/ has the thumbnail the template browser asks for (<name>.jpg)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

WORKFLOWS = sorted((Path(__file__).resolve().parents[1] / "workflows").glob("*.json"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.stem for p in WORKFLOWS])
def test_template_has_a_jpeg_thumbnail(path):
    thumb = path.with_suffix(".jpg")
    assert thumb.is_file(), f"{thumb.name} is missing: run python scripts/make_template_thumbnails.py"
    with Image.open(thumb) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
