"""Procedural multi-instrument music (mono, default 16 kHz) for separation training and tests.

One call makes a short piece: a chord progression in a random key and mode at a random tempo, with
four parts — chords (sustained pad or arpeggio), bass, melody and drums — each on its own randomly
drawn timbre. Every note is synthesised here (no samples, no downloads):

- ``"additive"``: harmonic partials with a random spectral tilt and odd/even balance, ADSR envelope;
- ``"organ"``: fixed drawbar-like partials, flat sustain;
- ``"pad"``: three detuned additive voices with slow attack (chorus);
- ``"pluck"``: additive partials with a fast exponential decay, brighter partials dying first;
- held-out material (never used for training mixtures): ``"fm"`` (two-operator FM: bells, electric
  piano) and ``"string"`` (Karplus-Strong plucked string), plus a fixed, differently tuned drum kit
  and modes the training set does not use.

Training pieces draw their own drum kit (:class:`_Kit`: kick, snare with an optional clap, hat;
tunings and decays kept clear of the held-out kit's) and groove (:class:`_Groove`: six 16-step
patterns, eighth or sixteenth hats, random fills). With one fixed training kit, the separator
learned that kit's sound as "music" and passed other drums to the effects stem. Likewise some
training parts (``CLICK_SHARE``) start every note with a short noise transient (pick, hammer, key
click): without it, a held-out plucked string's attack was taken for an impact.

``family="train"`` draws from the training timbres, progressions and modes, ``family="heldout"``
from the held-out ones (for the benchmark). Randomness comes only from the generator passed in.

The score and its sound are apart: :func:`compose` writes the piece (key, mode, tempo, progression,
chords, bass, melody, drum pattern) onto a band (:class:`_Band`); :class:`_SynthBand` synthesises
each note here (:func:`synth_music`), ``soundfont.py``'s band plays the same score on General MIDI
programs through FluidSynth. :func:`synth_music` gives the same samples for a seed as before the
split (reference samples in tests/test_separation_soundfont.py): the shipped separator was trained on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

FAMILIES = ("train", "heldout")
TRAIN_TIMBRES = ("additive", "organ", "pad", "pluck")
#: Share of training parts per timbre whose notes start with a noisy attack transient (``_Timbre.click``).
CLICK_SHARE = {"additive": 0.3, "organ": 0.3, "pad": 0.0, "pluck": 0.6}
HELDOUT_TIMBRES = ("fm", "string")
PARTS = ("chords", "bass", "melody")  # the pitched parts; drums come on top
MODES = {
    "train": {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)},
    "heldout": {"dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10)},
}
# progressions as scale degrees (0-based) of each bar's chord root
PROGRESSIONS = {
    "train": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 0, 3, 4)),
    "heldout": ((0, 6, 3, 0), (1, 4, 0, 0), (0, 2, 5, 1)),
}


def midi_hz(note: float) -> float:
    """Frequency in Hz of MIDI note ``note`` (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def _adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """ADSR envelope of ``n`` samples (times in s); the release occupies the last ``release`` s."""
    t = np.arange(n) / sr
    env = np.where(
        t < attack, t / max(attack, 1e-4), sustain + (1 - sustain) * np.exp(-(t - attack) / max(decay, 1e-4))
    )
    nr = min(n, int(release * sr))
    if nr > 0:
        env[n - nr :] *= np.linspace(1.0, 0.0, nr)
    return env


class _Timbre:
    """One instrument: a synthesis method plus its random parameters (drawn once per part)."""

    def __init__(self, kind: str, rng: np.random.Generator) -> None:
        self.kind = kind
        self.rng = rng
        self.tilt = float(rng.uniform(0.6, 2.0))  # partial k has amplitude k ** -tilt
        self.odd = float(rng.uniform(0.3, 1.0))  # weight of even partials (1 = all, 0.3 = hollow)
        self.partials = int(rng.integers(4, 12))
        self.vibrato = float(rng.uniform(0.0, 0.006)) if rng.random() < 0.5 else 0.0
        self.vib_hz = float(rng.uniform(4.0, 6.5))
        self.attack = float(rng.uniform(0.005, 0.04))
        self.decay = float(rng.uniform(0.1, 0.6))
        self.sustain = float(rng.uniform(0.3, 0.9))
        self.drawbars = rng.uniform(0.0, 1.0, 6) * np.array([1.0, 0.8, 0.6, 0.5, 0.3, 0.25])
        self.fm_ratio = float(rng.choice([1.0, 2.0, 3.5, 1.41, 2.76]))
        self.fm_index = float(rng.uniform(0.8, 4.0))
        self.fm_decay = float(rng.uniform(0.2, 1.2))
        self.string_damp = float(rng.uniform(0.990, 0.999))
        # training timbres only, drawn after everything else (held-out parts draw exactly as before):
        # a noisy attack transient on every note, as a pick, hammer or key click makes, so that a
        # sharp musical attack is not mistaken for an impact
        self.click = 0.0
        if kind in TRAIN_TIMBRES and rng.random() < CLICK_SHARE[kind]:
            self.click = float(rng.uniform(0.1, 0.8))  # transient peak re the note's peak
            self.click_decay = float(rng.uniform(0.001, 0.008))  # s
            self.click_smooth = float(rng.uniform(0.0, 0.9))  # one-pole low-pass coefficient

    def _harmonic(
        self, f0: float, t: np.ndarray, amps: np.ndarray, sr: int, decays: np.ndarray | None = None
    ) -> np.ndarray:
        phase_mod = 1.0 + (self.vibrato * np.sin(2 * np.pi * self.vib_hz * t) if self.vibrato else 0.0)
        out = np.zeros_like(t)
        phase0 = self.rng.uniform(0, 2 * np.pi, len(amps))
        for k, a in enumerate(amps, start=1):
            f = f0 * k
            if f >= 0.45 * sr or a <= 0:
                continue
            part = a * np.sin(2 * np.pi * f * t * phase_mod + phase0[k - 1])
            if decays is not None:
                part *= np.exp(-t / decays[k - 1])
            out += part
        return out

    def note(self, f0: float, dur: float, sr: int) -> np.ndarray:
        """One note of ``dur`` s (plus a short release tail) at ``f0`` Hz, peak about 1."""
        n = max(int((dur + 0.05) * sr), 8)
        t = np.arange(n) / sr
        kind = self.kind
        k = np.arange(1, self.partials + 1)
        amps = k**-self.tilt * np.where(k % 2 == 0, self.odd, 1.0)
        if kind == "additive":
            out = self._harmonic(f0, t, amps, sr) * _adsr(n, sr, self.attack, self.decay, self.sustain, 0.05)
        elif kind == "organ":
            out = self._harmonic(f0, t, self.drawbars, sr) * _adsr(n, sr, 0.01, 0.05, 1.0, 0.04)
        elif kind == "pad":
            out = (
                sum(self._harmonic(f0 * (1 + d), t, amps, sr) for d in (-0.004, 0.0, 0.005))
                / 3.0
                * _adsr(n, sr, min(0.25, dur / 3), 0.3, 0.8, 0.08)
            )
        elif kind == "pluck":
            decays = self.decay / (1.0 + 0.5 * (k - 1))
            out = self._harmonic(f0, t, amps, sr, decays) * _adsr(n, sr, 0.002, 10.0, 1.0, 0.03)
        elif kind == "fm":
            mod = self.fm_index * np.exp(-t / self.fm_decay) * np.sin(2 * np.pi * f0 * self.fm_ratio * t)
            out = np.sin(2 * np.pi * f0 * t + mod) * _adsr(n, sr, 0.003, self.fm_decay, 0.2, 0.05)
        elif kind == "string":
            out = _karplus(f0, n, sr, self.string_damp, self.rng)
            out *= _adsr(n, sr, 0.001, 10.0, 1.0, 0.03)
        else:
            raise ValueError(f"unknown timbre {kind!r}")
        if self.click > 0:
            out = out + self._click(n, sr, float(np.abs(out).max()))
        peak = float(np.abs(out).max())
        return out / peak if peak > 0 else out

    def _click(self, n: int, sr: int, peak: float) -> np.ndarray:
        """The attack transient of :attr:`click` (``n`` samples, mostly zeros)."""
        from scipy.signal import lfilter

        m = min(n, int(0.05 * sr))
        a = self.click_smooth
        burst = lfilter([1.0 - a], [1.0, -a], self.rng.standard_normal(m))
        burst *= np.exp(-np.arange(m) / sr / self.click_decay)
        top = float(np.abs(burst).max())
        out = np.zeros(n)
        out[:m] = burst * (self.click * peak / top if top > 0 else 0.0)
        return out


def _karplus(f0: float, n: int, sr: int, damp: float, rng: np.random.Generator) -> np.ndarray:
    """Karplus-Strong plucked string: a noise burst in a delay line with a two-tap average filter."""
    from scipy.signal import lfilter

    period = max(int(round(sr / f0)), 2)
    excitation = np.zeros(n)
    excitation[:period] = rng.uniform(-1, 1, min(period, n))
    # y[i] = x[i] + damp * (y[i-P] + y[i-P-1]) / 2
    a = np.zeros(period + 2)
    a[0] = 1.0
    a[period] = -damp / 2
    a[period + 1] = -damp / 2
    return lfilter([1.0], a, excitation)


@dataclass(frozen=True)
class _Kit:
    """A training piece's drum tuning, drawn once per piece (:func:`_train_kit`).

    Kick: sweep from ``kick_hi`` to ``kick_lo`` Hz, decay ``kick_decay`` s; snare: noise band-passed
    from ``snare_lo`` Hz, tone ``snare_tone`` Hz, decay ``snare_decay`` s; hat: noise high-passed at
    ``hat_cut`` Hz, decay ``hat_decay`` s; ``clap``: a clap (three short noise bursts) joins the
    snare. Every range stays clear of the held-out kit (kick 160-220 → 60-80 Hz, snare from 2500 Hz,
    hat at 4000 Hz), so that kit remains unseen.
    """

    kick_hi: float
    kick_lo: float
    kick_decay: float
    snare_lo: float
    snare_tone: float
    snare_decay: float
    hat_cut: float
    hat_decay: float
    clap: bool


def _train_kit(rng: np.random.Generator) -> _Kit:
    """One training kit (see :class:`_Kit` for the ranges' reason)."""
    return _Kit(
        kick_hi=float(rng.uniform(70, 150)),
        kick_lo=float(rng.uniform(35, 58)),
        kick_decay=float(rng.uniform(0.06, 0.3)),
        snare_lo=float(rng.uniform(500, 2000)),
        snare_tone=float(rng.uniform(140, 300)),
        snare_decay=float(rng.uniform(0.04, 0.18)),
        hat_cut=float(rng.uniform(5000, 7500)),
        hat_decay=float(rng.uniform(0.01, 0.08)),
        clap=bool(rng.random() < 0.3),
    )


def _kit_drum(kind: str, sr: int, rng: np.random.Generator, kit: _Kit) -> np.ndarray:
    """One hit of a training kit (kick, snare, hat), peak about 1; each hit jitters a little."""
    from scipy.signal import butter, sosfilt

    jitter = float(rng.uniform(0.9, 1.1))
    if kind == "kick":
        n = int(0.45 * sr)
        t = np.arange(n) / sr
        freq = kit.kick_lo + (kit.kick_hi - kit.kick_lo) * np.exp(-t / 0.03)
        out = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / (kit.kick_decay * jitter))
    elif kind == "snare":
        n = int(0.3 * sr)
        t = np.arange(n) / sr
        band = butter(2, [kit.snare_lo, 0.45 * sr], btype="bandpass", fs=sr, output="sos")
        noise = sosfilt(band, rng.standard_normal(n))
        tone = np.sin(2 * np.pi * kit.snare_tone * t)
        out = (noise * 0.8 + tone * 0.5) * np.exp(-t / (kit.snare_decay * jitter))
        if kit.clap:
            for start in (0.0, 0.011, 0.023):
                k = int(start * sr)
                out[k:] += 0.6 * noise[: n - k] * np.exp(-t[: n - k] / 0.008)
    else:  # hat
        n = int(0.12 * sr)
        t = np.arange(n) / sr
        high = butter(4, min(kit.hat_cut, 0.4 * sr), btype="highpass", fs=sr, output="sos")
        out = sosfilt(high, rng.standard_normal(n)) * np.exp(-t / (kit.hat_decay * jitter))
    peak = float(np.abs(out).max())
    return out / peak if peak > 0 else out


