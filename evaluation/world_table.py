"""The cells of the world table: per-clip values of every column, row summaries, paired intervals.

Columns (:data:`COLUMNS`; each row is scored from its clip files by
:func:`kinesonic.metrics.cli.evaluate_folder`, then read here):

- ``te``: TE (px), every clip; tracks measured on the row's video vs the conditioning tracks.
- ``ete`` / ``ete5``: ETE (s) at tau 0.2 / 0.5 s, clips with impacts: visual events of the
  conditioning tracks vs the onsets of the row's sound. For a row whose video is generated from the
  given sound (audio-to-video) the visual events come from the tracks MEASURED on the generated
  video instead (the conditioning tracks are the simulator's motion, which the given sound matches
  by construction); MAIC likewise reads the measured tracks' motion there.
- ``maic``: MAIC, slide and roll clips.
- ``onset`` / ``onset_ap``: onset accuracy / AP against the simulator's sound, clips with impacts.
- ``onsets``: onsets detected in the row's sound per clip with impacts (the ground-truth row shows
  the simulator's).
- ``level`` / ``level_signed``: per clip ``dB(row sound) - dB(simulator sound)`` with
  ``dB = 20 log10 RMS`` over the clip span ``round(T / fps * sr)`` samples; the cell is the median
  over clips of its absolute value / of the signed value.
- ``apcc``: APCC-Δ (:func:`kinesonic.metrics.apcc.apcc_delta`) over the simulator's impacts of
  every clip (``delta_ke_J`` of ``<name>.physics.json``), per scene class: ``mean_c |r_row(c) -
  r_sim(c)|`` with ``r(c)`` the Pearson correlation of ``|dKE|`` with the onset strength of the
  sound at the impact (the row's sound vs the simulator's ``.ref.wav``); classes with fewer than two
  impacts are left out. A set value, not a per-clip mean: the count is the impacts used. The
  ground-truth row scores its own sound as written to the mp4 (AAC) against the wav: its floor.

Means over the finite per-clip values (medians for the level columns), counts in brackets. The
paired table gives, per column marked ``paired``, the row's per-clip difference to a reference row
with a 95 % bootstrap interval (the level column: difference of the absolute level errors, median;
APCC-Δ: the difference of the two set values, with the clips resampled together for both rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Column:
    """One table column: ``key``, ``header``, decimal ``digits``, ``stat`` ("mean" | "median" |
    "apcc": the APCC-Δ of the set, from per-clip impact lists), ``paired`` (in the paired table)."""

    key: str
    header: str
    digits: int = 3
    stat: str = "mean"
    paired: bool = True


COLUMNS_SPEC: tuple[Column, ...] = (
    Column("te", "TE (px) ↓", 2),
    Column("ete", "ETE τ0.2 (s, impact clips) ↓"),
    Column("ete5", "ETE τ0.5 (s, impact clips) ↓"),
    Column("maic", "MAIC (slide/roll) ↑"),
    Column("onset", "onset acc ↑"),
    Column("onset_ap", "onset AP ↑"),
    Column("onsets", "onsets / impact clip", 2, paired=False),
    Column("level", "level err (dB, median) ↓", 2, "median"),
    Column("level_signed", "level signed (dB, median)", 2, "median", paired=False),
    Column("apcc", "APCC-Δ (impacts) ↓", 3, "apcc"),
)
COLUMNS = tuple(c.key for c in COLUMNS_SPEC)
TAU_WIDE = 0.5


# ------------------------------------------------------------------------------------------ level
def level_db(audio: np.ndarray, sample_rate: int, num_frames: int, fps: float) -> float:
    """``20 log10 (RMS + 1e-12)`` (dBFS; -240 for silence) of mono ``audio [S]`` (or ``[C, S]``,
    channels averaged) over the clip span: its first ``round(num_frames / fps * sample_rate)`` samples
    (fewer if shorter)."""
    wave = np.asarray(audio, dtype=np.float64)
    if wave.ndim > 1:
        wave = wave.reshape(-1, wave.shape[-1]).mean(axis=0)
    wave = wave[: int(round(num_frames / fps * sample_rate))]
    rms = math.sqrt(float(np.mean(wave**2))) if wave.size else 0.0
    return 20.0 * math.log10(rms + 1e-12)


def level_error_db(
    audio: np.ndarray, reference: np.ndarray, sample_rate: int, num_frames: int, fps: float
) -> float:
    """Signed ``dB(audio) - dB(reference)`` over the clip span (:func:`level_db`; both at
    ``sample_rate`` Hz). Half the amplitude gives -6.02 dB."""
    return level_db(audio, sample_rate, num_frames, fps) - level_db(reference, sample_rate, num_frames, fps)


# ------------------------------------------------------------------------------------------ APCC-Δ
#: One impact of a clip for APCC-Δ: ``(scene class, delta KE (J), onset strength of the simulator's
#: sound, of the row's sound)``.
Impact = tuple[str, float, float, float]


def clip_impacts(rep: Any, kind: str) -> list[Impact]:
    """The impacts of one clip's report (``ClipReport.impacts``) that have a reference strength, as
    :data:`Impact` tuples of class ``rep.kind`` (else ``kind``)."""
    cls = getattr(rep, "kind", None) or kind
    return [
        (str(cls), float(i["delta_ke_J"]), float(i["strength_ref"]), float(i["strength_gen"]))
        for i in getattr(rep, "impacts", [])
        if "strength_ref" in i
    ]


def set_apcc_delta(per_clip_impacts: Mapping[str, list[Impact]], names: Any = None) -> tuple[float, int]:
    """``(APCC-Δ, impacts used)`` over the impacts of the clips ``names`` (default: all; a name may
    repeat, as in a bootstrap resample). NaN and 0 when no class has two impacts."""
    from ..metrics.apcc import apcc_delta

    chosen = [imp for n in (per_clip_impacts if names is None else names) for imp in per_clip_impacts[n]]
    if not chosen:
        return math.nan, 0
    cls, ke, ref, gen = zip(*chosen, strict=True)
    res = apcc_delta(cls, ke, ref, gen)
    return res.delta, int(sum(res.counts[c] for c in res.r_ref))


# ------------------------------------------------------------------------------------------ per clip
def _measured_av(rep: Any, tracks: Any) -> tuple[float, float, float]:
    """``(ETE tau 0.2, ETE tau 0.5, MAIC)`` of a report with the visual side read from ``tracks``
    (events: ``detect_events``; motion: ``motion_strength``) and the audio side from the report."""
    from ..kinematics import detect_events, motion_strength
    from ..metrics.ete import DEFAULT_TAU, event_timing_error
    from ..metrics.maic import pearson

    events = detect_events(tracks)
    ete = event_timing_error(events, rep.audio_onsets, DEFAULT_TAU)
    ete5 = event_timing_error(events, rep.audio_onsets, TAU_WIDE)
    motion = np.asarray(motion_strength(tracks), dtype=np.float64).reshape(-1)
    maic = pearson(motion, rep.log_energy) if rep.log_energy.size == motion.size >= 2 else math.nan
    return ete, ete5, maic


def per_clip(
    names: list[str],
    reports: list[Any],
    clips: Mapping[str, Any],
    levels: Mapping[str, float] | None = None,
    visual_tracks: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per column (:data:`COLUMNS`): ``{clip name: value}`` over the clips the column counts: TE and
    level on every clip, ETE, onsets, onset accuracy / AP on clips with impacts, MAIC on slide and
    roll clips; APCC-Δ: the clip's :data:`Impact` list (:func:`clip_impacts`), clips with impacts.

    ``reports``: ``ClipReport`` per name (conditioning tracks = the clip's). ``levels``: signed level
    error (dB) per clip (:func:`level_error_db`); without it the level columns stay empty.
    ``visual_tracks``: per clip, tracks to read the visual events and motion from for ETE and MAIC
    instead of the conditioning tracks (the audio-to-video row: tracks measured on its video).
    """
    from ..metrics.ete import event_timing_error

    out: dict[str, dict[str, Any]] = {key: {} for key in COLUMNS}
    for name, rep in zip(names, reports, strict=True):
        clip, v = clips[name], rep.values
        out["te"][name] = v.get("te_px", math.nan)
        if levels is not None and name in levels:
            out["level"][name] = abs(levels[name])
            out["level_signed"][name] = levels[name]
        if visual_tracks is not None:
            ete, ete5, maic = _measured_av(rep, visual_tracks[name])
        else:
            ete, maic = v.get("ete_s", math.nan), v.get("maic", math.nan)
            ete5 = event_timing_error(rep.visual_events, rep.audio_onsets, TAU_WIDE)
        if clip.events:
            out["ete"][name], out["ete5"][name] = ete, ete5
            out["onset"][name] = v.get("onset_acc", math.nan)
            out["onset_ap"][name] = v.get("onset_ap", math.nan)
            out["onsets"][name] = float(rep.audio_onsets.size)
        if clip.kind in ("slide", "roll"):
            out["maic"][name] = maic
        impacts = clip_impacts(rep, clip.kind)
        if impacts:
            out["apcc"][name] = impacts
    return out


