"""Frame sequence classes: ok, duplicate, late, gap (exact count), reboot; wrap-around; pickling."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.protocol import Frame, decode_frame, encode_frame
from detector.sequence import FrameClass, SequenceTracker

N = 125


def frame(seq: int, sample0: int, boot_id: int = 1, n: int = N) -> Frame:
    return decode_frame(
        encode_frame(np.zeros(n, np.int16), seq=seq, boot_id=boot_id, sample0=sample0, fs_hz=250)
    )


def classify_all(frames: list[Frame]) -> list[tuple[FrameClass, int]]:
    tracker = SequenceTracker()
    return [(v.kind, v.missing_samples) for v in map(tracker.classify, frames)]


def test_contiguous_stream_is_ok() -> None:
    assert classify_all([frame(i, i * N) for i in range(5)]) == [(FrameClass.OK, 0)] * 5


def test_lost_frames_are_a_gap_with_the_exact_sample_count() -> None:
    got = classify_all([frame(0, 0), frame(1, N), frame(4, 4 * N)])
    assert got[2] == (FrameClass.GAP, 2 * N)


def test_device_side_overflow_counts_samples_not_frames() -> None:
    """GAP_BEFORE on the device: seq is contiguous, sample0 jumps by exactly the dropped samples."""
    assert classify_all([frame(0, 0), frame(1, N + 17)])[1] == (FrameClass.GAP, 17)


def test_duplicate_and_late() -> None:
    frames = [
        frame(0, 0),
        frame(2, 2 * N),
        frame(2, 2 * N),
        frame(1, N),
        frame(1, N),
        frame(3, 3 * N),
    ]
    assert [k for k, _ in classify_all(frames)] == [
        FrameClass.OK,
        FrameClass.GAP,
        FrameClass.DUPLICATE,
        FrameClass.LATE,
        FrameClass.DUPLICATE,
        FrameClass.OK,
    ]


def test_new_boot_id_is_a_reboot_and_restarts_counting() -> None:
    frames = [frame(10, 10 * N), frame(0, 0, boot_id=2), frame(1, N, boot_id=2)]
    assert classify_all(frames) == [(FrameClass.OK, 0), (FrameClass.REBOOT, 0), (FrameClass.OK, 0)]


def test_samples_going_backwards_without_new_boot_is_a_reboot() -> None:
    assert classify_all([frame(5, 5 * N), frame(6, 0)])[1][0] is FrameClass.REBOOT


def test_counters_wrap_without_false_reboot() -> None:
    top = 2**32
    frames = [frame(top - 2, top - 2 * N), frame(top - 1, top - N), frame(0, 0), frame(2, 2 * N)]
    assert classify_all(frames) == [
        (FrameClass.OK, 0),
        (FrameClass.OK, 0),
        (FrameClass.OK, 0),
        (FrameClass.GAP, N),
    ]


def test_very_old_frame_outside_the_window_is_late() -> None:
    frames = [frame(0, 0), frame(1000, 1000 * N), frame(1, N)]
    assert [k for k, _ in classify_all(frames)] == [FrameClass.OK, FrameClass.GAP, FrameClass.LATE]


def test_counts_and_pickle_resume() -> None:
    tracker = SequenceTracker()
    for f in [frame(0, 0), frame(3, 3 * N), frame(3, 3 * N)]:
        tracker.classify(f)
    resumed = pickle.loads(pickle.dumps(tracker))
    assert resumed.counts[FrameClass.GAP] == 1
    assert resumed.counts[FrameClass.DUPLICATE] == 1
    assert resumed.missing_samples == 2 * N
    assert resumed.classify(frame(4, 4 * N)).kind is FrameClass.OK
    assert resumed.classify(frame(3, 3 * N)).kind is FrameClass.DUPLICATE
    assert len(pickle.dumps(resumed)) < 512


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_matches_an_oracle_on_lossy_reordered_streams(data: st.DataObject) -> None:
    """A brute-force oracle that remembers every frame agrees with the windowed tracker."""
    sent = data.draw(st.integers(5, 60))
    ops = data.draw(
        st.lists(st.sampled_from(["keep", "drop", "dup", "swap"]), min_size=sent, max_size=sent)
    )
    arrivals: list[int] = []
    for seq, op in enumerate(ops):
        if op == "drop":
            continue
        arrivals.append(seq)
        if op == "dup":
            arrivals.append(seq)
        if op == "swap" and len(arrivals) >= 2:
            arrivals[-1], arrivals[-2] = arrivals[-2], arrivals[-1]
    seen: set[int] = set()
    highest = -1
    expected: list[tuple[FrameClass, int]] = []
    for seq in arrivals:
        if seq in seen:
            expected.append((FrameClass.DUPLICATE, 0))
        elif seq < highest:
            expected.append((FrameClass.LATE, 0))
        else:
            missing = (seq - highest - 1) * N if highest >= 0 else 0
            expected.append((FrameClass.GAP, missing) if missing else (FrameClass.OK, 0))
            highest = seq
        seen.add(seq)
    assert classify_all([frame(s, s * N) for s in arrivals]) == expected


def test_missing_frames_count_skipped_sequence_numbers_even_when_they_arrive_late() -> None:
    tracker = SequenceTracker()
    for f in (frame(0, 0), frame(1, N), frame(4, 4 * N), frame(2, 2 * N), frame(5, 5 * N)):
        tracker.classify(f)
    assert tracker.missing_frames == 2  # seq 2 came too late to use; seq 3 never came
    assert tracker.missing_samples == 2 * N