def _heldout_drum(kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One hit of the held-out kit (kick, snare, hat), peak about 1; training kits are :class:`_Kit`."""
    from scipy.signal import butter, sosfilt

    if kind == "kick":
        n = int(0.35 * sr)
        t = np.arange(n) / sr
        f_hi, f_lo = rng.uniform(160, 220), rng.uniform(60, 80)
        freq = f_lo + (f_hi - f_lo) * np.exp(-t / 0.03)
        phase = 2 * np.pi * np.cumsum(freq) / sr
        out = np.sin(phase) * np.exp(-t / rng.uniform(0.08, 0.2))
    elif kind == "snare":
        n = int(0.25 * sr)
        t = np.arange(n) / sr
        noise = sosfilt(
            butter(2, [2500.0, 0.45 * sr], btype="bandpass", fs=sr, output="sos"), rng.standard_normal(n)
        )
        tone = np.sin(2 * np.pi * rng.uniform(160, 240) * t)
        out = (noise * 0.8 + tone * 0.5) * np.exp(-t / rng.uniform(0.05, 0.12))
    else:  # hat
        n = int(0.12 * sr)
        t = np.arange(n) / sr
        noise = sosfilt(
            butter(4, min(4000.0, 0.4 * sr), btype="highpass", fs=sr, output="sos"), rng.standard_normal(n)
        )
        out = noise * np.exp(-t / rng.uniform(0.015, 0.05))
    peak = float(np.abs(out).max())
    return out / peak if peak > 0 else out


def _place(buf: np.ndarray, x: np.ndarray, start: int, gain: float) -> None:
    if start >= len(buf) or start + len(x) <= 0:
        return
    lo = max(start, 0)
    hi = min(start + len(x), len(buf))
    buf[lo:hi] += gain * x[lo - start : hi - start]


@dataclass(frozen=True)
class _Groove:
    """A training piece's drum pattern on a 16-step bar: ``kicks`` / ``snares`` (step indices),
    hats every ``hat_every`` steps (2: eighths, 1: sixteenths) with ``hat_prob`` each, and
    ``fill_prob``, the chance that a bar adds a kick or snare on a random step."""

    kicks: tuple[int, ...]
    snares: tuple[int, ...]
    hat_every: int
    hat_prob: float
    fill_prob: float


_GROOVES = (
    ((0, 8), (4, 12)),  # rock
    ((0, 6, 8), (4, 12)),
    ((0, 10), (4, 12)),
    ((0, 3, 8, 11), (4, 12)),  # syncopated
    ((0, 4, 8, 12), (4, 12)),  # four on the floor
    ((0, 7), (8,)),  # half time
)


def _train_groove(rng: np.random.Generator) -> _Groove:
    """One training drum pattern (:class:`_Groove`)."""
    kicks, snares = _GROOVES[int(rng.integers(len(_GROOVES)))]
    return _Groove(
        kicks=kicks,
        snares=snares,
        hat_every=int(rng.choice([1, 2, 2])),
        hat_prob=float(rng.uniform(0.5, 1.0)),
        fill_prob=float(rng.uniform(0.0, 0.5)),
    )


class _Band:
    """What a score (:func:`compose`) plays on: the sound of each part and of the drums.

    The score calls ``put(note(part, midi, dur_s), start_s, gain)`` for a note and
    ``put(drum(kind), start_s, gain)`` for a drum hit (``kind`` in kick / snare / hat), in the order
    the notes are written; ``start_s`` is relative to the clip's first sample (negative for notes
    started before it) and ``gain`` is the note's linear level (peak-normalised notes). A band may draw
    from the score's generator in ``note`` and ``drum``: the procedural band does (phases, noise), so
    the score's own draws must stay in their place for its output to stay the same.
    :class:`_SynthBand` renders each note at once; the soundfont band (``soundfont.py``) records note
    events for FluidSynth.
    """

    def choose_kit(self, rng: np.random.Generator, drums: bool) -> None:
        """Draw the piece's drum sound (called once, after the score drew ``drums``)."""

    def note(self, part: str, midi: int, dur_s: float) -> Any:
        raise NotImplementedError

    def drum(self, kind: str) -> Any:
        raise NotImplementedError

    def put(self, sound: Any, start_s: float, gain: float) -> None:
        raise NotImplementedError


