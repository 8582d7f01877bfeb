"""The async transport, on aiohttp: sends one request and maps aiohttp's exceptions to a
:class:`~airflow_provider_flinksp.core.transport.policy.Failure`. It decides nothing else.

One ``ClientSession`` per event loop and transport settings (CA trust, proxy) is shared by every
hook, and so every trigger, on that loop (keep-alive). It is closed when the loop shuts down
(``asyncio.run()`` ends), so nothing outlives the loop. A kept-alive connection on which bytes
arrive that no request asked for is closed, never handed to the next request.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

from airflow_provider_flinksp.core.transport.policy import (
    BodyBuffer,
    Failure,
    Reply,
    TransportError,
    connect_timeout,
)
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings, proxy_for, trusted_cas

_SessionKey = tuple[bool | str, str | None]
#: A connect that timed out (aiohttp 3.10 names it; older ones only say "timeout").
_CONNECT_TIMEOUTS: tuple[type[BaseException], ...] = tuple(
    filter(None, [getattr(aiohttp, "ConnectionTimeoutError", None)])
)


class _OneAnswerProtocol(ResponseHandler):
    """aiohttp's connection protocol, made to drop a pooled connection that receives bytes while
    idle (an unsolicited 408, the rest of a response longer than its framing said): those bytes
    would otherwise be read as the answer to the next request."""

    _idle = False

    @property
    def should_close(self) -> bool:
        # Asked exactly when a finished response hands the connection back to the pool.
        close = bool(super().should_close)
        self._idle = not close
        return close

    def set_response_params(self, *args: Any, **kwargs: Any) -> None:
        self._idle = False
        super().set_response_params(*args, **kwargs)

    def data_received(self, data: bytes) -> None:
        if self._idle and data:
            self._idle = False
            self.force_close()
            if self.transport is not None:
                self.transport.close()
            return
        super().data_received(data)


class Route:
    """Where one connection's requests go on one event loop: the loop's shared session for the
    connection's settings, the proxy, and the credentials header. A hook keeps its route while
    :meth:`usable` says so (same loop, session not closed).

    :param loop: the event loop
    :param session: the shared session
    :param proxy: the proxy URL, or None to go direct
    :param authorization: the ``Authorization`` header's value ("" for none)
    """

    __slots__ = ("closed", "headers", "loop", "proxy", "session")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        session: aiohttp.ClientSession,
        proxy: str | None,
        authorization: str,
    ) -> None:
        self.loop = loop
        self.session = session
        self.proxy = proxy
        # per request, never a session default: aiohttp would send those to a proxy in CONNECT
        self.headers = {"Authorization": authorization} if authorization else None
        #: set when the loop's sessions are closed
        self.closed = False

    def usable(self) -> bool:
        """Whether this route still serves the running loop."""
        return not self.closed and self.loop is asyncio.get_running_loop()

    async def send(self, method: str, url: str, timeout: float, *, json_body: Any = None) -> Reply:
        """Send one request and read its whole answer within ``timeout`` seconds.

        :param method: the HTTP method
        :param url: the whole URL
        :param timeout: the deadline for the whole request (connect, head and body), in seconds
        :param json_body: a JSON body, if any
        :raises TransportError: when no usable response came
        """
        try:
            async with self.session.request(
                method,
                url,
                json=json_body,
                headers=self.headers,
                proxy=self.proxy,
                allow_redirects=False,
                timeout=_client_timeout(timeout),
            ) as response:
                body = await _read(response)
                status = response.status
                if status < 300:
                    return Reply(status, body)
                headers = response.headers  # what the policy reads of a refusal or a redirect
                return Reply(status, body, headers.get("Retry-After"), headers.get("Location"))
        except TransportError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as exc:
            raise TransportError(*_failure(exc)) from None


class _LoopSessions:
    """The sessions of one event loop, closed by the loop's own async-generator shutdown."""

    def __init__(self) -> None:
        self.sessions: dict[_SessionKey, aiohttp.ClientSession] = {}
        #: settings -> their route: the environment is read once per loop and settings
        self.routes: dict[ConnectionSettings, Route] = {}
        self.closer: AsyncIterator[None] | None = None

    async def close(self) -> None:
        sessions, self.sessions = list(self.sessions.values()), {}
        for route in self.routes.values():
            route.closed = True
        self.routes = {}
        for session in sessions:
            await session.close()


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSessions] = weakref.WeakKeyDictionary()


