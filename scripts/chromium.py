"""Debian's Chromium, headless, for the end-to-end test and the dashboard screenshots.

Playwright (from PyPI) drives the browser Debian installs (``scripts/setup.sh``); ``playwright
install`` cannot download browsers here. Each run gets a fresh profile, and Chromium's crash
reports and caches stay in that run's folder, out of the user's home.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Playwright, ViewportSize

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


async def launch_chromium(
    playwright: Playwright, home: Path, viewport: ViewportSize, **options: Any
) -> BrowserContext:
    """Start headless Chromium with a fresh profile below ``home``.

    Parameters
    ----------
    playwright : Playwright
        A started Playwright.
    home : Path
        A fresh folder for the profile, crash reports and caches.
    viewport : ViewportSize
        The page size.
    **options
        More ``launch_persistent_context`` options (e.g. ``timezone_id``).

    Returns
    -------
    BrowserContext
        The browser; close it when done.
    """
    return await playwright.chromium.launch_persistent_context(
        home / "profile",
        executable_path=CHROMIUM,
        args=list(CHROMIUM_ARGS),
        env={**os.environ, "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)},
        headless=True,
        viewport=viewport,
        locale="en-US",
        **options,
    )