class _SynthBand(_Band):
    """The procedural band: each part a random :class:`_Timbre`, training kits :class:`_Kit`, the
    held-out kit :func:`_heldout_drum`; notes are mixed into ``out`` (float64 [S]) as they come."""

    def __init__(self, rng: np.random.Generator, family: str, n: int, sr: int) -> None:
        self.rng, self.sr, self.heldout = rng, sr, family == "heldout"
        timbres = HELDOUT_TIMBRES if self.heldout else TRAIN_TIMBRES
        self.parts = {name: _Timbre(str(rng.choice(timbres)), rng) for name in PARTS}
        self.parts["bass"].partials = min(self.parts["bass"].partials, 6)
        self.kit: _Kit | None = None
        self.out = np.zeros(n)

    def choose_kit(self, rng: np.random.Generator, drums: bool) -> None:
        self.kit = _train_kit(rng) if drums and not self.heldout else None

    def note(self, part: str, midi: int, dur_s: float) -> np.ndarray:
        return self.parts[part].note(midi_hz(midi), dur_s, self.sr)

    def drum(self, kind: str) -> np.ndarray:
        if self.heldout:
            return _heldout_drum(kind, self.sr, self.rng)
        return _kit_drum(kind, self.sr, self.rng, self.kit)

    def put(self, sound: np.ndarray, start_s: float, gain: float) -> None:
        _place(self.out, sound, int(round(start_s * self.sr)), gain)


