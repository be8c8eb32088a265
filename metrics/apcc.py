"""APCC — audio-physics correlation coefficient (PAVAS), and APCC-Δ.

Per impact ``i`` (an object of mass ``m_i`` hitting something at time ``t_i``, speed
``u_i`` just before and ``u'_i`` just after)::

    dKE_i = 1/2 m_i (|u'_i|^2 - |u_i|^2)          kinetic-energy change of the impact (J, < 0 = lost)
    o_i   = max_{|tau_k - t_i| <= w} env(tau_k)   onset strength of the audio at the impact
                                                  (strength envelope of metrics.onsets,
                                                  lag 3 frames; w = 50 ms)

    APCC(class c, audio x) = pearson( {|dKE_i|}, {o_i(x)} )   over the impacts of clips of class c

The magnitude ``|dKE|`` is correlated, so the result does not depend on whether a data source
reports the change as post - pre (Kinesonic's physics world: negative for a damped impact) or as
energy lost.

Reference and generated audio of the same clips give ``r_ref(c)`` and ``r_gen(c)``::

    APCC-Δ = mean_c | r_gen(c) - r_ref(c) |        (lower is better; 0 = same physics-sound law)

Classes with fewer than two impacts have no correlation and are left out of the mean;
zero variance gives ``r = 0`` (see :func:`metrics.maic.pearson`). No class left -> NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .maic import pearson
from .onsets import DEFAULT_ONSET_PARAMS, OnsetParams, strength_at, strength_envelope

DEFAULT_WINDOW_S = 0.05


def kinetic_energy_change(
    mass_kg: float | np.ndarray, v_pre: float | np.ndarray, v_post: float | np.ndarray
) -> float:
    """``dKE = 1/2 m (|v_post|^2 - |v_pre|^2)`` in joules (< 0 for a damped impact).

    Velocities are speeds (m/s) or velocity vectors (their Euclidean norm is used).
    """
    vp = float(np.linalg.norm(np.atleast_1d(np.asarray(v_pre, dtype=np.float64))))
    vq = float(np.linalg.norm(np.atleast_1d(np.asarray(v_post, dtype=np.float64))))
    return 0.5 * float(mass_kg) * (vq * vq - vp * vp)


def impact_delta_ke(event: Mapping) -> float:
    """Kinetic-energy change of one impact event dict.

    Uses ``delta_ke_J`` when present, else ``mass_kg`` (or ``mass``) with ``v_pre`` / ``v_post``
    (or ``speed_pre_mps`` / ``speed_post_mps``).
    """
    if "delta_ke_J" in event:
        return float(event["delta_ke_J"])
    mass = event.get("mass_kg", event.get("mass"))
    pre = event.get("v_pre", event.get("speed_pre_mps"))
    post = event.get("v_post", event.get("speed_post_mps"))
    if mass is None or pre is None or post is None:
        raise ValueError(
            "an impact event needs 'delta_ke_J' or a mass ('mass_kg') and pre/post velocities "
            f"('v_pre', 'v_post'); got keys {sorted(event)}"
        )
    return kinetic_energy_change(mass, pre, post)


def impact_onset_strengths(
    waveform: np.ndarray,
    sample_rate: int,
    impact_times_s: Iterable[float],
    window_s: float = DEFAULT_WINDOW_S,
    params: OnsetParams = DEFAULT_ONSET_PARAMS,
) -> np.ndarray:
    """Onset strength of the audio at each impact time: max envelope within ``±window_s``."""
    env, times = strength_envelope(waveform, sample_rate, params)
    return strength_at(env, times, list(impact_times_s), window_s)


def apcc(delta_ke: Iterable[float], onset_strength: Iterable[float]) -> float:
    """APCC of one set of impacts: Pearson between ``|dKE|`` and the onset strengths."""
    return pearson(np.abs(np.asarray(list(delta_ke), float)), np.asarray(list(onset_strength), float))


@dataclass
class APCCResult:
    """APCC per class for reference and generated audio, and APCC-Δ.

    Attributes:
        delta: ``mean_c |r_gen(c) - r_ref(c)|`` (NaN when no class has two impacts).
        r_ref, r_gen: per-class correlations.
        counts: impacts per class.
    """

    delta: float
    r_ref: dict[str, float] = field(default_factory=dict)
    r_gen: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def apcc_delta(
    classes: Iterable[str],
    delta_ke: Iterable[float],
    strength_ref: Iterable[float],
    strength_gen: Iterable[float],
) -> APCCResult:
    """APCC-Δ over impacts given as parallel lists (one entry per impact).

    ``classes[i]`` is the clip class (scene type) of impact i, ``delta_ke[i]`` its
    kinetic-energy change (J; its magnitude is used), ``strength_ref[i]`` / ``strength_gen[i]``
    the onset strength of reference / generated audio at the impact.
    """
    cls = [str(c) for c in classes]
    ke = np.abs(np.asarray(list(delta_ke), dtype=np.float64))
    sr = np.asarray(list(strength_ref), dtype=np.float64)
    sg = np.asarray(list(strength_gen), dtype=np.float64)
    if not (len(cls) == ke.size == sr.size == sg.size):
        raise ValueError(
            f"apcc_delta needs parallel lists, got {len(cls)} classes, {ke.size} dKE, "
            f"{sr.size} reference and {sg.size} generated strengths"
        )
    result = APCCResult(delta=float("nan"))
    diffs = []
    for c in sorted(set(cls)):
        idx = np.array([i for i, ci in enumerate(cls) if ci == c])
        result.counts[c] = int(idx.size)
        if idx.size < 2:
            continue
        result.r_ref[c] = pearson(ke[idx], sr[idx])
        result.r_gen[c] = pearson(ke[idx], sg[idx])
        diffs.append(abs(result.r_gen[c] - result.r_ref[c]))
    if diffs:
        result.delta = float(np.mean(diffs))
    return result
