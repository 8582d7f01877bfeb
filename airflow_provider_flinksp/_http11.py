"""A small HTTP/1.1 keep-alive client on asyncio streams: the hook's async path.

Why not httpx: in the triggerer every waiting trigger polls through one shared client, and
httpcore's pool rescans all its connections (a readability syscall each) and its queue on every
request, so the CPU per request grows with the pool and the backlog: at 1,000 triggers it falls
behind and does not recover. This client does what the hook needs and no more: keep-alive
connections pooled per event loop and origin (at most :data:`MAX_CONNECTIONS` open; more requests
wait FIFO on a semaphore), ``Content-Length``, chunked and read-to-close bodies with the
:data:`~airflow_provider_flinksp.hooks.MAX_BODY_BYTES` cap, one deadline per request (a timer that
aborts the transport), TLS through an ``ssl`` context (certifi's CAs as ``requests`` uses them, or
those ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name as httpx honoured them, or the CA bundle named by
``verify``, or no verification), and failures sorted into the hook's
"not sent" / "maybe sent" / "fatal" kinds. Where an HTTP(S) proxy is configured for the host,
:func:`pool_for` returns None and the hook uses httpx, which speaks to proxies.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import urllib.request
import weakref
from urllib.parse import urlsplit

from airflow_provider_flinksp import hooks as _hooks
from airflow_provider_flinksp.exceptions import LakeSailError
from airflow_provider_flinksp.hooks import (
    _FATAL,
    _MAYBE_SENT,
    _NOT_SENT,
    _USER_AGENT,
    CONNECT_TIMEOUT,
)

#: Connections open at once per event loop and origin; more requests wait their turn (FIFO).
MAX_CONNECTIONS = 100
#: Idle keep-alive connections older than this are closed rather than reused.
IDLE_TIMEOUT = 15.0
_HEAD_LIMIT = 64 * 1024
_BROKEN = "connection broken (reset or closed before a response)"
_REFUSED = "could not connect (connection refused or host unreachable)"


class HttpFailure(Exception):
    """A request that got no (complete) response.

    :param kind: one of the hook's failure kinds (``not sent``, ``maybe sent``, ``fatal``)
    :param reason: what happened, for the error message
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Response:
    """A whole response.

    :param status: the HTTP status
    :param headers: the headers, names lower-cased
    :param body: the body, None when over :data:`~airflow_provider_flinksp.hooks.MAX_BODY_BYTES`
    """

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes | None) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def _ssl_context(verify: bool | str) -> ssl.SSLContext:
    """A client TLS context: for True certifi's CAs (as requests uses) unless ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` names others (as httpx honours them); else the CA bundle file or directory named
    by ``verify``, or no verification.

    :param verify: True, False or the path of a CA bundle file or directory
    :raises OSError: the CA bundle cannot be read
    :raises ssl.SSLError: the CA bundle holds no usable certificate
    """
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        context = (
            ssl.create_default_context(capath=verify)
            if os.path.isdir(verify)
            else ssl.create_default_context(cafile=verify)
        )
    elif os.environ.get("SSL_CERT_FILE"):  # as httpx (the async wire before this client) did
        context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    elif os.environ.get("SSL_CERT_DIR"):
        context = ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Closed(Exception):
    """The connection ended (or was aborted) before a whole response arrived.

    :param received: whether any of the response had arrived
    """

    def __init__(self, received: bool) -> None:
        super().__init__("connection closed")
        self.received = received


