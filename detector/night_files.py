"""Night report files: an EDF+ file of annotations, a CSV and the JSON report.

The input is the detector's night report in the shape of the CLI's JSON
(:meth:`detector.analyze.AnalysisResult.as_json`): ``events``, ``plm_series`` and ``in_bed``
with times in seconds from the report's start. Other top-level keys are ignored.

The EDF+ file follows https://www.edfplus.info/specs/edfplus.html: a continuous recording
("EDF+C") with no ordinary signal and one "EDF Annotations" signal, like the hypnogram files of
the Sleep-EDF database, so EDFbrowser and other sleep software list the night's events. Layout:

* data records of :data:`RECORD_DURATION_S` seconds, enough of them to cover the last end (one
  for an empty report);
* every record starts with the time-keeping TAL (onset of the record, empty annotation); each
  item goes into the record its onset falls in, after it, sorted by onset;
* the annotation signal has as many 2-byte samples per record as the busiest record needs
  (``ceil(bytes / 2)``), and the rest of every record is filled with zero bytes;
* a start with a fraction of a second keeps that fraction in the time-keeping TALs (the header's
  start time has whole seconds), so annotation onsets stay exact.

Only printable US-ASCII goes into the header and the annotation texts: accents are dropped and
any other character becomes ``_``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CSV_COLUMNS",
    "EVENT_LABELS",
    "RECORD_DURATION_S",
    "night_csv",
    "night_edf",
    "write_night_files",
]

RECORD_DURATION_S = 60
"""Length of one EDF data record in seconds."""

EVENT_LABELS: dict[str, str] = {
    "twitch": "twitch",
    "hypnic_jerk": "hypnic jerk",
    "limb_movement": "limb movement",
    "gross_movement": "gross movement",
}
"""Annotation text of each event type (a channel, when known, follows in brackets)."""

CSV_COLUMNS = ("kind", "type", "onset_s", "duration_s", "end_s", "channel", "amplitude", "count")
"""Header row of :func:`night_csv`."""

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_KIND_ORDER = {"in_bed": 0, "plm_series": 1, "event": 2}  # ties: the enclosing interval first
_TIMEKEEPING_TEXT = ""
_HEADER_BYTES_PER_SIGNAL = 256


@dataclass(frozen=True, slots=True)
class _Item:
    """One row of the night: an event, a PLM series or an in-bed interval."""

    kind: str
    onset: float
    duration: float
    type: str = ""
    channel: str | None = None
    amplitude: float | None = None
    count: int | None = None

    @property
    def end(self) -> float:
        return self.onset + self.duration

    def annotation_text(self) -> str:
        if self.kind == "in_bed":
            return "in bed"
        if self.kind == "plm_series":
            noun = "limb movement" if self.count == 1 else "limb movements"
            return f"PLM series ({self.count} {noun})"
        label = EVENT_LABELS.get(self.type, self.type.replace("_", " "))
        text = label if self.channel is None else f"{label} ({self.channel})"
        return _printable_ascii(text)


def _seconds_value(value: Any, what: str) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return seconds + 0.0  # -0.0 -> 0.0


def _interval(entry: Mapping[str, Any], what: str) -> tuple[float, float]:
    onset = _seconds_value(entry["onset"], f"{what} onset")
    end = _seconds_value(entry["end"], f"{what} end")
    if end < onset:
        raise ValueError(f"{what} ends ({end}) before it starts ({onset})")
    return onset, end - onset


def _items(report: Mapping[str, Any]) -> list[_Item]:
    """All rows of the report, sorted by onset (validated)."""
    items: list[_Item] = []
    for event in report.get("events", ()):
        channel = event.get("channel")
        items.append(
            _Item(
                "event",
                _seconds_value(event["onset"], "event onset"),
                _seconds_value(event["duration"], "event duration"),
                type=str(event["type"]),
                channel=None if channel is None else str(channel),
                amplitude=float(event["amplitude"]),
            )
        )
    for series in report.get("plm_series", ()):
        onset, duration = _interval(series, "PLM series")
        items.append(_Item("plm_series", onset, duration, count=int(series["count"])))
    for interval in report.get("in_bed", ()):
        onset, duration = _interval(interval, "in-bed interval")
        items.append(_Item("in_bed", onset, duration))
    items.sort(key=lambda item: (item.onset, _KIND_ORDER[item.kind]))
    return items


def _format_seconds(seconds: float) -> str:
    """Plain decimal (no exponent, at most microseconds), as EDF+ and the CSV want it."""
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _printable_ascii(text: str) -> str:
    """Drop accents, replace every other character outside printable US-ASCII with ``_``."""
    kept = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char):
            continue
        kept.append(char if " " <= char <= "~" else "_")
    return "".join(kept)


def _subfield(text: str, width: int) -> str:
    """One EDF+ identification subfield: no spaces, ``X`` when unknown."""
    cleaned = _printable_ascii(text).strip().replace(" ", "_")[:width]
    return cleaned or "X"


def night_csv(report: Mapping[str, Any]) -> str:
    """Return the night as CSV text (RFC 4180, CRLF line ends, header row).

    One row per event, PLM series and in-bed interval, sorted by onset (at equal onsets the
    in-bed interval first, then the series, then the event). Columns are :data:`CSV_COLUMNS`:
    ``kind`` is ``event``, ``plm_series`` or ``in_bed``; ``type`` is the event type; times are
    seconds from the report's start; ``channel`` and ``amplitude`` are filled for events,
    ``count`` (limb movements) for PLM series, and are empty otherwise.

    Parameters
    ----------
    report : mapping
        Night report in the shape of the CLI's JSON (``events``, ``plm_series``, ``in_bed``).

    Returns
    -------
    str
        The CSV document.

    Raises
    ------
    ValueError
        If a time is negative or not finite, or an interval ends before it starts.
    KeyError
        If an item lacks a field.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in _items(report):
        writer.writerow(
            (
                item.kind,
                item.type,
                _format_seconds(item.onset),
                _format_seconds(item.duration),
                _format_seconds(item.end),
                item.channel or "",
                "" if item.amplitude is None else repr(item.amplitude),
                "" if item.count is None else str(item.count),
            )
        )
    return buffer.getvalue()


