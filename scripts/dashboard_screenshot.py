"""Screenshots of the shipped dashboard in a real Home Assistant: docs/dashboard.png (History view)
and docs/dashboard_tonight.png (Tonight view).

Run by hand through ``./scripts/dashboard_screenshot.sh`` (220 s here). The demo's machinery
(:mod:`scripts.ha_instance`) starts Mosquitto and ``hass`` (recorder on) with Sleep Myoclonus
unpacked from the release zip, creates the owner, adds MQTT and accepts the bed ``bedroom`` that
the virtual sensor announces, with its night window opened an hour ago. Every run draws the same
figures (fixed seeds), on the dates before the day it runs.

Where the bars come from:

* The 14 nights before tonight are imported. Each is a virtual-sensor night
  (:func:`hardware.virtual_sensor.synth.generate`: the ``full_night`` preset, 6-8 h, a
  different seed per night, some nights calmer, twitchier or with more periodic limb movements)
  analysed by the detector's batch analysis (:func:`detector.analyze.analyze`); its figures
  become a :class:`~custom_components.sleep_myoclonus.history.NightRecord`, whose rows and
  metadata come from :mod:`custom_components.sleep_myoclonus.statistics` (the functions the
  integration uses) and go to Home Assistant through the WebSocket command
  ``recorder/import_statistics``.
* Tonight is played live into the broker by the virtual sensor: a ``full_night`` shrunk to
  8 minutes, at real speed (the integration measures time in bed and rates on Home Assistant's
  clock, so its rates are true; its counts and time in bed are those of 3.5 minutes). After
  3.5 minutes (``--live-seconds``) the Tonight view is captured (the twitch rate sensor is
  still unknown then: it needs ten minutes in bed), and the ``sleep_myoclonus.end_night``
  action ends the night: the integration itself writes tonight's bar, the last one of each
  chart. On a version without that action the script says so and tonight has no bar.

The dashboard is created from ``custom_components/sleep_myoclonus/dashboards/sleep_myoclonus.yaml``
(``lovelace/dashboards/create`` and ``lovelace/config/save``); headless Chromium (Debian's, driven
by Playwright, logged in through ``hassTokens`` in its local storage) opens its views at
1280x1000 and saves the pictures once the charts are drawn. Broker, Home Assistant and browser
run on 127.0.0.1 and are stopped by process id.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from homeassistant.util import dt as dt_util

from custom_components.sleep_myoclonus.history import NightRecord
from custom_components.sleep_myoclonus.statistics import (
    METRICS,
    night_rows,
    statistic_id,
    statistic_metadata,
)
from detector.analyze import analyze
from detector.topics import DEFAULT_PREFIX
from hardware.mqtt import LocalBroker, start_local_broker
from hardware.virtual_sensor.publish import Publisher, VirtualBed
from hardware.virtual_sensor.scenarios import PRESETS
from hardware.virtual_sensor.synth import generate
from scripts.chromium import launch_chromium
from scripts.demo import _args, _night, _night_window, announce_sensor
from scripts.ha_api import HaApiError
from scripts.ha_dashboard import add_dashboard, bed_slug
from scripts.ha_instance import Bed, HaInstance
from scripts.release import ROOT

if TYPE_CHECKING:  # Playwright is imported when the browser starts (not needed to import this)
    from playwright.async_api import Page, ViewportSize

BED_ID: Final = "bedroom"
BED_NAME: Final = "Bedroom"
PAST_NIGHTS: Final = 14
# tonight: the full_night preset shrunk to 8 min (longer for a longer play); seed 5 has the
# sleeper in bed after 25 s, then hypnic jerks, a limb movement and a twitch within 3.5 min
LIVE_SEED: Final = 5
LIVE_S: Final = 210.0  # played before the Tonight view is captured and the night ended
VIEWPORT: Final[ViewportSize] = {"width": 1280, "height": 1000}
TONIGHT_STATES: Final = ("in_bed", "twitches_tonight", "hypnic_jerks_tonight")
TONIGHT_STATES_MORE: Final = ("limb_movements_tonight", "time_in_bed_tonight", "twitch_rate")
# the full_night preset and variations of it: (name, changed fields)
VARIANTS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("usual", {}),
    ("calm", {"twitches_per_h": 12.0, "plm_episodes_per_h": 0.3, "wake_periods_per_h": 0.2}),
    ("twitchy", {"twitches_per_h": 34.0, "twitch_clusters_per_h": 1.5}),
    ("restless legs", {"plm_episodes_per_h": 2.0, "limb_movements_per_h": 8.0}),
)
# every chart's drawing surface (through open shadow roots) has been drawn
CHARTS_DRAWN: Final = """(minimum) => {
    const all = (root, selector) => [...root.querySelectorAll("*")].flatMap((el) => [
        ...(el.matches(selector) ? [el] : []),
        ...(el.shadowRoot ? all(el.shadowRoot, selector) : []),
    ]);
    const charts = all(document, "ha-chart-base");
    const drawn = (chart) => all(chart.shadowRoot ?? chart, "canvas, svg path").length > 0;
    return charts.length >= minimum && charts.every(drawn);
}"""


def _say(line: str) -> None:
    print(f"[screenshot] {line}", flush=True)


def past_night(
    night: dt.date, seed: int, minutes: float, variant: str, tz_name: str
) -> NightRecord:
    """A virtual-sensor night (taken to start at 22:00 on its date, in ``tz_name``) and the
    figures the detector's batch analysis finds in it, as a record."""
    scenario = dataclasses.replace(PRESETS["full_night"], **dict(VARIANTS)[variant])
    recording = generate(scenario, seed, minutes=minutes)
    result = analyze(recording.samples, recording.fs, recording.channels)
    summary = result.summary
    start = dt.datetime.combine(night, dt.time(22), tzinfo=ZoneInfo(tz_name))
    first = min((i.onset_s for i in result.in_bed), default=None)
    return NightRecord(
        night=night,
        first_in_bed=None if first is None else start + dt.timedelta(seconds=first),
        ended=start + dt.timedelta(seconds=recording.duration_s),
        twitch_count=summary.twitch_count,
        hypnic_jerk_count=summary.hypnic_jerk_count,
        limb_movement_count=summary.limb_movement_count,
        gross_movement_count=summary.gross_movement_count,
        plm_movements=sum(series.count for series in result.plm_series),
        time_in_bed_s=summary.time_in_bed_s,
        frames=0,  # analysed as a file, not received as frames
        clipped_frames=0,
    )


