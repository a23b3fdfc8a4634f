"""Start a throw-away MQTT broker on a free loopback port: Mosquitto if installed, else embedded.

Used by the demo and the tests::

    with start_local_broker() as broker:
        client.connect(broker.host, broker.port)

Mosquitto runs from a generated config in a private temporary directory (``listener <port>
127.0.0.1``, anonymous access, no persistence, log to ``mosquitto.log`` there) and is stopped by
its PID. When Mosquitto is missing (or ``prefer="embedded"``) the pure-Python
:class:`~hardware.mqtt.embedded_broker.EmbeddedBroker` runs in a background thread instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Literal, Self

from .embedded_broker import BrokerThread, run_in_thread

__all__ = ["BrokerStartError", "LocalBroker", "find_mosquitto", "start_local_broker"]

BrokerKind = Literal["mosquitto", "embedded"]
_FALLBACK_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
_LOG_TAIL_LINES = 20
_PORT_ATTEMPTS = 3
_LOG_FILES = ("stderr.log", "mosquitto.log")


_RUNNING: set[LocalBroker] = set()


class BrokerStartError(RuntimeError):
    """The requested broker could not be found or started."""


def find_mosquitto() -> str | None:
    """Return the path of the ``mosquitto`` executable, or None.

    Looks on ``PATH`` first, then in ``/usr/sbin`` and ``/usr/local/sbin`` (often not on a normal
    user's ``PATH``).
    """
    found = shutil.which("mosquitto")
    if found:
        return found
    for path in _FALLBACK_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate by PID, kill after ``timeout``; always reap."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()


def _cleanup(
    proc: subprocess.Popen[bytes] | None,
    workdir: str | None,
    thread: BrokerThread | None,
    timeout: float,
) -> None:
    if thread is not None:
        thread.stop(timeout)
    if proc is not None:
        _stop_process(proc, timeout)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


class LocalBroker:
    """A running local broker; stop it with :meth:`stop` or use it as a context manager.

    Attributes
    ----------
    host : str
        Always ``"127.0.0.1"``.
    port : int
        TCP port the broker listens on.
    kind : {"mosquitto", "embedded"}
        Which broker runs.
    pid : int or None
        Mosquitto's process id; None for the embedded broker (it runs in this process).
    log_path : pathlib.Path or None
        Mosquitto's log file (removed by :meth:`stop`); None for the embedded broker.
    """

    def __init__(
        self,
        host: str,
        port: int,
        kind: BrokerKind,
        *,
        process: subprocess.Popen[bytes] | None = None,
        workdir: str | None = None,
        thread: BrokerThread | None = None,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.kind: BrokerKind = kind
        self.pid = process.pid if process is not None else None
        self.log_path = Path(workdir, "mosquitto.log") if workdir is not None else None
        # Runs on stop() or at interpreter exit, so a forgotten broker never outlives this process
        # (unless it is killed hard). _RUNNING keeps unreferenced brokers alive until then.
        self._finalizer = weakref.finalize(self, _cleanup, process, workdir, thread, stop_timeout_s)
        _RUNNING.add(self)

    def __repr__(self) -> str:
        return f"LocalBroker({self.kind!r}, {self.host!r}, port={self.port}, pid={self.pid})"

    @property
    def running(self) -> bool:
        """Whether :meth:`stop` has not been called yet."""
        return self._finalizer.alive

    def stop(self) -> None:
        """Stop the broker and delete its temporary directory. Idempotent.

        Mosquitto is sent SIGTERM by PID, then SIGKILL if it has not exited within the stop
        timeout; the process is always reaped. The embedded broker's thread is joined.
        """
        self._finalizer()
        _RUNNING.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mosquitto_config(port: int, workdir: Path) -> str:
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        f"log_dest file {workdir / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # As root, Mosquitto drops to the "mosquitto" user and then opens its log file: let that
        # user own the directory, or stay root where no such user exists.
        try:
            import pwd  # noqa: PLC0415 - POSIX only

            user = pwd.getpwnam("mosquitto")
            os.chown(workdir, user.pw_uid, user.pw_gid)
            lines.insert(0, "user mosquitto")
        except (ImportError, KeyError, OSError):
            lines.insert(0, "user root")
    return "\n".join(lines) + "\n"


def _wait_until_listening(
    proc: subprocess.Popen[bytes], host: str, port: int, deadline: float
) -> bool:
    """Poll until ``host:port`` accepts TCP connections; False if the process exited first."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _start_mosquitto(executable: str, timeout_s: float) -> LocalBroker:
    host = "127.0.0.1"
    failure = ""
    for _ in range(_PORT_ATTEMPTS):  # another process may grab the free port before Mosquitto
        workdir = Path(tempfile.mkdtemp(prefix="sleep-myoclonus-mosquitto-"))
        proc: subprocess.Popen[bytes] | None = None
        try:
            port = _free_port(host)
            config = workdir / "mosquitto.conf"
            config.write_text(_mosquitto_config(port, workdir))
            with (workdir / "stderr.log").open("wb") as stderr:
                proc = subprocess.Popen(  # noqa: S603 - fixed executable and arguments
                    [executable, "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                )
            if _wait_until_listening(proc, host, port, time.monotonic() + timeout_s):
                return LocalBroker(host, port, "mosquitto", process=proc, workdir=str(workdir))
        except BaseException:  # e.g. Ctrl-C while waiting: leave nothing behind
            _cleanup(proc, str(workdir), None, 2.0)
            raise
        exited = proc.poll() is not None
        _cleanup(proc, None, None, 2.0)
        logs = "\n".join(filter(None, (_tail(workdir / name) for name in _LOG_FILES)))
        shutil.rmtree(workdir, ignore_errors=True)
        state = f"exited with code {proc.returncode}"
        if not exited:
            state = f"was not listening after {timeout_s:g} s"
        failure = (
            f"mosquitto ({executable}) on {host}:{port} {state}; log tail:\n{logs or '(empty)'}"
        )
        if not exited or "in use" not in logs:
            break
    raise BrokerStartError(failure)


def start_local_broker(prefer: str = "auto", *, timeout_s: float = 10.0) -> LocalBroker:
    """Start an MQTT broker on a free ``127.0.0.1`` port.

    Parameters
    ----------
    prefer : {"auto", "mosquitto", "embedded"}, optional
        ``"auto"`` runs Mosquitto when it is installed, else the embedded broker; ``"mosquitto"``
        requires Mosquitto; ``"embedded"`` always runs the embedded broker.
    timeout_s : float, optional
        How long to wait for the broker to accept connections.

    Returns
    -------
    LocalBroker
        The running broker (``host``, ``port``, ``kind``, ``pid``, ``stop()``).

    Raises
    ------
    ValueError
        For an unknown ``prefer``.
    BrokerStartError
        When Mosquitto is required but missing, or when it fails to start (the message includes
        the tail of its log).
    """
    if prefer not in ("auto", "mosquitto", "embedded"):
        raise ValueError(f"prefer must be 'auto', 'mosquitto' or 'embedded', not {prefer!r}")
    if prefer != "embedded":
        executable = find_mosquitto()
        if executable is not None:
            return _start_mosquitto(executable, timeout_s)
        if prefer == "mosquitto":
            raise BrokerStartError(
                "mosquitto not found on PATH or in /usr/sbin; install it (Debian/Ubuntu: "
                "apt-get install mosquitto, or run scripts/setup.sh) or use prefer='embedded'"
            )
    thread = run_in_thread("127.0.0.1", 0, timeout=timeout_s)
    return LocalBroker(thread.host, thread.port, "embedded", thread=thread)
