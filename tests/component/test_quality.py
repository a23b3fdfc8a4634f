"""Signal quality: lost and clipped samples lower it; old minutes drop out of the window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.sleep_myoclonus.quality import SignalQuality
from detector.protocol import encode_frame

from .bed_player import EVENING, advance, bed_entry, setup_bed


def test_lost_and_clipped_samples_count_against_quality() -> None:
    quality = SignalQuality(window_s=600, bucket_s=60)
    assert quality.percent(0.0) is None
    quality.frame(10.0, received=250, missing=0, clipped=False)
    quality.frame(11.0, received=250, missing=250, clipped=False)  # one frame lost before
    quality.frame(12.0, received=250, missing=0, clipped=True)
    assert quality.percent(12.0) == pytest.approx(100 * 500 / 1000)
    quality.frame(700.0, received=250, missing=0, clipped=False)
    assert quality.percent(700.0) == 100.0  # the first minute left the window


@pytest.mark.usefixtures("mqtt_mock")
async def test_frames_at_the_adc_rails_lower_the_quality(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    await setup_bed(hass, bed_entry(entry_data))
    rng = np.random.default_rng(3)
    for seq in range(8):
        samples = rng.integers(-200, 200, (250, 2)).astype(np.int16)
        if seq % 2:
            samples[100, 1] = -32768  # clipped at the negative rail
        frame = encode_frame(samples, seq=seq, boot_id=5, sample0=250 * seq, fs_hz=250.0)
        async_fire_mqtt_message(hass, "sleep_myoclonus/bedroom/raw", frame)
    await advance(hass, freezer, 5)
    state = hass.states.get("sensor.bedroom_signal_quality")
    assert state is not None
    assert state.state == "50.0"