def _past_nights(tonight: dt.date, tz_name: str) -> list[NightRecord]:
    """The :data:`PAST_NIGHTS` nights before tonight, analysed in two processes."""
    jobs = []
    for back in range(PAST_NIGHTS, 0, -1):
        variant = VARIANTS[(back * 7) % len(VARIANTS)][0]
        minutes = 360.0 + (back * 37) % 121  # 6 to 8 h
        jobs.append((tonight - dt.timedelta(days=back), 100 + back, minutes, variant, tz_name))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(past_night, *job) for job in jobs]
        return [future.result() for future in futures]


def _websocket_metadata(metadata: Any, *, legacy: bool = False) -> dict[str, Any]:
    """The metadata as ``recorder/import_statistics`` takes it: JSON, and in the form of
    Home Assistant before ``mean_type`` (``has_mean`` only) when ``legacy``."""
    data = dict(metadata)
    has_mean = bool(data["mean_type"])
    data["mean_type"] = int(data["mean_type"])
    if legacy:
        data.pop("mean_type")
        data.pop("unit_class", None)
    return data | {"has_mean": has_mean}


async def import_night(
    call: Callable[..., Awaitable[Any]], record: NightRecord, window_start: dt.time
) -> None:
    """Import a night's rows as the integration writes them (its own row and metadata
    functions) with ``recorder/import_statistics``; ``call`` sends a WebSocket command."""
    rows = night_rows(record, window_start)
    for metric in METRICS:
        if (row := rows.get(metric.key)) is None:
            continue
        stats = [{**row, "start": row["start"].isoformat()}]
        metadata = statistic_metadata(BED_ID, BED_NAME, metric)
        try:
            await call(
                "recorder/import_statistics", metadata=_websocket_metadata(metadata), stats=stats
            )
        except HaApiError as err:  # Home Assistant 2025.4 takes has_mean only
            if "extra keys not allowed" not in str(err):
                raise
            legacy = _websocket_metadata(metadata, legacy=True)
            await call("recorder/import_statistics", metadata=legacy, stats=stats)