def _train_drums(
    rng: np.random.Generator, band: _Band, groove: _Groove, t_bar: float, beat: float, offset: float
) -> None:
    """One bar of a training groove on ``band``'s drums (bar start ``t_bar`` s on the piece's grid)."""
    step_s = beat / 4
    fill = int(rng.integers(16)) if rng.random() < groove.fill_prob else -1
    fill_kind = "kick" if rng.random() < 0.5 else "snare"
    for step in range(16):
        t_hit = t_bar + step * step_s
        if step in groove.kicks or (step == fill and fill_kind == "kick"):
            band.put(band.drum("kick"), t_hit - offset, 0.7 * rng.uniform(0.8, 1.0))
        if step in groove.snares or (step == fill and fill_kind == "snare"):
            band.put(band.drum("snare"), t_hit - offset, 0.45 * rng.uniform(0.7, 1.0))
        if step % groove.hat_every == 0 and rng.random() < groove.hat_prob:
            accent = 0.1 * (step % 4 == 0)
            band.put(band.drum("hat"), t_hit - offset, 0.12 + accent)


def _heldout_drums(rng: np.random.Generator, band: _Band, t_bar: float, beat: float, offset: float) -> None:
    """One bar of the held-out beat (eighths: kick on 1 and 3, snare on 2 and 4, hats) on ``band``."""
    for eighth in range(8):
        t_hit = t_bar + eighth * beat / 2
        if eighth in (0, 4) or (eighth == 5 and rng.random() < 0.3):
            band.put(band.drum("kick"), t_hit - offset, 0.7)
        if eighth in (2, 6):
            band.put(band.drum("snare"), t_hit - offset, 0.45)
        if rng.random() < 0.85:
            band.put(band.drum("hat"), t_hit - offset, 0.15 + 0.1 * (eighth % 2 == 0))


