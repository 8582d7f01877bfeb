"""The base of the provider's hooks: one request method (and its async twin) that owns the URL,
the credentials, the retries and the mapping of failures to the backend's errors.

Backends subclass :class:`ApiHook`, say how to read their connection, and write their public
methods as one-liners over :meth:`ApiHook._request` / :meth:`ApiHook._arequest`. Both twins take
every decision from :class:`~airflow_provider_flinksp.core.transport.policy.Attempts`; the
transports only send. HTTP clients are imported at the first call, never when a DAG file imports
the provider.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict, TypeVar

from airflow_provider_flinksp import __version__
from airflow_provider_flinksp._compat import BaseHook, aget_connection
from airflow_provider_flinksp.core.transport.policy import Attempts, ErrorKinds, TransportError
from airflow_provider_flinksp.core.transport.settings import (
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_TIMEOUT,
    ConnectionSettings,
    check_retry_settings,
)
from airflow_provider_flinksp.exceptions import FlinkspError

if TYPE_CHECKING:
    import requests
    from airflow.sdk import Connection
    from typing_extensions import Unpack

    from airflow_provider_flinksp.core.transport.aio import Route

T = TypeVar("T")

USER_AGENT = f"airflow-provider-flinksp/{__version__}"


class ApiSettings(TypedDict, total=False):
    """A hook's keyword-only API settings (see :class:`ApiHook`)."""

    retry_limit: int | None
    retry_delay: float | None
    timeout: float | None


