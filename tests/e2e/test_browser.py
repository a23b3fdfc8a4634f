"""A real browser shows the bed in a real Home Assistant that runs the release zip.

The demo's machinery (:mod:`scripts.ha_instance`) starts Mosquitto and ``hass`` with Sleep
Myoclonus unpacked from the release zip, creates the owner account, adds MQTT through its config
flow and accepts the bed the virtual sensor announces (MQTT discovery); a short virtual night
(``hypnic_onset``, at 30x) then plays into the broker. Headless Chromium (Debian's package,
driven by Playwright) logs in on Home Assistant's login page, opens the bed's device page and the
integration's page, and changes an option in the options dialog. Screenshots go to the test's
temporary directory and, when ``SLEEP_MYOCLONUS_SCREENSHOTS`` names a directory, there too.

About 20 s. Sockets: pytest-homeassistant-custom-component disables them for every test
(pytest-socket); ``socket_enabled`` turns them back on (connections stay on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from detector.topics import DEFAULT_PREFIX
from hardware.mqtt import LocalBroker, start_local_broker
from hardware.virtual_sensor.publish import Publisher, VirtualBed
from scripts.chromium import CHROMIUM, launch_chromium
from scripts.demo import EVENT_TYPE, MAIN_ENTITIES, _args, _night, _night_window, announce_sensor
from scripts.ha_instance import DEMO_USER, Bed, HaInstance
from scripts.release import DOMAIN, build

SCREENSHOTS_ENV: Final = "SLEEP_MYOCLONUS_SCREENSHOTS"
VIEWPORT: Final[ViewportSize] = {"width": 1280, "height": 900}
UI_TIMEOUT_MS: Final = 20_000
# 20 min of sensor time at 30x: in bed after ~2 s of wall time, the first hypnic jerk after ~8 s;
# over after 40 s (then the entities go unavailable), long after the browser is done
NIGHT: Final = ["--scenario", "hypnic_onset", "--minutes", "20"]
SPEED: Final = 30.0
BED_ID: Final = "bedroom"
BED_NAME: Final = "Bedroom"
# every <ha-state-icon> on the page (through open shadow roots) has drawn its SVG path
ICONS_DRAWN: Final = """() => {
    const all = (root, selector) => [...root.querySelectorAll("*")].flatMap((el) => [
        ...(el.matches(selector) ? [el] : []),
        ...(el.shadowRoot ? all(el.shadowRoot, selector) : []),
    ]);
    const drawn = (icon) => all(icon.shadowRoot ?? icon, "path").some((p) => p.getAttribute("d"));
    return all(document, "ha-state-icon").every(drawn);
}"""


def _descendants() -> set[int]:
    """Return the ids of this process's descendants (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()  # after "pid (comm)"
        except OSError:  # gone meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int | None) -> bool:
    """Whether a process runs (a zombie left to an init that does not reap does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _set_up_bed(ha: HaInstance, broker: LocalBroker, vbed: VirtualBed) -> Bed:
    """Add MQTT, announce the sensor (its retained meta), accept the discovered bed and open the
    night window around now: what the demo does."""
    assert await ha.add_mqtt(broker.host, broker.port)
    await announce_sensor(vbed, broker)
    bed = await ha.add_bed(DEFAULT_PREFIX, BED_ID, BED_NAME)
    assert bed.how == "discovered"
    core = await ha.rest.get("/api/config")
    await ha.set_options(bed.entry_id, _night_window(core["time_zone"]))
    return bed


async def _first_hypnic_jerk(
    ha: HaInstance, bed: Bed, events: asyncio.Queue[dict[str, Any]]
) -> dict[str, Any]:
    """Wait until Home Assistant has fired a hypnic jerk event and has the sleeper in bed."""
    async with asyncio.timeout(25):
        while (event := await events.get())["data"].get("type") != "hypnic_jerk":
            pass
        while (await ha.state(bed.entities["in_bed"]) or {}).get("state") != "on":
            await asyncio.sleep(0.2)
    return event


async def _screenshot(page: Page, name: str, folders: list[Path]) -> None:
    """Save the page as ``<folder>/<name>.png`` in each folder, once its entity icons are drawn
    (they load after the states)."""
    await page.wait_for_function(ICONS_DRAWN)
    first, *others = folders
    await page.screenshot(path=first / f"{name}.png")
    for folder in others:
        shutil.copyfile(first / f"{name}.png", folder / f"{name}.png")


async def _log_in(page: Page, ha: HaInstance, path: str) -> None:
    """Open a page: Home Assistant's frontend sends the browser to its login page first."""
    await page.goto(ha.url + path)
    await page.get_by_role("textbox", name="Username").fill(DEMO_USER.username)
    await page.get_by_role("textbox", name="Password").fill(DEMO_USER.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(ha.url + path)


async def _browse(
    ha: HaInstance, bed: Bed, home: Path, folders: list[Path]
) -> tuple[list[str], set[int]]:
    """Drive Chromium through the bed's pages.

    Returns
    -------
    tuple
        The uncaught JavaScript errors the pages reported, and the browser's processes (with
        Playwright's driver) as they ran.
    """
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, home, VIEWPORT)
        try:
            browser.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)
            page = browser.pages[0] if browser.pages else await browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))

            # the bed's device page, with tonight's states as they come
            await _log_in(page, ha, f"/config/devices/device/{bed.device_id}")
            await expect(page.locator(".main-title")).to_have_text(BED_NAME)
            in_bed = page.locator("hui-simple-entity-row").filter(has_text="In bed")
            await expect(in_bed).to_contain_text("Detected")  # occupancy "on"
            jerks = page.locator("hui-sensor-entity-row").filter(has_text="Hypnic jerks tonight")
            await expect(jerks).to_contain_text(re.compile(r"(^|\s)[1-9]\d*(\s|$)"))  # a count
            for name in ("Twitches tonight", "Limb movements tonight", "PLM index tonight"):
                await expect(page.get_by_text(name, exact=True)).to_be_visible()
            await _screenshot(page, "device", folders)

            # the integration's page: the bed's entry, its device and entities
            await page.goto(f"{ha.url}/config/integrations/integration/{DOMAIN}")
            await expect(page.get_by_text(ha.version, exact=True)).to_be_visible()
            entry = page.locator(f'[data-entry-id="{bed.entry_id}"]')
            await expect(entry).to_contain_text(BED_NAME)
            await expect(entry).to_contain_text(f"1 device and {len(bed.entities)} entities")
            await _screenshot(page, "integration", folders)

            # the options dialog: change the limb movement rules and save
            await entry.get_by_role("button", name="Configure").click()
            await expect(page.get_by_text("Detection and night settings")).to_be_visible()
            await page.get_by_role("combobox", name="Limb movement rules").click()
            await page.get_by_role("option", name="AASM (5-90 s)").click()
            await _screenshot(page, "options", folders)
            await page.get_by_role("button", name="Submit").click()
            await expect(page.get_by_text("Options successfully saved")).to_be_visible()
            await page.get_by_role("button", name="Finish").click()
            processes = _descendants()
        finally:
            await browser.close()
    return errors, processes


