"""Run a DAG scheduled on an asset with ``dag.test()`` as if the scheduler had started it for an
asset event: the run consumes the recorded events of that asset (Airflow 3.x) or dataset (2.11).

``dag.test()`` always makes a manual run, which no event triggered; :func:`consuming` links the
events to the run it makes, so the tasks see them in ``triggering_asset_events`` (or
``triggering_dataset_events``) exactly as in a scheduled run. For the demo and the tests; call
:func:`register_assets` on a producing DAG first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

from airflow_provider_flinksp._compat import AIRFLOW_V3


def register_assets(dag: Any) -> None:
    """Make the DAG's assets known to the metadata DB before ``dag.test()``, as the DAG processor
    would: Airflow 2.11 records no event for a dataset it does not know (Airflow 3's ``dag.test()``
    syncs the DAGs itself).

    :param dag: the DAG
    """
    if not AIRFLOW_V3:  # pragma: no cover - Airflow 2.11
        dag.sync_to_db()


def recorded_events(uri: str, session: Any = None) -> list[Any]:
    """The asset (dataset) events recorded for ``uri``, oldest first, as ORM rows.

    :param uri: the asset's URI
    :param session: a SQLAlchemy session (default: a new one, for reading ``extra`` at once)
    """
    from sqlalchemy import select

    if AIRFLOW_V3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        query = select(Event).join(Model, Event.asset_id == Model.id)
    else:  # pragma: no cover - Airflow 2.11
        from airflow.models.dataset import DatasetEvent as Event  # type: ignore[no-redef]
        from airflow.models.dataset import DatasetModel as Model  # type: ignore[no-redef]

        query = select(Event).join(Model, Event.dataset_id == Model.id)
    query = query.where(Model.uri == uri).order_by(Event.timestamp, Event.id)
    if session is not None:
        return list(session.scalars(query))
    from airflow.utils.session import create_session

    with create_session() as own:
        rows = list(own.scalars(query))
        own.expunge_all()
        return rows


@contextlib.contextmanager
def consuming(uri: str) -> Iterator[None]:
    """Within this block, the run ``dag.test()`` makes consumes every recorded event of ``uri``.

    :param uri: the asset's URI
    """
    if AIRFLOW_V3:
        import airflow.models.dagrun as module

        name, attribute = "get_or_create_dagrun", "consumed_asset_events"
    else:  # pragma: no cover - Airflow 2.11
        import airflow.models.dag as module  # type: ignore[no-redef]

        name, attribute = "_get_or_create_dagrun", "consumed_dataset_events"
    original = getattr(module, name)

    def create(*args: Any, **kwargs: Any) -> Any:
        dag_run = original(*args, **kwargs)
        session = kwargs["session"]
        getattr(dag_run, attribute).extend(recorded_events(uri, session))
        session.commit()
        return dag_run

    with mock.patch.object(module, name, create):
        yield