def _stat(a: np.ndarray, stat: str, axis: int | None = None) -> Any:
    return np.median(a, axis=axis) if stat == "median" else np.mean(a, axis=axis)


def summarize(values: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[float, int]]:
    """Row cells from :func:`per_clip`: ``(mean or median, count)`` over the finite values of each
    column (a column missing from ``values`` counts as empty); APCC-Δ: ``(set value, impacts used)``
    (:func:`set_apcc_delta`)."""
    out = {}
    for col in COLUMNS_SPEC:
        if col.stat == "apcc":
            out[col.key] = set_apcc_delta(values.get(col.key, {}))
            continue
        a = np.asarray(list(values.get(col.key, {}).values()), dtype=np.float64)
        a = a[np.isfinite(a)]
        out[col.key] = (float(_stat(a, col.stat)) if a.size else math.nan, int(a.size))
    return out


def format_table(rows: list[tuple[str, Mapping[str, tuple[float, int]]]]) -> str:
    """Markdown: one line per row, each cell ``value (count)``."""
    head = "| row | " + " | ".join(c.header for c in COLUMNS_SPEC) + " |\n"
    head += "|---|" + "---|" * len(COLUMNS_SPEC) + "\n"
    lines = []
    for label, cells in rows:
        text = [f"{cells[c.key][0]:.{c.digits}f} ({cells[c.key][1]})" for c in COLUMNS_SPEC]
        lines.append(f"| {label} | " + " | ".join(text) + " |")
    return head + "\n".join(lines) + "\n"


