"""Repairs: what the nights tell the user to look at (Settings → System → Repairs).

- ``plm_doctor``: the PLM index was above 15/h (clinically significant in adults) on at least 3 of
  the last 7 nights. Informational; the user can ignore it. Cleared when fewer nights qualify.
- ``signal_clipped``: the signal clipped in most of last night's frames (a sensor too close to a
  slat or the gain too high). Cleared after a night with a clean signal.
- ``no_data``: no frame arrived during a whole night window. Cleared after the next frame.

Issues are evaluated when a night ends and when the bed is set up (they are not kept across
restarts by Home Assistant; a user's "ignore" is).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .history import NightRecord, last_nights
from .night import ClockWindow

PLM_INDEX_SIGNIFICANT: Final = 15.0  # per hour, adults (WASM/IRLSSG, AASM)
PLM_NIGHTS: Final = 3  # nights above it ...
PLM_OF_NIGHTS: Final = 7  # ... among the last this many
CLIPPED_SHARE: Final = 0.5  # "most of the night"
CLIPPED_MIN_FRAMES: Final = 600  # judge clipping only on nights with enough data (~10 min)

ISSUE_PLM_DOCTOR: Final = "plm_doctor"
ISSUE_SIGNAL_CLIPPED: Final = "signal_clipped"
ISSUE_NO_DATA: Final = "no_data"
ISSUES: Final = (ISSUE_PLM_DOCTOR, ISSUE_SIGNAL_CLIPPED, ISSUE_NO_DATA)


def issue_id(kind: str, entry: ConfigEntry) -> str:
    """Return the id of one bed's issue of a kind."""
    return f"{kind}_{entry.entry_id}"


def _set_issue(
    hass: HomeAssistant,
    entry: ConfigEntry,
    kind: str,
    raise_it: bool,
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    placeholders: dict[str, str] | None = None,
) -> None:
    if not raise_it:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry),
        is_fixable=False,
        is_persistent=False,
        severity=severity,
        translation_key=kind,
        translation_placeholders={"bed": entry.title, **(placeholders or {})},
    )


@callback
def async_update_night_issues(
    hass: HomeAssistant, entry: ConfigEntry, history: Sequence[NightRecord]
) -> None:
    """Raise or clear the issues that finished nights decide (PLM index, clipping)."""
    if not history:
        return
    latest = history[-1]
    week = last_nights(history, latest.night, PLM_OF_NIGHTS)
    high = [r for r in week if (r.plm_index or 0.0) > PLM_INDEX_SIGNIFICANT]
    _set_issue(
        hass,
        entry,
        ISSUE_PLM_DOCTOR,
        len(high) >= PLM_NIGHTS,
        placeholders={
            "nights": str(len(high)),
            "of_nights": str(PLM_OF_NIGHTS),
            "indices": ", ".join(f"{r.plm_index or 0.0:.0f}/h" for r in high),
        },
    )
    clipped = latest.clipped_fraction
    _set_issue(
        hass,
        entry,
        ISSUE_SIGNAL_CLIPPED,
        latest.frames >= CLIPPED_MIN_FRAMES and clipped is not None and clipped > CLIPPED_SHARE,
        placeholders={
            "night": latest.night.isoformat(),
            "percent": f"{(clipped or 0.0) * 100:.0f}",
        },
    )


@callback
def async_clear_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Remove all of a bed's issues (the entry was removed)."""
    for kind in ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry))


class NoDataWatch:
    """Raise ``no_data`` when a night window passes without one frame; clear it after the next.

    Judged by the periodic update from the time of the bed's last frame, so it adds nothing to
    the per-frame path.

    Parameters
    ----------
    hass : HomeAssistant
        The instance.
    entry : ConfigEntry
        The bed.
    window : ClockWindow
        The night window.
    now : datetime.datetime
        Local time at setup (a window already open then is not judged).
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, window: ClockWindow, now: dt.datetime
    ) -> None:
        self.hass, self.entry, self.window = hass, entry, window
        self._night = window.night_of(now)  # the window being watched (None: daytime)
        self._opened_at: float | None = None  # monotonic; None: joined late, not judged
        self._raised_at: float | None = None  # monotonic, while the issue is up

    @callback
    def tick(self, now: dt.datetime, last_frame_at: float | None) -> None:
        """Let time pass; judge a window when it closes.

        Parameters
        ----------
        now : datetime.datetime
            Local time.
        last_frame_at : float or None
            ``time.monotonic()`` of the bed's last frame (None: none yet).
        """
        clock = time.monotonic()
        raised, last = self._raised_at, last_frame_at
        if raised is not None and last is not None and last > raised:
            self._raised_at = None
            _set_issue(self.hass, self.entry, ISSUE_NO_DATA, False)
        night = self.window.night_of(now)
        if night == self._night:
            return
        silent = last_frame_at is None or (
            self._opened_at is not None and last_frame_at < self._opened_at
        )
        if self._night is not None and self._opened_at is not None and silent:
            self._raised_at = clock
            _set_issue(
                self.hass,
                self.entry,
                ISSUE_NO_DATA,
                True,
                severity=ir.IssueSeverity.ERROR,
                placeholders={"night": self._night.isoformat()},
            )
        self._night, self._opened_at = night, clock
