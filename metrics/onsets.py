"""Audio onsets and onset strength, with one documented set of parameters for every metric.

All metrics that need audio onsets (ETE, AV-Align, onset accuracy / AP, APCC) use
:func:`detect_onsets` / :func:`onset_envelope` with the same :class:`OnsetParams`, so their
results are comparable and reproducible.

Pipeline (librosa 0.11):

1. Mix to mono (mean over channels) and resample to ``params.sample_rate`` (16 kHz) with a
   polyphase filter (``scipy.signal.resample_poly``; deterministic, no extra dependency).
2. Onset strength envelope ``librosa.onset.onset_strength`` — spectral flux of a log-power mel
   spectrogram: ``env[k] = mean_f max(0, S_dB[f, k] - S_dB[f, k - 1])`` with
   ``n_fft = 512`` (32 ms), ``hop_length = 160`` (10 ms), ``n_mels = 64``, ``center = True``,
   so envelope frame ``k`` is at ``t = k * hop / sr`` seconds (10 ms resolution). Frames are
   padded by reflection (``pad_mode = "reflect"``), not zeros: zero padding makes the start
   of any noise floor look like an onset at t ~ 20 ms. ``S_dB`` is floored ``top_db = 60`` dB
   below the clip's loudest mel bin (``librosa.power_to_db(S, top_db=60)``; librosa's own
   default is 80): bins below the floor are constant and cannot make flux, so the noise floor
   and residue far below the clip's events (a demixed stem's leftovers) do not fire.
3. Peak picking ``librosa.onset.onset_detect(onset_envelope=env, backtrack=False)`` with
   ``delta = 0.15`` on the max-normalised envelope (librosa's default is 0.07) and librosa's
   30 ms ``pre_max`` / 0 ms ``post_max`` / 100 ms moving-average windows, ``wait = 30 ms``.
   Log flux is level-invariant: a stationary noise texture (a sliding or rolling sound, a noise
   floor) has a flux of ~2 dB at any level, whose random peaks exceed 7 % of a modest impact's
   flux; 15 % does not, and still keeps every simulator contact. Measured on 69 held-out world
   clips with impacts (``benchmarks/bench_onsets.py``, docs/metrics.md): onsets per contact
   2.09 -> 1.20, contact recall within 50 ms 0.985 -> 0.985, ETE vs the contact times
   0.069 -> 0.021 s. Backtracking is off: the onset time is the flux peak, not the preceding
   energy minimum.
4. Onset *strength* (how strong an onset is: APCC, the detection score of onset AP) is read
   from a second envelope with ``lag = 3`` frames (``S_dB[f, k] - S_dB[f, k - 3]``): with
   lag 1 the rise of a click is split over two frames depending on where it falls between
   hops, and the peak value varies by more than a doubling of loudness changes it; with lag 3
   (30 ms, about the analysis window) the whole rise is in one difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OnsetParams:
    """Parameters of onset detection (see the module docstring for the formula).

    Attributes:
        sample_rate: analysis rate in Hz; audio is resampled to it.
        hop_length: envelope hop in samples (160 at 16 kHz = 10 ms).
        n_fft: STFT size in samples (512 at 16 kHz = 32 ms).
        n_mels: mel bands of the spectral-flux envelope.
        delta: peak-picking threshold on the max-normalised envelope (librosa's default is
            0.07; 0.15 ignores the level fluctuations of noise textures, see step 3).
        wait_s: minimum gap between two onsets, seconds.
        backtrack: roll onsets back to the preceding energy minimum (off by default).
        strength_lag: flux lag in frames of the onset-strength envelope (see step 4).
        pad_mode: STFT edge padding (``"reflect"``; librosa's default ``"constant"`` adds a
            spurious onset at the start of noisy audio).
        top_db: floor of the log-power mel spectrogram in dB below its loudest bin (step 2);
            sound further below the clip's loudest moment makes no flux.
    """

    sample_rate: int = 16000
    hop_length: int = 160
    n_fft: int = 512
    n_mels: int = 64
    delta: float = 0.15
    wait_s: float = 0.03
    backtrack: bool = False
    strength_lag: int = 3
    pad_mode: str = "reflect"
    top_db: float = 60.0

    @property
    def frame_s(self) -> float:
        """Envelope frame period in seconds (hop / sample rate)."""
        return self.hop_length / self.sample_rate


DEFAULT_ONSET_PARAMS = OnsetParams()


def to_mono(waveform: np.ndarray) -> np.ndarray:
    """Mono float64 signal from ``[S]``, ``[C, S]`` or ``[B, C, S]`` (first batch item, channel mean)."""
    w = np.asarray(waveform, dtype=np.float64)
    if w.ndim == 3:
        w = w[0]
    if w.ndim == 2:
        w = w.mean(axis=0)
    if w.ndim != 1:
        raise ValueError(f"audio must be [S], [C,S] or [B,C,S], got shape {np.shape(waveform)}")
    return w


def resample(signal: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a mono signal from ``sr_in`` to ``sr_out`` Hz (polyphase, deterministic)."""
    sr_in, sr_out = int(sr_in), int(sr_out)
    if sr_in <= 0 or sr_out <= 0:
        raise ValueError(f"sample rates must be positive, got {sr_in} -> {sr_out}")
    if sr_in == sr_out:
        return np.asarray(signal, dtype=np.float64)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sr_in, sr_out)
    return resample_poly(np.asarray(signal, dtype=np.float64), sr_out // g, sr_in // g)


def prepare_audio(
    waveform: np.ndarray, sample_rate: int, params: OnsetParams = DEFAULT_ONSET_PARAMS
) -> np.ndarray:
    """Mono float32 audio at ``params.sample_rate`` (the signal every onset function analyses)."""
    return resample(to_mono(waveform), sample_rate, params.sample_rate).astype(np.float32)


def _mel_power(y: np.ndarray, params: OnsetParams) -> np.ndarray:
    """Mel power spectrogram ``[n_mels, K]`` (librosa, centred frames, ``params.pad_mode`` edges)."""
    import librosa

    return librosa.feature.melspectrogram(
        y=y,
        sr=params.sample_rate,
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        n_mels=params.n_mels,
        pad_mode=params.pad_mode,
    )


def log_mel(y: np.ndarray, params: OnsetParams = DEFAULT_ONSET_PARAMS) -> np.ndarray:
    """Log-power mel spectrogram ``S_dB [n_mels, K]`` (dB re power 1) of mono float audio at
    ``params.sample_rate``, floored ``params.top_db`` dB below its maximum (step 2)."""
    import librosa

    return librosa.power_to_db(_mel_power(y, params), top_db=params.top_db)


def onset_envelope(
    waveform: np.ndarray, sample_rate: int, params: OnsetParams = DEFAULT_ONSET_PARAMS, lag: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Onset strength envelope and its frame times.

    Returns ``(env [K], times [K] seconds)`` with ``times[k] = k * hop / sr``; ``env`` is
    librosa's spectral flux with the given ``lag`` in frames (dB, >= 0). Silent or very short
    audio gives zeros. ``lag = 1`` is the detection envelope; :func:`strength_envelope` uses
    ``params.strength_lag``.
    """
    import librosa

    y = prepare_audio(waveform, sample_rate, params)
    if y.size == 0:
        return np.zeros(0), np.zeros(0)
    if y.size < params.n_fft:
        y = np.pad(y, (0, params.n_fft - y.size))
    env = librosa.onset.onset_strength(
        S=log_mel(y, params),
        sr=params.sample_rate,
        hop_length=params.hop_length,
        n_fft=params.n_fft,
        lag=int(lag),
    ).astype(np.float64)
    times = np.arange(env.size) * params.frame_s
    return env, times


def strength_envelope(
    waveform: np.ndarray, sample_rate: int, params: OnsetParams = DEFAULT_ONSET_PARAMS
) -> tuple[np.ndarray, np.ndarray]:
    """The onset-strength envelope (flux with ``params.strength_lag``) and its frame times (s)."""
    return onset_envelope(waveform, sample_rate, params, lag=params.strength_lag)


def detect_onsets_from_envelope(env: np.ndarray, params: OnsetParams = DEFAULT_ONSET_PARAMS) -> np.ndarray:
    """Onset times in seconds (sorted) picked from an envelope made by :func:`onset_envelope`.

    Frames whose analysis window reaches past the end of the audio by more than half (the last
    ``(n_fft // 2) // hop`` frames, 16 ms with the defaults) are not reported: their flux compares
    real audio with its own reflection, so the noise floor alone can fire there.
    """
    import librosa

    env = np.asarray(env, dtype=np.float64)
    if env.size < 3 or not np.any(env > 0):
        return np.zeros(0)
    wait = max(int(round(params.wait_s / params.frame_s)), 0)
    frames = librosa.onset.onset_detect(
        onset_envelope=env,
        sr=params.sample_rate,
        hop_length=params.hop_length,
        backtrack=params.backtrack,
        delta=params.delta,
        wait=wait,
        units="frames",
    )
    frames = np.asarray(frames, dtype=np.int64)
    last_full = env.size - 1 - (params.n_fft // 2) // params.hop_length
    frames = frames[frames <= last_full]
    return np.sort(frames.astype(np.float64)) * params.frame_s


def detect_onsets(
    waveform: np.ndarray, sample_rate: int, params: OnsetParams = DEFAULT_ONSET_PARAMS
) -> np.ndarray:
    """Audio onset times in seconds, sorted (``librosa.onset.onset_detect``, params above)."""
    env, _ = onset_envelope(waveform, sample_rate, params)
    return detect_onsets_from_envelope(env, params)


def strength_at(
    env: np.ndarray, times: np.ndarray, at_s: np.ndarray | list[float], window_s: float = 0.05
) -> np.ndarray:
    """Onset strength at given times: ``max env[k]`` over frames with ``|times[k] - t| <= window_s``.

    Returns an array like ``at_s`` (0 where no frame falls in the window).
    """
    env = np.asarray(env, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    out = np.zeros(len(at_s))
    for i, t in enumerate(np.asarray(at_s, dtype=np.float64)):
        sel = np.abs(times - t) <= window_s + 1e-12
        if np.any(sel):
            out[i] = float(env[sel].max())
    return out