class Pool:
    """Keep-alive HTTP/1.1 connections to one origin, for one event loop.

    :param base_url: ``http(s)://host[:port][/prefix]``
    :param verify: TLS verification: True, False or a CA bundle path
    """

    def __init__(self, base_url: str, verify: bool | str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or ""
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path
        self.netloc = parts.netloc
        self.ssl = _ssl_context(verify) if self.tls else None
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.closed = False

    def header_block(self, token: str) -> bytes:
        """The headers every request carries (the part after the request line).

        :param token: the bearer token
        :raises LakeSailError: the token cannot go in a header (a line break, or not Latin-1); the
            message does not show it
        """
        if any(char in token for char in "\r\n\0"):
            raise LakeSailError("The connection's token contains a line break and cannot be sent")
        try:
            return (
                f"Host: {self.netloc}\r\nAccept: application/json\r\nUser-Agent: {_USER_AGENT}\r\n"
                f"Authorization: Bearer {token}\r\n"
            ).encode("latin-1")
        except UnicodeEncodeError:
            raise LakeSailError("The connection's token has characters an HTTP header cannot carry") from None

    async def request(self, method: str, path: str, headers: bytes, timeout: float) -> Response:
        """Send one request and read the whole response, within ``timeout`` seconds in all.

        :param method: ``GET`` or ``POST`` (a POST carries ``Content-Length: 0``)
        :param path: the path after the base URL's prefix
        :param headers: :meth:`header_block`
        :param timeout: seconds for the whole request: waiting for a slot, connecting and reading
        :raises HttpFailure: no complete response
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self.slots.locked():
            await self._wait_for_slot(deadline)
        else:
            await self.slots.acquire()
        try:
            head = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode("latin-1") + headers
            head += b"Content-Length: 0\r\n\r\n" if method == "POST" else b"\r\n"
            connection = self._checkout(loop.time())
            if connection is not None:
                try:
                    return await self._exchange(connection, method, head, deadline, loop)
                except _Closed as exc:
                    # a kept-alive connection the server had closed: nothing came back, so a GET
                    # may go again at once on a new connection; anything else is reported
                    if exc.received or method != "GET" or loop.time() >= deadline:
                        raise HttpFailure(_MAYBE_SENT, _BROKEN) from None
            connection = await self._connect(min(CONNECT_TIMEOUT, deadline - loop.time()))
            try:
                return await self._exchange(connection, method, head, deadline, loop)
            except _Closed:
                raise HttpFailure(_MAYBE_SENT, _BROKEN) from None
        finally:
            self.slots.release()

    async def _wait_for_slot(self, deadline: float) -> None:
        """Queue (FIFO) for one of the :data:`MAX_CONNECTIONS` slots, until ``deadline`` at most.

        :param deadline: the request's deadline on the loop's clock
        """
        try:
            if sys.version_info >= (3, 11):
                async with asyncio.timeout_at(deadline):  # a timer, not a task per waiter
                    await self.slots.acquire()
            else:  # pragma: no cover - Python 3.10
                loop = asyncio.get_running_loop()
                await asyncio.wait_for(self.slots.acquire(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise HttpFailure(_NOT_SENT, "timed out waiting for a free connection") from None

    def _checkout(self, now: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The most recently used idle connection still open and fresh, or None.

        :param now: the loop's clock
        """
        while self.idle:
            reader, writer, since = self.idle.pop()
            if writer.is_closing() or reader.at_eof() or now - since > IDLE_TIMEOUT:
                writer.close()
                continue
            return reader, writer
        return None

    async def _connect(self, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a new connection (TLS included).

        :param timeout: seconds for the connection and the TLS handshake
        :raises HttpFailure: not sent (refused, timed out) or fatal (TLS)
        """
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                    limit=_HEAD_LIMIT,
                ),
                max(timeout, 0.001),
            )
        except asyncio.TimeoutError:
            raise HttpFailure(_NOT_SENT, "timed out while connecting") from None
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise HttpFailure(_FATAL, f"TLS error: {type(exc).__name__}") from None
        except OSError:
            raise HttpFailure(_NOT_SENT, _REFUSED) from None

    async def _exchange(
        self,
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        method: str,
        head: bytes,
        deadline: float,
        loop: asyncio.AbstractEventLoop,
    ) -> Response:
        """Write one request on ``connection`` and read its response, aborting at ``deadline``.

        :param connection: reader and writer
        :param method: the request method (a HEAD response has no body)
        :param head: the request line and headers
        :param deadline: on the loop's clock
        :param loop: the running loop
        :raises _Closed: the connection ended before a whole response
        :raises HttpFailure: timed out, or a malformed response
        """
        reader, writer = connection
        expired = []
        transport = writer.transport

        def expire() -> None:
            expired.append(True)
            transport.abort()

        timer = loop.call_at(deadline, expire)
        received = False
        try:
            writer.write(head)
            raw = await reader.readuntil(b"\r\n\r\n")
            received = True
            status, version, headers = _parse_head(raw)
            while 100 <= status < 200:  # interim responses (100 Continue and the like)
                status, version, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            body, framed = await _read_body(reader, method, status, headers)
        except asyncio.IncompleteReadError as exc:
            writer.close()
            if expired:
                raise HttpFailure(_MAYBE_SENT, "timed out waiting for the response") from None
            raise _Closed(received or bool(exc.partial)) from None
        except (OSError, asyncio.LimitOverrunError, ValueError) as exc:
            writer.close()
            if expired:
                raise HttpFailure(_MAYBE_SENT, "timed out waiting for the response") from None
            if isinstance(exc, OSError) and not received:
                raise _Closed(False) from None
            raise HttpFailure(_MAYBE_SENT, f"malformed or broken response: {type(exc).__name__}") from None
        except BaseException:  # cancelled: the connection is in an unknown state
            writer.close()
            raise
        finally:
            timer.cancel()
        keep = framed and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if keep and not self.closed:
            self.idle.append((reader, writer, loop.time()))
        else:
            writer.close()
        return Response(status, headers, body)

    def close(self) -> None:
        """Close every idle connection; connections in use close when their response is read."""
        self.closed = True
        while self.idle:
            self.idle.pop()[1].close()


def _parse_head(raw: bytes) -> tuple[int, str, dict[str, str]]:
    """Status, HTTP version and lower-cased headers of a response head.

    :param raw: the head, ending with the blank line
    :raises ValueError: malformed
    """
    lines = raw[:-4].decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1.") or len(status) != 3:
        raise ValueError("not an HTTP/1.x status line")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError("malformed header line")
        headers[name.strip().lower()] = value.strip()
    return int(status), version, headers


async def _read_body(
    reader: asyncio.StreamReader, method: str, status: int, headers: dict[str, str]
) -> tuple[bytes | None, bool]:
    """The body (None when over the cap) and whether the connection can carry another response.

    :param reader: the connection, positioned after the head
    :param method: the request method
    :param status: the response status
    :param headers: the response headers (lower-cased)
    """
    limit = _hooks.MAX_BODY_BYTES  # read at each call: the hook's setting
    if method == "HEAD" or status in (204, 304):
        return b"", True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            length = int(line.split(b";", 1)[0].strip(), 16)
            if length < 0:
                raise ValueError("negative chunk size")
            if length == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(chunks), True
            size += length
            if size > limit:
                return None, False
            chunks.append((await reader.readexactly(length + 2))[:-2])
    length_text = headers.get("content-length")
    if length_text is not None:
        length = int(length_text)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > limit:
            return None, False
        return await reader.readexactly(length), True
    data = await reader.read(limit + 1)  # no framing: the body ends with the connection
    chunks = [data]
    size = len(data)
    while data and size <= limit:
        data = await reader.read(limit + 1 - size)
        chunks.append(data)
        size += len(data)
    return (None if size > limit else b"".join(chunks)), False


# One pool per event loop and (base URL, verify), shared by every hook on that loop.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, bool | str], Pool | None]] = (
    weakref.WeakKeyDictionary()
)


def pool_for(base_url: str, verify: bool | str) -> Pool | None:
    """The running loop's pool for this origin; None where a proxy is configured for the host.

    :param base_url: the connection's base URL
    :param verify: TLS verification: True, False or a CA bundle path
    :raises LakeSailError: the CA bundle cannot be loaded
    """
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = (base_url, verify)
    if key not in pools:
        parts = urlsplit(base_url)
        proxies = urllib.request.getproxies()
        proxy = proxies.get(parts.scheme) or proxies.get("all")  # ALL_PROXY too, as httpx and requests
        proxied = bool(proxy) and not urllib.request.proxy_bypass(parts.hostname or "")
        try:
            pools[key] = None if proxied else Pool(base_url, verify)
        except (OSError, ssl.SSLError) as exc:
            raise LakeSailError(
                f"The CA bundle {verify!r} (connection extra 'verify') cannot be loaded: {exc}"
            ) from None
    return pools[key]


async def aclose_pools() -> None:
    """Close the running event loop's pools (their idle connections)."""
    for pool in _pools.pop(asyncio.get_running_loop(), {}).values():
        if pool is not None:
            pool.close()
