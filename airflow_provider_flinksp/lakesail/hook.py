"""The LakeSail API's hook: :class:`LakeSailHook`, sync and async.

The wire (URL, bearer token, retries, errors, both transports) is the shared
:class:`~airflow_provider_flinksp.core.hook.ApiHook`; this module says how to read a ``lakesail``
connection and which paths the public methods call.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_flinksp.core.hook import ApiHook, ApiSettings
from airflow_provider_flinksp.core.models import Savepoint, SavepointList, parse_timestamp
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
from airflow_provider_flinksp.lakesail.jobspec import parse_job_page, parse_job_summary, validate_spec
from airflow_provider_flinksp.lakesail.models import parse_session_job

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from typing_extensions import Unpack


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

    connection_fields = CONNECTION_FIELDS
    connection_form = CONNECTION_FORM
    probe_path = "/api/org/v1/me"

    def __init__(self, lakesail_conn_id: str = default_conn_name, **settings: Unpack[ApiSettings]) -> None:
        super().__init__(lakesail_conn_id, **settings)
        self.lakesail_conn_id = lakesail_conn_id

    def describe_probe(self, data: object) -> str:
        """Who the API key belongs to, from ``GET /api/org/v1/me``.

        :param data: the answer
        """
        if not isinstance(data, dict):
            raise LakeSailResponseError("identity should be a JSON object")
        kind = data.get("type") or data.get("kind") or "identity"
        name = data.get("name") or data.get("id") or "unknown"
        return f"Connected to LakeSail as {kind} {name}"

    def read_settings(self, conn: Connection) -> ConnectionSettings:
        """Read and check a ``lakesail`` connection: host and API key required.

        :param conn: the Airflow connection
        """
        return ConnectionSettings.from_connection(conn, service="LakeSail", error=LakeSailError)

    # -- public API -------------------------------------------------------------------------

    def list_session_job_savepoints(self, workspace_id: str, session_id: str, job_id: str) -> SavepointList:
        """List a session job's savepoints.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        :return: the pending one (if any) and the completed ones
        """
        path = _job_path(workspace_id, session_id, job_id, "/savepoints")
        return self._request("GET", path, SavepointList.from_api)

    def trigger_session_job_savepoint(self, workspace_id: str, session_id: str, job_id: str) -> Savepoint:
        """Trigger a savepoint of a session job (a POST: repeated only where the server cannot have
        acted on it).

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        :return: the new savepoint, with its ``trigger_nonce``
        """
        path = _job_path(workspace_id, session_id, job_id, "/savepoints")
        return self._request("POST", path, Savepoint.from_api)

    def describe_session_job(self, workspace_id: str, session_id: str, job_id: str) -> dict[str, Any]:
        """Describe a session job (its ``state`` among others), as the API returns it.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param job_id: the session job ID
        """
        return self._request("GET", _job_path(workspace_id, session_id, job_id, ""), parse_session_job)

    def create_session_job(self, workspace_id: str, session_id: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create a session job (``CreateFlinkSessionJob``); the spec is checked before it is sent.

        A POST: repeated only where the server cannot have acted on it (not sent, 429, 503).

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param spec: the ``FlinkSessionJobSpec``: ``name``, ``flinkConfiguration``, ``job``
        :return: the new job's ``FlinkSessionJobSummary`` (``id``, ``name``, ``state``, ``createdAt``,
            ``updatedAt``)
        :raises ValueError: for a bad ID or spec, before any request
        """
        body = validate_spec(spec)
        return self._request("POST", _jobs_path(workspace_id, session_id), parse_job_summary, json_body=body)

    def list_session_jobs(self, workspace_id: str, session_id: str) -> list[dict[str, Any]]:
        """List every job of a session (``ListFlinkSessionJobs``), following each page's ``marker``.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :return: the ``FlinkSessionJobSummary`` dicts, in the server's order
        :raises LakeSailResponseError: when the server hands the same marker out twice
        """
        path = _jobs_path(workspace_id, session_id)
        jobs: list[dict[str, Any]] = []
        pager = _Pager()
        while True:
            items, marker = self._request("GET", pager.page(path), parse_job_page)
            jobs.extend(items)
            if not pager.advance(marker):
                return jobs

    def find_session_job(self, workspace_id: str, session_id: str, name: str) -> dict[str, Any] | None:
        """The session's job with this name (the newest by ``createdAt`` if several), or None.

        :param workspace_id: the workspace ID
        :param session_id: the Flink session ID
        :param name: the job's name
        """
        return _newest_named(self.list_session_jobs(workspace_id, session_id), name)

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

    async def a_list_session_jobs(self, workspace_id: str, session_id: str) -> list[dict[str, Any]]:
        """Async twin of :meth:`list_session_jobs`."""
        path = _jobs_path(workspace_id, session_id)
        jobs: list[dict[str, Any]] = []
        pager = _Pager()
        while True:
            items, marker = await self._arequest("GET", pager.page(path), parse_job_page)
            jobs.extend(items)
            if not pager.advance(marker):
                return jobs

    async def a_find_session_job(
        self, workspace_id: str, session_id: str, name: str
    ) -> dict[str, Any] | None:
        """Async twin of :meth:`find_session_job`."""
        return _newest_named(await self.a_list_session_jobs(workspace_id, session_id), name)


