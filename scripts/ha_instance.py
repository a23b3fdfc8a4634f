"""Run a real Home Assistant with Sleep Myoclonus installed the way users install it.

For the demo and the end-to-end tests. :class:`HaInstance` prepares a configuration directory
(:mod:`scripts.ha_config`: minimal configuration, the release zip unpacked into
``custom_components/sleep_myoclonus/``), starts ``hass`` as a child process, creates the owner
account over the onboarding API, logs in, and adds the MQTT integration and beds through their
config flows.

The child runs without this repository on its module path, so it imports the component from the
unpacked zip only. It gets its own session (Ctrl-C in the terminal reaches the demo, which stops
it in order) and, on Linux, is stopped when the thread that launched it ends: launch it from the
main thread.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from scripts.ha_api import HaApiError, RestApi, WebSocketApi
from scripts.ha_config import (
    HIDE_REPO,
    HOST,
    child_env,
    free_port,
    install_release,
    local_time_zone,
    onboarding_done,
    point_mqtt_entries,
    port_is_free,
    stored_entry,
    write_config,
)
from scripts.release import DOMAIN

__all__ = ["DEMO_USER", "Bed", "Credentials", "HaApiError", "HaInstance", "HaStartError"]

_BOOT: Final = HIDE_REPO + "from homeassistant.__main__ import main\nsys.exit(main())\n"
_CONSOLE: Final = "home-assistant.console.log"


class HaStartError(RuntimeError):
    """Home Assistant did not start, or could not be set up."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The owner account the instance creates (or logs in with, on a kept configuration)."""

    name: str
    username: str
    password: str


DEMO_USER: Final = Credentials("Demo", "demo", "demo-password")


@dataclass(slots=True)
class Bed:
    """A bed's config entry in Home Assistant."""

    entry_id: str
    title: str
    device_id: str
    how: str  # "discovered", "added by hand" or "already set up"
    entities: dict[str, str] = field(default_factory=dict)  # entity description key -> id


