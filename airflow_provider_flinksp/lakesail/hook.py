"""The LakeSail API's hook: :class:`LakeSailHook`, sync and async.

The wire (URL, bearer token, retries, errors, both transports) is the shared
:class:`~airflow_provider_flinksp.core.hook.ApiHook`; this module says how to read a ``lakesail``
connection and which paths the public methods call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_flinksp.core.hook import ApiHook
from airflow_provider_flinksp.core.models import Savepoint, SavepointList
from airflow_provider_flinksp.core.transport.policy import ErrorKinds
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings
from airflow_provider_flinksp.exceptions import (
    LakeSailApiError,
    LakeSailConnectionError,
    LakeSailError,
    LakeSailResponseError,
)
from airflow_provider_flinksp.lakesail.connection import CONNECTION_FIELDS, CONNECTION_FORM
from airflow_provider_flinksp.lakesail.ids import validate_resource_id
from airflow_provider_flinksp.lakesail.models import parse_session_job

if TYPE_CHECKING:
    from airflow.sdk import Connection


class LakeSailHook(ApiHook):
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
    errors = ErrorKinds(
        api=LakeSailApiError, connection=LakeSailConnectionError, response=LakeSailResponseError
    )

    def __init__(
        self,
        lakesail_conn_id: str = default_conn_name,
        *,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(lakesail_conn_id, retry_limit=retry_limit, retry_delay=retry_delay, timeout=timeout)
        self.lakesail_conn_id = lakesail_conn_id

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The typed extras as form widgets on Airflow 2.11 (Airflow 3 reads ``conn-fields``)."""
        from airflow_provider_flinksp.core.connection_form import form_widgets

        return form_widgets(CONNECTION_FIELDS)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form on Airflow 2.11 (Airflow 3.2+ reads it from ``get_provider_info``)."""
        return {key.replace("-", "_"): value for key, value in CONNECTION_FORM.items()}

    def read_settings(self, conn: Connection) -> ConnectionSettings:
        """Read and check a ``lakesail`` connection: host and API key required.

        :param conn: the Airflow connection
        """
        return ConnectionSettings.from_connection(conn, service="LakeSail", error=LakeSailError)

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
