"""The sync transport, on requests: sends one request and maps requests' exceptions to a
:class:`~airflow_provider_flinksp.core.transport.policy.Failure`. It decides nothing else.

``timeout`` is a deadline for the whole request (connect, head and body): requests applies its
read timeout to each read, so a server that trickles a byte at a time would hold a request open
for ever. A watchdog thread shuts the socket of a request that runs past its deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from airflow_provider_flinksp.core.transport.policy import (
    BodyBuffer,
    Failure,
    Reply,
    TransportError,
    connect_timeout,
)
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings, proxy_for, trusted_cas

if TYPE_CHECKING:
    import requests


class _Watch:
    """One request's deadline; the socket it reads from, once it has one."""

    __slots__ = ("cancelled", "fired", "sock")

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.fired = False
        self.cancelled = False

    def fire(self) -> None:
        if self.cancelled:
            return
        self.fired = True
        sock = self.sock
        if sock is not None:
            # the plain socket call, also for a TLS socket: wakes the blocked read with EOF
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that fires the watches whose deadline passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float) -> _Watch:
        watch = _Watch()
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="flinksp-deadlines", daemon=True)
                self._thread.start()
            earliest = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if earliest:
                self._wake.notify()
        return watch

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].fire()


_watchdog = _Watchdog()
_current = threading.local()


def _note_socket(sock: socket.socket | None) -> None:
    watch: _Watch | None = getattr(_current, "watch", None)
    if watch is not None:
        watch.sock = sock
        if watch.fired:  # the deadline passed while connecting
            watch.fire()


class _WatchedHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _note_socket(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _note_socket(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def new_session(settings: ConnectionSettings, user_agent: str) -> requests.Session:
    """A keep-alive ``requests.Session`` for one connection: no redirects followed, no environment
    read per request (proxies and CA trust are decided once, by the settings module).

    :param settings: the connection's settings
    :param user_agent: the User-Agent header
    """
    import requests
    from requests.adapters import HTTPAdapter

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

        def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(*args, **kwargs)
            manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
            return manager

    session = requests.Session()
    session.trust_env = False  # read once here, not on every request (it walks os.environ twice)
    proxy = proxy_for(settings.base_url + "/")
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
    session.verify = trusted_cas(settings.verify)
    session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
    if settings.authorization:
        session.auth = _HeaderAuth(settings.authorization)
    adapter = _Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    timeout: float,
    *,
    json_body: Any = None,
    files: dict[str, Any] | None = None,
) -> Reply:
    """Send one request and read its whole answer within ``timeout`` seconds.

    :param session: the hook's session
    :param method: the HTTP method
    :param url: the whole URL
    :param timeout: the deadline for the whole request, in seconds
    :param json_body: a JSON body, if any
    :param files: a multipart upload (requests' ``files``), if any
    :raises TransportError: when no usable response came
    """
    import requests

    watch = _watchdog.watch(time.monotonic() + timeout)
    _current.watch = watch
    try:
        response = session.request(
            method,
            url,
            json=json_body,
            files=files,
            timeout=(connect_timeout(timeout), timeout),
            allow_redirects=False,
            stream=True,
        )
        try:
            body = _read(response)
        finally:
            if watch.fired:
                response.close()  # never hand a shut socket back to the pool
    except (requests.RequestException, OSError, ValueError) as exc:  # OSError: an unreadable CA bundle
        if watch.fired:
            raise TransportError(Failure.MAYBE_SENT, f"timed out after {timeout:g} s") from None
        raise TransportError(*_failure(exc)) from None
    finally:
        watch.cancelled = True
        _current.watch = None
    if watch.fired:  # a close-delimited body cut short at the deadline is not a whole answer
        raise TransportError(Failure.MAYBE_SENT, f"timed out after {timeout:g} s")
    headers = response.headers
    return Reply(response.status_code, body, headers.get("Retry-After"), headers.get("Location"))


def _read(response: requests.Response) -> bytes | None:
    """The body, or None (and the connection closed) when it is over :data:`MAX_BODY_BYTES`."""
    buffer = BodyBuffer()
    if buffer.too_long(response.headers.get("Content-Length")):
        response.close()
        return None
    for chunk in response.iter_content(65536):
        if not buffer.add(chunk):
            response.close()
            return None
    return buffer.body()


def _failure(exc: Exception) -> tuple[Failure, str]:
    import requests

    if isinstance(exc, (requests.exceptions.InvalidHeader, ValueError)) and not isinstance(
        exc, requests.exceptions.InvalidURL
    ):  # a malformed head (two Content-Lengths), a negative chunk size: a broken server
        return Failure.FATAL, "the response was not valid HTTP"
    if not isinstance(exc, requests.RequestException):
        return Failure.FATAL, f"the CA bundle (connection extra 'verify') cannot be loaded: {exc}"
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure.FATAL, f"TLS error: {type(exc).__name__}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure.NOT_SENT, "timed out while connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure.MAYBE_SENT, "timed out waiting for the response"
    if isinstance(exc, requests.exceptions.ProxyError):
        return Failure.NOT_SENT, "could not connect through the proxy"
    if isinstance(exc, requests.exceptions.ConnectionError):
        from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError is one of these

        reason = exc.args[0] if exc.args else None
        if isinstance(getattr(reason, "reason", reason), ConnectTimeoutError):
            return Failure.NOT_SENT, "could not connect (connection refused or host unreachable)"
        return Failure.MAYBE_SENT, "connection broken (reset or closed before a response)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):  # the body was cut short
        return Failure.MAYBE_SENT, "connection broken while reading the response"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return Failure.MAYBE_SENT, "the response body could not be decoded"
    return Failure.FATAL, f"request failed: {type(exc).__name__}"


class _HeaderAuth:
    """requests auth that sets the Authorization header (so ``.netrc`` never overrides it); its
    repr hides the value."""

    __slots__ = ("_header",)

    def __init__(self, header: str) -> None:
        self._header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_HeaderAuth(***)"