class HaInstance:
    """A Home Assistant child process and an API session to it.

    Parameters
    ----------
    config_dir
        Configuration directory to use and keep; ``None``: a temporary one, deleted by
        :meth:`stop`.
    port
        HTTP port; 0 picks a free one.
    credentials
        The owner account.
    """

    def __init__(
        self, config_dir: Path | None = None, *, port: int = 0, credentials: Credentials = DEMO_USER
    ) -> None:
        self.temporary = config_dir is None
        self.config_dir = (
            Path(tempfile.mkdtemp(prefix="sleep-myoclonus-ha-"))
            if config_dir is None
            else config_dir.resolve()
        )
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.credentials = credentials
        self.process: subprocess.Popen[bytes] | None = None
        self.version = ""
        self.session: aiohttp.ClientSession | None = None
        self._rest: RestApi | None = None
        self._ws: WebSocketApi | None = None

    @property
    def pid(self) -> int | None:
        """The process id of ``hass``, once launched."""
        return None if self.process is None else self.process.pid

    @property
    def rest(self) -> RestApi:
        """The REST API, authenticated once :meth:`wait_ready` returned."""
        if self._rest is None:
            raise HaStartError("Home Assistant is not running")
        return self._rest

    @property
    def ws(self) -> WebSocketApi:
        """The WebSocket API, authenticated once :meth:`wait_ready` returned."""
        if self._ws is None:
            raise HaStartError("Home Assistant is not running")
        return self._ws

    def launch(self, mqtt_broker: tuple[str, int] | None = None) -> None:
        """Write the configuration, install the release zip and start ``hass`` (returns at once).

        Parameters
        ----------
        mqtt_broker
            ``(host, port)`` of this run's broker; an MQTT entry kept from an earlier run in the
            same configuration directory is pointed at it.

        Raises
        ------
        HaStartError
            If the HTTP port is taken.
        """
        if not port_is_free(self.port):
            raise HaStartError(f"port {self.port} is in use")
        write_config(self.config_dir, self.port, local_time_zone())
        if mqtt_broker is not None:
            point_mqtt_entries(self.config_dir, *mqtt_broker)
        self.version = install_release(self.config_dir)
        with (self.config_dir / _CONSOLE).open("ab") as console:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, "-c", str(self.config_dir), "--skip-pip"],
                cwd=self.config_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                env=child_env(),
                start_new_session=True,
            )

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of Home Assistant's log (or of its console output before logging)."""
        for name in ("home-assistant.log", _CONSOLE):
            path = self.config_dir / name
            if path.exists() and (text := path.read_text(errors="replace").strip()):
                return "\n".join(text.splitlines()[-lines:])
        return "(no log)"

    def _check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise HaStartError(f"Home Assistant exited (code {code}); log:\n{self.log_tail()}")

    async def wait_ready(self, timeout_s: float = 180.0) -> None:
        """Wait for the HTTP server, log in (creating the owner first) and wait for RUNNING.

        Raises
        ------
        HaStartError
            If the process exits or is not running within ``timeout_s``.
        """
        self.session = aiohttp.ClientSession()
        anonymous = RestApi(self.url, self.session)
        # the onboarding API exists until the owner account is created; the login API after
        onboarded = "user" in onboarding_done(self.config_dir)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._check_alive()
                    try:
                        await anonymous.get("/auth/providers" if onboarded else "/api/onboarding")
                        break
                    except (aiohttp.ClientError, HaApiError):
                        await asyncio.sleep(0.25)
                token = await self._login(anonymous, onboarded=onboarded)
                self._rest = RestApi(self.url, self.session, token)
                while (await self._rest.get("/api/config"))["state"] != "RUNNING":
                    self._check_alive()
                    await asyncio.sleep(0.25)
        except TimeoutError as err:
            raise HaStartError(f"Home Assistant not running after {timeout_s:g} s") from err
        # a long-lived token, so a long demo outlives the 30 min access token
        ws = await WebSocketApi.connect(self.url, self.session, token)
        try:
            name = f"Sleep Myoclonus demo {time.strftime('%Y-%m-%d %H:%M:%S')}"
            token = await ws.call("auth/long_lived_access_token", client_name=name, lifespan=30)
        finally:
            await ws.close()
        self._rest.token = token
        self._ws = await WebSocketApi.connect(self.url, self.session, token)

    async def _login(self, api: RestApi, *, onboarded: bool) -> str:
        """Create the owner account (new configuration) or log in to it; return a token."""
        client_id = self.url + "/"
        who = self.credentials
        if not onboarded:
            account = {"name": who.name, "username": who.username, "password": who.password}
            created = await api.post(
                "/api/onboarding/users", {"client_id": client_id, "language": "en", **account}
            )
            code = created["auth_code"]
        else:
            handler = {"handler": ["homeassistant", None], "redirect_uri": client_id}
            flow = await api.post("/auth/login_flow", {"client_id": client_id, **handler})
            done = await api.post(
                f"/auth/login_flow/{flow['flow_id']}",
                {"client_id": client_id, "username": who.username, "password": who.password},
            )
            if done.get("type") != "create_entry":
                raise HaStartError(f"cannot log in as {who.username}: {done.get('errors')}")
            code = done["result"]
        form = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
        tokens = await api.request("POST", "/auth/token", form=form)
        return str(tokens["access_token"])

    async def entries(self, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of an integration."""
        result: list[dict[str, Any]] = await self.rest.get(
            f"/api/config/config_entries/entry?domain={domain}"
        )
        return result

    async def add_mqtt(self, host: str, port: int) -> bool:
        """Add the MQTT integration for a broker (its config flow); False if one exists already.

        Raises
        ------
        HaStartError
            If the flow does not create the entry (e.g. the broker is unreachable).
        """
        if await self.entries("mqtt"):
            return False
        flow = await self.rest.post("/api/config/config_entries/flow", {"handler": "mqtt"})
        result = await self.rest.post(
            f"/api/config/config_entries/flow/{flow['flow_id']}", {"broker": host, "port": port}
        )
        if result.get("type") != "create_entry":
            raise HaStartError(f"adding MQTT failed: {result.get('errors') or result}")
        return True

    async def add_bed(
        self, prefix: str, sensor_id: str, name: str, *, discovery_timeout_s: float = 15.0
    ) -> Bed:
        """Add a bed: finish the discovery flow the sensor's meta started, else add it by hand.

        Parameters
        ----------
        prefix, sensor_id
            The sensor's topics.
        name
            The bed's name (entity ids are built from it).
        discovery_timeout_s
            How long to wait for the discovery flow (only the default prefix is discovered).

        Returns
        -------
        Bed
            Its entry, device and entities.

        Raises
        ------
        HaStartError
            If no entry was created.
        """
        unique_id = f"{prefix}/{sensor_id}"
        if entry := stored_entry(self.config_dir, DOMAIN, unique_id):  # from an earlier run
            return await self._bed(entry["entry_id"], entry["title"], "already set up")
        flow_id = await self._discovery_flow(unique_id, discovery_timeout_s)
        how = "discovered"
        if flow_id is None:
            how = "added by hand"
            flow = await self.rest.post("/api/config/config_entries/flow", {"handler": DOMAIN})
            flow_id = flow["flow_id"]
            answer = {"name": name, "topic_prefix": prefix, "sensor_id": sensor_id}
        else:
            answer = {"name": name}
        result = await self.rest.post(f"/api/config/config_entries/flow/{flow_id}", answer)
        if result.get("type") != "create_entry":
            raise HaStartError(f"adding the bed failed: {result.get('errors') or result}")
        return await self._bed(result["result"]["entry_id"], result["title"], how)

    async def _discovery_flow(self, unique_id: str, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for flow in await self.ws.call("config_entries/flow/progress"):
                context = flow.get("context", {})
                if flow["handler"] == DOMAIN and context.get("unique_id") == unique_id:
                    return str(flow["flow_id"])
            await asyncio.sleep(0.25)
        return None

    async def _bed(self, entry_id: str, title: str, how: str) -> Bed:
        """Wait until the entry is loaded with its entities; return them."""
        async with asyncio.timeout(30):
            while True:
                entry = next(e for e in await self.entries(DOMAIN) if e["entry_id"] == entry_id)
                registry = await self.ws.call("config/entity_registry/list")
                mine = [e for e in registry if e["config_entry_id"] == entry_id]
                if entry["state"] == "loaded" and mine:
                    break
                await asyncio.sleep(0.25)
        entities = {e["translation_key"] or e["unique_id"]: e["entity_id"] for e in mine}
        return Bed(entry_id, title, str(mine[0]["device_id"]), how, entities)

    async def set_options(self, entry_id: str, options: dict[str, Any]) -> None:
        """Change a config entry's options through its options flow; wait for the reload.

        Raises
        ------
        HaStartError
            If the options flow refuses them.
        """
        base = "/api/config/config_entries/options/flow"
        flow = await self.rest.post(base, {"handler": entry_id})
        result = await self.rest.post(f"{base}/{flow['flow_id']}", options)
        if result.get("type") != "create_entry":
            raise HaStartError(f"options refused: {result.get('errors') or result}")
        await asyncio.sleep(0.5)  # the entry reloads in the background
        async with asyncio.timeout(30):
            while not any(
                e["entry_id"] == entry_id and e["state"] == "loaded"
                for e in await self.entries(DOMAIN)
            ):
                await asyncio.sleep(0.2)

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """Return an entity's state object, or None if Home Assistant has none."""
        try:
            result: dict[str, Any] = await self.rest.get(f"/api/states/{entity_id}")
        except HaApiError:
            return None
        return result

    async def stop(self, timeout_s: float = 30.0) -> int | None:
        """Close the API session, stop ``hass`` (SIGTERM, then SIGKILL) and remove a temporary
        configuration. Idempotent.

        Returns
        -------
        int or None
            The exit code of ``hass`` (None if it was never launched).
        """
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self.session is not None:
            await self.session.close()
            self.session = None
        code = await asyncio.to_thread(self._stop_process, timeout_s)
        if self.temporary:
            shutil.rmtree(self.config_dir, ignore_errors=True)
        return code

    def _stop_process(self, timeout_s: float) -> int | None:
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode
