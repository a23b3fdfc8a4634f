"""Sleep Myoclonus: nocturnal twitch detection from an under-mattress piezo sensor over MQTT.

Package skeleton; the integration (config flow, entities, events) arrives with the Home Assistant
integration issue.
"""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "sleep_myoclonus"
