"""A small client of a running Home Assistant: its REST API and its WebSocket API (aiohttp).

Just what the demo and the end-to-end tests need: JSON requests with a bearer token, and one
WebSocket connection for commands (``call``) and event subscriptions (``subscribe_events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any, Final

import aiohttp

__all__ = ["HaApiError", "RestApi", "WebSocketApi"]

_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)


class HaApiError(RuntimeError):
    """Home Assistant answered a request with an error."""


class RestApi:
    """Home Assistant's REST API at ``url`` (e.g. ``http://127.0.0.1:8123``).

    Parameters
    ----------
    url
        Base URL, without a trailing slash.
    session
        The aiohttp session to use (closed by its owner).
    token
        Bearer token; ``None`` for the unauthenticated endpoints (onboarding, login).
    """

    def __init__(self, url: str, session: aiohttp.ClientSession, token: str | None = None) -> None:
        self.url = url
        self.session = session
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        form: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON answer (None for an empty body).

        Parameters
        ----------
        method
            HTTP method, e.g. ``GET``.
        path
            Path below the base URL, starting with ``/``.
        payload
            JSON body.
        form
            Form-encoded body instead (the OAuth token endpoint wants one).

        Returns
        -------
        Any
            The JSON answer.

        Raises
        ------
        HaApiError
            For an HTTP status of 400 or more.
        """
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method,
            self.url + path,
            json=payload,
            data=form,
            headers=headers,
            timeout=_TIMEOUT,
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise HaApiError(f"{method} {path}: HTTP {response.status} {text[:300]}")
            return await response.json(content_type=None) if text else None

    async def get(self, path: str) -> Any:
        """``GET`` a path; see :meth:`request`."""
        return await self.request("GET", path)

    async def post(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        """``POST`` JSON to a path; see :meth:`request`."""
        return await self.request("POST", path, payload)


class WebSocketApi:
    """One authenticated connection to Home Assistant's WebSocket API (``/api/websocket``).

    Use :meth:`connect`, then :meth:`call` and :meth:`subscribe_events`; :meth:`close` at the end.
    """

    def __init__(self, connection: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = connection
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read(), name="ha-websocket-reader")

    @classmethod
    async def connect(cls, url: str, session: aiohttp.ClientSession, token: str) -> WebSocketApi:
        """Open and authenticate a connection.

        Parameters
        ----------
        url
            Home Assistant's base URL (``http://...``).
        session
            The aiohttp session to use.
        token
            An access token.

        Returns
        -------
        WebSocketApi
            The connected client.

        Raises
        ------
        HaApiError
            If Home Assistant refuses the token.
        """
        ws = await session.ws_connect(url.replace("http", "ws", 1) + "/api/websocket")
        hello = await ws.receive_json(timeout=30)
        if hello.get("type") == "auth_required":
            await ws.send_json({"type": "auth", "access_token": token})
            hello = await ws.receive_json(timeout=30)
        if hello.get("type") != "auth_ok":
            await ws.close()
            raise HaApiError(f"WebSocket authentication failed: {hello}")
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data = message.json()
                for item in data if isinstance(data, list) else [data]:
                    self._dispatch(item)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(HaApiError("WebSocket connection closed"))

    def _dispatch(self, item: dict[str, Any]) -> None:
        msg_id = item.get("id")
        if not isinstance(msg_id, int):
            return
        if item.get("type") == "event" and msg_id in self._events:
            self._events[msg_id].put_nowait(item["event"])
        elif item.get("type") == "result" and (future := self._pending.pop(msg_id, None)):
            if future.done():
                return
            if item.get("success"):
                future.set_result(item.get("result"))
            else:
                future.set_exception(HaApiError(f"WebSocket command failed: {item.get('error')}"))

    async def call(self, command: str, **data: Any) -> Any:
        """Send one command and return its result.

        Parameters
        ----------
        command
            The message type, e.g. ``config_entries/flow/progress``.
        **data
            The command's other fields.

        Returns
        -------
        Any
            The ``result`` of the answer.

        Raises
        ------
        HaApiError
            If the command fails or the connection closes.
        """
        return await self._request({"type": command, **data})

    async def subscribe_events(self, event_type: str) -> asyncio.Queue[dict[str, Any]]:
        """Subscribe to an event type of the bus.

        Parameters
        ----------
        event_type
            E.g. ``sleep_myoclonus_event``.

        Returns
        -------
        asyncio.Queue
            Receives every event as Home Assistant sends it (``event_type``, ``data``,
            ``time_fired``, ...).
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await self._request({"type": "subscribe_events", "event_type": event_type}, queue)
        return queue

    async def _request(
        self, message: dict[str, Any], events: asyncio.Queue[dict[str, Any]] | None = None
    ) -> Any:
        """Send a message with the next id; return its result (events go to ``events``)."""
        msg_id = next(self._ids)
        if events is not None:
            self._events[msg_id] = events
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({"id": msg_id, **message})
        async with asyncio.timeout(30):
            return await future

    async def close(self) -> None:
        """Close the connection."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
