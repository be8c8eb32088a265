"""Music beds for training the music FiLM (``TrainConfig.music_bed``).

A bank of procedural pieces of the *training* family (:func:`kinesonic.separation.music.synth_music`;
the held-out family stays unseen) made once per run, each twice the clip's length; a sample that
gets a bed takes a random piece at a random offset, levelled relative to the clip's own sound. The
bed is given to the model only as the music stem of its soundtrack (the music FiLM's input): the
clip's own sound stays the audio the model hears and generates, as exact stems would give it.
Every draw comes from the sample's own seed, so distributed runs match single-process ones.
"""

from __future__ import annotations

import numpy as np

#: Bed level relative to the clip's RMS, dB (uniform): music from under to over the effects.
BED_LEVEL_DB = (-12.0, 6.0)
#: Seed salt of the per-sample bed draws (kept apart from the objective's draws of the same seed).
_SALT = 0x6D75


class MusicBeds:
    """``count`` training-family pieces of ``2 * samples`` samples; :meth:`draw` gives one sample's bed.

    Args:
        count: pieces in the bank (made here: about 0.1 s each on one core).
        samples: bed length in samples (the clips' audio length).
        sample_rate: Hz.
        seed: run seed (the bank is the same for every rank).
        share: probability that a sample gets a bed.
    """

    def __init__(self, count: int, samples: int, sample_rate: int, seed: int, share: float) -> None:
        from ..separation.music import synth_music

        if count < 1 or samples < 1 or not 0.0 <= share <= 1.0:
            raise ValueError(f"MusicBeds: count and samples >= 1, share in [0, 1] expected, got {count}, "
                             f"{samples}, {share}")  # fmt: skip
        self.samples, self.share = int(samples), float(share)
        duration = 2 * self.samples / sample_rate
        self.pieces = np.stack([
            synth_music(np.random.default_rng([int(seed), _SALT, i]), duration, sample_rate, "train")[0][
                : 2 * self.samples
            ]
            for i in range(int(count))
        ])  # fmt: skip

    def draw(self, sample_seed: int, clip_rms: float) -> np.ndarray | None:
        """The bed ``[samples]`` float32 of the sample with seed ``sample_seed`` (None: no bed), at
        :data:`BED_LEVEL_DB` relative to ``clip_rms`` (a silent clip: relative to RMS 0.1)."""
        rng = np.random.default_rng([int(sample_seed), _SALT])
        if rng.random() >= self.share:
            return None
        piece = self.pieces[int(rng.integers(len(self.pieces)))]
        start = int(rng.integers(0, piece.shape[0] - self.samples + 1))
        bed = piece[start : start + self.samples].astype(np.float64)
        ref = clip_rms if clip_rms > 1e-6 else 0.1
        gain = ref * 10.0 ** (rng.uniform(*BED_LEVEL_DB) / 20.0) / max(float(np.sqrt(np.mean(bed**2))), 1e-12)
        return (bed * gain).astype(np.float32)