def level_by_kind_table(rows: list[tuple[str, Mapping[str, float]]], kinds: Mapping[str, str]) -> str:
    """Markdown: per row and scene type, the median signed level (dB RMS over the clip, generated −
    simulator) over that type's clips, with the clip count.

    Args:
        rows: ``(label, {clip name: signed level dB})`` per table row (:func:`level_error_db`).
        kinds: clip name → scene type; the columns are the types in sorted order.
    """
    types = sorted(set(kinds.values()))
    head = "| row | " + " | ".join(types) + " |\n" + "|---|" + "---|" * len(types) + "\n"
    lines = []
    for label, levels in rows:
        cells = []
        for kind in types:
            vals = np.array([v for name, v in levels.items() if kinds.get(name) == kind], dtype=np.float64)
            vals = vals[np.isfinite(vals)]
            cells.append(f"{np.median(vals):+.1f} ({vals.size})" if vals.size else "n/a (0)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def _paired_apcc(
    a: Mapping[str, list[Impact]], b: Mapping[str, list[Impact]], n_boot: int
) -> tuple[float, float, float, int] | None:
    """APCC-Δ(row) − APCC-Δ(ref) over the clips both have, and its 95 % bootstrap interval: the
    same resampled clips (seed 0) for both rows; resamples where either is undefined are left out."""
    common = [n for n in a if n in b]
    diff = set_apcc_delta(b, common)[0] - set_apcc_delta(a, common)[0]
    if not common or not np.isfinite(diff):
        return None
    picks = np.random.default_rng(0).integers(0, len(common), (n_boot, len(common)))
    boot = np.array(
        [
            set_apcc_delta(b, [common[i] for i in p])[0] - set_apcc_delta(a, [common[i] for i in p])[0]
            for p in picks
        ]
    )
    boot = boot[np.isfinite(boot)]
    lo, hi = np.percentile(boot, [2.5, 97.5]) if boot.size else (math.nan, math.nan)
    return float(diff), float(lo), float(hi), len(common)


def paired_differences(
    ref: Mapping[str, Mapping[str, Any]], row: Mapping[str, Mapping[str, Any]], n_boot: int = 2000
) -> dict[str, tuple[float, float, float, int] | None]:
    """Per paired column: ``(statistic, low, high, clips)`` of the per-clip differences row − ref over
    the clips both have (finite), the 95 % bootstrap interval from ``n_boot`` resamples (seed 0);
    None without a common clip. The statistic is the column's (mean, or median for the level;
    APCC-Δ: the difference of the set values, :func:`_paired_apcc`)."""
    out: dict[str, tuple[float, float, float, int] | None] = {}
    for col in COLUMNS_SPEC:
        if not col.paired:
            continue
        a, b = ref.get(col.key, {}), row.get(col.key, {})
        if col.stat == "apcc":
            out[col.key] = _paired_apcc(a, b, n_boot)
            continue
        d = np.array([b[n] - a[n] for n in a if n in b], dtype=np.float64)
        d = d[np.isfinite(d)]
        if not d.size:
            out[col.key] = None
            continue
        boot = _stat(d[np.random.default_rng(0).integers(0, d.size, (n_boot, d.size))], col.stat, axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        out[col.key] = (float(_stat(d, col.stat)), float(lo), float(hi), int(d.size))
    return out


def paired_table(
    ref: Mapping[str, Mapping[str, Any]],
    rows: list[tuple[str, Mapping[str, Mapping[str, Any]]]],
    ref_label: str = "default model",
    n_boot: int = 2000,
) -> str:
    """Markdown: per paired column the per-clip difference (row − ref) with its 95 % bootstrap
    interval and the clip count (:func:`paired_differences`)."""
    cols = [c for c in COLUMNS_SPEC if c.paired]
    head = f"| row − {ref_label} | " + " | ".join(c.header.rstrip(" ↑↓") for c in cols) + " |\n"
    head += "|---|" + "---|" * len(cols) + "\n"
    lines = []
    for label, values in rows:
        diffs = paired_differences(ref, values, n_boot)
        cells = []
        for c in cols:
            cell = diffs[c.key]
            if cell is None:
                cells.append("n/a")
                continue
            m, lo, hi, n = cell
            k = c.digits
            cells.append(f"{m:+.{k}f} [{lo:+.{k}f}, {hi:+.{k}f}] ({n})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"
