"""Apache Flink's REST API: :class:`FlinkRestHook`, sync and async, on the shared
:class:`~airflow_provider_flinksp.core.hook.ApiHook` (the wire: URL, credentials, retries, errors,
both transports). Here: how a ``flink`` connection is read, and the JobManager's paths."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from airflow_provider_flinksp.core.hook import ApiHook, ApiSettings
from airflow_provider_flinksp.core.models import Savepoint, SavepointList, json_type
from airflow_provider_flinksp.core.transport.policy import ErrorKinds, server_text
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings
from airflow_provider_flinksp.exceptions import (
    FlinkApiError,
    FlinkConnectionError,
    FlinkError,
    FlinkResponseError,
    FlinkSavepointFailedError,
)
from airflow_provider_flinksp.flink.connection import CONNECTION_FIELDS, CONNECTION_FORM
from airflow_provider_flinksp.flink.ids import validate_jar_id, validate_job_id, validate_trigger_id
from airflow_provider_flinksp.flink.models import (
    MANUAL,
    MAX_REASON,
    SavepointStatus,
    error_message,
    parse_checkpoints,
    parse_jar_upload,
    parse_job,
    parse_job_id,
    parse_overview,
    parse_savepoint_status,
    parse_trigger,
)

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from typing_extensions import Unpack


class SavepointOptions(TypedDict, total=False):
    """The keyword-only options of :meth:`FlinkRestHook.trigger_savepoint` and its async twin."""

    target_directory: str | None
    stop: bool
    drain: bool
    trigger_id: str | None


def new_trigger_id() -> str:
    """A client-chosen trigger ID in Flink's format (32 hex digits)."""
    return uuid.uuid4().hex


