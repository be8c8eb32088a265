"""Clip-level evaluation: every motion-sound metric of one clip, tables, and a timeline picture.

Inputs are plain arrays and :class:`kinematics.Tracks` (no ComfyUI); the evaluation node and
``kinesonic eval`` are thin shells around :func:`evaluate_clip`, :func:`format_markdown`,
:func:`format_csv` and :func:`timeline_image`.

Alignment conventions:

- Visual events and motion strength come from the conditioning tracks
  (``kinematics.detect_events`` / ``kinematics.motion_strength``), unless given explicitly.
- The audio is taken to start with frame 0. For MAIC it is mixed to mono, resampled to 16 kHz,
  cut to the clip span ``round(T / fps * 16000)`` samples when longer (encoders pad audio), then
  split into T segments; audio more than half a frame shorter than the clip is a ValueError.
- PHYSICS (optional): a dict with ``"events"`` (or ``"impacts"``): a list of dicts with
  ``time_s`` and either ``delta_ke_J`` or ``mass_kg`` + ``v_pre`` + ``v_post`` (see
  :func:`metrics.apcc.impact_delta_ke`); and optionally ``"kind"`` (the class for APCC-Δ).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..kinematics import Tracks, detect_events, motion_strength
from .apcc import DEFAULT_WINDOW_S, apcc, apcc_delta, impact_delta_ke
from .av_align import av_align
from .ete import DEFAULT_TAU, event_timing_error_detail
from .maic import DEFAULT_EPS, maic_detail
from .onset_match import DEFAULT_DELTA_S, match_onsets
from .onsets import (
    DEFAULT_ONSET_PARAMS,
    OnsetParams,
    detect_onsets_from_envelope,
    onset_envelope,
    strength_at,
    strength_envelope,
    to_mono,
)
from .trajectory import trajectory_error

#: Table columns in order: (key, header, format).
COLUMNS: list[tuple[str, str, str]] = [
    ("ete_s", "ETE (s) ↓", "{:.3f}"),
    ("maic", "MAIC ↑", "{:.3f}"),
    ("av_align", "AV-Align ↑", "{:.3f}"),
    ("te_px", "TE (px) ↓", "{:.2f}"),
    ("te_frac", "TE (diag) ↓", "{:.4f}"),
    ("onset_acc", "Onset acc ↑", "{:.3f}"),
    ("onset_ap", "Onset AP ↑", "{:.3f}"),
    ("onset_count_ok", "Onset # ok ↑", "{:.2f}"),
    ("apcc_gen", "APCC gen", "{:.3f}"),
    ("apcc_ref", "APCC ref", "{:.3f}"),
    ("apcc_abs_diff", "APCC abs. diff ↓", "{:.3f}"),
    ("n_visual_events", "# visual ev.", "{:.0f}"),
    ("n_audio_onsets", "# audio on.", "{:.0f}"),
]


@dataclass
class ClipReport:
    """Metric values of one clip (``values``; NaN = not computable from the inputs) and the
    series behind them (for the timeline picture and for APCC-Δ over a set of clips)."""

    values: dict[str, float]
    fps: float
    duration_s: float
    visual_events: np.ndarray
    audio_onsets: np.ndarray
    ete_pairs: list[tuple[int, int]]
    motion: np.ndarray
    log_energy: np.ndarray
    flow: np.ndarray | None = None
    impacts: list[dict[str, float]] = field(default_factory=list)
    kind: str | None = None


def _physics_events(physics: Mapping | None) -> tuple[list[Mapping], str | None]:
    if physics is None:
        return [], None
    if not isinstance(physics, Mapping):
        raise ValueError(f"PHYSICS must be a dict, got {type(physics).__name__}")
    events = physics.get("events", physics.get("impacts", []))
    if events is None:
        events = []
    if not isinstance(events, Sequence):
        raise ValueError(f"PHYSICS 'events' must be a list of dicts, got {type(events).__name__}")
    kind = physics.get("kind", physics.get("class"))
    return list(events), (None if kind is None else str(kind))


def evaluate_clip(
    tracks: Tracks,
    audio: np.ndarray,
    sample_rate: int,
    *,
    frames: np.ndarray | None = None,
    video_fps: float | None = None,
    reference_audio: np.ndarray | None = None,
    reference_sample_rate: int | None = None,
    physics: Mapping | None = None,
    measured_tracks: Tracks | None = None,
    tau: float = DEFAULT_TAU,
    match_window_s: float = DEFAULT_DELTA_S,
    impact_window_s: float = DEFAULT_WINDOW_S,
    onset_params: OnsetParams = DEFAULT_ONSET_PARAMS,
    eps: float = DEFAULT_EPS,
    visual_events: Sequence[float] | np.ndarray | None = None,
    motion: np.ndarray | None = None,
) -> ClipReport:
    """Every metric computable from the given inputs for one clip.

    Args:
        tracks: conditioning tracks (visual events, motion strength, TE reference).
        audio: generated audio ``[S]``, ``[C,S]`` or ``[B,C,S]`` (first item, channels averaged).
        sample_rate: its rate in Hz.
        frames: generated video ``[T,H,W,3]`` (uint8 or float 0..1) for AV-Align.
        video_fps: frame rate of ``frames`` (default: the tracks' fps).
        reference_audio, reference_sample_rate: reference audio for onset acc / AP and APCC ref.
        physics: PHYSICS dict (impacts) for APCC.
        measured_tracks: tracks measured on the generated video, for TE.
        tau: ETE tolerance (s). match_window_s: onset matching window (s).
        impact_window_s: window (s) of onset strength around an impact.
        visual_events / motion: override ``detect_events(tracks)`` / ``motion_strength(tracks)``.

    Returns a :class:`ClipReport`; values that the inputs cannot give are NaN.
    """
    nan = float("nan")
    values: dict[str, float] = {key: nan for key, _, _ in COLUMNS}
    fps = float(tracks.fps)
    n_frames = int(tracks.num_frames)
    duration = n_frames / fps

    # --- generated audio: onsets and envelope (shared by ETE, AV-Align, onset AP, APCC)
    mono = to_mono(audio)
    env, env_t = onset_envelope(mono, sample_rate, onset_params)
    onsets = detect_onsets_from_envelope(env, onset_params)
    senv, senv_t = strength_envelope(mono, sample_rate, onset_params)

    # --- ETE
    if visual_events is None:
        visual_events = detect_events(tracks)
    v_events = np.sort(np.asarray(list(visual_events), dtype=np.float64))
    ete = event_timing_error_detail(v_events, onsets, tau)
    values["ete_s"] = ete.ete
    values["n_visual_events"] = float(v_events.size)
    values["n_audio_onsets"] = float(onsets.size)

    # --- MAIC
    if motion is None:
        motion = motion_strength(tracks)
    motion = np.asarray(motion, dtype=np.float64).reshape(-1)
    log_e = np.zeros(0)
    if motion.size >= 2:  # 16 kHz, cut to the clip; audio shorter than the clip is an error
        values["maic"], log_e = maic_detail(motion, mono, eps, sample_rate=sample_rate, fps=fps)

    # --- AV-Align
    flow = None
    if frames is not None:
        frames_arr = np.asarray(frames)
        if frames_arr.shape[0] >= 2:
            values["av_align"], flow, _ = av_align(frames_arr, float(video_fps or fps), onsets)

    # --- TE
    if measured_tracks is not None:
        values["te_px"], values["te_frac"] = trajectory_error(
            tracks.points,
            measured_tracks.points,
            tracks.width,
            tracks.height,
            tracks.visible,
            measured_tracks.visible,
        )

    # --- onset accuracy / AP against the reference
    ref_env = ref_t = None
    if reference_audio is not None:
        ref_sr = int(reference_sample_rate or sample_rate)
        ref_mono = to_mono(reference_audio)
        ref_onsets = detect_onsets_from_envelope(
            onset_envelope(ref_mono, ref_sr, onset_params)[0], onset_params
        )
        ref_env, ref_t = strength_envelope(ref_mono, ref_sr, onset_params)
        scores = strength_at(senv, senv_t, onsets, impact_window_s)
        m = match_onsets(ref_onsets, onsets, scores, match_window_s)
        values["onset_acc"], values["onset_ap"] = m.accuracy, m.ap
        values["onset_count_ok"] = float(m.count_ok)

    # --- APCC (within this clip's impacts)
    events, kind = _physics_events(physics)
    impacts: list[dict[str, float]] = []
    for ev in events:
        t = float(ev["time_s"]) if "time_s" in ev else float(ev["time"])
        rec = {"time_s": t, "delta_ke_J": impact_delta_ke(ev)}
        rec["strength_gen"] = float(strength_at(senv, senv_t, [t], impact_window_s)[0])
        if ref_env is not None:
            rec["strength_ref"] = float(strength_at(ref_env, ref_t, [t], impact_window_s)[0])
        impacts.append(rec)
    if len(impacts) >= 2:
        ke = [r["delta_ke_J"] for r in impacts]
        values["apcc_gen"] = apcc(ke, [r["strength_gen"] for r in impacts])
        if ref_env is not None:
            values["apcc_ref"] = apcc(ke, [r["strength_ref"] for r in impacts])
            values["apcc_abs_diff"] = abs(values["apcc_gen"] - values["apcc_ref"])

    return ClipReport(
        values=values,
        fps=fps,
        duration_s=duration,
        visual_events=v_events,
        audio_onsets=onsets,
        ete_pairs=ete.pairs,
        motion=motion,
        log_energy=log_e,
        flow=flow,
        impacts=impacts,
        kind=kind,
    )


def ete_from_tracks(
    tracks: Tracks,
    audio: np.ndarray,
    sample_rate: int,
    tau: float = DEFAULT_TAU,
    onset_params: OnsetParams = DEFAULT_ONSET_PARAMS,
) -> float:
    """ETE (s) between ``detect_events(tracks)`` and the onsets of ``audio`` (see :mod:`.ete`)."""
    from .ete import event_timing_error
    from .onsets import detect_onsets

    return event_timing_error(detect_events(tracks), detect_onsets(audio, sample_rate, onset_params), tau)


def maic_from_tracks(tracks: Tracks, audio: np.ndarray, sample_rate: int, eps: float = DEFAULT_EPS) -> float:
    """MAIC between ``motion_strength(tracks)`` and ``audio`` (16 kHz mono, cut to the clip span)."""
    motion = np.asarray(motion_strength(tracks), dtype=np.float64)
    return maic_detail(motion, audio, eps, sample_rate=sample_rate, fps=tracks.fps)[0]


def trajectory_error_tracks(conditioning: Tracks, measured: Tracks) -> tuple[float, float]:
    """TE ``(pixels, fraction of the diagonal)`` between two Tracks over points visible in both."""
    return trajectory_error(
        conditioning.points,
        measured.points,
        conditioning.width,
        conditioning.height,
        conditioning.visible,
        measured.visible,
    )


def dataset_apcc_delta(reports: Sequence[ClipReport]) -> tuple[float, dict[str, tuple[float, float, int]]]:
    """APCC-Δ over clips grouped by class (``physics["kind"]``, else ``"all"``).

    Uses the impacts of reports that have reference strengths. Returns ``(delta, {class: (r_ref,
    r_gen, n_impacts)})``; delta is NaN without any class of two or more impacts.
    """
    classes, ke, s_ref, s_gen = [], [], [], []
    for rep in reports:
        for imp in rep.impacts:
            if "strength_ref" not in imp:
                continue
            classes.append(rep.kind or "all")
            ke.append(imp["delta_ke_J"])
            s_ref.append(imp["strength_ref"])
            s_gen.append(imp["strength_gen"])
    res = apcc_delta(classes, ke, s_ref, s_gen)
    per = {c: (res.r_ref[c], res.r_gen[c], res.counts[c]) for c in res.r_ref}
    return res.delta, per


def _fmt(value: float, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt.format(value)


def mean_row(reports: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Column means over clips, ignoring NaN (a column with no value stays NaN)."""
    out = {}
    for key, _, _ in COLUMNS:
        vals = [r.get(key, float("nan")) for r in reports]
        vals = [v for v in vals if v is not None and not math.isnan(v)]
        out[key] = float(np.mean(vals)) if vals else float("nan")
    return out


def _used_columns(rows: Sequence[Mapping[str, float]]) -> list[tuple[str, str, str]]:
    cols = [c for c in COLUMNS if any(not math.isnan(r.get(c[0], float("nan"))) for r in rows)]
    return cols or COLUMNS[:1]


def format_markdown(
    names: Sequence[str],
    rows: Sequence[Mapping[str, float]],
    with_mean: bool = True,
    all_columns: bool = False,
) -> str:
    """A markdown table: one row per clip (+ a ``mean`` row); columns with no value are dropped."""
    rows = list(rows)
    names = list(names)
    if with_mean and len(rows) > 1:
        rows = rows + [mean_row(rows)]
        names = names + ["**mean**"]
    cols = COLUMNS if all_columns else _used_columns(rows)
    lines = ["| clip | " + " | ".join(h for _, h, _ in cols) + " |"]
    lines.append("|---|" + "|".join("---:" for _ in cols) + "|")
    for name, row in zip(names, rows, strict=True):
        cells = [_fmt(row.get(k, float("nan")), f) for k, _, f in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_csv(names: Sequence[str], rows: Sequence[Mapping[str, float]], with_mean: bool = True) -> str:
    """CSV with every column (keys as headers, empty cells for NaN) and a ``mean`` row."""
    rows = list(rows)
    names = list(names)
    if with_mean and len(rows) > 1:
        rows = rows + [mean_row(rows)]
        names = names + ["mean"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip"] + [k for k, _, _ in COLUMNS])
    for name, row in zip(names, rows, strict=True):
        cells = []
        for k, _, _ in COLUMNS:
            v = row.get(k, float("nan"))
            cells.append("" if v is None or math.isnan(v) else f"{v:.6g}")
        writer.writerow([name] + cells)
    return buf.getvalue()


def _zscore(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return x
    sd = float(np.nanstd(x))
    return (x - float(np.nanmean(x))) / sd if sd > 0 else x - float(np.nanmean(x))


def timeline_image(
    report: ClipReport, width_px: int = 960, height_px: int = 480, dpi: int = 96
) -> np.ndarray:
    """A ``[H, W, 3]`` uint8 picture: visual events vs audio onsets (ETE pairs joined), and
    z-scored motion strength vs per-frame audio log energy (MAIC), over time in seconds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.vlines(report.visual_events, 0.55, 1.0, color="tab:blue", label="visual events")
    ax1.vlines(report.audio_onsets, 0.0, 0.45, color="tab:orange", label="audio onsets")
    for i, j in report.ete_pairs:
        ax1.plot([report.visual_events[i], report.audio_onsets[j]], [0.55, 0.45], color="0.4", lw=0.8)
    ax1.set_ylim(-0.05, 1.05)
    ax1.set_yticks([])
    ete = report.values.get("ete_s", float("nan"))
    ax1.set_title(f"events — ETE {_fmt(ete, '{:.3f}')} s", fontsize=9)
    ax1.legend(loc="upper right", fontsize=7)
    t = np.arange(report.motion.size) / report.fps
    ax2.plot(t, _zscore(report.motion), color="tab:blue", label="motion strength (z)")
    if report.log_energy.size == report.motion.size:
        ax2.plot(t, _zscore(report.log_energy), color="tab:orange", label="audio log energy (z)")
    maic = report.values.get("maic", float("nan"))
    ax2.set_title(f"intensity — MAIC {_fmt(maic, '{:.3f}')}", fontsize=9)
    ax2.set_xlabel("time (s)")
    ax2.set_xlim(0, max(report.duration_s, 1e-3))
    ax2.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])


def report_values(report: ClipReport) -> dict[str, Any]:
    """The metric values of a report (a plain dict, for JSON)."""
    return dict(report.values)
