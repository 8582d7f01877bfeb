"""The deferral event contract, in one place: what a trigger yields and how the task reads it
back when it resumes.

An event is ``{"status": "success", "savepoint": {...} | None, "value": {...} | None, "message": ...}``,
``{"status": "failed", "reason": "savepoint" | "api", "message": ...}`` or
``{"status": "timeout", "message": ...}``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flinksp._compat import AirflowSensorTimeout
from airflow_provider_flinksp.core.models import Savepoint
from airflow_provider_flinksp.core.transport.policy import server_text
from airflow_provider_flinksp.core.waiting import Verdict
from airflow_provider_flinksp.exceptions import FlinkspError


def verdict_event(verdict: Verdict) -> dict[str, Any]:
    """The event for a final verdict (success or failed).

    :param verdict: the verdict
    """
    if verdict.status == "success":
        return {
            "status": "success",
            "savepoint": verdict.savepoint,
            "value": verdict.value,
            "message": verdict.message,
        }
    return {"status": "failed", "reason": "savepoint", "message": verdict.message}


def api_failure_event(exc: FlinkspError) -> dict[str, Any]:
    """The event for an API error that waiting cannot cure (400, 401, 403, 404 ...).

    :param exc: the error
    """
    return {"status": "failed", "reason": "api", "message": str(exc)}


def timeout_event(message: str) -> dict[str, Any]:
    """The event for a deadline that passed.

    :param message: what was last seen
    """
    return {"status": "timeout", "message": f"Timed out waiting: {message}"}


def read_event(
    event: object,
    log: Any,
    *,
    timeout_is_sensor_timeout: bool,
    error: type[FlinkspError],
    failed_error: type[FlinkspError],
    nonce: str | None = None,
) -> Verdict:
    """Check a trigger's event when the task resumes; return the successful verdict or raise.

    :param event: what the trigger sent
    :param log: the task's logger
    :param timeout_is_sensor_timeout: raise ``AirflowSensorTimeout`` (a sensor) rather than
        ``error`` (an operator) on timeout
    :param error: the backend's base error, for API errors and malformed events
    :param failed_error: the backend's "failed, do not retry" error
    :param nonce: the savepoint that was awaited, if one was: a success must carry it, with a location
    :raises FlinkspError: as above
    """
    if not isinstance(event, dict):
        raise error(f"The trigger sent no usable event: {str(event)[:200]!r}")
    status = event.get("status")
    message = server_text(str(event.get("message") or f"trigger reported {status}"), limit=2000)
    if status == "success":
        savepoint = event.get("savepoint")
        value = event.get("value")
        if savepoint is not None:
            try:
                savepoint = Savepoint.from_api(savepoint, "trigger event savepoint").to_dict()
            except FlinkspError as exc:
                raise error(f"The trigger sent a malformed savepoint: {exc}") from None
        if value is not None and not isinstance(value, dict):
            raise error(f"The trigger sent a malformed value: {str(value)[:200]!r}")
        if nonce is not None and (
            savepoint is None or savepoint["triggerNonce"] != nonce or not savepoint["location"]
        ):
            raise error(f"The trigger reported success without the completed savepoint {nonce}")
        log.info("%s", message)
        return Verdict("success", message, savepoint, value=value)
    if status == "timeout":
        raise AirflowSensorTimeout(message) if timeout_is_sensor_timeout else error(message)
    if status == "failed":
        reason = event.get("reason")
        if reason == "savepoint":
            raise failed_error(message)
        if reason == "api":
            raise error(message)
        raise error(f"The trigger sent a failed event with an unknown reason: {message}")
    raise error(f"The trigger sent an event with an unknown status: {str(status)[:100]!r}")
