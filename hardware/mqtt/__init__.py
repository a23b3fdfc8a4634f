"""Local MQTT brokers for the demo and the tests: Mosquitto when installed, else an embedded one."""

from .embedded_broker import BrokerThread, EmbeddedBroker, run_in_thread
from .local_broker import BrokerStartError, LocalBroker, find_mosquitto, start_local_broker

__all__ = [
    "BrokerStartError",
    "BrokerThread",
    "EmbeddedBroker",
    "LocalBroker",
    "find_mosquitto",
    "run_in_thread",
    "start_local_broker",
]
