"""Hand-computed cases for every metric (ETE, MAIC, APCC, TE, AV-Align, onset acc / AP)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinesonic.metrics import (
    apcc,
    apcc_delta,
    av_align_iou,
    average_precision,
    detect_onsets,
    event_timing_error,
    event_timing_error_detail,
    flow_magnitudes,
    frame_log_energy,
    impact_delta_ke,
    kinetic_energy_change,
    local_max_times,
    match_onsets,
    motion_audio_intensity_correlation,
    pearson,
    trajectory_error,
)

# ----------------------------------------------------------------------------- ETE


def test_ete_single_pair_and_exact_match() -> None:
    assert event_timing_error([0.5], [0.5]) == pytest.approx(0.0)
    # k=1: 0.05 / 1; k=0: (0.2 * 2) / 2 = 0.2
    assert event_timing_error([0.5], [0.55]) == pytest.approx(0.05)
    # an extra audio onset is unmatched: (0 + 0.2 * 1) / (1 + 1)
    assert event_timing_error([0.5], [0.5, 1.5]) == pytest.approx(0.1)


def _greedy_nearest_first(v: list[float], a: list[float], tau: float) -> float:
    """The greedy baseline: repeatedly pair the closest remaining (v, a) under tau."""
    pairs = sorted((abs(x - y), i, j) for i, x in enumerate(v) for j, y in enumerate(a) if abs(x - y) < tau)
    used_v, used_a, cost, k = set(), set(), 0.0, 0
    for d, i, j in pairs:
        if i not in used_v and j not in used_a:
            used_v.add(i)
            used_a.add(j)
            cost += d
            k += 1
    u = len(v) + len(a) - 2 * k
    return (cost + tau * u) / (k + u)


def test_ete_greedy_is_wrong_case_a() -> None:
    v, a = [0.0, 0.1], [0.09, 0.19]
    # greedy pairs (0.1, 0.09) then (0.0, 0.19): (0.01 + 0.19) / 2 = 0.10
    assert _greedy_nearest_first(v, a, 0.2) == pytest.approx(0.10)
    # exact: (0.0, 0.09) + (0.1, 0.19) = 0.18 over 2 pairs
    assert event_timing_error(v, a, tau=0.2) == pytest.approx(0.09)


def test_ete_greedy_is_wrong_case_b() -> None:
    v, a = [0.0, 0.1], [0.09, 0.25]
    # greedy takes (0.1, 0.09), then (0.0, 0.25) is out of window: (0.01 + 0.2 * 2) / 3
    assert _greedy_nearest_first(v, a, 0.2) == pytest.approx(0.41 / 3)
    # exact: (0.0, 0.09) + (0.1, 0.25) = 0.24 over 2 pairs = 0.12
    res = event_timing_error_detail(v, a, tau=0.2)
    assert res.ete == pytest.approx(0.12)
    assert res.pairs == [(0, 0), (1, 1)]


def test_ete_fewer_pairs_can_be_better() -> None:
    # max-cardinality matching would pair both at cost 0.19 each: E = 0.38 / 2 = 0.19;
    # the single zero-cost pair gives (0 + 0.2 * 2) / 3 = 0.1333
    v, a = [0.0, 0.19], [0.19, 0.38]
    res = event_timing_error_detail(v, a, tau=0.2)
    assert res.per_k[2] == pytest.approx(0.19)
    assert res.ete == pytest.approx(0.4 / 3)
    assert res.pairs == [(1, 0)]


def test_ete_empty_sets_and_out_of_window() -> None:
    assert event_timing_error([], []) == pytest.approx(0.2)  # failure, not a perfect score
    assert event_timing_error([], [], tau=0.3) == pytest.approx(0.3)
    assert event_timing_error([1.0, 2.0], []) == pytest.approx(0.2)
    assert event_timing_error([], [0.4]) == pytest.approx(0.2)
    # 0.3 s apart: no pair is closer than tau -> all unmatched
    assert event_timing_error([0.5, 1.0], [0.8, 1.3]) == pytest.approx(0.2)
    # the window is strict: |v - a| == tau does not pair (0.25 - 0.0 exactly representable)
    assert event_timing_error([0.0], [0.25], tau=0.25) == pytest.approx(0.25)


def _brute_force_ete(v: list[float], a: list[float], tau: float) -> float:
    n, m = len(v), len(a)
    if n + m == 0:
        return tau
    best = tau  # empty matching
    for k in range(1, min(n, m) + 1):
        for vi in itertools.combinations(range(n), k):
            for aj in itertools.permutations(range(m), k):
                d = [abs(v[i] - a[j]) for i, j in zip(vi, aj, strict=True)]
                if max(d) < tau:
                    best = min(best, (sum(d) + tau * (n + m - 2 * k)) / (n + m - k))
    return best


def test_ete_matches_brute_force_on_random_sets() -> None:
    rng = np.random.default_rng(1234)
    for _ in range(60):
        n, m = rng.integers(0, 5, size=2)
        v = np.sort(rng.uniform(0, 1.0, n)).tolist()
        a = np.sort(rng.uniform(0, 1.0, m)).tolist()
        tau = float(rng.choice([0.1, 0.2, 0.3]))
        assert event_timing_error(v, a, tau) == pytest.approx(_brute_force_ete(v, a, tau), abs=1e-12)


def test_ete_order_of_inputs_does_not_matter() -> None:
    assert event_timing_error([0.1, 0.0], [0.19, 0.09]) == pytest.approx(0.09)


# ----------------------------------------------------------------------------- MAIC


def _segments(powers: list[float], seg: int = 10) -> np.ndarray:
    """A waveform whose t-th segment of ``seg`` samples has mean square ``powers[t]``."""
    return np.concatenate([np.full(seg, np.sqrt(p)) for p in powers])


def test_frame_log_energy_hand() -> None:
    w = _segments([1.0, np.e**2, np.e])
    np.testing.assert_allclose(frame_log_energy(w, 3, eps=0.0), [0.0, 2.0, 1.0], atol=1e-12)
    # the remainder (S % T samples) is dropped: a loud last sample changes nothing
    w2 = np.concatenate([w, [100.0]])
    np.testing.assert_allclose(frame_log_energy(w2, 3, eps=0.0), [0.0, 2.0, 1.0], atol=1e-12)


def test_maic_hand_value() -> None:
    # s = [0,1,0,1], e = [0,2,1,1]: sum dx dy = 1, sum dx^2 = 1, sum dy^2 = 2 -> 1/sqrt(2)
    w = _segments([1.0, np.e**2, np.e, np.e])
    assert motion_audio_intensity_correlation([0, 1, 0, 1], w, eps=0.0) == pytest.approx(1 / np.sqrt(2))
    assert motion_audio_intensity_correlation([1, 0, 1, 0], w, eps=0.0) == pytest.approx(-1 / np.sqrt(2))
    assert pearson([0, 1, 0, 1], [0, 2, 1, 1]) == pytest.approx(1 / np.sqrt(2))


def test_maic_zero_variance_is_zero() -> None:
    w = _segments([1.0, 4.0, 9.0, 2.0])
    assert motion_audio_intensity_correlation([3.0, 3.0, 3.0, 3.0], w) == 0.0  # still object
    assert motion_audio_intensity_correlation([1.0, 2.0, 3.0, 4.0], np.zeros(40)) == 0.0  # silence
    assert motion_audio_intensity_correlation([1.0], w) == 0.0
    assert pearson([1.0, 1.0], [2.0, 3.0]) == 0.0


# ----------------------------------------------------------------------------- APCC


def test_kinetic_energy_change_hand() -> None:
    assert kinetic_energy_change(2.0, 3.0, 1.0) == pytest.approx(-8.0)  # 1/2 * 2 * (1 - 9)
    assert kinetic_energy_change(2.0, [3.0, 4.0], [0.0, 1.0]) == pytest.approx(-24.0)  # 1/2*2*(1-25)
    assert impact_delta_ke({"delta_ke_J": -1.5, "mass_kg": 9}) == -1.5
    assert impact_delta_ke({"mass_kg": 0.5, "v_pre": 2.0, "v_post": -1.0}) == pytest.approx(-0.75)
    with pytest.raises(ValueError, match="delta_ke_J"):
        impact_delta_ke({"time_s": 1.0})


def test_apcc_delta_hand() -> None:
    classes = ["drop"] * 3 + ["roll"] * 4 + ["slide"]
    ke = [1, 2, 3] + [1, 2, 3, 4] + [5]
    ref = [1, 2, 3] + [1, 2, 3, 4] + [1]  # r_ref = 1 in both classes
    gen = [3, 2, 1] + [2, 4, 6, 8] + [1]  # r_gen = -1 (drop), +1 (roll)
    res = apcc_delta(classes, ke, ref, gen)
    assert res.r_ref == pytest.approx({"drop": 1.0, "roll": 1.0})
    assert res.r_gen == pytest.approx({"drop": -1.0, "roll": 1.0})
    assert res.delta == pytest.approx((2.0 + 0.0) / 2)  # 'slide' (one impact) is left out
    assert res.counts["slide"] == 1
    assert np.isnan(apcc_delta(["a"], [1.0], [1.0], [1.0]).delta)
    assert apcc([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    # the magnitude of the change is correlated: losses reported as negative changes give the same r
    assert apcc([-1, -2, -3], [2, 4, 6]) == pytest.approx(1.0)
    assert apcc_delta(["a"] * 3, [-1, -2, -3], [1, 2, 3], [3, 2, 1]).delta == pytest.approx(2.0)


# ----------------------------------------------------------------------------- TE


def test_trajectory_error_hand() -> None:
    cond = np.array([[[0.0, 0.0]], [[3.0, 4.0]]])  # [T=2, N=1, 2]
    meas = np.zeros((2, 1, 2))
    px, frac = trajectory_error(cond, meas, width=30, height=40)  # distances 0, 5; diagonal 50
    assert px == pytest.approx(2.5)
    assert frac == pytest.approx(0.05)
    px, _ = trajectory_error(cond, meas, 30, 40, measured_visible=np.array([[True], [False]]))
    assert px == pytest.approx(0.0)
    px, frac = trajectory_error(cond, meas, 30, 40, cond_visible=np.zeros((2, 1), bool))
    assert np.isnan(px) and np.isnan(frac)
    with pytest.raises(ValueError, match="tracks"):
        trajectory_error(cond, np.zeros((2, 2, 2)), 30, 40)


# ----------------------------------------------------------------------------- AV-Align


def test_local_max_times_hand() -> None:
    # strict maxima at index 1 and 6; the plateau at 3-4 is not a strict maximum
    assert local_max_times([0, 1, 0, 2, 2, 0, 3, 1], fps=10).tolist() == pytest.approx([0.1, 0.6])
    assert local_max_times([1, 2], fps=10).size == 0


def test_av_align_iou_hand() -> None:
    # hits: 0.1~0.12 and 0.9~0.9 -> I = 2; IoU = 2 / (3 + 3 - 2)
    assert av_align_iou([0.1, 0.5, 0.9], [0.12, 0.9, 1.5], fps=10) == pytest.approx(0.5)
    # the window is strict: exactly one frame apart is not a hit (fps 4 -> 0.25 s, exact)
    assert av_align_iou([0.5], [0.25], fps=4) == 0.0
    # one-to-one: three onsets around one flow peak give 1 / (3 + 1 - 1), never > 1
    assert av_align_iou([0.50, 0.52, 0.54], [0.51], fps=10) == pytest.approx(1 / 3)
    assert av_align_iou([], [], fps=10) == 0.0
    assert av_align_iou([0.3], [0.3], fps=10) == 1.0


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 2.0)
    base = (base - base.min()) / (base.max() - base.min()) * 255
    return base.astype(np.uint8)


def test_flow_magnitudes_global_shift() -> None:
    img = _textured(64, 96)
    shifts = [0, 1, 1, 4, 1, 1]  # pixels moved between frame t-1 and t (t >= 1)
    xs = np.cumsum(shifts)
    frames = np.stack([np.repeat(np.roll(img, int(x), axis=1)[..., None], 3, axis=2) for x in xs])
    mags = flow_magnitudes(frames)
    assert mags.shape == (6,)
    assert mags[0] == mags[1]  # frame 0 reuses the first pair's flow
    # interior pixels move by the shift; borders (roll wrap-around) pull the mean a little
    np.testing.assert_allclose(mags[[1, 2, 4, 5]], 1.0, rtol=0.25)
    assert mags[3] == pytest.approx(4.0, rel=0.25)
    assert local_max_times(mags, fps=10).tolist() == pytest.approx([0.3])
    # float 0..1 frames give the same answer as uint8
    np.testing.assert_allclose(flow_magnitudes(frames.astype(np.float32) / 255.0), mags, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- onset acc / AP


def test_onset_accuracy_and_ap_hand() -> None:
    ref = [0.5, 1.0, 1.5]
    gen = [0.52, 1.3, 1.55, 2.0]
    scores = [0.9, 0.8, 0.5, 0.3]
    m = match_onsets(ref, gen, scores, delta_s=0.1)
    assert m.pairs == [(0, 0), (2, 2)]
    assert m.accuracy == pytest.approx(2 / 3)
    assert m.count_ok is False
    # ranked: TP(0.9) FP(0.8) TP(0.5) FP(0.3); AP = 1/3 * 1 + 1/3 * 2/3 = 5/9
    assert m.ap == pytest.approx(5 / 9)


def test_onset_match_prefers_highest_score_in_window() -> None:
    m = match_onsets([1.0], [0.95, 1.02], [0.9, 0.1])
    assert m.pairs == [(0, 0)]  # the stronger onset, not the nearer one
    assert m.ap == pytest.approx(1.0)  # the TP ranks first
    m = match_onsets([1.0], [0.95, 1.02], [0.1, 0.9])
    assert m.pairs == [(0, 1)]


def test_onset_match_conventions() -> None:
    m = match_onsets([], [0.3, 0.6], [1.0, 2.0])
    assert (m.accuracy, m.ap, m.count_ok) == (0.0, 0.0, False)
    m = match_onsets([0.3], [])
    assert (m.accuracy, m.ap, m.count_ok) == (0.0, 0.0, False)
    m = match_onsets([0.3, 0.6], [0.31, 0.62])
    assert (m.accuracy, m.ap, m.count_ok) == (1.0, 1.0, True)


def test_average_precision_agrees_with_sklearn_when_all_positives_retrieved() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    for _ in range(20):
        scores = rng.uniform(size=12)
        tp = rng.uniform(size=12) < 0.5
        tp[0] = True
        ours = average_precision(scores, tp, int(tp.sum()))
        assert ours == pytest.approx(sklearn_metrics.average_precision_score(tp, scores))
    # ties form one step: 2 detections tied, one TP of 1 positive -> P = 1/2 at R = 1
    assert average_precision([0.5, 0.5], [True, False], 1) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- onsets


def _bursts(times: list[float], sr: int, duration: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration * sr))
    n = int(0.08 * sr)
    env = np.exp(-np.arange(n) / sr / 0.015)
    for t in times:
        i = int(round(t * sr))
        m = min(n, y.size - i)
        y[i : i + m] += rng.standard_normal(m) * env[:m]
    return (y + 1e-3 * rng.standard_normal(y.size)).astype(np.float32)


@pytest.mark.parametrize("sr", [16000, 44100])
def test_detect_onsets_finds_bursts_within_10ms(sr: int) -> None:
    times = [0.31, 0.77, 1.13, 1.52]
    found = detect_onsets(_bursts(times, sr), sr)
    assert found.size == len(times)
    np.testing.assert_allclose(found, times, atol=0.011)
    # stereo [C, S] and batched [B, C, S] inputs are mixed to mono
    stereo = np.stack([_bursts(times, sr)] * 2)
    np.testing.assert_allclose(detect_onsets(stereo[None], sr), found)


def _click_on_floor(seed: int, texture_dbfs: float | None, sr: int = 16000) -> np.ndarray:
    """4 s: white noise floor at -70 dBFS RMS, a 1 ms-decay noise click peaking at -6 dBFS at 1.0 s,
    and optionally a band-passed (200-1500 Hz) noise texture at ``texture_dbfs`` RMS (a rolling rumble)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = 4 * sr
    y = rng.standard_normal(n) * 10 ** (-70 / 20)
    if texture_dbfs is not None:
        tex = sosfilt(butter(4, [200, 1500], btype="band", fs=sr, output="sos"), rng.standard_normal(n))
        y += tex * 10 ** (texture_dbfs / 20) / np.sqrt(np.mean(tex**2))
    length = int(0.02 * sr)
    click = rng.standard_normal(length) * np.exp(-np.arange(length) / sr / 0.001)
    y[sr : sr + length] += click * 10 ** (-6 / 20) / np.abs(click).max()
    return y.astype(np.float32)


