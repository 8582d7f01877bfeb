"""What a fake server saw: connections, requests on arrival, and the requests it answered."""

from __future__ import annotations

import socket
import threading
import time
from typing import NamedTuple


class RecordedRequest(NamedTuple):
    """One request the server answered.

    :param method: the HTTP method
    :param path: the request target as sent (path and query)
    :param status: the status answered, or ``"reset"`` when the connection was reset instead
    """

    method: str
    path: str
    status: int | str


class Arrival(NamedTuple):
    """One request as it arrived, before any stall: when, what, and the fault it drew.

    :param at: ``time.monotonic()`` on arrival
    :param method: the HTTP method
    :param path: the request target
    :param fault: the fault's label (``"503"``, ``"reset"``, ``"stall"``, ``"body"``, ``"redirect"``) or None
    """

    at: float
    method: str
    path: str
    fault: str | None


class RequestLog:
    """What one server saw: connections, arrivals and answered requests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._arrivals: list[Arrival] = []
        self._connections = 0
        self._open: set[socket.socket] = set()

    def arrived(self, method: str, path: str, fault: str | None) -> None:
        """Note a request on arrival.

        :param method: the HTTP method
        :param path: the request target
        :param fault: the label of the fault it drew, or None
        """
        with self._lock:
            self._arrivals.append(Arrival(time.monotonic(), method, path, fault))

    def answered(self, method: str, path: str, status: int | str) -> None:
        """Note a request's outcome (before the answer is written).

        :param method: the HTTP method
        :param path: the request target
        :param status: the status, or ``"reset"``
        """
        with self._lock:
            self._requests.append(RecordedRequest(method, path, status))

    def snapshot(self) -> tuple[list[RecordedRequest], list[Arrival]]:
        """Copies of the answered requests and the arrivals."""
        with self._lock:
            return list(self._requests), list(self._arrivals)

    def clear(self) -> None:
        """Forget requests and arrivals (connections are still counted)."""
        with self._lock:
            self._requests.clear()
            self._arrivals.clear()

    def opened(self, sock: socket.socket, *, counted: bool) -> None:
        """Note a new connection.

        :param sock: its socket
        :param counted: whether it counts (the server's own wake-up connection does not)
        """
        with self._lock:
            self._connections += counted
            self._open.add(sock)

    def closed(self, sock: socket.socket) -> None:
        """Note a connection's end.

        :param sock: its socket
        """
        with self._lock:
            self._open.discard(sock)

    @property
    def connection_count(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._connections

    def open_connections(self) -> list[socket.socket]:
        """The sockets of connections still open."""
        with self._lock:
            return list(self._open)
