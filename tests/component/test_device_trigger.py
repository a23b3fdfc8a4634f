"""Device triggers, through Home Assistant's real automation engine."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.device_automation.exceptions import InvalidDeviceAutomationConfig
from homeassistant.components.device_automation.trigger import (
    async_validate_trigger_config as validate_device_trigger,
)
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.sleep_myoclonus import device_trigger
from custom_components.sleep_myoclonus.const import (
    DOMAIN,
    EVENT_BED,
    TWITCH_RATE_KEY,
    BedEventType,
    BedNotice,
)
from custom_components.sleep_myoclonus.device_trigger import (
    TRIGGER_SCHEMA,
    TRIGGER_TYPES,
    TWITCH_RATE_ABOVE,
)
from custom_components.sleep_myoclonus.sensor import SENSORS, UNIT_TWITCHES_PER_HOUR

from .bed_player import EVENING, bed_entry, play, setup_bed
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock")

# detections and bed changes, then the notices: every type that comes from the bus event
EVENT_TYPES = [*(kind.value for kind in BedEventType), *(kind.value for kind in BedNotice)]

# what the automations record of the trigger that ran them ("" where it does not apply)
WHAT_FIRED = {
    "platform": "{{ trigger.platform }}",
    "event_type": "{{ trigger.event.data.type if trigger.event is defined else '' }}",
    "device_id": "{{ trigger.event.data.device_id if trigger.event is defined else '' }}",
    "from": "{{ trigger.from_state.state if trigger.from_state is defined else '' }}",
    "to": "{{ trigger.to_state.state if trigger.to_state is defined else '' }}",
}


@pytest.fixture
def calls(hass: HomeAssistant) -> list[ServiceCall]:
    """The automations' action: a call of ``test.automation`` per run."""
    return async_mock_service(hass, "test", "automation")


@pytest.fixture
async def bed(hass: HomeAssistant, entry_data: dict[str, Any]) -> MockConfigEntry:
    """A bed, set up."""
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    return entry


@pytest.fixture
def device(hass: HomeAssistant, bed: MockConfigEntry) -> dr.DeviceEntry:
    """The bed's device."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), bed.entry_id)
    assert len(devices) == 1
    return devices[0]


@pytest.fixture
def rate_entry(hass: HomeAssistant, device: dr.DeviceEntry) -> er.RegistryEntry:
    """The twitch rate sensor's registry entry."""
    registry = er.async_get(hass)
    rate = [
        entry
        for entry in er.async_entries_for_device(registry, device.id)
        if entry.unique_id.endswith("-twitch_rate")
    ]
    assert len(rate) == 1
    return rate[0]


@pytest.fixture
async def rate_only(hass: HomeAssistant, bed: MockConfigEntry, rate_entry: er.RegistryEntry) -> str:
    """The twitch rate sensor's entity id, its bed unloaded so that the test sets its states.

    The device and the registry entry stay, so device triggers on them still validate.
    """
    assert await hass.config_entries.async_unload(bed.entry_id)
    await hass.async_block_till_done()
    hass.states.async_remove(rate_entry.entity_id)
    return rate_entry.entity_id


def trigger(device: dr.DeviceEntry, kind: str, **extra: Any) -> dict[str, Any]:
    """A device trigger of the bed, as the UI stores it."""
    return {"platform": "device", "domain": DOMAIN, "device_id": device.id, "type": kind, **extra}