@pytest.mark.parametrize("texture_dbfs", [None, -40.0])
def test_click_on_noise_floor_gives_exactly_one_onset(texture_dbfs: float | None) -> None:
    from kinesonic.metrics import OnsetParams

    old = OnsetParams(top_db=80.0, delta=0.07)  # the parameters before the level floor and delta 0.15
    old_counts = []
    for seed in range(4):
        y = _click_on_floor(seed, texture_dbfs)
        found = detect_onsets(y, 16000)
        assert found.size == 1
        assert abs(found[0] - 1.0) <= 0.01
        old_counts.append(detect_onsets(y, 16000, old).size)
    if texture_dbfs is not None:  # the old parameters fire on the texture's level fluctuations
        assert sum(old_counts) >= 4 + 4


def test_onset_envelope_matches_the_documented_formula() -> None:
    """Independent implementation of steps 2 and 4 of metrics.onsets (mel power by librosa, the
    rest in numpy) against :func:`onset_envelope` for lags 1 and 3."""
    import librosa

    from kinesonic.metrics import DEFAULT_ONSET_PARAMS as p
    from kinesonic.metrics import onset_envelope

    y = _click_on_floor(1, -40.0)
    mel = librosa.feature.melspectrogram(
        y=y, sr=16000, n_fft=p.n_fft, hop_length=p.hop_length, n_mels=p.n_mels, pad_mode="reflect"
    )
    s_db = 10 * np.log10(np.maximum(mel, 1e-10))
    s_db = np.maximum(s_db, s_db.max() - p.top_db)
    for lag in (1, 3):
        flux = np.maximum(0.0, s_db[:, lag:] - s_db[:, :-lag]).mean(axis=0)
        # frame k reports the rise into frame k - 1 (librosa's centring shift of n_fft // (2 hop) frames)
        shift = lag + p.n_fft // (2 * p.hop_length)
        expected = np.r_[np.zeros(shift), flux][: mel.shape[1]]
        env, times = onset_envelope(y, 16000, lag=lag)
        np.testing.assert_allclose(env, expected, atol=1e-4)
        np.testing.assert_allclose(times, np.arange(env.size) * 0.01)


