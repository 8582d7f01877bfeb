"""Savepoints as Airflow assets (datasets on Airflow 2.11).

A LakeSail session job's savepoints are one asset, ``lakesail://<workspace>/<session>/<job>``.
:class:`~airflow_provider_flinksp.operators.LakeSailLatestSavepointOperator`,
:class:`~airflow_provider_flinksp.sensors.LakeSailSavepointSensor` and
:class:`~airflow_provider_flinksp.operators.LakeSailTriggerSavepointOperator` given that asset in
``outlets`` put the savepoint's dict (``location``, ``triggerType``, ``triggerNonce``,
``triggeredAt``) in the asset event's ``extra``; a DAG scheduled on the asset reads it back with
:func:`savepoint_from_events`. The ``lakesail`` scheme is registered through the provider info, so
Airflow checks such URIs with :func:`normalize_lakesail_uri`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from airflow_provider_flinksp._compat import TRIGGERING_EVENTS_KEY, asset_type
from airflow_provider_flinksp.lakesail.ids import validate_resource_id

if TYPE_CHECKING:
    import logging

#: Airflow's Asset class (Dataset on Airflow 2.11).
Asset = asset_type()

SCHEME = "lakesail"
URI_FORM = "lakesail://<workspace>/<session>/<job>"

__all__ = [
    "SCHEME",
    "lakesail_savepoint_asset",
    "normalize_lakesail_uri",
    "parse_lakesail_uri",
    "record_savepoint_event",
    "savepoint_from_events",
    "savepoint_uri",
]


def savepoint_uri(workspace_id: str, session_id: str, job_id: str) -> str:
    """The asset URI of a session job's savepoints.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    :raises ValueError: for an ID that is not a LakeSail ResourceId
    """
    ids = (
        validate_resource_id("workspace_id", workspace_id),
        validate_resource_id("session_id", session_id),
        validate_resource_id("job_id", job_id),
    )
    return f"{SCHEME}://{'/'.join(ids)}"


def lakesail_savepoint_asset(workspace_id: str, session_id: str, job_id: str) -> Any:
    """The asset (a dataset on Airflow 2.11) standing for a session job's savepoints.

    :param workspace_id: the workspace ID
    :param session_id: the Flink session ID
    :param job_id: the session job ID
    :raises ValueError: for an ID that is not a LakeSail ResourceId
    """
    return Asset(uri=savepoint_uri(workspace_id, session_id, job_id))  # an Asset, or a Dataset on 2.11


def parse_lakesail_uri(uri: str) -> tuple[str, str, str]:
    """The (workspace, session, job) IDs of a ``lakesail://`` URI.

    :param uri: the URI
    :raises ValueError: saying what is malformed
    """
    parts = urlsplit(uri)
    if parts.scheme.lower() != SCHEME:
        raise ValueError(f"not a {SCHEME} URI ({URI_FORM}): {uri!r}")
    normalize_lakesail_uri(parts)
    return (parts.netloc, *parts.path.strip("/").split("/"))  # type: ignore[return-value]


def normalize_lakesail_uri(parts: SplitResult) -> SplitResult:
    """Airflow's URI handler for the ``lakesail`` scheme: accept exactly
    ``lakesail://<workspace>/<session>/<job>`` with three ResourceIds, nothing more.

    :param parts: the split URI
    :raises ValueError: naming what is wrong, e.g. a missing part or an ID that breaks the rule
    """
    shown = parts.geturl()
    if "@" in parts.netloc or ":" in parts.netloc:
        raise ValueError(f"A {SCHEME} URI has no user, password or port ({URI_FORM}): {shown!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"A {SCHEME} URI has no query or fragment ({URI_FORM}): {shown!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    segments = [parts.netloc, *path.split("/")] if path else [parts.netloc]
    if len(segments) != 3:
        what = "missing parts" if len(segments) < 3 else "extra path"
        raise ValueError(
            f"A {SCHEME} URI names a workspace, a session and a job ({URI_FORM}); {shown!r} has {what}"
        )
    for name, value in zip(("workspace", "session", "job"), segments, strict=True):
        try:
            validate_resource_id(f"the {name} ID", value)
        except ValueError as exc:
            raise ValueError(f"In the {SCHEME} URI {shown!r}: {exc}") from None
    return parts._replace(scheme=SCHEME, path="/" + path)


def record_savepoint_event(
    context: Mapping[str, Any],
    outlets: Iterable[Any],
    ids: tuple[str, str, str],
    savepoint: dict[str, Any] | None,
    log: logging.Logger | Any,
) -> int:
    """Put ``savepoint`` in the event ``extra`` of each outlet that is this job's savepoint asset.

    :param context: the task's context (its ``outlet_events``)
    :param outlets: the task's outlets
    :param ids: the job's (workspace, session, job) IDs, as rendered
    :param savepoint: the savepoint's dict (None: nothing to attach)
    :param log: the task's logger
    :return: how many events got the savepoint
    """
    attached = 0
    mine = f"{SCHEME}://{'/'.join(ids)}"
    for outlet in outlets:
        uri = getattr(outlet, "uri", None)
        if not isinstance(uri, str) or not uri.lower().startswith(f"{SCHEME}://"):
            continue
        if uri != mine:
            log.warning(
                "Outlet %s is another job's savepoint asset than %s: its event carries no savepoint",
                uri,
                mine,
            )
            continue
        if savepoint is None:
            log.warning("No savepoint to attach to the event of outlet %s", uri)
            continue
        context["outlet_events"][outlet].extra = dict(savepoint)
        attached += 1
    return attached


def savepoint_from_events(context: Mapping[str, Any], asset: Any = None) -> dict[str, Any]:
    """The savepoint of the newest event that triggered this run (on ``asset``, or on any
    ``lakesail`` asset), for a DAG scheduled on a savepoint asset.

    :param context: the task's context (``triggering_asset_events``, or ``triggering_dataset_events``
        on Airflow 2.11)
    :param asset: the savepoint asset to read (default: any ``lakesail`` asset)
    :return: the savepoint's dict, with a ``location``
    :raises ValueError: when the run was not triggered by such an event, or the event has no location
    """
    events_by_asset = context.get(TRIGGERING_EVENTS_KEY) or {}
    wanted = None if asset is None else asset.uri
    events: list[Any] = []
    for key in list(events_by_asset.keys()):
        uri = key if isinstance(key, str) else getattr(key, "uri", str(key))
        if (wanted is None and str(uri).startswith(f"{SCHEME}://")) or uri == wanted:
            events.extend(events_by_asset[key])
    if not events:
        raise ValueError(
            f"This run was not triggered by an event of {wanted or f'a {SCHEME} savepoint asset'}: "
            "schedule the DAG on lakesail_savepoint_asset(...)"
        )
    # the newest by timestamp; among equals (or without one) the later in the list
    newest = max(enumerate(events), key=lambda pair: (_timestamp(pair[1]), pair[0]))[1]
    extra = dict(newest.extra or {})
    if not isinstance(extra.get("location"), str) or not extra["location"]:
        raise ValueError(
            f"The triggering event of {wanted or f'a {SCHEME} savepoint asset'} carries no savepoint "
            f"location (extra: {extra!r}): the producing task had no completed savepoint to attach"
        )
    return extra


def _timestamp(event: Any) -> float:
    at: Any = getattr(event, "timestamp", None)
    return float(at.timestamp()) if at is not None and hasattr(at, "timestamp") else float("-inf")
