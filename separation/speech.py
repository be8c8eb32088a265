"""Speech from espeak-ng (a Debian package: ``apt-get install -y espeak-ng``) for separation mixtures.

Phrases of made-up words (random consonant-vowel syllables, so any language's rules can read them)
are spoken by espeak-ng in several languages and voice variants at random speed and pitch, then
placed one after another with pauses until the requested duration is filled. The training voices
and the held-out voices share neither a language nor a variant (:data:`TRAIN_VOICES`,
:data:`HELDOUT_VOICES`). espeak-ng writes 22.05 kHz wav; it is resampled with soxr.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from typing import Any

import numpy as np

TRAIN_LANGUAGES = ("en-us", "en", "de", "fr", "es", "it", "nl", "pl", "sv")
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "klatt", "klatt3")
HELDOUT_VOICES = ("pt+f4", "fi+m6")
TRAIN_VOICES = tuple(f"{lang}+{v}" for lang in TRAIN_LANGUAGES for v in TRAIN_VARIANTS)
VOICE_SETS = {"train": TRAIN_VOICES, "heldout": HELDOUT_VOICES}

_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "sh",
    "ch",
    "tr",
    "st",
    "pl",
    "",
)
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ee")
_CODAS = ("", "", "", "n", "s", "t", "r", "l", "m")


class SpeechUnavailable(RuntimeError):
    """espeak-ng is not installed (or failed): the message says how to install it."""


def espeak_path() -> str | None:
    """Path of the ``espeak-ng`` executable, or None."""
    return shutil.which("espeak-ng")


def random_phrase(rng: np.random.Generator, words: tuple[int, int] = (3, 10)) -> str:
    """A phrase of made-up words, e.g. ``"tamo reshin plou vee."``."""
    out = []
    for _ in range(int(rng.integers(words[0], words[1] + 1))):
        syllables = int(rng.integers(1, 4))
        out.append(
            "".join(
                str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) + str(rng.choice(_CODAS))
                for _ in range(syllables)
            )
        )
    return " ".join(out) + str(rng.choice([".", ".", ",", "?", "!"]))


def speak(
    text: str, voice: str, speed_wpm: int = 160, pitch: int = 50, sample_rate: int = 16000
) -> np.ndarray:
    """``text`` spoken by espeak-ng ``voice`` (e.g. "de+f2") as float32 [S] at ``sample_rate`` Hz.

    Raises :class:`SpeechUnavailable` when espeak-ng is missing or fails.
    """
    import soundfile

    exe = espeak_path()
    if exe is None:
        raise SpeechUnavailable(
            "speech needs the espeak-ng program, which is not installed: run "
            "'apt-get install -y espeak-ng' (Debian/Ubuntu) or 'bash scripts/setup.sh --dev'"
        )
    cmd = [exe, "-v", voice, "-s", str(int(speed_wpm)), "-p", str(int(pitch)), "--stdout", text]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechUnavailable(f"espeak-ng failed for voice {voice!r}: {exc}") from None
    if done.returncode != 0 or not done.stdout:
        raise SpeechUnavailable(
            f"espeak-ng failed for voice {voice!r} (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace')[:200]}"
        )
    data, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32", always_2d=True)
    audio = data.mean(axis=1)
    if rate != sample_rate and len(audio):
        import soxr

        audio = soxr.resample(audio, rate, sample_rate, quality="HQ").astype(np.float32)
    return audio


def synth_speech(
    rng: np.random.Generator, duration_s: float, sample_rate: int = 16000, voices: str = "train"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Speech of ``duration_s`` s from one random voice of ``voices`` ("train"/"heldout").

    Returns float32 [S] with RMS 0.1 over the whole clip (pauses included) and ``info`` (``voice``,
    ``speed_wpm``, ``pitch``, ``phrases``: list of [start_s, end_s, text]). Raises
    :class:`SpeechUnavailable` without espeak-ng.
    """
    if voices not in VOICE_SETS:
        raise ValueError(f"synth_speech: voices must be one of {sorted(VOICE_SETS)}, got {voices!r}")
    sr = int(sample_rate)
    n = int(round(duration_s * sr))
    pool = VOICE_SETS[voices]
    voice = str(pool[int(rng.integers(len(pool)))])
    speed = int(rng.integers(120, 210))
    pitch = int(rng.integers(25, 80))
    out = np.zeros(n, np.float32)
    phrases = []
    pos = int(rng.uniform(0.0, 0.6) * sr)
    while pos < n:
        text = random_phrase(rng)
        audio = speak(text, voice, speed, pitch, sr)
        # espeak pads each phrase with silence; trim it so the pauses are ours
        loud = np.flatnonzero(np.abs(audio) > 1e-3)
        if len(loud):
            audio = audio[loud[0] : loud[-1] + 1]
        end = min(n, pos + len(audio))
        out[pos:end] = audio[: end - pos]
        phrases.append([pos / sr, end / sr, text])
        pos = end + int(rng.uniform(0.15, 0.8) * sr)
    level = float(np.sqrt(np.mean(out.astype(np.float64) ** 2))) if n else 0.0
    if level > 0:
        out *= 0.1 / level
    return out, {"voice": voice, "speed_wpm": speed, "pitch": pitch, "phrases": phrases}