def compose(
    rng: np.random.Generator,
    duration_s: float,
    family: str,
    make_band: Callable[[np.random.Generator], _Band],
) -> tuple[_Band, dict[str, Any]]:
    """Write a piece of ``duration_s`` s of ``family`` onto the band that ``make_band(rng)`` returns.

    The score: key, mode and tempo (70-150 BPM), a progression of one chord per bar, chords as a
    sustained pad or an eighth-note arpeggio, a bass line, a random-walk melody and (80 %) drums —
    a training groove (:class:`_Groove`) or the held-out beat. The piece starts at a random point of
    its bar grid so clips do not all begin on a downbeat. ``make_band`` is called after the tempo, key
    and start are drawn and before the parts' levels, so the procedural band draws its timbres exactly
    where :func:`synth_music` always has. Returns the band (holding what it played) and the score's
    description (``family``, ``tempo_bpm``, ``key_midi``, ``mode``, ``progression``, ``drums``,
    ``arpeggio``).
    """
    if family not in FAMILIES:
        raise ValueError(f"music: family must be one of {FAMILIES}, got {family!r}")
    heldout = family == "heldout"
    mode_name = str(rng.choice(sorted(MODES[family])))
    scale = MODES[family][mode_name]
    progression = PROGRESSIONS[family][int(rng.integers(len(PROGRESSIONS[family])))]
    tempo = float(rng.uniform(70, 150))
    beat = 60.0 / tempo
    key = int(rng.integers(45, 58))  # MIDI root of the bass octave
    offset = float(rng.uniform(0, 4 * beat))
    n_bars = int(math.ceil((duration_s + offset) / (4 * beat))) + 1
    band = make_band(rng)
    levels = {"chords": rng.uniform(0.3, 0.7), "bass": rng.uniform(0.4, 0.8), "melody": rng.uniform(0.5, 1.0)}
    drums = bool(rng.random() < 0.8)
    arpeggio = bool(rng.random() < 0.4)
    band.choose_kit(rng, drums)
    groove = _train_groove(rng) if drums and not heldout else None

    def degree_note(degree: int, octave: int) -> int:
        return key + 12 * (octave + degree // 7) + scale[degree % 7]

    melody_degree = int(rng.integers(7, 12))
    for bar in range(n_bars):
        root = progression[bar % len(progression)]
        t_bar = bar * 4 * beat
        chord = [degree_note(root + d, 1) for d in (0, 2, 4)] + (
            [degree_note(root + 6, 1)] if rng.random() < 0.3 else []
        )
        if arpeggio:
            step = beat / 2
            for i in range(8):
                note = chord[i % len(chord)]
                band.put(
                    band.note("chords", note, step * 0.9), t_bar + i * step - offset, levels["chords"] * 0.6
                )
        else:
            for note in chord:
                band.put(band.note("chords", note, 4 * beat * 0.95), t_bar - offset, levels["chords"] * 0.35)
        bass_pattern = (
            ((0, 2.0), (2, 2.0)) if rng.random() < 0.5 else ((0, 1.0), (1.5, 0.5), (2, 1.0), (3, 1.0))
        )
        for pos, length in bass_pattern:
            note = degree_note(root, 0) - (12 if rng.random() < 0.3 else 0)
            band.put(
                band.note("bass", note, length * beat * 0.9), t_bar + pos * beat - offset, levels["bass"]
            )
        pos = 0.0
        while pos < 4.0:
            length = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
            if rng.random() < 0.8:
                melody_degree = int(np.clip(melody_degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3]), 5, 16))
                note = degree_note(melody_degree, 1)
                band.put(
                    band.note("melody", note, length * beat * 0.9),
                    t_bar + pos * beat - offset,
                    levels["melody"] * 0.5,
                )
            pos += length
        if drums and heldout:
            _heldout_drums(rng, band, t_bar, beat, offset)
        elif drums:
            _train_drums(rng, band, groove, t_bar, beat, offset)
    info = {
        "family": family,
        "tempo_bpm": tempo,
        "key_midi": key,
        "mode": mode_name,
        "progression": list(progression),
        "drums": drums,
        "arpeggio": arpeggio,
    }
    return band, info