async def setup_automations(hass: HomeAssistant, triggers: dict[str, dict[str, Any]]) -> None:
    """One automation per trigger; each calls ``test.automation`` with what fired it."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "alias": name,
                    "triggers": config,
                    "actions": {
                        "action": "test.automation",
                        "data": {"name": name, **WHAT_FIRED},
                    },
                }
                for name, config in triggers.items()
            ]
        },
    )
    await hass.async_block_till_done()


def names(calls: list[ServiceCall]) -> list[str]:
    return [call.data["name"] for call in calls]


# -- listing and capabilities -------------------------------------------------------------


async def test_every_type_is_listed_for_the_bed(
    hass: HomeAssistant, device: dr.DeviceEntry, rate_entry: er.RegistryEntry
) -> None:
    assert len(TRIGGER_TYPES) == 11
    assert set(TRIGGER_TYPES) == {*EVENT_TYPES, TWITCH_RATE_ABOVE}
    listed = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    ours = [t for t in listed if t["domain"] == DOMAIN]
    base = {"platform": "device", "domain": DOMAIN, "device_id": device.id}
    assert ours == [
        *({**base, "type": kind, "metadata": {}} for kind in EVENT_TYPES),
        {
            **base,
            "type": TWITCH_RATE_ABOVE,
            "entity_id": rate_entry.id,  # the registry id, as current Home Assistant stores it
            "metadata": {"secondary": False},
        },
    ]


def test_the_trigger_knows_the_twitch_rate_sensor() -> None:
    rate = next(d for d in SENSORS if d.key == TWITCH_RATE_KEY)
    assert rate.native_unit_of_measurement == UNIT_TWITCHES_PER_HOUR


async def test_no_rate_trigger_while_the_rate_sensor_is_disabled(
    hass: HomeAssistant, device: dr.DeviceEntry, rate_entry: er.RegistryEntry
) -> None:
    er.async_get(hass).async_update_entity(
        rate_entry.entity_id, disabled_by=er.RegistryEntryDisabler.USER
    )
    listed = await device_trigger.async_get_triggers(hass, device.id)
    assert [t["type"] for t in listed] == EVENT_TYPES
    er.async_get(hass).async_remove(rate_entry.entity_id)  # or gone
    listed = await device_trigger.async_get_triggers(hass, device.id)
    assert [t["type"] for t in listed] == EVENT_TYPES


async def test_no_triggers_for_other_devices(hass: HomeAssistant, device: dr.DeviceEntry) -> None:
    other_entry = MockConfigEntry(domain="other")
    other_entry.add_to_hass(hass)
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=other_entry.entry_id, identifiers={("other", "lamp")}
    )
    assert await device_trigger.async_get_triggers(hass, other.id) == []
    assert await device_trigger.async_get_triggers(hass, "no-such-device") == []


async def test_capabilities(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
) -> None:
    """The automation editor asks for the extra fields over the websocket API."""
    assert await async_setup_component(hass, "device_automation", {})
    client = await hass_ws_client(hass)
    rate = trigger(device, TWITCH_RATE_ABOVE, entity_id=rate_entry.id)
    await client.send_json_auto_id(
        {"type": "device_automation/trigger/capabilities", "trigger": rate}
    )
    response = await client.receive_json()
    assert response["success"]
    for field in response["result"]["extra_fields"]:  # HA 2026 adds "required": False
        if field.get("optional"):
            assert field.pop("required", False) is False
    assert response["result"] == {
        "extra_fields": [
            {
                "name": "above",
                "required": True,
                "type": "float",
                "description": {"suffix": "twitches/h"},
            },
            {"name": "for", "optional": True, "type": "positive_time_period_dict"},
        ]
    }
    await client.send_json_auto_id(
        {"type": "device_automation/trigger/capabilities", "trigger": trigger(device, "twitch")}
    )
    response = await client.receive_json()
    assert response["success"]
    assert response["result"] == {"extra_fields": []}


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"type": "sneeze"}, "value must be one of"),
        ({"type": TWITCH_RATE_ABOVE, "entity_id": "sensor.bedroom_twitch_rate"}, "above"),
        ({"type": TWITCH_RATE_ABOVE, "above": 10}, "entity_id"),
        ({"type": TWITCH_RATE_ABOVE, "entity_id": "sensor.x", "above": 0}, "above 0"),
        ({"type": TWITCH_RATE_ABOVE, "entity_id": "sensor.x", "above": "nan"}, "above 0"),
        ({"type": TWITCH_RATE_ABOVE, "entity_id": "sensor.x", "above": "many"}, "float"),
        ({"type": TWITCH_RATE_ABOVE, "entity_id": "sensor.x", "above": 5, "for": "x"}, "offset"),
        ({"type": "twitch", "above": 10}, "only twitch_rate_above takes above"),
        ({"type": "twitch", "for": {"minutes": 1}}, "only twitch_rate_above takes for"),
    ],
)
def test_invalid_configs_are_rejected(extra: dict[str, Any], message: str) -> None:
    config = {"platform": "device", "domain": DOMAIN, "device_id": "abc", **extra}
    with pytest.raises(vol.Invalid, match=message):
        TRIGGER_SCHEMA(config)


def test_valid_configs() -> None:
    base = {"platform": "device", "domain": DOMAIN, "device_id": "abc"}
    for kind in EVENT_TYPES:
        assert TRIGGER_SCHEMA({**base, "type": kind})["type"] == kind
    rate = TRIGGER_SCHEMA(
        {
            **base,
            "type": TWITCH_RATE_ABOVE,
            "entity_id": "0123456789abcdef0123456789abcdef",
            "above": "12.5",
            "for": {"minutes": 5},
        }
    )
    assert rate["above"] == 12.5
    assert rate["for"] == dt.timedelta(minutes=5)
    assert TRIGGER_SCHEMA({**rate, "for": "00:02:00"})["for"] == dt.timedelta(minutes=2)


async def test_invalid_automations_are_refused(
    hass: HomeAssistant, device: dr.DeviceEntry, rate_entry: er.RegistryEntry
) -> None:
    """Home Assistant's own validation path refuses them; the automation is not armed."""
    with pytest.raises(vol.Invalid):
        await validate_device_trigger(hass, trigger(device, "sneeze"))
    with pytest.raises(vol.Invalid):
        await validate_device_trigger(hass, trigger(device, TWITCH_RATE_ABOVE))
    with pytest.raises(InvalidDeviceAutomationConfig):
        await validate_device_trigger(
            hass, trigger(device, TWITCH_RATE_ABOVE, entity_id="f" * 32, above=5)
        )
    await setup_automations(
        hass,
        {
            "unknown type": trigger(device, "sneeze"),
            "no threshold": trigger(device, TWITCH_RATE_ABOVE, entity_id=rate_entry.id),
        },
    )
    for name in ("unknown_type", "no_threshold"):
        assert hass.states.get(f"automation.{name}").state == STATE_UNAVAILABLE


