"""Music from a General MIDI soundfont through FluidSynth: the procedural score on recorded instruments.

:func:`soundfont_music` writes the same kind of piece as :func:`.music.synth_music` — the score of
:func:`.music.compose`: key, mode, tempo, chord progression, chords as pad or arpeggio, bass, melody,
drums — but plays it as note events on GM programs of a soundfont (``.sf2``) instead of synthesising
the notes. Output: mono float32 ``[round(duration_s · sample_rate)]`` with RMS 0.1 (as the procedural
piece), the piece starting at a random point of its bar grid; notes struck before the clip's start
ring into it.

**Driver.** FluidSynth's library through pyfluidsynth (``pip install pyfluidsynth``, import name
``fluidsynth``; Debian ``apt-get install -y fluidsynth`` brings libfluidsynth): note-on/off are sent
between blocks of rendered samples, so no MIDI file is written and nothing runs in a subprocess.
Samples come from ``fluid_synth_write_float`` (float, no dither; pyfluidsynth's own ``get_samples``
writes dithered int16), the two channels averaged to mono. FluidSynth starts a note at its next
64-sample block: onsets land up to 64 samples (4 ms at 16 kHz) late.

**Deterministic.** A new synthesiser per piece (loading TimGM6mb takes 0.03 s, FluidR3_GM 0.2 s),
reverb and chorus off (the procedural music is dry too, and a dry stem keeps the music's onsets where
the score put them), one render thread, float output: the same seed gives the same samples.
Randomness comes only from the generator passed in.

**Split** (:data:`PROGRAMS`, :data:`DRUM_KITS`, :data:`DEFAULT_SOUNDFONTS`). Training pieces play
TimGM6mb (``timgm6mb-soundfont``, 6 MB) on keyboards, organs, ensembles, brass, reeds, pipes, synth
leads and pads over picked / slapped / synth basses, drums from its Standard, Room, Power,
Electronic or TR-808 kit. Held-out pieces play FluidR3_GM (``fluid-soundfont-gm``, 148 MB: other
recordings of every instrument) on programs training never plays: plucked strings (guitars, harp,
pizzicato, banjo, sitar, koto, ...), mallets and bells, acoustic / finger / fretless bass, and its
Jazz or Brush kit. Score material follows the family as in ``music.py`` (held-out modes,
progressions and beat).

**Which soundfont**: the ``soundfont`` argument (a path), else ``$KINESONIC_SOUNDFONT`` (training) /
``$KINESONIC_SOUNDFONT_HELDOUT`` (held-out), else the Debian path of the family's soundfont. Missing
pieces raise :class:`SoundfontUnavailable` saying what to install; there is no fallback to the
procedural music.

GM numbering here is 0-based (program 0 = Acoustic Grand Piano); drums play on MIDI channel 10
(index 9), bank 128, keys of the GM percussion map (35/36 kick, 38/40 snare, 39 clap, 42/44 hat).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from .music import FAMILIES, PARTS, _Band, compose

SF2_DIR = "/usr/share/sounds/sf2"
DEFAULT_SOUNDFONTS = {"train": f"{SF2_DIR}/TimGM6mb.sf2", "heldout": f"{SF2_DIR}/FluidR3_GM.sf2"}
SOUNDFONT_ENV = {"train": "KINESONIC_SOUNDFONT", "heldout": "KINESONIC_SOUNDFONT_HELDOUT"}
DEBIAN_PACKAGES = {"train": "timgm6mb-soundfont", "heldout": "fluid-soundfont-gm"}

#: GM programs (0-based) per part and family; no program of one family appears in the other.
PROGRAMS = {
    "train": {
        # pianos, e-pianos, harpsichord, clavinet, organs, accordion, string / choir ensembles,
        # synth brass, synth pads
        "chords": (0, 1, 2, 4, 5, 6, 7, 16, 17, 18, 19, 21, 48, 49, 50, 52, 61, 88, 89, 90, 91, 92, 94),
        # picked, slap 1 / 2, synth 1 / 2 bass, cello, tuba, bass + lead
        "bass": (34, 36, 37, 38, 39, 42, 58, 87),
        # piano, e-piano, harmonica, violin, trumpet, trombone, horn, saxes, oboe, clarinet, flutes, leads
        "melody": (0, 4, 22, 40, 56, 57, 60, 64, 65, 66, 68, 71, 73, 74, 80, 81, 82, 85),
    },
    "heldout": {
        # celesta, vibraphone, marimba, dulcimer, nylon / steel / jazz / clean guitar, harp, koto
        "chords": (8, 11, 12, 15, 24, 25, 26, 27, 46, 107),
        # acoustic, finger, fretless bass
        "bass": (32, 33, 35),
        # glockenspiel, music box, xylophone, tubular bells, guitars, pizzicato, sitar, banjo,
        # shamisen, kalimba
        "melody": (9, 10, 13, 14, 24, 25, 45, 104, 105, 106, 108),
    },
}
#: GM drum kits (bank 128 presets) per family.
DRUM_KITS = {"train": (0, 8, 16, 24, 25), "heldout": (32, 40)}
DRUM_CHANNEL = 9  # MIDI channel 10
CHANNELS = {"chords": 0, "bass": 1, "melody": 2}
DRUM_NOTE_S = 0.3  # drum note-off after this (GM kits mostly ring out their sample anyway)


class SoundfontUnavailable(RuntimeError):
    """FluidSynth, pyfluidsynth or the soundfont is missing: the message says what to install."""


def find_soundfont(family: str = "train", soundfont: str | os.PathLike | None = None) -> Path:
    """The ``.sf2`` file for ``family``: ``soundfont``, else the family's environment variable, else
    the Debian path (:data:`DEFAULT_SOUNDFONTS`). Raises :class:`SoundfontUnavailable` if it is not a file."""
    if family not in FAMILIES:
        raise ValueError(f"soundfont music: family must be one of {FAMILIES}, got {family!r}")
    env = SOUNDFONT_ENV[family]
    if soundfont is not None:
        path, origin = Path(soundfont), "the soundfont argument"
    elif os.environ.get(env):
        path, origin = Path(os.environ[env]), f"${env}"
    else:
        path, origin = Path(DEFAULT_SOUNDFONTS[family]), "the default"
    if not path.is_file():
        raise SoundfontUnavailable(
            f"no General MIDI soundfont at {path} ({origin}, {family} music). Install it with "
            f"'apt-get install -y fluidsynth {DEBIAN_PACKAGES[family]}', or point ${env} at a .sf2 file"
        )
    return path


def _fluidsynth() -> Any:
    """The pyfluidsynth module with ``fluid_synth_write_float`` declared, or :class:`SoundfontUnavailable`."""
    try:
        import fluidsynth
    except ModuleNotFoundError:
        raise SoundfontUnavailable(
            "soundfont music needs pyfluidsynth: 'pip install pyfluidsynth' (and the FluidSynth library: "
            "'apt-get install -y fluidsynth timgm6mb-soundfont')"
        ) from None
    except (ImportError, OSError) as error:  # pyfluidsynth found no libfluidsynth
        raise SoundfontUnavailable(
            f"soundfont music needs the FluidSynth library ({error}): 'apt-get install -y fluidsynth "
            "timgm6mb-soundfont'"
        ) from None
    lib = getattr(fluidsynth, "_fl", None)  # pyfluidsynth's handle of libfluidsynth (1.4.x)
    if lib is None:  # another pyfluidsynth layout: load the library ourselves
        name = ctypes.util.find_library("fluidsynth")
        if name is None:
            raise SoundfontUnavailable("no FluidSynth library found: 'apt-get install -y fluidsynth'")
        lib = ctypes.CDLL(name)
    write = lib.fluid_synth_write_float
    write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    write.argtypes += [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    write.restype = ctypes.c_int
    fluidsynth.kinesonic_write_float = write  # what render_events calls
    return fluidsynth


def velocity(gain: float) -> int:
    """MIDI velocity for a linear note level ``gain`` (1 = the procedural notes' peak). FluidSynth's
    default velocity curve makes amplitude about (velocity / 127)², hence the square root."""
    return int(np.clip(round(127 * float(np.sqrt(max(gain, 0.0)))), 1, 127))


class _GMBand(_Band):
    """A band of GM programs: draws one program per part (and a drum kit), records note events
    ``(start sample, channel, keys, velocity, length in samples)`` for :func:`render_events`."""

    def __init__(self, rng: np.random.Generator, family: str, sr: int) -> None:
        self.family, self.sr = family, sr
        self.programs = {part: int(rng.choice(PROGRAMS[family][part])) for part in PARTS}
        self.kit: int | None = None
        self.drum_keys: dict[str, tuple[int, ...]] = {}
        self.events: list[tuple[int, int, tuple[int, ...], int, int]] = []

    def choose_kit(self, rng: np.random.Generator, drums: bool) -> None:
        if not drums:
            return
        self.kit = int(rng.choice(DRUM_KITS[self.family]))
        if self.family == "train":  # kick 35/36, snare 38/40 (30 %: with a clap), closed / pedal hat
            snare = (int(rng.choice([38, 40])),) + ((39,) if rng.random() < 0.3 else ())
            self.drum_keys = {
                "kick": (int(rng.choice([35, 36])),),
                "snare": snare,
                "hat": (int(rng.choice([42, 44])),),
            }
        else:
            self.drum_keys = {"kick": (36,), "snare": (38,), "hat": (42,)}

    def note(self, part: str, midi: int, dur_s: float) -> tuple[int, tuple[int, ...], int]:
        return CHANNELS[part], (int(midi),), max(int(round(dur_s * self.sr)), 1)

    def drum(self, kind: str) -> tuple[int, tuple[int, ...], int]:
        return DRUM_CHANNEL, self.drum_keys[kind], int(DRUM_NOTE_S * self.sr)

    def put(self, sound: tuple[int, tuple[int, ...], int], start_s: float, gain: float) -> None:
        channel, keys, length = sound
        self.events.append((int(round(start_s * self.sr)), channel, keys, velocity(gain), length))


def render_events(
    events: list[tuple[int, int, tuple[int, ...], int, int]],
    n: int,
    sample_rate: int,
    soundfont: str | os.PathLike,
    programs: dict[int, int],
    drum_kit: int | None = None,
    lookback_s: float = 2.0,
) -> tuple[np.ndarray, dict[int, str]]:
    """Render note events into mono float32 [n] with FluidSynth (reverb and chorus off).

    ``events``: ``(start sample, channel, keys, velocity, length in samples)``, starts relative to
    the output's first sample. Notes struck before it ring into it: rendering starts at the earliest
    note that is still held within ``lookback_s`` s of the first sample (notes released earlier are
    dropped) and the lead-in is cut off. ``programs``: channel → GM program (bank 0); ``drum_kit``:
    bank 128 preset on channel 10. Returns the audio (FluidSynth's own level) and channel → preset
    name.
    """
    fs = _fluidsynth()
    sr = int(sample_rate)
    if not 8000 <= sr <= 96000:
        raise ValueError(f"soundfont music: FluidSynth renders 8000-96000 Hz, asked {sr}")
    start = min([0] + [on for on, *_, length in events if on + length > -int(lookback_s * sr)])
    # note-offs (kind 0) before note-ons (kind 1) at the same sample, so a repeated key is re-struck
    timeline = []
    for on, channel, keys, vel, length in events:
        if on >= n or on + length <= start:
            continue
        for key in keys:
            timeline.append((on, 1, channel, key, vel))
            timeline.append((on + length, 0, channel, key, 0))
    timeline.sort()
    settings = {"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.cpu-cores": 1}
    synth = fs.Synth(gain=0.2, samplerate=float(sr), **settings)
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise SoundfontUnavailable(f"FluidSynth could not load the soundfont {soundfont}")
        names = {}
        for channel, program in programs.items():
            synth.program_select(channel, sfid, 0, int(program))
            names[channel] = synth.sfpreset_name(sfid, 0, int(program))
        if drum_kit is not None:
            synth.program_select(DRUM_CHANNEL, sfid, 128, int(drum_kit))
            names[DRUM_CHANNEL] = synth.sfpreset_name(sfid, 128, int(drum_kit))
        total = n - start
        left = np.zeros(total, np.float32)
        right = np.zeros(total, np.float32)
        write = fs.kinesonic_write_float

        pos = start  # first sample not yet rendered

        def render(upto: int) -> None:
            nonlocal pos
            upto = min(upto, n)
            if upto > pos:
                write(
                    synth.synth,
                    upto - pos,
                    left.ctypes.data,
                    pos - start,
                    1,
                    right.ctypes.data,
                    pos - start,
                    1,
                )
                pos = upto

        for at, kind, channel, key, vel in timeline:
            if at >= n:
                break
            render(at)
            if kind:
                synth.noteon(channel, key, vel)
            else:
                synth.noteoff(channel, key)
        render(n)
    finally:
        synth.delete()
    return 0.5 * (left[-start:] + right[-start:]), names


def soundfont_music(
    rng: np.random.Generator,
    duration_s: float,
    sample_rate: int = 16000,
    family: str = "train",
    soundfont: str | os.PathLike | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A piece of ``duration_s`` s played on the family's soundfont: float32 [round(duration_s ·
    sample_rate)] with RMS 0.1 (unless silent), and its description.

    ``info`` holds the score (``family``, ``tempo_bpm``, ``key_midi``, ``mode``, ``progression``,
    ``drums``, ``arpeggio``) and ``source`` = "soundfont", ``soundfont`` (file name), ``programs``
    (part → GM program, 0-based), ``instruments`` (part → the soundfont's preset name), ``drum_kit``
    (bank 128 preset or None). See the module docstring for the split and the soundfont search.
    """
    path = find_soundfont(family, soundfont)
    _fluidsynth()  # say what to install before composing
    sr = int(sample_rate)
    n = int(round(duration_s * sr))
    band, score = compose(rng, duration_s, family, lambda r: _GMBand(r, family, sr))
    programs = {CHANNELS[part]: program for part, program in band.programs.items()}
    out, names = render_events(band.events, n, sr, path, programs, band.kit)
    level = float(np.sqrt(np.mean(np.asarray(out, np.float64) ** 2))) if n else 0.0
    if level > 0:
        out = out * np.float32(0.1 / level)
    info = {
        **score,
        "source": "soundfont",
        "soundfont": path.name,
        "programs": dict(band.programs),
        "instruments": {part: names[CHANNELS[part]] for part in PARTS},
        "drum_kit": band.kit,
    }
    if band.kit is not None:
        info["instruments"]["drums"] = names[DRUM_CHANNEL]
    return out.astype(np.float32), info