def test_metrics_are_deterministic() -> None:
    y = _bursts([0.4, 0.9, 1.6], 16000, seed=3)
    a1, a2 = detect_onsets(y, 16000), detect_onsets(y.copy(), 16000)
    np.testing.assert_array_equal(a1, a2)
    assert event_timing_error([0.4, 0.9], a1) == event_timing_error([0.4, 0.9], a2)


def test_flow_magnitudes_downscaled_keeps_pixels_of_the_original() -> None:
    img = _textured(128, 192, seed=1)
    shifts = [0, 2, 2, 6, 2, 2]
    xs = np.cumsum(shifts)
    frames = np.stack([np.repeat(np.roll(img, int(x), axis=1)[..., None], 3, axis=2) for x in xs])
    full = flow_magnitudes(frames, max_side=None)
    small = flow_magnitudes(frames, max_side=96)  # analysed at half size, reported in full-size px
    np.testing.assert_allclose(small, full, rtol=0.3)
    assert local_max_times(small, 10).tolist() == local_max_times(full, 10).tolist() == pytest.approx([0.3])


def test_onset_strength_follows_loudness_not_hop_phase() -> None:
    from kinesonic.metrics.apcc import impact_onset_strengths

    sr = 16000
    values = {}
    for amp in (0.1, 0.4):
        for phase in np.linspace(0.0, 0.01, 5):  # where the click falls between two 10 ms hops
            rng = np.random.default_rng(0)
            y = 1e-4 * rng.standard_normal(sr)
            n = 1600
            i = int((0.5 + phase) * sr)
            y[i : i + n] += amp * rng.standard_normal(n) * np.exp(-np.arange(n) / sr / 0.012)
            values.setdefault(amp, []).append(impact_onset_strengths(y, sr, [0.5 + phase])[0])
    quiet, loud = np.array(values[0.1]), np.array(values[0.4])
    # 4x louder (+12 dB) is always stronger, whatever the phase
    assert loud.min() > quiet.max()