# -- the event types --------------------------------------------------------------------------


async def test_each_event_trigger_fires_for_its_type_and_device_only(
    hass: HomeAssistant, device: dr.DeviceEntry, calls: list[ServiceCall]
) -> None:
    await setup_automations(hass, {kind: trigger(device, kind) for kind in EVENT_TYPES})
    for kind in EVENT_TYPES:
        hass.bus.async_fire(EVENT_BED, {"device_id": "another-bed", "type": kind})
        hass.bus.async_fire(EVENT_BED, {"device_id": device.id, "type": "sneeze"})
        hass.bus.async_fire(f"{EVENT_BED}_other", {"device_id": device.id, "type": kind})
        await hass.async_block_till_done()
        assert calls == []
        hass.bus.async_fire(EVENT_BED, {"device_id": device.id, "type": kind, "duration": 0.3})
        await hass.async_block_till_done()
        assert len(calls) == 1
        assert calls[0].data == {
            "name": kind,
            "platform": "device",
            "event_type": kind,
            "device_id": device.id,
            "from": "",
            "to": "",
        }
        calls.clear()


async def test_a_night_fires_the_automations_once_per_detection(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    calls: list[ServiceCall],
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    await setup_automations(hass, {kind: trigger(device, kind) for kind in EVENT_TYPES})
    fired: list[str] = []
    hass.bus.async_listen(EVENT_BED, lambda event: fired.append(event.data["type"]))
    await play(hass, freezer, night_messages())
    bus = Counter(fired)
    assert bus["got_into_bed"] == 1
    assert bus["limb_movement"] > 10
    assert bus["plm_series_started"] >= 1
    assert Counter(names(calls)) == bus
    assert all(call.data["device_id"] == device.id for call in calls)


# -- twitch_rate_above ------------------------------------------------------------------------


def rate_trigger(device: dr.DeviceEntry, rate: er.RegistryEntry, **extra: Any) -> dict[str, Any]:
    return trigger(device, TWITCH_RATE_ABOVE, entity_id=rate.id, **extra)


async def test_rate_trigger_fires_on_crossing_the_threshold(
    hass: HomeAssistant,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
    rate_only: str,
    calls: list[ServiceCall],
) -> None:
    hass.states.async_set(rate_only, "4.0")
    await setup_automations(hass, {"rate": rate_trigger(device, rate_entry, above=20)})
    for value in ("12.0", "20.0", "20.5", "30.0", "19.0", "20.0", "24.0", "26.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    # (the templates render numbers as numbers)
    assert [(c.data["platform"], c.data["from"], c.data["to"]) for c in calls] == [
        ("device", 20.0, 20.5),
        ("device", 20.0, 24.0),
    ]


async def test_rate_trigger_ignores_unavailable(
    hass: HomeAssistant,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
    rate_only: str,
    calls: list[ServiceCall],
) -> None:
    hass.states.async_set(rate_only, "4.0")
    await setup_automations(hass, {"rate": rate_trigger(device, rate_entry, above=20)})
    hass.states.async_set(rate_only, "25.0")
    await hass.async_block_till_done()
    assert len(calls) == 1
    # the sensor drops out and comes back still above: the same episode, no second run
    for value in (STATE_UNAVAILABLE, "25.0", STATE_UNAVAILABLE, "31.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    hass.states.async_remove(rate_only)  # the entity removed (a reload) and back
    hass.states.async_set(rate_only, "28.0")
    await hass.async_block_till_done()
    assert len(calls) == 1
    # ... or comes back below: nothing, until the rate rises again
    for value in (STATE_UNAVAILABLE, "10.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    assert len(calls) == 1
    hass.states.async_set(rate_only, "22.0")
    await hass.async_block_till_done()
    assert len(calls) == 2


async def test_rate_trigger_fires_for_a_new_night(
    hass: HomeAssistant,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
    rate_only: str,
    calls: list[ServiceCall],
) -> None:
    """``unknown`` (too little time in bed for a rate: a new night) is a reading below."""
    hass.states.async_set(rate_only, STATE_UNKNOWN)
    await setup_automations(hass, {"rate": rate_trigger(device, rate_entry, above=20)})
    for value in ("30.0", STATE_UNKNOWN, "25.0", "not a number", "21.0", "inf", "22.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    assert [c.data["to"] for c in calls] == [30.0, 25.0, 21.0, 22.0]


@pytest.mark.parametrize("initial", ["30.0", STATE_UNAVAILABLE, None])
async def test_rate_trigger_does_not_fire_on_a_restart(
    hass: HomeAssistant,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
    rate_only: str,
    calls: list[ServiceCall],
    initial: str | None,
) -> None:
    """Attached while the rate is above the threshold, unavailable or not there yet: the first
    reading above is not a crossing (Home Assistant starting, the rate coming back)."""
    if initial is not None:
        hass.states.async_set(rate_only, initial)
    await setup_automations(hass, {"rate": rate_trigger(device, rate_entry, above=20)})
    for value in ("30.0", "31.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    # the trigger attached again (as on a restart) with the state restored: still no run
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {"entity_id": "automation.rate"}, blocking=True
    )
    await hass.services.async_call(
        automation.DOMAIN, "turn_on", {"entity_id": "automation.rate"}, blocking=True
    )
    for value in (STATE_UNAVAILABLE, "30.0"):
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()
    assert calls == []
    hass.states.async_set(rate_only, "10.0")
    hass.states.async_set(rate_only, "30.0")
    await hass.async_block_till_done()
    assert len(calls) == 1


async def test_rate_trigger_with_for(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device: dr.DeviceEntry,
    rate_entry: er.RegistryEntry,
    rate_only: str,
    calls: list[ServiceCall],
) -> None:
    async def wait(minutes: float) -> None:
        freezer.tick(dt.timedelta(minutes=minutes))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()

    async def rate(value: str) -> None:
        hass.states.async_set(rate_only, value)
        await hass.async_block_till_done()

    await rate("5.0")
    await setup_automations(
        hass, {"rate": rate_trigger(device, rate_entry, above=20, **{"for": {"minutes": 5}})}
    )
    await rate("25.0")
    await wait(3)
    await rate("27.0")  # still above: the period goes on from the crossing
    await wait(1)
    assert calls == []
    await wait(1.5)
    assert [(c.data["from"], c.data["to"]) for c in calls] == [(5.0, 25.0)]
    # dropping below within the period cancels it
    await rate("10.0")
    await rate("25.0")
    await wait(2)
    await rate("15.0")
    await wait(10)
    assert len(calls) == 1
    # so does a gap: the rate must be seen above for the whole period
    await rate("25.0")
    await wait(2)
    await rate(STATE_UNAVAILABLE)
    await wait(10)
    assert len(calls) == 1
    await rate("25.0")
    await wait(4)
    assert len(calls) == 1
    await wait(1.5)
    assert len(calls) == 2
    # a pending period goes away with the automation
    await rate("10.0")
    await rate("25.0")
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {"entity_id": "automation.rate"}, blocking=True
    )
    await wait(10)
    assert len(calls) == 2


async def test_rate_trigger_on_the_real_sensor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    calls: list[ServiceCall],
) -> None:
    """Driven by a virtual night: the rate appears after ten minutes in bed and fires once;
    reloading the bed mid-night does not fire it again."""
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    rate = next(
        e
        for e in er.async_entries_for_device(er.async_get(hass), device.id)
        if e.unique_id.endswith("-twitch_rate")
    )
    await setup_automations(hass, {"rate": rate_trigger(device, rate, above=1)})
    messages = night_messages()
    split = next(i for i, m in enumerate(messages) if m.time_s >= 15 * 60)
    await play(hass, freezer, messages[:split])
    value = float(hass.states.get(rate.entity_id).state)
    assert value > 1
    assert len(calls) == 1
    assert calls[0].data["from"] == STATE_UNKNOWN
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await play(hass, freezer, messages[split:])
    assert len(calls) == 1
