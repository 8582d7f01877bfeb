"""The wire: :class:`LakeSailHook` talks to LakeSail's HTTP API, synchronously and asynchronously.

One request method per path (``_request`` and its async twin ``_arequest``) owns the URL, the
bearer token, the retries and the mapping of failures to provider errors; the public methods are
one-liners over it. Both twins take every decision from the same :class:`_Attempts` object, so the
retry rule is written once. HTTP clients are imported when the first call is made, never when a
DAG file imports the provider.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import ssl
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_flinksp import CONNECTION_FORM, __version__
from airflow_provider_flinksp._compat import BaseHook, aget_connection, mask_secret
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.models import (
    Savepoint,
    SavepointList,
    parse_session_job,
    validate_resource_id,
)

if TYPE_CHECKING:
    import httpx
    import requests
    from airflow.sdk import Connection

T = TypeVar("T")

#: Used when neither the task nor the connection says otherwise.
DEFAULT_RETRY_LIMIT = 3
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_TIMEOUT = 30.0
#: Connecting gets at most this long, whatever the request timeout.
CONNECT_TIMEOUT = 10.0
#: A ``Retry-After`` longer than this is not waited for in full.
RETRY_AFTER_CAP = 60.0
#: Backoff never waits longer than this between two attempts.
BACKOFF_CAP = 60.0
#: A response body larger than this is refused (a savepoint list is a few KiB).
MAX_BODY_BYTES = 8 * 1024 * 1024

#: Failures after which the server cannot have acted on the request: safe to repeat a POST.
_NOT_SENT = "not sent"
#: Failures after which the server may have acted: only a GET is repeated.
_MAYBE_SENT = "maybe sent"
_FATAL = "fatal"

_warned_plain_http: set[str] = set()


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hook needs from its Airflow connection; the token never shows in its repr.

    :param base_url: ``<scheme>://<host>[:port][/prefix]``, no trailing slash
    :param token: the bearer token
    :param timeout: seconds for one request
    :param verify: TLS verification: True, False or a CA bundle path
    :param retry_limit: attempts in all, from the connection's extra (None: not set there)
    :param retry_delay: first backoff in seconds, from the connection's extra (None: not set there)
    """

    base_url: str
    token: str = field(repr=False)
    timeout: float | None = None
    verify: bool | str = True
    retry_limit: int | None = None
    retry_delay: float | None = None

    @classmethod
    def from_connection(cls, conn: Connection) -> ConnectionSettings:
        """Read and check an Airflow connection; registers the token for masking at once.

        :param conn: the Airflow connection
        :raises LakeSailError: naming the field that is missing or wrong
        """
        conn_id = conn.conn_id
        token = conn.password
        if token:
            mask_secret(token)
        if not conn.host:
            raise LakeSailError(f"Connection {conn_id!r} has no host: set it to the LakeSail API URL")
        if not token:
            raise LakeSailError(f"Connection {conn_id!r} has no password: set it to the LakeSail API key")
        raw_extra = conn.extra
        if isinstance(raw_extra, str) and raw_extra.strip():
            try:  # Airflow logs a broken extra and hands out {}: say so instead of ignoring it
                json.loads(raw_extra)
            except ValueError:
                raise LakeSailError(f"Connection {conn_id!r} has an extra that is not valid JSON") from None
        try:
            extra = conn.extra_dejson
        except Exception:  # Airflow versions differ in what a bad extra raises
            raise LakeSailError(f"Connection {conn_id!r} has an extra that is not a JSON object") from None
        if not isinstance(extra, dict):
            raise LakeSailError(f"Connection {conn_id!r} has an extra that is not a JSON object")
        return cls(
            base_url=build_base_url(conn.host, conn.schema, conn.port, conn_id=conn_id),
            token=token,
            timeout=_number(extra, "timeout", conn_id, minimum=0.001),
            verify=_verify(extra, conn_id),
            retry_limit=_int(extra, "retry_limit", conn_id),
            retry_delay=_number(extra, "retry_delay", conn_id, minimum=0.0),
        )


