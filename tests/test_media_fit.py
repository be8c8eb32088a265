"""media.image.fit_image: crop / stretch / pad to a target size, known answers."""

from __future__ import annotations

import numpy as np
import pytest

from kinesonic.media.image import fit_image


def test_same_size_is_unchanged():
    img = np.random.default_rng(0).random((8, 6, 3)).astype(np.float32)
    assert np.array_equal(fit_image(img, 6, 8, "crop"), img)


def test_stretch_by_two_averages_blocks():
    small = np.random.default_rng(1).random((4, 4, 3)).astype(np.float32)
    big = small.repeat(2, 0).repeat(2, 1)
    np.testing.assert_allclose(fit_image(big, 4, 4, "stretch"), small, atol=1e-6)


def test_crop_cuts_the_centre_of_a_wide_image():
    # 4 x 12 image: three 4x4 squares valued 0, 1, 2; crop to 4x4 keeps the middle one.
    img = np.zeros((4, 12, 1), np.float32)
    img[:, 4:8] = 1.0
    img[:, 8:] = 2.0
    out = fit_image(img, 4, 4, "crop")
    assert out.shape == (4, 4, 1) and np.all(out == 1.0)


def test_pad_keeps_everything_with_black_bars():
    img = np.ones((2, 8, 3), np.float32)  # 4:1 into a square of 8: 2 rows of image, 3 black above and below
    out = fit_image(img, 8, 8, "pad")
    assert np.all(out[3:5] == 1.0) and np.all(out[:3] == 0) and np.all(out[5:] == 0)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        fit_image(np.zeros((2, 2, 3)), 4, 4, "zoom")