async def _close_at_shutdown(loop: asyncio.AbstractEventLoop, entry: _LoopSessions) -> AsyncIterator[None]:
    """Parked at its first ``yield``; ``loop.shutdown_asyncgens()`` (run by ``asyncio.run``) closes
    it, and so the loop's sessions, before the loop closes."""
    try:
        yield
    finally:
        _loops.pop(loop, None)
        await entry.close()


async def route_for(settings: ConnectionSettings, user_agent: str) -> Route:
    """The running loop's route for these settings; the shared session is made at the first use.

    :param settings: the connection's settings
    :param user_agent: the User-Agent header
    :raises TransportError: (fatal) when the CA bundle cannot be loaded
    """
    loop = asyncio.get_running_loop()
    entry = _loops.get(loop)
    if entry is None:
        entry = _loops[loop] = _LoopSessions()
        closer = _close_at_shutdown(loop, entry)
        await closer.__anext__()  # registers it with the loop's async-generator hooks
        entry.closer = closer
    route = entry.routes.get(settings)
    if route is not None and not route.session.closed:
        return route
    if route is not None:
        route.closed = True
    proxy = proxy_for(settings.base_url + "/")
    key = (trusted_cas(settings.verify), proxy)
    session = entry.sessions.get(key)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=100, ssl=_ssl_context(key[0]), enable_cleanup_closed=False)
        connector._factory = functools.partial(_OneAnswerProtocol, loop=loop)  # type: ignore[assignment]
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Accept": "application/json", "User-Agent": user_agent},
            trust_env=False,
            # the same header limits as http.client (the sync path), so both read the same heads
            max_line_size=65536,
            max_field_size=65536,
        )
        # aiohttp would quietly send a GET again when a kept-alive connection breaks; the policy
        # is the one place that decides (and counts) every attempt.
        session._retry_connection = False
        entry.sessions[key] = session
    route = entry.routes[settings] = Route(loop, session, proxy, settings.authorization)
    return route


def _ssl_context(cas: bool | str) -> ssl.SSLContext | bool:
    if cas is False:
        return False
    import os

    try:
        if isinstance(cas, str) and os.path.isdir(cas):
            return ssl.create_default_context(capath=cas)
        return ssl.create_default_context(cafile=cas if isinstance(cas, str) else None)
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(
            Failure.FATAL, f"the CA bundle {cas!r} (connection extra 'verify') cannot be loaded: {exc}"
        ) from None


async def close_sessions() -> None:
    """Close the running loop's shared sessions now (they are also closed when the loop shuts down)."""
    entry = _loops.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry.close()


@functools.lru_cache(maxsize=64)
def _client_timeout(total: float) -> aiohttp.ClientTimeout:
    """aiohttp's timeout settings for a request with ``total`` seconds in all (made once per value)."""
    return aiohttp.ClientTimeout(total=total, sock_connect=connect_timeout(total))


async def _read(response: aiohttp.ClientResponse) -> bytes | None:
    """The (decoded) body, or None when it is over :data:`MAX_BODY_BYTES`; a gzip bomb stops there."""
    buffer = BodyBuffer()
    length = response.headers.get("Content-Length")
    if buffer.too_long(length):
        response.close()
        return None
    if length is not None and "Content-Encoding" not in response.headers:
        return await response.read()  # bounded by its Content-Length, which is under the cap
    async for chunk in response.content.iter_chunked(65536):
        if not buffer.add(chunk):
            response.close()
            return None
    return buffer.body()


def _failure(exc: BaseException) -> tuple[Failure, str]:
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return Failure.FATAL, f"TLS error: {type(exc).__name__}"
    if isinstance(exc, _CONNECT_TIMEOUTS):
        return Failure.NOT_SENT, "timed out while connecting"
    if isinstance(exc, asyncio.TimeoutError):
        return Failure.MAYBE_SENT, "timed out waiting for the response"
    if isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientConnectorError)):
        return Failure.NOT_SENT, "could not connect (connection refused or host unreachable)"
    if isinstance(exc, aiohttp.InvalidURL):
        return Failure.FATAL, "the URL is not valid"
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed head: a broken server
        return Failure.FATAL, "the response was not valid HTTP"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return Failure.MAYBE_SENT, "connection broken while reading the response"
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return Failure.MAYBE_SENT, "connection broken (reset or closed before a response)"
    return Failure.FATAL, f"request failed: {type(exc).__name__}"
