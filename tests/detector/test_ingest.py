"""Per-bed ingest: malformed payloads counted by reason, duplicates dropped, gaps passed on."""

from __future__ import annotations

import numpy as np

from detector.ingest import BedIngest
from detector.protocol import FrameErrorReason, encode_frame
from detector.sequence import FrameClass


def payload(seq: int, boot_id: int = 7) -> bytes:
    return encode_frame(
        np.full(100, seq, np.int16), seq=seq, boot_id=boot_id, sample0=seq * 100, fs_hz=200
    )


def test_stream_with_every_kind_of_trouble() -> None:
    ingest = BedIngest()
    stream = [
        payload(0),
        payload(1),
        payload(1),
        b"",
        b'{"json": 1}',
        payload(3),
        payload(2),
        "text",
        payload(0, 8),
    ]
    accepted = [ingest.feed(p) for p in stream]  # type: ignore[arg-type]
    kept = [a for a in accepted if a is not None]
    assert [a.frame.seq for a in kept] == [0, 1, 3, 0]
    assert [a.verdict.kind for a in kept] == [
        FrameClass.OK,
        FrameClass.OK,
        FrameClass.GAP,
        FrameClass.REBOOT,
    ]
    assert kept[2].verdict.missing_samples == 100
    stats = ingest.stats
    assert stats.payloads == len(stream)
    assert stats.frames_accepted == 4
    assert stats.samples_accepted == 400
    assert stats.errors[FrameErrorReason.TOO_SHORT] == 1
    assert stats.errors[FrameErrorReason.BAD_MAGIC] == 1
    assert stats.errors[FrameErrorReason.NOT_BYTES] == 1
    assert stats.error_count == 3
    assert ingest.classes[FrameClass.DUPLICATE] == 1
    assert ingest.classes[FrameClass.LATE] == 1
    assert ingest.missing_samples == 100
