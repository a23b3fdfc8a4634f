"""Front end: brute-force oracle, chunking invariance, hum rejection, clipping flags."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.frontend import FrontEnd, FrontEndDesign, Ticks


def oracle(raw: np.ndarray, design: FrontEndDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample loops over explicit windows: slow and obviously right."""
    long_n, short_n = design.long_samples, design.tick_samples
    offset = (long_n - short_n) // 2
    x = raw.astype(np.int64)
    n_band = len(x) - long_n + 1
    k, c = design.high_lag, x.shape[1]
    band = np.zeros((n_band, 2 * c), np.int64)
    clip = np.zeros((n_band, c), bool)

    def short(start: int) -> np.ndarray:
        return x[start : start + short_n].sum(0)

    for j in range(n_band):
        band[j, :c] = long_n * short(j + offset) - short_n * x[j : j + long_n].sum(0)
        band[j, c:] = short(j + offset) - 2 * short(j + offset - k) + short(j + offset - 2 * k)
        clip[j] = (np.abs(x[j + offset : j + offset + short_n]) >= design.clip_level).any(0)
    ticks = n_band // short_n
    env = np.array([np.abs(band[k * short_n : (k + 1) * short_n]).max(0) for k in range(ticks)])
    clipped = np.array([clip[k * short_n : (k + 1) * short_n].any(0) for k in range(ticks)])
    sums = np.array(
        [x[k * short_n + offset : (k + 1) * short_n + offset].sum(0) for k in range(ticks)]
    )
    return env.reshape(ticks, -1), clipped.reshape(ticks, -1), sums.reshape(ticks, -1)


def run(raw: np.ndarray, design: FrontEndDesign, cuts: list[int]) -> Ticks:
    fe = FrontEnd(design, raw.shape[1])
    parts = [fe.process(chunk) for chunk in np.split(raw, sorted(cuts))]
    assert fe.samples_seen == len(raw)
    first = parts[0].first
    assert first == 0
    env = np.concatenate([p.envelope for p in parts])
    clip = np.concatenate([p.clipped for p in parts])
    starts = [p.first for p in parts]
    lengths = [len(p) for p in parts]
    assert starts == list(np.cumsum([0, *lengths[:-1]]))  # ticks are contiguous
    sums = np.concatenate([p.sums for p in parts])
    return Ticks(0, env, clip, sums)


@pytest.mark.parametrize("fs", [100.0, 128.0, 250.0, 500.0])
def test_matches_the_oracle(fs: float) -> None:
    design = FrontEndDesign(fs)
    rng = np.random.default_rng(int(fs))
    raw = rng.integers(-3000, 3000, (int(fs * 3), 2)).astype(np.int16)
    raw[int(fs) : int(fs) + 5, 1] = 32767
    env, clip, sums = oracle(raw, design)
    got = run(raw, design, [])
    np.testing.assert_array_equal(got.envelope, env)
    np.testing.assert_array_equal(got.clipped, clip)
    np.testing.assert_array_equal(got.sums, sums)
    assert clip[:, 1].any()
    assert not clip[:, 0].any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1500), max_size=12), st.sampled_from([100.0, 250.0, 333.0]))
def test_any_chunking_gives_identical_ticks(cuts: list[int], fs: float) -> None:
    design = FrontEndDesign(fs)
    rng = np.random.default_rng(7)
    raw = rng.integers(-32768, 32767, (1500, 1)).astype(np.int16)
    whole = run(raw, design, [])
    chunked = run(raw, design, cuts)
    np.testing.assert_array_equal(chunked.envelope, whole.envelope)
    np.testing.assert_array_equal(chunked.clipped, whole.clipped)
    np.testing.assert_array_equal(chunked.sums, whole.sums)


@pytest.mark.parametrize("fs", [100.0, 250.0, 500.0])
def test_rejects_50hz_hum_respiration_and_offset(fs: float) -> None:
    design = FrontEndDesign(fs)
    t = np.arange(int(fs * 10)) / fs
    slow = 8000 * np.sin(2 * np.pi * 0.25 * t) + 3000  # breathing + offset
    hum = 2000 * np.sin(2 * np.pi * 50 * t + 0.3)
    beat = 1000 * np.sin(2 * np.pi * 8 * t)
    quiet = run(np.round(slow + hum)[:, None].astype(np.int16), design, []).envelope[50:]
    loud = run(np.round(slow + hum + beat)[:, None].astype(np.int16), design, []).envelope[50:]
    # Relative to an 8 Hz signal 8x smaller than the breathing, breathing and hum nearly vanish
    # in both the band-pass (column 0) and the high band (column 1).
    assert quiet[:, 0].max() < 0.1 * np.median(loud[:, 0])
    assert quiet[:, 1].max() < 0.1 * np.median(loud[:, 1])


@pytest.mark.parametrize("fs", [100.0, 250.0, 500.0])
def test_high_band_favours_fast_content(fs: float) -> None:
    design = FrontEndDesign(fs)
    t = np.arange(int(fs * 10)) / fs

    def level(freq: float) -> tuple[float, float]:
        x = np.round(1000 * np.sin(2 * np.pi * freq * t))[:, None].astype(np.int16)
        env = run(x, design, []).envelope[50:]
        return float(np.median(env[:, 0])), float(np.median(env[:, 1]))

    beat_band, beat_high = level(6.0)
    twitch_band, twitch_high = level(min(30.0, 0.3 * fs))
    # Relative to the band-pass, the high band shows 30 Hz content several times more than 6 Hz.
    assert twitch_high / twitch_band > 4 * beat_high / beat_band


def test_design_validation() -> None:
    with pytest.raises(ValueError, match="fs_hz"):
        FrontEndDesign(10.0)
    design = FrontEndDesign(250.0)
    assert (design.tick_samples, design.long_samples, design.tick_hz) == (5, 51, 50.0)
    assert design.long_samples % 2 == design.tick_samples % 2