def _tal(onset: float, duration: float | None, text: str) -> bytes:
    """One time-stamped annotation list holding one annotation."""
    timing = "+" + _format_seconds(onset)
    if duration is not None:
        timing += "\x15" + _format_seconds(duration)
    return (timing + "\x14" + text + "\x14\x00").encode("ascii")


def _field(value: str, width: int, name: str) -> bytes:
    encoded = value.encode("ascii")
    if len(encoded) > width:
        raise ValueError(f"EDF header field {name} {value!r} is longer than {width} characters")
    return encoded.ljust(width, b" ")


def _startdate_field(date: dt.date) -> str:
    if date.year < 1985:
        raise ValueError(f"EDF cannot store a start before 1985, got {date.isoformat()}")
    year = f"{date.year % 100:02d}" if date.year <= 2084 else "yy"  # spec: after 2084, "yy"
    return f"{date.day:02d}.{date.month:02d}.{year}"


def night_edf(
    report: Mapping[str, Any],
    start: dt.datetime,
    *,
    patient: str = "X",
    recording: str = "Sleep Myoclonus",
) -> bytes:
    """Return the night as an EDF+ file of annotations.

    Annotation texts: ``twitch``, ``hypnic jerk``, ``limb movement`` or ``gross movement``
    (followed by `` (<channel>)`` when the event has a channel), ``PLM series (N limb
    movements)`` and ``in bed``; each with its onset and duration in seconds from the start.

    Parameters
    ----------
    report : mapping
        Night report in the shape of the CLI's JSON (``events``, ``plm_series``, ``in_bed``),
        times in seconds from `start`.
    start : datetime.datetime
        Start of the report, timezone-aware; the header holds its own local date and time.
    patient : str, optional
        Patient name (the fourth subfield of the local patient identification; code, sex and
        birthdate are written as unknown, ``X``).
    recording : str, optional
        Equipment subfield of the local recording identification.

    Returns
    -------
    bytes
        The EDF+C file: a 512-byte header and ``RECORD_DURATION_S``-second data records.

    Raises
    ------
    ValueError
        If `start` is naive or before 1985, a time is negative or not finite, or an interval
        ends before it starts.
    KeyError
        If an item lacks a field.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    items = _items(report)
    fraction = start.microsecond / 1_000_000
    last_end = max((item.end for item in items), default=0.0)
    record_count = max(1, math.ceil(last_end / RECORD_DURATION_S))

    records: list[list[bytes]] = [
        [_tal(fraction + index * RECORD_DURATION_S, None, _TIMEKEEPING_TEXT)]
        for index in range(record_count)
    ]
    for item in items:
        index = min(int(item.onset // RECORD_DURATION_S), record_count - 1)
        records[index].append(_tal(fraction + item.onset, item.duration, item.annotation_text()))
    busiest = max(sum(len(tal) for tal in record) for record in records)
    samples_per_record = math.ceil(busiest / 2)
    record_bytes = 2 * samples_per_record

    date = start.date()
    patient_id = f"X X X {_subfield(patient, 74)}"
    recording_id = (
        f"Startdate {date.day:02d}-{_MONTHS[date.month - 1]}-{date.year:04d} X X "
        f"{_subfield(recording, 54)}"
    )
    header_bytes = _HEADER_BYTES_PER_SIGNAL * 2  # ns = 1
    header = b"".join(
        (
            _field("0", 8, "version"),
            _field(patient_id, 80, "patient"),
            _field(recording_id, 80, "recording"),
            _field(_startdate_field(date), 8, "startdate"),
            _field(f"{start.hour:02d}.{start.minute:02d}.{start.second:02d}", 8, "starttime"),
            _field(str(header_bytes), 8, "header bytes"),
            _field("EDF+C", 44, "reserved"),
            _field(str(record_count), 8, "number of data records"),
            _field(str(RECORD_DURATION_S), 8, "data record duration"),
            _field("1", 4, "number of signals"),
            _field("EDF Annotations", 16, "label"),
            _field("", 80, "transducer type"),
            _field("", 8, "physical dimension"),
            _field("-32768", 8, "physical minimum"),
            _field("32767", 8, "physical maximum"),
            _field("-32768", 8, "digital minimum"),
            _field("32767", 8, "digital maximum"),
            _field("", 80, "prefiltering"),
            _field(str(samples_per_record), 8, "samples per data record"),
            _field("", 32, "signal reserved"),
        )
    )
    data = b"".join(b"".join(record).ljust(record_bytes, b"\x00") for record in records)
    return header + data


def _write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to a temporary file next to `path`, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_night_files(
    report: Mapping[str, Any],
    start: dt.datetime,
    directory: Path,
    stem: str,
    *,
    patient: str = "X",
    recording: str = "Sleep Myoclonus",
) -> list[Path]:
    """Write ``<stem>.csv``, ``<stem>.json`` and ``<stem>.edf`` into `directory`.

    All three are built before anything is written, and each file is written to a temporary
    file in `directory` and renamed over the target, so a reader never sees a partial file and
    an invalid report writes nothing. The directory is created if missing. Blocking I/O: call
    it from an executor inside an event loop.

    Parameters
    ----------
    report : mapping
        Night report in the shape of the CLI's JSON.
    start : datetime.datetime
        Start of the report, timezone-aware.
    directory : pathlib.Path
        Where the files go.
    stem : str
        File name without extension.
    patient : str, optional
        Patient name for the EDF header (see :func:`night_edf`).
    recording : str, optional
        Equipment name for the EDF header (see :func:`night_edf`).

    Returns
    -------
    list of pathlib.Path
        The CSV, JSON and EDF paths, in that order.

    Raises
    ------
    ValueError
        If `stem` is empty or holds a path separator, or the report or `start` is invalid
        (see :func:`night_edf`).
    OSError
        If a file cannot be written.
    """
    if not stem or stem in (".", "..") or "/" in stem or "\\" in stem or "\x00" in stem:
        raise ValueError(f"stem must be a plain file name, got {stem!r}")
    edf = night_edf(report, start, patient=patient, recording=recording)
    contents = {
        ".csv": night_csv(report).encode("utf-8"),
        ".json": json.dumps(report, indent=2).encode("utf-8"),
        ".edf": edf,
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, content in contents.items():
        path = directory / f"{stem}{suffix}"
        _write_atomically(path, content)
        paths.append(path)
    return paths
