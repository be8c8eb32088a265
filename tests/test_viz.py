"""viz/: tracks drawn over frames and the kinematics plot, called without nodes."""

from __future__ import annotations

import numpy as np

from kinesonic.viz import draw_tracks, plot_kinematics, track_colours


def test_track_colours_are_distinct_and_start_red() -> None:
    colours = track_colours(5)
    assert colours[0] == (255, 25, 25) and len(set(colours)) == 5


def test_draw_tracks_marks_visible_points_only_in_place() -> None:
    frames = np.zeros((2, 20, 30, 3), np.uint8)
    points = np.array([[[5.0, 5.0], [20.0, 10.0]], [[6.0, 5.0], [20.0, 12.0]]])
    visible = np.array([[True, False], [True, False]])
    out = draw_tracks(frames, points, visible, line_width=1, point_radius=2, trail=0)
    assert out is frames
    assert tuple(frames[0, 5, 5]) == track_colours(1)[0]  # the marker's filled centre
    assert frames[:, 8:, 15:].max() == 0  # the hidden track draws nothing


def test_plot_kinematics_has_the_asked_size() -> None:
    T, N = 10, 2
    state = np.zeros((T, N, 8), np.float32)
    state[:, :, 6] = np.linspace(0, 1, T)[:, None]
    kin = {"state": state, "visible": np.ones((T, N), bool), "fps": 16.0, "events": [0.2]}
    image = plot_kinematics(kin, 320, 240)
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    assert image.min() < 128 < image.max()  # lines on a white page