def build_base_url(host: str, schema: str | None, port: int | None, *, conn_id: str = "?") -> str:
    """Turn a connection's host, schema and port into the API's root URL.

    :param host: a URL (``https://lakesail.example.com/prefix``) or a bare host name
    :param schema: the scheme for a bare host (``http`` or ``https``; default ``https``)
    :param port: the port, where the host does not name one
    :param conn_id: the connection id, for messages
    """
    text = host.strip()
    if "://" not in text:
        text = text.rstrip("/")
        scheme = (schema or "https").strip().lower() or "https"
        if scheme not in ("http", "https"):
            raise LakeSailError(
                f"Connection {conn_id!r} schema {schema!r} is not http or https; for a path prefix, "
                "put the whole URL in the host field (e.g. https://gw.example.com/lakesail)"
            )
        text = f"{scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise LakeSailError(f"Connection {conn_id!r} host {host!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise LakeSailError(f"Connection {conn_id!r} host must not carry credentials; use the password field")
    netloc = parts.netloc
    try:
        has_port = parts.port is not None
    except ValueError:
        raise LakeSailError(f"Connection {conn_id!r} host {host!r} has an invalid port") from None
    if port and not has_port:
        netloc = f"{netloc}:{int(port)}"
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
    if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname) and url not in _warned_plain_http:
        _warned_plain_http.add(url)
        import logging

        logging.getLogger(__name__).warning(
            "LakeSail connection %r uses plain http to %s: the API key travels unencrypted", conn_id, url
        )
    return url


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _number(extra: dict[str, Any], key: str, conn_id: str, *, minimum: float) -> float | None:
    value = extra.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum or number == float("inf"):
        raise LakeSailError(
            f"Connection {conn_id!r} extra {key!r} must be a number >= {minimum}, got {value!r}"
        )
    return number


def _int(extra: dict[str, Any], key: str, conn_id: str) -> int | None:
    value = extra.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LakeSailError(
            f"Connection {conn_id!r} extra {key!r} must be a whole number >= 1, got {value!r}"
        )
    return value


