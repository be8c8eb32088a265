"""Soundfont music (General MIDI through FluidSynth) and the procedural music it must not change.

Tests that render need libfluidsynth, pyfluidsynth and TimGM6mb (``scripts/setup.sh --dev``); they
skip with the reason otherwise. The held-out soundfont (FluidR3_GM, 148 MB) is never needed here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kinesonic.separation import soundfont as sf
from kinesonic.separation.music import compose, synth_music

SR = 16000


def _missing() -> str | None:
    """Why soundfont rendering cannot run here, or None."""
    try:
        sf.find_soundfont("train")
        sf._fluidsynth()
    except sf.SoundfontUnavailable as error:
        return str(error)
    return None


needs_soundfont = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


# synth_music(default_rng(seed), duration, rate, family) as the generator made it before the score /
# band split: samples at indices PROBE (mod the length) and the sum of |x| (to 7 / 9 digits; compared
# with a tolerance, so last-bit differences of another CPU's or numpy's sin do not fail the test,
# while any change of the random draws or the synthesis does)
PROBE = (0, 4001, 12345, 20000, 29999)
PROCEDURAL = {
    ("train", 0, 3.0, 16000): ((-0.02378918, 0.001258487, 0.07510642, 0.02238319, -0.05342049), 3838.58181),
    ("train", 1, 3.0, 16000): ((0.006665033, -0.01545062, -0.01178477, 0.04839271, 0.116435), 3789.87922),
    ("train", 7, 3.0, 16000): ((0.07741811, 0.1005303, -0.06456269, 0.008910315, -0.1110929), 3728.15661),
    ("heldout", 0, 3.0, 16000): ((0.1578064, -0.133027, 0.004543808, 0.02826203, 0.05663132), 4075.04905),
    # Karplus-Strong string chords
    ("heldout", 7, 3.0, 16000): ((-0.06700434, -0.02607676, 0.03124085, 0.02012867, 0.05760136), 3355.30174),
    ("train", 3, 2.0, 22050): ((-0.1374768, -0.05415377, -0.06688187, -0.03607913, -0.03361963), 3711.10614),
}


def test_procedural_music_is_unchanged_by_the_soundfont_split():
    for (family, seed, duration, rate), (samples, total) in PROCEDURAL.items():
        x, info = synth_music(np.random.default_rng(seed), duration, rate, family)
        got = x[[i % len(x) for i in PROBE]]
        np.testing.assert_allclose(got, samples, rtol=1e-5, atol=1e-7, err_msg=str((family, seed)))
        assert float(np.abs(x).astype(np.float64).sum()) == pytest.approx(total, rel=1e-6)
        assert "source" not in info  # the shards' metadata of procedural music is unchanged too


def test_train_and_heldout_instruments_are_disjoint():
    train = {p for programs in sf.PROGRAMS["train"].values() for p in programs}
    heldout = {p for programs in sf.PROGRAMS["heldout"].values() for p in programs}
    assert train and heldout and not train & heldout
    assert all(0 <= p < 128 for p in train | heldout)
    assert not set(sf.DRUM_KITS["train"]) & set(sf.DRUM_KITS["heldout"])
    assert Path(sf.DEFAULT_SOUNDFONTS["train"]).name != Path(sf.DEFAULT_SOUNDFONTS["heldout"]).name
    # the held-out set holds the separator's hard case: plucked strings (guitars, harp) and mallets
    assert {24, 25, 46} <= heldout and {11, 12, 13} & heldout


def test_missing_soundfont_or_binding_says_what_to_install(tmp_path, monkeypatch):
    with pytest.raises(sf.SoundfontUnavailable, match="apt-get install -y fluidsynth timgm6mb-soundfont"):
        sf.find_soundfont("train", tmp_path / "nowhere.sf2")
    monkeypatch.setenv("KINESONIC_SOUNDFONT_HELDOUT", str(tmp_path / "gone.sf2"))
    with pytest.raises(
        sf.SoundfontUnavailable, match=r"gone\.sf2.*KINESONIC_SOUNDFONT_HELDOUT.*fluid-soundfont-gm"
    ):
        sf.soundfont_music(np.random.default_rng(0), 1.0, family="heldout")
    with pytest.raises(ValueError, match="family"):
        sf.find_soundfont("test")
    monkeypatch.setitem(__import__("sys").modules, "fluidsynth", None)  # pyfluidsynth not installed
    with pytest.raises(sf.SoundfontUnavailable, match="pip install pyfluidsynth"):
        sf._fluidsynth()


@needs_soundfont
def test_piano_a4_has_its_energy_at_440_hz():
    sr = 16000
    events = [(0, 0, (69,), 100, sr)]  # A4 on channel 1, 1 s
    x, names = sf.render_events(events, sr, sr, sf.find_soundfont("train"), {0: 0})
    assert names[0]  # the preset's name, e.g. "Piano 1"
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak_hz = np.argmax(spectrum) * sr / len(x)
    assert abs(peak_hz - 440.0) < 5.0, peak_hz  # measured 440.0
    # the note starts at its event (within FluidSynth's 64-sample block) and not before
    first = int(np.argmax(np.abs(x) > 0.05 * np.abs(x).max()))
    assert 0 <= first < 64 + int(0.02 * sr), first


def _onsets(x: np.ndarray, sr: int = SR, hop_s: float = 0.002) -> np.ndarray:
    """Times (s) where the 2 ms frame energy jumps 10 dB above the mean of the 10 frames before it,
    at most -40 dB below the loudest frame; one onset per 40 ms."""
    hop = int(hop_s * sr)
    energy = np.square(x[: len(x) // hop * hop].astype(np.float64)).reshape(-1, hop).mean(1) + 1e-12
    before = np.convolve(energy, np.ones(10) / 10)[: len(energy)]  # frames k-9..k
    rise = energy[1:] > 10 * before[:-1]
    loud = energy[1:] > 1e-4 * energy.max()
    times, last = [], -1.0
    for k in np.flatnonzero(rise & loud) + 1:
        if k * hop_s - last > 0.04:
            times.append(k * hop_s)
            last = k * hop_s
    return np.array(times)


@needs_soundfont
def test_drums_land_on_the_beat_grid():
    rng = np.random.default_rng(3)  # Power kit: kick 35, snare 38, closed hat
    band, score = compose(rng, 3.0, "train", lambda r: sf._GMBand(r, "train", SR))
    assert score["drums"] and band.kit in sf.DRUM_KITS["train"]
    drums = [e for e in band.events if e[1] == sf.DRUM_CHANNEL]
    step = 60.0 / score["tempo_bpm"] / 4  # sixteenth notes
    starts = np.array([e[0] for e in drums]) / SR
    grid_offset = starts[0] % step  # the piece starts at a random point of its bar grid
    on_grid = np.abs((starts - grid_offset + step / 2) % step - step / 2)
    assert on_grid.max() < 1.5 / SR  # score times round to the sample
    x, _ = sf.render_events(drums, 3 * SR, SR, sf.find_soundfont("train"), {}, band.kit)
    onsets = _onsets(x)
    loud = np.array([e[2][0] in (35, 36, 38, 40) for e in drums])  # kicks and snares (hats may hide)
    hits = np.unique(starts[loud & (starts >= 0.05) & (starts < 2.95)])
    assert len(hits) >= 5
    # every kick and snare is heard, every onset is a hit: up to 4 ms late (FluidSynth's block), to
    # within the 2 ms frame
    late = onsets[None, :] - hits[:, None]
    assert (((late > -0.002) & (late < 0.008)).any(axis=1)).all(), late
    assert (np.abs(onsets[:, None] - starts[None, :]).min(axis=1) < 0.008).all()


@needs_soundfont
def test_soundfont_piece_is_deterministic_and_keeps_the_length_contract():
    a, info = sf.soundfont_music(np.random.default_rng(5), 2.0)
    b, _ = sf.soundfont_music(np.random.default_rng(5), 2.0)
    c, _ = sf.soundfont_music(np.random.default_rng(6), 2.0)
    assert a.dtype == np.float32 and a.shape == (2 * SR,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert abs(float(np.sqrt(np.mean(a.astype(np.float64) ** 2))) - 0.1) < 1e-4
    assert info["source"] == "soundfont" and info["soundfont"] == sf.find_soundfont("train").name
    assert all(info["programs"][p] in sf.PROGRAMS["train"][p] for p in ("chords", "bass", "melody"))
    odd, _ = sf.soundfont_music(np.random.default_rng(5), 1.2345, 22050)
    assert odd.shape == (round(1.2345 * 22050),)  # the procedural piece's length contract
    assert odd.shape == synth_music(np.random.default_rng(5), 1.2345, 22050)[0].shape


@needs_soundfont
def test_music_bed_and_shards_record_the_soundfont(tmp_path):
    from kinesonic.separation.mixtures import music_source, with_bed

    fx = np.zeros(SR, np.float32)
    fx[::1000] = 0.5
    bed = with_bed(fx, 3, music_db=0.0, split="train", music="soundfont")
    assert bed.info["music"]["source"] == "soundfont" and float(np.abs(bed.stems[2]).max()) > 0
    np.testing.assert_array_equal(bed.stems[1], fx)
    both = [music_source(s, "both") for s in range(200)]
    assert 70 < both.count("soundfont") < 130 and set(both) == {"soundfont", "procedural"}
    if shutil.which("espeak-ng") is None:
        pytest.skip("the shard half needs the espeak-ng program")
    from kinesonic.runner.cli import main
    from kinesonic.separation.mixtures import write_mix_shards

    assert main(["data", "mix", "--n", "1", "--out", str(tmp_path), "--duration", "1", "--seed", "2",
                 "--music", "soundfont"]) == 0  # fmt: skip
    meta = json.loads((tmp_path / "shard-r000-00000.jsonl").read_text().splitlines()[0])
    assert (
        meta["music"]["source"] == "soundfont"
        and meta["music"]["soundfont"] == sf.find_soundfont("train").name
    )
    assert set(meta["music"]["programs"]) == {"chords", "bass", "melody"}
    with pytest.raises(ValueError, match="other settings"):  # a soundfont folder is not resumed as procedural
        write_mix_shards(tmp_path, 1, base_seed=2, duration_s=1.0)
