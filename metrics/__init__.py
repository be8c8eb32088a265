"""Kinesonic motion-sound metrics (no ComfyUI imports).

Each metric is implemented from its paper definition; the formula and conventions are in the
module docstrings and in docs/metrics.md:

- ETE (event timing error, Tora3) — :mod:`.ete`
- MAIC (motion-audio intensity correlation, Tora3) — :mod:`.maic`
- APCC / APCC-Δ (audio-physics correlation, PAVAS) — :mod:`.apcc`
- TE (trajectory error) — :mod:`.trajectory`
- AV-Align (Yariv et al.) — :mod:`.av_align`
- onset accuracy / AP (CondFoley, Du et al.) — :mod:`.onset_match`
- shared onset detection — :mod:`.onsets`; whole-clip evaluation and tables — :mod:`.evaluate`

Importing this package pulls numpy only; librosa, scipy, cv2 and matplotlib are imported inside
the functions that need them.
"""

from .apcc import APCCResult, apcc, apcc_delta, impact_delta_ke, impact_onset_strengths, kinetic_energy_change
from .av_align import av_align, av_align_iou, flow_magnitudes, local_max_times
from .ete import ETEResult, event_timing_error, event_timing_error_detail, merge_close_events
from .evaluate import ete_from_tracks, maic_from_tracks, trajectory_error_tracks
from .maic import frame_log_energy, motion_audio_intensity_correlation, pearson
from .onset_match import OnsetMatch, average_precision, match_onsets
from .onsets import DEFAULT_ONSET_PARAMS, OnsetParams, detect_onsets, onset_envelope
from .trajectory import trajectory_error

__all__ = [
    "APCCResult",
    "DEFAULT_ONSET_PARAMS",
    "ETEResult",
    "OnsetMatch",
    "OnsetParams",
    "apcc",
    "apcc_delta",
    "av_align",
    "av_align_iou",
    "average_precision",
    "detect_onsets",
    "event_timing_error",
    "ete_from_tracks",
    "event_timing_error_detail",
    "flow_magnitudes",
    "frame_log_energy",
    "impact_delta_ke",
    "impact_onset_strengths",
    "kinetic_energy_change",
    "local_max_times",
    "maic_from_tracks",
    "match_onsets",
    "merge_close_events",
    "motion_audio_intensity_correlation",
    "onset_envelope",
    "pearson",
    "trajectory_error",
    "trajectory_error_tracks",
]
