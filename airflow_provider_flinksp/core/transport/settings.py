"""What a hook needs from its Airflow connection, read and checked once.

Both transports take their trust (CA bundle) and proxy decisions from here, so the worker's sync
path and the triggerer's async path always agree.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_flinksp._compat import mask_secret
from airflow_provider_flinksp.exceptions import FlinkspError

if TYPE_CHECKING:
    from airflow.sdk import Connection

log = logging.getLogger(__name__)

#: Used when neither the task nor the connection says otherwise.
DEFAULT_RETRY_LIMIT = 3
DEFAULT_RETRY_DELAY = 1.0
DEFAULT_TIMEOUT = 30.0

_warned_plain_http: set[str] = set()


@dataclass(frozen=True)
class ConnectionSettings:
    """What a hook needs from its Airflow connection; secrets never show in its repr.

    :param base_url: ``<scheme>://<host>[:port][/prefix]``, no trailing slash
    :param authorization: the ``Authorization`` header's value ("" for none)
    :param secrets: the texts to blank out of anything a server sends back (token, password)
    :param timeout: seconds for one request
    :param verify: TLS verification: True, False or a CA bundle path
    :param retry_limit: attempts in all, from the connection's extra (None: not set there)
    :param retry_delay: first backoff in seconds, from the connection's extra (None: not set there)
    :param extra: the connection's extra, checked to be a JSON object
    """

    base_url: str
    authorization: str = field(default="", repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    timeout: float | None = None
    verify: bool | str = True
    retry_limit: int | None = None
    retry_delay: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_connection(
        cls,
        conn: Connection,
        *,
        service: str,
        error: Callable[[str], FlinkspError],
        basic_auth: bool = False,
        secret_required: bool = True,
    ) -> ConnectionSettings:
        """Read and check an Airflow connection; registers its secrets for masking at once.

        :param conn: the Airflow connection
        :param service: the API's name for messages, e.g. "LakeSail"
        :param error: makes the backend's error from a message
        :param basic_auth: login + password mean HTTP basic auth (a password alone: a bearer token)
        :param secret_required: a connection without a password is refused
        :raises FlinkspError: naming the field that is missing or wrong
        """
        conn_id = conn.conn_id
        password = conn.password or ""
        if password:
            mask_secret(password)
        if not conn.host:
            raise error(f"Connection {conn_id!r} has no host: set it to the {service} API URL")
        if secret_required and not password:
            raise error(f"Connection {conn_id!r} has no password: set it to the {service} API key")
        login = (conn.login or "") if basic_auth else ""
        if login and password:
            authorization = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode("ascii")
            mask_secret(authorization.split(" ", 1)[1])
        else:
            authorization = f"Bearer {password}" if password else ""
        extra = _extra(conn, conn_id, error)
        return cls(
            base_url=build_base_url(conn.host, conn.schema, conn.port, conn_id=conn_id, error=error),
            authorization=authorization,
            secrets=tuple(dict.fromkeys(s for s in (password, authorization.partition(" ")[2]) if s)),
            timeout=_number(extra, "timeout", conn_id, error, minimum=0.001),
            verify=_verify(extra, conn_id, error),
            retry_limit=_int(extra, "retry_limit", conn_id, error),
            retry_delay=_number(extra, "retry_delay", conn_id, error, minimum=0.0),
            extra=extra,
        )


def _extra(conn: Connection, conn_id: str, error: Callable[[str], FlinkspError]) -> dict[str, Any]:
    raw_extra = conn.extra
    if isinstance(raw_extra, str) and raw_extra.strip():
        try:  # Airflow logs a broken extra and hands out {}: say so instead of ignoring it
            json.loads(raw_extra)
        except ValueError:
            raise error(f"Connection {conn_id!r} has an extra that is not valid JSON") from None
    try:
        extra = conn.extra_dejson
    except Exception:  # Airflow versions differ in what a bad extra raises
        raise error(f"Connection {conn_id!r} has an extra that is not a JSON object") from None
    if not isinstance(extra, dict):
        raise error(f"Connection {conn_id!r} has an extra that is not a JSON object")
    # a form may keep a typed field as ``extra__<conn type>__<name>``: read it as ``<name>``
    prefix = f"extra__{getattr(conn, 'conn_type', None)}__"
    return {key.removeprefix(prefix): value for key, value in extra.items() if value is not None}


def build_base_url(
    host: str,
    schema: str | None,
    port: int | None,
    *,
    conn_id: str = "?",
    error: Callable[[str], FlinkspError] = FlinkspError,
) -> str:
    """Turn a connection's host, schema and port into the API's root URL.

    :param host: a URL (``https://lakesail.example.com/prefix``) or a bare host name
    :param schema: the scheme for a bare host (``http`` or ``https``; default ``https``)
    :param port: the port, where the host does not name one
    :param conn_id: the connection id, for messages
    :param error: makes the backend's error from a message
    """
    text = host.strip()
    if "://" not in text:
        text = text.rstrip("/")
        scheme = (schema or "https").strip().lower() or "https"
        if scheme not in ("http", "https"):
            raise error(
                f"Connection {conn_id!r} schema {schema!r} is not http or https; for a path prefix, "
                "put the whole URL in the host field (e.g. https://gw.example.com/lakesail)"
            )
        text = f"{scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise error(f"Connection {conn_id!r} host {host!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise error(f"Connection {conn_id!r} host must not carry credentials; use the password field")
    netloc = parts.netloc
    try:
        has_port = parts.port is not None
    except ValueError:
        raise error(f"Connection {conn_id!r} host {host!r} has an invalid port") from None
    if port and not has_port:
        netloc = f"{netloc}:{int(port)}"
    url = urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))
    if parts.scheme.lower() == "http" and not _is_loopback(parts.hostname) and url not in _warned_plain_http:
        _warned_plain_http.add(url)
        log.warning("Connection %r uses plain http to %s: the credentials travel unencrypted", conn_id, url)
    return url


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _number(
    extra: dict[str, Any], key: str, conn_id: str, error: Callable[[str], FlinkspError], *, minimum: float
) -> float | None:
    value = extra.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number >= minimum or number == float("inf"):
        raise error(f"Connection {conn_id!r} extra {key!r} must be a number >= {minimum}, got {value!r}")
    return number


def _int(extra: dict[str, Any], key: str, conn_id: str, error: Callable[[str], FlinkspError]) -> int | None:
    value = extra.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(f"Connection {conn_id!r} extra {key!r} must be a whole number >= 1, got {value!r}")
    return value


def _verify(extra: dict[str, Any], conn_id: str, error: Callable[[str], FlinkspError]) -> bool | str:
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
    raise error(f"Connection {conn_id!r} extra 'verify' must be true, false or a CA bundle path")


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


def trusted_cas(verify: bool | str) -> bool | str:
    """The CA trust both transports use: False (no verification) or a CA file or directory.

    The connection's ``verify`` path wins; for ``verify`` true, the first of ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` that is set, else certifi's bundle
    (what requests uses by default).

    :param verify: the connection's setting
    """
    if verify is False or isinstance(verify, str):
        return verify
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(name)
        if value:
            return value
    import certifi

    return str(certifi.where())


def proxy_for(url: str) -> str | None:
    """The proxy to reach ``url`` through, from the environment (``HTTPS_PROXY``, ``NO_PROXY`` ...),
    decided by requests' rules for both transports; None to go direct.

    :param url: the request URL
    """
    from requests.utils import get_environ_proxies, select_proxy

    proxy = select_proxy(url, get_environ_proxies(url))
    return proxy or None