class ApiHook(BaseHook):
    """What every hook of this provider shares: settings, retries, both transports, the
    connection form and the connection test.

    :param conn_id: the Airflow connection
    :param retry_limit: attempts in all for one call (default: the connection's extra
        ``retry_limit``, else 3)
    :param retry_delay: the first backoff in seconds, doubled each attempt, with jitter (default:
        the connection's extra ``retry_delay``, else 1.0)
    :param timeout: seconds for one whole request (default: the connection's extra ``timeout``,
        else 30)
    """

    #: The backend's error classes.
    errors: ClassVar[ErrorKinds]
    #: The connection type's typed extras and form (as in ``get_provider_info``).
    connection_fields: ClassVar[dict[str, dict[str, Any]]]
    connection_form: ClassVar[dict[str, Any]]
    #: The cheap authenticated read of :meth:`test_connection` (see :meth:`describe_probe`).
    probe_path: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Airflow 2.11's providers manager reads the connection form only from the hook class's
        # own namespace, never from a base class's
        for name in ("get_connection_form_widgets", "get_ui_field_behaviour"):
            if name not in cls.__dict__:
                setattr(cls, name, classmethod(getattr(ApiHook, name).__func__))

    def __init__(self, conn_id: str, **settings: Unpack[ApiSettings]) -> None:
        super().__init__()
        unknown = sorted(set(settings) - set(ApiSettings.__annotations__))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments: {', '.join(unknown)}")
        retry_limit, retry_delay = settings.get("retry_limit"), settings.get("retry_delay")
        timeout = settings.get("timeout")
        check_retry_settings(retry_limit, retry_delay, timeout)
        self._conn_id = conn_id
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._settings: ConnectionSettings | None = None
        self._session: requests.Session | None = None
        self._route: Route | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.conn_name_attr}={self._conn_id!r})"

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The typed extras as form widgets on Airflow 2.11 (Airflow 3 reads ``conn-fields``)."""
        from airflow_provider_flinksp.core.connection_form import form_widgets

        return form_widgets(cls.connection_fields)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form on Airflow 2.11 (Airflow 3.2+ reads it from ``get_provider_info``)."""
        return {key.replace("-", "_"): value for key, value in cls.connection_form.items()}

    def describe_probe(self, data: object) -> str:
        """What :meth:`test_connection` reports from the probe's answer; raises the backend's
        response error for an answer of the wrong shape.

        :param data: the decoded JSON answer of ``GET`` :attr:`probe_path`
        """
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and the credentials with a cheap read (``GET`` :attr:`probe_path`)."""
        try:
            return True, self._request("GET", self.probe_path, self.describe_probe)
        except FlinkspError as exc:
            return False, str(exc)

    async def a_test_connection(self) -> tuple[bool, str]:
        """Async twin of :meth:`test_connection`."""
        try:
            return True, await self._arequest("GET", self.probe_path, self.describe_probe)
        except FlinkspError as exc:
            return False, str(exc)

    def read_settings(self, conn: Connection) -> ConnectionSettings:
        """Read and check this backend's connection.

        :param conn: the Airflow connection
        """
        raise NotImplementedError

    @property
    def settings(self) -> ConnectionSettings:
        """The connection's settings, looked up at the first use and kept."""
        if self._settings is None:
            self._settings = self.read_settings(self.get_connection(self._conn_id))
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """The connection's settings, looked up without blocking the event loop."""
        if self._settings is None:
            self._settings = self.read_settings(await aget_connection(self._conn_id))
        return self._settings

    def get_conn(self) -> requests.Session:
        """The hook's ``requests.Session`` (keep-alive, credentials set, no redirects followed)."""
        if self._session is None:
            from airflow_provider_flinksp.core.transport.sync import new_session

            self._session = new_session(self.settings, USER_AGENT)
        return self._session

    def close(self) -> None:
        """Close the keep-alive connections of the sync session."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def _attempts(
        self,
        settings: ConnectionSettings,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        idempotent: bool = False,
    ) -> Attempts[T]:
        limit = self.retry_limit or settings.retry_limit or DEFAULT_RETRY_LIMIT
        delay = self.retry_delay if self.retry_delay is not None else settings.retry_delay
        return Attempts(
            method,
            path,
            parse,
            limit=limit,
            delay=DEFAULT_RETRY_DELAY if delay is None else delay,
            errors=self.errors,
            secrets=settings.secrets,
            log=self._retry_log,
            idempotent=idempotent,
        )

    def _retry_log(self) -> Any:
        return self.log

    def _timeout(self, settings: ConnectionSettings) -> float:
        return self.timeout or settings.timeout or DEFAULT_TIMEOUT

    def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        json_body: Any = None,
        files: dict[str, Any] | None = None,
        idempotent: bool = False,
    ) -> T:
        """Send a request with retries and return the parsed answer, or raise the backend's error.

        :param method: the HTTP method
        :param path: the API path (with its query), appended to the connection's URL
        :param parse: turns the decoded JSON body into the result
        :param json_body: a JSON body, if any
        :param files: a multipart upload, if any (sync only; give bytes, not an open file, so that
            a retry sends the same content)
        :param idempotent: repeating it cannot act twice (a POST carrying its own operation ID):
            retried like a GET
        """
        from airflow_provider_flinksp.core.transport import sync

        settings = self.settings
        session = self.get_conn()
        attempts = self._attempts(settings, method, path, parse, idempotent)
        url, timeout = settings.base_url + path, self._timeout(settings)
        while True:
            try:
                step = attempts.on_reply(
                    sync.send(session, method, url, timeout, json_body=json_body, files=files)
                )
            except TransportError as failure:
                step = attempts.on_failure(failure)
            if step.wait is None:
                return step.result()
            time.sleep(step.wait)

    async def _arequest(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        json_body: Any = None,
        idempotent: bool = False,
    ) -> T:
        """Async twin of :meth:`_request`, for the triggerer."""
        settings = self._settings or await self.aget_settings()
        attempts = self._attempts(settings, method, path, parse, idempotent)
        url, timeout = settings.base_url + path, self._timeout(settings)
        while True:
            try:
                route = self._route
                if route is None or not route.usable():
                    from airflow_provider_flinksp.core.transport.aio import route_for

                    route = self._route = await route_for(settings, USER_AGENT)
                reply = await route.send(method, url, timeout, json_body=json_body)
                step = attempts.on_reply(reply)
            except TransportError as failure:
                step = attempts.on_failure(failure)
            if step.wait is None:
                return step.result()
            await asyncio.sleep(step.wait)


async def aclose_async_clients() -> None:
    """Close the running event loop's shared async HTTP sessions now (e.g. at shutdown); they are
    also closed when the loop itself shuts down."""
    from airflow_provider_flinksp.core.transport.aio import close_sessions

    await close_sessions()
