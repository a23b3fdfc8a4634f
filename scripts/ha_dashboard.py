"""Put the shipped dashboard into a running Home Assistant, for a bed of the demo's naming.

The dashboard file is written for a bed whose sensor id and name are ``bedroom``/"Bedroom"; the
demo names a bed after its sensor id, so its entity and statistic ids use the same slug and the
file serves any bed once ``bedroom`` is replaced by that slug.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from homeassistant.util.yaml import load_yaml_dict

from scripts.ha_instance import HaInstance
from scripts.release import ROOT

DASHBOARD_FILE: Final = (
    ROOT / "custom_components" / "sleep_myoclonus" / "dashboards" / "sleep_myoclonus.yaml"
)
SHIPPED_SLUG: Final = "bedroom"


def dashboard_for(slug: str, path: Path = DASHBOARD_FILE) -> dict[str, Any]:
    """Return the dashboard's configuration with its bed ids renamed to ``slug``."""

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(SHIPPED_SLUG, slug)
        if isinstance(value, list):
            return [rename(item) for item in value]
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        return value

    renamed: dict[str, Any] = rename(dict(load_yaml_dict(path)))
    return renamed


def bed_slug(sensor_id: str) -> str:
    """Return the slug Home Assistant makes of a sensor id (and of the demo's bed name)."""
    return re.sub(r"[^a-z0-9]+", "_", sensor_id.lower()).strip("_")


async def add_dashboard(ha: HaInstance, sensor_id: str) -> str:
    """Create (or, in a kept configuration, refresh) a bed's dashboard ``sleep-<slug>``.

    Returns
    -------
    str
        The dashboard's URL.
    """
    slug = bed_slug(sensor_id)
    config = dashboard_for(slug)
    url_path = f"sleep-{slug.replace('_', '-')}"
    existing = await ha.ws.call("lovelace/dashboards/list")
    if all(board.get("url_path") != url_path for board in existing):  # a kept configuration has it
        await ha.ws.call(
            "lovelace/dashboards/create",
            url_path=url_path,
            title=config.get("title", "Sleep"),
            icon="mdi:bed",
            mode="storage",
            show_in_sidebar=True,
            require_admin=False,
        )
    await ha.ws.call("lovelace/config/save", url_path=url_path, config=config)
    return f"{ha.url}/{url_path}"