class FlinkRestHook(ApiHook):
    """Talk to a Flink cluster's REST API (the JobManager's, or a gateway's in front of it).

    The connection is looked up once, at the first call (never when the hook is built), and one
    HTTP session is reused for every call (keep-alive).

    :param flink_conn_id: the Airflow connection of type ``flink``
    :param retry_limit: attempts in all for one call (default: the connection's extra ``retry_limit``,
        else 3); 429, 500, 502, 503, 504, connection errors and timeouts are retried (a POST only
        where Flink cannot have acted on it, except the savepoint trigger, which carries its own
        trigger ID and so is safe to repeat)
    :param retry_delay: the first backoff in seconds, doubled each attempt, with jitter (default: the
        connection's extra ``retry_delay``, else 1.0)
    :param timeout: seconds for one request (default: the connection's extra ``timeout``, else 30)
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = "flink_default"
    conn_type = "flink"
    hook_name = "Apache Flink REST"
    errors = ErrorKinds(
        api=FlinkApiError, connection=FlinkConnectionError, response=FlinkResponseError, message=error_message
    )

    connection_fields = CONNECTION_FIELDS
    connection_form = CONNECTION_FORM
    probe_path = "/overview"

    def __init__(self, flink_conn_id: str = default_conn_name, **settings: Unpack[ApiSettings]) -> None:
        super().__init__(flink_conn_id, **settings)
        self.flink_conn_id = flink_conn_id

    def describe_probe(self, data: object) -> str:
        """The cluster's version and free slots, from ``GET /overview``.

        :param data: the answer
        """
        overview = parse_overview(data)
        version = overview.get("flink-version") or "unknown version"
        return (
            f"Connected to Flink {version}: {overview['taskmanagers']} TaskManager(s), "
            f"{overview.get('slots-available', '?')} of {overview.get('slots-total', '?')} slots free"
        )

    def read_settings(self, conn: Connection) -> ConnectionSettings:
        """Read and check a ``flink`` connection: host required; login + password = basic auth, a
        password alone = a bearer token, neither = no credentials.

        :param conn: the Airflow connection
        """
        settings = ConnectionSettings.from_connection(
            conn, service="Flink", error=FlinkError, basic_auth=True, secret_required=False
        )
        directory = settings.extra.get("savepoint_dir")
        if directory not in (None, "") and (not isinstance(directory, str) or not directory.strip()):
            raise FlinkError(f"Connection {conn.conn_id!r} extra 'savepoint_dir' must be a path (or empty)")
        return settings

    # -- savepoints -------------------------------------------------------------------------

    def trigger_savepoint(
        self,
        job_id: str,
        *,
        target_directory: str | None = None,
        stop: bool = False,
        drain: bool = False,
        trigger_id: str | None = None,
    ) -> str:
        """Trigger a savepoint (or stop the job with one); return the trigger ID.

        The request always carries a client-chosen ``triggerId``: Flink keys the operation by it, so
        a retried POST (after a reset or a lost answer) takes no second savepoint.

        :param job_id: the job (32 hex digits)
        :param target_directory: where to write it (default: the connection's extra
            ``savepoint_dir``, else the cluster's ``state.savepoints.dir``)
        :param stop: stop the job with this savepoint (``POST /jobs/{job}/stop``)
        :param drain: with ``stop``, drain the pipeline first (emit MAX_WATERMARK)
        :param trigger_id: the trigger ID to use (default: a new random one)
        """
        options = SavepointOptions(
            target_directory=target_directory, stop=stop, drain=drain, trigger_id=trigger_id
        )
        path, body = self._trigger_request(job_id, options)
        return self._request("POST", path, parse_trigger, json_body=body, idempotent=True)

    async def a_trigger_savepoint(self, job_id: str, **options: Unpack[SavepointOptions]) -> str:
        """Async twin of :meth:`trigger_savepoint` (the same keyword-only options)."""
        unknown = sorted(set(options) - set(SavepointOptions.__annotations__))
        if unknown:
            raise TypeError(f"a_trigger_savepoint() got unexpected keyword arguments: {', '.join(unknown)}")
        settings = await self.aget_settings()
        path, body = self._trigger_request(job_id, options, settings)
        return await self._arequest("POST", path, parse_trigger, json_body=body, idempotent=True)

    def _trigger_request(
        self, job_id: str, options: SavepointOptions, settings: ConnectionSettings | None = None
    ) -> tuple[str, dict[str, Any]]:
        target_directory, trigger_id = options.get("target_directory"), options.get("trigger_id")
        stop, drain = options.get("stop", False), options.get("drain", False)
        job = validate_job_id("job_id", job_id)
        trigger = new_trigger_id() if trigger_id is None else validate_trigger_id("trigger_id", trigger_id)
        if drain and not stop:
            raise ValueError("drain=True needs stop=True: only stop-with-savepoint drains the job")
        if target_directory is None:
            target_directory = (settings or self.settings).extra.get("savepoint_dir") or None
        if target_directory is not None and (not isinstance(target_directory, str) or not target_directory):
            raise ValueError(f"target_directory must be a non-empty path, got {target_directory!r}")
        if stop:
            body: dict[str, Any] = {"drain": bool(drain), "triggerId": trigger}
            if target_directory:
                body["targetDirectory"] = target_directory
            return f"/jobs/{job}/stop", body
        body = {"cancel-job": False, "triggerId": trigger}
        if target_directory:
            body["target-directory"] = target_directory
        return f"/jobs/{job}/savepoints", body

    def get_savepoint(self, job_id: str, trigger_id: str) -> Savepoint | None:
        """The savepoint of a trigger: None while in progress, the completed savepoint (type
        ``MANUAL``, its nonce the trigger ID), or :class:`FlinkSavepointFailedError` with Flink's reason.

        :param job_id: the job
        :param trigger_id: what :meth:`trigger_savepoint` returned
        """
        status = self._request("GET", _status_path(job_id, trigger_id), parse_savepoint_status)
        return self._savepoint(job_id, trigger_id, status)

    async def a_get_savepoint(self, job_id: str, trigger_id: str) -> Savepoint | None:
        """Async twin of :meth:`get_savepoint`, for the triggerer."""
        status = await self._arequest("GET", _status_path(job_id, trigger_id), parse_savepoint_status)
        return self._savepoint(job_id, trigger_id, status, await self.aget_settings())

    def _savepoint(
        self,
        job_id: str,
        trigger_id: str,
        status: SavepointStatus,
        settings: ConnectionSettings | None = None,
    ) -> Savepoint | None:
        if status.in_progress:
            return None
        if status.failure is not None:
            secrets = (settings or self.settings).secrets
            reason = server_text(status.failure, secrets, limit=MAX_REASON)
            raise FlinkSavepointFailedError(f"Savepoint {trigger_id} of job {job_id} failed: {reason}")
        return Savepoint(MANUAL, location=status.location, trigger_nonce=trigger_id)

    def list_savepoints(self, job_id: str) -> SavepointList:
        """The job's savepoints from ``GET /jobs/{job}/checkpoints``: in progress and completed.

        :param job_id: the job
        """
        return self._request(
            "GET", f"/jobs/{validate_job_id('job_id', job_id)}/checkpoints", parse_checkpoints
        )

    async def a_list_savepoints(self, job_id: str) -> SavepointList:
        """Async twin of :meth:`list_savepoints`."""
        path = f"/jobs/{validate_job_id('job_id', job_id)}/checkpoints"
        return await self._arequest("GET", path, parse_checkpoints)

    def get_checkpoints(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{job}/checkpoints`` as Flink sends it (``latest.restored`` among others).

        :param job_id: the job
        """
        return self._request("GET", f"/jobs/{validate_job_id('job_id', job_id)}/checkpoints", _json_object)

    # -- jobs and jars ----------------------------------------------------------------------

    def describe_job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{job}``: the job's details, its ``state`` among them.

        :param job_id: the job
        """
        return self._request("GET", f"/jobs/{validate_job_id('job_id', job_id)}", parse_job)

    async def a_describe_job(self, job_id: str) -> dict[str, Any]:
        """Async twin of :meth:`describe_job`."""
        return await self._arequest("GET", f"/jobs/{validate_job_id('job_id', job_id)}", parse_job)

    def cancel_job(self, job_id: str) -> None:
        """Cancel a job (``PATCH /jobs/{job}?mode=cancel``); Flink answers 202 and cancels it soon after.

        :param job_id: the job
        """
        self._request("PATCH", f"/jobs/{validate_job_id('job_id', job_id)}?mode=cancel", _json_object)

    def upload_jar(self, path: str | Path) -> str:
        """Upload a jar (``POST /jars/upload``); return the jar ID Flink gave it.

        :param path: the jar file on this machine
        """
        jar = Path(path)
        if jar.suffix != ".jar" or not jar.is_file():
            raise ValueError(f"jar_path must be an existing .jar file, got {str(path)!r}")
        files = {"jarfile": (jar.name, jar.read_bytes(), "application/x-java-archive")}
        return self._request("POST", "/jars/upload", parse_jar_upload, files=files)

    def run_jar(
        self,
        jar_id: str,
        *,
        entry_class: str | None = None,
        args: Sequence[str] = (),
        parallelism: int | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool = False,
    ) -> str:
        """Start a job from an uploaded jar (restored from ``savepoint_path`` when given); return its ID.

        :param jar_id: what :meth:`upload_jar` returned
        :param entry_class: the main class (default: the jar manifest's)
        :param args: the program's arguments
        :param parallelism: the job's parallelism (default: the cluster's)
        :param savepoint_path: restore the job's state from this savepoint
        :param allow_non_restored_state: let the job start when some savepoint state maps to no operator
        """
        jar = validate_jar_id("jar_id", jar_id)
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise ValueError(f"args must be a list of strings, got {args!r}")
        if parallelism is not None and (
            isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1
        ):
            raise ValueError(f"parallelism must be a whole number >= 1, got {parallelism!r}")
        body: dict[str, Any] = {"programArgsList": list(args)}
        if entry_class:
            body["entryClass"] = entry_class
        if parallelism is not None:
            body["parallelism"] = parallelism
        if savepoint_path:
            body["savepointPath"] = savepoint_path
            body["allowNonRestoredState"] = bool(allow_non_restored_state)
        return self._request("POST", f"/jars/{jar}/run", parse_job_id, json_body=body)


def _status_path(job_id: str, trigger_id: str) -> str:
    job = validate_job_id("job_id", job_id)
    return f"/jobs/{job}/savepoints/{validate_trigger_id('trigger_id', trigger_id)}"


def _json_object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FlinkResponseError(f"the answer should be a JSON object, got {json_type(data)}")
    return data