def _verify(extra: dict[str, Any], conn_id: str) -> bool | str:
    value = extra.get("verify", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        return value.strip()
    raise LakeSailError(f"Connection {conn_id!r} extra 'verify' must be true, false or a CA bundle path")


def check_retry_settings(retry_limit: int | None, retry_delay: float | None, timeout: float | None) -> None:
    """Reject retry settings that cannot work, before anything is sent.

    :param retry_limit: attempts in all (at least 1)
    :param retry_delay: the first backoff in seconds (at least 0)
    :param timeout: seconds for one request (more than 0)
    :raises ValueError: naming the parameter
    """
    if retry_limit is not None and (
        isinstance(retry_limit, bool) or not isinstance(retry_limit, int) or retry_limit < 1
    ):
        raise ValueError(f"retry_limit must be a whole number >= 1 (attempts in all), got {retry_limit!r}")
    if retry_delay is not None and (
        isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float)) or not retry_delay >= 0
    ):
        raise ValueError(f"retry_delay must be a number of seconds >= 0, got {retry_delay!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent or bad.

    :param value: the header's value
    :param now: the current epoch time (for HTTP dates)
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not str.isdigit() alone: "\u00b2" is a digit to Python
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Step:
    """What to do after one attempt: wait and try again, return a value, or raise."""

    __slots__ = ("error", "value", "wait")

    def __init__(self, wait: float | None = None, value: Any = None, error: LakeSailError | None = None):
        self.wait = wait
        self.value = value
        self.error = error

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class _Attempts:
    """The retry and error policy for one call, shared by the sync and the async path.

    :param hook: the hook (for logging)
    :param method: ``GET`` or ``POST``
    :param path: the API path, for messages
    :param parse: turns the decoded JSON body into the call's result
    :param limit: attempts in all
    :param delay: the first backoff in seconds
    """

    __slots__ = ("attempt", "delay", "hook", "limit", "method", "parse", "path", "secret")

    def __init__(
        self,
        hook: LakeSailHook,
        method: str,
        path: str,
        parse: Callable[[Any], Any],
        limit: int,
        delay: float,
        secret: str = "",
    ):
        self.hook = hook
        self.secret = secret
        self.method = method
        self.path = path
        self.parse = parse
        self.limit = limit
        self.delay = delay
        self.attempt = 1

    def on_response(
        self, status: int, retry_after: str | None, location: str | None, body: bytes | None
    ) -> _Step:
        """Decide after an HTTP response.

        :param status: the HTTP status
        :param retry_after: the ``Retry-After`` header, if any
        :param location: the ``Location`` header, if any
        :param body: the body, or None when it was over :data:`MAX_BODY_BYTES`
        """
        if body is None:
            if 200 <= status < 300:
                return _Step(error=self._response_error(status, f"a body over {MAX_BODY_BYTES} bytes"))
            body = b""  # an oversized error page: the status alone decides
        if 200 <= status < 300:
            return self._parse(status, body)
        retriable = status in (429, 503) or (self.method == "GET" and status in (500, 502, 504))
        if 300 <= status < 400:
            error: LakeSailError = LakeSailApiError(
                self.method,
                self.path,
                status,
                self._scrub(
                    f"redirect to {location or 'nowhere'} not followed (the API key goes only to the set URL)"
                ),
            )
        else:
            message = _api_message(body)
            error = LakeSailApiError(
                self.method, self.path, status, None if message is None else self._scrub(message)
            )
        return self._again_or(error, retriable, parse_retry_after(retry_after))

    def on_failure(self, kind: str, reason: str) -> _Step:
        """Decide after a request that got no response.

        :param kind: ``_NOT_SENT``, ``_MAYBE_SENT`` or ``_FATAL``
        :param reason: what happened, for messages
        """
        retriable = kind == _NOT_SENT or (kind == _MAYBE_SENT and self.method == "GET")
        return self._again_or(LakeSailConnectionError(self.method, self.path, reason), retriable, None)

    def _again_or(self, error: LakeSailError, retriable: bool, retry_after: float | None) -> _Step:
        if not retriable or self.attempt >= self.limit:
            if retriable and self.limit > 1:
                self.hook.log.warning("Giving up after %d attempts: %s", self.attempt, error)
            return _Step(error=error)
        backoff = min(self.delay * 2 ** (self.attempt - 1), BACKOFF_CAP)
        wait = random.uniform(backoff / 2, backoff)
        if retry_after is not None:
            wait = max(wait, min(retry_after, RETRY_AFTER_CAP))
        self.hook.log.warning(
            "Attempt %d of %d failed (%s); trying again in %.2f s", self.attempt, self.limit, error, wait
        )
        self.attempt += 1
        return _Step(wait=wait)

    def _parse(self, status: int, body: bytes) -> _Step:
        if not body.strip():
            return _Step(error=self._response_error(status, "an empty body"))
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            snippet = body[:60].decode("utf-8", "replace")
            what = "an HTML page" if snippet.lstrip().startswith("<") else "a body that is not JSON"
            return _Step(error=self._response_error(status, f"{what}: {snippet!r}"))
        try:
            return _Step(value=self.parse(data))
        except LakeSailResponseError as exc:
            return _Step(error=self._response_error(status, f"an unexpected body: {exc}"))

    def _response_error(self, status: int, what: str) -> LakeSailResponseError:
        return LakeSailResponseError(
            f"LakeSail API {self.method} {self.path} returned HTTP {status} with {self._scrub(what)}"
        )

    def _scrub(self, text: str) -> str:
        """Text from the server with the API key blanked out: a server or proxy may echo the header."""
        return text.replace(self.secret, "***") if self.secret else text


def _api_message(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else None


def _requests_failure(exc: Exception) -> tuple[str, str]:
    import requests

    if not isinstance(exc, requests.RequestException):
        return _FATAL, f"the CA bundle (connection extra 'verify') cannot be loaded: {exc}"
    if isinstance(exc, requests.exceptions.SSLError):
        return _FATAL, f"TLS error: {type(exc).__name__}"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _NOT_SENT, "timed out while connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _MAYBE_SENT, "timed out waiting for the response"
    if isinstance(exc, requests.exceptions.ConnectionError):
        from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError is one of these

        reason = exc.args[0] if exc.args else None
        if isinstance(getattr(reason, "reason", reason), ConnectTimeoutError):
            return _NOT_SENT, "could not connect (connection refused or host unreachable)"
        return _MAYBE_SENT, "connection broken (reset or closed before a response)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):  # the body was cut short
        return _MAYBE_SENT, "connection broken while reading the response"
    return _FATAL, f"request failed: {type(exc).__name__}"


def _httpx_failure(exc: Exception) -> tuple[str, str]:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return _NOT_SENT, "timed out while connecting"
    if isinstance(exc, httpx.ConnectError):
        if "SSL" in str(exc) or "CERTIFICATE" in str(exc):
            return _FATAL, "TLS error"
        return _NOT_SENT, "could not connect (connection refused or host unreachable)"
    if isinstance(exc, httpx.PoolTimeout):
        return _NOT_SENT, "timed out waiting for a free connection"
    if isinstance(exc, httpx.TimeoutException):
        return _MAYBE_SENT, "timed out waiting for the response"
    if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
        return _MAYBE_SENT, "connection broken (reset or closed before a response)"
    return _FATAL, f"request failed: {type(exc).__name__}"


class _BearerAuth:
    """requests auth that sets the bearer token (so ``.netrc`` never overrides it); repr hides it."""

    __slots__ = ("_header",)

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


# One httpx connection pool per event loop, shared by every hook (and so every trigger) on it;
# used only where a proxy is configured (the async path is airflow_provider_flinksp._http11).
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool | str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _async_client(verify: bool | str) -> httpx.AsyncClient:
    import httpx

    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(verify)
    if client is None or client.is_closed:
        try:
            tls: bool | ssl.SSLContext = (
                ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
            )
        except (OSError, ssl.SSLError) as exc:
            raise LakeSailError(
                f"The CA bundle {verify!r} (connection extra 'verify') cannot be loaded: {exc}"
            ) from None
        client = httpx.AsyncClient(
            verify=tls,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
        )
        clients[verify] = client
    return client


async def aclose_async_clients() -> None:
    """Close the shared async connection pools of the running event loop (e.g. at shutdown)."""
    from airflow_provider_flinksp import _http11

    await _http11.aclose_pools()
    for client in _async_clients.pop(asyncio.get_running_loop(), {}).values():
        await client.aclose()


_USER_AGENT = f"airflow-provider-flinksp/{__version__}"


class LakeSailHook(BaseHook):
    """Talk to the LakeSail API's Flink savepoint operations.

    The connection is looked up once, at the first call (never when the hook is built), and one
    HTTP session is reused for every call (keep-alive).

    :param lakesail_conn_id: the Airflow connection of type ``lakesail``
    :param retry_limit: attempts in all for one call (default: the connection's extra ``retry_limit``,
        else 3); 429, 500, 502, 503, 504, connection errors and timeouts are retried
    :param retry_delay: the first backoff in seconds, doubled each attempt, with jitter (default: the
        connection's extra ``retry_delay``, else 1.0)
    :param timeout: seconds for one request (default: the connection's extra ``timeout``, else 30)
    """

    conn_name_attr = "lakesail_conn_id"
    default_conn_name = "lakesail_default"
    conn_type = "lakesail"
    hook_name = "LakeSail"

    def __init__(
        self,
        lakesail_conn_id: str = default_conn_name,
        *,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        check_retry_settings(retry_limit, retry_delay, timeout)
        self.lakesail_conn_id = lakesail_conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._settings: ConnectionSettings | None = None
        self._session: requests.Session | None = None
        self._aheaders: bytes | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form on Airflow 2.11 (Airflow 3.2+ reads it from ``get_provider_info``)."""
        return {key.replace("-", "_"): value for key, value in CONNECTION_FORM.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lakesail_conn_id={self.lakesail_conn_id!r})"

    # -- public API -------------------------------------------------------------------------

    def list_session_job_savepoints(self, workspace_id: str, session_id: str, job_id: str) -> SavepointList:
        """List a session job's savepoints: the pending one (if any) and the completed ones.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        """
        return self._request(
            "GET", _job_path(workspace_id, session_id, job_id, "/savepoints"), SavepointList.from_api
        )

    def trigger_session_job_savepoint(self, workspace_id: str, session_id: str, job_id: str) -> Savepoint:
        """Trigger a savepoint of a session job; the result carries its ``trigger_nonce``.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        """
        return self._request(
            "POST", _job_path(workspace_id, session_id, job_id, "/savepoints"), Savepoint.from_api
        )

    def describe_session_job(self, workspace_id: str, session_id: str, job_id: str) -> dict[str, Any]:
        """Describe a session job (its ``state`` among others), as the API returns it.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        """
        return self._request("GET", _job_path(workspace_id, session_id, job_id, ""), parse_session_job)

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and the API key with a cheap authenticated read (``GET /api/org/v1/me``)."""
        try:
            me = self._request("GET", "/api/org/v1/me", _identity)
        except LakeSailError as exc:
            return False, str(exc)
        return True, f"Connected to LakeSail as {me}"

    async def a_list_session_job_savepoints(
        self, workspace_id: str, session_id: str, job_id: str
    ) -> SavepointList:
        """Async twin of :meth:`list_session_job_savepoints`, for the triggerer."""
        path = _job_path(workspace_id, session_id, job_id, "/savepoints")
        return await self._arequest("GET", path, SavepointList.from_api)

    async def a_trigger_session_job_savepoint(
        self, workspace_id: str, session_id: str, job_id: str
    ) -> Savepoint:
        """Async twin of :meth:`trigger_session_job_savepoint`."""
        path = _job_path(workspace_id, session_id, job_id, "/savepoints")
        return await self._arequest("POST", path, Savepoint.from_api)

    async def a_describe_session_job(self, workspace_id: str, session_id: str, job_id: str) -> dict[str, Any]:
        """Async twin of :meth:`describe_session_job`."""
        return await self._arequest("GET", _job_path(workspace_id, session_id, job_id, ""), parse_session_job)

    async def a_test_connection(self) -> tuple[bool, str]:
        """Async twin of :meth:`test_connection`."""
        try:
            me = await self._arequest("GET", "/api/org/v1/me", _identity)
        except LakeSailError as exc:
            return False, str(exc)
        return True, f"Connected to LakeSail as {me}"

    # -- the wire ----------------------------------------------------------------------------

    @property
    def settings(self) -> ConnectionSettings:
        """The connection's settings, looked up at the first use and kept."""
        if self._settings is None:
            self._settings = ConnectionSettings.from_connection(self.get_connection(self.lakesail_conn_id))
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """The connection's settings, looked up without blocking the event loop."""
        if self._settings is None:
            self._settings = ConnectionSettings.from_connection(await aget_connection(self.lakesail_conn_id))
        return self._settings

    def get_conn(self) -> requests.Session:
        """The hook's ``requests.Session`` (keep-alive, bearer auth, no redirects followed)."""
        if self._session is None:
            import requests

            session = requests.Session()
            # The environment (proxies, CA bundle) is read once here, not on every request as
            # trust_env does (it walks all of os.environ twice per call).
            session.trust_env = False
            session.proxies.update(requests.utils.get_environ_proxies(self.settings.base_url))
            session.auth = _BearerAuth(self.settings.token)
            session.verify = self.settings.verify
            session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})
            self._session = session
        return self._session

    def close(self) -> None:
        """Close the keep-alive connections of the sync session."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _attempts(
        self, settings: ConnectionSettings, method: str, path: str, parse: Callable[[Any], T]
    ) -> _Attempts:
        limit = self.retry_limit or settings.retry_limit or DEFAULT_RETRY_LIMIT
        delay = self.retry_delay if self.retry_delay is not None else settings.retry_delay
        backoff = DEFAULT_RETRY_DELAY if delay is None else delay
        return _Attempts(self, method, path, parse, limit, backoff, settings.token)

    def _timeout(self, settings: ConnectionSettings) -> float:
        return self.timeout or settings.timeout or DEFAULT_TIMEOUT

    def _request(self, method: str, path: str, parse: Callable[[Any], T]) -> T:
        import requests

        settings = self.settings
        session = self.get_conn()
        url = settings.base_url + path
        total = self._timeout(settings)
        timeout = (min(CONNECT_TIMEOUT, total), total)
        attempts = self._attempts(settings, method, path, parse)
        while True:
            try:
                response = session.request(
                    method,
                    url,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=_verify_from_environment(settings.verify),
                )
                body = _read(response)
            except (requests.RequestException, OSError) as exc:  # OSError: a CA bundle that cannot be read
                step = attempts.on_failure(*_requests_failure(exc))
            else:
                headers = response.headers
                step = attempts.on_response(
                    response.status_code, headers.get("Retry-After"), headers.get("Location"), body
                )
            if step.wait is None:
                return step.result()  # type: ignore[no-any-return]
            time.sleep(step.wait)

    async def _arequest(self, method: str, path: str, parse: Callable[[Any], T]) -> T:
        from airflow_provider_flinksp import _http11

        settings = await self.aget_settings()
        pool = _http11.pool_for(settings.base_url, settings.verify)
        if pool is None:  # a proxy is configured for this host: httpx speaks to proxies
            return await self._arequest_httpx(method, path, parse)
        if self._aheaders is None:
            self._aheaders = pool.header_block(settings.token)
        total = self._timeout(settings)
        attempts = self._attempts(settings, method, path, parse)
        while True:
            try:
                response = await pool.request(method, path, self._aheaders, total)
            except _http11.HttpFailure as exc:
                step = attempts.on_failure(exc.kind, exc.reason)
            else:
                headers = response.headers
                step = attempts.on_response(
                    response.status, headers.get("retry-after"), headers.get("location"), response.body
                )
            if step.wait is None:
                return step.result()  # type: ignore[no-any-return]
            await asyncio.sleep(step.wait)

    async def _arequest_httpx(self, method: str, path: str, parse: Callable[[Any], T]) -> T:
        import httpx

        settings = await self.aget_settings()
        client = _async_client(settings.verify)
        url = settings.base_url + path
        total = self._timeout(settings)
        timeout = httpx.Timeout(total, connect=min(CONNECT_TIMEOUT, total))
        auth = {"Authorization": f"Bearer {settings.token}"}
        attempts = self._attempts(settings, method, path, parse)
        while True:
            try:
                request = client.build_request(method, url, headers=auth, timeout=timeout)
                response = await client.send(request, stream=True)
                try:
                    body = await _aread(response)
                finally:
                    await response.aclose()
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                step = attempts.on_failure(*_httpx_failure(exc))
            else:
                headers = response.headers
                step = attempts.on_response(
                    response.status_code, headers.get("Retry-After"), headers.get("Location"), body
                )
            if step.wait is None:
                return step.result()  # type: ignore[no-any-return]
            await asyncio.sleep(step.wait)


def _verify_from_environment(verify: bool | str) -> bool | str:
    """What requests would verify with: the connection's setting, or for True the CA bundle named by
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` where set."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def _read(response: requests.Response) -> bytes | None:
    """The body, or None (and the connection closed) when it is over :data:`MAX_BODY_BYTES`."""
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        response.close()
        return None
    chunks = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _aread(response: httpx.Response) -> bytes | None:
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return None
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _job_path(workspace_id: str, session_id: str, job_id: str, suffix: str) -> str:
    return (
        f"/api/flink/v1/workspaces/{validate_resource_id('workspace_id', workspace_id)}"
        f"/sessions/{validate_resource_id('session_id', session_id)}"
        f"/jobs/{validate_resource_id('job_id', job_id)}{suffix}"
    )


def _identity(data: object) -> str:
    if not isinstance(data, dict):
        raise LakeSailResponseError("identity should be a JSON object")
    kind = data.get("type") or data.get("kind") or "identity"
    name = data.get("name") or data.get("id") or "unknown"
    return f"{kind} {name}"