async def _end_night(ha: HaInstance, bed: Bed) -> bool:
    """End tonight through the integration's ``end_night`` action, if it has one."""
    services = await ha.rest.get("/api/services")
    ours: dict[str, Any] = next(
        (s["services"] for s in services if s["domain"] == "sleep_myoclonus"), {}
    )
    if "end_night" not in ours:
        return False
    await ha.rest.post("/api/services/sleep_myoclonus/end_night", {"config_entry_id": bed.entry_id})
    return True


async def _shoot(page: Page, url: str, path: Path, charts: int) -> None:
    """Open a view, wait for its charts to be drawn, save it."""
    await page.goto(url)
    await page.wait_for_function(CHARTS_DRAWN, arg=charts, timeout=60_000)
    await page.wait_for_timeout(1500)  # the charts' animations
    await page.screenshot(path=path)
    _say(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _login_script(ha: HaInstance) -> str:
    """JavaScript that puts the long-lived token into the frontend's local storage."""
    tokens = {
        "hassUrl": ha.url,
        "clientId": ha.url + "/",
        "access_token": ha.rest.token,
        "token_type": "Bearer",
        "refresh_token": "",
        "expires_in": 30 * 86400,
        "expires": int((time.time() + 30 * 86400) * 1000),
    }
    return f"window.localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"


async def _run(out: Path, live_s: float) -> None:
    started = time.monotonic()

    def took() -> str:
        return f"{time.monotonic() - started:5.0f} s"

    minutes = max(8.0, 1.3 * live_s / 60.0)  # still in bed when the night is ended
    live_recording, vbed = _night(
        _args(["--scenario", "full_night", "--minutes", f"{minutes:g}", "--seed", f"{LIVE_SEED}"])
    )
    with start_local_broker("mosquitto") as broker:
        _say(f"broker: {broker.kind} on {broker.host}:{broker.port} (pid {broker.pid})")
        ha = HaInstance()
        publisher: Publisher | None = None
        try:
            ha.launch((broker.host, broker.port))
            _say(f"{took()} starting Home Assistant on {ha.url} (pid {ha.pid})")
            await ha.wait_ready()
            core = await ha.rest.get("/api/config")
            tz_name = core["time_zone"]
            tz = ZoneInfo(tz_name)
            dt_util.set_default_time_zone(tz)  # night_rows' local time
            # the past nights in the background while the bed is set up and tonight plays
            window = _night_window(tz_name)
            window_start = dt.time.fromisoformat(window["night_start"])
            tonight = (dt.datetime.now(tz) - dt.timedelta(hours=1)).date()  # the window's date
            analysing = asyncio.create_task(asyncio.to_thread(_past_nights, tonight, tz_name))
            _say(
                f"{took()} Home Assistant {core['version']} running ({tz_name}); analysing "
                f"{PAST_NIGHTS} virtual nights meanwhile"
            )
            bed = await _set_up_bed(ha, broker, vbed, window)
            _say(f"{took()} bed '{bed.title}' {bed.how}; night window from {window_start}")
            publisher = Publisher([vbed], host=broker.host, port=broker.port, speed=1.0)
            publisher.start()
            live_from = time.monotonic()
            _say(f"{took()} tonight: {live_recording.duration_s / 60:.0f} min virtual night, live")
            records = await analysing
            for record in records:
                await import_night(ha.ws.call, record, window_start)
            rates = ", ".join(f"{r.twitches_per_hour or 0:.0f}" for r in records)
            _say(f"{took()} imported {len(records)} nights (twitches/h: {rates})")
            dashboard = await add_dashboard(ha, BED_ID)
            _say(f"{took()} dashboard created at {dashboard}")
            await _browse(ha, bed, out, live_until=live_from + live_s, tonight=tonight, tz=tz)
        finally:
            if publisher is not None:
                await asyncio.to_thread(publisher.stop)
            code = await ha.stop()
            _say(f"{took()} Home Assistant stopped (exit code {code}), broker stopping")


async def _set_up_bed(
    ha: HaInstance, broker: LocalBroker, vbed: VirtualBed, window: dict[str, str]
) -> Bed:
    await ha.add_mqtt(broker.host, broker.port)
    await announce_sensor(vbed, broker)
    bed = await ha.add_bed(DEFAULT_PREFIX, BED_ID, BED_NAME)
    await ha.set_options(bed.entry_id, window)
    return bed


async def _browse(
    ha: HaInstance, bed: Bed, out: Path, *, live_until: float, tonight: dt.date, tz: ZoneInfo
) -> None:
    """Tonight's view while the night plays; the History view after the night has ended."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only for the browser

    base = f"{ha.url}/sleep-{bed_slug(BED_ID)}"
    with tempfile.TemporaryDirectory(prefix="sleep-myoclonus-chromium-") as home:
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright, Path(home), VIEWPORT, timezone_id=tz.key)
            try:
                await browser.add_init_script(_login_script(ha))
                page = browser.pages[0] if browser.pages else await browser.new_page()
                wait = max(0.0, live_until - time.monotonic())
                _say(f"tonight plays {wait:.0f} s more")
                await asyncio.sleep(wait)
                await _shoot(page, f"{base}/tonight", out / "dashboard_tonight.png", 2)
                _say("tonight so far: " + await _tonight_states(ha, bed))
                if await _end_night(ha, bed):
                    _say("tonight ended through sleep_myoclonus.end_night")
                    rate = await _wait_for_bar(ha, tonight, tz)
                    _say(f"the integration wrote tonight's bar: {rate:.1f} twitches/h")
                else:
                    _say("this version has no sleep_myoclonus.end_night: tonight has no bar")
                await _shoot(page, f"{base}/history", out / "dashboard.png", 8)
            finally:
                await browser.close()


async def _tonight_states(ha: HaInstance, bed: Bed) -> str:
    """Tonight's counters as Home Assistant has them."""
    parts = []
    for key in TONIGHT_STATES + TONIGHT_STATES_MORE:
        state = await ha.state(bed.entities[key]) if key in bed.entities else None
        if state is not None:
            parts.append(f"{key.replace('_', ' ')} {state['state']}")
    return ", ".join(parts)


async def _wait_for_bar(ha: HaInstance, night: dt.date, tz: dt.tzinfo) -> float:
    """Wait until the recorder has a night's twitch rate (its daily mean); return it."""
    sid = statistic_id(BED_ID, next(m for m in METRICS if m.key == "twitches_per_hour"))
    start = dt.datetime.combine(night, dt.time(), tzinfo=tz)
    async with asyncio.timeout(30):
        while not (
            found := await ha.ws.call(
                "recorder/statistics_during_period",
                start_time=start.isoformat(),
                statistic_ids=[sid],
                period="day",
                types=["mean"],
            )
        ).get(sid):
            await asyncio.sleep(0.5)
    return float(found[sid][0]["mean"])


def main(argv: list[str] | None = None) -> int:
    """Make the screenshots; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder (default docs/)")
    parser.add_argument(
        "--live-seconds",
        type=float,
        default=LIVE_S,
        help=f"how long tonight plays (default {LIVE_S:g}; the twitch rate sensor needs ten "
        "minutes in bed: 720 shows it)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        asyncio.run(_run(args.out.resolve(), args.live_seconds))
    except Exception as err:
        print(f"[screenshot] failed: {err!r}", file=sys.stderr)
        return 1
    _say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