@pytest.mark.e2e
@pytest.mark.usefixtures("socket_enabled")
async def test_a_browser_shows_the_bed_of_home_assistant_running_the_release_zip(
    tmp_path: Path,
) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs it (Debian's chromium)")
    folders = [tmp_path / "screenshots"]
    if os.environ.get(SCREENSHOTS_ENV):
        folders.append(Path(os.environ[SCREENSHOTS_ENV]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    before = _descendants()
    _, vbed = _night(_args(NIGHT))  # the demo's night: from a minute before getting into bed
    config = tmp_path / "config"
    ha = HaInstance(config)
    publisher: Publisher | None = None
    with start_local_broker("mosquitto") as broker:
        try:
            async with asyncio.timeout(120):
                ha.launch((broker.host, broker.port))
                await ha.wait_ready()
                bed = await _set_up_bed(ha, broker, vbed)
                events = await ha.ws.subscribe_events(EVENT_TYPE)
                publisher = Publisher([vbed], host=broker.host, port=broker.port, speed=SPEED)
                publisher.start()
                jerk = await _first_hypnic_jerk(ha, bed, events)
                assert jerk["data"]["device_id"] == bed.device_id
                page_errors, browser = await _browse(ha, bed, tmp_path / "chromium", folders)
                assert not page_errors

                # what the browser showed, through the REST API: states, the option it saved
                for key in MAIN_ENTITIES:
                    state = await ha.state(bed.entities[key])
                    assert state is not None, key
                    assert state["state"] != "unavailable", key
                jerks = await ha.state(bed.entities["hypnic_jerks_tonight"])
                assert jerks is not None
                assert int(jerks["state"]) >= 1
                found = await ha.rest.get(f"/api/diagnostics/config_entry/{bed.entry_id}")
                assert found["data"]["entry"]["options"]["rule_set"] == "aasm"
        finally:
            if publisher is not None:
                await asyncio.to_thread(publisher.stop)
            exit_code = await ha.stop()
    assert exit_code == 0

    # the component Home Assistant ran is the release zip's, file for file, byte for byte
    installed = config / "custom_components" / DOMAIN
    ran = {
        path.relative_to(installed).as_posix(): path.read_bytes()
        for path in installed.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(build(tmp_path / "release" / f"{DOMAIN}.zip")) as archive:
        assert ran == {name: archive.read(name) for name in archive.namelist()}
    log = (config / "home-assistant.log").read_text()
    assert not [line for line in log.splitlines() if "ERROR" in line and DOMAIN in line]

    # nothing left running: Mosquitto, hass, Playwright's driver and Chromium's processes
    assert broker.pid is not None
    assert ha.pid is not None
    assert not [pid for pid in (broker.pid, ha.pid, *browser) if _running(pid)]
    assert _descendants() <= before
