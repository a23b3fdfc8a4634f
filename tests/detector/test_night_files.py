"""Night report files: EDF+ read back with the independent reader edfio, header bytes against
the EDF/EDF+ specification, CSV read back with csv.DictReader."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import edfio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.analyze import analyze
from detector.night_files import RECORD_DURATION_S, night_csv, night_edf, write_night_files
from hardware.virtual_sensor.synth import generate

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = dt.datetime(2025, 1, 6, 22, 30, 0, tzinfo=AMSTERDAM)
TYPES = ("twitch", "hypnic_jerk", "limb_movement", "gross_movement")
LABELS = dict(zip(TYPES, ("twitch", "hypnic jerk", "limb movement", "gross movement"), strict=True))
Json = dict[str, Any]
Annotation = tuple[float, float, str]
PRINTABLE = re.compile(rb"[\x20-\x7e]*")

# EDF header with one signal, "name:width" in file order (edfplus.info/specs/edf.html)
LAYOUT = (
    "version:8 patient:80 recording:80 startdate:8 starttime:8 header_bytes:8 reserved:44 "
    "records:8 record_duration:8 signals:4 label:16 transducer:80 dimension:8 physical_min:8 "
    "physical_max:8 digital_min:8 digital_max:8 prefiltering:80 samples:8 signal_reserved:32"
)
HEADER_LAYOUT = [(name, int(width)) for name, width in (f.split(":") for f in LAYOUT.split())]


def header_fields(data: bytes) -> dict[str, str]:
    """Split the 512-byte header of a one-signal EDF file into its fields (raw, unstripped)."""
    fields: dict[str, str] = {}
    position = 0
    for name, width in HEADER_LAYOUT:
        raw = data[position : position + width]
        assert PRINTABLE.fullmatch(raw), (name, raw)
        fields[name] = raw.decode("ascii")
        position += width
    assert position == 512
    return fields


def record_tals(data: bytes) -> list[list[tuple[float, float | None, str]]]:
    """Parse the data records with a reader of our own: per record, its TALs in order."""
    fields = header_fields(data)
    record_bytes = 2 * int(fields["samples"])
    count = int(fields["records"])
    assert len(data) == 512 + count * record_bytes
    records = []
    for index in range(count):
        raw = data[512 + index * record_bytes : 512 + (index + 1) * record_bytes]
        used = raw[: len(raw.rstrip(b"\x00")) + 1]
        assert used.endswith(b"\x14\x00")
        tals = []
        for chunk in used.split(b"\x14\x00")[:-1]:
            timing, *texts = chunk.split(b"\x14")
            onset, _, duration = timing.partition(b"\x15")
            assert onset[:1] == b"+"
            assert len(texts) == 1
            tals.append((float(onset), float(duration) if duration else None, texts[0].decode()))
        assert raw[len(used) :] == b"\x00" * (record_bytes - len(used))
        records.append(tals)
    return records


def expected_annotations(report: Json) -> list[Annotation]:
    """The annotations the report must become, built here from the report alone (times in
    microseconds, as written, so that float noise does not change the order)."""
    expected = []
    for event in report["events"]:
        label = LABELS[event["type"]]
        text = label if event["channel"] is None else f"{label} ({event['channel']})"
        expected.append((round(event["onset"], 6), round(event["duration"], 6), text))
    for series in report["plm_series"]:
        noun = "movement" if series["count"] == 1 else "movements"
        text = f"PLM series ({series['count']} limb {noun})"
        expected.append((series["onset"], round(series["end"] - series["onset"], 6), text))
    for interval in report["in_bed"]:
        duration = round(interval["end"] - interval["onset"], 6)
        expected.append((interval["onset"], duration, "in bed"))
    return sorted(expected)


def read_annotations(data: bytes) -> list[Annotation]:
    edf = edfio.read_edf(data)
    assert edf.signals == ()
    annotations = []
    for annotation in edf.annotations:
        assert annotation.duration is not None
        onset, duration = round(annotation.onset, 6), round(annotation.duration, 6)
        annotations.append((onset, duration, annotation.text))
    return sorted(annotations)


def assert_same_annotations(got: list[Annotation], expected: list[Annotation]) -> None:
    assert len(got) == len(expected)
    for (onset, duration, text), (want_onset, want_duration, want_text) in zip(
        got, expected, strict=True
    ):
        assert text == want_text
        assert onset == pytest.approx(want_onset, abs=1e-4)
        assert duration == pytest.approx(want_duration, abs=1e-4)


def event(kind: str, onset: float, duration: float = 0.5, channel: str | None = "legs") -> Json:
    timing = {"onset": onset, "duration": duration}
    return {"type": kind, **timing, "channel": channel, "amplitude": 3.5}


SAMPLE_REPORT: Json = {
    "events": [
        event("twitch", 12.5, 0.25, "torso"),
        event("hypnic_jerk", 61.0, 1.0, None),
        event("limb_movement", 130.04, 2.5),
        event("limb_movement", 155.5, 1.75),
        event("gross_movement", 400.0, 12.0),
    ],
    "plm_series": [{"onset": 130.04, "end": 210.0, "count": 4}],
    "in_bed": [{"onset": 0.0, "end": 300.0}, {"onset": 350.0, "end": 412.0}],
    "summary": {"twitch_count": 1},
    "extra": {"ignored": True},
}


@pytest.fixture(scope="module")
def real_report() -> Json:
    recording = generate("plmd", seed=0, minutes=20)
    report = analyze(recording.samples, recording.fs, recording.channels).as_json()
    assert report["plm_series"], "the virtual PLMD night should hold PLM series"
    return report


def test_real_night_round_trips_through_edfio_csv_and_json(
    real_report: Json, tmp_path: Path
) -> None:
    paths = write_night_files(real_report, START, tmp_path, "night-2025-01-06")
    assert [p.name for p in paths] == [f"night-2025-01-06.{x}" for x in ("csv", "json", "edf")]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)

    edf = edfio.read_edf(paths[2])
    assert edf.startdate == dt.date(2025, 1, 6)
    assert edf.starttime == dt.time(22, 30, 0)
    assert edf.duration == 20 * 60
    assert edf.signals == ()
    got = read_annotations(paths[2].read_bytes())
    assert_same_annotations(got, expected_annotations(real_report))

    rows = list(csv.DictReader(io.StringIO(paths[0].read_text(), newline="")))
    items = real_report["events"] + real_report["plm_series"] + real_report["in_bed"]
    assert len(rows) == len(items)
    assert [r["kind"] for r in rows].count("plm_series") == len(real_report["plm_series"])
    assert json.loads(paths[1].read_text()) == real_report


def test_header_fields_follow_the_spec() -> None:
    data = night_edf(SAMPLE_REPORT, START, patient="Jane Doe", recording="Sleep Myoclonus")
    fields = header_fields(data)
    assert fields["version"] == "0" + " " * 7
    assert fields["patient"].rstrip() == "X X X Jane_Doe"
    assert fields["recording"].rstrip() == "Startdate 06-JAN-2025 X X Sleep_Myoclonus"
    assert fields["startdate"] == "06.01.25"
    assert fields["starttime"] == "22.30.00"
    assert fields["header_bytes"].rstrip() == str(256 * (1 + 1))
    assert fields["reserved"].rstrip() == "EDF+C"
    assert fields["record_duration"].rstrip() == str(RECORD_DURATION_S)
    assert fields["signals"] == "1   "
    assert fields["label"] == "EDF Annotations "
    for blank in ("transducer", "dimension", "prefiltering", "signal_reserved"):
        assert fields[blank].strip() == ""
    assert fields["physical_min"].rstrip() == fields["digital_min"].rstrip() == "-32768"
    assert fields["physical_max"].rstrip() == fields["digital_max"].rstrip() == "32767"
    # every field is left-aligned, space-padded
    assert all(value == value.lstrip() or not value.strip() for value in fields.values())
    # the last end is 412 s: 7 records of 60 s
    assert int(fields["records"]) == math.ceil(412.0 / RECORD_DURATION_S) == 7
    assert len(data) == 512 + 7 * 2 * int(fields["samples"])


def test_every_record_starts_with_its_timekeeping_tal_and_holds_its_own_onsets() -> None:
    records = record_tals(night_edf(SAMPLE_REPORT, START))
    for index, tals in enumerate(records):
        record_start = index * RECORD_DURATION_S
        assert tals[0] == (record_start, None, "")
        onsets = [onset for onset, _, _ in tals[1:]]
        assert onsets == sorted(onsets)
        assert all(record_start <= onset < record_start + RECORD_DURATION_S for onset in onsets)
    texts = [text for tals in records for _, _, text in tals[1:]]
    legs = "limb movement (legs)"
    series = "PLM series (4 limb movements)"
    bed = "in bed"
    assert texts == [
        bed,
        "twitch (torso)",
        "hypnic jerk",
        series,
        legs,
        legs,
        bed,
        "gross movement (legs)",
    ]


def test_sample_report_annotations_equal_the_report() -> None:
    assert_same_annotations(
        read_annotations(night_edf(SAMPLE_REPORT, START)), expected_annotations(SAMPLE_REPORT)
    )


@pytest.mark.parametrize(
    ("events", "busiest_minute"),
    [
        ([event("twitch", 600 + i * 0.29, 0.1) for i in range(200)], 10),
        ([event("limb_movement", i * 7.2, 1.5) for i in range(5000)], None),
    ],
    ids=["200 events in one minute", "5000 events in a 10-hour night"],
)
def test_busy_records_fit_exactly(events: list[Json], busiest_minute: int | None) -> None:
    report = {"events": events, "plm_series": [], "in_bed": [{"onset": 0, "end": 36000}]}
    data = night_edf(report, START)
    records = record_tals(data)
    assert len(records) == 600
    record_bytes = 2 * int(header_fields(data)["samples"])
    used = [
        len(data[512 + i * record_bytes : 512 + (i + 1) * record_bytes].rstrip(b"\x00")) + 1
        for i in range(len(records))
    ]
    # samples per record were computed: the busiest record fills it to the last byte or one short
    assert record_bytes - max(used) in (0, 1)
    if busiest_minute is not None:
        assert used.index(max(used)) == busiest_minute
        assert len(records[busiest_minute]) == 1 + 200
    assert_same_annotations(read_annotations(data), expected_annotations(report))


def test_non_ascii_names_are_sanitised() -> None:
    report = {"events": [event("twitch", 5.0, 0.2, "Bein links ü\x14李")]}
    data = night_edf(report, START, patient="Jürgen Müller 李", recording="Bett 2 — ß")
    fields = header_fields(data)
    assert fields["patient"].rstrip() == "X X X Jurgen_Muller__"
    assert fields["recording"].rstrip() == "Startdate 06-JAN-2025 X X Bett_2____"
    for tals in record_tals(data):
        for _, _, text in tals:
            assert PRINTABLE.fullmatch(text.encode())
    assert read_annotations(data) == [(5.0, 0.2, "twitch (Bein links u__)")]


def test_long_names_are_cut_to_the_field() -> None:
    data = night_edf({"events": []}, START, patient="P" * 200, recording="R" * 200)
    fields = header_fields(data)
    assert fields["patient"] == "X X X " + "P" * 74
    assert fields["recording"].startswith("Startdate 06-JAN-2025 X X RRR")
    assert not fields["recording"].endswith(" ")


def test_empty_report_gives_one_record() -> None:
    data = night_edf({"events": [], "plm_series": [], "in_bed": []}, START, patient="")
    assert header_fields(data)["patient"].rstrip() == "X X X X"
    edf = edfio.read_edf(data)
    assert edf.num_data_records == 1
    assert edf.duration == RECORD_DURATION_S
    assert edf.annotations == ()
    assert edf.signals == ()
    assert record_tals(data) == [[(0.0, None, "")]]
    assert night_csv({}) == "kind,type,onset_s,duration_s,end_s,channel,amplitude,count\r\n"


def test_start_in_its_own_local_time_with_a_fraction_of_a_second() -> None:
    start = dt.datetime(
        2024, 12, 31, 23, 59, 59, 250000, tzinfo=dt.timezone(dt.timedelta(hours=13))
    )
    data = night_edf(SAMPLE_REPORT, start)
    fields = header_fields(data)
    assert (fields["startdate"], fields["starttime"]) == ("31.12.24", "23.59.59")
    assert fields["recording"].startswith("Startdate 31-DEC-2024 ")
    edf = edfio.read_edf(data)
    assert edf.startdate == dt.date(2024, 12, 31)
    assert edf.starttime == dt.time(23, 59, 59, 250000)
    assert record_tals(data)[1][0] == (60.25, None, "")
    assert_same_annotations(read_annotations(data), expected_annotations(SAMPLE_REPORT))


def test_years_outside_the_two_digit_window() -> None:
    late = night_edf({}, dt.datetime(2090, 2, 3, 1, 2, 3, tzinfo=dt.UTC))
    assert header_fields(late)["startdate"] == "03.02.yy"
    assert header_fields(late)["recording"].startswith("Startdate 03-FEB-2090 ")
    with pytest.raises(ValueError, match="1985"):
        night_edf({}, dt.datetime(1984, 12, 31, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"events": [event("twitch", -1.0)]}, "onset"),
        ({"events": [event("twitch", 1.0, float("nan"))]}, "duration"),
        ({"in_bed": [{"onset": 10.0, "end": 5.0}]}, "before it starts"),
        ({"plm_series": [{"onset": 1.0, "end": float("inf"), "count": 4}]}, "end"),
    ],
)
def test_invalid_reports_are_refused(report: Json, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        night_edf(report, START)
    with pytest.raises(ValueError, match=message):
        night_csv(report)
    with pytest.raises(ValueError, match=message):
        write_night_files(report, START, tmp_path, "night")
    assert list(tmp_path.iterdir()) == []


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        night_edf(SAMPLE_REPORT, dt.datetime(2025, 1, 6, 22, 30))


def test_csv_rows_equal_the_report() -> None:
    report = dict(SAMPLE_REPORT)
    report["events"] = [*SAMPLE_REPORT["events"], event("twitch", 20.0, 0.1, 'a,"b"\nc')]
    text = night_csv(report)
    assert text.startswith("kind,type,onset_s,duration_s,end_s,channel,amplitude,count\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 5 + 1 + 1 + 2
    assert [float(r["onset_s"]) for r in rows] == sorted(float(r["onset_s"]) for r in rows)
    events = sorted(report["events"], key=lambda e: e["onset"])
    event_rows = [r for r in rows if r["kind"] == "event"]
    for row, item in zip(event_rows, events, strict=True):
        assert row["type"] == item["type"]
        assert float(row["onset_s"]) == item["onset"]
        assert float(row["duration_s"]) == item["duration"]
        assert float(row["end_s"]) == pytest.approx(item["onset"] + item["duration"])
        assert row["channel"] == (item["channel"] or "")
        assert float(row["amplitude"]) == item["amplitude"]
        assert row["count"] == ""
    series = next(r for r in rows if r["kind"] == "plm_series")
    assert (series["onset_s"], series["end_s"], series["count"]) == ("130.04", "210", "4")
    # at equal onsets the series (the enclosing interval) comes before its first movement
    assert [r["kind"] for r in rows if r["onset_s"] == "130.04"] == ["plm_series", "event"]
    beds = [(float(r["onset_s"]), float(r["end_s"])) for r in rows if r["kind"] == "in_bed"]
    assert beds == [(0.0, 300.0), (350.0, 412.0)]


def test_files_are_replaced_atomically_and_no_temporary_file_remains(tmp_path: Path) -> None:
    directory = tmp_path / "reports"
    first = write_night_files({"events": []}, START, directory, "night")
    second = write_night_files(SAMPLE_REPORT, START, directory, "night")
    assert first == second
    assert sorted(p.name for p in directory.iterdir()) == ["night.csv", "night.edf", "night.json"]
    assert second[2].read_bytes() == night_edf(SAMPLE_REPORT, START)
    assert second[0].read_bytes() == night_csv(SAMPLE_REPORT).encode()
    with pytest.raises(ValueError, match="stem"):
        write_night_files(SAMPLE_REPORT, START, directory, "../night")


seconds = st.integers(min_value=0, max_value=12 * 3600 * 1000).map(lambda ms: ms / 1000)
short = st.integers(min_value=0, max_value=120_000).map(lambda ms: ms / 1000)
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
channels = st.none() | ascii_text
events = st.builds(event, st.sampled_from(TYPES), seconds, short, channels)
intervals = st.tuples(seconds, short).map(lambda t: {"onset": t[0], "end": round(t[0] + t[1], 3)})
series = st.tuples(seconds, short, st.integers(1, 400)).map(
    lambda t: {"onset": t[0], "end": round(t[0] + t[1], 3), "count": t[2]}
)
parts = {"events": (events, 40), "plm_series": (series, 5), "in_bed": (intervals, 4)}
reports = st.fixed_dictionaries({k: st.lists(v, max_size=n) for k, (v, n) in parts.items()})
starts = st.datetimes(
    min_value=dt.datetime(1985, 1, 1),
    max_value=dt.datetime(2084, 12, 31),
    timezones=st.sampled_from([dt.UTC, AMSTERDAM, ZoneInfo("America/New_York")]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=reports, start=starts, patient=st.text(max_size=30))
def test_random_reports_round_trip(report: Json, start: dt.datetime, patient: str) -> None:
    data = night_edf(report, start, patient=patient)
    edf = edfio.read_edf(data)
    assert edf.startdate == start.date()
    assert edf.starttime == start.time()
    ends = [e["onset"] + e["duration"] for e in report["events"]]
    last_end = max([0.0, *ends, *(i["end"] for i in report["plm_series"] + report["in_bed"])])
    assert edf.duration == max(1, math.ceil(last_end / RECORD_DURATION_S)) * RECORD_DURATION_S
    expected = expected_annotations(report)
    assert_same_annotations(read_annotations(data), expected)
    assert PRINTABLE.fullmatch(data[:512])
    rows = list(csv.DictReader(io.StringIO(night_csv(report), newline="")))
    assert len(rows) == len(expected)
