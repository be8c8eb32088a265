"""Sound of the physics world, synthesised from the simulation (mono, default 16 kHz).

- every impact event excites the modes of both participants: damped sinusoids at
  ``f0 * ratio * (REF_SIZE_M / size)`` with amplitude ``IMPACT_GAIN * impulse_Ns ** IMPACT_EXPONENT``
  (monotone in impulse), plus a short contact click;
- sliding makes band-passed noise whose amplitude is proportional to the sliding speed (m/s);
- rolling balls make low-passed noise (rumble) proportional to the rolling speed |omega| r;
- optional room reverb (exponentially decaying noise impulse response) and a low noise floor.

All gains are fixed constants (no per-clip normalisation) so loudness is comparable across
clips; the result is clipped to [-1, 1] and the clipped fraction is reported. Randomness comes
only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .world_materials import MATERIALS, REF_SIZE_M
from .world_sim import Scene, SimResult

IMPACT_GAIN = 0.03
IMPACT_EXPONENT = 0.5
STATIC_WEIGHT = 0.6  # modal amplitude of the floor/table relative to the moving object
SLIDE_GAIN = 0.03  # per (m/s * sqrt(kg))
ROLL_GAIN = 0.05  # per (m/s * sqrt(kg))
STATIC_SIZE_M = 0.3


def _modal(
    material: str, size_m: float, amp: float, n: int, offset_s: float, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """Damped-sinusoid impact of ``n`` samples starting ``offset_s`` after the contact time."""
    mat = MATERIALS[material]
    t = np.arange(n) / sr + offset_s
    out = np.zeros(n)
    scale = REF_SIZE_M / max(size_m, 1e-3)
    for k, (ratio, gain) in enumerate(zip(mat.ratios, mat.gains, strict=True)):
        f = mat.f0_hz * ratio * scale * (1.0 + 0.01 * rng.standard_normal())
        if f >= 0.45 * sr:
            continue
        tau = mat.decay_s / (1.0 + mat.damping_slope * k)
        a = amp * gain * (1.0 + 0.015 * rng.standard_normal())
        out += a * np.sin(2 * np.pi * f * t) * np.exp(-t / tau)
    # contact click: a very short noise burst, brighter for harder materials
    nc = min(n, int(0.004 * sr))
    if nc > 0:
        noise = rng.standard_normal(nc)
        noise /= np.sqrt(np.mean(noise**2)) + 1e-12  # fixed energy: loudness stays monotone in impulse
        click = noise * np.exp(-t[:nc] / 0.0008)
        out[:nc] += amp * mat.click * 0.5 * click
    return out


def _bandpass(x: np.ndarray, lo: float, hi: float, sr: int) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    hi = min(hi, 0.45 * sr)
    sos = butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return sosfilt(sos, x)


def _lowpass(x: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(2, cutoff, btype="lowpass", fs=sr, output="sos")
    return sosfilt(sos, x)


def synthesize(
    scene: Scene,
    sim: SimResult,
    duration_s: float,
    rng: np.random.Generator,
    sample_rate: int = 16000,
    reverb: bool = True,
    noise_floor_db: float = -66.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Audio float32 [S] (S = round(duration_s * sample_rate)) and info.

    ``info`` holds ``clipped_fraction`` (samples at |x| >= 1 before clipping / S), ``peak`` (before
    clipping), ``reverb_mix`` and ``rt60_s`` (0 when reverb is off), ``noise_floor_db`` (dBFS RMS).
    """
    sr = int(sample_rate)
    n_samples = int(round(duration_s * sr))
    dry = np.zeros(n_samples)
    n_obj = len(scene.objects)
    masses = sim.masses
    for ev in sim.events:
        n0 = int(math.ceil(ev["time_s"] * sr))
        if n0 >= n_samples:
            continue
        offset = n0 / sr - ev["time_s"]
        amp = IMPACT_GAIN * ev["impulse_Ns"] ** IMPACT_EXPONENT
        for idx, material, size in zip(ev["indices"], ev["materials"], ev["size_m"], strict=True):
            weight = 1.0 if idx >= 0 else STATIC_WEIGHT
            size = size if idx >= 0 else STATIC_SIZE_M
            decay = MATERIALS[material].decay_s
            n = min(n_samples - n0, int(6 * decay * sr) + int(0.005 * sr))
            dry[n0 : n0 + n] += _modal(material, size, amp * weight, n, offset, sr, rng)

    t_audio = np.arange(n_samples) / sr
    t_sim = np.arange(len(sim.slide)) * sim.dt
    for i in range(n_obj):
        mat = MATERIALS[scene.objects[i].material]
        level = math.sqrt(masses[i])
        slide = np.where(sim.slide[:, i] > 0.01, sim.slide[:, i], 0.0)
        if slide.max() > 0:
            env = np.interp(t_audio, t_sim, slide)
            noise = _bandpass(rng.standard_normal(n_samples), *mat.noise_band_hz, sr)
            dry += SLIDE_GAIN * level * env * noise
        roll = sim.roll[:, i]
        if roll.max() > 0.01:
            env = np.interp(t_audio, t_sim, roll)
            noise = _lowpass(rng.standard_normal(n_samples), 220.0, sr)
            dry += ROLL_GAIN * level * env * noise

    info: dict[str, Any] = {"reverb_mix": 0.0, "rt60_s": 0.0, "noise_floor_db": float(noise_floor_db)}
    out = dry
    if reverb:
        from scipy.signal import fftconvolve

        rt60 = float(rng.uniform(0.2, 0.6))
        mix = float(rng.uniform(0.05, 0.2))
        n_ir = int(min(rt60, 0.5) * sr)
        t_ir = np.arange(n_ir) / sr
        ir = rng.standard_normal(n_ir) * np.exp(-6.91 * t_ir / rt60)
        delay = int(float(rng.uniform(0.012, 0.025)) * sr)  # first reflections arrive after 12-25 ms
        ir[:delay] = 0.0
        ramp = min(int(0.01 * sr), n_ir - delay)
        ir[delay : delay + ramp] *= np.linspace(0.0, 1.0, ramp)  # diffuse tail builds up over 10 ms
        ir /= np.sqrt((ir**2).sum())
        out = dry + mix * fftconvolve(dry, ir)[:n_samples]
        info.update(reverb_mix=mix, rt60_s=rt60)
    if noise_floor_db is not None and noise_floor_db > -200:
        out = out + 10.0 ** (noise_floor_db / 20.0) * rng.standard_normal(n_samples)
    peak = float(np.abs(out).max()) if n_samples else 0.0
    info["peak"] = peak
    info["clipped_fraction"] = float((np.abs(out) >= 1.0).mean()) if n_samples else 0.0
    return np.clip(out, -1.0, 1.0).astype(np.float32), info