def synth_music(
    rng: np.random.Generator, duration_s: float, sample_rate: int = 16000, family: str = "train"
) -> tuple[np.ndarray, dict[str, Any]]:
    """A procedural piece (:func:`compose` on :class:`_SynthBand`) of ``duration_s`` s: float32
    [round(duration_s · sample_rate)] with RMS 0.1 (silence-free), and its description.

    ``info`` holds ``tempo_bpm``, ``key_midi``, ``mode``, ``progression``, ``timbres`` (per part),
    ``drums`` (bool) and ``family``. Bit-identical for a seed since the generator was written
    (tests/test_separation_soundfont.py holds reference samples): the shipped separator was trained on it.
    """
    if family not in FAMILIES:
        raise ValueError(f"synth_music: family must be one of {FAMILIES}, got {family!r}")
    sr = int(sample_rate)
    n = int(round(duration_s * sr))
    band, score = compose(rng, duration_s, family, lambda r: _SynthBand(r, family, n, sr))
    out = band.out
    level = float(np.sqrt(np.mean(out**2))) if n else 0.0
    if level > 0:
        out *= 0.1 / level
    info = {**score, "timbres": {name: part.kind for name, part in band.parts.items()}}
    info = {
        k: info[k] for k in ("family", "tempo_bpm", "key_midi", "mode", "progression", "timbres", "drums")
    }
    return out.astype(np.float32), info
