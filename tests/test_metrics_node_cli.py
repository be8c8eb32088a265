"""The evaluation layer end to end: evaluate_clip, the KinesonicEvaluate node and `kinesonic eval`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from kinesonic.metrics.evaluate import dataset_apcc_delta, evaluate_clip, format_csv, format_markdown
from kinesonic.metrics.synthetic import SR, bouncing_ball, shifted


def test_evaluate_clip_ground_truth_vs_shifted() -> None:
    clip = bouncing_ball(h0=1.0, e=0.85, seed=1)
    kw = dict(
        frames=clip["frames"],
        reference_audio=clip["audio"],
        reference_sample_rate=SR,
        physics=clip["physics"],
        visual_events=clip["times"],
    )
    good = evaluate_clip(clip["tracks"], clip["audio"], SR, **kw).values
    bad = evaluate_clip(clip["tracks"], shifted(clip["audio"], 0.3), SR, **kw).values
    assert good["ete_s"] <= 0.03
    assert bad["ete_s"] >= 0.1
    # generated == reference: every onset matched, ranked first, same count, same APCC
    assert (good["onset_acc"], good["onset_ap"], good["onset_count_ok"]) == (1.0, 1.0, 1.0)
    assert good["apcc_abs_diff"] == pytest.approx(0.0)
    assert bad["onset_acc"] < 0.5
    # the flow peaks at the bounces coincide with the clicks, not with the shifted clicks
    assert good["av_align"] > bad["av_align"]
    assert good["n_visual_events"] == len(clip["times"])
    # no measured tracks -> TE is not computable
    assert math.isnan(good["te_px"])


def test_evaluate_clip_te_and_tables() -> None:
    clip = bouncing_ball(seed=0)
    tracks = clip["tracks"]
    measured = tracks.replace(points=tracks.points + np.array([3.0, 4.0]))  # 5 px everywhere
    rep = evaluate_clip(tracks, clip["audio"], SR, measured_tracks=measured, visual_events=clip["times"])
    assert rep.values["te_px"] == pytest.approx(5.0)
    assert rep.values["te_frac"] == pytest.approx(5.0 / np.hypot(128, 128))
    md = format_markdown(["a", "b"], [rep.values, {**rep.values, "te_px": 7.0}])
    lines = md.strip().splitlines()
    assert lines[0].startswith("| clip | ETE (s)")
    assert lines[-1].startswith("| **mean** |") and "6.00" in lines[-1]  # mean of 5 and 7 px
    assert "AV-Align" not in lines[0]  # no frames -> column dropped
    csv_lines = format_csv(["a", "b"], [rep.values, {**rep.values, "te_px": 7.0}]).splitlines()
    assert csv_lines[0].split(",")[:3] == ["clip", "ete_s", "maic"]
    assert csv_lines[-1].startswith("mean,")


def test_dataset_apcc_delta_groups_by_kind() -> None:
    clip = bouncing_ball(h0=1.5, e=0.85, seed=2, duration=3.0)
    rep = evaluate_clip(
        clip["tracks"],
        clip["audio"],
        SR,
        reference_audio=clip["audio"],
        physics=clip["physics"],
        visual_events=clip["times"],
    )
    delta, per_class = dataset_apcc_delta([rep, rep])
    assert list(per_class) == ["drop"]
    assert per_class["drop"][2] == 2 * len(clip["times"])
    assert delta == pytest.approx(0.0)


def _comfy_inputs(clip: dict) -> dict:
    return dict(
        tracks=clip["tracks"].to_comfy(as_torch=True),
        images=torch.from_numpy(clip["frames"].astype(np.float32) / 255.0),
        audio={"waveform": torch.from_numpy(clip["audio"])[None, None], "sample_rate": SR},
    )


def test_node_returns_table_and_timeline() -> None:
    from kinesonic.nodes.evaluate import NODE_CLASS_MAPPINGS, KinesonicEvaluate

    assert NODE_CLASS_MAPPINGS["KinesonicEvaluate"] is KinesonicEvaluate
    assert KinesonicEvaluate.CATEGORY == "Kinesonic/Evaluate"
    clip = bouncing_ball(h0=0.6, e=0.9, seed=3)
    inputs = _comfy_inputs(clip)
    out = KinesonicEvaluate().run(
        **inputs,
        tau=0.2,
        match_window=0.1,
        reference_audio=inputs["audio"],
        physics=clip["physics"],
    )
    table, image = out["result"]
    assert out["ui"]["text"] == [table]
    assert "| ETE (s)" in table and "Onset AP" in table and "AV-Align" in table
    assert image.shape[0] == 1 and image.shape[-1] == 3 and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert float(image.std()) > 0.05  # a picture, not a blank canvas


def test_node_rejects_bad_input() -> None:
    from kinesonic.nodes.base import NodeInputError
    from kinesonic.nodes.evaluate import KinesonicEvaluate

    inputs = _comfy_inputs(bouncing_ball(seed=0))
    with pytest.raises(NodeInputError, match="audio"):
        KinesonicEvaluate().run(**{**inputs, "audio": {"waveform": torch.zeros(1, 1, 10)}})
    with pytest.raises(NodeInputError, match="images"):
        KinesonicEvaluate().run(**{**inputs, "images": torch.zeros(4, 8, 8)})
    with pytest.raises(NodeInputError, match="tracks"):
        KinesonicEvaluate().run(**{**inputs, "tracks": {"nothing": 1}})


def test_cli_eval_folder(tmp_path, capsys) -> None:
    from kinesonic.media.video import write_video
    from kinesonic.runner.cli import main

    for name, scene in [("a", dict(h0=1.2, e=0.8, seed=0)), ("b", dict(h0=0.6, e=0.9, seed=3))]:
        clip = bouncing_ball(**scene)
        write_video(tmp_path / f"{name}.mp4", clip["frames"], 24.0, clip["audio"][None], SR)
        (tmp_path / f"{name}.tracks.json").write_text(clip["tracks"].to_json())
        (tmp_path / f"{name}.physics.json").write_text(json.dumps(clip["physics"]))
        import soundfile

        soundfile.write(tmp_path / f"{name}.ref.wav", clip["audio"], SR)
    (tmp_path / "orphan.mp4").write_bytes((tmp_path / "a.mp4").read_bytes())  # no tracks: skipped
    csv_path = tmp_path / "out" / "metrics.csv"
    assert main(["eval", str(tmp_path), "--csv", str(csv_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("| clip |")
    assert [ln.split("|")[1].strip() for ln in lines[2:5]] == ["a", "b", "**mean**"]
    assert "APCC-Δ over the set" in captured.out
    assert "skipped orphan" in captured.err
    rows = csv_path.read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["clip", "a", "b", "mean"]
    header = rows[0].split(",")
    ete = [float(r.split(",")[header.index("ete_s")]) for r in rows[1:3]]
    # AAC round trip keeps the clicks on time (detect_events on the decoded tracks)
    assert max(ete) <= 0.05
    assert main(["eval", str(tmp_path / "missing")]) == 1


def test_tracks_wrappers_agree_with_core_functions() -> None:
    from kinesonic.kinematics import detect_events, motion_strength
    from kinesonic.metrics import (
        detect_onsets,
        ete_from_tracks,
        event_timing_error,
        maic_from_tracks,
        motion_audio_intensity_correlation,
        trajectory_error_tracks,
    )

    clip = bouncing_ball(h0=1.0, e=0.85, seed=1)
    tracks, audio = clip["tracks"], clip["audio"]
    assert ete_from_tracks(tracks, audio, SR) == event_timing_error(
        detect_events(tracks), detect_onsets(audio, SR)
    )
    assert ete_from_tracks(tracks, audio, SR) <= 0.03
    # audio exactly the clip span: the wrapper is the core MAIC; longer audio is cut to the span
    assert maic_from_tracks(tracks, audio, SR) == pytest.approx(
        motion_audio_intensity_correlation(motion_strength(tracks), audio)
    )
    padded = np.concatenate([audio, np.ones(SR, np.float32)])
    assert maic_from_tracks(tracks, padded, SR) == pytest.approx(maic_from_tracks(tracks, audio, SR))
    moved = tracks.replace(points=tracks.points + np.array([0.0, 2.0]))
    assert trajectory_error_tracks(tracks, moved)[0] == pytest.approx(2.0)
