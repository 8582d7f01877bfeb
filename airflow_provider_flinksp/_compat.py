"""The one place that knows the difference between Airflow 2.11 and Airflow 3.x.

Everything else in the package imports Airflow names from here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION

AIRFLOW_V3 = int(AIRFLOW_VERSION.split(".", 1)[0]) >= 3

if AIRFLOW_V3:
    from airflow.sdk import BaseHook, BaseOperator, BaseSensorOperator, PokeReturnValue
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.sdk.log import mask_secret
else:  # pragma: no cover - exercised by the Airflow 2.11 CI run
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]
    from airflow.models import BaseOperator  # type: ignore[no-redef,assignment]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef,assignment]
    from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]

#: The context key of the asset (Airflow 3) or dataset (Airflow 2.11) events that triggered a run.
TRIGGERING_EVENTS_KEY = "triggering_asset_events" if AIRFLOW_V3 else "triggering_dataset_events"

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from airflow.sdk.definitions.context import Context

__all__ = [
    "AIRFLOW_V3",
    "TRIGGERING_EVENTS_KEY",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseSensorOperator",
    "PokeReturnValue",
    "aget_connection",
    "asset_type",
    "default_deferrable",
    "first_poke_time",
    "mask_secret",
]


async def aget_connection(conn_id: str) -> Connection:
    """Look a connection up without blocking the event loop.

    :param conn_id: the connection id
    """
    if AIRFLOW_V3:
        return await BaseHook.aget_connection(conn_id)
    from asgiref.sync import sync_to_async  # pragma: no cover - Airflow 2.11

    return await sync_to_async(BaseHook.get_connection)(conn_id)  # pragma: no cover


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable`` setting, read when an operator is built."""
    if AIRFLOW_V3:
        from airflow.sdk.configuration import conf
    else:  # pragma: no cover - Airflow 2.11
        from airflow.configuration import conf  # type: ignore[no-redef]
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def first_poke_time(context: Context, *, reschedule: bool) -> datetime:
    """When a sensor started: its first try, counting earlier reschedules of that try.

    :param context: the task's context
    :param reschedule: whether the sensor runs in ``reschedule`` mode
    """
    now = datetime.now(timezone.utc)
    if not reschedule:
        return now
    ti: Any = context["ti"]
    if AIRFLOW_V3:
        first = ti.get_first_reschedule_date(context)
    else:  # pragma: no cover - Airflow 2.11
        from airflow.sensors.base import _orig_start_date

        first_try = (ti.max_tries or 0) - (ti.task.retries or 0) + 1
        first = _orig_start_date(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=ti.map_index,
            try_number=first_try,
        )
    if not isinstance(first, datetime):
        return now
    return first if first.tzinfo else first.replace(tzinfo=timezone.utc)


def asset_type() -> Any:
    """Airflow's ``Asset`` class (``Dataset`` on Airflow 2.11), imported when first asked for: it
    costs a DAG file's parse tens of milliseconds, and only DAGs that use assets need it."""
    if AIRFLOW_V3:
        from airflow.sdk import Asset

        return Asset
    from airflow.datasets import Dataset  # pragma: no cover - Airflow 2.11

    return Dataset  # pragma: no cover
