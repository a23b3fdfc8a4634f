"""The virtual sensor's synthesis engine: contract, truth, physics and the command line."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import signal

from detector.plm import find_plm_series
from detector.recording import load_recording, save_recording, truth_path
from hardware.virtual_sensor import frontend, physiology, refs
from hardware.virtual_sensor.__main__ import main
from hardware.virtual_sensor.scenarios import PRESETS, Scenario, preset
from hardware.virtual_sensor.synth import Synthesis, generate, synthesize
from hardware.virtual_sensor.timeline import Timeline, build_timeline

REPO = Path(__file__).resolve().parents[2]

DURATION_LIMITS = {
    "twitch": (0.05, 0.5),
    "hypnic_jerk": (0.15, 1.0),
    "limb_movement": (0.5, 10.0),
    "gross_movement": (10.0, 45.0),
}
AMPLITUDE_LIMITS = {
    "twitch": (1.0, 20.0),
    "hypnic_jerk": (20.0, 200.0),
    "limb_movement": (3.0, 50.0),
    "gross_movement": (100.0, 1000.0),
}
QUIET = {
    "twitches_per_h": 0.0,
    "twitch_clusters_per_h": 0.0,
    "limb_movements_per_h": 0.0,
    "plm_episodes_per_h": 0.0,
    "gross_movements_per_h": 0.0,
    "wake_periods_per_h": 0.0,
    "building_vibrations_per_h": 0.0,
}


@functools.cache
def _synth(name: str, seed: int, minutes: float, **changes: Any) -> Synthesis:
    sc = dataclasses.replace(preset(name).with_duration(minutes * 60.0), **changes)
    return synthesize(sc, seed, components=True)


def _spectrum(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    f, p = signal.welch(x - x.mean(), fs=fs, nperseg=4096)
    return f, p


# -- contract -------------------------------------------------------------------------------


def test_ten_minute_two_channel_round_trip(tmp_path: Path) -> None:
    rec = generate("full_night", 3, minutes=10)
    assert rec.samples.dtype == np.int16
    assert rec.samples.shape == (150_000, 2)
    assert rec.channels == ("torso", "legs")
    path = save_recording(rec, tmp_path / "night.npz")
    assert truth_path(path).exists()
    back = load_recording(path)
    assert np.array_equal(back.samples, rec.samples)
    assert (back.fs, back.start, back.channels) == (rec.fs, rec.start, rec.channels)
    assert back.truth == json.loads(json.dumps(rec.truth))
    truth = back.truth
    assert truth is not None
    assert {"events", "plm_series", "in_bed", "summary", "partner_events", "scenario"} <= set(truth)
    assert truth["events"], "a 10-minute night has at least entry and exit movements"
    for e in truth["events"]:
        assert set(e) == {"type", "onset", "duration", "channel", "amplitude"}
    assert truth["scenario"]["name"] == "full_night"
    assert truth["scenario"]["seed"] == 3
    # empty -> entry ... exit -> empty
    (bed,) = truth["in_bed"]
    assert 0 < bed["onset"] < bed["end"] < rec.duration_s
    kinds = [e["type"] for e in truth["events"]]
    assert kinds[0] == kinds[-1] == "gross_movement"
    assert truth["events"][0]["onset"] == bed["onset"]
    last = truth["events"][-1]
    assert last["onset"] + last["duration"] == pytest.approx(bed["end"], abs=1e-5)


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    a = generate("partner", 11, minutes=3)
    b = generate("partner", 11, minutes=3)
    c = generate("partner", 12, minutes=3)
    assert np.array_equal(a.samples, b.samples)
    assert json.dumps(a.truth) == json.dumps(b.truth)
    assert not np.array_equal(a.samples, c.samples)


# -- truth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "minutes", "seed"),
    [
        ("full_night", 60, 1),
        ("plmd", 40, 2),
        ("rls_evening", 30, 3),
        ("hypnic_onset", 15, 4),
        ("myoclonus_clusters", 20, 5),
        ("partner", 20, 6),
    ],
)
def test_truth_is_consistent(name: str, minutes: float, seed: int) -> None:
    syn = _synth(name, seed, minutes)
    truth = syn.recording.truth
    assert truth is not None
    events = truth["events"]
    assert events
    beds = [(iv["onset"], iv["end"]) for iv in truth["in_bed"]]
    for e in events:
        lo, hi = DURATION_LIMITS[e["type"]]
        assert lo <= e["duration"] <= hi, e
        if e["type"] == "twitch":
            assert e["duration"] < 0.5
        if e["type"] == "gross_movement":
            assert e["duration"] > 10.0
        alo, ahi = AMPLITUDE_LIMITS[e["type"]]
        assert alo * 0.999 <= e["amplitude"] <= ahi * 1.001, e
        assert e["channel"] in ("torso", "legs", None)
        end = e["onset"] + e["duration"]
        assert any(a - 1e-6 <= e["onset"] and end <= b + 1e-6 for a, b in beds), e
    for prev, nxt in itertools.pairwise(events):
        assert nxt["onset"] >= prev["onset"] + prev["duration"] + 1.0, (prev, nxt)
    # PLM series and summary agree with the events
    moves = [e for e in events if e["type"] in ("limb_movement", "gross_movement")]
    series = find_plm_series([e["onset"] for e in moves], [e["duration"] for e in moves])
    assert [s["count"] for s in truth["plm_series"]] == [s.count for s in series]
    summary = truth["summary"]
    hours = sum(b - a for a, b in beds) / 3600
    assert summary["time_in_bed_s"] == pytest.approx(hours * 3600, abs=1e-3)
    twitches = sum(e["type"] == "twitch" for e in events)
    assert summary["twitch_count"] == twitches
    assert summary["twitches_per_hour"] == pytest.approx(twitches / hours, abs=1e-3)
    assert summary["plm_index"] == pytest.approx(sum(s.count for s in series) / hours, abs=1e-3)
    assert summary["hypnic_jerk_count"] == sum(e["type"] == "hypnic_jerk" for e in events)
    assert summary["gross_movement_count"] == sum(e["type"] == "gross_movement" for e in events)


def _plans(name: str, seeds: range) -> list[Timeline]:
    sc = preset(name)
    return [build_timeline(sc, np.random.default_rng(seed), 3.0) for seed in seeds]


def _plm_index(plan: Timeline) -> float:
    moves = [e for e in plan.events if e.kind in ("limb_movement", "gross_movement")]
    series = find_plm_series([e.onset_s for e in moves], [e.duration_s for e in moves])
    hours = sum(b - a for a, b in plan.in_bed) / 3600
    return sum(s.count for s in series) / hours


def test_scenarios_produce_their_signature_events() -> None:
    seeds = range(8)
    assert np.median([_plm_index(p) for p in _plans("plmd", seeds)]) > 15
    assert np.median([_plm_index(p) for p in _plans("healthy", seeds)]) < 5
    for plan in _plans("rls_evening", seeds):
        onsets = np.array([e.onset_s for e in plan.events if e.context == "rls"])
        gaps = np.diff(onsets)
        assert np.sum((gaps > 10.5) & (gaps < 12.5)) >= 20  # restless LMs every ~11-12 s
        assert any(e.kind == "gross_movement" and e.context == "rls" for e in plan.events)
    for plan in _plans("hypnic_onset", seeds):
        jerks = [e for e in plan.events if e.kind == "hypnic_jerk"]
        assert jerks
        # in the first minutes after getting into bed or after a quiet wake period
        assert all(j.onset_s - plan.in_bed[0][0] < 20 * 60 for j in jerks)
        assert all(j.hr_rise >= 0.15 for j in jerks)
    amps = np.array(
        [
            e.amplitude
            for p in _plans("myoclonus_clusters", seeds)
            for e in p.events
            if e.kind == "twitch"
        ]
    )
    assert amps.size > 8 * 40
    for lo, hi in ((1, 3), (3, 10), (10, 20)):
        assert np.mean((amps >= lo) & (amps < hi)) > 0.1
    assert all(not p.events and not p.in_bed for p in _plans("empty_bed", seeds))


def _beat_peaks(hb: np.ndarray, fs: float, a: float, b: float) -> float:
    """Median per-beat peak of |heartbeat component| between a and b, found independently."""
    seg = np.abs(hb[int(a * fs) + int(fs) : int(b * fs) - int(fs)])
    peaks, _ = signal.find_peaks(seg, distance=int(0.45 * fs), height=0.3 * np.percentile(seg, 99))
    return float(np.median(seg[peaks]))


@pytest.mark.parametrize(("channels", "highpass_hz"), [(2, 0.5), (1, 0.22), (2, 2.2)])
def test_amplitude_is_movement_peak_over_heartbeat_amplitude(
    channels: int, highpass_hz: float
) -> None:
    syn = _synth(
        "full_night", 8, 45, channels=channels, highpass_hz=highpass_hz, gain_counts_per_unit=37.0
    )
    truth = syn.recording.truth
    assert truth is not None
    fs = syn.recording.fs
    names = syn.recording.channels
    hb_comp, moves = syn.components["heartbeat"], syn.components["movements"]
    # the stated heartbeat amplitude matches an independent measurement of the BCG component
    for post in truth["heartbeat"]:
        if post["end"] - post["onset"] < 20:
            continue
        for ch, name in enumerate(names):
            measured = _beat_peaks(hb_comp[:, ch], fs, post["onset"], post["end"])
            assert measured == pytest.approx(post["amplitude"][name], rel=0.08)
    # The high-pass tail of one movement (at most its peak at its end: a gross movement's posture
    # step; then decaying with tau) adds to the next one's measured peak; check only movements
    # where that is below 0.05 %.
    tau = 1.0 / (2 * math.pi * highpass_hz)
    checked = 0
    previous: dict[str, Any] | None = None
    for e in truth["events"]:
        if previous is not None:
            gap = e["onset"] - previous["onset"] - previous["duration"]
            if gap < tau * math.log(2000.0 * previous["amplitude"] / e["amplitude"]):
                previous = e
                continue
        previous = e
        post = next(
            (p for p in truth["heartbeat"] if p["onset"] <= e["onset"] < p["end"]),
            truth["heartbeat"][0],
        )
        i0 = round(e["onset"] * fs)
        i1 = i0 + round(e["duration"] * fs) + 1
        ratios = {
            name: float(np.max(np.abs(moves[i0:i1, ch]))) / post["amplitude"][name]
            for ch, name in enumerate(names)
        }
        if e["channel"] is None:
            assert max(ratios.values()) == pytest.approx(e["amplitude"], rel=2e-3)
        else:
            assert ratios[e["channel"]] == pytest.approx(e["amplitude"], rel=2e-3)
            assert ratios[e["channel"]] == max(ratios.values())
        checked += 1
    assert checked >= 10


def test_breathing_is_four_to_seven_heartbeats() -> None:
    syn = _synth("healthy", 3, 6, highpass_hz=0.05, **QUIET)
    truth = syn.recording.truth
    assert truth is not None
    fs = syn.recording.fs
    resp = syn.components["respiration"][:, 0]
    win = int(10 * fs)
    rms = np.sqrt(np.convolve(resp**2, np.ones(win) / win, mode="valid"))
    breath_amplitude = math.sqrt(2) * float(np.median(rms))
    ratio = breath_amplitude / truth["heartbeat"][0]["amplitude"]["torso"]
    assert 3.5 < ratio < 8.0


# -- physiology -----------------------------------------------------------------------------


def test_bcg_template_shape() -> None:
    rng = np.random.default_rng(0)
    fs = 500.0
    t = np.arange(0, physiology.TEMPLATE_S, 1 / fs)
    for _ in range(20):
        tpl = physiology.posture_variant(physiology.subject_template(rng), rng)
        x = tpl.evaluate(t)
        assert np.max(np.abs(x)) == pytest.approx(1.0, abs=5e-3)
        assert 0.2 <= t[np.argmax(np.abs(x))] <= 0.25
        f = np.fft.rfftfreq(8192, 1 / fs)
        power = np.abs(np.fft.rfft(x, 8192)) ** 2
        assert power[(f >= 4) & (f <= 10)].sum() / power.sum() > 0.75


def test_heart_rate_rise_after_event() -> None:
    rr = np.full(60, 1.0)
    out = physiology.apply_hr_rises(rr, 0.0, [(20.5, 0.25, 12)])
    assert np.array_equal(out[:20], rr[:20])
    assert 0.74 < out.min() < 0.8
    assert np.all(out[20:32] < 1.0)
    assert np.array_equal(out[32:], rr[32:])


def test_beat_rate_matches_real_rr_data() -> None:
    syn = _synth("healthy", 21, 4, **QUIET)
    rec = syn.recording
    truth = rec.truth
    assert truth is not None
    src = truth["scenario"]["sources"]["sleeper"]
    rr_ms = np.load(refs.default_refs_dir() / src["rr_file"])["rr_ms"].astype(float)
    rr = np.tile(rr_ms, 2)[src["rr_offset_beats"] :] / 1000.0
    expected = int(np.searchsorted(np.cumsum(rr), rec.duration_s))
    # count beats in the int16 torso signal: 4-12 Hz band, envelope, one peak per beat
    sos = signal.butter(2, (4.0, 12.0), btype="bandpass", fs=rec.fs, output="sos")
    env = np.abs(signal.sosfiltfilt(sos, rec.samples[:, 0].astype(float)))
    env = signal.sosfiltfilt(signal.butter(2, 3.0, fs=rec.fs, output="sos"), env)
    peaks, _ = signal.find_peaks(env, distance=int(0.42 * rec.fs), prominence=0.3 * env.std())
    assert len(peaks) == pytest.approx(expected, rel=0.06)


def test_refs_dir_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(refs.RefsError, match="not found"):
        refs.find_subjects(tmp_path / "missing")
    with pytest.raises(refs.RefsError, match="need at least 2"):
        refs.find_subjects(tmp_path)
    monkeypatch.setenv(refs.ENV_VAR, str(tmp_path / "elsewhere"))
    assert refs.default_refs_dir() == tmp_path / "elsewhere"
    with pytest.raises(refs.RefsError, match="SLEEP_MYOCLONUS_BCG_REFS"):
        generate("healthy", 0, minutes=1)
    monkeypatch.delenv(refs.ENV_VAR)
    assert refs.default_refs_dir() == REPO.parent / "shared" / "data" / "bcg-refs"
    assert len(refs.find_subjects()) >= 4


# -- front end ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fs", "mains", "alias"), [(100.0, 60, 40.0), (250.0, 60, 60.0), (100.0, 50, 50.0)]
)
def test_hum_aliases_like_a_real_adc(fs: float, mains: int, alias: float) -> None:
    rec = _synth("noisy", 1, 3, fs_hz=fs, hum_hz=mains, **QUIET).recording
    f, p = _spectrum(rec.samples[:, 0].astype(float), fs)
    band = f > 15.0
    assert f[band][np.argmax(p[band])] == pytest.approx(alias, abs=0.3)


def test_quantisation_and_clipping_at_rails() -> None:
    # full_night always has entry and exit movements (200-1000x the heartbeat)
    loud = _synth("full_night", 2, 5, gain_counts_per_unit=3000.0)
    x = loud.recording.samples
    assert x.dtype == np.int16
    assert x.max() == 32767
    assert x.min() == -32768
    twelve = _synth("full_night", 2, 5, adc_bits=12, gain_counts_per_unit=300.0)
    y = twelve.recording.samples
    assert y.max() == 2047
    assert y.min() == -2048
    assert frontend.quantise(np.array([0.4, 0.6, -0.6, 1e9, -1e9]), 16).tolist() == [
        0,
        1,
        -1,
        32767,
        -32768,
    ]


@pytest.mark.parametrize("corner_hz", [0.22, 0.5, 2.2])
def test_saturation_recovers_with_rc(corner_hz: float) -> None:
    fs = 250.0
    force = np.zeros(6000)
    force[1000:] = 50.0  # a step far beyond the clamp
    y = frontend.highpass_clamped(force, fs, corner_hz, clamp=1.0)
    assert y[1000] == 1.0
    tau = 1.0 / (2 * math.pi * corner_hz)
    for k in (1.0, 2.0):
        assert y[1000 + round(k * tau * fs)] == pytest.approx(math.exp(-k), rel=0.03)
    # without the clamp the same filter is linear
    rng = np.random.default_rng(0)
    small = rng.standard_normal(5000).cumsum() * 0.01
    assert np.allclose(
        frontend.highpass_clamped(small, fs, corner_hz, 1e9),
        frontend.highpass(small, fs, corner_hz),
    )


def test_posture_step_recovers_with_rc_after_gross_movement() -> None:
    syn = _synth("full_night", 2, 5, gain_counts_per_unit=3000.0)
    truth = syn.recording.truth
    assert truth is not None
    fs = syn.recording.fs
    tau = 1.0 / (2 * math.pi * 0.5)
    entry = truth["events"][0]
    end = round((entry["onset"] + entry["duration"]) * fs)
    moves = syn.components["movements"][:, 0]
    y0 = moves[end]
    assert abs(y0) > 1000.0  # the new static load leaves a large transient
    for k in (1.0, 2.0, 3.0):
        assert moves[end + round(k * tau * fs)] / y0 == pytest.approx(math.exp(-k), rel=0.05)
    # on the device the same transient starts from the clipped rail and is gone within 8 tau
    x = syn.recording.samples[:, 0].astype(float)
    assert np.max(np.abs(x[end - round(0.2 * fs) : end])) >= 32000
    rest = x - syn.components["heartbeat"][:, 0] - syn.components["respiration"][:, 0]
    settled = np.median(rest[end + round(10 * fs) : end + round(20 * fs)])
    assert abs(rest[end + 2] - settled) > 10_000
    later = rest[end + round(8 * tau * fs) : end + round(10 * tau * fs)]
    assert np.max(np.abs(later - settled)) < 1000


def test_empty_bed_has_no_events_and_no_heartbeat() -> None:
    empty = _synth("empty_bed", 4, 4)
    truth = empty.recording.truth
    assert truth is not None
    assert truth["events"] == []
    assert truth["in_bed"] == []
    assert truth["partner_events"] == []
    assert truth["summary"]["twitch_count"] == 0
    assert truth["summary"]["plm_index"] == 0
    assert not np.any(empty.components["heartbeat"])
    occupied = _synth("healthy", 4, 4, **QUIET)
    fs = empty.recording.fs

    def cardiac_power(x: np.ndarray) -> float:
        f, p = _spectrum(x.astype(float), fs)
        return float(p[(f >= 4) & (f <= 10)].sum())

    ratio = cardiac_power(empty.recording.samples[:, 0]) / cardiac_power(
        occupied.recording.samples[:, 0]
    )
    assert ratio < 0.05


def test_partner_is_present_but_not_an_event() -> None:
    syn = _synth("partner", 6, 20)
    truth = syn.recording.truth
    assert truth is not None
    assert truth["partner_events"]
    own = {(e["onset"], e["duration"]) for e in truth["events"]}
    assert not any((p["onset"], p["duration"]) in own for p in truth["partner_events"])
    for p in truth["partner_events"]:
        assert 0.05 <= p["coupling"] <= 0.2
    assert np.max(np.abs(syn.components["partner"])) > 0
    assert (
        truth["scenario"]["sources"]["partner"]["subject"]
        != (truth["scenario"]["sources"]["sleeper"]["subject"])
    )


@pytest.mark.parametrize(("fs", "channels"), [(100.0, 1), (173.5, 2), (250.0, 1), (500.0, 2)])
def test_any_rate_and_channel_count(fs: float, channels: int) -> None:
    rec = generate(
        dataclasses.replace(preset("full_night"), fs_hz=fs, channels=channels).with_duration(150),
        7,
    )
    assert rec.samples.shape == (round(150 * fs), channels)
    assert rec.fs == fs
    assert rec.channels == ("torso", "legs")[:channels]
    assert rec.truth is not None
    for e in rec.truth["events"]:
        assert e["channel"] in (*rec.channels, None)
        assert round(e["onset"] * fs) == pytest.approx(e["onset"] * fs, abs=1e-3)


def test_scenario_validation() -> None:
    assert set(PRESETS) >= {
        "healthy",
        "plmd",
        "rls_evening",
        "hypnic_onset",
        "myoclonus_clusters",
        "noisy",
        "partner",
        "empty_bed",
        "full_night",
    }
    assert PRESETS["full_night"].duration_s == 8 * 3600
    for bad in ({"fs_hz": 99.0}, {"channels": 3}, {"hum_hz": 55}, {"gain_counts_per_unit": 0.0}):
        with pytest.raises(ValueError, match="scenario"):
            Scenario(**bad)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="healthy"):
        preset("nope")


# -- command line ---------------------------------------------------------------------------


def test_cli_writes_a_valid_recording(tmp_path: Path) -> None:
    out = tmp_path / "ten.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "hardware.virtual_sensor", "write", str(out), "--scenario",
         "full_night", "--minutes", "10", "--channels", "2", "--seed", "5"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1
    assert "full_night" in proc.stdout
    rec = load_recording(out)
    assert rec.samples.shape == (150_000, 2)
    assert rec.truth is not None
    assert rec.truth["scenario"]["seed"] == 5


def test_cli_options_and_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in PRESETS)
    out = tmp_path / "x.npz"
    args = ["write", str(out), "--scenario", "noisy", "--minutes", "1", "--fs", "100"]
    assert main([*args, "--channels", "1", "--gain", "50", "--hum", "60", "--seed", "2"]) == 0
    rec = load_recording(out)
    assert rec.samples.shape == (6000, 1)
    assert rec.truth is not None
    assert rec.truth["scenario"]["hum_hz"] == 60
    assert rec.truth["scenario"]["gain_counts_per_unit"] == 50


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["write"],
        ["write", "x.npz", "--scenario", "nope"],
        ["write", "x.npz", "--scenario", "healthy", "--fs", "50"],
        ["write", "x.npz", "--scenario", "healthy", "--fs", "fast"],
        ["write", "x.npz", "--scenario", "healthy", "--channels", "3"],
        ["write", "x.npz", "--scenario", "healthy", "--hum", "55"],
        ["write", "x.npz", "--scenario", "healthy", "--minutes", "0"],
        ["write", "x.npz", "--scenario", "healthy", "--gain", "-1"],
        ["write", "x.npz", "--scenario", "healthy", "--seed", "-3"],
    ],
)
def test_cli_refuses_bad_arguments(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "error" in err
    assert not (tmp_path / "x.npz").exists()