def _job_path(workspace_id: str, session_id: str, job_id: str, suffix: str) -> str:
    key = (workspace_id, session_id, job_id, suffix)
    try:
        return _JOB_PATHS[key]  # checked before: a waiting trigger asks for the same job every poll
    except (KeyError, TypeError):  # new, or not even text (the check below names it)
        pass
    path = _check_job_path(workspace_id, session_id, job_id, suffix)
    if len(_JOB_PATHS) >= 4096:
        _JOB_PATHS.clear()
    _JOB_PATHS[key] = path
    return path


#: Job paths already built from checked IDs (bounded).
_JOB_PATHS: dict[tuple[str, str, str, str], str] = {}


def _check_job_path(workspace_id: str, session_id: str, job_id: str, suffix: str) -> str:
    return (
        f"/api/flink/v1/workspaces/{validate_resource_id('workspace_id', workspace_id)}"
        f"/sessions/{validate_resource_id('session_id', session_id)}"
        f"/jobs/{validate_resource_id('job_id', job_id)}{suffix}"
    )


def _jobs_path(workspace_id: str, session_id: str) -> str:
    return (
        f"/api/flink/v1/workspaces/{validate_resource_id('workspace_id', workspace_id)}"
        f"/sessions/{validate_resource_id('session_id', session_id)}/jobs"
    )


class _Pager:
    """The query of each page of a list, and the guard against a server that never ends it."""

    #: The most items the API hands out per page.
    LIMIT = 100

    def __init__(self) -> None:
        self.marker: str | None = None
        self.seen: set[str] = set()

    def page(self, path: str) -> str:
        query = f"?limit={self.LIMIT}"
        if self.marker is not None:
            query += f"&marker={quote(self.marker, safe='')}"
        return path + query

    def advance(self, marker: str | None) -> bool:
        """Take the page's marker; False when that was the last page."""
        if marker is None:
            return False
        if marker in self.seen:
            raise LakeSailResponseError(
                f"the session job list handed out the marker {marker[:60]!r} twice (after "
                f"{len(self.seen)} page(s)): the server would page forever"
            )
        self.seen.add(marker)
        self.marker = marker
        return True


def _newest_named(jobs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    named = [job for job in jobs if job["name"] == name]
    if not named:
        return None
    oldest = datetime.min.replace(tzinfo=timezone.utc)

    def created(pair: tuple[int, dict[str, Any]]) -> tuple[datetime, int]:
        at = pair[1]["createdAt"]
        return (parse_timestamp(at, "createdAt") if at else oldest, pair[0])

    # newest createdAt wins; among equals (or without one) the later in the list
    return max(enumerate(named), key=created)[1]
